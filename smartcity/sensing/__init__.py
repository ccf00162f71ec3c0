"""The city sensing hub: OGC SensorThings API v1.1, device ingest, latest values and series."""
