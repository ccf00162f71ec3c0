"""From a SensorThings request to SQL and back: compile ``$filter`` / ``$orderby`` trees into SQLAlchemy
expressions (bound parameters only), read collections with ``$top``/``$skip``/``$count``, expand
navigation properties with their own options, and write entities as STA JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from itertools import chain, repeat
from operator import itemgetter
from typing import Any, NamedTuple

import orjson
from sqlalchemy import (
    JSON,
    Float,
    Integer,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.orm import Session

from smartcity.core.db import UTCDateTime
from smartcity.sensing import filter as stafilter
from smartcity.sensing import sqlite_functions  # noqa: F401 - registers spatial and math functions on SQLite
from smartcity.sensing.entities import SETS, EntitySet, Nav, Prop
from smartcity.sensing.ingest import cycle_collection_paused
from smartcity.sensing.models import Observation

DEFAULT_TOP, MAX_TOP = 100, 10_000


class QueryError(ValueError):
    """A request the spec does not allow or we cannot answer; becomes a 400 naming the option."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option}: {message}")
        self.option, self.message = option, message


# ---------------------------------------------------------------- JSON output


def iso(moment: datetime | str | None) -> str | None:
    """ISO 8601 in UTC to the millisecond. Also takes SQLite's stored text (``2026-12-02 06:41:21.123456``,
    UTC), which observation reads leave unparsed: slicing it is much cheaper than a datetime round trip."""
    if moment is None:
        return None
    if isinstance(moment, str):
        return f"{moment[:10]}T{moment[11:19]}{(moment[19:23] or '.000').ljust(4, '0')}Z"
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def result_of(row: Any) -> Any:
    return result_value(row.result_number, row.result_string, row.result_boolean, row.result_json)


def result_value(number: float | None, text: str | None, boolean: bool | None, document: str | None) -> Any:
    """An Observation's result from the column of its type."""
    if number is not None:
        return int(number) if number.is_integer() and abs(number) < 2**53 and document == "int" else number
    if text is not None:
        return text
    if boolean is not None:
        return boolean
    if document not in (None, "int"):
        return json.loads(document)  # type: ignore[arg-type]
    return None


def prop_value(prop: Prop, row: Any) -> Any:
    value = getattr(row, prop.column)
    if prop.kind in ("json", "geojson", "ro_geojson"):
        return json.loads(value) if value else None
    if prop.kind == "time":
        return iso(value)
    if prop.kind in ("interval", "ro_interval"):
        end = getattr(row, prop.end_column or "")
        if value is None:
            return None
        return f"{iso(value)}/{iso(end)}" if end is not None and end != value else iso(value)
    if prop.kind == "result":
        return result_of(row)
    return value


@dataclass
class Options:
    filter: Any = None
    orderby: list[tuple[Any, bool]] = field(default_factory=list)
    top: int | None = None
    skip: int = 0
    count: bool = False
    select: list[str] | None = None
    expand: list[Expand] = field(default_factory=list)
    result_format: str | None = None


@dataclass
class Expand:
    path: list[str]
    options: Options


def parse_options(params: dict[str, str], *, nested: bool = False) -> Options:
    """The system query options of a request (or of one $expand item)."""
    options = Options()
    for key, value in params.items():
        if not key.startswith("$"):
            continue
        if key == "$filter":
            options.filter = _parsed(key, value, stafilter.parse)
        elif key == "$orderby":
            options.orderby = _parsed(key, value, stafilter.parse_orderby)
        elif key in ("$top", "$skip"):
            if not value.isdigit():
                raise QueryError(key, "must be a whole number ≥ 0")
            if key == "$top":
                options.top = min(int(value), MAX_TOP)
            else:
                options.skip = int(value)
        elif key == "$count":
            if value not in ("true", "false"):
                raise QueryError(key, "must be true or false")
            options.count = value == "true"
        elif key == "$select":
            options.select = [s.strip() for s in value.split(",") if s.strip()]
        elif key == "$expand":
            options.expand = parse_expand(value)
        elif key == "$resultFormat" and not nested:
            if value != "dataArray":
                raise QueryError(key, "the only result format is dataArray")
            options.result_format = value
        else:
            raise QueryError(key, "unknown query option")
    return options


def _parsed(option: str, value: str, parser: Any) -> Any:
    try:
        return parser(value)
    except stafilter.FilterError as error:
        raise QueryError(option, str(error)) from error


def _split(text: str, separator: str) -> list[str]:
    """Split at ``separator`` outside parentheses and quotes."""
    parts, depth, quoted, current = [], 0, False, []
    for char in text:
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
            if depth < 0:
                raise QueryError("$expand", "a ')' has no '('")
        if char == separator and depth == 0 and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth:
        raise QueryError("$expand", "a '(' is not closed")
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def parse_expand(text: str) -> list[Expand]:
    items = []
    for part in _split(text, ","):
        match = re.fullmatch(r"([A-Za-z/]+)(?:\((.*)\))?", part, re.DOTALL)
        if match is None:
            raise QueryError("$expand", f"cannot read {part!r}")
        inner = {}
        for option in _split(match.group(2) or "", ";"):
            key, sep, value = option.partition("=")
            if not sep:
                raise QueryError("$expand", f"{option!r} must look like $option=value")
            inner[key.strip()] = value.strip()
        items.append(Expand(match.group(1).split("/"), parse_options(inner, nested=True)))
    return items


# ---------------------------------------------------------------- compiling expressions


@dataclass
class Typed:
    expr: Any
    kind: str  # number, text, bool, time, geo, json, result, null, any; "many" wraps a Related


@dataclass
class Related:
    """A value read through a to-many navigation (``Datastreams/name`` on Things): one per related row.
    Operations apply inside; a condition on it means "some related row satisfies it" (SQL EXISTS)."""

    source: Any  # the target table, joined to the link table when there is one
    correlation: Any
    value: Typed


class Compiler:
    def __init__(self, entity: EntitySet, dialect: str) -> None:
        self.entity, self.dialect = entity, dialect

    def condition(self, tree: Any) -> Any:
        return self.truth(self.compile(tree))

    def truth(self, compiled: Typed) -> Any:
        if compiled.kind == "many":
            related: Related = compiled.expr
            return exists(
                select(literal(1)).select_from(related.source).where(related.correlation, self.truth(related.value))
            )
        if compiled.kind not in ("bool", "any"):
            raise QueryError("$filter", "the expression must be true or false, not a value")
        return compiled.expr

    def apply(self, args: list[Typed], operation: Any) -> Typed:
        """``operation(args)``; when an argument is read through a to-many navigation, the operation goes
        inside it (each such argument in turn), so the whole becomes a value per related row."""
        for position, arg in enumerate(args):
            if arg.kind == "many":
                related: Related = arg.expr
                inner = [*args[:position], related.value, *args[position + 1 :]]
                return Typed(Related(related.source, related.correlation, self.apply(inner, operation)), "many")
        return operation(args)

    def compile(self, node: Any) -> Typed:
        if isinstance(node, stafilter.Literal):
            return self.literal(node.value)
        if isinstance(node, stafilter.Path):
            return self.path(self.entity, self.entity.model, list(node.segments))
        if isinstance(node, stafilter.Not):
            return Typed(not_(self.condition(node.operand)), "bool")
        if isinstance(node, stafilter.Negate):
            return self.apply([self.compile(node.operand)], lambda a: Typed(-self.number(a[0]), "number"))
        if isinstance(node, stafilter.Binary):
            return self.binary(node)
        if isinstance(node, stafilter.Call):
            return self.call(node)
        raise QueryError("$filter", f"cannot use {node!r}")

    @staticmethod
    def literal(value: Any) -> Typed:
        if value is None:
            return Typed(None, "null")
        if isinstance(value, bool):
            return Typed(literal(value), "bool")
        if isinstance(value, (int, float)):
            return Typed(literal(value, Float), "number")
        if isinstance(value, str):
            return Typed(literal(value, String), "text")
        if isinstance(value, stafilter.Geography):
            return Typed(literal(value.wkt, String), "wkt")
        if isinstance(value, datetime):
            return Typed(literal(value), "time")
        if isinstance(value, date):
            return Typed(literal(datetime(value.year, value.month, value.day, tzinfo=UTC)), "time")
        raise QueryError("$filter", f"cannot use the literal {value!r}")

    def path(self, entity: EntitySet, model: Any, segments: list[str]) -> Typed:
        head, rest = segments[0], segments[1:]
        if head in ("id", "@iot.id"):
            return Typed(model.id, "number")
        nav = entity.nav(head)
        if nav is not None:
            if not rest:
                raise QueryError("$filter", f"name a property of {head}, e.g. {head}/id")
            target = SETS[nav.target]
            inner = self.path(target, target.model, rest)
            if nav.many:
                return Typed(Related(*_correlated(nav, model), inner), "many")
            fk = getattr(model, nav.source_fk or "")
            return Typed(select(inner.expr).where(target.model.id == fk).scalar_subquery(), inner.kind)
        prop = entity.prop(head)
        if prop is None:
            raise QueryError("$filter", f"{entity.singular} has no property {head!r}")
        column = getattr(model, prop.column)
        if prop.kind == "result":
            return Typed(model, "result")
        if prop.kind in ("time", "interval", "ro_interval"):
            return Typed(column, "time")
        if prop.kind in ("geojson", "ro_geojson"):
            return Typed(model.geometry, "geo")
        if prop.kind == "json":
            if not rest:
                return Typed(column, "json")
            return Typed(self.json_path(column, rest), "any")
        if rest:
            raise QueryError("$filter", f"{head} has no parts")
        return Typed(column, "text")

    def json_path(self, column: Any, keys: list[str]) -> Any:
        if self.dialect == "sqlite":
            return func.json_extract(column, "$." + ".".join(f'"{k}"' for k in keys))
        expression = cast(column, JSON)
        for key in keys[:-1]:
            expression = expression.op("->")(literal(key))
        return expression.op("->>")(literal(keys[-1]))

    def number(self, typed: Typed) -> Any:
        if typed.kind == "result":
            return typed.expr.result_number
        if typed.kind == "any":
            return _as_number(typed.expr, self.dialect)
        return typed.expr

    def binary(self, node: stafilter.Binary) -> Typed:
        if node.op in ("and", "or"):
            joined = and_ if node.op == "and" else or_
            return Typed(joined(self.condition(node.left), self.condition(node.right)), "bool")
        left, right = self.compile(node.left), self.compile(node.right)
        return self.apply([left, right], lambda a: self.binary_typed(node.op, a[0], a[1]))

    def binary_typed(self, op: str, left: Typed, right: Typed) -> Typed:
        if op in stafilter.ARITHMETIC:
            a, b = self.number(left), self.number(right)
            expression = {"add": a + b, "sub": a - b, "mul": a * b, "div": a / b, "mod": a % b}[op]
            return Typed(expression, "number")
        return Typed(self.compare(op, left, right), "bool")

    def compare(self, op: str, left: Typed, right: Typed) -> Any:
        if left.kind == "null" or right.kind == "null":
            value = right if left.kind == "null" else left
            if value.kind == "result":  # a result is null when no column of any type holds it
                model = value.expr
                columns = (model.result_number, model.result_string, model.result_boolean, model.result_json)
                missing = and_(*(c.is_(None) for c in columns))
                if op in ("eq", "ne"):
                    return missing if op == "eq" else not_(missing)
            column = self.resolve_against(value, None)
            if op == "eq":
                return column.is_(None)
            if op == "ne":
                return column.is_not(None)
            raise QueryError("$filter", "null can only be compared with eq or ne")
        a, b = self.resolve_against(left, right), self.resolve_against(right, left)
        return {"eq": a == b, "ne": a != b, "gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[op]

    def resolve_against(self, typed: Typed, other: Typed | None) -> Any:
        """A value ready to compare with ``other``: results pick the column of the other side's type; JSON
        values are cast to numbers on PostgreSQL when compared with numbers."""
        if typed.kind == "result":
            kind = other.kind if other is not None else "number"
            model = typed.expr
            if kind == "text":
                return model.result_string
            if kind == "bool":
                return model.result_boolean
            return model.result_number
        if typed.kind == "any" and other is not None and other.kind == "number":
            return _as_number(typed.expr, self.dialect)
        if typed.kind == "any" and other is not None and other.kind == "bool" and self.dialect != "sqlite":
            return func.lower(typed.expr)  # a JSON member reads as text: true and false are its words
        if typed.kind == "bool" and other is not None and other.kind == "any" and self.dialect != "sqlite":
            return literal("true" if typed.expr.value else "false", String)
        return typed.expr

    def text(self, typed: Typed) -> Any:
        if typed.kind == "result":
            return typed.expr.result_string
        return typed.expr

    def call(self, node: stafilter.Call) -> Typed:
        args = [self.compile(a) for a in node.args]
        return self.apply(args, lambda inner: self.call_typed(node, inner))

    def call_typed(self, node: stafilter.Call, args: list[Typed]) -> Typed:
        name = node.name
        if name in ("substringof", "contains", "startswith", "endswith"):
            haystack, needle = (args[1], args[0]) if name == "substringof" else (args[0], args[1])
            h, n = self.text(haystack), self.text(needle)
            if name in ("substringof", "contains"):
                return Typed(self.index_of(h, n) > 0, "bool")
            if name == "startswith":
                return Typed(func.substr(h, 1, func.length(n)) == n, "bool")
            return Typed(func.substr(h, func.length(h) - func.length(n) + 1) == n, "bool")
        if name == "length":
            return Typed(func.length(self.text(args[0])), "number")
        if name == "indexof":
            return Typed(self.index_of(self.text(args[0]), self.text(args[1])) - 1, "number")
        if name == "substring":
            start = self.number(args[1]) + 1
            if len(args) == 3:
                return Typed(func.substr(self.text(args[0]), start, self.number(args[2])), "text")
            return Typed(func.substr(self.text(args[0]), start), "text")
        if name in ("tolower", "toupper", "trim"):
            function = {"tolower": func.lower, "toupper": func.upper, "trim": func.trim}[name]
            return Typed(function(self.text(args[0])), "text")
        if name == "concat":
            return Typed(self.text(args[0]).concat(self.text(args[1])), "text")
        if name in ("year", "month", "day", "hour", "minute", "second"):
            return Typed(
                func.sta_extract(name, args[0].expr) if self.dialect == "sqlite" else _extract(name, args[0].expr),
                "number",
            )
        if name == "fractionalseconds":
            return Typed(literal(0.0, Float), "number")  # times are stored to the microsecond; see docs
        if name == "totaloffsetminutes":
            return Typed(literal(0, Float), "number")  # stored in UTC
        if name in ("date", "time"):
            raise QueryError("$filter", f"{name}() is not supported; compare date-times instead")
        if name in ("now", "mindatetime", "maxdatetime"):
            moment = {"now": datetime.now(UTC), "mindatetime": datetime(1, 1, 1, tzinfo=UTC)}.get(
                name, datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
            )
            return Typed(literal(moment), "time")
        if name in ("round", "floor", "ceiling"):
            function = {"round": func.round, "floor": func.floor, "ceiling": func.ceiling}[name]
            return Typed(function(self.number(args[0])), "number")
        return self.spatial(node, args)

    def index_of(self, haystack: Any, needle: Any) -> Any:
        return func.instr(haystack, needle) if self.dialect == "sqlite" else func.strpos(haystack, needle)

    def spatial(self, node: stafilter.Call, args: list[Typed]) -> Typed:
        geometries = [self.geometry(a) for a in args[:2]]
        name = node.name.replace("geo.", "st_")
        if name == "st_length":
            return Typed(
                func.sta_length(*geometries) if self.dialect == "sqlite" else func.ST_Length(*geometries), "number"
            )
        if name == "st_distance":
            return Typed(
                func.sta_distance(*geometries) if self.dialect == "sqlite" else func.ST_Distance(*geometries), "number"
            )
        if name == "st_relate":
            pattern = self.text(args[2])
            if self.dialect == "sqlite":
                return Typed(func.sta_relate(*geometries, pattern) == 1, "bool")
            return Typed(func.ST_Relate(*geometries, pattern), "bool")
        if self.dialect == "sqlite":
            return Typed(getattr(func, f"sta_{name[3:]}")(*geometries) == 1, "bool")
        return Typed(getattr(func, "ST_" + name[3:].capitalize())(*geometries), "bool")

    def geometry(self, typed: Typed) -> Any:
        """Both engines get geometries: GeoJSON columns and WKT literals (SQLite UDFs read either)."""
        if typed.kind not in ("geo", "wkt"):
            raise QueryError("$filter", "spatial functions take a location property or a geography'…' literal")
        if self.dialect == "sqlite":
            return typed.expr
        if typed.kind == "wkt":
            return func.ST_GeomFromText(typed.expr, 4326)
        return func.ST_SetSRID(func.ST_GeomFromGeoJSON(typed.expr), 4326)


NUMBER_TEXT = r"^\s*-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"


def _as_number(member: Any, dialect: str) -> Any:
    """A JSON member as a number where it is one and null where it is not, on both engines alike
    (PostgreSQL would refuse the whole query on the first non-numeric member; SQLite would order text
    after every number)."""
    if dialect == "sqlite":
        return case((func.typeof(member).in_(("integer", "real")), member), else_=None)
    return case((member.op("~")(literal(NUMBER_TEXT)), cast(member, Float)), else_=None)


def _correlated(nav: Nav, model: Any) -> tuple[Any, Any]:
    """The rows a to-many navigation reaches and the condition tying them to the row being filtered (a
    join, not a nested subquery, so that the outer row correlates)."""
    target = SETS[nav.target].model
    if nav.link is not None:
        joined = target.__table__.join(nav.link, nav.link.c[nav.link_target] == target.id)
        return joined, nav.link.c[nav.link_source] == model.id
    return target, getattr(target, nav.target_fk or "") == model.id


def _extract(part: str, column: Any) -> Any:
    return func.extract(part, func.timezone("UTC", column))


# ---------------------------------------------------------------- reading


def collection_query(entity: EntitySet, options: Options, dialect: str, base_condition: Any = None) -> tuple[Any, Any]:
    """(rows statement, count statement) for a collection with its options applied."""
    model = entity.model
    compiler = Compiler(entity, dialect)
    condition = base_condition if base_condition is not None else true()
    if options.filter is not None:
        condition = and_(condition, compiler.condition(options.filter))
    statement = select(model).where(condition)
    for expression, descending in options.orderby:
        compiled = compiler.compile(expression)
        if compiled.kind == "many":
            raise QueryError("$orderby", "cannot order by a value of a collection; order by a single path")
        column = compiled.expr.result_number if compiled.kind == "result" else compiled.expr
        statement = statement.order_by(column.desc() if descending else column.asc())
    statement = statement.order_by(model.id)
    count = select(func.count()).select_from(model).where(condition)
    return statement, count


def page(session: Session, statement: Any, options: Options, *, readings: bool = True) -> tuple[Any, bool]:
    """A page of rows and whether more follow. Observations come as plain rows (``PLAIN_COLUMNS``), or — whole
    Observations (no $select, no $expand) when every one is a bare reading, the common read — as ``Readings``
    unless ``readings`` is False."""
    top = options.top if options.top is not None else DEFAULT_TOP
    statement = statement.offset(options.skip).limit(top + 1)
    if statement.column_descriptions[0].get("entity") is Observation:
        session.flush()  # as session.execute would; the rows themselves come straight from the connection
        dialect = session.get_bind().dialect.name
        bare = None if options.select or options.expand or not readings else read_readings(session, statement, dialect)
        if bare is not None:
            return bare.head(top), len(bare) > top
        rows = session.connection().execute(_plain_observations(statement, dialect)).all()
    else:
        rows = list(session.scalars(statement))
    return rows[:top], len(rows) > top


PLAIN_COLUMNS = ("id", "phenomenon_time_start", "phenomenon_time_end", "result_time", "result_number",
                 "result_string", "result_boolean", "result_json", "result_quality", "valid_time_start",
                 "valid_time_end", "parameters", "datastream_id", "feature_of_interest_id")  # fmt: skip
if tuple(column.name for column in Observation.__table__.columns) != PLAIN_COLUMNS:
    raise RuntimeError("sta_observation's columns changed: update PLAIN_COLUMNS, Writer.observations, ABSENT_COLUMNS")


def _plain_observations(statement: Any, dialect: str) -> Any:
    """Observations are read by the thousand: plain rows of their columns (``PLAIN_COLUMNS``, in that order)
    instead of ORM entities, executed on the connection (the ORM's row loading took a third of the read), and
    on SQLite the times as the stored text (``iso`` formats it), so nothing is built that is not written out."""
    table = Observation.__table__
    columns = [
        type_coerce(column, String).label(column.name)
        if dialect == "sqlite" and isinstance(column.type, UTCDateTime)
        else column
        for column in table.columns
    ]
    return statement.with_only_columns(*columns)


def nav_condition(nav: Nav, parent: Any) -> Any:
    """The condition selecting the targets of ``nav`` from the ``parent`` row."""
    target = SETS[nav.target].model
    if nav.link is not None:
        linked = select(nav.link.c[nav.link_target]).where(nav.link.c[nav.link_source] == parent.id)
        return target.id.in_(linked)
    if nav.many:
        return getattr(target, nav.target_fk or "") == parent.id
    return target.id == getattr(parent, nav.source_fk or "")


@dataclass
class Writer:
    """Writes rows as STA JSON with links, $select and nested $expand."""

    session: Session
    base: str
    dialect: str
    kinds: dict[int, str] = field(default_factory=dict)  # stream id → "d" or "m", read once per stream

    def stream_set(self, stream_id: int) -> str:
        """An Observation's series is a Datastream or a MultiDatastream: which set its link goes to."""
        if stream_id not in self.kinds:
            from smartcity.sensing.models import Stream

            self.kinds[stream_id] = self.session.scalar(select(Stream.kind).where(Stream.id == stream_id)) or "d"
        return "MultiDatastreams" if self.kinds[stream_id] == "m" else "Datastreams"

    def entity(self, entity: EntitySet, row: Any, options: Options) -> dict[str, Any]:
        if entity.name == "Observations" and not options.select and not options.expand:
            return self.observation(row)
        link = f"{self.base}/{entity.name}({row.id})"
        chosen = set(options.select) if options.select else None
        out: dict[str, Any] = {}
        if chosen is None or chosen & {"id", "@iot.id"}:
            out["@iot.id"] = row.id
        if chosen is None or "@iot.selfLink" in chosen:
            out["@iot.selfLink"] = link
        for prop in entity.props:
            if chosen is not None and prop.name not in chosen:
                continue
            value = prop_value(prop, row)
            if value is not None or prop.required or prop.kind == "result":
                out[prop.name] = value
        series = self.stream_set(row.datastream_id) if entity.name == "Observations" else None
        for nav in entity.navs:
            if nav.name in ("Datastream", "MultiDatastream") and series is not None and nav.target != series:
                continue  # an Observation links to the one kind of series it belongs to
            if chosen is None or nav.name in chosen:
                out[f"{nav.name}@iot.navigationLink"] = f"{link}/{nav.name}"
        for item in options.expand:
            self.expand(entity, row, item, out, link)
        return out

    def entities(self, entity: EntitySet, rows: Any, options: Options) -> list[dict[str, Any]] | orjson.Fragment:
        """A page of rows as ``entity`` writes each; a page of whole Observations (``page``'s plain rows)
        by ``observations``, ``Readings`` by ``readings`` (JSON text, for orjson to embed)."""
        if isinstance(rows, Readings):
            return self.readings(rows)
        if entity.name == "Observations" and not options.select and not options.expand:
            return self.observations(rows)
        return [self.entity(entity, row, options) for row in rows]

    def observations(self, rows: list[Any]) -> list[dict[str, Any]]:
        """``observation`` for thousands of plain rows (``PLAIN_COLUMNS``): the same JSON, with each row
        unpacked once and each series' link made once — a quarter of the time of the 24 h read's rows
        one ``observation`` at a time (bench/README.md)."""
        prefix = f"{self.base}/Observations("
        series: dict[int, tuple[str, str]] = {}  # stream id → (link's key, link's last segment)
        written = []
        for (observation_id, start, end, result_time, number, text, boolean, document, quality, valid_start,
             valid_end, parameters, stream, _feature) in rows:  # fmt: skip
            link = f"{prefix}{observation_id})"
            start_text, end_text = iso(start), iso(end)
            out: dict[str, Any] = {
                "@iot.id": observation_id,
                "@iot.selfLink": link,
                "phenomenonTime": f"{start_text}/{end_text}"
                if end_text is not None and end_text != start_text
                else start_text,
            }
            if result_time is not None:
                out["resultTime"] = iso(result_time)
            out["result"] = result_value(number, text, boolean, document)
            if quality is not None:
                out["resultQuality"] = json.loads(quality)
            if valid_start is not None:
                valid_start_text, valid_end_text = iso(valid_start), iso(valid_end)
                out["validTime"] = (
                    f"{valid_start_text}/{valid_end_text}"
                    if valid_end_text and valid_end_text != valid_start_text
                    else valid_start_text
                )
            if parameters is not None:
                out["parameters"] = json.loads(parameters)
            if stream not in series:
                name = self.stream_set(stream)[:-1]
                series[stream] = (f"{name}@iot.navigationLink", f"/{name}")
            key, segment = series[stream]
            out[key] = link + segment
            out["FeatureOfInterest@iot.navigationLink"] = f"{link}/FeatureOfInterest"
            written.append(out)
        return written

    def readings(self, readings: Readings) -> orjson.Fragment:
        """The JSON array ``observations`` would write for ``Readings``."""
        return orjson.Fragment(f"[{self.readings_text(readings)}]")

    def readings_text(self, readings: Readings) -> str:
        """The items of that array (no brackets), made by joining strings: orjson writes the ids and the numbers
        (one call for each column), the rest are the same pieces every row."""
        if not readings.ids:
            return ""
        prefix = _json_text(f"{self.base}/Observations(")
        ids, results = _json_items(readings.ids), _json_items(readings.results)
        before, after = self._series_pieces(readings.streams, prefix)
        pieces = zip(
            ids, repeat(f',"@iot.selfLink":"{prefix}'),
            ids, repeat(')","phenomenonTime":"'),
            readings.times, repeat('","result":'),
            results, before,
            ids, after,
            ids, repeat(')/FeatureOfInterest"},{"@iot.id":'),  # one row's end and the next one's start
        )  # fmt: skip
        text = list(chain(('{"@iot.id":',), chain.from_iterable(pieces)))
        text[-1] = ')/FeatureOfInterest"}'  # the last row's end
        return "".join(text)

    def _series_pieces(self, streams: tuple[int, ...], prefix: str) -> tuple[Iterator[str], Iterator[str]]:
        """Each row's pieces around its id in its series' link: ``Datastream`` or ``MultiDatastream``."""
        before, after = {}, {}
        for stream in set(streams):
            name = self.stream_set(stream)[:-1]
            before[stream] = f',"{name}@iot.navigationLink":"{prefix}'
            after[stream] = f')/{name}","FeatureOfInterest@iot.navigationLink":"{prefix}'
        if len(before) == 1:  # one series, the usual page: no lookup per row
            return repeat(before[streams[0]]), repeat(after[streams[0]])
        return map(before.__getitem__, streams), map(after.__getitem__, streams)

    def observation(self, row: Any) -> dict[str, Any]:
        """An Observation written out whole — the same JSON as the general path, without its per-property
        bookkeeping (a page of observations is thousands of these)."""
        link = f"{self.base}/Observations({row.id})"
        start, end = iso(row.phenomenon_time_start), iso(row.phenomenon_time_end)
        out: dict[str, Any] = {
            "@iot.id": row.id,
            "@iot.selfLink": link,
            "phenomenonTime": f"{start}/{end}" if end is not None and end != start else start,
        }
        if row.result_time is not None:
            out["resultTime"] = iso(row.result_time)
        out["result"] = result_of(row)
        if row.result_quality is not None:
            out["resultQuality"] = json.loads(row.result_quality)
        if row.valid_time_start is not None:
            valid_start, valid_end = iso(row.valid_time_start), iso(row.valid_time_end)
            out["validTime"] = f"{valid_start}/{valid_end}" if valid_end and valid_end != valid_start else valid_start
        if row.parameters is not None:
            out["parameters"] = json.loads(row.parameters)
        series = self.stream_set(row.datastream_id)[:-1]
        out[f"{series}@iot.navigationLink"] = f"{link}/{series}"
        out["FeatureOfInterest@iot.navigationLink"] = f"{link}/FeatureOfInterest"
        return out

    def expand(self, entity: EntitySet, row: Any, item: Expand, out: dict[str, Any], link: str) -> None:
        nav = entity.nav(item.path[0])
        if nav is None:
            raise QueryError("$expand", f"{entity.singular} has no navigation property {item.path[0]!r}")
        target = SETS[nav.target]
        inner = item.options if len(item.path) == 1 else Options(expand=[Expand(item.path[1:], item.options)])
        if not nav.many:
            found = self.session.scalar(select(target.model).where(nav_condition(nav, row)))
            out[nav.name] = self.entity(target, found, inner) if found is not None else None
            return
        statement, count = collection_query(target, inner, self.dialect, nav_condition(nav, row))
        rows, more = page(self.session, statement, inner, readings=False)  # dicts: the entity may go to JSONResponse
        out[nav.name] = [self.entity(target, r, inner) for r in rows]
        if inner.count:
            out[f"{nav.name}@iot.count"] = self.session.scalar(count)
        if more:
            top = inner.top if inner.top is not None else DEFAULT_TOP
            out[f"{nav.name}@iot.nextLink"] = f"{link}/{nav.name}?$top={top}&$skip={inner.skip + top}"


def data_array(rows: list[Any], options: Options, writer: Writer) -> list[dict[str, Any]]:
    """``$resultFormat=dataArray``: observations grouped by datastream, as rows of the chosen components."""
    components = options.select or ["id", "phenomenonTime", "result"]
    entity = SETS["Observations"]
    known = {"id", "@iot.id"} | {p.name for p in entity.props}
    unknown = [c for c in components if c not in known]
    if unknown:
        raise QueryError("$select", f"unknown components {', '.join(unknown)}")
    if isinstance(rows, Readings):
        return [data_array_group(writer, stream, components, len(part), _reading_arrays(part))
                for stream, part in _by_stream(rows)]  # fmt: skip
    groups: dict[int, list[list[Any]]] = {}
    props = [None if c in ("id", "@iot.id") else entity.prop(c) for c in components]  # looked up once, not per row
    if props == [None, entity.prop("phenomenonTime"), entity.prop("result")]:
        for row in rows:  # the default components, on page()'s plain rows (PLAIN_COLUMNS): the common case
            start, end = row[1], row[2]
            phenomenon = f"{iso(start)}/{iso(end)}" if end is not None and end != start else iso(start)
            groups.setdefault(row[12], []).append([row[0], phenomenon, result_value(*row[4:8])])
    else:
        for row in rows:
            values = [row.id if p is None else prop_value(p, row) for p in props]
            groups.setdefault(row.datastream_id, []).append(values)
    return [
        data_array_group(writer, datastream, components, len(values), values) for datastream, values in groups.items()
    ]


def data_array_group(writer: Writer, stream: int, components: list[str], count: int, values: Any) -> dict[str, Any]:
    """One series' part of a dataArray answer."""
    series = writer.stream_set(stream)
    return {
        f"{series[:-1]}@iot.navigationLink": f"{writer.base}/{series}({stream})",
        "components": components,
        "dataArray@iot.count": count,
        "dataArray": values,
    }


def _by_stream(readings: Readings) -> list[tuple[int, Readings]]:
    """``Readings`` split by series, in the order each first appears (dataArray groups them so)."""
    if len(set(readings.streams)) <= 1:
        return [(readings.streams[0], readings)] if readings.streams else []
    positions: dict[int, list[int]] = {}
    for position, stream in enumerate(readings.streams):
        positions.setdefault(stream, []).append(position)
    return [(stream, readings.pick(chosen)) for stream, chosen in positions.items()]


# ---------------------------------------------------------------- readings: the common page, in bulk


class Reading(NamedTuple):
    """One row of ``Readings`` (all that ``$ref`` reads of it)."""

    id: int
    phenomenon_time: str  # as ``iso`` writes it
    result: float | int | None
    datastream_id: int


@dataclass(frozen=True)
class Readings:
    """A page of Observations each of which is a bare reading — an instant, a number or no result, none of the
    optional properties (resultTime, resultQuality, validTime, parameters): what sensors send. Kept as columns,
    so that the page is written by joining strings in C loops rather than one dict per row (``Writer.readings``,
    ``_reading_arrays``): the same JSON, in a fraction of the time (bench/README.md, the 24 h read)."""

    ids: tuple[int, ...]
    times: tuple[str, ...]
    results: tuple[float | int | None, ...]
    streams: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[Reading]:
        return map(Reading._make, zip(self.ids, self.times, self.results, self.streams, strict=True))

    def head(self, count: int) -> Readings:
        return Readings(self.ids[:count], self.times[:count], self.results[:count], self.streams[:count])

    def slice(self, start: int, stop: int) -> Readings:
        return Readings(self.ids[start:stop], self.times[start:stop], self.results[start:stop],
                        self.streams[start:stop])  # fmt: skip

    def pick(self, positions: list[int]) -> Readings:
        columns = (self.ids, self.times, self.results, self.streams)
        return Readings(*(tuple([column[p] for p in positions]) for column in columns))


ABSENT_COLUMNS = ("phenomenon_time_end", "result_time", "result_string", "result_boolean", "result_quality",
                  "valid_time_start", "parameters")  # fmt: skip  # NULL in a bare reading; result_json NULL or "int"


@cache  # SQL expressions are immutable: built once, reused by every read (building them cost ~2 ms a read)
def _reading_time(dialect: str) -> Any:
    """SQL: a bare reading's phenomenon time, NULL for any other row. PostgreSQL: as ``iso`` writes it, in UTC
    (``MS`` truncates to the millisecond as ``isoformat`` does); SQLite: the stored text
    (``2026-12-02 06:41:21.123456``) when it is long enough for ``iso`` to take its first 23 characters."""
    start = Observation.phenomenon_time_start
    bare = and_(
        *(getattr(Observation, name).is_(None) for name in ABSENT_COLUMNS),
        or_(Observation.result_json.is_(None), Observation.result_json == "int"),
    )
    if dialect == "sqlite":
        return case((and_(bare, func.length(start) >= 23), start), else_=None)
    return case((bare, func.to_char(func.timezone("UTC", start), 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')), else_=None)


@cache
def _reading_result(dialect: str) -> tuple[Any, ...]:
    """SQL: a bare reading's result. SQLite: one column, ``result_value``'s rule applied — a whole number sent as
    an integer (marked "int") comes back as an integer (CAST is exact below 2**53; SQLite compares an integer with
    a real exactly); PostgreSQL, where a column has one type: the number and its mark, for ``result_value``."""
    number, document = Observation.result_number, Observation.result_json
    if dialect != "sqlite":
        return (number, document)
    whole = and_(document == "int", number == cast(number, Integer), func.abs(number) < float(2**53))
    return (case((whole, cast(number, Integer)), else_=number),)


def read_readings(session: Session, statement: Any, dialect: str) -> Readings | None:
    """The rows of ``statement`` (Observations) as ``Readings``, or None when one of them is not a bare reading
    (the caller then reads the page whole). A few columns from the driver's cursor, no Row objects, no parsing:
    on SQLite a column of a day's 8,640 cells costs about 1 ms, as much as finding the rows, so the absent
    columns are only tested in SQL, never handed over."""
    columns = [Observation.id, _reading_time(dialect), *_reading_result(dialect), Observation.datastream_id]
    lean = statement.with_only_columns(*columns)
    # A day's 8,640 row tuples live together: collecting meanwhile would walk the whole process and promote
    # them, and the full collections that follow cost more than the read (py-spy of the server)
    with cycle_collection_paused():
        result = session.connection().execute(lean)
        try:
            rows = result.cursor.fetchall()
        finally:
            result.close()
        ids, stored, numbers, *documents, streams = (tuple(map(itemgetter(n), rows)) for n in range(len(columns)))
        del rows
    times = _iso_times(stored, dialect)
    if times is None or not set(map(type, numbers)) <= {float, int, type(None)}:  # SQLite keeps any value given
        return None
    if documents and "int" in documents[0]:  # PostgreSQL: whole numbers sent as integers are written as integers
        numbers = tuple(map(result_value, numbers, repeat(None), repeat(None), documents[0]))
    return Readings(ids, times, numbers, streams)


def _iso_times(stored: tuple[Any, ...], dialect: str) -> tuple[str, ...] | None:
    """``_reading_time``'s cells as ``iso`` writes them, or None when a row is not a bare reading (NULL) or its
    stored text is something JSON would escape (SQLite keeps whatever text it is given)."""
    if None in stored:
        return None
    if dialect != "sqlite":
        return stored  # to_char wrote them whole
    times = tuple([f"{text[:10]}T{text[11:23]}Z" for text in stored])  # iso's slices of a text this long
    joined = "".join(times)
    return times if joined.isprintable() and '"' not in joined and "\\" not in joined else None


def _json_items(values: tuple[Any, ...]) -> list[str]:
    """Each value as orjson writes it (one call for the lot: numbers and nulls only, so no comma inside one)."""
    return orjson.dumps(values).decode()[1:-1].split(",") if values else []


def _json_text(text: str) -> str:
    """``text`` escaped for use inside a JSON string, as orjson escapes it."""
    return orjson.dumps(text).decode()[1:-1]


def _reading_arrays(readings: Readings) -> orjson.Fragment:
    """dataArray's default rows — ``[id, phenomenonTime, result]`` — for ``Readings``."""
    return orjson.Fragment(f"[{reading_arrays_text(readings)}]")


def reading_arrays_text(readings: Readings) -> str:
    """The items of that array (no brackets)."""
    if not readings.ids:
        return ""
    ids, results = _json_items(readings.ids), _json_items(readings.results)
    pieces = zip(ids, repeat(',"'), readings.times, repeat('",'), results, repeat("],["))
    text = list(chain(("[",), chain.from_iterable(pieces)))
    text[-1] = "]"  # the last row's end
    return "".join(text)
