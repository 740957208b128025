"""Statements over a list of document ids take any number of them: each id is a bound
parameter, and psycopg refuses more than 65,535 in one statement (SQLite 32,766)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, insert, select

from db import pipeline
from db.engine import transaction
from db.models import Document, DocumentStatus, Stage, StageState, utcnow
from db.queries import reprocess_candidates, status_counts

MANY = 70_000  # past both databases' limit on parameters per statement


def _done_documents(sessions, n: int) -> list[int]:
    now = utcnow()
    with transaction(sessions) as s:
        s.execute(insert(Document), [
            {"sha256": f"{i:064x}", "source_path": f"{i}.txt", "size_bytes": 1,
             "status": DocumentStatus.DONE, "attempts": 1, "received_at": now,
             "updated_at": now, "finished_at": now} for i in range(n)])
        return list(s.scalars(select(Document.id).order_by(Document.id)))


def test_reprocessing_more_documents_than_a_statement_takes_parameters(db_sessions):
    ids = _done_documents(db_sessions, MANY)
    with transaction(db_sessions) as s:
        assert reprocess_candidates(s, ids=ids) == ids
        pipeline.reset_for_reprocess(s, ids)
    with transaction(db_sessions) as s:
        assert status_counts(s, ids) == {"queued": MANY}
        queued_at_clean = s.scalar(select(func.count()).select_from(Document).where(
            Document.stage == Stage.CLEAN, Document.stage_state == StageState.QUEUED))
        assert queued_at_clean == MANY


def test_ending_the_leases_of_more_documents_than_a_statement_takes_parameters(db_sessions):
    ids = _done_documents(db_sessions, MANY)
    with transaction(db_sessions) as s:
        pipeline.reset_for_reprocess(s, ids)
        pipeline.end_leases(s, ids)
    with transaction(db_sessions) as s:
        expired = pipeline.expired_leases(s, timedelta(weeks=1), limit=MANY)
    assert len(expired) == MANY
    assert all(doc.unsent for doc in expired)
