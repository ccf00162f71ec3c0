"""OGC API – Features: the standard's resources, paging, bbox and filters; and OWSLib as a client."""

from __future__ import annotations

import pytest
import shapely

COLLECTIONS = {"districts", "streets", "communities", "supervision-grids", "unit-grids"}


def test_landing_page_and_conformance(client) -> None:
    landing = client.get("/ogcapi").json()
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= rels
    conforms = client.get("/ogcapi/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conforms


def test_collections_describe_their_extent(client, gridded) -> None:
    body = client.get("/ogcapi/collections").json()
    assert {c["id"] for c in body["collections"]} >= COLLECTIONS
    grids = client.get("/ogcapi/collections/unit-grids").json()
    west, south, east, north = grids["extent"]["spatial"]["bbox"][0]
    assert 121.4 < west < east < 121.6 and 31.1 < south < north < 31.3
    assert any(link["rel"] == "items" for link in grids["links"])


def test_items_page_with_next_links(client, gridded) -> None:
    first = client.get("/ogcapi/collections/unit-grids/items", params={"limit": 100})
    assert first.status_code == 200 and first.headers["content-type"] == "application/geo+json"
    page = first.json()
    assert page["type"] == "FeatureCollection" and page["numberReturned"] == 100
    assert page["numberMatched"] > 1000
    next_link = next(link["href"] for link in page["links"] if link["rel"] == "next")
    second = client.get(next_link.replace("http://testserver", "")).json()
    assert second["features"][0]["id"] > page["features"][-1]["id"]
    assert any(link["rel"] == "prev" for link in second["links"])
    feature = page["features"][0]
    assert len(feature["id"]) == 15 and feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert feature["properties"]["community_code"] == feature["id"][:12]


def test_bbox_returns_exactly_the_intersecting_features(client, gridded) -> None:
    box = (121.480, 31.228, 121.490, 31.236)
    body = client.get(
        "/ogcapi/collections/unit-grids/items", params={"bbox": ",".join(map(str, box)), "limit": 10_000}
    ).json()
    query = shapely.box(*box)
    shapes = [shapely.geometry.shape(f["geometry"]) for f in body["features"]]
    assert body["numberMatched"] == len(shapes) > 50
    assert all(s.intersects(query) for s in shapes)
    everything = client.get("/ogcapi/collections/unit-grids/items", params={"limit": 10_000}).json()
    outside = [f for f in everything["features"] if f["id"] not in {g["id"] for g in body["features"]}]
    assert not any(shapely.geometry.shape(f["geometry"]).intersects(query) for f in outside)


def test_property_filters_and_item_by_id(client, gridded) -> None:
    streets = client.get("/ogcapi/collections/streets/items", params={"synthetic": "true", "limit": 50}).json()
    assert streets["numberMatched"] >= 1 and all(f["properties"]["synthetic"] for f in streets["features"])
    community = client.get("/ogcapi/collections/communities/items").json()["features"][0]["id"]
    grids = client.get(
        "/ogcapi/collections/unit-grids/items", params={"community_code": community, "limit": 1000}
    ).json()
    assert grids["numberMatched"] == len(grids["features"]) > 0
    assert all(f["id"].startswith(community) for f in grids["features"])
    one = client.get(f"/ogcapi/collections/unit-grids/items/{grids['features'][0]['id']}").json()
    assert one["type"] == "Feature" and {link["rel"] for link in one["links"]} == {"self", "collection"}
    district = client.get("/ogcapi/collections/districts/items/310101").json()
    assert district["properties"]["name"] == "黄浦区" and district["properties"]["synthetic"] is False


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "121.5,31,121.4,31.1"}, "bbox"),
        ({"bbox": "a,b,c,d"}, "bbox"),
        ({"limit": "0"}, "limit"),
        ({"limit": "10001"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"colour": "red"}, "colour"),
        ({"synthetic": "maybe"}, "synthetic"),
    ],
)
def test_bad_parameters_are_400(client, params, field) -> None:
    response = client.get("/ogcapi/collections/streets/items", params=params)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field


def test_unknown_collection_and_feature_are_404(client, gridded) -> None:
    assert client.get("/ogcapi/collections/rivers").status_code == 404
    assert client.get("/ogcapi/collections/unit-grids/items/000000000000000").status_code == 404


def test_owslib_reads_the_service(live_server, gridded) -> None:
    from owslib.ogcapi.features import Features

    service = Features(f"{live_server}/ogcapi")
    assert {c["id"] for c in service.collections()["collections"]} >= COLLECTIONS
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in service.conformance()["conformsTo"]
    page = service.collection_items("districts", limit=5)
    assert page["features"][0]["id"] == "310101"
    grids = service.collection_items("unit-grids", bbox=[121.48, 31.228, 121.49, 31.236], limit=500)
    assert grids["numberReturned"] == len(grids["features"]) > 50
    assert service.collection_item("unit-grids", grids["features"][0]["id"])["id"] == grids["features"][0]["id"]
