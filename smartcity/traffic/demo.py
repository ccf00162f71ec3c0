"""The demo city's traffic: the synthetic road network (labelled synthetic), its road detectors and car parks
taken from the sensing hub, 24 h of past cycles, and live probe vehicles every cycle — all generated here and
sent through the same services a city's real feeds use."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from smartcity.core.db import Database, utcnow
from smartcity.traffic import parking, service, synthetic
from smartcity.traffic.schemas import ProbePoint

SOURCE = "synthetic demo network (smartcity.traffic.synthetic; not Shanghai's real roads)"
LOCAL_OFFSET = timedelta(hours=8)  # Asia/Shanghai, no daylight saving: the synthetic day runs on local time
DEMO_VEHICLES = 400  # probe cars driving each live cycle


def ensure_network(session: Session) -> dict[str, int]:
    """Import the synthetic network once, attach the demo road detectors and register the car parks."""
    if service.current_network(session).segments:
        return {"added": 0, "detectors": 0, "car_parks": 0}
    report = service.import_network(session, synthetic.synthetic_network(), source=SOURCE, synthetic=True)
    detectors = service.link_detectors(session)
    car_parks = parking.sync_from_sensing(session)
    return {"added": report["added"], "detectors": detectors, "car_parks": car_parks}


def _minute_of_day(end: datetime) -> float:
    local = end + LOCAL_OFFSET
    return local.hour * 60 + local.minute


def _day(end: datetime) -> int:
    return int((end + LOCAL_OFFSET).timestamp() // 86_400)


def backfill(database: Database, hours: float = 24) -> Iterator[int]:
    """Past cycles from synthetic speeds (yields after each, for a progress bar); cycles already stored stay."""
    last = service.cycle_end(utcnow()) - service.CYCLE
    count = int(hours * 60 // 5)
    for k in range(count, 0, -1):
        end = last - service.CYCLE * (k - 1)
        with database.session(actor="demo") as session:
            if not service.cycle_times(session, end - timedelta(seconds=1), end):
                net = service.current_network(session)
                speeds = synthetic.synthetic_speeds(net.arrays, _minute_of_day(end), day=_day(end))
                service.record_cycle(session, end, speeds)
        yield 1


def probe_points(session: Session, start: datetime, seconds: float = 300.0) -> list[ProbePoint]:
    """Synthetic probe cars driving the network at this time of day's synthetic speeds."""
    net = service.current_network(session)
    end = start + timedelta(seconds=seconds)
    speeds = synthetic.synthetic_speeds(net.arrays, _minute_of_day(end), day=_day(end), missing_share=0.0)
    probes = synthetic.synthetic_probes(
        net.segments, speeds, vehicles=DEMO_VEHICLES, duration_s=seconds, start_s=start.timestamp(),
        seed=int(start.timestamp()) % 100_000,
    )  # fmt: skip
    return [
        ProbePoint(
            vehicle=f"demo-taxi-{int(v)}",
            lon=float(lon),
            lat=float(lat),
            time=datetime.fromtimestamp(float(t), start.tzinfo),
            heading=float(h) % 360,
            speed_kmh=min(float(s) * 3.6, 250.0),
        )
        for v, t, lon, lat, h, s in zip(
            probes.vehicle, probes.t_s, probes.lon, probes.lat, probes.heading_deg, probes.speed_ms, strict=True
        )
    ]
