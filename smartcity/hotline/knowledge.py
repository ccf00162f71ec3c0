"""The knowledge base operators answer from (直接答复): articles per department and topic, with search that
works for Chinese text, which has no spaces between words.

A query is cut into overlapping three-character pieces (trigrams) — Chinese runs — and whole words — Latin
runs; an article matches when it contains any piece, and ranks by how many and where (title first). On
SQLite the pieces go to an FTS5 index with the ``trigram`` tokenizer (ranked by BM25); on PostgreSQL to
``ILIKE`` on a ``pg_trgm`` GIN index. Pieces shorter than three characters (a two-character query such as
社保) fall back to a plain substring scan, which the index cannot serve.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, literal, or_, select, text
from sqlalchemy.orm import Session

from smartcity.core import events
from smartcity.core.errors import NotFound, Problem
from smartcity.core.tabular import read_csv
from smartcity.hotline.models import Article
from smartcity.hotline.service import check_text

FTS_TABLE = "hotline_article_fts"  # SQLite only, kept by triggers the migration creates
PG_INDEXES = ("ix_hotline_article_search", "ix_hotline_article_title_search")  # pg_trgm, made by the migration
FIELDS = ("title", "body", "keywords", "topic", "department_code", "matter_code")
_RUNS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[0-9A-Za-z]+")
MAX_PIECES = 24


@dataclass(frozen=True)
class Hit:
    article: Article
    score: float


def pieces(query: str) -> list[str]:
    """Search pieces of a query: trigrams of each Chinese run (the run itself when shorter), Latin words."""
    found: list[str] = []
    for run in _RUNS.findall(query.lower()):
        if run.isascii() or len(run) <= 3:
            found.append(run)
        else:
            found.extend(run[i : i + 3] for i in range(len(run) - 2))
    return list(dict.fromkeys(found))[:MAX_PIECES]


def search(session: Session, query: str, *, limit: int = 10, department_code: str | None = None) -> list[Hit]:
    """Active articles for a query, best first. An empty query or one with nothing searchable is a 422."""
    terms = pieces(query)
    if not terms:
        raise Problem(
            422, "Type at least one word or character to search for.", errors=[{"field": "q", "message": "empty"}]
        )
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite" and all(len(t) >= 3 for t in terms):
        return _search_fts5(session, terms, limit, department_code)
    return _search_like(session, terms, limit, department_code)


def _search_fts5(session: Session, terms: list[str], limit: int, department_code: str | None) -> list[Hit]:
    match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
    # bm25 is lower for better matches; the title weighs most, then keywords, then the body
    rank = text(f"bm25({FTS_TABLE}, 10.0, 5.0, 1.0)")
    stmt = (
        select(Article, rank.label("rank"))
        .join_from(Article, text(FTS_TABLE), text(f"{FTS_TABLE}.rowid = hotline_article.id"))
        .where(text(f"{FTS_TABLE} MATCH :match"), Article.active.is_(True))
        .order_by(text("rank"))
        .limit(limit)
        .params(match=match)
    )
    if department_code:
        stmt = stmt.where(Article.department_code == department_code)
    return [Hit(article, round(-float(score), 4)) for article, score in session.execute(stmt)]


def _search_like(session: Session, terms: list[str], limit: int, department_code: str | None) -> list[Hit]:
    document = func.lower(Article.title + " " + func.coalesce(Article.keywords, "") + " " + Article.body)
    title = func.lower(Article.title)
    matched = [document.contains(t, autoescape=True) for t in terms]
    score = sum(
        (
            case((title.contains(t, autoescape=True), 3), else_=0) + case((m, 1), else_=0)
            for t, m in zip(terms, matched, strict=True)
        ),
        literal(0),
    )
    stmt = (
        select(Article, score.label("score"))
        .where(or_(*matched), Article.active.is_(True))
        .order_by(score.desc(), Article.id)
        .limit(limit)
    )
    if department_code:
        stmt = stmt.where(Article.department_code == department_code)
    return [Hit(article, float(points)) for article, points in session.execute(stmt)]


def _checked(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": check_text("title", row.get("title"), 200, required=True),
        "body": check_text("body", row.get("body"), 20_000, required=True),
        "keywords": check_text("keywords", row.get("keywords"), 300),
        "topic": check_text("topic", row.get("topic"), 60),
        "department_code": (row.get("department_code") or None),
        "matter_code": (row.get("matter_code") or None),
    }


def create(session: Session, actor: str, row: dict[str, Any]) -> Article:
    article = Article(**_checked(row), updated_by=actor)
    session.add(article)
    session.flush()
    events.emit(session, "hotline.article_created", id=article.id)
    return article


def update(session: Session, actor: str, article_id: int, row: dict[str, Any]) -> Article:
    article = get(session, article_id)
    for key, value in _checked({**_as_row(article), **row}).items():
        setattr(article, key, value)
    article.updated_by = actor
    session.flush()
    return article


def retire(session: Session, actor: str, article_id: int) -> Article:
    article = get(session, article_id)
    article.active, article.updated_by = False, actor
    session.flush()
    return article


def _as_row(article: Article) -> dict[str, Any]:
    return {key: getattr(article, key) for key in FIELDS}


def get(session: Session, article_id: int) -> Article:
    article = session.get(Article, article_id)
    if article is None:
        raise NotFound("article", article_id)
    return article


def import_articles(session: Session, actor: str, rows: list[dict[str, Any]]) -> int:
    """Add articles from a file; any invalid row refuses the whole file, naming every bad row."""
    checked, errors = [], []
    for number, row in enumerate(rows, start=1):
        try:
            checked.append(_checked(row))
        except Problem as problem:
            errors.append({"field": f"row {number}", "message": problem.detail})
    if errors:
        raise Problem(422, "The articles have errors; nothing was imported.", errors=errors)
    session.add_all(Article(**values, updated_by=actor) for values in checked)
    session.flush()
    events.emit(session, "hotline.articles_imported", count=len(checked))
    return len(checked)


def parse_csv(text_: str) -> list[dict[str, Any]]:
    return read_csv(text_, FIELDS)
