"""Bulk inserts and updates: unnest()ed arrays on PostgreSQL, executemany on SQLite."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from db import bulk
from db.engine import transaction
from db.models import Article, BoilerplateLine, Document, DocumentStatus, Stage, StageState, utcnow


def _documents(n: int) -> list[dict]:
    now = utcnow()
    return [{"sha256": f"{i:064x}", "source_path": f"{i}.txt", "size_bytes": i,
             "status": DocumentStatus.QUEUED, "stage": Stage.CLEAN,
             "stage_state": StageState.QUEUED, "attempts": 0, "received_at": now,
             "updated_at": now} for i in range(n)]


def _article(document_id: int, title: str, authors: list[str]) -> dict:
    now = utcnow()
    return {"document_id": document_id, "title": title, "subtitle": None, "authors": authors,
            "published_at": None, "updated_at": None, "body": "Text.\n\nMore.",
            "paragraphs": ["Text.", "More."], "image_caption": None, "photo_credit": None,
            "reading_time_minutes": None, "related": [{"title": "x", "url": None}],
            "language": None, "word_count": 2, "url": None, "canonical_url": None,
            "site_name": None, "description": None, "tags": [], "extractor_version": "1",
            "created_at": now, "modified_at": now}


def test_insert_returns_what_it_was_asked_for_row_by_row(db_sessions):
    rows = _documents(5)
    with transaction(db_sessions) as s:
        returned = bulk.insert(s, Document.__table__, rows, returning=("id", "source_path"))
    assert sorted(r.source_path for r in returned) == sorted(r["source_path"] for r in rows)
    with transaction(db_sessions) as s:
        stored = {d.id: d for d in s.scalars(select(Document))}
    for r in returned:
        assert stored[r.id].source_path == r.source_path
        assert stored[r.id].status is DocumentStatus.QUEUED  # enum members bound as values


def test_conflicting_rows_update_their_columns_and_json_round_trips(db_sessions):
    with transaction(db_sessions) as s:
        [doc] = bulk.insert(s, Document.__table__, _documents(1), returning=("id",))
        bulk.insert(s, Article.__table__, [_article(doc.id, "First", ["A"])],
                    conflict=("document_id",), update=("title", "authors"))
        bulk.insert(s, Article.__table__, [_article(doc.id, "Second", ["B", "C"])],
                    conflict=("document_id",), update=("title", "authors"))
    with transaction(db_sessions) as s:
        [article] = s.scalars(select(Article)).all()
    assert (article.title, article.authors) == ("Second", ["B", "C"])
    assert article.related == [{"title": "x", "url": None}]
    assert article.subtitle is None and article.paragraphs == ["Text.", "More."]


def test_increment_adds_to_what_is_stored(db_sessions):
    rows = [{"source_key": "s", "fingerprint": "f", "doc_count": 2},
            {"source_key": "s", "fingerprint": "g", "doc_count": 1}]
    with transaction(db_sessions) as s:
        bulk.insert(s, BoilerplateLine.__table__, rows, conflict=("source_key", "fingerprint"),
                    increment=("doc_count",))
        bulk.insert(s, BoilerplateLine.__table__, rows[:1],
                    conflict=("source_key", "fingerprint"), increment=("doc_count",))
    with transaction(db_sessions) as s:
        counts = {fp: n for fp, n in s.execute(
            select(BoilerplateLine.fingerprint, BoilerplateLine.doc_count))}
    assert counts == {"f": 4, "g": 1}


def test_update_sets_each_row_and_skips_rows_that_fail_the_condition(db_sessions):
    with transaction(db_sessions) as s:
        a, b, c = (r.id for r in bulk.insert(s, Document.__table__, _documents(3),
                                             returning=("id",)))
        s.get(Document, c).status = DocumentStatus.DONE
    now = utcnow()
    with transaction(db_sessions) as s:
        bulk.update(s, Document.__table__, [
            {"id": a, "status": DocumentStatus.FAILED, "last_error": "bad", "finished_at": now},
            {"id": b, "status": DocumentStatus.PROCESSING, "last_error": None,
             "finished_at": None},
            {"id": c, "status": DocumentStatus.FAILED, "last_error": "late", "finished_at": now},
        ], key="id", where={"status": DocumentStatus.QUEUED})
    with transaction(db_sessions) as s:
        docs = {d.id: d for d in s.scalars(select(Document))}
    assert (docs[a].status, docs[a].last_error) == (DocumentStatus.FAILED, "bad")
    assert (docs[b].status, docs[b].finished_at) == (DocumentStatus.PROCESSING, None)
    assert (docs[c].status, docs[c].last_error) == (DocumentStatus.DONE, None)  # left alone


def test_nothing_to_write_writes_nothing(db_sessions):
    with transaction(db_sessions) as s:
        assert bulk.insert(s, Document.__table__, [], returning=("id",)) == []
        bulk.update(s, Document.__table__, [], key="id")
        assert s.scalars(select(Document)).all() == []


def test_a_refused_row_raises_sqlalchemys_error_and_the_transaction_can_go_on(db_sessions):
    # callers tell a refused row (IntegrityError: settle items one by one) from a lost
    # connection (transient) by SQLAlchemy's exception types, whatever the driver raised
    rows = _documents(2)
    rows[1]["sha256"] = rows[0]["sha256"]  # two originals of the same bytes
    with transaction(db_sessions) as s:
        with pytest.raises(IntegrityError), s.begin_nested():
            bulk.insert(s, Document.__table__, rows, returning=("id",))
        [kept] = bulk.insert(s, Document.__table__, rows[:1], returning=("id",))
    with transaction(db_sessions) as s:
        assert [d.id for d in s.scalars(select(Document))] == [kept.id]
