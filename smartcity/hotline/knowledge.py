"""The knowledge base operators answer from (直接答复): articles per department and topic, with search that
works for Chinese text, which has no spaces between words.

Text is cut into terms the way CJK search engines do: every two adjacent Chinese characters form a term
(bigrams: 垃圾清运 → 垃圾 圾清 清运), Latin letters and digits form words. The terms of the title, keywords
and body are stored beside the article and indexed by the database's own full-text engine — SQLite FTS5
(ranked by BM25, title weighted most) or PostgreSQL full-text search with the ``simple`` configuration
on a stored tsvector with a GIN index (ranked by ``ts_rank`` with weights A/B/C). An article matches when
it shares any term with the query and ranks by how many, and where. Both engines see the same terms, so results agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, column, func, literal_column, select, table
from sqlalchemy.orm import Session

from smartcity.core import events
from smartcity.core.errors import NotFound, Problem
from smartcity.core.tabular import read_csv
from smartcity.hotline.models import Article
from smartcity.hotline.service import check_text

FTS_TABLE = "hotline_article_fts"  # SQLite only, kept by triggers the migration creates
# PostgreSQL only, made by the migration: a stored generated tsvector of the terms (title A, keywords B,
# body C) and its GIN index. Not mapped: the database computes it.
PG_COLUMNS = ("search_vector",)
PG_INDEXES = ("ix_hotline_article_search",)
FIELDS = ("title", "body", "keywords", "topic", "department_code", "matter_code")
_RUNS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[0-9A-Za-z]+")
MAX_QUERY_TERMS = 32


@dataclass(frozen=True)
class Hit:
    article: Article
    score: float


def terms(text_: str | None) -> list[str]:
    """Search terms of a text: bigrams of each Chinese run (a lone character stays one term), Latin words."""
    found: list[str] = []
    for run in _RUNS.findall((text_ or "").lower()):
        if run.isascii() or len(run) == 1:
            found.append(run)
        else:
            found.extend(run[i : i + 2] for i in range(len(run) - 1))
    return found


def query_terms(query: str) -> list[str]:
    return list(dict.fromkeys(terms(query)))[:MAX_QUERY_TERMS]


def index_text(text_: str | None) -> str:
    return " ".join(terms(text_))


def search(session: Session, query: str, *, limit: int = 10, department_code: str | None = None) -> list[Hit]:
    """Active articles for a query, best first. A query with nothing searchable in it is a 422."""
    wanted = query_terms(query)
    if not wanted:
        raise Problem(
            422, "Type at least one word or character to search for.", errors=[{"field": "q", "message": "empty"}]
        )
    if session.get_bind().dialect.name == "sqlite":
        stmt, scale = _sqlite_search(wanted), -1.0  # bm25: lower is better
    else:
        stmt, scale = _postgres_search(wanted), 1.0
    stmt = stmt.where(Article.active.is_(True)).limit(limit)
    if department_code:
        stmt = stmt.where(Article.department_code == department_code)
    return [Hit(article, round(scale * float(score), 4)) for article, score in session.execute(stmt)]


def _sqlite_search(wanted: list[str]) -> Any:
    match = " OR ".join('"' + t + '"' for t in wanted)
    fts = table(FTS_TABLE, column("rowid"))
    rank = func.bm25(literal_column(FTS_TABLE), 10.0, 5.0, 1.0).label("rank")
    return (
        select(Article, rank)
        .join(fts, fts.c.rowid == Article.id)
        .where(literal_column(FTS_TABLE).op("MATCH")(bindparam("match", match)))
        .order_by(rank, Article.id)
    )


def _postgres_search(wanted: list[str]) -> Any:
    document = literal_column("hotline_article.search_vector")
    query = func.to_tsquery("simple", bindparam("tsquery", " | ".join(wanted)))
    rank = func.ts_rank(document, query).label("rank")
    return select(Article, rank).where(document.op("@@")(query)).order_by(rank.desc(), Article.id)


def _checked(row: dict[str, Any]) -> dict[str, Any]:
    values = {
        "title": check_text("title", row.get("title"), 200, required=True),
        "body": check_text("body", row.get("body"), 20_000, required=True),
        "keywords": check_text("keywords", row.get("keywords"), 300),
        "topic": check_text("topic", row.get("topic"), 60),
        "department_code": (row.get("department_code") or None),
        "matter_code": (row.get("matter_code") or None),
    }
    return {
        **values,
        "title_terms": index_text(values["title"]),
        "keyword_terms": index_text(values["keywords"]),
        "body_terms": index_text(values["body"]),
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
