"""Rules of the sensing hub: create (with deep insert and links), change and delete SensorThings entities
with the spec's integrity rules, and ingest observations — one by one or as dataArray batches — keeping
each datastream's time extents and latest value. Never commits."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from smartcity.core import audit, events
from smartcity.core.db import utcnow
from smartcity.core.errors import Conflict, NotFound, Problem
from smartcity.security import Principal
from smartcity.sensing import hours
from smartcity.sensing.entities import COMPLEX_OBSERVATION, SETS, EntitySet, Nav
from smartcity.sensing.models import (
    Datastream,
    FeatureOfInterest,
    HistoricalLocation,
    Location,
    MultiDatastream,
    Observation,
    Stream,
    Thing,
    ThingDevice,
    historical_location_location,
    multi_datastream_observed_property,
    thing_location,
)

NOTIFIED_COLUMNS = (
    "phenomenon_time_start",
    "phenomenon_time_end",
    "result_time",
    "result_number",
    "result_string",
    "result_boolean",
    "result_json",
    "datastream_id",
    "feature_of_interest_id",
)
FUTURE_TOLERANCE = timedelta(minutes=5)  # device clocks drift; beyond this a time in the future is refused
MAX_BATCH = 50_000


def _bad(message: str, field: str = "body") -> Problem:
    return Problem(400, message, errors=[{"field": field, "message": message}])


# ---------------------------------------------------------------- values


def parse_time(value: Any, field: str) -> datetime:
    if not isinstance(value, str):
        raise _bad(f"{field} must be an ISO 8601 date-time with a time zone.", field)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise _bad(f"{field} {value!r} is not an ISO 8601 date-time.", field) from exc
    if moment.tzinfo is None:
        raise _bad(f"{field} must carry its time zone (Z or ±hh:mm).", field)
    return moment.astimezone(UTC)


def parse_interval(value: Any, field: str) -> tuple[datetime, datetime | None]:
    if isinstance(value, str) and "/" in value:
        start, _, end = value.partition("/")
        first, last = parse_time(start, field), parse_time(end, field)
        if last < first:
            raise _bad(f"{field} ends before it starts.", field)
        return first, last
    return parse_time(value, field), None


def _geometry(value: Any, field: str) -> tuple[str, str, tuple[float, float, float, float]]:
    """(as given, bare geometry, bbox) of a GeoJSON geometry or feature; a clear 400 otherwise."""
    import shapely

    if not isinstance(value, dict):
        raise _bad(f"{field} must be a GeoJSON geometry or feature.", field)
    geometry = value.get("geometry") if value.get("type") == "Feature" else value
    try:
        shape = shapely.from_geojson(json.dumps(geometry))
    except Exception as exc:
        raise _bad(f"{field} is not valid GeoJSON: {exc}", field) from exc
    if shape.is_empty:
        raise _bad(f"{field} is an empty geometry.", field)
    west, south, east, north = shape.bounds
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise _bad(f"{field} is not in WGS-84 longitude/latitude.", field)
    return json.dumps(value, ensure_ascii=False), json.dumps(geometry), shape.bounds


def _set_geometry(row: Any, column: str, value: Any, field: str) -> None:
    given, bare, (west, south, east, north) = _geometry(value, field)
    setattr(row, column, given)
    row.geometry, row.min_lon, row.min_lat, row.max_lon, row.max_lat = bare, west, south, east, north


def _result_columns(value: Any) -> dict[str, Any]:
    columns = {"result_number": None, "result_string": None, "result_boolean": None, "result_json": None}
    if isinstance(value, bool):
        columns["result_boolean"] = value
    elif isinstance(value, int):
        columns["result_number"], columns["result_json"] = float(value), "int"
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise _bad("result must be a finite number.", "result")
        columns["result_number"] = value
    elif isinstance(value, str):
        columns["result_string"] = value
    elif isinstance(value, (dict, list)):
        columns["result_json"] = json.dumps(value, ensure_ascii=False)
    elif value is None:
        raise _bad("result is required.", "result")
    return columns


# ---------------------------------------------------------------- permissions


def may_manage(principal: Principal) -> bool:
    return principal.can("sensing.manage")


def check_device_may_write(session: Session, principal: Principal, datastream_ids: set[int]) -> None:
    """Managers write anything; a device only the datastreams of the Things bound to it."""
    if may_manage(principal):
        return
    if not principal.can("sensing.ingest"):
        raise Problem(403, "Your role may not write observations.", code="forbidden")
    allowed = set(
        session.scalars(
            select(Stream.id)
            .join(ThingDevice, ThingDevice.thing_id == Stream.thing_id)
            .where(ThingDevice.username == principal.username, Stream.id.in_(datastream_ids))
        )
    )
    foreign = sorted(datastream_ids - allowed)
    if foreign:
        raise Problem(
            403,
            f"This device may not write Datastream {foreign[0]}: it belongs to a Thing the device is not bound to.",
            code="not-your-thing",
        )


def bind_device(session: Session, thing_id: int, username: str) -> None:
    from smartcity.security import service as security

    user = security.user_by_name(session, username)
    if user is None:
        raise NotFound("user", username)
    get(session, SETS["Things"], thing_id)
    if session.get(ThingDevice, (thing_id, username)) is None:
        session.add(ThingDevice(thing_id=thing_id, username=username))
        session.flush()


# ---------------------------------------------------------------- reading one


def get(session: Session, entity: EntitySet, entity_id: int) -> Any:
    row = session.get(entity.model, entity_id)
    if row is None:
        raise NotFound(entity.singular, entity_id)
    return row


# ---------------------------------------------------------------- create with deep insert


@dataclass
class Link:
    """Where a POST on a navigation path attaches the new entity: ``POST /Datastreams(1)/Observations``."""

    parent_set: EntitySet
    parent_id: int
    nav: Nav


def create(session: Session, entity: EntitySet, body: Any, link: Link | None = None) -> Any:
    if not isinstance(body, dict):
        raise _bad(f"The body must be a JSON object describing a {entity.singular}.")
    if entity.name == "Observations":
        return _create_observation(session, body, link)
    row = _new(session, entity, body, link)
    if link is not None and link.parent_set.name == "MultiDatastreams":
        _check_multi(session, link.parent_id)
    events.emit(session, f"sensing.{entity.singular.lower()}_created", id=row.id)
    return row


def _reference(session: Session, entity: EntitySet, value: Any, field: str) -> Any:
    """A linked entity: an object with ``@iot.id`` names an existing one (other properties sent with it are
    not applied, as SensorThings clients send whole entities); without it, a new one (deep insert)."""
    if isinstance(value, dict) and "@iot.id" in value:
        try:
            return get(session, entity, int(value["@iot.id"]))
        except (TypeError, ValueError) as exc:
            raise _bad(f"{field}: @iot.id must be a number.", field) from exc
        except NotFound as exc:
            raise _bad(f"{field}: no {entity.singular} with @iot.id {value['@iot.id']}.", field) from exc
    if isinstance(value, dict):
        return _new(session, entity, value, None)
    raise _bad(f'{field} must be an object: {{"@iot.id": n}} or a new {entity.singular}.', field)


def _new(session: Session, entity: EntitySet, body: dict[str, Any], link: Link | None) -> Any:
    known = {p.name for p in entity.props} | {n.name for n in entity.navs}
    unknown = sorted(k for k in body if k not in known and not k.startswith("@iot."))
    if unknown:
        raise _bad(f"{entity.singular} has no property {unknown[0]!r}.", unknown[0])
    row = entity.model()
    _assign(row, entity, body, creating=True)
    ones = {n.name: n for n in entity.navs if not n.many}
    for name, nav in ones.items():
        target = SETS[nav.target]
        if name in body:
            setattr(row, nav.source_fk or "", _reference(session, target, body[name], name).id)
        elif link is not None and link.nav.target == entity.name and _reverse(link) == name:
            setattr(row, nav.source_fk or "", link.parent_id)
        elif entity.name == "HistoricalLocations" and name == "Thing" and link is None:
            raise _bad("A HistoricalLocation needs its Thing.", name)
    missing = [n.name for n in ones.values() if getattr(row, n.source_fk or "") is None]
    if missing:
        raise _bad(f"A {entity.singular} needs its {missing[0]} (by @iot.id or as a new object).", missing[0])
    session.add(row)
    session.flush()
    for nav in (n for n in entity.navs if n.many):
        if nav.name in body:
            _create_children(session, entity, row, nav, body[nav.name])
    if entity.name == "MultiDatastreams":
        _check_multi(session, row.id)
    if link is not None and link.nav.link is not None:
        _link(session, link.nav, link.parent_id, row.id)
        if link.parent_set.name == "Things" and entity.name == "Locations":
            _historical_location(session, link.parent_id, [row.id])
    return row


def _reverse(link: Link) -> str | None:
    """The to-one navigation from the new child back to the parent of the path."""
    child = SETS[link.nav.target]
    return next((n.name for n in child.navs if not n.many and n.target == link.parent_set.name), None)


def _create_children(session: Session, entity: EntitySet, row: Any, nav: Nav, items: Any) -> None:
    if not isinstance(items, list):
        raise _bad(f"{nav.name} must be a list.", nav.name)
    target = SETS[nav.target]
    created = []
    for item in items:
        if nav.link is not None:
            child = _reference(session, target, item, nav.name)
            _link(session, nav, row.id, child.id)
            created.append(child.id)
        else:
            if isinstance(item, dict) and "@iot.id" in item:
                raise _bad(f"{nav.name}: link existing {target.name} from their side.", nav.name)
            child_link = Link(entity, row.id, nav)
            create(session, target, item, child_link)
    if entity.name == "Things" and nav.name == "Locations" and created:
        _historical_location(session, row.id, created)


def _link(session: Session, nav: Nav, source_id: int, target_id: int) -> None:
    table = nav.link
    assert table is not None
    values = {nav.link_source: source_id, nav.link_target: target_id}
    if table is multi_datastream_observed_property:
        # ordered: each new ObservedProperty takes the next place in the result arrays (repeats allowed)
        multi_id = values["multi_datastream_id"]
        values["position"] = session.scalar(
            select(func.count()).select_from(table).where(table.c.multi_datastream_id == multi_id)
        )
    else:
        exists = session.execute(
            select(table).where(table.c[nav.link_source] == source_id, table.c[nav.link_target] == target_id)
        ).first()
        if exists is not None:
            return
    session.execute(insert(table).values(values))


def multi_arity(session: Session, multi_id: int) -> int:
    """How many values each result of a MultiDatastream has: one per ObservedProperty."""
    table = multi_datastream_observed_property
    return session.scalar(select(func.count()).select_from(table).where(table.c.multi_datastream_id == multi_id)) or 0


def _check_multi(session: Session, multi_id: int) -> None:
    """A MultiDatastream's ObservedProperties, data types and units must line up one to one."""
    multi = session.get(MultiDatastream, multi_id)
    assert multi is not None
    if multi.observation_type != COMPLEX_OBSERVATION:
        raise _bad(f"A MultiDatastream's observationType is {COMPLEX_OBSERVATION}.", "observationType")
    types = json.loads(multi.multi_observation_data_types or "null")
    units = json.loads(multi.unit_of_measurement or "null")
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise _bad("multiObservationDataTypes must be a list of observation type URIs.", "multiObservationDataTypes")
    if not isinstance(units, list) or not all(isinstance(u, dict) for u in units):
        raise _bad("unitOfMeasurements must be a list of {name, symbol, definition} objects.", "unitOfMeasurements")
    arity = multi_arity(session, multi_id)
    if not (len(types) == len(units) == arity) or arity == 0:
        raise _bad(
            f"A MultiDatastream needs as many ObservedProperties as multiObservationDataTypes and "
            f"unitOfMeasurements, in the same order (got {arity}, {len(types)} and {len(units)}).",
            "ObservedProperties",
        )


def _historical_location(session: Session, thing_id: int, location_ids: list[int]) -> None:
    """A Thing's location changed: the spec keeps the history."""
    history = HistoricalLocation(time=utcnow(), thing_id=thing_id)
    session.add(history)
    session.flush()
    for location_id in location_ids:
        session.execute(
            insert(historical_location_location).values(historical_location_id=history.id, location_id=location_id)
        )


def _assign(row: Any, entity: EntitySet, body: dict[str, Any], *, creating: bool) -> None:
    for prop in entity.props:
        if prop.name not in body:
            if creating and prop.required and prop.kind != "result":
                raise _bad(f"A {entity.singular} needs {prop.name}.", prop.name)
            continue
        value = body[prop.name]
        if prop.kind in ("ro_interval", "ro_geojson"):
            continue  # kept by the server
        if prop.kind == "json":
            if value is not None and not isinstance(value, (dict, list)):
                raise _bad(f"{prop.name} must be a JSON object.", prop.name)
            setattr(row, prop.column, json.dumps(value, ensure_ascii=False) if value is not None else None)
        elif prop.kind == "geojson":
            _set_geometry(row, prop.column, value, prop.name)
        elif prop.kind == "time":
            setattr(row, prop.column, parse_time(value, prop.name))
        elif prop.kind == "interval":
            start, end = parse_interval(value, prop.name)
            setattr(row, prop.column, start)
            setattr(row, prop.end_column or "", end)
        else:
            if value is None and prop.required:
                raise _bad(f"{prop.name} may not be null.", prop.name)
            if value is not None and not isinstance(value, str):
                raise _bad(f"{prop.name} must be text.", prop.name)
            setattr(row, prop.column, value)
    if entity.name == "Datastreams" and "unitOfMeasurement" in body:
        unit = body["unitOfMeasurement"]
        if not isinstance(unit, dict):
            raise _bad("unitOfMeasurement must be an object with name, symbol and definition.", "unitOfMeasurement")


# ---------------------------------------------------------------- observations


def _create_observation(session: Session, body: dict[str, Any], link: Link | None) -> Observation:
    entity = SETS["Observations"]
    known = {p.name for p in entity.props} | {n.name for n in entity.navs}
    unknown = sorted(k for k in body if k not in known and not k.startswith("@iot."))
    if unknown:
        raise _bad(f"Observation has no property {unknown[0]!r}.", unknown[0])
    if "Datastream" in body and "MultiDatastream" in body:
        raise _bad("An Observation belongs to a Datastream or a MultiDatastream, not both.", "MultiDatastream")
    if "Datastream" in body or "MultiDatastream" in body:
        name = "Datastream" if "Datastream" in body else "MultiDatastream"
        datastream = _reference(session, SETS[name + "s"], body[name], name)
    elif link is not None and link.parent_set.name in ("Datastreams", "MultiDatastreams"):
        datastream = get(session, link.parent_set, link.parent_id)
    else:
        raise _bad("An Observation needs its Datastream (or MultiDatastream).", "Datastream")
    if isinstance(datastream, MultiDatastream):
        _check_arity(body.get("result"), multi_arity(session, datastream.id))
    if "FeatureOfInterest" in body:
        foi = _reference(session, SETS["FeaturesOfInterest"], body["FeatureOfInterest"], "FeatureOfInterest")
    elif link is not None and link.parent_set.name == "FeaturesOfInterest":
        foi = get(session, SETS["FeaturesOfInterest"], link.parent_id)
    else:
        foi = feature_for_thing(session, datastream.thing_id)
    now = utcnow()
    start, end = parse_interval(body["phenomenonTime"], "phenomenonTime") if "phenomenonTime" in body else (now, None)
    _not_in_future(start, now, "phenomenonTime")
    if _existing_times(session, {datastream.id: [start]}):
        raise Conflict(
            f"Datastream {datastream.id} already has an Observation at {start.isoformat()}; "
            "one reading per datastream and time (a repeated send is not stored twice).",
            code="duplicate-observation",
        )
    row = Observation(
        phenomenon_time_start=start,
        phenomenon_time_end=end,
        result_time=parse_time(body["resultTime"], "resultTime") if body.get("resultTime") else None,
        datastream_id=datastream.id,
        feature_of_interest_id=foi.id,
        **_result_columns(body.get("result")),
    )
    for name, column in (("resultQuality", "result_quality"), ("parameters", "parameters")):
        if body.get(name) is not None:
            setattr(row, column, json.dumps(body[name], ensure_ascii=False))
    if body.get("validTime"):
        row.valid_time_start, row.valid_time_end = parse_interval(body["validTime"], "validTime")
    session.add(row)
    session.flush()
    _extend_datastream(
        session, datastream.id, start, end or start, row.result_time, (start, _result_json(body["result"]))
    )
    fields = {column: getattr(row, column) for column in NOTIFIED_COLUMNS}
    events.emit(
        session,
        "sensing.observations_created",
        datastreams=[datastream.id],
        count=1,
        observations=[_notification(row.id, fields, isinstance(datastream, MultiDatastream))],
    )
    return row


def _check_arity(result: Any, arity: int) -> None:
    if not isinstance(result, list) or len(result) != arity:
        raise _bad(f"A MultiDatastream's result is a list of {arity} values, one per ObservedProperty.", "result")


def _result_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _not_in_future(moment: datetime, now: datetime, field: str) -> None:
    if moment > now + FUTURE_TOLERANCE:
        raise _bad(f"{field} {moment.isoformat()} is in the future (more than five minutes ahead).", field)


def feature_for_thing(session: Session, thing_id: int) -> FeatureOfInterest:
    """The spec's automatic FeatureOfInterest: made from the Thing's current Location, once."""
    location_id = session.scalar(
        select(thing_location.c.location_id)
        .where(thing_location.c.thing_id == thing_id)
        .order_by(thing_location.c.location_id.desc())
    )
    if location_id is None:
        raise _bad("The Observation has no FeatureOfInterest and its Thing has no Location to make one from.")
    existing = session.scalar(select(FeatureOfInterest).where(FeatureOfInterest.location_id == location_id))
    if existing is not None:
        return existing
    location = session.get(Location, location_id)
    assert location is not None
    foi = FeatureOfInterest(
        name=location.name,
        description=location.description,
        encoding_type=location.encoding_type,
        feature=location.location,
        geometry=location.geometry,
        min_lon=location.min_lon,
        min_lat=location.min_lat,
        max_lon=location.max_lon,
        max_lat=location.max_lat,
        location_id=location_id,
    )
    session.add(foi)
    session.flush()
    return foi


def _extend_datastream(
    session: Session,
    datastream_id: int,
    start: datetime,
    end: datetime,
    result_time: datetime | None,
    newest: tuple[datetime, str],
) -> None:
    """Grow the datastream's phenomenon and result time extents; keep the newest value (its time and JSON)
    for cheap reads, unless an even newer one is already there (late data does not roll it back)."""
    ds = session.get(Stream, datastream_id)
    assert ds is not None
    ds.phenomenon_time_start = min(ds.phenomenon_time_start or start, start)
    ds.phenomenon_time_end = max(ds.phenomenon_time_end or end, end)
    if result_time is not None:
        ds.result_time_start = min(ds.result_time_start or result_time, result_time)
        ds.result_time_end = max(ds.result_time_end or result_time, result_time)
    moment, value = newest
    if ds.latest_time is None or moment >= ds.latest_time:
        ds.latest_time, ds.latest_result = moment, value


@dataclass
class BatchResult:
    links: list[str]  # one per row: the new Observation's selfLink, or "error"
    stored: int
    errors: list[str]


def create_observations(session: Session, principal: Principal, body: Any, base: str) -> BatchResult:
    """CreateObservations (dataArray): rows are checked one by one; a bad row answers "error" in its place
    (as the spec's response does) and the others are stored together, with one audit record."""
    from smartcity.sensing import ingest as bulk

    if not isinstance(body, list):
        raise _bad("The body must be a list of {Datastream, components, dataArray} objects.")
    with bulk.cycle_collection_paused():
        return _create_observations(session, principal, body, base)


def _create_observations(session: Session, principal: Principal, body: list[Any], base: str) -> BatchResult:
    from smartcity.sensing import ingest as bulk

    rows: list[bulk.Row] = []
    links: list[str | None] = []
    errors: list[str] = []
    now = utcnow()
    total = sum(len(group.get("dataArray") or []) for group in body if isinstance(group, dict))
    if total > MAX_BATCH:
        raise Problem(413, f"The batch has {total} observations; send at most {MAX_BATCH} per request.")
    datastreams = _batch_datastreams(session, body)
    check_device_may_write(session, principal, {stream.id for stream, _ in datastreams.values()})
    reader = bulk.Reader(session, now, [stream for stream, _ in datastreams.values()])
    for g, group in enumerate(body):
        datastream_id, arity = datastreams[g][0].id, datastreams[g][1]
        components = group.get("components") if isinstance(group, dict) else None
        if not isinstance(components, list) or "result" not in components:
            raise _bad(f"Group {g}: components must be a list naming at least result.", f"[{g}].components")
        unknown = [c for c in components if c not in BATCH_COMPONENTS]
        if unknown:
            raise _bad(f"Group {g}: unknown component {unknown[0]!r}.", f"[{g}].components")
        layout = bulk.Layout.of(components)
        for r, values in enumerate(group.get("dataArray") or []):
            try:
                rows.append(reader.read(datastream_id, arity, layout, values))
                links.append(None)
            except Problem as problem:
                errors.append(f"group {g} row {r}: {problem.detail}")
                links.append("error")
    multi = {stream.id for stream, arity in datastreams.values() if arity is not None}
    written = iter(bulk.store(session, rows, via="http", multi=multi))
    stored = 0
    for position, link in enumerate(links):
        if link is None:
            new_id = next(written)
            if new_id is None:
                links[position] = "error"
                errors.append(f"row {position}: a reading at that time is already stored")
            else:
                links[position] = f"{base}/Observations({new_id})"
                stored += 1
    return BatchResult(cast(list[str], links), stored, errors)  # every place filled above


BATCH_COMPONENTS = frozenset(
    ("phenomenonTime", "result", "resultTime", "FeatureOfInterest/id", "parameters", "resultQuality", "validTime")
)


def _stored_result(row: dict[str, Any]) -> Any:
    if row["result_number"] is not None:
        return int(row["result_number"]) if row["result_json"] == "int" else row["result_number"]
    for key in ("result_string", "result_boolean"):
        if row[key] is not None:
            return row[key]
    return json.loads(row["result_json"]) if row["result_json"] else None


def _batch_datastreams(session: Session, body: list[Any]) -> dict[int, tuple[Stream, int | None]]:
    """Per group: (stream, arity) — arity None for a Datastream, the number of values for a Multi… The streams
    are read in one query and held for the batch, so later lookups find them in the session."""
    named = [_group_reference(group)[1] for group in body]
    wanted = {r["@iot.id"] for r in named if isinstance(r, dict) and type(r.get("@iot.id")) is int}
    loaded = list(session.scalars(select(Stream).where(Stream.id.in_(wanted)))) if wanted else []
    found = {}
    for g, group in enumerate(body):
        name, reference = _group_reference(group)
        if not isinstance(reference, dict) or "@iot.id" not in reference:
            raise _bad(f'Group {g} must name its Datastream as {{"@iot.id": n}}.', f"[{g}].{name}")
        try:
            stream = get(session, SETS[name + "s"], int(reference["@iot.id"]))
        except (TypeError, ValueError, NotFound) as exc:
            raise _bad(f"Group {g}: no {name} {reference['@iot.id']!r}.", f"[{g}].{name}") from exc
        found[g] = (stream, multi_arity(session, stream.id) if name == "MultiDatastream" else None)
    del loaded  # held until each group has its stream
    return found


def _group_reference(group: Any) -> tuple[str, Any]:
    name = "MultiDatastream" if isinstance(group, dict) and "MultiDatastream" in group else "Datastream"
    return name, group.get(name) if isinstance(group, dict) else None


# ---------------------------------------------------------------- change and delete


def patch(session: Session, entity: EntitySet, entity_id: int, body: Any) -> Any:
    if not isinstance(body, dict):
        raise _bad("The body must be a JSON object with the properties to change.")
    row = get(session, entity, entity_id)
    known = {p.name for p in entity.props} | {n.name for n in entity.navs if not n.many}
    unknown = sorted(k for k in body if k not in known and not k.startswith("@iot."))
    if unknown:
        raise _bad(f"{entity.singular} has no property {unknown[0]!r} to change.", unknown[0])
    if entity.name == "Observations" and "result" in body:
        stream = session.get(Stream, row.datastream_id)
        if isinstance(stream, MultiDatastream):
            _check_arity(body["result"], multi_arity(session, stream.id))
        for column, value in _result_columns(body["result"]).items():
            setattr(row, column, value)
        body = {k: v for k, v in body.items() if k != "result"}
    _assign(row, entity, body, creating=False)
    for nav in (n for n in entity.navs if not n.many and n.name in body):
        setattr(row, nav.source_fk or "", _reference(session, SETS[nav.target], body[nav.name], nav.name).id)
    session.flush()
    if entity.name == "MultiDatastreams":
        _check_multi(session, row.id)
    events.emit(session, f"sensing.{entity.singular.lower()}_changed", id=row.id)
    return row


def remove(session: Session, entity: EntitySet, entity_id: int) -> None:
    """Delete with the spec's integrity: what cannot exist without the entity goes with it (a Thing's
    Datastreams and their Observations; a Sensor's or ObservedProperty's Datastreams; a Feature's
    Observations). The database cascades; the audit chain records what was asked."""
    get(session, entity, entity_id)
    if entity.name == "Observations":
        hours.touch_observations(session, Observation.id == entity_id)
        session.execute(delete(Observation).where(Observation.id == entity_id))
    else:
        for child in _dependent_datastreams(entity, entity_id):
            ids = list(session.scalars(child))
            session.execute(delete(Observation).where(Observation.datastream_id.in_(ids)))
            table = multi_datastream_observed_property
            session.execute(delete(table).where(table.c.multi_datastream_id.in_(ids)))
            session.execute(delete(Stream.__table__).where(Stream.__table__.c.id.in_(ids)))
        if entity.name == "FeaturesOfInterest":
            hours.touch_observations(session, Observation.feature_of_interest_id == entity_id)
            session.execute(delete(Observation).where(Observation.feature_of_interest_id == entity_id))
        if entity.name == "Things":
            session.execute(delete(HistoricalLocation).where(HistoricalLocation.thing_id == entity_id))
            session.execute(delete(ThingDevice).where(ThingDevice.thing_id == entity_id))
        for nav in (n for n in entity.navs if n.link is not None):
            session.execute(delete(nav.link).where(nav.link.c[nav.link_source] == entity_id))  # type: ignore[union-attr]
        session.execute(delete(entity.model).where(entity.model.id == entity_id))
    audit.append(session, f"sensing.{entity.singular.lower()}_deleted", entity.model.__tablename__, entity_id)
    events.emit(session, f"sensing.{entity.singular.lower()}_deleted", id=entity_id)


def _dependent_datastreams(entity: EntitySet, entity_id: int) -> list[Any]:
    """Series that cannot exist without the entity (a MultiDatastream goes with any of its properties)."""
    column = {"Things": "thing_id", "Sensors": "sensor_id", "ObservedProperties": "observed_property_id"}
    if entity.name == "ObservedProperties":
        table = multi_datastream_observed_property
        return [
            select(Stream.id).where(Stream.observed_property_id == entity_id),
            select(table.c.multi_datastream_id).where(table.c.observed_property_id == entity_id),
        ]
    if entity.name in column:
        return [select(Stream.id).where(getattr(Stream, column[entity.name]) == entity_id)]
    if entity.name in ("Datastreams", "MultiDatastreams"):
        return [select(Stream.id).where(Stream.id == entity_id)]
    return []


@dataclass(frozen=True)
class StreamInfo:
    """A Datastream with what other modules read of its station (the Thing's name and properties)."""

    datastream_id: int
    station: str
    properties: dict[str, Any]  # the Thing's
    latest_time: datetime | None
    latest_value: Any


def datastreams_measuring(session: Session, quantity: str) -> list[StreamInfo]:
    """The Datastreams whose properties say they measure ``quantity`` (e.g. rainfall, water_level)."""
    found = []
    for ds, thing in session.execute(
        select(Datastream, Thing).join(Thing, Thing.id == Datastream.thing_id).order_by(Datastream.id)
    ):
        if json.loads(ds.properties or "{}").get("quantity") != quantity:
            continue
        latest = json.loads(ds.latest_result) if ds.latest_result else None
        found.append(StreamInfo(ds.id, thing.name, json.loads(thing.properties or "{}"), ds.latest_time, latest))
    return found


def sums(session: Session, datastream_ids: list[int], start: datetime, end: datetime) -> dict[int, float]:
    """The sum of each Datastream's numeric results with phenomenon time in [start, end)."""
    if not datastream_ids:
        return {}
    rows = session.execute(
        select(Observation.datastream_id, func.sum(Observation.result_number))
        .where(
            Observation.datastream_id.in_(datastream_ids),
            Observation.phenomenon_time_start >= start,
            Observation.phenomenon_time_start < end,
        )
        .group_by(Observation.datastream_id)
    )
    return {i: float(total or 0) for i, total in rows}


NOT_NUMERIC = ("OM_CategoryObservation", "OM_TruthObservation", "OM_ComplexObservation")


def numeric_datastreams(session: Session, ids: set[int]) -> set[int]:
    """Which of these are Datastreams whose results can be numbers (what rules on values can read)."""
    return {stream.datastream_id for stream in numeric_datastream_names(session, ids)}


@dataclass(frozen=True)
class NumericStream:
    """A Datastream with numeric results as a person picks it: its name, its station (the Thing) and unit."""

    datastream_id: int
    name: str
    station: str
    unit: str


def _symbol(unit: str | None) -> str:
    value = json.loads(unit or "{}")
    return str(value.get("symbol") or "") if isinstance(value, dict) else ""


def numeric_datastream_names(session: Session, ids: set[int] | None = None) -> list[NumericStream]:
    """The Datastreams whose results can be numbers (what alarm rules watch) with their station and unit,
    ordered by station; only those in ``ids`` when given."""
    statement = (
        select(Datastream.id, Datastream.name, Datastream.observation_type, Datastream.unit_of_measurement, Thing.name)
        .join(Thing, Thing.id == Datastream.thing_id)
        .order_by(Thing.name, Datastream.id)
    )
    if ids is not None:
        statement = statement.where(Datastream.id.in_(ids))
    return [
        NumericStream(i, name, station, _symbol(unit))
        for i, name, kind, unit, station in session.execute(statement)
        if not kind.endswith(NOT_NUMERIC)
    ]


def station_point(session: Session, stream_id: int) -> tuple[float, float] | None:
    """(lon, lat) of the station a Datastream or MultiDatastream belongs to (its Thing's newest Location)."""
    thing_id = session.scalar(select(Stream.thing_id).where(Stream.id == stream_id))
    if thing_id is None:
        return None
    location = session.scalar(
        select(Location)
        .join(thing_location, thing_location.c.location_id == Location.id)
        .where(thing_location.c.thing_id == thing_id)
        .order_by(Location.id.desc())
    )
    if location is None or location.min_lon is None:
        return None
    return (location.min_lon + location.max_lon) / 2, (location.min_lat + location.max_lat) / 2


def latest(session: Session, datastream_ids: list[int] | None = None) -> list[Stream]:
    """Datastreams and MultiDatastreams with their newest value and time (kept by the ingest: no scan)."""
    statement = select(Stream).order_by(Stream.id)
    if datastream_ids:
        statement = statement.where(Stream.id.in_(datastream_ids))
    return list(session.scalars(statement))


def ingest(session: Session, items: list[tuple[Any, ...]], via: str = "mqtt") -> list[str | None]:
    """Observations arriving one message each (MQTT): ``(stream id, payload)`` pairs — or ``(id, payload,
    "MultiDatastreams")`` — checked one by one and the valid ones written together. Returns, per item, None
    when stored or the reason it was not."""
    from smartcity.sensing import ingest as bulk

    with bulk.cycle_collection_paused():
        return _ingest(session, items, via)


def _ingest(session: Session, items: list[tuple[Any, ...]], via: str) -> list[str | None]:
    from smartcity.sensing import ingest as bulk

    streams = list(session.scalars(select(Stream).where(Stream.id.in_({item[0] for item in items}))))
    kinds = {stream.id: stream.kind for stream in streams}
    arities: dict[int, int] = {}
    layouts: dict[tuple[str, ...], bulk.Layout] = {}
    reader = bulk.Reader(session, utcnow(), streams)
    rows, outcome = [], []
    allowed = {p.name for p in SETS["Observations"].props}
    for datastream_id, payload, *rest in items:
        wanted = "m" if rest and rest[0] == "MultiDatastreams" else "d"
        try:
            if kinds.get(datastream_id) != wanted:
                raise _bad(f"no {'MultiDatastream' if wanted == 'm' else 'Datastream'} {datastream_id}")
            if wanted == "m" and datastream_id not in arities:
                arities[datastream_id] = multi_arity(session, datastream_id)
            if not isinstance(payload, dict):
                raise _bad("the message must be a JSON object: an Observation")
            unknown = sorted(
                k for k in payload if k not in allowed and not k.startswith("@iot.") and k != "FeatureOfInterest"
            )
            if unknown:
                raise _bad(f"Observation has no property {unknown[0]!r}")
            components = tuple(k for k in MESSAGE_COMPONENTS if k in payload)
            if "result" not in payload:
                raise _bad("result is required")
            values = [payload[k] for k in components]
            foi = payload.get("FeatureOfInterest")
            if isinstance(foi, dict) and "@iot.id" in foi:
                components, values = (*components, "FeatureOfInterest/id"), [*values, foi["@iot.id"]]
            layout = layouts.get(components) or layouts.setdefault(components, bulk.Layout.of(components))
            rows.append(reader.read(datastream_id, arities.get(datastream_id), layout, values))
            outcome.append(None)
        except Problem as problem:
            outcome.append(problem.detail)
    multi = {i for i, kind in kinds.items() if kind == "m"}
    written = iter(bulk.store(session, rows, via=via, multi=multi))
    for position, reason in enumerate(outcome):
        if reason is None and next(written) is None:
            outcome[position] = "a reading at that time is already stored (repeated send)"
    return outcome


MESSAGE_COMPONENTS = ("phenomenonTime", "result", "resultTime", "parameters", "resultQuality")


def _existing_times(session: Session, wanted: dict[int, list[datetime]]) -> set[tuple[int, datetime]]:
    """Which (datastream, phenomenon time) pairs are already stored."""
    found: set[tuple[int, datetime]] = set()
    for datastream_id, times in wanted.items():
        for start in range(0, len(times), 500):
            chunk = times[start : start + 500]
            found |= {
                (datastream_id, t)
                for t in session.scalars(
                    select(Observation.phenomenon_time_start).where(
                        Observation.datastream_id == datastream_id, Observation.phenomenon_time_start.in_(chunk)
                    )
                )
            }
    return found


def _notification(observation_id: int, row: dict[str, Any], multi: bool) -> dict[str, Any]:
    """What MQTT subscribers get for a new Observation (the entity's own properties)."""
    from smartcity.sensing.query import iso

    end = row["phenomenon_time_end"]
    start = iso(row["phenomenon_time_start"])
    return {
        "@iot.id": observation_id,
        "phenomenonTime": f"{start}/{iso(end)}" if end else start,
        "resultTime": iso(row["result_time"]),
        "result": _stored_result(row),
        "datastream": row["datastream_id"],
        "multi": multi,
        "featureOfInterest": row["feature_of_interest_id"],
    }
