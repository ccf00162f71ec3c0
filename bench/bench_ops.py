"""Benchmark of the operations centre with the full demo city loaded. Prints every figure beside a reference
measured in the same run, on the same machine and database.

    .venv/bin/python bench/bench_ops.py [--database-url URL] [--runs 5] [--clients 10,50,…,10000]
                                        [--only browser,sse]

The demo city (`smartcity demo`: 16 districts, ≈806,000 unit grids, sensors with 24 h of readings, alarm rules,
the synthetic road network with 24 h of traffic cycles, car parks, the bus feed) is loaded into a temporary
SQLite database (≈70 s; removed afterwards), or into --database-url, which later runs reuse as it is. The app runs
as in production: `uvicorn smartcity.app:create_app` in a subprocess, one worker, `SMARTCITY_ENV=development`
(so the grid index is built at start), and is warmed up by one request for the figures (the first computes the
plan indicators from cold sources) and one map click (the grid index) before anything is measured.

1. browser — Debian's Chromium through Playwright (launched as tests/browser/conftest.py does), signed in as a
   city-wide supervisor, opens /ops (the city) and /ops?area=310101 (黄浦区) --runs times each in a new tab of
   one browser context (warm HTTP cache, as a control room's screen), and reads the browser's Performance API:
   time to first byte, first paint, first contentful paint, load, and the complete map — the
   `ops-map-complete` mark the page sets once every layer has loaded (window.opsReady). Reference: the sign-in
   page (the same shell, no data) measured the same way in the same browser.
2. sse — N plain HTTP clients (asyncio + httpx streams, one process) hold `GET /api/ops/events` open as a
   city-wide supervisor (API key), opened 10 at a time; once all have their first figures, one change is made
   through the API (a case reported at People's Square) and each client's delay from the request being sent
   to its figures event naming the change is taken. N steps up (--clients) until the slowest client waits more
   than 2 s or a client gets nothing within 10 s. Reference: the same N clients each asking
   `GET /api/ops/figures` once, at most 10 requests in flight as the streams are opened (what polling screens
   would cost the server per refresh).
3. relay (PostgreSQL only; SQLite has no notifications) — --relay-screens clients on one app process, the same
   change made through a second app process on the same database: the delay until every screen hears of it
   (PostgreSQL NOTIFY → the first process's LISTEN connection → its screens), beside the change made through the
   screens' own process; --runs changes each.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from harness import free_port, percentile, stop, wait_http

from smartcity.config import Settings
from smartcity.core.db import Database, upgrade
from smartcity.security import service as security

ROOT = Path(__file__).resolve().parent.parent
CODE = Path(security.__file__).resolve().parent.parent.parent  # the tree the smartcity package comes from
SECRET = "bench-ops-not-secret-" * 3
USER, PASSWORD = "bench-ops-supervisor", "bench-ops-password-1"
CHROMIUM = os.environ.get("SMARTCITY_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
LIMIT_S = 2.0  # the update delay the screens may wait at most
LOST_S = 10.0  # a client without the change after this long counts as lost
# Stream requests in flight at once while the screens connect. A burst of more than the thread pool's 40 requests
# stalls the app on SQLite (see bench/README.md, Operations centre); the screens are opened a few at a time.
OPENING = 10
PEOPLES_SQUARE = (121.4846, 31.2317)
PAGE_METRICS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const paint = Object.fromEntries(performance.getEntriesByType('paint').map(e => [e.name, e.startTime]));
  const done = performance.getEntriesByName('ops-map-complete')[0];
  return {ttfb: nav.responseStart, fp: paint['first-paint'] ?? null, fcp: paint['first-contentful-paint'] ?? null,
          load: nav.loadEventEnd, map: done ? done.startTime : null,
          shapes: document.querySelectorAll('.leaflet-overlay-pane path').length};
}"""


# ---------------------------------------------------------------- small helpers


def ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms"


# ---------------------------------------------------------------- the demo city and the app


def ensure_demo(url: str, workdir: Path) -> None:
    """Load the demo city into the database unless its districts and road network are there already."""
    settings = Settings(database_url=url, env="test", secret_key=SECRET, _env_file=None)
    upgrade(settings)
    database = Database(settings)
    from smartcity.places import service as places
    from smartcity.traffic import service as traffic

    with database.session() as session:
        loaded = len(places.list_divisions(session, level="district")) >= 16 and bool(
            traffic.current_network(session).segments
        )
    database.dispose()
    if loaded:
        print("Demo city: already loaded, reused.")
        return
    print("Demo city: loading with `smartcity demo` (≈70 s) …", flush=True)
    started = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTCITY_")} | {"SMARTCITY_DATABASE_URL": url}
    subprocess.run([str(Path(sys.executable).with_name("smartcity")), "demo"], cwd=workdir, env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    print(f"Demo city: loaded in {time.perf_counter() - started:.0f} s.")


def bench_account(url: str) -> str:
    """A city-wide supervisor with a known password (for the browser) and an API key (for the streams)."""
    settings = Settings(database_url=url, env="test", secret_key=SECRET, _env_file=None)
    database = Database(settings)
    with database.session(actor="bench") as session:
        user = security.user_by_name(session, USER)
        if user is None:
            city = security.root_department_code(session)
            user = security.create_user(session, username=USER, display_name="Bench supervisor", password=PASSWORD,
                                        role="supervisor", department_code=city)  # fmt: skip
        key, _ = security.create_api_key(session, name="bench-ops", user=user)
    database.dispose()
    return key


class App:
    """`uvicorn smartcity.app:create_app` in a subprocess, as production runs it (one worker)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.process: subprocess.Popen[bytes] | None = None
        self.base = ""

    def start(self) -> None:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTCITY_")} | {
            "SMARTCITY_DATABASE_URL": self.url,
            "SMARTCITY_ENV": "development",
            "SMARTCITY_SECRET_KEY": SECRET,
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "smartcity.app:create_app", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning", "--no-access-log", "--timeout-graceful-shutdown", "5"],
            cwd=CODE,
            env=env,
        )  # fmt: skip
        self.base = f"http://127.0.0.1:{port}"
        wait_http(f"{self.base}/healthz", self.process, seconds=120)

    def stop(self) -> None:
        stop(self.process)


def warm_up(base: str, key: str) -> None:
    headers = {"X-API-Key": key}
    started = time.perf_counter()
    httpx.get(f"{base}/api/ops/figures", headers=headers, timeout=600).raise_for_status()
    figures = time.perf_counter() - started
    started = time.perf_counter()
    lon, lat = PEOPLES_SQUARE
    httpx.get(f"{base}/api/ops/locate", params={"area": "310101", "lon": lon, "lat": lat}, headers=headers,
              timeout=600).raise_for_status()  # fmt: skip
    print(
        f"Warm-up: first figures {figures:.1f} s (cold sources), first map click {time.perf_counter() - started:.1f} s"
    )


# ---------------------------------------------------------------- 1. the page in Chromium


def browser_figures(base: str, runs: int) -> None:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        print(f"browser: skipped — Debian's chromium is not installed ({CHROMIUM})")
        return
    print(f"\n1. The page in Chromium ({runs} loads each, warm HTTP cache; median, min–max)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(base_url=base, locale="zh-CN", viewport={"width": 1600, "height": 1000})
        login = context.new_page()
        login.goto("/login")
        login.get_by_label("用户名").fill(USER)
        login.get_by_label("密码").fill(PASSWORD)
        login.get_by_role("button", name="登录").click()
        login.wait_for_url("**/ops")
        wait_ready(login, "window.opsReady === true")
        login.close()
        results = {
            "/ops (city)": measure(context, "/ops", runs),
            "/ops?area=310101 (黄浦区)": measure(context, "/ops?area=310101", runs),
        }
        reference = browser.new_context(base_url=base, locale="zh-CN", viewport={"width": 1600, "height": 1000})
        results["reference: /login"] = measure(reference, "/login", runs, ready=None)
        browser.close()
    print(f"  {'page':<28} {'first byte':>14} {'first paint':>14} {'first contentful':>17} {'load':>14} "
          f"{'complete map':>16}  shapes")  # fmt: skip
    for name, samples in results.items():
        cells = []
        for metric in ("ttfb", "fp", "fcp", "load", "map"):
            values = [s[metric] for s in samples if s[metric] is not None]
            cells.append(f"{statistics.median(values):,.0f} ({min(values):,.0f}–{max(values):,.0f})" if values else "—")
        shapes = samples[-1]["shapes"]
        print(f"  {name:<28} {cells[0]:>14} {cells[1]:>14} {cells[2]:>17} {cells[3]:>14} {cells[4]:>16}  {shapes}")
    print("  (milliseconds from the start of the navigation; 'complete map': every layer loaded and drawn)")


def wait_ready(page: Any, expression: str, seconds: float = 300) -> None:
    """Poll the page (its CSP allows no string evaluation, which wait_for_function needs); the figures come
    from the Performance API's own timestamps, so the polling interval does not enter them."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{page.url}: {expression} still false after {seconds:.0f} s")
        page.wait_for_timeout(25)


def measure(context: Any, path: str, runs: int, ready: str | None = "window.opsReady === true") -> list[dict]:
    samples = []
    for _ in range(runs):
        page = context.new_page()
        page.goto(path, wait_until="load", timeout=300_000)
        if ready:
            wait_ready(page, ready)
        else:
            page.wait_for_timeout(200)  # let the paint entries be recorded
        samples.append(page.evaluate(PAGE_METRICS))
        page.close()
    return samples


# ---------------------------------------------------------------- 2. live updates to many screens


@dataclass
class Step:
    clients: int
    connected_s: float
    delays: list[float]  # seconds from the change's request being sent, per client that got it
    answered_s: float  # the change's request itself
    lost: int

    @property
    def worst(self) -> float:
        return max(self.delays) if self.delays else float("inf")


async def sse_step(base: str, key: str, n: int, writer_base: str | None = None) -> Step:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    timeout = httpx.Timeout(None, connect=60)
    connected = [asyncio.Event() for _ in range(n)]
    arrived: list[float | None] = [None] * n
    armed: dict[str, float] = {}
    everyone = asyncio.Event()
    opening = asyncio.Semaphore(OPENING)
    failed: list[str] = []

    async def screen(client: httpx.AsyncClient, i: int) -> None:
        try:
            async with opening:  # screens open a few at a time (see OPENING)
                response = await client.send(client.build_request("GET", "/api/ops/events"), stream=True)
            try:
                response.raise_for_status()
                await listen(response, i)
            finally:
                await response.aclose()
        except httpx.HTTPError as error:
            failed.append(f"{type(error).__name__}: {error}")
            connected[i].set()  # counted as lost, not waited for

    async def listen(response: httpx.Response, i: int) -> None:
        event = ""
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "figures":
                if not connected[i].is_set():
                    connected[i].set()
                elif "at" in armed and arrived[i] is None and '"cases"' in line.rpartition('"changed":')[2]:
                    arrived[i] = time.perf_counter()
                    if all(a is not None for a in arrived):
                        everyone.set()

    async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": key}, limits=limits, timeout=timeout) as client:
        started = time.perf_counter()
        tasks = [asyncio.create_task(screen(client, i)) for i in range(n)]
        await asyncio.wait_for(asyncio.gather(*(c.wait() for c in connected)), 300)
        connected_s = time.perf_counter() - started
        await asyncio.sleep(0.5)
        body = {"kind": "event", "class_code": "0102", "description": "bench: 积水", "lon": PEOPLES_SQUARE[0],
                "lat": PEOPLES_SQUARE[1]}  # fmt: skip
        async with httpx.AsyncClient(base_url=writer_base or base, headers={"X-API-Key": key}, timeout=60) as writer:
            armed["at"] = time.perf_counter()
            response = await writer.post("/api/cases", json=body)
            answered_s = time.perf_counter() - armed["at"]
            response.raise_for_status()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(everyone.wait(), LOST_S)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if failed:
        print(f"    {len(failed)} screens could not connect, e.g. {failed[0]}")
    delays = [a - armed["at"] for a in arrived if a is not None]
    return Step(n, connected_s, delays, answered_s, sum(1 for a in arrived if a is None))


async def polling_reference(base: str, key: str, n: int) -> float:
    """N screens asking for the figures, as polling pages would on each refresh (OPENING requests in flight at a
    time, as the streams are opened): seconds until all have them."""
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    in_flight = asyncio.Semaphore(OPENING)

    async def ask(client: httpx.AsyncClient) -> None:
        async with in_flight:
            (await client.get("/api/ops/figures")).raise_for_status()

    async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": key}, limits=limits, timeout=600) as client:
        started = time.perf_counter()
        await asyncio.gather(*(ask(client) for _ in range(n)))
        return time.perf_counter() - started


def sse_figures(base: str, key: str, steps: list[int]) -> None:
    print(f"\n2. Live updates to many screens (Server-Sent Events; a change → every screen; limit {LIMIT_S:.0f} s)")
    print(f"  {'screens':>8} {'connected in':>13} {'change request':>15} {'delay p50':>10} {'p95':>9} {'worst':>9} "
          f"{'lost':>5}   reference: N × GET /api/ops/figures at once")  # fmt: skip
    served = 0
    for n in steps:
        step = asyncio.run(sse_step(base, key, n))
        reference = asyncio.run(polling_reference(base, key, n))
        p50 = statistics.median(step.delays) if step.delays else None
        p95 = percentile(step.delays, 0.95) if step.delays else None
        print(f"  {n:>8} {step.connected_s:>12.1f}s {ms(step.answered_s * 1000):>15} "
              f"{ms(p50 * 1000 if p50 is not None else None):>10} {ms(p95 * 1000 if p95 is not None else None):>9} "
              f"{ms(step.worst * 1000 if step.delays else None):>9} {step.lost:>5}   all answered in {reference:.2f} s",
              flush=True)  # fmt: skip
        if step.lost or step.worst > LIMIT_S:
            break
        served = n
    print(f"  screens served with every update within {LIMIT_S:.0f} s: {served}"
          + ("" if served != steps[-1] else " (the largest step tried; try more with --clients)"))  # fmt: skip


def relay_figures(base: str, other: str, key: str, screens: int, runs: int) -> None:
    """The change made through a second app process: it reaches the first one's screens through PostgreSQL's
    NOTIFY (ops/relay.py) — beside the same change made through the screens' own process."""
    print(f"\n3. A change made through another app process ({screens} screens on the first; {runs} runs each)")
    for label, writer in (("through the screens' own process", base), ("through a second app process", other)):
        delays = []
        for _ in range(runs):
            step = asyncio.run(sse_step(base, key, screens, writer_base=writer))
            delays.extend(step.delays)
            if step.lost:
                print(f"    {step.lost} screens never heard of the change")
        print(f"  {label:<36} delay p50 {ms(statistics.median(delays) * 1000):>8}, "
              f"worst {ms(max(delays) * 1000):>8}")  # fmt: skip


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="reuse this database (the demo is loaded into it when missing)")
    parser.add_argument("--runs", type=int, default=5, help="page loads per page")
    parser.add_argument("--clients", default="10,50,100,200,500,1000,2000,5000,10000", help="SSE clients per step")
    parser.add_argument("--only", default="browser,sse,relay", help="browser, sse, relay (PostgreSQL only)")
    parser.add_argument("--relay-screens", type=int, default=100, help="screens on the first process (relay)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-ops-"))
    url = args.database_url or f"sqlite:///{workdir / 'demo.db'}"
    app, other = App(url), App(url)
    try:
        ensure_demo(url, workdir)
        key = bench_account(url)
        app.start()
        print(f"Operations centre benchmark on {url.split('@')[-1]} (code from {CODE})")
        warm_up(app.base, key)
        only = set(args.only.split(","))
        if "browser" in only:
            browser_figures(app.base, args.runs)
        if "sse" in only:
            sse_figures(app.base, key, [int(n) for n in args.clients.split(",") if n])
        if "relay" in only and url.startswith("postgresql"):
            other.start()
            relay_figures(app.base, other.base, key, args.relay_screens, args.runs)
    finally:
        app.stop()
        other.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
