"""Places: administrative divisions, unit grids, grid layers, spatial lookup and the map service.

Other modules use the names below and the services (``lookup``, ``layers``), never the tables."""

from smartcity.places.models import BoundingBox, box_index

__all__ = ["BoundingBox", "box_index"]
