"""Deleting documents on SQLite and PostgreSQL: what goes, what stays, what is left alone."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from db import pipeline
from db.engine import reading, transaction
from db.models import (
    Article,
    Document,
    DocumentContent,
    DocumentStatus,
    StageOutput,
    StageRun,
)
from db.removal import delete_documents
from db.search import search
from tasks.runner import RunnerOptions, run_batch

SAMPLE = (Path(__file__).resolve().parent.parent / "fixtures" / "sample_seed.txt").read_bytes()


def take(db_sessions, *files: tuple[str, bytes, int]) -> list[pipeline.IntakeResult]:
    with transaction(db_sessions) as s:
        return pipeline.take_in_many(s, [
            pipeline.Incoming(hashlib.sha256(data).hexdigest(), name, data, mtime)
            for name, data, mtime in files])


def processed(db_sessions, *files: tuple[str, bytes, int]) -> list[int]:
    """Documents taken in and run through every stage, as a worker would."""
    ids = [r.document_id for r in take(db_sessions, *files)]
    run_batch(db_sessions, ids, options=RunnerOptions(), worker="test")
    return ids


def delete(db_sessions, *ids: int):
    with transaction(db_sessions) as s:
        return delete_documents(s, list(ids))


def rows_of(db_sessions, doc_id: int) -> dict[str, int]:
    with reading(db_sessions) as s:
        return {model.__tablename__: s.scalar(select(func.count()).select_from(model)
                                               .where(model.document_id == doc_id))
                for model in (Article, DocumentContent, StageOutput, StageRun)}


def test_a_deleted_document_keeps_its_file_name_size_and_mtime_and_its_runs_as_counts(db_sessions):
    [doc_id] = processed(db_sessions, ("a.txt", SAMPLE, 111))
    assert rows_of(db_sessions, doc_id)["articles"] == 1
    with reading(db_sessions) as s:
        assert len(search(s, "Leiderman")) == 1

    done = delete(db_sessions, doc_id)

    assert done.deleted == [doc_id]
    # its runs stay as counts only (the metrics' counters never go down)
    assert rows_of(db_sessions, doc_id) == {
        "articles": 0, "document_contents": 0, "stage_outputs": 0, "stage_runs": 3}
    with reading(db_sessions) as s:
        doc = s.get(Document, doc_id)
        assert doc is not None
        assert (doc.status, doc.sha256, doc.stage, doc.source_path, doc.size_bytes,
                doc.source_mtime_ns) == (DocumentStatus.DELETED, None, None, "a.txt",
                                         len(SAMPLE), 111)
        assert doc.finished_at is not None
        assert search(s, "Leiderman") == []  # the search index forgot it too
        # the watcher does not read that file again while it is unchanged
        assert pipeline.taken_files(s, [("a.txt", len(SAMPLE), 111)]) == {
            ("a.txt", len(SAMPLE), 111)}


def test_deleting_documents_takes_nothing_from_the_run_counts_and_keeps_no_error_text(
        db_sessions):
    from db.queries import stage_duration_histogram, stage_run_counts

    # Given a document that failed (binary bytes) and one that was processed
    bad, good = processed(db_sessions, ("bad.txt", b"\x00\x01binary" * 50, 1),
                          ("a.txt", SAMPLE, 2))
    with reading(db_sessions) as s:
        counts, histogram = stage_run_counts(s), stage_duration_histogram(s, [1.0, 100.0])
    assert counts[("clean", "failed")] == 1

    delete(db_sessions, bad, good)

    # Then what /metrics counts is as it was, and the failure's words are gone
    with reading(db_sessions) as s:
        assert stage_run_counts(s) == counts
        assert stage_duration_histogram(s, [1.0, 100.0]) == histogram
        assert s.scalars(select(StageRun.error).where(
            StageRun.document_id.in_([bad, good]))).all() == [None] * 4


def test_the_same_bytes_dropped_again_are_a_new_document(db_sessions):
    [doc_id] = processed(db_sessions, ("a.txt", SAMPLE, 111))
    delete(db_sessions, doc_id)

    # copied in again (another mtime), under the same name or another
    again, other = take(db_sessions, ("a.txt", SAMPLE, 222), ("b.txt", SAMPLE, 333))

    assert again.status is DocumentStatus.QUEUED
    assert again.document_id != doc_id
    assert (other.status, other.duplicate_of) == (DocumentStatus.DUPLICATE, again.document_id)


def test_duplicates_go_with_their_original_but_not_the_other_way(db_sessions):
    original, copy, other_copy = (r.document_id for r in take(
        db_sessions, ("a.txt", SAMPLE, 1), ("copy.txt", SAMPLE, 2), ("copy2.txt", SAMPLE, 3)))

    done = delete(db_sessions, other_copy)
    assert (done.deleted, done.duplicates) == ([other_copy], [])
    with reading(db_sessions) as s:
        assert s.get(Document, original).status is DocumentStatus.QUEUED
        assert s.get(Document, copy).status is DocumentStatus.DUPLICATE

    done = delete(db_sessions, original)
    assert (done.deleted, done.duplicates) == ([original], [copy])
    with reading(db_sessions) as s:
        assert {d.status for d in s.scalars(select(Document))} == {DocumentStatus.DELETED}
        assert s.scalar(select(func.count()).select_from(Document)
                        .where(Document.duplicate_of.is_not(None))) == 0


def test_a_document_a_worker_holds_is_left_alone_and_one_deleted_is_not_claimed(db_sessions):
    busy, queued = (r.document_id for r in take(db_sessions, ("a.txt", SAMPLE, 1),
                                                ("b.txt", SAMPLE + b"\nmore", 2)))
    with transaction(db_sessions) as s:
        pipeline.claim(s, [busy], max_attempts=5)

    done = delete(db_sessions, busy, queued)

    assert (done.deleted, done.busy) == ([queued], [busy])
    assert rows_of(db_sessions, busy)["document_contents"] == 1
    with transaction(db_sessions) as s:
        # the message still on its way for the deleted one finds nothing to do
        assert pipeline.claim(s, [queued], max_attempts=5) == []


def test_a_rejected_row_goes_entirely_so_its_file_is_read_when_it_comes_back(db_sessions):
    with transaction(db_sessions) as s:
        rejected = pipeline.record_rejected(s, source_path="big.txt", reason="too big",
                                            kind="too_large", size_bytes=5, source_mtime_ns=1)

    assert delete(db_sessions, rejected).deleted == [rejected]
    with reading(db_sessions) as s:
        assert s.get(Document, rejected) is None
        # put back, it is read (no row holds it) and, rejected again, recorded anew
        assert pipeline.taken_files(s, [("big.txt", 5, 1)]) == set()
        assert pipeline.find_rejected(s, source_path="big.txt", kind="too_large",
                                      size_bytes=5, source_mtime_ns=1) is None


def test_ids_of_no_document_or_deleted_before_are_reported(db_sessions):
    [doc_id] = (r.document_id for r in take(db_sessions, ("a.txt", SAMPLE, 1)))
    delete(db_sessions, doc_id)

    done = delete(db_sessions, doc_id, 999, doc_id)

    assert (done.deleted, done.deleted_before, done.missing) == ([], [doc_id], [999])


def test_a_claim_racing_a_delete_waits_for_it_and_claims_nothing(db_sessions):
    [doc_id] = (r.document_id for r in take(db_sessions, ("a.txt", SAMPLE, 1)))
    claimed: list[list[pipeline.Claim]] = []

    def claim() -> None:
        with transaction(db_sessions) as s:
            claimed.append(pipeline.claim(s, [doc_id], max_attempts=5))

    # Given a delete not yet committed
    with transaction(db_sessions) as s:
        assert delete_documents(s, [doc_id]).deleted == [doc_id]
        # When a worker claims the document meanwhile
        worker = threading.Thread(target=claim)
        worker.start()
        worker.join(timeout=1)
        # Then its claim waits for the delete to commit
        assert worker.is_alive()
    worker.join(timeout=30)
    # and finds the document deleted: it stays so, and nothing runs
    assert claimed == [[]]
    with reading(db_sessions) as s:
        assert s.get(Document, doc_id).status is DocumentStatus.DELETED


def test_a_retry_racing_a_delete_leaves_the_document_deleted(db_sessions):
    from db.models import Stage

    [doc_id] = (r.document_id for r in take(db_sessions, ("a.txt", SAMPLE, 1)))
    delete(db_sessions, doc_id)
    # a retry or reprocess that read the status before the delete committed
    with transaction(db_sessions) as s:
        pipeline.requeue(s, [doc_id], Stage.CLEAN, reset_attempts=True)
    with reading(db_sessions) as s:
        assert s.get(Document, doc_id).status is DocumentStatus.DELETED


def test_a_copy_taken_in_while_its_original_is_deleted_goes_with_it(db_sessions):
    [original] = (r.document_id for r in take(db_sessions, ("a.txt", SAMPLE, 1)))
    deleted: list[Any] = []

    def delete_original() -> None:
        deleted.append(delete(db_sessions, original))

    # Given intake linking a new copy to the original, not yet committed
    with transaction(db_sessions) as s:
        [copy] = pipeline.take_in_many(s, [pipeline.Incoming(
            hashlib.sha256(SAMPLE).hexdigest(), "copy.txt", SAMPLE, 2)])
        assert copy.duplicate_of == original
        # When the original is deleted meanwhile
        deleting = threading.Thread(target=delete_original)
        deleting.start()
        deleting.join(timeout=1)
        assert deleting.is_alive()  # it waits for intake to commit
    deleting.join(timeout=30)
    # Then the copy, which holds no bytes of its own, is deleted with it
    assert (deleted[0].deleted, deleted[0].duplicates) == ([original], [copy.document_id])


# PostgreSQL only: SQLite's writers take turns, so the two intakes cannot overlap there
@pytest.mark.parametrize("db_sessions", [pytest.param("postgres", marks=pytest.mark.postgres)],
                         indirect=True)
def test_two_intakes_of_one_touched_file_do_not_deadlock(db_sessions):
    sha = hashlib.sha256(SAMPLE).hexdigest()
    take(db_sessions, ("a.txt", SAMPLE, 1))
    both_read = threading.Barrier(2)
    errors: list[BaseException] = []

    def intake(mtime: int) -> None:
        # the file seen again (touched): taken in as before, its new mtime recorded
        item = pipeline.Incoming(sha, "a.txt", SAMPLE, mtime)
        try:
            with transaction(db_sessions) as s:
                pipeline.take_in_many(s, [item])
                both_read.wait(timeout=10)
                pipeline.note_seen_again(s, [item])
        except BaseException as exc:  # a deadlock, reported here rather than lost
            errors.append(exc)

    threads = [threading.Thread(target=intake, args=(m,)) for m in (2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
