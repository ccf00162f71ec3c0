"""The Atom 1.0 feed (RFC 4287) of active alerts, read back with the standard library's parser."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from smartcity.alerts.cap import ATOM_NS, CAP_MEDIA_TYPE, FeedEntry, atom_feed
from tests.alerts.factories import SENT, make_alert, make_info

A = f"{{{ATOM_NS}}}"
BASE = "https://smartcity.example.gov.cn/alerts"


def _feed(entries: list[FeedEntry], **overrides: object) -> ET.Element:
    values: dict = {
        "feed_id": f"{BASE}/feed",
        "title": "上海市生效中的预警",
        "self_url": f"{BASE}/feed.atom",
        "updated": SENT + timedelta(minutes=5),
    }
    return ET.fromstring(atom_feed(entries, **(values | overrides)))


def _two_entries() -> list[FeedEntry]:
    rain = make_alert()
    heat = make_alert(
        identifier="SH-MET-20250701-0002",
        sent=SENT + timedelta(minutes=1),
        infos=[make_info(hazard="heat", colour="red", headline="上海中心气象台发布高温红色预警信号", description=None)],
    )
    return [FeedEntry.from_alert(a, f"{BASE}/{a.identifier}.xml") for a in (rain, heat)]


def test_feed_has_its_id_title_updated_and_self_link() -> None:
    feed = _feed(_two_entries())
    assert feed.tag == f"{A}feed"
    assert feed.findtext(f"{A}id") == f"{BASE}/feed"
    assert feed.findtext(f"{A}title") == "上海市生效中的预警"
    assert feed.findtext(f"{A}updated") == "2025-07-01T14:05:00+08:00"
    (self_link,) = feed.findall(f"{A}link")
    assert self_link.attrib == {"rel": "self", "href": f"{BASE}/feed.atom", "type": "application/atom+xml"}


def test_every_element_is_in_the_atom_namespace() -> None:
    assert all(e.tag.startswith(A) for e in _feed(_two_entries()).iter())


def test_each_entry_links_its_cap_message() -> None:
    entries = _feed(_two_entries()).findall(f"{A}entry")
    assert len(entries) == 2
    first, second = entries
    assert first.findtext(f"{A}id") == f"{BASE}/SH-MET-20250701-0001.xml"
    assert first.findtext(f"{A}title") == "上海中心气象台发布暴雨橙色预警信号"
    assert first.findtext(f"{A}updated") == "2025-07-01T14:00:00+08:00"
    assert first.findtext(f"{A}summary") == "预计未来3小时内本市将出现50毫米以上降水。"
    assert first.findtext(f"{A}author/{A}name") == "上海中心气象台"
    (link,) = first.findall(f"{A}link")
    assert link.attrib == {"rel": "alternate", "href": f"{BASE}/SH-MET-20250701-0001.xml", "type": CAP_MEDIA_TYPE}
    assert second.findtext(f"{A}summary") == "上海中心气象台发布高温红色预警信号"  # no description: the headline


def test_an_entry_falls_back_to_event_and_sender() -> None:
    alert = make_alert(infos=[make_info(headline=None, description=None, sender_name=None)])
    entry = FeedEntry.from_alert(alert, f"{BASE}/x.xml")
    assert (entry.title, entry.author, entry.summary) == ("暴雨橙色预警", alert.sender, None)
    assert _feed([entry]).find(f"{A}entry/{A}summary") is None


def test_an_entry_picks_the_info_in_the_asked_language() -> None:
    alert = make_alert(infos=[make_info(), make_info(language="en-US", headline="Orange rainstorm warning")])
    assert FeedEntry.from_alert(alert, f"{BASE}/x.xml", language="en-US").title == "Orange rainstorm warning"


def test_an_empty_feed_is_still_a_feed() -> None:
    feed = _feed([], updated=datetime(2025, 7, 1, tzinfo=UTC))
    assert feed.findall(f"{A}entry") == [] and feed.findtext(f"{A}updated") == "2025-07-01T00:00:00+00:00"


def test_times_without_offset_are_refused() -> None:
    with pytest.raises(ValueError, match="UTC offset"):
        _feed([], updated=datetime(2025, 7, 1))
