"""The database layer: migrations match the models, SQLite runs in WAL mode, the health check answers."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from smartcity.core.db import current_revision, head_revision
from smartcity.hotline.knowledge import FTS_TABLE, PG_COLUMNS, PG_INDEXES
from smartcity.models import Base
from smartcity.sensing import partitions


@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_migrations_match_the_models(database) -> None:
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # PostGIS brings its own tables (spatial_ref_sys) and the knowledge base's FTS5 index lives beside the
    # models (created by its migration), as do the monthly partitions of the observations on PostgreSQL;
    # only differences in our mapped tables count.
    unmapped = ("spatial_ref_sys", FTS_TABLE, partitions.PREFIX)
    ours = [
        d
        for d in diff
        if not (d[0] == "remove_table" and d[1].name.startswith(unmapped))
        and not (d[0] == "remove_index" and (d[1].name in PG_INDEXES or d[1].table.name.startswith(unmapped)))
        and not (d[0] == "remove_column" and d[3].name in PG_COLUMNS)
    ]
    assert ours == []


def test_database_is_at_the_newest_revision(settings) -> None:
    assert current_revision(settings) == head_revision(settings) is not None


def test_sqlite_runs_in_wal_mode_with_foreign_keys(database) -> None:
    with database.engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            assert conn.execute(text("SELECT extname FROM pg_extension WHERE extname = 'postgis'")).scalar()
            return
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_healthz_answers_when_the_database_does(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_api_docs_are_served_without_a_cdn(client) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and "/static/api-docs/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower()
    assert client.get("/static/api-docs/swagger-ui-bundle.js").status_code == 200


def test_openapi_declares_how_to_sign_in(client) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["OAuth2"]["flows"]["password"]["tokenUrl"] == "/api/auth/token"
    assert schema["paths"]["/api/me"]["get"]["security"] == [{"OAuth2": []}, {"ApiKey": []}]
    assert "security" not in schema["paths"]["/api/auth/token"]["post"]
