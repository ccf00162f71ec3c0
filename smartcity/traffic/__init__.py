"""Smart transport: road network and traffic state index, public transport (GTFS / GTFS-Realtime), parking guidance."""
