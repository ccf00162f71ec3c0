"""The operations centre's API and pages: who may see it and where they land, today's figures read through
the modules, the map layers without personal data, drill-down by area and by a point, and a district's
supervisor kept to the district."""

from __future__ import annotations

import pytest

from smartcity.alerts import hazards
from tests.conftest import bearer, web_login
from tests.ops.conftest import HUANGPU_POINT, PUTUO_POINT, publish_warning, raise_alarm, tiles


def test_anonymous_is_refused(client, city) -> None:
    for path in ("/api/ops/figures", "/api/ops/cases", "/api/ops/alarms", "/api/ops/events?max_events=1"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.headers["content-type"] == "application/problem+json"
    page = client.get("/ops", follow_redirects=False, headers={"Accept": "text/html"})
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/ops"


@pytest.mark.parametrize("role", ["citizen", "device"])
def test_citizens_and_devices_are_refused(client, city, role) -> None:
    for path in ("/api/ops/figures", "/api/ops/events?max_events=1", "/api/ops/cases"):
        assert client.get(path, headers=bearer(client, role)).status_code == 403, path


@pytest.mark.parametrize("role", ["supervisor", "dispatcher", "operator", "inspector", "handler", "viewer",
                                  "emergency", "traffic", "admin"])  # fmt: skip
def test_staff_see_the_figures_of_modules_they_may_read(client, city, role) -> None:
    found = tiles(client.get("/api/ops/figures", headers=bearer(client, role)))
    assert {"warnings", "traffic"} <= set(found)  # public information: every staff role
    assert ("cases" in found) == (role not in ("emergency", "traffic"))
    assert ("hotline" in found) == (role in ("supervisor", "dispatcher", "operator", "handler", "viewer", "admin"))
    assert ("alarms" in found) == (role in ("supervisor", "dispatcher", "operator", "viewer", "emergency", "admin"))


def test_staff_land_on_the_operations_centre_and_citizens_at_home(client, city) -> None:
    web_login(client, "viewer")
    client.cookies.clear()
    for who, landing in (("viewer", "/ops"), ("traffic", "/ops"), ("citizen", "/")):
        client.cookies.clear()
        token = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
        form = {"username": who, "password": "correct-horse-9", "csrf_token": token}
        response = client.post("/login", data=form, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == landing, who
    client.cookies.clear()
    token = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    asked = {"username": "viewer", "password": "correct-horse-9", "csrf_token": token, "next": "/cases"}
    assert client.post("/login", data=asked, follow_redirects=False).headers["location"] == "/cases"


def test_without_any_data_every_tile_says_so(client, city) -> None:
    found = tiles(client.get("/api/ops/figures", headers=bearer(client, "supervisor"), params={"lang": "en"}))
    for code in ("cases", "hotline", "alarms", "traffic"):
        assert found[code]["no_data"] and found[code]["notes"] == ["no data yet"], code
    assert found["warnings"]["texts"] == {"warnings.count": "0"}
    page = client.get("/ops", headers=bearer(client, "supervisor"), params={"lang": "en"})
    assert page.status_code == 200 and page.text.count("no data yet") >= 4


def test_case_figures_and_layer_in_the_cases_area(client, cases) -> None:
    supervisor = bearer(client, "supervisor")
    found = tiles(client.get("/api/ops/figures", headers=supervisor))["cases"]
    # five reported today; closed on time, closed late and cancelled are not open; one open case is overdue
    assert found["texts"] == {"cases.new": "5", "cases.overdue": "1", "cases.open": "2"}
    layer = client.get("/api/ops/cases", headers=supervisor, params={"area": "310101"})
    assert layer.headers["content-type"] == "application/geo+json"
    features = layer.json()["features"]
    assert {f["id"] for f in features} == {cases["overdue"], cases["pending"]}
    overdue = next(f for f in features if f["id"] == cases["overdue"])
    assert overdue["properties"]["overdue"] is True and overdue["properties"]["state"] == "processing"
    assert set(overdue["properties"]) == {"number", "class_code", "state", "overdue", "colour"}  # nothing personal
    assert client.get("/api/ops/cases", headers=bearer(client, "emergency")).status_code == 403


def test_a_district_supervisor_sees_only_the_district(client, cases, stations) -> None:
    raise_alarm(client, stations["人民广场水位站"], "人民广场 水位超警戒")
    raise_alarm(client, stations["武宁路桥站"], "武宁路桥 水位超警戒")
    city = tiles(client.get("/api/ops/figures", headers=bearer(client, "supervisor")))
    assert city["alarms"]["texts"]["alarms.unacknowledged"] == "2"
    district = bearer(client, "huangpu_supervisor")
    answer = client.get("/api/ops/figures", headers=district)
    assert answer.json()["area"]["code"] == "310101"  # their own area by default
    assert [p["code"] for p in answer.json()["area"]["trail"]] == ["310101"]  # the city is not theirs to open
    own = tiles(answer)
    assert own["alarms"]["texts"]["alarms.unacknowledged"] == "1"
    assert own["cases"]["texts"]["cases.new"] == "5"
    alarms = client.get("/api/ops/alarms", headers=district).json()["features"]
    assert [f["properties"]["title"] for f in alarms] == ["人民广场 水位超警戒"]
    for outside in ("310000", "310104", "310104001"):
        refused = client.get("/api/ops/figures", headers=district, params={"area": outside})
        assert refused.status_code == 403 and refused.json()["type"].endswith("/outside-your-area"), outside
        assert client.get("/api/ops/events", headers=district, params={"area": outside}).status_code == 403
    assert client.get("/ops", headers=district, params={"area": "310104"}).status_code == 403


def test_warnings_concern_the_districts_they_name(client, city, huangpu) -> None:
    publish_warning(client, district="310101")
    supervisor = bearer(client, "supervisor")
    found = tiles(client.get("/api/ops/figures", headers=supervisor, params={"area": "310101", "lang": "en"}))
    assert found["warnings"]["texts"] == {"warnings.count": "1"}
    assert found["warnings"]["notes"] == ["Yellow rainstorm warning for Huangpu"]
    assert found["warnings"]["colour"].startswith("#")
    lists = client.get("/ops/lists", headers=supervisor, params={"area": "310101", "lang": "en"})
    assert "Yellow rainstorm warning for Huangpu" in lists.text
    publish_warning(client, district="310000", colour="orange")  # city-wide: it concerns every district too
    district = tiles(client.get("/api/ops/figures", headers=bearer(client, "huangpu_supervisor")))
    assert district["warnings"]["texts"] == {"warnings.count": "2"}
    assert district["warnings"]["colour"] == hazards.colour_hex("orange")  # the most severe one's colour


def test_drill_down_from_the_city_to_a_grid(client, cases) -> None:
    supervisor = bearer(client, "supervisor")
    city = client.get("/api/ops/figures", headers=supervisor).json()["area"]
    assert city["level"] == "city" and "310101" in [c["code"] for c in city["children"]]
    district = client.get("/api/ops/figures", headers=supervisor, params={"area": "310101"}).json()["area"]
    assert district["level"] == "district" and district["children"]
    assert all(c["level"] == "street" for c in district["children"])
    lon, lat = HUANGPU_POINT
    street = client.get("/api/ops/locate", headers=supervisor, params={"area": "310101", "lon": lon, "lat": lat})
    assert street.status_code == 200 and street.json()["level"] == "street"
    code = street.json()["code"]
    at_street = client.get("/api/ops/figures", headers=supervisor, params={"area": code}).json()["area"]
    assert [p["code"] for p in at_street["trail"]] == ["310000", "310101", code]
    busy = at_street["children"]
    assert busy and busy[0]["level"] == "grid" and busy[0]["open_cases"] == 2  # the open cases' grid
    grid = client.get("/api/ops/locate", headers=supervisor, params={"area": code, "lon": lon, "lat": lat}).json()
    assert grid["code"] == busy[0]["code"] and grid["href"] == f"/ops?area={grid['code']}"
    at_grid = tiles(client.get("/api/ops/figures", headers=supervisor, params={"area": grid["code"]}))
    assert at_grid["cases"]["texts"]["cases.open"] == "2"
    lon, lat = PUTUO_POINT
    outside = client.get("/api/ops/locate", headers=supervisor, params={"area": "310101", "lon": lon, "lat": lat})
    assert outside.status_code == 422
    assert client.get("/api/ops/figures", headers=supervisor, params={"area": "31010"}).status_code == 422
    assert client.get("/api/ops/figures", headers=supervisor, params={"area": "310101999"}).status_code == 404


def test_the_pages_say_the_figures_in_text_and_link_each_tile(client, cases) -> None:
    web_login(client, "supervisor")
    page = client.get("/ops", params={"area": "310101"})
    assert page.status_code == 200
    text = page.text
    assert 'href="/cases"' in text and 'href="/warnings"' in text and 'href="/traffic"' in text
    assert 'data-figure="cases.new">5<' in text
    assert 'aria-live="polite"' in text and 'id="ops-pause"' in text
    assert 'aria-current="location">黄浦区<' in text
    assert 'aria-label="主导航"' in text
    assert cases["overdue"] in text  # the overdue list beside the map
    wall = client.get("/ops/wall", params={"area": "310101"})
    assert wall.status_code == 200 and 'class="ops-wall"' in wall.text
    assert 'aria-label="主导航"' not in wall.text  # no navigation chrome on the wall screen
    assert client.get("/ops", params={"area": "310101", "wall": "true"}).text.count('class="ops-wall"') == 1
    english = client.get("/ops", params={"lang": "en"})
    assert "Operations centre: Shanghai" in english.text and "Today's key figures" in english.text
