"""Benchmark of the places module. Prints every figure beside a reference measured in the same run.

    .venv/bin/python bench/bench_places.py [--database-url URL] [--postgis-url URL] [--points N]

Without --database-url it builds a fresh SQLite database under var/bench/ with all of Shanghai (the
grid generation is itself measured). References: a naive Shapely point-in-polygon loop and a Shapely
STRtree on the same grids, and — with --postgis-url — PostGIS ST_Contains with a GiST index on the same
grids copied into that database, and pygeoapi serving the same grids (see --pygeoapi).
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import shapely
from sqlalchemy import select, text

from smartcity.config import Settings
from smartcity.core.db import Database, upgrade
from smartcity.places import generate, index, service
from smartcity.places.cli import PACKAGED_BOUNDARIES
from smartcity.places.models import UnitGrid

SHANGHAI_BOX = (120.86, 30.68, 122.0, 31.87)


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def row(label: str, value: str, reference: str = "") -> None:
    print(f"  {label:<58} {value:>22}   {reference}")


def prepare(database: Database) -> None:
    with database.session() as s:
        if s.scalar(select(UnitGrid.id).limit(1)) is not None:
            return
    print("Building the city: divisions, synthetic subdivision, all unit grids …")
    with database.session() as s:
        service.import_divisions(s, json.loads(PACKAGED_BOUNDARIES.read_text()), crs="gcj02", source="bench")
        for district in service.list_divisions(s, level="district"):
            generate.subdivide_synthetic(s, district.code)
    with database.session() as s:
        communities = generate.communities_of(s)
    seconds, written = timed(lambda: _generate(database, communities))
    row("generate all unit grids (one core)", f"{written:,} in {seconds:.1f} s", "target: < 120 s")


def _generate(database: Database, communities: list[str]) -> int:
    written = 0
    for start in range(0, len(communities), 25):
        with database.session() as s:
            written += sum(generate.generate_grids(s, c) for c in communities[start : start + 25])
    return written


def random_points(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    west, south, east, north = SHANGHAI_BOX
    return rng.uniform(west, east, n), rng.uniform(south, north, n)


def bench_lookup(database: Database, points: int, naive_points: int) -> tuple[index.GridIndex, list, list]:
    print("\nPoint → unit grid, batched")
    with database.session() as s:
        seconds, grid_index = timed(lambda: index.build(s))
    row("build the index", f"{seconds:.1f} s", f"{len(grid_index.codes):,} grids")
    lon, lat = random_points(points)
    seconds, found = timed(lambda: grid_index.locate(lon, lat))
    ours = points / seconds
    row(f"our index, {points:,} random points", f"{ours:,.0f} pts/s", "target: ≥ 1,000,000 pts/s")

    with database.session() as s:
        rows = s.execute(select(UnitGrid.code, UnitGrid.geometry).order_by(UnitGrid.code)).all()
    shapes = shapely.from_wkb([r.geometry for r in rows])
    codes = [r.code for r in rows]
    shapely.prepare(shapes)
    sample_lon, sample_lat = lon[:naive_points], lat[:naive_points]

    def naive() -> list[str | None]:
        answers = []
        for x, y in zip(sample_lon, sample_lat, strict=True):
            hit = np.nonzero(shapely.intersects_xy(shapes, x, y))[0]
            answers.append(codes[hit[0]] if len(hit) else None)
        return answers

    seconds, naive_answers = timed(naive)
    row(
        f"reference: naive Shapely loop over all grids, {naive_points:,} pts",
        f"{naive_points / seconds:,.0f} pts/s",
        f"ours is {ours / (naive_points / seconds):,.0f}× faster",
    )
    tree_seconds, _ = timed(lambda: shapely.STRtree(shapes))
    tree = shapely.STRtree(shapes)
    seconds, _ = timed(lambda: tree.query(shapely.points(lon, lat), predicate="intersects"))
    row(
        "reference: Shapely STRtree query (tree prebuilt)",
        f"{points / seconds:,.0f} pts/s",
        f"tree build {tree_seconds:.1f} s",
    )
    ours_sample = [str(grid_index.codes[i]) if i >= 0 else None for i in found[:naive_points]]
    agree = sum(a == b for a, b in zip(ours_sample, naive_answers, strict=True))
    row("agreement with the naive loop", f"{agree}/{naive_points}", "must be all")
    return grid_index, list(lon), list(lat)


def bench_postgis(
    url: str, database: Database, grid_index: index.GridIndex, lon: list[float], lat: list[float]
) -> None:
    print("\nPostGIS reference (same grids copied into a GiST-indexed table)")
    pg = Database(Settings(database_url=url, _env_file=None))
    with pg.engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        conn.execute(text("DROP TABLE IF EXISTS bench_grid"))
        conn.execute(text("CREATE TABLE bench_grid (code varchar(15) PRIMARY KEY, geom geometry(Geometry, 4326))"))
    with database.session() as s:
        rows = s.execute(select(UnitGrid.code, UnitGrid.geometry)).all()
    with pg.engine.begin() as conn:
        for start in range(0, len(rows), 20_000):
            chunk = rows[start : start + 20_000]
            conn.execute(
                text(
                    "INSERT INTO bench_grid SELECT code, ST_GeomFromWKB(wkb, 4326) "
                    "FROM unnest(CAST(:codes AS text[]), CAST(:wkbs AS bytea[])) AS t(code, wkb)"
                ),
                {"codes": [r.code for r in chunk], "wkbs": [bytes(r.geometry) for r in chunk]},
            )
        conn.execute(text("CREATE INDEX bench_grid_gist ON bench_grid USING gist (geom)"))
        conn.execute(text("ANALYZE bench_grid"))
    n = min(len(lon), 200_000)
    query = text(
        "SELECT count(g.code) FROM unnest(CAST(:lon AS float8[]), CAST(:lat AS float8[])) AS p(lon, lat) "
        "LEFT JOIN LATERAL (SELECT code FROM bench_grid WHERE ST_Intersects(geom, "
        "ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326)) ORDER BY code LIMIT 1) g ON true"
    )
    with pg.engine.connect() as conn:
        seconds, found = timed(lambda: conn.execute(query, {"lon": lon[:n], "lat": lat[:n]}).scalar())
    ours_seconds, ours = timed(lambda: grid_index.locate(lon[:n], lat[:n]))
    ours_pts_s = n / ours_seconds
    row(
        f"PostGIS ST_Intersects + GiST, {n:,} pts in one query",
        f"{n / seconds:,.0f} pts/s",
        f"ours is {ours_pts_s / (n / seconds):.1f}× PostGIS (target ≥ 1×)",
    )
    row("points inside a grid: PostGIS / ours", f"{found:,} / {int((ours >= 0).sum()):,}", "must be equal")
    pg.dispose()


def bench_api(database_url: str, repeats: int) -> float:
    import httpx
    import uvicorn

    from smartcity.app import create_app
    from smartcity.security import service as security

    print("\nHTTP: one locate call, and a 10,000-grid bbox from /ogcapi")
    settings = Settings(database_url=database_url, env="test", secret_key="bench-" * 8, _env_file=None)
    database = Database(settings)
    with database.session() as s:
        if security.user_by_name(s, "bench") is None:
            security.create_user(
                s,
                username="bench",
                display_name="bench",
                password="bench-password-1",
                role="admin",
                department_code=None,
            )
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base, timeout=120) as client:
        token = client.post("/api/auth/token", data={"username": "bench", "password": "bench-password-1"}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        client.get("/api/places/locate", params={"lon": 121.47, "lat": 31.23}, headers=headers)  # builds the index
        lon, lat = random_points(repeats, seed=2)
        times = []
        for x, y in zip(lon, lat, strict=True):
            start = time.perf_counter()
            client.get("/api/places/locate", params={"lon": x, "lat": y}, headers=headers)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        start = time.perf_counter()
        client.get("/healthz")
        health = (time.perf_counter() - start) * 1000
        row(
            f"GET /api/places/locate, p50 of {repeats}",
            f"{statistics.median(times):.2f} ms",
            f"p95 {times[int(len(times) * 0.95)]:.2f} ms; GET /healthz {health:.2f} ms; target p50 < 5 ms",
        )
        box = OGC_BOX
        samples = []
        for _ in range(5):
            start = time.perf_counter()  # the response, fully received; parsing it is the client's cost
            response = client.get("/ogcapi/collections/unit-grids/items", params={"bbox": box, "limit": 10_000})
            samples.append(time.perf_counter() - start)
        body = response.json()
        row(
            f"GET /ogcapi unit-grids bbox ({body['numberReturned']:,} features)",
            f"{statistics.median(samples) * 1000:.0f} ms",
            f"matched {body['numberMatched']:,}; median of 5",
        )
        ours_ms = statistics.median(samples) * 1000
    server.should_exit = True
    thread.join(timeout=10)
    database.dispose()
    return ours_ms


PYGEOAPI_VENV = Path("var/bench/pygeoapi-venv")
PYGEOAPI_PACKAGES = ["pygeoapi", "psycopg2-binary", "geoalchemy2", "starlette", "uvicorn"]
OGC_BOX = "121.42,31.18,121.525,31.27"


def _pygeoapi_config(url: str, port: int) -> str:
    from sqlalchemy.engine import make_url

    db = make_url(url)
    return json.dumps(
        {  # YAML is a superset of JSON
            "server": {
                "bind": {"host": "127.0.0.1", "port": port},
                "url": f"http://127.0.0.1:{port}",
                "mimetype": "application/json; charset=UTF-8",
                "encoding": "utf-8",
                "languages": ["en-US"],
                "limits": {"default_items": 10, "max_items": 10_000},
                "map": {"url": "http://127.0.0.1/{z}/{x}/{y}.png", "attribution": "none"},
            },
            "logging": {"level": "ERROR"},
            "metadata": {
                "identification": {
                    "title": "bench",
                    "description": "bench",
                    "keywords": ["bench"],
                    "keywords_type": "theme",
                    "terms_of_service": "none",
                    "url": "http://127.0.0.1",
                },
                "license": {"name": "none", "url": "http://127.0.0.1"},
                "provider": {"name": "bench", "url": "http://127.0.0.1"},
                "contact": {
                    "name": "bench",
                    "position": "bench",
                    "address": "bench",
                    "city": "bench",
                    "stateorprovince": "bench",
                    "postalcode": "0",
                    "country": "CN",
                    "phone": "0",
                    "fax": "0",
                    "email": "bench@example.org",
                    "url": "http://127.0.0.1",
                    "hours": "any",
                    "instructions": "none",
                    "role": "pointOfContact",
                },
            },
            "resources": {
                "grids": {
                    "type": "collection",
                    "title": "grids",
                    "description": "unit grids",
                    "keywords": ["grids"],
                    "extents": {
                        "spatial": {"bbox": list(SHANGHAI_BOX), "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}
                    },
                    "providers": [
                        {
                            "type": "feature",
                            "name": "PostgreSQL",
                            "id_field": "code",
                            "table": "bench_grid",
                            "geom_field": "geom",
                            "data": {
                                "host": db.host,
                                "port": db.port or 5432,
                                "dbname": db.database,
                                "user": db.username,
                                "password": db.password or "",
                                "search_path": ["public"],
                            },
                        }
                    ],
                }
            },
        }
    )


def bench_pygeoapi(url: str, ours_ms: float) -> None:
    """pygeoapi (its own virtualenv, so its pins cannot disturb ours) serving bench_grid from the same database."""
    import socket
    import subprocess
    import sys

    import httpx

    print("\npygeoapi reference (PostgreSQL provider, same grids, same database)")
    python = PYGEOAPI_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PYGEOAPI_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PYGEOAPI_PACKAGES], check=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = PYGEOAPI_VENV.parent / "pygeoapi-config.yml"
    openapi = PYGEOAPI_VENV.parent / "pygeoapi-openapi.yml"
    config.write_text(_pygeoapi_config(url, port))
    subprocess.run(
        [str(PYGEOAPI_VENV / "bin" / "pygeoapi"), "openapi", "generate", str(config), "--output-file", str(openapi)],
        check=True,
        capture_output=True,
    )
    env = {"PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi), "PATH": "/usr/bin:/bin"}
    server = subprocess.Popen(
        [
            str(python),
            "-m",
            "uvicorn",
            "pygeoapi.starlette_app:APP",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "error",
        ],
        env=env,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as client:
            for _ in range(200):
                try:
                    if client.get("/conformance").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            samples, returned = [], 0
            for _ in range(5):
                start = time.perf_counter()
                response = client.get(
                    "/collections/grids/items", params={"bbox": OGC_BOX, "limit": 10_000, "f": "json"}
                )
                samples.append(time.perf_counter() - start)
                returned = response.json().get("numberReturned", 0)
        theirs = statistics.median(samples) * 1000
        row(
            f"pygeoapi bbox ({returned:,} features)",
            f"{theirs:.0f} ms",
            f"ours {ours_ms:.0f} ms: {theirs / ours_ms:.1f}× faster (target > 1×)",
        )
    finally:
        server.terminate()
        server.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="a database with the grids (default: build var/bench/places.db)")
    parser.add_argument("--postgis-url", help="a PostgreSQL + PostGIS database for the reference (it is written to)")
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--naive-points", type=int, default=200)
    parser.add_argument("--api-calls", type=int, default=500)
    parser.add_argument(
        "--pygeoapi",
        action="store_true",
        help="with --postgis-url: also time pygeoapi serving the same grids (installs it into "
        "var/bench/pygeoapi-venv); give the same URL as --database-url for one database",
    )
    args = parser.parse_args()
    url = args.database_url
    if url is None:
        Path("var/bench").mkdir(parents=True, exist_ok=True)
        url = "sqlite:///var/bench/places.db"
    settings = Settings(database_url=url, _env_file=None)
    upgrade(settings)
    database = Database(settings)
    print(f"Places benchmark on {settings.database_url.split('@')[-1]}")
    prepare(database)
    grid_index, lon, lat = bench_lookup(database, args.points, args.naive_points)
    if args.postgis_url:
        bench_postgis(args.postgis_url, database, grid_index, lon, lat)
    ours_ms = bench_api(url, args.api_calls)
    if args.postgis_url and args.pygeoapi:
        bench_pygeoapi(args.postgis_url, ours_ms)
    database.dispose()


if __name__ == "__main__":
    main()
