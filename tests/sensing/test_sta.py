"""SensorThings API v1.1: deep insert, links and navigation, the query options and $filter grammar,
dataArray both ways, integrity on create and delete, devices bound to their Things."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from smartcity.security import service as security
from smartcity.sensing.models import Datastream
from tests.conftest import bearer

STA = "/sta/v1.1"
NOW = datetime.now(UTC).replace(microsecond=0)


def _station(name: str, lon: float, lat: float, river: str = "苏州河") -> dict:
    return {
        "name": name,
        "description": "水质自动监测站",
        "properties": {"river": river, "district": "310101"},
        "Locations": [
            {
                "name": f"{name}位置",
                "description": "站点位置",
                "encodingType": "application/geo+json",
                "location": {"type": "Point", "coordinates": [lon, lat]},
            }
        ],
        "Datastreams": [
            {
                "name": f"{name} 水位",
                "description": "水位",
                "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                "unitOfMeasurement": {"name": "metre", "symbol": "m", "definition": "http://qudt.org/vocab/unit/M"},
                "Sensor": {"name": "压力式水位计", "description": "-", "encodingType": "text/plain", "metadata": "-"},
                "ObservedProperty": {
                    "name": "水位",
                    "definition": "http://vocab.example/water-level",
                    "description": "-",
                },
            }
        ],
    }


def _observe(client, datastream: int, value, minutes_ago: int = 0, who: str = "supervisor"):
    moment = (NOW - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z")
    return client.post(
        f"{STA}/Datastreams({datastream})/Observations",
        json={"phenomenonTime": moment, "result": value},
        headers=bearer(client, who),
    )


def test_deep_insert_links_and_navigation(client, stations) -> None:
    thing = client.get(f"{STA}/Things", params={"$filter": "name eq '外白渡桥站'"}).json()["value"][0]
    link = thing["@iot.selfLink"]
    assert link.endswith(f"/Things({thing['@iot.id']})")
    assert thing["Datastreams@iot.navigationLink"] == f"{link}/Datastreams"
    assert thing["properties"] == {"river": "苏州河", "district": "310101"}
    history = client.get(f"{STA}/Things({thing['@iot.id']})/HistoricalLocations").json()["value"]
    assert len(history) == 1  # placing the Thing is its first historical location
    sensor = client.get(f"{STA}/Datastreams({stations['外白渡桥站']})/Sensor").json()
    assert sensor["name"] == "压力式水位计"
    assert client.get(f"{STA}/Things({thing['@iot.id']})/name").json() == {"name": "外白渡桥站"}
    assert client.get(f"{STA}/Things({thing['@iot.id']})/name/$value").text == "外白渡桥站"
    refs = client.get(f"{STA}/Things/$ref").json()["value"]
    assert len(refs) == 2 and set(refs[0]) == {"@iot.selfLink"}
    root = client.get(STA).json()
    assert {v["name"] for v in root["value"]} >= {"Things", "Observations", "FeaturesOfInterest"}


def test_observations_make_their_feature_and_grow_the_datastream(client, stations) -> None:
    ds = stations["外白渡桥站"]
    for minutes, level in ((30, 3.1), (20, 3.4), (10, 3.9)):
        assert _observe(client, ds, level, minutes).status_code == 201
    observation = client.get(f"{STA}/Datastreams({ds})/Observations", params={"$top": "1"}).json()["value"][0]
    foi = client.get(f"{STA}/Observations({observation['@iot.id']})/FeatureOfInterest").json()
    assert foi["feature"] == {"type": "Point", "coordinates": [121.4906, 31.2452]}  # from the Thing's Location
    datastream = client.get(f"{STA}/Datastreams({ds})").json()
    start, end = datastream["phenomenonTime"].split("/")
    assert start < end and end.startswith((NOW - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M"))
    assert len(client.get(f"{STA}/FeaturesOfInterest").json()["value"]) == 1  # made once, reused


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("result gt 3.2", [3.4, 3.9, 9.9]),
        ("result ge 3.1 and result le 3.4", [3.1, 3.4]),
        ("not (result lt 3.5)", [3.9, 9.9]),
        ("result mul 10 eq 39", [3.9]),
        ("result sub 3 gt 0.5", [3.9, 9.9]),
        ("Datastream/Thing/name eq '外白渡桥站'", [3.1, 3.4, 3.9]),
        ("Datastream/Thing/properties/river eq '苏州河' and result lt 3.2", [3.1]),
        ("substringof('白渡', Datastream/Thing/name) and round(result) eq 4", [3.9]),
        (f"year(phenomenonTime) eq {NOW.year} and result gt 3.8", [3.9, 9.9]),
        (f"phenomenonTime lt {(NOW - timedelta(minutes=15)).isoformat().replace('+00:00', 'Z')}", [3.1, 3.4]),
        ("startswith(Datastream/name, '外白') and floor(result) eq 3 and ceiling(result) eq 4", [3.1, 3.4, 3.9]),
        ("FeatureOfInterest/name eq '外白渡桥站位置' and result eq 3.4", [3.4]),
    ],
)
def test_filter_grammar(client, stations, expression, expected) -> None:
    ds = stations["外白渡桥站"]
    for minutes, level in ((30, 3.1), (20, 3.4), (10, 3.9)):
        _observe(client, ds, level, minutes)
    _observe(client, stations["武宁路桥站"], 9.9, 5)
    response = client.get(f"{STA}/Observations", params={"$filter": expression, "$orderby": "result"})
    assert response.status_code == 200, response.text
    assert [o["result"] for o in response.json()["value"]] == expected


def test_spatial_and_text_filters_on_things_and_locations(client, stations) -> None:
    box = "geography'POLYGON((121.46 31.23, 121.50 31.23, 121.50 31.26, 121.46 31.26, 121.46 31.23))'"
    inside = client.get(f"{STA}/Locations", params={"$filter": f"st_within(location, {box})"}).json()["value"]
    assert [loc["name"] for loc in inside] == ["外白渡桥站位置"]
    near = client.get(
        f"{STA}/Locations", params={"$filter": "geo.distance(location, geography'POINT(121.43 31.24)') lt 0.01"}
    ).json()["value"]
    assert [loc["name"] for loc in near] == ["武宁路桥站位置"]
    upper = client.get(
        f"{STA}/Things", params={"$filter": "tolower(description) eq '水质自动监测站' and length(name) eq 5"}
    )
    assert len(upper.json()["value"]) == 2


@pytest.mark.parametrize(
    ("expression", "points_at"),
    [
        ("result gt", "ends too early"),
        ("result gt 3 and", "ends too early"),
        ("(result gt 3", "')' is missing"),
        ("result >= 3", "unexpected character '>'"),
        ("frobnicate(result) eq 1", "unknown function"),
        ("result gt 3 result", "unexpected 'result'"),
        ("nosuchproperty eq 1", "no property 'nosuchproperty'"),
        ("substringof('a')", "takes 2 arguments"),
        ("result add 1", "true or false"),
    ],
)
def test_malformed_filters_get_a_400_that_points_at_the_error(client, stations, expression, points_at) -> None:
    response = client.get(f"{STA}/Observations", params={"$filter": expression})
    assert response.status_code == 400, response.text
    body = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert points_at in body["detail"] and body["errors"][0]["field"] == "$filter"


def test_filter_through_collections_means_some_related_entity(client, stations) -> None:
    _observe(client, stations["外白渡桥站"], 4.6, 10)
    _observe(client, stations["武宁路桥站"], 2.2, 10)

    def names(path: str, expression: str) -> list[str]:
        response = client.get(f"{STA}/{path}", params={"$filter": expression, "$orderby": "name"})
        assert response.status_code == 200, response.text
        return [entity["name"] for entity in response.json()["value"]]

    assert names("Things", "Datastreams/Observations/result gt 4") == ["外白渡桥站"]
    assert names("Things", "not (Datastreams/Observations/result gt 4)") == ["武宁路桥站"]
    assert names("Things", "Datastreams/Observations/result add 1 lt 4") == ["武宁路桥站"]
    assert names("Things", "startswith(Datastreams/name, '武宁')") == ["武宁路桥站"]
    assert names("Things", "Locations/name eq '外白渡桥站位置'") == ["外白渡桥站"]
    assert names("ObservedProperties", "Datastreams/Thing/name eq '外白渡桥站'") != []
    assert names("Things", "Datastreams/name eq 'nothing'") == []
    response = client.get(f"{STA}/Things", params={"$orderby": "Datastreams/name"})
    assert response.status_code == 400 and "collection" in response.json()["detail"]


def test_json_members_compare_with_booleans_and_numbers(client, stations) -> None:
    thing = client.get(f"{STA}/Datastreams({stations['外白渡桥站']})/Thing").json()["@iot.id"]
    patched = client.patch(
        f"{STA}/Things({thing})",
        json={"properties": {"synthetic": True, "depth": 4.5, "river": "苏州河"}},
        headers=bearer(client, "supervisor"),
    )
    assert patched.status_code == 200, patched.text
    for expression, expected in (
        ("properties/synthetic eq true", ["外白渡桥站"]),
        ("properties/synthetic ne true", []),  # the other station has no such member: null is not "ne"
        ("properties/depth gt 4", ["外白渡桥站"]),
        ("properties/river eq '苏州河'", ["外白渡桥站", "武宁路桥站"]),
        ("properties/river gt 3", []),  # a text member is no number: no match, not an error
        ("properties/depth add 1 gt 5", ["外白渡桥站"]),
    ):
        response = client.get(f"{STA}/Things", params={"$filter": expression, "$orderby": "name"})
        assert response.status_code == 200, (expression, response.text)
        assert sorted(t["name"] for t in response.json()["value"]) == sorted(expected), expression


def test_filter_text_never_becomes_sql(client, stations) -> None:
    evil = "name eq 'x'' OR 1=1 --'"
    response = client.get(f"{STA}/Things", params={"$filter": evil})
    assert response.status_code == 200 and response.json()["value"] == []


def test_paging_count_select_and_nested_expand(client, stations) -> None:
    ds = stations["外白渡桥站"]
    for minutes in range(5):
        _observe(client, ds, float(minutes), minutes)
    first = client.get(f"{STA}/Datastreams({ds})/Observations", params={"$top": "2", "$count": "true"}).json()
    assert first["@iot.count"] == 5 and len(first["value"]) == 2 and "$skip=2" in first["@iot.nextLink"]
    selected = client.get(f"{STA}/Things", params={"$select": "name"}).json()["value"][0]
    assert set(selected) == {"name"}
    expanded = client.get(
        f"{STA}/Things",
        params={
            "$filter": "name eq '外白渡桥站'",
            "$expand": "Datastreams($select=name;"
            "$expand=Observations($orderby=phenomenonTime desc;$top=1;$count=true)),Locations",
        },
    ).json()["value"][0]
    (datastream,) = expanded["Datastreams"]
    assert set(datastream) >= {"name", "Observations", "Observations@iot.count"}
    assert datastream["Observations@iot.count"] == 5 and datastream["Observations"][0]["result"] == 0.0
    assert expanded["Locations"][0]["location"]["type"] == "Point"
    chained = client.get(f"{STA}/Datastreams({ds})", params={"$expand": "Thing/Locations"}).json()
    assert chained["Thing"]["Locations"][0]["name"] == "外白渡桥站位置"
    assert client.get(f"{STA}/Things", params={"$expand": "Nothing"}).status_code == 400
    assert client.get(f"{STA}/Things", params={"$top": "-1"}).status_code == 400
    assert client.get(f"{STA}/Things", params={"$frobnicate": "1"}).status_code == 400


def test_data_array_out_and_create_observations_in(client, stations) -> None:
    a, b = stations["外白渡桥站"], stations["武宁路桥站"]
    stamp = lambda m: (NOW - timedelta(minutes=m)).isoformat().replace("+00:00", "Z")  # noqa: E731
    future = (NOW + timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    body = [
        {
            "Datastream": {"@iot.id": a},
            "components": ["phenomenonTime", "result"],
            "dataArray": [[stamp(3), 1.5], [stamp(2), 1.6]],
        },
        {
            "Datastream": {"@iot.id": b},
            "components": ["phenomenonTime", "result"],
            "dataArray": [[stamp(1), 2.5], [future, 9.9], ["not a time", 1]],
        },
    ]
    response = client.post(f"{STA}/CreateObservations", json=body, headers=bearer(client, "supervisor"))
    assert response.status_code == 201, response.text
    links = response.json()
    assert [link == "error" for link in links] == [False, False, False, True, True]  # per row, as the spec says
    out = client.get(
        f"{STA}/Observations",
        params={"$resultFormat": "dataArray", "$select": "id,phenomenonTime,result", "$orderby": "phenomenonTime"},
    ).json()["value"]
    by_stream = {group["Datastream@iot.navigationLink"].rsplit("(", 1)[1].rstrip(")"): group for group in out}
    assert [row[2] for row in by_stream[str(a)]["dataArray"]] == [1.5, 1.6]
    assert by_stream[str(b)]["components"] == ["id", "phenomenonTime", "result"]
    unknown = client.post(
        f"{STA}/CreateObservations",
        json=[{"Datastream": {"@iot.id": 999}, "components": ["result"], "dataArray": [[1]]}],
        headers=bearer(client, "supervisor"),
    )
    assert unknown.status_code == 400 and "999" in unknown.json()["detail"]


def test_integrity_on_create_and_delete(client, stations) -> None:
    lonely = {"name": "x", "description": "x", "observationType": "x", "unitOfMeasurement": {"name": "m"}}
    missing = client.post(
        f"{STA}/Datastreams", json={**lonely, "Thing": {"@iot.id": 1}}, headers=bearer(client, "supervisor")
    )
    assert missing.status_code == 400 and "Sensor" in missing.json()["detail"]
    broken = client.post(
        f"{STA}/Datastreams",
        json={**lonely, "Thing": {"@iot.id": 999}, "Sensor": {"@iot.id": 1}, "ObservedProperty": {"@iot.id": 1}},
        headers=bearer(client, "supervisor"),
    )
    assert broken.status_code == 400 and "999" in broken.json()["detail"]
    assert (
        client.post(
            f"{STA}/Things", json={"name": "x", "colour": "red"}, headers=bearer(client, "supervisor")
        ).status_code
        == 400
    )
    ds = stations["外白渡桥站"]
    assert _observe(client, ds, "high", 1).status_code == 201  # a text result is kept as text
    assert _observe(client, ds, 1.0, -120).status_code == 400  # two hours ahead: refused
    thing_id = client.get(f"{STA}/Datastreams({ds})/Thing").json()["@iot.id"]
    assert client.delete(f"{STA}/Things({thing_id})", headers=bearer(client, "supervisor")).status_code == 200
    assert client.get(f"{STA}/Datastreams({ds})").status_code == 404  # its datastreams went with it
    assert client.get(f"{STA}/Observations").json()["value"] == []
    assert len(client.get(f"{STA}/Sensors").json()["value"]) == 2  # sensors are shared, they stay
    patched = client.patch(
        f"{STA}/Things({thing_id + 1})", json={"description": "改"}, headers=bearer(client, "supervisor")
    )
    assert patched.status_code == 200 and patched.json()["description"] == "改"


def test_devices_write_only_their_own_things(client, database, stations) -> None:
    from smartcity.sensing import service

    with database.session() as s:
        device = security.user_by_name(s, "device")
        key, _ = security.create_api_key(s, name="gauge", user=device)
        thing_id = s.get(Datastream, stations["外白渡桥站"]).thing_id
        service.bind_device(s, thing_id, "device")
    basic = {"Authorization": "Basic " + __import__("base64").b64encode(f"device:{key}".encode()).decode()}
    ok = client.post(f"{STA}/Datastreams({stations['外白渡桥站']})/Observations", json={"result": 1.0}, headers=basic)
    assert ok.status_code == 201, ok.text
    other = client.post(
        f"{STA}/Datastreams({stations['武宁路桥站']})/Observations", json={"result": 1.0}, headers=basic
    )
    assert other.status_code == 403 and "not bound" in other.json()["detail"]
    assert client.post(f"{STA}/Things", json={"name": "mine"}, headers=basic).status_code == 403
    wrong = {"Authorization": "Basic " + __import__("base64").b64encode(b"device:correct-horse-9").decode()}
    assert client.post(f"{STA}/Things", json={"name": "x"}, headers=wrong).status_code == 401  # passwords are not keys


def test_one_reading_per_datastream_and_time(client, stations) -> None:
    ds = stations["外白渡桥站"]
    assert _observe(client, ds, 3.0, 7).status_code == 201
    again = _observe(client, ds, 3.0, 7)  # a device's retry
    assert again.status_code == 409 and again.json()["type"].endswith("duplicate-observation")
    stamp = (NOW - timedelta(minutes=7)).isoformat().replace("+00:00", "Z")
    fresh = (NOW - timedelta(minutes=6)).isoformat().replace("+00:00", "Z")
    body = [{"Datastream": {"@iot.id": ds}, "components": ["phenomenonTime", "result"],
             "dataArray": [[stamp, 3.0], [fresh, 3.1], [fresh, 3.2]]}]  # fmt: skip
    links = client.post(f"{STA}/CreateObservations", json=body, headers=bearer(client, "supervisor")).json()
    assert [link == "error" for link in links] == [True, False, True]  # stored before; new; repeated in the batch
    values = client.get(f"{STA}/Datastreams({ds})/Observations", params={"$orderby": "phenomenonTime"}).json()
    assert [o["result"] for o in values["value"]] == [3.0, 3.1]


def test_a_flooding_device_is_throttled_and_the_others_go_on(client, app, database, stations) -> None:
    import base64

    from smartcity.sensing import service
    from tests.conftest import make_user

    app.state.settings = app.state.settings.model_copy(update={"sta_device_writes_per_minute": 2})
    headers = {}
    with database.session() as s:
        make_user(s, username="gauge2", role="device", department=None)
        for name, station in (("device", "外白渡桥站"), ("gauge2", "武宁路桥站")):
            key, _ = security.create_api_key(s, name=name, user=security.user_by_name(s, name))
            service.bind_device(s, s.get(Datastream, stations[station]).thing_id, name)
            headers[name] = {"Authorization": "Basic " + base64.b64encode(f"{name}:{key}".encode()).decode()}

    def send(name: str, station: str):  # type: ignore[no-untyped-def]
        return client.post(
            f"{STA}/Datastreams({stations[station]})/Observations", json={"result": 1.0}, headers=headers[name]
        )

    assert [send("device", "外白渡桥站").status_code for _ in range(3)] == [201, 201, 429]
    refused = send("device", "外白渡桥站")
    assert int(refused.headers["Retry-After"]) > 0 and "device-throttled" in refused.json()["type"]
    assert send("gauge2", "武宁路桥站").status_code == 201  # the others go on


def test_observations_read_the_same_by_the_fast_path_and_the_general_one(client, stations) -> None:
    """A page of Observations is written by a path of its own (thousands at a time); asking for every
    property with $select takes the general path: both must say the same."""
    manager = bearer(client, "supervisor")
    ds = stations["外白渡桥站"]
    stamp = lambda m: (NOW - timedelta(minutes=m)).isoformat().replace("+00:00", "Z")  # noqa: E731
    bodies = [
        {"phenomenonTime": stamp(30), "result": 3},
        {"phenomenonTime": f"{stamp(25)}/{stamp(20)}", "result": 2.75, "resultTime": stamp(19),
         "validTime": f"{stamp(20)}/{stamp(0)}", "resultQuality": {"flag": "ok"}, "parameters": {"n": 1}},
        {"phenomenonTime": stamp(10), "result": "offline"},
        {"phenomenonTime": stamp(5), "result": {"level": 3.1}},
        {"phenomenonTime": stamp(4), "result": False},
    ]  # fmt: skip
    for body in bodies:
        assert client.post(f"{STA}/Datastreams({ds})/Observations", json=body, headers=manager).status_code == 201
    everything = "id,@iot.selfLink,phenomenonTime,resultTime,result,resultQuality,validTime,parameters," + (
        "Datastream,MultiDatastream,FeatureOfInterest"
    )
    fast = client.get(f"{STA}/Observations", params={"$orderby": "phenomenonTime"}).json()["value"]
    general = client.get(f"{STA}/Observations", params={"$orderby": "phenomenonTime", "$select": everything}).json()
    assert fast == general["value"] and len(fast) == 5
    assert [client.get(o["@iot.selfLink"]).json() for o in fast] == fast  # one at a time, the same again
    assert fast[1]["phenomenonTime"].count("/") == 1 and fast[1]["validTime"].endswith("Z")
