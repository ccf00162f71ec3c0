"""Road segments from GeoJSON: parsed, defaulted, measured, refused whole with every problem named."""

from __future__ import annotations

from typing import Any

import pytest

from smartcity.traffic.network import (
    DEFAULT_FREE_FLOW_KMH,
    NetworkError,
    Segment,
    junction_nodes,
    pack,
    parse_feature_collection,
    to_feature_collection,
)

# one hundredth of a degree along the equator of the WGS-84 ellipsoid: 6378137 m × π/180 × 0.01
EQUATOR_CENTIDEGREE_M = 1113.1949079327356


def line(coords: list[list[float]], **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": "LineString", "coordinates": coords}, "properties": props}


def collection(*features: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def test_a_feature_becomes_a_segment_with_defaults_and_geodesic_length() -> None:
    [seg] = parse_feature_collection(collection(line([[0.0, 0.0], [0.01, 0.0]], id="a", road_class="arterial")))
    assert seg.id == "a"
    assert seg.name == ""
    assert seg.direction == "both"
    assert seg.free_flow_kmh == DEFAULT_FREE_FLOW_KMH["arterial"] == 55.0
    assert seg.length_m == pytest.approx(EQUATOR_CENTIDEGREE_M, abs=1e-3)
    assert seg.geometry == ((0.0, 0.0), (0.01, 0.0))


def test_given_values_are_kept_and_an_integer_id_is_text() -> None:
    feature = line(
        [[121.47, 31.23, 4.0], [121.48, 31.23]],
        id=17,
        name="Yan'an Road",
        road_class="expressway",
        direction="forward",
        free_flow_kmh=90,
        length_m=960.5,
    )
    [seg] = parse_feature_collection(collection(feature))
    assert (seg.id, seg.name, seg.direction, seg.free_flow_kmh, seg.length_m) == (
        "17",
        "Yan'an Road",
        "forward",
        90.0,
        960.5,
    )
    assert seg.geometry[0] == (121.47, 31.23)  # the height is dropped


def test_a_repeated_position_is_harmless() -> None:
    [seg] = parse_feature_collection(
        collection(line([[0.0, 0.0], [0.0, 0.0], [0.01, 0.0]], id="a", road_class="branch"))
    )
    assert seg.length_m == pytest.approx(EQUATOR_CENTIDEGREE_M, abs=1e-3)


def test_bad_collection_lists_every_problem_and_returns_nothing() -> None:
    good = [[121.47, 31.23], [121.48, 31.23]]
    doc = collection(
        line(good, id="a", road_class="arterial"),  # 0: fine
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [121.47, 31.23]},
            "properties": {"id": "b", "road_class": "arterial"},
        },
        line([[121.47, 31.23]], id="c", road_class="arterial"),  # 2: one position
        line([[121.47, 31.23], [121.48, 95.0]], id="d", road_class="arterial"),  # 3: latitude out of range
        line([[121.47, 31.23], [121.47, 31.23]], id="e", road_class="arterial"),  # 4: zero length
        line(good, id="f", road_class="highway"),  # 5: unknown class
        line(good, id="a", road_class="branch"),  # 6: duplicate id
        line(good, id="g", road_class="arterial", free_flow_kmh=-30),  # 7: negative speed
        line([[121.47, 31.23], [121.48, 31.23], [121.475, 31.23]], id="h", road_class="arterial"),  # 8: doubles back
        line(good, road_class="arterial", direction="backward"),  # 9: no id, bad direction
        "not a feature",  # 10
    )
    with pytest.raises(NetworkError) as caught:
        parse_feature_collection(doc)
    found = [(p.index, p.feature_id, p.field) for p in caught.value.problems]
    assert found == [
        (1, "b", "geometry.type"),
        (2, "c", "geometry.coordinates"),
        (3, "d", "geometry.coordinates[1]"),
        (4, "e", "geometry.coordinates"),
        (5, "f", "properties.road_class"),
        (6, "a", "properties.id"),
        (7, "g", "properties.free_flow_kmh"),
        (8, "h", "geometry.coordinates"),
        (9, None, "properties.id"),
        (9, None, "properties.direction"),
        (10, None, "type"),
    ]
    messages = {p.index: p.message for p in caught.value.problems}
    assert "first used by feature 0" in messages[6]
    assert "zero length" in messages[4]
    assert "doubles back" in messages[8]
    assert "highway" in messages[5]
    assert str(caught.value).startswith("11 problem(s)")
    assert "feature 6 (id a): properties.id" in str(caught.value)


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"type": "Feature"}, "type"),
        ([], "type"),
        ({"type": "FeatureCollection", "features": {}}, "features"),
    ],
)
def test_not_a_feature_collection_is_refused(doc: Any, field: str) -> None:
    with pytest.raises(NetworkError) as caught:
        parse_feature_collection(doc)
    assert [(p.index, p.field) for p in caught.value.problems] == [(None, field)]


def test_booleans_and_infinities_are_not_numbers() -> None:
    doc = collection(line([[True, 31.0], [121.0, 31.0]], id="a", road_class="arterial", length_m=float("inf")))
    with pytest.raises(NetworkError) as caught:
        parse_feature_collection(doc)
    assert [p.field for p in caught.value.problems] == ["geometry.coordinates[0]", "properties.length_m"]


def test_written_collection_reads_back_the_same() -> None:
    segments = [
        Segment("x", "X Road", "secondary", "both", 812.0, 45.0, ((121.4, 31.2), (121.405, 31.2), (121.41, 31.205))),
        Segment("y", "Y Road", "expressway", "forward", 1500.0, 80.0, ((121.41, 31.205), (121.42, 31.21))),
    ]
    doc = to_feature_collection(segments, synthetic=True)
    assert doc["features"][0]["properties"]["synthetic"] is True
    assert parse_feature_collection(doc) == segments


def test_pack_gives_class_codes_lengths_and_midpoints() -> None:
    segments = parse_feature_collection(
        collection(
            line([[0.0, 0.0], [0.01, 0.0], [0.01, 0.01]], id="L", road_class="branch"),
            line([[0.0, 0.0], [0.02, 0.0]], id="straight", road_class="expressway", free_flow_kmh=100),
        )
    )
    arrays = pack(segments)
    assert arrays.ids == ("L", "straight")
    assert arrays.class_code.tolist() == [3, 0]
    assert arrays.free_flow_kmh.tolist() == [40.0, 100.0]
    assert arrays.length_m[1] == pytest.approx(2 * EQUATOR_CENTIDEGREE_M, abs=1e-3)
    # the L's two legs are (nearly) equal, so halfway is its corner
    assert arrays.mid_lon[0] == pytest.approx(0.01, abs=1e-5)
    assert arrays.mid_lat[0] == pytest.approx(0.0, abs=1e-5)
    assert (arrays.mid_lon[1], arrays.mid_lat[1]) == pytest.approx((0.01, 0.0))
    assert arrays.positions(["straight", "L"]).tolist() == [1, 0]
    with pytest.raises(KeyError, match="nope"):
        arrays.positions(["nope"])


def test_junction_nodes_join_ends_that_meet() -> None:
    segments = parse_feature_collection(
        collection(
            line([[121.0, 31.0], [121.01, 31.0]], id="a", road_class="arterial"),
            line([[121.01, 31.0], [121.01, 31.01]], id="b", road_class="arterial"),
            line([[121.0, 31.0000001], [121.0, 30.99]], id="c", road_class="arterial"),  # 1 cm from a's start
            line([[121.2, 31.0], [121.3, 31.0]], id="d", road_class="arterial"),
        )
    )
    start, end = junction_nodes(segments)
    assert end[0] == start[1]
    assert start[0] == start[2]
    assert len({start[3], end[3]} & {start[0], end[0], start[1], end[1], end[2]}) == 0
