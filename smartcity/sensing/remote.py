"""Sending the demo feeds to a platform over the network, as a device would: CreateObservations batches to
the SensorThings HTTP API with the device's API key, or one QoS 1 message per reading to an MQTT broker."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from smartcity.sensing import service
from smartcity.sensing.simulate import Feed, FeedError, load_stations

LOGGER = logging.getLogger(__name__)


def _feeds_from_things(things: list[dict[str, Any]]) -> list[Feed]:
    """Feeds from SensorThings JSON: Things with their Datastreams expanded."""
    stations = {s.code: s for s in load_stations()}
    feeds = []
    for thing in things:
        props = thing.get("properties") or {}
        s = stations.get(props.get("code"))
        if s is None or props.get("synthetic") is not True:
            continue
        for ds in thing.get("Datastreams") or []:
            quantity = (ds.get("properties") or {}).get("quantity")
            if quantity not in s.quantities:
                continue
            end = (ds.get("phenomenonTime") or "").rpartition("/")[2]  # "start/end", or null before any reading
            last = int(service.parse_time(end, "phenomenonTime").timestamp()) if end else None
            feeds.append(Feed(int(ds["@iot.id"]), s, quantity, last))
    return feeds


class HttpSender:
    """Sends CreateObservations batches to a platform's SensorThings API with the device's API key."""

    def __init__(self, url: str, api_key: str | None, *, timeout: float = 30.0) -> None:
        import httpx

        if not url.startswith(("http://", "https://")):
            raise FeedError(f"--url must be the platform's base URL, like http://127.0.0.1:8000 (not {url!r}).", 2)
        self.base = url.rstrip("/") + "/sta/v1.1"
        headers = {"X-API-Key": api_key} if api_key else {}
        self.client = httpx.Client(headers=headers, timeout=timeout)

    def close(self) -> None:
        self.client.close()

    def _request(self, method: str, url: str, **options: Any) -> Any:
        import httpx

        for _attempt in range(5):
            try:
                response = self.client.request(method, url, **options)
            except httpx.HTTPError as exc:
                raise FeedError(f"Cannot reach the platform at {url}: {exc}") from exc
            if response.status_code != 429:
                break
            wait = float(response.headers.get("Retry-After", "5"))  # throttled: the platform says how long
            time.sleep(min(wait, 60))
        if response.status_code in (401, 403):
            raise FeedError(
                f"The platform refused the device ({response.status_code}): {_detail(response)} "
                "Give the device account's API key with --api-key or SMARTCITY_SIMULATE_API_KEY.",
                2,
            )
        if response.status_code >= 400:
            raise FeedError(f"{method} {url} answered {response.status_code}: {_detail(response)}")
        try:
            return response.json()
        except ValueError as exc:
            raise FeedError(f"{url} did not answer JSON: is it the platform's base URL?") from exc

    def feeds(self) -> list[Feed]:
        things: list[dict[str, Any]] = []
        url: str | None = f"{self.base}/Things"
        params: dict[str, str] | None = {  # the demo stations are picked out here, by their properties
            "$select": "id,properties",
            "$expand": "Datastreams($select=id,properties,phenomenonTime)",
            "$top": "1000",
        }
        while url:
            page = self._request("GET", url, params=params)
            if not isinstance(page, dict) or not isinstance(page.get("value"), list):
                raise FeedError(f"{self.base} does not look like a SensorThings API.")
            things += page["value"]
            url, params = page.get("@iot.nextLink"), None
        return _feeds_from_things(things)

    def send(self, items: list[tuple[int, dict[str, Any]]]) -> int:
        groups: dict[int, list[list[Any]]] = {}
        for datastream_id, observation in items:
            groups.setdefault(datastream_id, []).append([observation["phenomenonTime"], observation["result"]])
        body = [
            {"Datastream": {"@iot.id": ds}, "components": ["phenomenonTime", "result"], "dataArray": rows}
            for ds, rows in groups.items()
        ]
        links = self._request("POST", f"{self.base}/CreateObservations", json=body)
        return sum(link != "error" for link in links)


def _detail(response: Any) -> str:
    try:
        return str(response.json().get("detail") or response.text[:200])
    except (ValueError, AttributeError):
        return response.text[:200]


class MqttSender:
    """Publishes each reading with QoS 1 to ``v1.1/Datastreams(<id>)/Observations``, as a device does; the
    datastream ids come from ``directory`` (the platform's API or the database)."""

    def __init__(self, url: str, directory: Any, *, timeout: float = 10.0) -> None:
        import os

        import paho.mqtt.client as mqtt

        from smartcity.sensing.mqtt import Broker

        try:
            self.broker = Broker.from_url(url)
        except ValueError as exc:
            raise FeedError(str(exc), 2) from exc
        self.directory, self.timeout = directory, timeout
        self.connected = threading.Event()
        self.refusal: str | None = None
        self.refused = 0
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"smartcity-simulate-{os.getpid()}", protocol=mqtt.MQTTv5
        )
        if self.broker.username:
            self.client.username_pw_set(self.broker.username, self.broker.password)
        self.client.max_inflight_messages_set(100)
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        where = f"{self.broker.host}:{self.broker.port}"
        try:
            self.client.connect(self.broker.host, self.broker.port, keepalive=30)
        except OSError as exc:
            raise FeedError(f"Cannot reach the MQTT broker at {where}: {exc}") from exc
        self.client.loop_start()
        if not self.connected.wait(timeout):
            self.close()
            raise FeedError(f"The MQTT broker at {where} did not answer.")
        if self.refusal:
            self.close()
            raise FeedError(f"The MQTT broker at {where} refused the connection: {self.refusal}.", 2)

    def _on_connect(self, _client: Any, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            self.refusal = str(reason)
        self.connected.set()

    def _on_publish(self, _client: Any, _userdata: Any, _mid: int, reason: Any, _props: Any) -> None:
        if reason.is_failure:  # MQTT 5: the broker's PUBACK says "not authorized" for a foreign topic
            self.refused += 1

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def feeds(self) -> list[Feed]:
        return self.directory.feeds()

    def send(self, items: list[tuple[int, dict[str, Any]]]) -> int:
        refused_before = self.refused
        sent = [
            self.client.publish(f"v1.1/Datastreams({ds})/Observations", json.dumps(observation), qos=1)
            for ds, observation in items
        ]
        deadline = time.monotonic() + self.timeout + len(sent) / 1000
        for message in sent:
            try:
                message.wait_for_publish(max(0.1, deadline - time.monotonic()))
            except (RuntimeError, ValueError) as exc:
                raise FeedError(f"Publishing to the MQTT broker failed: {exc}") from exc
        unacknowledged = sum(not message.is_published() for message in sent)
        if unacknowledged:
            raise FeedError(f"The MQTT broker did not acknowledge {unacknowledged} of {len(sent)} readings.")
        refused = self.refused - refused_before
        if refused and refused == len(sent):
            raise FeedError(
                "The MQTT broker refused every reading: may this account publish to the demo datastreams? "
                "(`smartcity sensing broker-acl` writes the broker's access list.)",
                2,
            )
        if refused:
            LOGGER.warning("the MQTT broker refused %d of %d readings", refused, len(sent))
        return len(sent) - refused
