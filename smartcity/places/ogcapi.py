"""OGC API – Features, Part 1: Core with GeoJSON (OGC 17-069r4), at /ogcapi.

Collections are the place layers: districts, streets, communities and unit grids. Items support
``bbox``, ``limit``/``offset`` with ``next``/``prev`` links, and equality filters on the properties each
collection lists as queryable. A query parameter the API does not define is a 400, as the standard
requires (/req/core/query-param-unknown). Coordinates are CRS84 (WGS-84, lon/lat).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
import shapely
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import Float, and_, func, literal, not_, or_, select
from sqlalchemy.orm import Session

from smartcity.core.deps import SessionDep
from smartcity.core.errors import Problem
from smartcity.places.models import Division, GridLayer, UnitGrid
from smartcity.security import Principal, public

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GEOJSON = "application/geo+json"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
]
DEFAULT_LIMIT, MAX_LIMIT = 10, 10_000
COMMON_PARAMS = {"bbox", "limit", "offset", "f", "bbox-crs"}

router = APIRouter(prefix="/ogcapi", tags=["OGC API – Features"])


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    model: type
    where: Callable[[], Any]
    properties: dict[str, Any]  # property name -> column, the queryables
    synthetic_note: bool = False


def _division_props() -> dict[str, Any]:
    return {
        "code": Division.code,
        "name": Division.name,
        "name_en": Division.name_en,
        "parent_code": Division.parent_code,
        "synthetic": Division.synthetic,
    }


COLLECTIONS = {
    c.id: c
    for c in (
        Collection(
            "districts",
            "Districts 区",
            "Shanghai's 16 districts (GB/T 2260), real boundaries.",
            Division,
            lambda: Division.level == "district",
            _division_props(),
        ),
        Collection(
            "streets",
            "Streets 街道",
            "Streets and towns; in the demo these are synthetic (see synthetic).",
            Division,
            lambda: Division.level == "street",
            _division_props(),
            True,
        ),
        Collection(
            "communities",
            "Communities 社区",
            "Communities and villages; synthetic in the demo.",
            Division,
            lambda: Division.level == "community",
            _division_props(),
            True,
        ),
        Collection(
            "supervision-grids",
            "Supervision grids 监督网格",
            "Inspectors' patrol beats in force today: groups of unit grids.",
            GridLayer,
            lambda: and_(
                GridLayer.kind == "supervision",
                GridLayer.valid_from <= date.today(),
                or_(GridLayer.valid_to.is_(None), GridLayer.valid_to > date.today()),
            ),
            {"code": GridLayer.code, "name": GridLayer.name, "person": GridLayer.person},
        ),
        Collection(
            "unit-grids",
            "Unit grids 单元网格",
            "≈10,000 m² unit grids with their 15-digit codes.",
            UnitGrid,
            lambda: UnitGrid.id.is_not(None),
            {
                "code": UnitGrid.code,
                "community_code": UnitGrid.community_code,
                "source": UnitGrid.source,
                "area_m2": UnitGrid.area_m2,
            },
        ),
    )
}


def add_collection(collection: Collection) -> None:
    """Other modules publish their point or polygon layers here (their model needs the bbox columns,
    ``code`` and ``geometry``)."""
    COLLECTIONS[collection.id] = collection


def _bad_request(detail: str, field: str) -> Problem:
    return Problem(400, detail, code="invalid-parameter", errors=[{"field": field, "message": detail}])


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogcapi"


def _json(body: Any, media_type: str = "application/json") -> Response:
    return Response(json.dumps(body, ensure_ascii=False), media_type=media_type)


@router.get("", summary="Landing page")
def landing(request: Request, _: Annotated[Principal, public()]) -> Response:
    base = _base(request)
    return _json(
        {
            "title": "Smart city platform — places",
            "description": "Administrative divisions and unit grids of the city (OGC API – Features).",
            "links": [
                {"href": base, "rel": "self", "type": "application/json", "title": "This document"},
                {
                    "href": str(request.base_url).rstrip("/") + "/openapi.json",
                    "rel": "service-desc",
                    "type": "application/vnd.oai.openapi+json;version=3.0",
                    "title": "The API definition",
                },
                {
                    "href": str(request.base_url).rstrip("/") + "/docs",
                    "rel": "service-doc",
                    "type": "text/html",
                    "title": "The API documentation",
                },
                {
                    "href": f"{base}/conformance",
                    "rel": "conformance",
                    "type": "application/json",
                    "title": "Conformance classes",
                },
                {"href": f"{base}/collections", "rel": "data", "type": "application/json", "title": "Collections"},
            ],
        }
    )


@router.get("/conformance", summary="Conformance classes")
def conformance(_: Annotated[Principal, public()]) -> Response:
    return _json({"conformsTo": CONFORMANCE})


def _extent(session: Session, collection: Collection) -> list[float] | None:
    m = collection.model
    row = session.execute(
        select(func.min(m.min_lon), func.min(m.min_lat), func.max(m.max_lon), func.max(m.max_lat)).where(
            collection.where()
        )
    ).one()
    return [float(v) for v in row] if row[0] is not None else None


def _collection_body(request: Request, session: Session, collection: Collection) -> dict[str, Any]:
    base = _base(request)
    bbox = _extent(session, collection)
    return {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "itemType": "feature",
        "crs": [CRS84],
        "extent": {"spatial": {"bbox": [bbox] if bbox else [], "crs": CRS84}},
        "links": [
            {"href": f"{base}/collections/{collection.id}", "rel": "self", "type": "application/json"},
            {"href": f"{base}/collections/{collection.id}/items", "rel": "items", "type": GEOJSON, "title": "Features"},
        ],
    }


def _collection(collection_id: str) -> Collection:
    collection = COLLECTIONS.get(collection_id)
    if collection is None:
        raise Problem(404, f"No collection {collection_id!r}; see /ogcapi/collections.", code="not-found")
    return collection


@router.get("/collections", summary="The feature collections")
def collections(request: Request, session: SessionDep, _: Annotated[Principal, public()]) -> Response:
    base = _base(request)
    return _json(
        {
            "links": [{"href": f"{base}/collections", "rel": "self", "type": "application/json"}],
            "collections": [_collection_body(request, session, c) for c in COLLECTIONS.values()],
        }
    )


@router.get("/collections/{collection_id}", summary="One collection")
def collection(
    collection_id: str, request: Request, session: SessionDep, _: Annotated[Principal, public()]
) -> Response:
    return _json(_collection_body(request, session, _collection(collection_id)))


def _parse_bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    if raw is None:
        return None
    try:
        values = [float(v) for v in raw.split(",")]
    except ValueError as exc:
        raise _bad_request("bbox must be four numbers: minLon,minLat,maxLon,maxLat", "bbox") from exc
    if len(values) != 4:
        raise _bad_request("bbox must be four numbers (six-number 3D boxes are not supported)", "bbox")
    west, south, east, north = values
    if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= north <= 90) or west > east:
        raise _bad_request("bbox must run from the lower-left to the upper-right corner within ±180/±90", "bbox")
    return west, south, east, north


def _parse_int(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise _bad_request(f"{name} must be a whole number from {low} to {high}", name)
    return int(raw)


def _filters(collection: Collection, params: dict[str, str]) -> list[Any]:
    conditions = []
    for name, value in params.items():
        if name in COMMON_PARAMS:
            continue
        column = collection.properties.get(name)
        if column is None:
            allowed = ", ".join(sorted(COMMON_PARAMS | set(collection.properties)))
            raise _bad_request(f"unknown parameter {name!r}; this collection accepts {allowed}", name)
        if name == "synthetic":
            if value not in ("true", "false"):
                raise _bad_request("synthetic must be true or false", name)
            conditions.append(column.is_(value == "true"))
        elif name == "area_m2":
            try:
                conditions.append(column == float(value))
            except ValueError as exc:
                raise _bad_request("area_m2 must be a number", name) from exc
        else:
            conditions.append(column == value)
    return conditions


def _box_tests(model: type, dialect: str, box: tuple[float, ...]) -> tuple[Any, Any]:
    """SQL for "the feature's bounding box overlaps / lies inside the query box"."""
    west, south, east, north = box
    if dialect == "postgresql":  # the same expression as the GiST index (models.box_index), so it is used
        feature = func.box(func.point(model.min_lon, model.min_lat), func.point(model.max_lon, model.max_lat))
        query = func.box(
            func.point(literal(west, Float), literal(south, Float)),
            func.point(literal(east, Float), literal(north, Float)),
        )
        return feature.op("&&")(query), feature.op("<@")(query)
    overlaps = and_(model.max_lon >= west, model.min_lon <= east, model.max_lat >= south, model.min_lat <= north)
    inside = and_(model.min_lon >= west, model.max_lon <= east, model.min_lat >= south, model.max_lat <= north)
    return overlaps, inside


def _bbox_conditions(
    model: type, session: Session, collection: Collection, box: tuple[float, ...] | None, base: list[Any]
) -> list[Any]:
    """Exactly the features whose geometry intersects the box: bbox-inside ones by SQL, the rest tested."""
    if box is None:
        return base
    west, south, east, north = box
    overlaps, inside = _box_tests(model, session.get_bind().dialect.name, box)
    edge = session.execute(select(model.id, model.geometry).where(*base, overlaps, not_(inside))).all()
    if edge:
        shapes = shapely.from_wkb([row.geometry for row in edge])
        hits = shapely.intersects(shapes, shapely.box(west, south, east, north))
        exact_ids = [row.id for row, hit in zip(edge, hits, strict=True) if hit]
    else:
        exact_ids = []
    return [*base, or_(inside, model.id.in_(exact_ids)) if exact_ids else inside]


def _properties(collection: Collection, row: Any) -> dict[str, Any]:
    props = {name: getattr(row, column.key) for name, column in collection.properties.items()}
    if collection.model is Division:
        props["level"] = row.level
    elif collection.model is UnitGrid:
        props["centroid"] = [row.centroid_lon, row.centroid_lat]
    elif collection.model is GridLayer:
        props["valid_from"] = row.valid_from.isoformat()
        props["valid_to"] = row.valid_to.isoformat() if row.valid_to else None
    return props


def _feature_json(
    collection: Collection, row: Any, geometry_json: str, base: str, *, with_collection: bool = False
) -> str:
    links = [{"href": f"{base}/collections/{collection.id}/items/{row.code}", "rel": "self", "type": GEOJSON}]
    if with_collection:
        links.append({"href": f"{base}/collections/{collection.id}", "rel": "collection", "type": "application/json"})
    head = orjson.dumps({"type": "Feature", "id": row.code})[:-1].decode()
    tail = orjson.dumps({"properties": _properties(collection, row), "links": links})[1:].decode()
    return f'{head},"geometry":{geometry_json},{tail}'


@router.get("/collections/{collection_id}/items", summary="Features of a collection (GeoJSON)")
def items(collection_id: str, request: Request, session: SessionDep, _: Annotated[Principal, public()]) -> Response:
    collection = _collection(collection_id)
    params = dict(request.query_params)
    if params.get("bbox-crs", CRS84) != CRS84:
        raise _bad_request("only CRS84 bounding boxes are supported", "bbox-crs")
    if params.get("f", "json") not in ("json", "geojson"):
        raise _bad_request("f must be json (GeoJSON is the only encoding)", "f")
    limit = _parse_int(params.get("limit"), "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = _parse_int(params.get("offset"), "offset", 0, 0, 10**9)
    model = collection.model
    conditions = _bbox_conditions(
        model, session, collection, _parse_bbox(params.get("bbox")), [collection.where(), *_filters(collection, params)]
    )
    matched = session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0
    # Plain rows, not ORM objects: thousands of features are read and written out, never changed.
    stmt = select(*model.__table__.columns).where(*conditions).order_by(model.code).limit(limit).offset(offset)
    rows = session.execute(stmt).all()
    geometries = shapely.to_geojson(shapely.from_wkb([r.geometry for r in rows])) if rows else []
    base = _base(request)
    features = ",".join(_feature_json(collection, r, g, base) for r, g in zip(rows, geometries, strict=True))
    links = _page_links(f"{base}/collections/{collection.id}/items", params, limit, offset, len(rows), matched)
    meta = json.dumps(
        {
            "numberMatched": matched,
            "numberReturned": len(rows),
            "timeStamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "links": links,
        },
        ensure_ascii=False,
    )[1:]
    return Response(f'{{"type":"FeatureCollection","features":[{features}],{meta}', media_type=GEOJSON)


def _page_links(
    url: str, params: dict[str, str], limit: int, offset: int, returned: int, matched: int
) -> list[dict[str, str]]:
    def link(rel: str, new_offset: int) -> dict[str, str]:
        query = urlencode({**params, "limit": limit, "offset": new_offset})
        return {"href": f"{url}?{query}", "rel": rel, "type": GEOJSON}

    links = [link("self", offset)]
    if offset + returned < matched:
        links.append(link("next", offset + limit))
    if offset > 0:
        links.append(link("prev", max(0, offset - limit)))
    return links


@router.get("/collections/{collection_id}/items/{feature_id}", summary="One feature (GeoJSON)")
def item(
    collection_id: str, feature_id: str, request: Request, session: SessionDep, _: Annotated[Principal, public()]
) -> Response:
    collection = _collection(collection_id)
    model = collection.model
    row = session.scalar(select(model).where(collection.where(), model.code == feature_id))
    if row is None:
        raise Problem(404, f"No feature {feature_id!r} in {collection.id}.", code="not-found")
    base = _base(request)
    body = _feature_json(collection, row, shapely.to_geojson(shapely.from_wkb(row.geometry)), base)
    extra = json.dumps(
        [{"href": f"{base}/collections/{collection.id}", "rel": "collection", "type": "application/json"}]
    )
    body = body[:-2] + "," + extra[1:] + "}"  # append the collection link to the feature's links
    return Response(body, media_type=GEOJSON)
