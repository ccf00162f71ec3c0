"""RFC 9457 problem details: one exception type for domain errors and handlers for every other error."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

LOGGER = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://smartcity.example/problems/"

_TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


class Problem(Exception):
    """A domain error that reaches the client as problem+json: raise it from services and handlers.

    ``code`` is a stable machine-readable slug (it becomes the ``type`` URI); ``detail`` says what a
    person can do about it; ``errors`` lists field-level problems as ``{"field": ..., "message": ...}``.
    """

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        code: str | None = None,
        title: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code or _slug(_TITLES.get(status, "error"))
        self.title = title or _TITLES.get(status, "Error")
        self.errors = errors or []
        self.headers = headers or {}

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        return body


class NotFound(Problem):
    def __init__(self, what: str, key: object) -> None:
        super().__init__(404, f"No {what} with id {key!r} exists.", code="not-found")


class Conflict(Problem):
    def __init__(self, detail: str, *, code: str = "conflict") -> None:
        super().__init__(409, detail, code=code)


def _slug(text: str) -> str:
    return text.lower().replace(" ", "-")


def problem_response(problem: Problem, request: Request | None = None) -> Response:
    instance = request.url.path if request is not None else None
    return JSONResponse(
        problem.body(instance), status_code=problem.status, media_type=PROBLEM_JSON, headers=problem.headers
    )


def _field_name(loc: tuple[Any, ...]) -> str:
    # ("body", "user", "name") -> "user.name"; the first element only says where the value came from.
    parts = [str(p) for p in loc[1:]] if len(loc) > 1 else [str(p) for p in loc]
    return ".".join(parts) or "body"


def _validation_message(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return "unknown field; remove it or check its spelling"
    if kind == "missing":
        return "this field is required"
    if kind == "json_invalid":
        position = error.get("loc", ("body", "?"))[-1]
        reason = str(error.get("ctx", {}).get("error", "")).strip()
        return f"the body is not valid JSON (at character {position}): {reason}"
    return str(error.get("msg", "invalid value"))


def validation_problem(exc: RequestValidationError) -> Problem:
    malformed = [e for e in exc.errors() if e.get("type") == "json_invalid"]
    if malformed:
        message = _validation_message(malformed[0])
        return Problem(
            400,
            message[:1].upper() + message[1:] + ".",
            code="malformed-json",
            errors=[{"field": "body", "message": message}],
        )
    errors = [{"field": _field_name(tuple(e.get("loc", ()))), "message": _validation_message(e)} for e in exc.errors()]
    names = ", ".join(e["field"] for e in errors)
    return Problem(422, f"Check these fields: {names}.", code="invalid-input", errors=errors)


def install_error_handlers(app: FastAPI, *, html_renderer: Any = None) -> None:
    """Route every exception through problem+json (or an HTML page for browsers, if a renderer is given)."""

    def respond(request: Request, problem: Problem) -> Response:
        if html_renderer is not None and _wants_html(request):
            return html_renderer(request, problem)
        return problem_response(problem, request)

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> Response:
        return respond(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return respond(request, validation_problem(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "Error")
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"There is nothing at {request.url.path}."
        if exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}."
        return respond(request, Problem(exc.status_code, detail, headers=dict(exc.headers or {})))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        LOGGER.exception("unhandled error on %s %s", request.method, request.url.path)
        problem = Problem(500, "Something went wrong on our side; it has been logged. Try again later.")
        return respond(request, problem)


def _wants_html(request: Request) -> bool:
    if request.url.path.startswith(("/api", "/sta", "/open311", "/ogc", "/gtfs")):
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept
