"""Live updates: the event stream's wire format, a committed change reaching an open stream within a second
(a rolled-back one never), the periodic refresh, and many screens on one area costing one computation."""

from __future__ import annotations

import asyncio
import json
import threading
import time

from smartcity.cases import service as case_service
from smartcity.core import events
from smartcity.ops import live, service, tiles
from smartcity.security import service as security
from tests.conftest import bearer


def _run(coroutine) -> None:  # type: ignore[no-untyped-def]
    """Run the test's coroutine on a loop of its own, in a thread: the browser tests' Playwright keeps an event
    loop running in the main thread, where asyncio.run would refuse to start."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coroutine)
        except BaseException as error:  # handed back to the test's thread
            failure.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def _events(raw: bytes | str) -> list[tuple[str, dict]]:
    """The (event, data) pairs of a text/event-stream body."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    found = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "data" in fields:
            found.append((fields.get("event", "message"), json.loads(fields["data"])))
    return found


def test_the_stream_sends_the_figures_as_server_sent_events(client, cases) -> None:
    response = client.get("/api/ops/events", params={"max_events": 1, "area": "310101"},
                          headers=bearer(client, "supervisor"))  # fmt: skip
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.text.startswith("retry: ")
    ((name, data),) = _events(response.text)
    assert name == "figures" and data["area"] == "310101"
    cases_tile = next(t for t in data["tiles"] if t["code"] == "cases")
    assert {f["key"]: f["text"] for f in cases_tile["figures"]}["cases.new"] == "5"
    assert data["changed"] == [] and data["summary"] == ""  # the first event: nothing to compare with


def _principal(database, username: str):  # type: ignore[no-untyped-def]
    with database.session() as s:
        return security.principal_for(s, security.user_by_name(s, username), via="test")


def _computer(database, settings, principal, area: str | None, calls: list[int] | None = None):  # type: ignore[no-untyped-def]
    with database.session() as s:
        chosen = service.resolve(s, principal, area)

    def compute() -> tiles.Snapshot:
        if calls is not None:
            calls.append(1)
        with database.session() as s:
            return tiles.snapshot(s, settings, principal, chosen, "en")

    return compute


def _report(database, inspector) -> str:  # type: ignore[no-untyped-def]
    with database.session(actor="inspector") as s:
        return case_service.report(
            s, inspector, kind="event", class_code="0102", description="积水", lon=121.4846, lat=31.2317
        ).number


def test_a_committed_change_reaches_an_open_stream_within_a_second(database, settings, cases) -> None:
    supervisor, inspector = _principal(database, "supervisor"), _principal(database, "inspector")
    compute = _computer(database, settings, supervisor, "310101")

    async def run() -> None:
        stream = live.stream(("test", "310101"), compute, interval=60, cache=live.FigureCache(live.HUB))
        assert (await anext(stream)).startswith(b"retry: ")
        (first,) = _events(await anext(stream))
        assert first[1]["changed"] == []
        started = time.monotonic()
        await asyncio.to_thread(_report, database, inspector)  # commits in another thread, as a request does
        (second,) = _events(await asyncio.wait_for(anext(stream), 5))
        assert time.monotonic() - started < 1.0
        assert "cases" in second[1]["changed"]
        assert "Grid cases · New today 5 → 6" in second[1]["summary"]
        await stream.aclose()

    _run(run())
    assert live.HUB.listeners == 0  # a closed stream leaves nothing behind


def test_a_rolled_back_change_is_never_announced(database, settings, cases) -> None:
    supervisor = _principal(database, "supervisor")
    compute = _computer(database, settings, supervisor, None)

    def roll_back() -> None:
        try:
            with database.session() as s:
                events.emit(s, "cases.reported", number="x", grid="y")
                raise RuntimeError("the request failed")
        except RuntimeError:
            pass

    async def run() -> None:
        stream = live.stream(("test", "rollback"), compute, interval=60, cache=live.FigureCache(live.HUB))
        await anext(stream)
        await anext(stream)
        await asyncio.to_thread(roll_back)
        waiting = asyncio.ensure_future(anext(stream))
        done, _ = await asyncio.wait([waiting], timeout=0.5)
        assert not done
        waiting.cancel()  # the screen goes away: the stream ends and forgets its listener
        await asyncio.gather(waiting, return_exceptions=True)

    _run(run())
    assert live.HUB.listeners == 0


def test_every_screen_gets_fresh_figures_at_least_every_interval(database, settings, cases) -> None:
    compute = _computer(database, settings, _principal(database, "viewer"), None)

    async def run() -> None:
        stream = live.stream(("test", "tick"), compute, interval=0.2, max_events=2, cache=live.FigureCache(live.HUB))
        chunks = [chunk async for chunk in stream]
        assert [data["changed"] for _, data in _events(b"".join(chunks))] == [[], ["tick"]]

    _run(run())


def test_many_screens_on_one_area_cost_one_computation_per_change(database, settings, cases) -> None:
    calls: list[int] = []
    compute = _computer(database, settings, _principal(database, "supervisor"), "310101", calls)
    inspector = _principal(database, "inspector")
    cache = live.FigureCache(live.HUB)

    async def run() -> None:
        streams = [live.stream(("test", "many"), compute, interval=60, cache=cache) for _ in range(50)]
        for stream in streams:
            await anext(stream)
        await asyncio.gather(*(anext(s) for s in streams))
        assert len(calls) == 1
        await asyncio.to_thread(_report, database, inspector)
        changed = await asyncio.wait_for(asyncio.gather(*(anext(s) for s in streams)), 5)
        assert all("cases" in _events(c)[0][1]["changed"] for c in changed)
        assert len(calls) == 2
        for stream in streams:
            await stream.aclose()

    _run(run())
