"""The knowledge base: Chinese search without word breaks, ranking, short queries, editing and retiring."""

from __future__ import annotations

import pytest

from smartcity.hotline import knowledge
from tests.conftest import bearer

ARTICLES = [
    {
        "title": "生活垃圾清运时间",
        "body": "本市居住区生活垃圾每日早晚两次清运，具体时间以街道公告为准。",
        "keywords": "垃圾 清运",
    },
    {"title": "社保卡补办", "body": "社保卡遗失后，可携带身份证到任一社保服务网点挂失补办。", "keywords": "社保 补卡"},
    {
        "title": "装修噪声管理规定",
        "body": "居民住宅装修施工时间为工作日8时至12时、14时至18时。",
        "keywords": "装修 噪音",
    },
    {"title": "Parking permits for residents", "body": "Residents apply for a parking permit at the street office."},
]


@pytest.fixture
def articles(client, city) -> list[int]:
    ids = []
    for article in ARTICLES:
        response = client.post("/api/hotline/knowledge", json=article, headers=bearer(client, "supervisor"))
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def _search(client, q: str, who: str = "operator") -> list[str]:
    response = client.get("/api/hotline/knowledge", params={"q": q}, headers=bearer(client, who))
    assert response.status_code == 200, response.text
    return [hit["article"]["title"] for hit in response.json()]


def test_terms_are_chinese_bigrams_and_latin_words() -> None:
    assert knowledge.terms("垃圾清运 Parking 12号") == ["垃圾", "圾清", "清运", "parking", "12", "号"]
    assert knowledge.query_terms("社保社保") == ["社保", "保社"]
    assert knowledge.terms("？！ ") == []


def test_chinese_search_finds_words_not_typed_together(client, articles) -> None:
    assert _search(client, "垃圾什么时候清运")[0] == "生活垃圾清运时间"
    assert _search(client, "装修噪声几点")[0] == "装修噪声管理规定"
    assert _search(client, "parking")[0] == "Parking permits for residents"


def test_two_character_queries_find_their_word(client, articles) -> None:
    assert _search(client, "社保") == ["社保卡补办"]
    assert _search(client, "火箭") == []


def test_empty_query_is_a_clear_error(client, articles) -> None:
    response = client.get("/api/hotline/knowledge", params={"q": "？？"}, headers=bearer(client, "operator"))
    assert response.status_code == 422 and "search" in response.json()["detail"]


def test_edits_are_searchable_and_retired_articles_are_not(client, articles) -> None:
    changed = {**ARTICLES[1], "title": "社会保障卡挂失与补办"}
    response = client.put(f"/api/hotline/knowledge/{articles[1]}", json=changed, headers=bearer(client, "supervisor"))
    assert response.status_code == 200
    assert _search(client, "挂失与补办") == ["社会保障卡挂失与补办"]
    assert (
        client.delete(f"/api/hotline/knowledge/{articles[1]}", headers=bearer(client, "supervisor")).status_code == 200
    )
    assert _search(client, "社会保障卡") == []


def test_only_managers_edit_and_markup_is_refused(client, articles) -> None:
    assert (
        client.post("/api/hotline/knowledge", json=ARTICLES[0], headers=bearer(client, "operator")).status_code == 403
    )
    bad = {**ARTICLES[0], "body": "点击<a href='x'>这里</a>"}
    response = client.post("/api/hotline/knowledge", json=bad, headers=bearer(client, "supervisor"))
    assert response.status_code == 422 and "plain text" in response.json()["detail"]
