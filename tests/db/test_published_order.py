"""Articles sort and filter by the instant they were published, not by the stated text.

Written the way persist writes them (`article_row` through `upsert_articles`, the array
insert on PostgreSQL), then read through the query functions, search and the CLI, on
SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from db import pipeline
from db.engine import transaction
from db.errors import QueryError
from db.models import Article, Document, DocumentStatus, utcnow
from db.queries import ArticleFilter, article_conditions, filtered_articles, list_articles
from db.search import search
from tasks.document import Article as Extracted
from tasks.persist import article_row
from worker.cli import main

#: title -> published_at as stated; the comment is the instant, in UTC
STATED: dict[str, str | None] = {
    "new york": "2024-05-01T10:00:00-05:00",  # 15:00
    "london": "2024-05-01T12:00:00+00:00",  # 12:00
    "zulu": "2024-05-01T14:00:00Z",  # 14:00
    "tokyo": "2024-05-02T01:00:00+09:00",  # 16:00 on the 1st
    "no zone": "2024-05-01T13:00:00",  # 13:00, as stated
    "date alone": "2024-05-01",  # 00:00
    "unparseable": "1 May 2024",  # no instant
    "undated": None,
}
NEWEST_FIRST = ["tokyo", "new york", "zulu", "no zone", "london", "date alone",
                "undated", "unparseable"]  # no instant: last, newest row first


def persist(session: Session, titles: list[str]) -> dict[str, int]:
    """Done documents with their articles, written as the persist stage writes them."""
    now = utcnow()
    ids = {}
    for title in titles:
        doc = Document(sha256=f"{len(ids):02d}{title}".ljust(64, "0")[:64],
                       source_path=f"{title}.txt", size_bytes=1, status=DocumentStatus.DONE,
                       attempts=1, received_at=now, updated_at=now, finished_at=now)
        session.add(doc)
        session.flush()
        ids[title] = doc.id
    pipeline.upsert_articles(session, [
        article_row(ids[t], Extracted(title=t, body=f"The harbour report from {t}.",
                                      published_at=STATED[t], extractor_version="t"))
        for t in titles])
    return ids


@pytest.fixture
def sessions(db_sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    with transaction(db_sessions) as s:
        # the undated ones first and alone: a batch whose instants are all NULL
        persist(s, ["unparseable", "undated"])
    with transaction(db_sessions) as s:
        persist(s, [t for t in STATED if t not in ("unparseable", "undated")])
    return db_sessions


def titles(sessions: sessionmaker[Session], **filters: Any) -> list[str | None]:
    with transaction(sessions) as s:
        return [a.title for a, _ in list_articles(s, ArticleFilter(**filters))]


def test_mixed_offsets_list_newest_instant_first(sessions):
    assert titles(sessions) == NEWEST_FIRST
    with transaction(sessions) as s:
        stored = {t: p for t, p in s.execute(select(Article.title, Article.published_at))}
    assert stored == STATED  # each date kept exactly as stated


def test_since_and_until_compare_instants(sessions):
    # 14:30 UTC, written in New York time: only what was published after it
    assert titles(sessions, since="2024-05-01T09:30:00-05:00") == ["tokyo", "new york"]
    assert titles(sessions, since="2024-05-01T14:30:00Z") == ["tokyo", "new york"]
    # a time without an offset is UTC, like a stated one
    assert titles(sessions, since="2024-05-01T14:30") == ["tokyo", "new york"]
    assert titles(sessions, since="2024-05-01T09:30:00-05:00",
                  until="2024-05-01T15:00:00Z") == ["new york"]  # until is inclusive
    assert titles(sessions, until="2024-05-01T13:00:00") == ["no zone", "london",
                                                             "date alone"]


def test_a_date_bound_is_a_utc_day_and_until_takes_in_all_of_it(sessions):
    # Tokyo's 2 May, 01:00 is 1 May in UTC: inside --until 2024-05-01, outside --since 05-02
    assert titles(sessions, until="2024-05-01") == NEWEST_FIRST[:6]
    assert titles(sessions, since="2024-05-02") == []
    assert titles(sessions, since="2024-05-01", until="2024-05-01") == NEWEST_FIRST[:6]
    # a date alone is that day's start: on 1 May, not on 30 April
    assert titles(sessions, until="2024-04-30") == []
    assert titles(sessions, since="2024-05-01T00:00:00Z",
                  until="2024-05-01T00:00:00Z") == ["date alone"]


def test_search_filters_on_instants_too(sessions):
    with transaction(sessions) as s:
        hits = search(s, "harbour", filters=ArticleFilter(since="2024-05-01T14:30:00Z"))
    assert sorted(h.title or "" for h in hits) == ["new york", "tokyo"]


def test_a_bound_that_is_not_a_date_is_a_query_error():
    with pytest.raises(QueryError, match="until: 'soon' is not a date"):
        article_conditions(ArticleFilter(until="soon"))


def test_reprocessing_moves_an_article_to_its_new_instant(sessions):
    with transaction(sessions) as s:
        doc_id = s.scalar(select(Article.document_id).where(Article.title == "date alone"))
        # a re-extraction finds the time too: 23:00 in Los Angeles is 06:00 on the 2nd
        pipeline.upsert_articles(s, [article_row(doc_id, Extracted(
            title="date alone", body="Again.", published_at="2024-05-01T23:00:00-07:00",
            extractor_version="t2"))])
    assert titles(sessions)[0] == "date alone"
    with transaction(sessions) as s:
        doc_id = s.scalar(select(Article.document_id).where(Article.title == "tokyo"))
        pipeline.upsert_articles(s, [article_row(doc_id, Extracted(
            title="tokyo", body="Again.", published_at="sometime", extractor_version="t2"))])
    assert titles(sessions)[-3:] == ["tokyo", "undated", "unparseable"]


def test_inserts_that_leave_the_instant_out_get_it_from_published_at(sessions):
    with transaction(sessions) as s:
        doc = s.scalar(select(Document).where(Document.source_path == "london.txt"))
        assert doc is not None
        s.execute(text("DELETE FROM articles WHERE document_id = :d"), {"d": doc.id})
        now = utcnow()
        s.add(Article(document_id=doc.id, title="london", body="b", extractor_version="t",
                      published_at="2024-05-01T12:00:00+00:00", created_at=now,
                      modified_at=now))
    with transaction(sessions) as s:
        stored = s.scalar(select(Article.published_utc).where(Article.title == "london"))
    assert stored is not None
    assert stored.replace(tzinfo=stored.tzinfo or UTC) == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert titles(sessions) == NEWEST_FIRST


def database_url(sessions: sessionmaker[Session]) -> str:
    with sessions() as s:
        return s.get_bind().engine.url.render_as_string(hide_password=False)


def cli(sessions: sessionmaker[Session], tmp_path, *args: str) -> Any:
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path / "data"),
                                       "--database-url", database_url(sessions), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_articles_command_lists_and_filters_by_instant(sessions, tmp_path):
    listed = json.loads(cli(sessions, tmp_path, "articles", "--json"))
    assert [a["title"] for a in listed] == NEWEST_FIRST
    assert listed[0]["published_at"] == "2024-05-02T01:00:00+09:00"  # shown as stated
    listed = json.loads(cli(sessions, tmp_path, "articles", "--json", "--until",
                            "2024-05-01", "--since", "2024-05-01T14:30:00Z"))
    assert [a["title"] for a in listed] == ["tokyo", "new york"]
    # lines show the instant the list is ordered by, in UTC, so that they read in order;
    # a date alone stays a date, and a time stated without a zone gets no Z: it is
    # ordered as if UTC, but the page did not say so
    lines = cli(sessions, tmp_path, "articles").splitlines()
    assert [line.split(maxsplit=1)[1] for line in lines[:6]] == [
        "2024-05-01 16:00Z  tokyo", "2024-05-01 15:00Z  new york",
        "2024-05-01 14:00Z  zulu", "2024-05-01 13:00   no zone",
        "2024-05-01 12:00Z  london", "2024-05-01         date alone"]


@pytest.mark.parametrize("command", [["articles"], ["search", "harbour"], ["export"],
                                     ["reprocess"]], ids=" ".join)
@pytest.mark.parametrize(("since", "until"), [("2024-05-02", "2024-05-01"),
                                              ("2024-05-02T00:00Z", "2024-05-01")])
def test_a_window_that_ends_before_it_starts_is_a_usage_error(sessions, tmp_path, command,
                                                              since, until):
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path / "data"), "--database-url",
                                       database_url(sessions), *command, "--since", since,
                                       "--until", until])
    assert result.exit_code == 2, result.output
    assert f"--since {since} is after --until {until}: nothing can match" in result.output


def test_export_writes_newest_instant_first(sessions, tmp_path):
    rows = [json.loads(line) for line in cli(sessions, tmp_path, "export").splitlines()]
    assert [r["title"] for r in rows] == NEWEST_FIRST
    rows = [json.loads(line) for line in cli(sessions, tmp_path, "export", "--since",
                                             "2024-05-01T09:30:00-05:00").splitlines()]
    assert [r["title"] for r in rows] == ["tokyo", "new york"]


def test_the_first_page_is_read_from_the_index_in_order(sessions):
    stmt = filtered_articles(ArticleFilter())
    with sessions() as s:
        sql = str(stmt.compile(s.get_bind(), compile_kwargs={"literal_binds": True}))
        if s.get_bind().dialect.name == "postgresql":
            # forbid the alternatives, so the plan shows whether the index serves the order
            s.execute(text("SET LOCAL enable_seqscan = off"))
            s.execute(text("SET LOCAL enable_sort = off"))
            plan = "\n".join(s.execute(text("EXPLAIN " + sql)).scalars())
            assert "ix_articles_published_utc" in plan and "Sort" not in plan, plan
        else:
            plan = "\n".join(r[-1] for r in s.execute(text("EXPLAIN QUERY PLAN " + sql)))
            assert "INDEX ix_articles_published_utc" in plan, plan
            assert "TEMP B-TREE" not in plan, plan
