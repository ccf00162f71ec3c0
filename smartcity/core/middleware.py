"""ASGI middleware: a cap on request bodies and the security headers every response carries."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smartcity.core.errors import PROBLEM_JSON, Problem

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
        b"frame-ancestors 'none'; form-action 'self'; base-uri 'self'",
    ),
]


class _TooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Refuse bodies over ``limit`` bytes with 413, by Content-Length or by counting a streamed body."""

    FORM_FIELDS_ALLOWANCE = 65_536  # the text fields sent beside a file

    def __init__(
        self, app: ASGIApp, limit: int, *, upload_limit: int | None = None, large_paths: dict[str, int] | None = None
    ) -> None:
        self.app, self.default_limit = app, limit
        # file uploads (multipart forms: photos with a report or an action) may be larger than JSON bodies;
        # each handler still checks the file itself against the photo limit
        self.upload_limit = (upload_limit or limit) + self.FORM_FIELDS_ALLOWANCE
        self.large_paths = large_paths or {}  # bulk endpoints (observation batches) with limits of their own

    def _limit_for(self, scope: Scope) -> int:
        if scope.get("path") in self.large_paths:
            return self.large_paths[scope["path"]]
        content_type = dict(scope.get("headers") or []).get(b"content-type", b"")
        return self.upload_limit if content_type.startswith(b"multipart/form-data") else self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit_for(scope)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, send, limit)
            return
        received = 0
        refused = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit and not refused:
                    # Answer now: the app may catch the error below and try to answer 400 instead.
                    refused = True
                    await self._refuse(scope, send, limit)
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        with contextlib.suppress(_TooLarge):
            await self.app(scope, counting_receive, guarded_send)

    async def _refuse(self, scope: Scope, send: Send, limit: int) -> None:
        problem = Problem(413, f"The request body is larger than the limit of {limit} bytes.", code="body-too-large")
        body = json.dumps(problem.body(scope.get("path"))).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name for name, _ in message.get("headers", [])}
                extra: list[Any] = [h for h in SECURITY_HEADERS if h[0] not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)
