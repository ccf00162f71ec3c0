"""The SensorThings ``$filter`` (and ``$orderby``) expression language: a tokenizer and a recursive-descent
parser that build a syntax tree. Compiling the tree to SQL is done elsewhere (query.py), always with bound
parameters — the text of a filter never becomes SQL text.

Grammar (OData 4.0 as SensorThings 1.1 §9.3.3.5 uses it), loosest binding first::

    expr    := and_expr ("or" and_expr)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := additive (("eq"|"ne"|"gt"|"ge"|"lt"|"le") additive)?
    additive:= multiply (("add"|"sub") multiply)*
    multiply:= unary (("mul"|"div"|"mod") unary)*
    unary   := "-" unary | primary
    primary := literal | "(" expr ")" | name "(" [expr ("," expr)*] ")" | path

Literals: numbers, 'text' (a quote doubled inside), true, false, null, date-times such as
2026-11-24T08:00:00Z or with an offset, dates (2026-11-24), geography'POINT(121.47 31.23)'.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

COMPARISONS = ("eq", "ne", "gt", "ge", "lt", "le")
ARITHMETIC = ("add", "sub", "mul", "div", "mod")
FUNCTIONS = {
    # name: number of arguments (min, max)
    "substringof": (2, 2),
    "contains": (2, 2),
    "endswith": (2, 2),
    "startswith": (2, 2),
    "length": (1, 1),
    "indexof": (2, 2),
    "substring": (2, 3),
    "tolower": (1, 1),
    "toupper": (1, 1),
    "trim": (1, 1),
    "concat": (2, 2),
    "year": (1, 1),
    "month": (1, 1),
    "day": (1, 1),
    "hour": (1, 1),
    "minute": (1, 1),
    "second": (1, 1),
    "fractionalseconds": (1, 1),
    "date": (1, 1),
    "time": (1, 1),
    "totaloffsetminutes": (1, 1),
    "now": (0, 0),
    "mindatetime": (0, 0),
    "maxdatetime": (0, 0),
    "round": (1, 1),
    "floor": (1, 1),
    "ceiling": (1, 1),
    "geo.distance": (2, 2),
    "geo.length": (1, 1),
    "geo.intersects": (2, 2),
    "st_equals": (2, 2),
    "st_disjoint": (2, 2),
    "st_touches": (2, 2),
    "st_within": (2, 2),
    "st_overlaps": (2, 2),
    "st_crosses": (2, 2),
    "st_intersects": (2, 2),
    "st_contains": (2, 2),
    "st_relate": (3, 3),
}


class FilterError(ValueError):
    """A malformed expression; ``position`` is the 0-based character where the problem is."""

    def __init__(self, message: str, position: int, text: str) -> None:
        pointer = f"{text}\n{' ' * position}^"
        super().__init__(f"{message} at character {position + 1}:\n{pointer}")
        self.message, self.position, self.text = message, position, text


# ---------------------------------------------------------------- syntax tree


@dataclass(frozen=True)
class Literal:
    value: Any  # int, float, str, bool, None, datetime, date, Geography


@dataclass(frozen=True)
class Geography:
    wkt: str


@dataclass(frozen=True)
class Path:
    segments: tuple[str, ...]  # e.g. ("Datastream", "Thing", "name") or ("properties", "owner")
    position: int = 0


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Any, ...]
    position: int = 0


@dataclass(frozen=True)
class Binary:
    op: str  # a comparison, arithmetic operator, "and" or "or"
    left: Any
    right: Any
    position: int = 0


@dataclass(frozen=True)
class Not:
    operand: Any


@dataclass(frozen=True)
class Negate:
    operand: Any


# ---------------------------------------------------------------- tokens

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<geography>geography'(?:[^']|'')*')
  | (?P<string>'(?:[^']|'')*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\dT]))
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_@$][A-Za-z0-9_.@$]*(?:/[A-Za-z_@$][A-Za-z0-9_.@$]*)*)
  | (?P<punct>[(),\-])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    position: int


def tokenize(text: str) -> list[Token]:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise FilterError(f"unexpected character {text[position]!r}", position, text)
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(Token(kind, match.group(), position))
        position = match.end()
    return tokens


# ---------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0

    def error(self, message: str, token: Token | None = None) -> FilterError:
        position = token.position if token else len(self.text)
        return FilterError(message, position, self.text)

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise self.error("the expression ends too early")
        self.index += 1
        return token

    def keyword(self, *words: str) -> Token | None:
        token = self.peek()
        if token is not None and token.kind == "name" and token.text in words:
            self.index += 1
            return token
        return None

    def punct(self, symbol: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "punct" and token.text == symbol:
            self.index += 1
            return True
        return False

    def parse(self) -> Any:
        if not self.tokens:
            raise self.error("the expression is empty")
        tree = self.expression()
        rest = self.peek()
        if rest is not None:
            raise self.error(f"unexpected {rest.text!r}; expected an operator or the end", rest)
        return tree

    def expression(self) -> Any:
        left = self.conjunction()
        while token := self.keyword("or"):
            left = Binary("or", left, self.conjunction(), token.position)
        return left

    def conjunction(self) -> Any:
        left = self.negation()
        while token := self.keyword("and"):
            left = Binary("and", left, self.negation(), token.position)
        return left

    def negation(self) -> Any:
        if self.keyword("not"):
            return Not(self.negation())
        return self.comparison()

    def comparison(self) -> Any:
        left = self.additive()
        if token := self.keyword(*COMPARISONS):
            return Binary(token.text, left, self.additive(), token.position)
        return left

    def additive(self) -> Any:
        left = self.multiplicative()
        while token := self.keyword("add", "sub"):
            left = Binary(token.text, left, self.multiplicative(), token.position)
        return left

    def multiplicative(self) -> Any:
        left = self.unary()
        while token := self.keyword("mul", "div", "mod"):
            left = Binary(token.text, left, self.unary(), token.position)
        return left

    def unary(self) -> Any:
        if self.punct("-"):
            return Negate(self.unary())
        return self.primary()

    def primary(self) -> Any:
        token = self.take()
        if token.kind == "punct" and token.text == "(":
            inner = self.expression()
            if not self.punct(")"):
                raise self.error("a ')' is missing", self.peek())
            return inner
        if token.kind == "string":
            return Literal(token.text[1:-1].replace("''", "'"))
        if token.kind == "geography":
            return Literal(Geography(token.text[len("geography'") : -1].replace("''", "'")))
        if token.kind == "number":
            text = token.text
            return Literal(float(text) if any(c in text for c in ".eE") else int(text))
        if token.kind == "datetime":
            return Literal(_datetime(token, self))
        if token.kind == "date":
            return Literal(date.fromisoformat(token.text))
        if token.kind == "name":
            return self.name(token)
        raise self.error(f"unexpected {token.text!r}", token)

    def name(self, token: Token) -> Any:
        word = token.text
        if word in ("true", "false"):
            return Literal(word == "true")
        if word == "null":
            return Literal(None)
        if word in COMPARISONS + ARITHMETIC + ("and", "or", "not"):
            raise self.error(f"{word!r} needs an operand before it", token)
        if self.punct("("):
            return self.call(token)
        return Path(tuple(word.split("/")), token.position)

    def call(self, token: Token) -> Call:
        name = token.text.lower()
        if name not in FUNCTIONS:
            raise self.error(f"unknown function {token.text!r}", token)
        args: list[Any] = []
        if not self.punct(")"):
            args.append(self.expression())
            while self.punct(","):
                args.append(self.expression())
            if not self.punct(")"):
                raise self.error("a ')' or ',' is missing in the function call", self.peek())
        low, high = FUNCTIONS[name]
        if not low <= len(args) <= high:
            expected = str(low) if low == high else f"{low} to {high}"
            raise self.error(f"{name} takes {expected} arguments, not {len(args)}", token)
        return Call(name, tuple(args), token.position)


def _datetime(token: Token, parser: _Parser) -> datetime:
    try:
        return datetime.fromisoformat(token.text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError as exc:
        raise parser.error(f"{token.text!r} is not a valid date-time", token) from exc


def parse(text: str) -> Any:
    """The syntax tree of a ``$filter`` expression; FilterError points at the problem."""
    return _Parser(text).parse()


def parse_orderby(text: str) -> list[tuple[Any, bool]]:
    """``$orderby``: comma-separated expressions, each optionally ``asc`` or ``desc`` (True: descending)."""
    parser = _Parser(text)
    if not parser.tokens:
        raise parser.error("$orderby is empty")
    items = []
    while True:
        expression = parser.additive()
        direction = parser.peek()
        descending = False
        if direction is not None and direction.kind == "name" and direction.text.lower() in ("asc", "desc"):
            parser.index += 1  # clients send ASC/DESC too; OData's own spelling is lower case
            descending = direction.text.lower() == "desc"
        items.append((expression, descending))
        if not parser.punct(","):
            break
    rest = parser.peek()
    if rest is not None:
        raise parser.error(f"unexpected {rest.text!r} in $orderby", rest)
    return items
