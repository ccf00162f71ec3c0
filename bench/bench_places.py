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


def bench_api(database_url: str, repeats: int) -> None:
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
        box = "121.42,31.18,121.525,31.27"
        samples = []
        for _ in range(5):
            start = time.perf_counter()
            body = client.get("/ogcapi/collections/unit-grids/items", params={"bbox": box, "limit": 10_000}).json()
            samples.append(time.perf_counter() - start)
        row(
            f"GET /ogcapi unit-grids bbox ({body['numberReturned']:,} features)",
            f"{statistics.median(samples) * 1000:.0f} ms",
            f"matched {body['numberMatched']:,}; median of 5",
        )
    server.should_exit = True
    thread.join(timeout=10)
    database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="a database with the grids (default: build var/bench/places.db)")
    parser.add_argument("--postgis-url", help="a PostgreSQL + PostGIS database for the reference (it is written to)")
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--naive-points", type=int, default=200)
    parser.add_argument("--api-calls", type=int, default=500)
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
    bench_api(url, args.api_calls)
    database.dispose()


if __name__ == "__main__":
    main()
