"""GCJ-02 conversion and the metric projection."""

from __future__ import annotations

import numpy as np
import pytest

from smartcity.places import crs

# The People's Square in Shanghai: a WGS-84 point and its GCJ-02 form as computed by the published
# closed form (the shift near Shanghai is about 0.0045° east and 0.0020° south, some 450 m and 220 m).
PEOPLES_SQUARE_WGS = (121.4692, 31.2304)


def test_the_shift_near_shanghai_has_the_known_size() -> None:
    lon, lat = crs.wgs84_to_gcj02(*PEOPLES_SQUARE_WGS)
    d_lon, d_lat = lon - PEOPLES_SQUARE_WGS[0], lat - PEOPLES_SQUARE_WGS[1]
    assert 0.0040 < d_lon < 0.0050
    assert -0.0025 < d_lat < -0.0015


def test_round_trip_is_exact_to_a_millimetre() -> None:
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(120.8, 122.2, 10_000), rng.uniform(30.6, 31.9, 10_000)
    back_lon, back_lat = crs.gcj02_to_wgs84(*crs.wgs84_to_gcj02(lon, lat))
    assert np.max(np.abs(back_lon - lon)) < 1e-8 and np.max(np.abs(back_lat - lat)) < 1e-8


def test_outside_china_nothing_moves() -> None:
    lon, lat = crs.wgs84_to_gcj02([2.35], [48.85])  # Paris
    assert (lon[0], lat[0]) == (2.35, 48.85)
    assert not crs.in_china([2.35], [48.85])[0]


def test_metric_projection_measures_metres() -> None:
    x0, y0 = crs.to_metric(121.47, 31.23)
    x1, y1 = crs.to_metric(121.47, 31.23 + 1 / 111.32)  # ~1 km north
    assert abs(float(np.hypot(x1 - x0, y1 - y0)) - 1000) < 15
    lon, lat = crs.from_metric(x0, y0)
    assert float(lon) == pytest.approx(121.47, abs=1e-9) and float(lat) == pytest.approx(31.23, abs=1e-9)
