"""Interactive API documentation served from our own host (no CDN): Swagger UI at /docs.

The assets come from the fastapi-offline package on PyPI. The OpenAPI document declares how to sign in
(OAuth2 password flow and API keys) so the Authorize button works.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import fastapi_offline
from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse

from smartcity.security import Principal, public

ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_URL = "/static/api-docs"
# Swagger UI starts itself with an inline script: allowed on this page only.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'none'"
)
SECURITY_SCHEMES = {
    "OAuth2": {"type": "oauth2", "flows": {"password": {"tokenUrl": "/api/auth/token", "scopes": {}}}},
    "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}

router = APIRouter(include_in_schema=False)


@router.get("/docs", name="api_docs")
def swagger(_: Annotated[Principal, public()]) -> HTMLResponse:
    page = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Smart city platform API",
        swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
    )
    return _accessible(page, extra_css="/static/api-docs.css")


def _accessible(page: HTMLResponse, extra_css: str | None = None) -> HTMLResponse:
    """Give the generated page a language and our contrast fixes, and its own CSP."""
    html = bytes(page.body).decode().replace("<html>", '<html lang="en">', 1)
    if extra_css:
        html = html.replace("</head>", f'<link rel="stylesheet" href="{extra_css}">\n</head>', 1)
    return HTMLResponse(html, headers={"content-security-policy": DOCS_CSP})


def openapi_with_security(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, generated once, with the sign-in schemes applied to every /api operation."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    for path, operations in schema.get("paths", {}).items():
        if path.startswith("/api/") and path != "/api/auth/token":
            for operation in operations.values():
                operation["security"] = [{"OAuth2": []}, {"ApiKey": []}]
    app.openapi_schema = schema
    return schema
