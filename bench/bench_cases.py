"""Benchmark of the case loop and the evaluation. Prints figures beside references from the same run.

    .venv/bin/python bench/bench_cases.py [--database-url URL] [--clients 8] [--cases 40] [--evaluation-cases N]

1. N concurrent HTTP clients drive full lifecycles (report → register → dispatch → accept → feedback →
   check_pass) against a running server; prints cases/s and p50/p99 per transition, then checks that every
   case ended closed with exactly six history events (none lost, none doubled).
2. Times the evaluation indicators over N closed cases (default 1,000,000; target < 2 s), beside the same
   rates computed by reading the rows into Python.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import threading
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import delete, func, insert, select

from smartcity.app import create_app
from smartcity.cases import catalogue, evaluation
from smartcity.cases.models import Case, CaseEvent
from smartcity.config import Settings
from smartcity.core.db import Database, upgrade
from smartcity.places import generate, layers, service
from smartcity.places.cli import PACKAGED_BOUNDARIES
from smartcity.security import service as security

PASSWORD = "bench-password-1"
STEPS = [
    ("operator", "register", None),
    ("dispatcher", "dispatch", None),
    ("handler", "accept", None),
    ("handler", "feedback", "done"),
    ("inspector", "check_pass", None),
]


def prepare(database: Database) -> None:
    with database.session(actor="bench") as s:
        if security.user_by_name(s, "b_inspector") is not None:
            return
        data = json.loads(PACKAGED_BOUNDARIES.read_text(encoding="utf-8"))
        data["features"] = [f for f in data["features"] if f["properties"]["code"] in ("310000", "310101")]
        service.import_divisions(s, data, crs="gcj02", source="bench")
        generate.subdivide_synthetic(s, "310101")
        for code, name, level, parent in (
            ("310000", "上海市", "city", None),
            ("310101", "黄浦区", "district", "310000"),
        ):
            security.create_department(s, code=code, name=name, level=level, parent_code=parent)
        for role in ("inspector", "operator", "dispatcher", "handler"):
            security.create_user(
                s, username=f"b_{role}", display_name=role, password=PASSWORD, role=role, department_code="310101"
            )
        core = json.loads(catalogue.CORE_CATALOGUE.read_text(encoding="utf-8"))
        catalogue.import_catalogue(s, core["classes"], standard_ref=core["standard_ref"], version=core["version"])
        layers.save(
            s,
            kind="responsibility",
            code="hp",
            name="hp",
            members=["310101"],
            department_code="310101",
            valid_from=date(2020, 1, 1),
        )
    with database.session(actor="bench") as s:
        for community in generate.communities_of(s, "310101"):
            generate.generate_grids(s, community)


def serve(settings: Settings) -> tuple[uvicorn.Server, str]:
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"


def lifecycles(base: str, clients: int, per_client: int) -> tuple[list[str], dict[str, list[float]], float]:
    with httpx.Client(base_url=base) as c:
        tokens = {
            role: c.post("/api/auth/token", data={"username": f"b_{role}", "password": PASSWORD}).json()["access_token"]
            for role in ("inspector", "operator", "dispatcher", "handler")
        }
    timings: dict[str, list[float]] = defaultdict(list)
    numbers: list[str] = []
    lock = threading.Lock()

    def client(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=base, timeout=60) as c:
            for _ in range(per_client):
                body = {
                    "kind": "event",
                    "class_code": "0102",
                    "description": "bench",
                    "lon": 121.4846 + rng.uniform(-0.003, 0.003),
                    "lat": 31.2317 + rng.uniform(-0.003, 0.003),
                }
                start = time.perf_counter()
                case = c.post("/api/cases", json=body, headers={"Authorization": f"Bearer {tokens['inspector']}"})
                spent = {"report": time.perf_counter() - start}
                case.raise_for_status()
                case = case.json()
                for role, action, note in STEPS:
                    start = time.perf_counter()
                    response = c.post(
                        f"/api/cases/{case['number']}/actions/{action}",
                        json={"version": case["version"], "note": note},
                        headers={"Authorization": f"Bearer {tokens[role]}"},
                    )
                    spent[action] = time.perf_counter() - start
                    response.raise_for_status()
                    case = response.json()
                with lock:
                    numbers.append(case["number"])
                    for name, seconds in spent.items():
                        timings[name].append(seconds * 1000)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return numbers, timings, time.perf_counter() - start


def check_history(database: Database, numbers: list[str]) -> tuple[int, int]:
    with database.session() as s:
        closed = s.scalar(
            select(func.count()).select_from(Case).where(Case.number.in_(numbers), Case.state == "closed")
        )
        per_case = s.execute(
            select(CaseEvent.case_id, func.count())
            .join(Case, Case.id == CaseEvent.case_id)
            .where(Case.number.in_(numbers))
            .group_by(CaseEvent.case_id)
        ).all()
    return closed, sum(1 for _, n in per_case if n == len(STEPS) + 1)


def fill(database: Database, n: int) -> None:
    """N closed cases spread over Huangpu's districts, departments and classes (bulk, not via the API)."""
    now = datetime.now(UTC)
    rng = random.Random(3)
    with database.session() as s:
        grids = [g for (g,) in s.execute(select(func.min(Case.grid_code)))] or ["310101901001001"]
        s.execute(delete(Case).where(Case.description == "bench-bulk"))
    classes = ["0101", "0102", "0103", "0104", "0501", "0504"]
    for start in range(0, n, 50_000):
        rows = []
        for i in range(start, min(n, start + 50_000)):
            created = now - timedelta(days=rng.uniform(0, 300))
            deadline = created + timedelta(days=2)
            closed = created + timedelta(days=rng.uniform(0.2, 3))
            rows.append(
                {
                    "number": f"B{i:013d}",
                    "kind": "event",
                    "class_code": rng.choice(classes),
                    "source": rng.choice(["inspector", "inspector", "public"]),
                    "urgency": "normal",
                    "description": "bench-bulk",
                    "lon": 121.48,
                    "lat": 31.23,
                    "grid_code": grids[0],
                    "district_code": rng.choice(["310101", "310104", "310105", "310106"]),
                    "state": "closed",
                    "verified": True,
                    "reporter": "b_inspector",
                    "department_code": rng.choice(["310101", "310104"]),
                    "registered_at": created,
                    "dispatched_at": created,
                    "first_feedback_at": closed - timedelta(hours=2),
                    "deadline": deadline,
                    "closed_at": closed,
                    "rework_count": rng.choice([0, 0, 0, 1]),
                    "supervised": False,
                    "extension_requested": False,
                    "created_at": created,
                    "version": 7,
                }
            )
        with database.session() as s:
            s.execute(insert(Case), rows)


def python_reference(database: Database) -> tuple[float, float]:
    start = time.perf_counter()
    with database.session() as s:
        rows = s.execute(select(Case.state, Case.closed_at, Case.deadline)).all()
    closed = sum(1 for r in rows if r.state == "closed")
    on_time = sum(1 for r in rows if r.state == "closed" and r.closed_at <= r.deadline)
    return time.perf_counter() - start, on_time / closed if closed else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="sqlite:///var/bench/cases.db")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--cases", type=int, default=40, help="lifecycles per client")
    parser.add_argument("--evaluation-cases", type=int, default=1_000_000)
    args = parser.parse_args()
    Path("var/bench").mkdir(parents=True, exist_ok=True)
    settings = Settings(database_url=args.database_url, env="test", secret_key="bench-" * 8, _env_file=None)
    upgrade(settings)
    database = Database(settings)
    prepare(database)
    server, base = serve(settings)
    print(f"Case benchmark on {settings.database_url.split('@')[-1]}\n\nFull lifecycles over HTTP")
    numbers, timings, seconds = lifecycles(base, args.clients, args.cases)
    print(
        f"  {args.clients} clients × {args.cases} lifecycles: {len(numbers)} cases in {seconds:.1f} s "
        f"= {len(numbers) / seconds:.1f} cases/s ({len(numbers) * 6 / seconds:.0f} requests/s)"
    )
    for name in ("report", *[a for _, a, _ in STEPS]):
        values = sorted(timings[name])
        print(
            f"  {name:<12} p50 {statistics.median(values):7.1f} ms   p99 {values[int(len(values) * 0.99) - 1]:7.1f} ms"
        )
    closed, complete = check_history(database, numbers)
    print(
        f"  closed {closed}/{len(numbers)}; with exactly {len(STEPS) + 1} history events {complete}/{len(numbers)}"
        "   (must be all: none lost, none doubled)"
    )
    server.should_exit = True
    print(f"\nEvaluation over {args.evaluation_cases:,} closed cases")
    fill(database, args.evaluation_cases)
    start_at, end_at = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
    with database.session() as s:
        for group in ("city", "district", "department"):
            spent = time.perf_counter()
            rows = evaluation.evaluate(s, start=start_at, end=end_at, group_by=group)
            spent = time.perf_counter() - spent
            print(f"  all indicators by {group:<10} {spent:6.2f} s  ({len(rows)} rows)   target < 2 s")
        city = evaluation.evaluate(s, start=start_at, end=end_at, codes=["on_time_closure_rate"])[0]
    seconds, rate = python_reference(database)
    print(
        f"  reference: rows read into Python for one rate {seconds:6.2f} s; on-time closure rate "
        f"{rate:.4f} vs ours {city['on_time_closure_rate']:.4f} (must agree)"
    )
    database.dispose()


if __name__ == "__main__":
    main()
