"""The outputs are real files: the CSV parses with its header and BOM, the workbook opens in openpyxl with every
version, the report's PDF has pages, its charts and its Chinese text (read back from the PDF's own content
streams: no PDF reader is a dependency of the platform), and the report's JSON and HTML agree."""

from __future__ import annotations

import base64
import csv
import io
import re
import zlib

from openpyxl import load_workbook

from tests.conftest import bearer

SOURCE = {"source_title": "上海市国民经济和社会发展统计公报", "source_url": "https://example.org/2012"}


def _enter(client, code: str, value: float, year: int, **extra) -> None:
    response = client.post(f"/api/kpi/indicators/{code}/values", json={"value": value, "year": year, **SOURCE, **extra},
                           headers=bearer(client, "supervisor"))  # fmt: skip
    assert response.status_code == 201, response.text


def _some_values(client) -> None:
    _enter(client, "ftth_households", 300, 2010)
    _enter(client, "ftth_households", 475, 2012)
    _enter(client, "info_services_gdp_share", 5.0, 2010)
    _enter(client, "info_services_gdp_share", 6.4, 2012)
    _enter(client, "municipal_internet_exits", 9, 2010)
    _enter(client, "idc_racks", 12000, 2011, source_title='=HYPERLINK("http://evil")')


def test_csv_export_parses_with_latest_values_and_progress(client, city) -> None:
    _some_values(client)
    response = client.get("/api/kpi/export.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")  # spreadsheets read UTF-8 with the BOM
    rows = {r["code"]: r for r in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))}
    assert len(rows) == 41
    ftth = rows["ftth_households"]
    assert (ftth["baseline"], ftth["latest"], ftth["latest_period"], ftth["progress_pct"]) == ("300.0", "475.0", "2012",
                                                                                                "50.0")  # fmt: skip
    assert (ftth["target_op"], ftth["target"], ftth["met"], ftth["name_zh"]) == ("at_least", "650.0", "False",
                                                                                 "光纤到户能力覆盖家庭数")  # fmt: skip
    assert rows["info_services_gdp_share"]["status"] == "met"
    assert rows["idc_racks"]["latest_source"].startswith("'=")  # a formula is quoted, never run
    as_of_2010 = {r["code"]: r for r in csv.DictReader(io.StringIO(
        client.get("/api/kpi/export.csv", params={"year": 2010}).text.lstrip("\ufeff")))}  # fmt: skip
    assert as_of_2010["ftth_households"]["latest"] == "300.0"


def test_excel_export_has_the_catalogue_and_every_version(client, city) -> None:
    _some_values(client)
    _enter(client, "ftth_households", 480, 2012, corrects=1, note="修订")
    response = client.get("/api/kpi/export.xlsx", headers=bearer(client, "viewer"))
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["indicators", "values"]
    sheet = book["indicators"]
    header = [c.value for c in sheet[1]]
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["ftth_households"]["latest"] == 480 and rows["ftth_households"]["progress_pct"] == 51.4
    values = list(book["values"].iter_rows(values_only=True))
    assert values[0][-1] == "recorded_by"  # a kpi.read holder sees who recorded each version
    versions = [(r[0], r[2], r[4], r[6]) for r in values[1:] if r[0] == "ftth_households"]
    assert versions == [("ftth_households", 2010, 1, 300), ("ftth_households", 2012, 1, 475),
                        ("ftth_households", 2012, 2, 480)]  # fmt: skip
    assert all(cell.data_type != "f" for row in book["values"].iter_rows() for cell in row)  # no formula
    anonymous = load_workbook(io.BytesIO(client.get("/api/kpi/export.xlsx").content))
    assert "recorded_by" not in [c.value for c in anonymous["values"][1]]


def _pdf_strings(data: bytes) -> list[bytes]:
    """The literal strings drawn by the PDF's content streams (ASCII85 + Flate, as reportlab writes them)."""
    found = []
    for raw in re.findall(rb"stream\r?\n(.*?)endstream", data, re.S):
        text = raw.strip()
        if text.endswith(b"~>"):
            text = base64.a85decode(text[:-2])
        try:
            content = zlib.decompress(text)
        except zlib.error:
            continue
        found += [_unescape(s) for s in re.findall(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", content, re.S)]
    return found


def _unescape(literal: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(literal):
        c = literal[i]
        if c == 0x5C:  # backslash
            nxt = literal[i + 1 : i + 4]
            octal = re.match(rb"[0-7]{1,3}", nxt)
            if octal:
                out.append(int(octal.group(), 8))
                i += 1 + len(octal.group())
                continue
            out += {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}.get(nxt[:1], nxt[:1])
            i += 2
            continue
        out.append(c)
        i += 1
    return bytes(out)


def test_the_pdf_report_has_pages_charts_and_chinese(client, city) -> None:
    _some_values(client)
    response = client.get("/kpi/report/2012.pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    data = response.content
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    pages = int(re.search(rb"/Count (\d+)", data).group(1))
    assert pages >= 2
    assert b"/STSong-Light" in data and b"/Lang (zh-CN)" in data
    drawn = b"".join(_pdf_strings(data))
    for words in ("光纤到户能力覆盖家庭数", "信息服务业增加值占全市生产总值比重", "上海市推进智慧城市建设"):
        assert words.encode("utf-16-be") in drawn, words
    assert "50.0%".encode("utf-16-be") in drawn  # the progress chart's bar label
    english = client.get("/kpi/report/2012.pdf", params={"lang": "en"}).content
    assert b"/Lang (en)" in english
    drawn_en = b"".join(_pdf_strings(english))
    for words in ("Evaluation of the plan's indicators, 2012", "Households covered"):  # table cells wrap long names
        assert words.encode("utf-16-be") in drawn_en, words


def test_the_report_as_json_and_html(client, city) -> None:
    _some_values(client)
    report = client.get("/api/kpi/report/2012").json()
    assert report["year"] == 2012 and report["counts"]["met"] == 1  # information services at 6.4 % ≥ 6.2 %
    codes = [i["code"] for sec in report["sections"] for i in sec["indicators"]]
    assert len(codes) == 41 and report["sections"][0]["code"] == "§1.3"
    as_of_2011 = client.get("/api/kpi/report/2011").json()
    ftth = next(i for s in as_of_2011["sections"] for i in s["indicators"] if i["code"] == "ftth_households")
    assert ftth["latest"]["value"] == 300  # the 2012 value is not yet known at the end of 2011
    page = client.get("/kpi/report/2012", params={"lang": "en"})
    assert page.status_code == 200 and "Evaluation of the plan's indicators, 2012" in page.text
    assert "50.0%" in page.text and "/kpi/report/2012.pdf" in page.text
    assert client.get("/api/kpi/report/2009").status_code == 422
    assert client.get("/kpi/report/2099").status_code == 422
