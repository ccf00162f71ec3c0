"""OGC SensorThings API v1.1 (Sensing) at /sta/v1.1: the resource paths of the spec (entity sets, entities
by id, navigation, properties, ``$value``, ``$ref``), the query options, deep insert, PATCH, DELETE and the
CreateObservations dataArray batch. Errors are problem+json naming the option or field at fault."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from smartcity.core.deps import SessionDep
from smartcity.core.errors import NotFound, Problem
from smartcity.security import Principal, grant, readable, require
from smartcity.sensing import ingest, query, service
from smartcity.sensing import window as sta_window
from smartcity.sensing.entities import SETS, EntitySet, Nav

grant("sensing.read", "read the sensing hub's entities and observations", "supervisor", "dispatcher", "operator",
      "inspector", "handler", "viewer", "device")  # fmt: skip
grant("sensing.ingest", "write observations to the datastreams of the Things bound to the account", "device")
grant("sensing.manage", "create, change and delete any SensorThings entity", "supervisor")

PREFIX = "/sta/v1.1"
router = APIRouter(prefix=PREFIX, tags=["SensorThings API v1.1"])
Reader = Annotated[Principal, readable("sensing.read", lambda settings: settings.sta_public_read)]
_SEGMENT = re.compile(r"^([A-Za-z]+)(?:\((\d+)\))?$")
CONFORMANCE = [
    "http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/data-array/data-array",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/multi-datastream",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/create-observations-via-mqtt/observations-creation",
]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX


@dataclass
class Target:
    """What a resource path names: a collection (with the condition its navigation implies), an entity,
    or one property of an entity."""

    entity: EntitySet
    row: Any = None
    condition: Any = None
    link: service.Link | None = None
    prop: str | None = None
    raw_value: bool = False
    ref: bool = False


def resolve(session: SessionDep, path: str) -> Target:
    segments = [s for s in path.split("/") if s]
    if not segments:
        raise NotFound("resource", "/")
    head = _SEGMENT.match(segments[0])
    if head is None or head.group(1) not in SETS:
        raise Problem(404, f"{segments[0]!r} is not an entity set; see {PREFIX}.", code="not-found")
    target = Target(SETS[head.group(1)])
    if head.group(2):
        target.row = service.get(session, target.entity, int(head.group(2)))
    for segment in segments[1:]:
        target = _step(session, target, segment)
    return target


def _step(session: SessionDep, target: Target, segment: str) -> Target:
    if segment == "$ref":
        target.ref = True
        return target
    if segment == "$value":
        if target.prop is None:
            raise Problem(400, "$value follows a property, e.g. Things(1)/name/$value.")
        target.raw_value = True
        return target
    if target.row is None:
        raise Problem(400, f"{segment!r} must follow a single entity, e.g. {target.entity.name}(1)/{segment}.")
    match = _SEGMENT.match(segment)
    nav = target.entity.nav(match.group(1)) if match else None
    if nav is not None and match is not None:
        return _navigate(session, target, nav, match.group(2))
    if target.entity.prop(segment) is not None and target.prop is None:
        target.prop = segment
        return target
    raise Problem(404, f"{target.entity.singular} has no property or navigation {segment!r}.", code="not-found")


def _navigate(session: SessionDep, target: Target, nav: Nav, child_id: str | None) -> Target:
    entity = SETS[nav.target]
    condition = query.nav_condition(nav, target.row)
    if not nav.many:
        from sqlalchemy import select

        row = session.scalar(select(entity.model).where(condition))
        if row is None:
            raise NotFound(entity.singular, f"of {target.entity.singular}({target.row.id})")
        return Target(entity, row=row)
    link = service.Link(target.entity, target.row.id, nav)
    if child_id is None:
        return Target(entity, condition=condition, link=link)
    from sqlalchemy import and_, select

    row = session.scalar(select(entity.model).where(and_(condition, entity.model.id == int(child_id))))
    if row is None:
        raise NotFound(entity.singular, child_id)
    return Target(entity, row=row)


def _options(request: Request) -> query.Options:
    try:
        return query.parse_options(dict(request.query_params))
    except query.QueryError as error:
        raise Problem(400, error.message, errors=[{"field": error.option, "message": error.message}]) from error


def _dialect(session: SessionDep) -> str:
    return session.get_bind().dialect.name


@router.get("", summary="Service root: the entity sets and the server's conformance")
def root(request: Request, _: Reader) -> dict[str, Any]:
    base = _base(request)
    return {
        "value": [{"name": name, "url": f"{base}/{name}"} for name in SETS],
        "serverSettings": {"conformance": CONFORMANCE},
    }


@router.get("/{path:path}", summary="Read a collection, an entity, a property or references")
def read(path: str, request: Request, session: SessionDep, _: Reader) -> Response:
    target = resolve(session, path)
    options = _options(request)
    writer = query.Writer(session, _base(request), _dialect(session))
    try:
        if target.row is not None:
            return _read_one(target, writer, options)
        return _read_many(request, session, target, writer, options)
    except query.QueryError as error:
        raise Problem(400, error.message, errors=[{"field": error.option, "message": error.message}]) from error


def _read_one(target: Target, writer: query.Writer, options: query.Options) -> Response:
    if target.ref:
        return JSONResponse({"@iot.selfLink": f"{writer.base}/{target.entity.name}({target.row.id})"})
    if target.prop is not None:
        prop = target.entity.prop(target.prop)
        value = query.prop_value(prop, target.row)  # type: ignore[arg-type]
        if target.raw_value:
            return PlainTextResponse(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
        return JSONResponse({target.prop: value})
    return JSONResponse(writer.entity(target.entity, target.row, options))


def _read_many(
    request: Request, session: SessionDep, target: Target, writer: query.Writer, options: query.Options
) -> Response:
    window = sta_window.recognise(target.entity.name, target.link, target.ref, options)
    if window is not None:
        cache: sta_window.WindowCache = request.app.state.sta_window_cache
        served = cache.read(session, window, target.condition, options, writer)
        if served is not None:
            return Response(served, media_type="application/json")
    statement, count = query.collection_query(target.entity, options, writer.dialect, target.condition)
    rows, more = query.page(session, statement, options)
    body: dict[str, Any] = {}
    if options.count:
        body["@iot.count"] = session.scalar(count)
    if more:
        top = options.top if options.top is not None else query.DEFAULT_TOP
        params = {**dict(request.query_params), "$top": str(top), "$skip": str(options.skip + top)}
        body["@iot.nextLink"] = f"{writer.base}/{request.path_params['path']}?{urlencode(params, safe='$')}"
    if options.result_format == "dataArray":
        if target.entity.name != "Observations":
            raise query.QueryError("$resultFormat", "dataArray applies to Observations")
        body["value"] = query.data_array(rows, options, writer)
    elif target.ref:
        body["value"] = [{"@iot.selfLink": f"{writer.base}/{target.entity.name}({r.id})"} for r in rows]
    else:
        body["value"] = writer.entities(target.entity, rows, options)
    return Response(orjson.dumps(body), media_type="application/json")  # thousands of entities: orjson


async def _json(request: Request) -> Any:
    return _parse(await request.body())


def _parse(body: bytes) -> Any:
    body = body or b"null"
    try:
        return orjson.loads(body)  # several times faster on large batches
    except orjson.JSONDecodeError:
        pass  # what orjson refuses (NaN, a BOM, lone surrogates, huge integers …): the standard parser decides
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Problem(
            400, f"The body is not valid JSON: {exc}", errors=[{"field": "body", "message": "malformed"}]
        ) from exc


def _throttle(request: Request, session: SessionDep, principal: Principal) -> None:
    """A device gets its own budget of write requests per minute: one flooding device is refused (429)
    while the others go on. Managers and the MQTT bridge are not counted."""
    if service.may_manage(principal):
        return
    # The count has a transaction of its own; end the request's (it has only read the credentials) so
    # that SQLite's single writer is free for it.
    session.commit()
    from datetime import timedelta

    from smartcity.core import ratelimit

    limit = request.app.state.settings.sta_device_writes_per_minute
    retry = ratelimit.hit(request.app.state.database, f"sta-write:{principal.username}", limit, timedelta(minutes=1))
    if retry is not None:
        raise Problem(
            429,
            f"This device sent more than {limit} write requests this minute; slow down or batch them "
            f"(CreateObservations). Try again in {retry} s.",
            code="device-throttled",
            headers={"Retry-After": str(retry)},
        )


@router.post("/CreateObservations", summary="Create observations in bulk (dataArray)", status_code=201)
async def create_observations(
    request: Request, session: SessionDep, principal: Annotated[Principal, require("sensing.read")]
) -> Response:
    _throttle(request, session, principal)
    raw = await request.body()
    with ingest.cycle_collection_paused():  # parsing a large batch allocates as much as storing it
        links = service.create_observations(session, principal, _parse(raw), _base(request)).links
        # the same bytes as JSONResponse (compact, UTF-8) for up to 50,000 links, encoded by orjson
        content = orjson.dumps(links)
        del links  # freed before the collector is back: it would only walk them
    return Response(content, status_code=201, media_type="application/json")


@router.post("/{path:path}", summary="Create an entity (deep insert allowed), or link it on a navigation path")
async def create(
    path: str, request: Request, session: SessionDep, principal: Annotated[Principal, require("sensing.read")]
) -> JSONResponse:
    _throttle(request, session, principal)
    body = await _json(request)
    target = resolve(session, path)
    if target.row is not None or target.prop is not None:
        raise Problem(
            405, "POST to a collection, e.g. Things or Datastreams(1)/Observations.", code="method-not-allowed"
        )
    if target.entity.name == "Observations":
        datastream = _datastream_of(session, body, target)
        service.check_device_may_write(session, principal, {datastream} if datastream else set())
    elif not service.may_manage(principal):
        raise Problem(403, "Only managers (sensing.manage) create entities other than Observations.", code="forbidden")
    row = service.create(session, target.entity, body, target.link)
    writer = query.Writer(session, _base(request), _dialect(session))
    location = f"{writer.base}/{target.entity.name}({row.id})"
    return JSONResponse(
        writer.entity(target.entity, row, query.Options()), status_code=201, headers={"Location": location}
    )


def _datastream_of(session: SessionDep, body: Any, target: Target) -> int | None:
    if target.link is not None and target.link.parent_set.name in ("Datastreams", "MultiDatastreams"):
        return target.link.parent_id
    for name in ("Datastream", "MultiDatastream"):
        reference = body.get(name) if isinstance(body, dict) else None
        if isinstance(reference, dict) and isinstance(reference.get("@iot.id"), int):
            return reference["@iot.id"]
    return None


@router.patch("/{path:path}", summary="Change some properties of an entity")
async def change(
    path: str, request: Request, session: SessionDep, principal: Annotated[Principal, require("sensing.manage")]
) -> JSONResponse:
    body = await _json(request)
    target = resolve(session, path)
    if target.row is None or target.prop is not None:
        raise Problem(405, "PATCH an entity, e.g. Things(1).", code="method-not-allowed")
    row = service.patch(session, target.entity, target.row.id, body)
    writer = query.Writer(session, _base(request), _dialect(session))
    return JSONResponse(writer.entity(target.entity, row, query.Options()))


@router.delete("/{path:path}", summary="Delete an entity and what cannot exist without it")
def remove(path: str, session: SessionDep, principal: Annotated[Principal, require("sensing.manage")]) -> Response:
    target = resolve(session, path)
    if target.row is None or target.prop is not None:
        raise Problem(405, "DELETE an entity, e.g. Things(1).", code="method-not-allowed")
    service.remove(session, target.entity, target.row.id)
    return Response(status_code=200)
