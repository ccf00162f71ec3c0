"""Shared set-up of the sensing tests: two Suzhou River stations made through the API, and a real Mosquitto
(Debian's package) started on a free port for the MQTT tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import bearer
from tests.sensing.test_sta import STA, _station


@pytest.fixture
def stations(client, city) -> dict[str, int]:
    """Two Suzhou River stations, each with a water-level datastream; returns datastream ids by name."""
    ids = {}
    for name, lon, lat in (("外白渡桥站", 121.4906, 31.2452), ("武宁路桥站", 121.4305, 31.2398)):
        response = client.post(f"{STA}/Things", json=_station(name, lon, lat), headers=bearer(client, "supervisor"))
        assert response.status_code == 201, response.text
        thing = response.json()
        datastreams = client.get(f"{STA}/Things({thing['@iot.id']})/Datastreams").json()["value"]
        ids[name] = datastreams[0]["@iot.id"]
    return ids


MOSQUITTO = "/usr/sbin/mosquitto"
PASSWORDS = {"platform": "platform-secret-1", "device": "device-secret-1", "stranger": "stranger-secret-1"}


# Production's limits (docs/production.md): a bridge acknowledging after its commit must not have messages
# dropped behind it by the broker's default in-flight (20) and queue (1,000) limits.
ROOMY = "max_inflight_messages 0\nmax_queued_messages 0\n"


@pytest.fixture(scope="module")
def broker(tmp_path_factory):  # type: ignore[no-untyped-def]
    """Mosquitto with its default limits."""
    yield from _mosquitto(tmp_path_factory, "")


@pytest.fixture(scope="module")
def roomy_broker(tmp_path_factory):  # type: ignore[no-untyped-def]
    """Mosquitto configured as docs/production.md says."""
    yield from _mosquitto(tmp_path_factory, ROOMY)


def _mosquitto(tmp_path_factory, extra: str):  # type: ignore[no-untyped-def]
    if not Path(MOSQUITTO).exists():
        message = "Debian's mosquitto is not installed; run scripts/install-system-deps mosquitto"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("mosquitto")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    passwords = folder / "passwd"
    for user, password in PASSWORDS.items():
        flags = ["-c"] if not passwords.exists() else []
        subprocess.run(
            [
                shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd",
                *flags,
                "-b",
                str(passwords),
                user,
                password,
            ],
            check=True,
        )
    acl = folder / "acl"
    acl.write_text("user platform\ntopic readwrite #\n", encoding="utf-8")
    config = folder / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\nacl_file {acl}\n"
        f"persistence false\nlog_dest stderr\n{extra}" + ("user root\n" if os.geteuid() == 0 else ""),
        encoding="utf-8",
    )
    # its log goes to a file: a pipe nobody reads fills up and the broker stops answering
    log = (folder / "mosquitto.log").open("wb")
    process = subprocess.Popen([MOSQUITTO, "-c", str(config)], stderr=log)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    yield {"port": port, "acl": acl, "pid": process.pid}
    process.terminate()
    process.wait(5)
    log.close()
