"""Server-drawn charts: well-formed SVG, labels escaped, every value said in the description."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from smartcity.core import charts

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup).replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))


def test_bar_chart_scales_bars_and_describes_values() -> None:
    points = [charts.Point("黄浦 <区>", 0.5), charts.Point("徐汇", 1.0), charts.Point("静安", None)]
    svg = _parse(charts.bar_chart("按期结案率", points, fmt=charts.percent, maximum=1.0, no_data="无数据"))
    assert svg.get("role") == "img"
    assert svg.find(f"{SVG}title").text == "按期结案率"
    assert svg.find(f"{SVG}desc").text == "黄浦 <区>: 50.0%; 徐汇: 100.0%; 静安: 无数据"
    widths = [float(r.get("width")) for r in svg.iter(f"{SVG}rect")]
    assert widths[1] == 2 * widths[0] and widths[2] == 0


def test_line_chart_breaks_at_missing_values() -> None:
    points = [charts.Point(m, v) for m, v in (("01", 1), ("02", 2), ("03", None), ("04", 4), ("05", 3))]
    svg = _parse(charts.line_chart("Closures", points))
    lines = list(svg.iter(f"{SVG}polyline"))
    assert [len(line.get("points").split()) for line in lines] == [2, 2]
    assert len(list(svg.iter(f"{SVG}circle"))) == 4


def test_two_charts_on_a_page_have_distinct_ids() -> None:
    first = _parse(charts.bar_chart("A", [charts.Point("x", 1)]))
    second = _parse(charts.bar_chart("B", [charts.Point("x", 1)]))
    assert first.get("aria-labelledby") != second.get("aria-labelledby")
