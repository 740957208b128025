"""Operator actions on documents already in the database: retry and reprocess."""

from __future__ import annotations

from collections import defaultdict

from db import pipeline
from db.engine import transaction
from db.models import Document, DocumentStatus, Stage
from db.queries import Staleness, failed_ids, reprocess_candidates
from tasks.errors import NO_ARTICLE_KINDS
from tasks.version import EXTRACTOR_VERSION
from worker.reconciler import send_queued
from worker.runtime import Runtime
from worker.service import enqueue

#: what this newsdrop's extractor would read otherwise than it was read (`reprocess --stale`)
STALE = Staleness(EXTRACTOR_VERSION, NO_ARTICLE_KINDS)


def retry_failed(rt: Runtime, ids: list[int] | None) -> list[int]:
    """Send failed documents back to the stage that failed, with fresh attempts; return
    the ids sent. Raises NotSent if the broker does not take them (they stay queued)."""
    by_stage: dict[Stage, list[int]] = defaultdict(list)
    with transaction(rt.sessions) as session:
        wanted = failed_ids(session) if ids is None else ids
        for doc_id in wanted:
            doc = session.get(Document, doc_id)
            if doc is None or doc.status is not DocumentStatus.FAILED:
                continue
            by_stage[doc.stage or Stage.CLEAN].append(doc_id)
        for stage, stage_ids in by_stage.items():
            pipeline.requeue(session, stage_ids, stage, reset_attempts=True)
    send_queued(rt.sessions, enqueue, by_stage.values())
    return [i for stage_ids in by_stage.values() for i in stage_ids]


def reprocess(rt: Runtime, *, ids: list[int] | None = None, stale: bool = False,
              since: str | None = None, until: str | None = None) -> list[int]:
    """Run every stage again from the stored bytes (e.g. after the extractor changed);
    return the ids sent. `ids`, `stale` and `since`/`until` (ISO 8601 bounds on when a
    document was received, see queries.received_conditions) narrow the choice together.
    Raises NotSent if the broker does not take them (they stay queued).
    """
    with transaction(rt.sessions) as session:
        # only finished originals: duplicates and rejected files have no bytes of their
        # own, and a document in flight is left to its worker
        chosen = reprocess_candidates(
            session, ids=ids, since=since, until=until,
            stale=STALE if stale else None)
        pipeline.reset_for_reprocess(session, chosen)
    send_queued(rt.sessions, enqueue, [chosen])
    return chosen
