"""A burst of simultaneous requests, more than the thread pool has threads, is answered: the requests take turns
for a session outside the pool (core.deps._take_turn) instead of stalling for the lock's or the connection pool's
timeout."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx

from tests.conftest import bearer

BURST = 100  # the thread pool has 40 threads; the engine's connection pool 15 (SQLite) or 30 (PostgreSQL)


def _burst(base: str, headers: dict[str, str], method: str, path: str, body: Any = None) -> list[int | str]:
    answers: list[int | str] = []

    async def send_all() -> None:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60, limits=limits) as client:
            sent = (client.request(method, path, json=body) for _ in range(BURST))
            got = await asyncio.gather(*sent, return_exceptions=True)
        answers.extend(r.status_code if isinstance(r, httpx.Response) else type(r).__name__ for r in got)

    thread = threading.Thread(target=lambda: asyncio.run(send_all()))  # Playwright may own this thread's loop
    thread.start()
    thread.join()
    return answers


def test_a_burst_of_reads_is_answered(client, live_server, city) -> None:
    answers = _burst(live_server, bearer(client, "supervisor"), "GET", "/api/cases?limit=5")
    assert answers == [200] * BURST


def test_a_burst_of_writes_is_answered_and_each_lands_once(client, live_server, case_setup) -> None:
    report = {"kind": "event", "class_code": "0102", "description": "burst", "lon": 121.4846, "lat": 31.2317}
    answers = _burst(live_server, bearer(client, "inspector"), "POST", "/api/cases", report)
    assert answers == [201] * BURST
    listed = client.get("/api/cases", params={"limit": 1}, headers=bearer(client, "supervisor"))
    assert listed.json()["total"] == BURST


def test_a_burst_of_hotline_orders_gets_one_number_each(client, live_server, hotline_setup) -> None:
    from tests.hotline.test_orders import CALLER

    order = {"order_type": "complaint", "description": "小区楼下广场舞噪音太大，晚上十点后仍未停止", **CALLER}
    answers = _burst(live_server, bearer(client, "operator"), "POST", "/api/hotline/orders", order)
    assert answers == [201] * BURST
    listed = client.get("/api/hotline/orders", params={"limit": 1}, headers=bearer(client, "supervisor"))
    assert listed.json()["total"] == BURST
