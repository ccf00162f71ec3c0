"""What the end-to-end benchmarks share: a free port, a server subprocess waited for and stopped, percentiles."""

from __future__ import annotations

import signal
import socket
import subprocess
import time

import httpx


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(len(ordered) * share) - 1))]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_http(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    """Until ``url`` answers (below 500); fails at once if the server process exits first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before answering {url}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s")


def stop(process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM, as a process manager stops a server; killed if it has not ended within 20 s."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


BARE_APP = """
import sys
BODY = open(sys.argv[1], "rb").read()
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})

import uvicorn
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
"""


def bare_server(body_file: str, python: str) -> tuple[subprocess.Popen[bytes], str]:
    """uvicorn serving one fixed body from a bare ASGI app (no framework, no database): the floor under any
    answer of that size on this machine with this client. Returns the process and its URL."""
    port = free_port()
    process = subprocess.Popen([python, "-c", BARE_APP, body_file, str(port)])
    url = f"http://127.0.0.1:{port}/"
    wait_http(url, process)
    return process, url
