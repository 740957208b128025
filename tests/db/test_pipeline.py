"""The pipeline's writes on SQLite and PostgreSQL: intake, claims, idempotent stages."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select, text

from db import migrate, pipeline
from db.engine import make_engine, make_session_factory, transaction
from db.models import (
    Article,
    Document,
    DocumentStatus,
    Stage,
    StageRun,
    StageState,
    utcnow,
)
from tests.conftest import fresh_postgres_database


@contextmanager
def statements_run(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The (statement, parameters) the engine sends inside the block, in order."""
    statements: list[tuple[str, Any]] = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", remember)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", remember)


def query_plan(engine: Engine, statement: str, parameters: Any) -> str:
    """The database's plan for a statement as it was sent, as one line of text."""
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        return " ".join(str(row) for row in conn.exec_driver_sql(explain + statement,
                                                                 parameters))


def take(db_sessions, sha="a" * 64, path="a.txt", content=b"hello"):
    with transaction(db_sessions) as s:
        return pipeline.take_in(s, sha256=sha, source_path=path, content=content)


def test_same_bytes_under_another_name_is_a_duplicate_of_the_first(db_sessions):
    first = take(db_sessions, path="a.txt")
    second = take(db_sessions, path="copy of a.txt")
    assert first.status is DocumentStatus.QUEUED
    assert second.status is DocumentStatus.DUPLICATE
    assert second.duplicate_of == first.document_id


def test_rejected_row_keeps_its_reason(db_sessions):
    with transaction(db_sessions) as s:
        doc_id = pipeline.record_rejected(s, source_path="big.txt", reason="too big",
                                          kind="too_large")
    with transaction(db_sessions) as s:
        doc = s.get(Document, doc_id)
        assert (doc.status, doc.last_error, doc.error_kind) == (
            DocumentStatus.REJECTED, "too big", "too_large")


def test_a_finished_document_is_not_claimed_again(db_sessions):
    doc = take(db_sessions)
    with transaction(db_sessions) as s:
        [claim] = pipeline.claim(s, [doc.document_id], max_attempts=3)
    assert (claim.stage, claim.attempt) == (Stage.CLEAN, 1)
    now = utcnow()
    runs = [pipeline.StageResult(doc.document_id, stage, 1, StageState.SUCCEEDED, now, now)
            for stage in Stage]
    with transaction(db_sessions) as s:
        pipeline.record_results(s, runs, worker="w", extractor_version="1")
    with transaction(db_sessions) as s:
        # the same message again: the document is done, nothing is claimed or recorded
        assert pipeline.claim(s, [doc.document_id], max_attempts=3) == []
        d = s.get(Document, doc.document_id)
        assert (d.stage, d.stage_state, d.status) == (
            Stage.PERSIST, StageState.SUCCEEDED, DocumentStatus.DONE)
        assert s.scalar(select(func.count()).select_from(StageRun)) == 3


def test_a_retry_is_claimed_at_the_stage_that_failed(db_sessions):
    doc = take(db_sessions)
    now = utcnow()
    with transaction(db_sessions) as s:
        pipeline.claim(s, [doc.document_id], max_attempts=3)
        pipeline.record_results(s, [
            pipeline.StageResult(doc.document_id, Stage.CLEAN, 1, StageState.SUCCEEDED,
                                 now, now),
            pipeline.StageResult(doc.document_id, Stage.EXTRACT, 1, StageState.RETRYING,
                                 now, now, error="busy", error_kind="transient"),
        ], worker="w", extractor_version="1")
    with transaction(db_sessions) as s:
        [claim] = pipeline.claim(s, [doc.document_id], max_attempts=3)
    assert (claim.stage, claim.attempt) == (Stage.EXTRACT, 2)


def test_a_document_whose_workers_keep_dying_is_failed_not_claimed_forever(db_sessions):
    doc = take(db_sessions)
    for _ in range(2):  # two attempts that never recorded an outcome
        with transaction(db_sessions) as s:
            assert pipeline.claim(s, [doc.document_id], max_attempts=2)
    with transaction(db_sessions) as s:
        assert pipeline.claim(s, [doc.document_id], max_attempts=2) == []
        d = s.get(Document, doc.document_id)
        assert d.status is DocumentStatus.FAILED
        assert d.error_kind == "worker_lost"


def test_persist_twice_leaves_one_article(db_sessions):
    doc = take(db_sessions)
    row = {"document_id": doc.document_id, "title": "T", "body": "b", "authors": [],
           "paragraphs": ["b"], "related": [], "tags": [], "word_count": 1,
           "extractor_version": "1"}
    with transaction(db_sessions) as s:
        assert pipeline.upsert_articles(s, [row]) == {doc.document_id}
    with transaction(db_sessions) as s:
        assert pipeline.upsert_articles(s, [{**row, "title": "T2"}]) == set()
    with transaction(db_sessions) as s:
        titles = s.scalars(select(Article.title)).all()
    assert titles == ["T2"]


def test_a_failure_names_its_extractor_until_the_document_is_sent_back(db_sessions):
    doc = take(db_sessions)
    now = utcnow()
    with transaction(db_sessions) as s:
        pipeline.claim(s, [doc.document_id], max_attempts=3)
        pipeline.record_results(s, [pipeline.StageResult(
            doc.document_id, Stage.EXTRACT, 1, StageState.FAILED, now, now, None,
            "no article text found", "not_an_article")], worker="w", extractor_version="7")
    with transaction(db_sessions) as s:
        assert s.get(Document, doc.document_id).failed_extractor_version == "7"
        pipeline.requeue(s, [doc.document_id], Stage.CLEAN, reset_attempts=True)  # retry
    with transaction(db_sessions) as s:
        # queued, it is failed no more; and a worker lost now is no extractor's verdict
        assert s.get(Document, doc.document_id).failed_extractor_version is None


def test_drop_articles_takes_only_those_of_documents_still_claimed(db_sessions):
    claimed, finished = take(db_sessions), take(db_sessions, sha="b" * 64, path="b.txt")
    rows = [{"document_id": d.document_id, "title": "T", "body": "b", "authors": [],
             "paragraphs": ["b"], "related": [], "tags": [], "word_count": 1,
             "extractor_version": "1"} for d in (claimed, finished)]
    with transaction(db_sessions) as s:
        pipeline.claim(s, [claimed.document_id], max_attempts=3)
        pipeline.upsert_articles(s, rows)
    with transaction(db_sessions) as s:
        # the second finished meanwhile (a late duplicate run must not take its article)
        s.get(Document, finished.document_id).status = DocumentStatus.DONE
    with transaction(db_sessions) as s:
        pipeline.drop_articles(s, [claimed.document_id, finished.document_id])
    with transaction(db_sessions) as s:
        assert s.scalars(select(Article.document_id)).all() == [finished.document_id]


def test_a_document_running_again_keeps_its_article_in_every_status_it_passes(db_sessions):
    # what `--status` of articles, search and export can ask for: the statuses a
    # document holding an article can have
    doc, copy = take(db_sessions), take(db_sessions, path="copy.txt")
    row = {"document_id": doc.document_id, "title": "T", "body": "b", "authors": [],
           "paragraphs": ["b"], "related": [], "tags": [], "word_count": 1,
           "extractor_version": "1"}
    now = utcnow()
    seen = []

    def status_with_article():
        with transaction(db_sessions) as s:
            rows = s.execute(select(Document.status).join(
                Article, Article.document_id == Document.id)).scalars().all()
        assert len(rows) == 1, "the article is gone"
        seen.append(rows[0])

    with transaction(db_sessions) as s:
        pipeline.claim(s, [doc.document_id], max_attempts=3)
        pipeline.upsert_articles(s, [row])
        pipeline.record_results(s, [pipeline.StageResult(
            doc.document_id, stage, 1, StageState.SUCCEEDED, now, now) for stage in Stage],
            worker="w", extractor_version="1")
    status_with_article()
    with transaction(db_sessions) as s:  # reprocess
        pipeline.reset_for_reprocess(s, [doc.document_id])
    status_with_article()
    with transaction(db_sessions) as s:
        pipeline.claim(s, [doc.document_id], max_attempts=3)
    status_with_article()
    with transaction(db_sessions) as s:
        pipeline.record_results(s, [pipeline.StageResult(
            doc.document_id, Stage.CLEAN, 1, StageState.FAILED, now, now, error="x",
            error_kind="binary")], worker="w", extractor_version="1")
    status_with_article()
    assert seen == [DocumentStatus.DONE, DocumentStatus.QUEUED, DocumentStatus.PROCESSING,
                    DocumentStatus.FAILED]
    assert set(seen) == set(pipeline.ArticleStatus)
    assert copy.status not in set(pipeline.ArticleStatus)
    assert DocumentStatus.REJECTED not in set(pipeline.ArticleStatus)


def test_expired_leases_resume_at_the_right_stage(db_sessions):
    queued = take(db_sessions, sha="b" * 64, path="b.txt")
    retrying = take(db_sessions, sha="c" * 64, path="c.txt")
    running = take(db_sessions, sha="f" * 64, path="f.txt")
    now = utcnow()
    with transaction(db_sessions) as s:
        pipeline.claim(s, [retrying.document_id, running.document_id], max_attempts=3)
        pipeline.record_results(s, [
            pipeline.StageResult(retrying.document_id, Stage.CLEAN, 1, StageState.SUCCEEDED,
                                 now, now),
            pipeline.StageResult(retrying.document_id, Stage.EXTRACT, 1, StageState.RETRYING,
                                 now, now, error="busy", error_kind="transient"),
        ], worker="w", extractor_version="1")
    with transaction(db_sessions) as s:
        assert pipeline.expired_leases(s, timedelta(seconds=60)) == []
        found = pipeline.expired_leases(s, timedelta(seconds=-1))
    assert sorted(found) == sorted([(queued.document_id, Stage.CLEAN, False, False),
                                    (retrying.document_id, Stage.EXTRACT, False, False),
                                    (running.document_id, Stage.CLEAN, True, False)])


def test_an_ended_lease_is_over_under_any_lease_and_spares_a_claimed_document(db_sessions):
    # Given two queued documents whose messages the broker refused, one of them claimed
    # meanwhile (its message got through after all)
    unsent = take(db_sessions, sha="b" * 64, path="b.txt")
    claimed = take(db_sessions, sha="c" * 64, path="c.txt")
    with transaction(db_sessions) as s:
        pipeline.claim(s, [claimed.document_id], max_attempts=3)
    # When their leases are ended
    with transaction(db_sessions) as s:
        pipeline.end_leases(s, [unsent.document_id, claimed.document_id])
    # Then the queued one is due under the longest lease NEWSDROP_LEASE_S takes, and
    # known as refused; the claimed one, which a worker holds, keeps its lease
    with transaction(db_sessions) as s:
        assert pipeline.expired_leases(s, timedelta(weeks=1)) == [
            (unsent.document_id, Stage.CLEAN, False, True)]
    # and a worker that claims it from a message that got through records no wait, as
    # when it was queued is not known
    with transaction(db_sessions) as s:
        [claim] = pipeline.claim(s, [unsent.document_id], max_attempts=3)
        assert claim.queued_at is None
        now = utcnow()
        pipeline.record_results(s, [pipeline.StageResult(
            unsent.document_id, Stage.CLEAN, 1, StageState.RETRYING, now, now,
            queued_at=claim.queued_at, error="busy", error_kind="transient")], worker="w",
            extractor_version="1")
    with transaction(db_sessions) as s:
        run = s.scalars(select(StageRun)
                        .where(StageRun.document_id == unsent.document_id)).one()
        assert (run.queued_at, run.wait_ms) == (None, None)


def test_a_claim_made_while_the_reconciler_looks_is_not_undone_by_its_requeue(db_sessions):
    # Given a document whose lease is over, and a worker that claims it just after the
    # reconciler has found it expired and before it requeues it
    doc = take(db_sessions).document_id
    looked, claimed = threading.Event(), threading.Event()
    claims: list[Any] = []

    def worker() -> None:
        looked.wait(10)
        with transaction(db_sessions) as s:
            claims.extend(pipeline.claim(s, [doc], max_attempts=3))
        claimed.set()

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        with transaction(db_sessions) as s:
            expired = pipeline.expired_leases(s, timedelta(seconds=-1))
            looked.set()
            claimed.wait(1)  # the claim waits for this transaction, or it is made now
            pipeline.requeue(s, [e.document_id for e in expired], Stage.CLEAN,
                             reason="re-enqueued")
    finally:
        thread.join(10)
    # Then the worker's claim stands: it comes after the requeue, not before it
    assert [c.document_id for c in claims] == [doc]
    with transaction(db_sessions) as s:
        assert s.get(Document, doc).status is DocumentStatus.PROCESSING


def test_a_late_result_does_not_undo_a_finished_document(db_sessions):
    doc = take(db_sessions)
    now = utcnow()
    done = [pipeline.StageResult(doc.document_id, stage, 1, StageState.SUCCEEDED, now, now)
            for stage in Stage]
    with transaction(db_sessions) as s:
        pipeline.claim(s, [doc.document_id], max_attempts=3)
        pipeline.record_results(s, done, worker="fast", extractor_version="1")
        # a duplicate delivery that ran alongside reports a transient failure afterwards
        pipeline.record_results(s, [pipeline.StageResult(
            doc.document_id, Stage.CLEAN, 1, StageState.RETRYING, now, now,
            error="busy", error_kind="transient")], worker="slow", extractor_version="1")
    with transaction(db_sessions) as s:
        d = s.get(Document, doc.document_id)
    assert d.status is DocumentStatus.DONE and d.last_error is None


def test_boilerplate_counts_add_up_per_source(db_sessions):
    with transaction(db_sessions) as s:
        pipeline.add_boilerplate_counts(s, {("site", "share this"): 2, ("site", "x"): 1})
        pipeline.add_boilerplate_counts(s, {("site", "share this"): 1})
    with transaction(db_sessions) as s:
        assert pipeline.recurring_lines(s, "site", 3) == {"share this": 3}
        assert pipeline.recurring_lines(s, "other", 1) == {}


def test_recurring_lines_are_read_from_their_index_not_from_every_line_of_the_source(
        db_sessions):
    # A source gathers about eight counted lines per document, nearly all seen once; the
    # few that recur must be found without reading the others.
    with transaction(db_sessions) as s:
        pipeline.add_boilerplate_counts(s, {("site", f"line {i}"): 3 if i % 100 == 0 else 1
                                            for i in range(2000)})
    engine = db_sessions.kw["bind"]
    with statements_run(engine) as statements, transaction(db_sessions) as s:
        recurring = pipeline.recurring_lines(s, "site", 3)
    assert len(recurring) == 20
    assert "ix_boilerplate_lines_recurring" in query_plan(engine, *statements[-1])


def test_take_in_many_settles_copies_inside_the_batch_and_files_seen_again(db_sessions):
    first = take(db_sessions, sha="d" * 64, path="old.txt")
    items = [
        pipeline.Incoming("e" * 64, "new.txt", b"new"),
        pipeline.Incoming("e" * 64, "new copy.txt", b"new"),  # copy within the batch
        pipeline.Incoming("d" * 64, "old copy.txt", b"old"),  # copy of an earlier one
        pipeline.Incoming("d" * 64, "old.txt", b"old"),  # the same file seen again
        pipeline.Incoming("e" * 64, "new copy.txt", b"new"),  # twice in one batch
    ]
    with transaction(db_sessions) as s:
        new, copy, old_copy, again, twice = pipeline.take_in_many(s, items)
    assert new.status is DocumentStatus.QUEUED
    assert (copy.status, copy.duplicate_of) == (DocumentStatus.DUPLICATE, new.document_id)
    assert (old_copy.status, old_copy.duplicate_of) == (DocumentStatus.DUPLICATE,
                                                        first.document_id)
    # seen again: nothing recorded, and the document each was taken in as
    assert again == pipeline.IntakeResult(first.document_id, None)
    assert twice == pipeline.IntakeResult(copy.document_id, None)
    with transaction(db_sessions) as s:
        assert s.scalar(select(func.count()).select_from(Document)) == 4


def test_the_same_file_stored_by_another_intake_meanwhile_is_no_duplicate_of_itself(
        db_sessions):
    # two `ingest` runs of one folder: the loser of the race finds the same bytes under
    # the same name, which it records as seen again, not as a duplicate of itself
    first = take(db_sessions, path="a.txt")
    with transaction(db_sessions) as s:
        again = pipeline.take_in(s, sha256="a" * 64, source_path="a.txt", content=b"hello")
        other = pipeline.take_in(s, sha256="a" * 64, source_path="b.txt", content=b"hello")
    assert (again.document_id, again.status) == (first.document_id, None)
    assert other.status is DocumentStatus.DUPLICATE
    assert other.duplicate_of == first.document_id


@pytest.mark.postgres
@pytest.mark.parametrize("db_sessions", ["postgres"], indirect=True)
def test_take_in_many_settles_each_item_when_another_intake_stores_the_same_bytes(
        db_sessions, monkeypatch):
    # Only PostgreSQL lets another intake commit between this batch's lookup and its
    # insert: SQLite's writers take the database's write lock when they begin.
    first = take(db_sessions, sha="d" * 64, path="old.txt")
    elsewhere = []
    insert_documents = pipeline._insert_documents

    def another_intake_first(session, rows):
        if not elsewhere:  # the same bytes, under another name, committed just now
            elsewhere.append(take(db_sessions, sha="e" * 64, path="elsewhere.txt"))
        return insert_documents(session, rows)

    monkeypatch.setattr(pipeline, "_insert_documents", another_intake_first)
    items = [
        pipeline.Incoming("d" * 64, "old.txt", b"old"),  # the same file seen again
        pipeline.Incoming("e" * 64, "new.txt", b"new"),  # meets the other intake's row
        pipeline.Incoming("e" * 64, "new.txt", b"new"),  # twice in one batch
        pipeline.Incoming("f" * 64, "f.txt", b"f"),
    ]
    with transaction(db_sessions) as s:
        again, new, twice, other = pipeline.take_in_many(s, items)
    [original] = elsewhere
    assert again == pipeline.IntakeResult(first.document_id, None)
    assert (new.status, new.duplicate_of) == (DocumentStatus.DUPLICATE, original.document_id)
    assert twice == pipeline.IntakeResult(new.document_id, None)
    assert other.status is DocumentStatus.QUEUED
    with transaction(db_sessions) as s:
        rows = s.execute(select(Document.id, Document.source_path, Document.status)
                         .order_by(Document.id)).all()
    assert [(r.source_path, r.status) for r in rows] == [
        ("old.txt", DocumentStatus.QUEUED), ("elsewhere.txt", DocumentStatus.QUEUED),
        ("new.txt", DocumentStatus.DUPLICATE), ("f.txt", DocumentStatus.QUEUED)]
    assert [r.id for r in rows[2:]] == [new.document_id, other.document_id]


def test_fingerprints_alike_in_their_first_255_characters_count_as_one(db_sessions):
    # stored keys are cut to 255 characters; one statement must not touch a row twice
    long_a, long_b = "x" * 255 + "a", "x" * 255 + "b"
    with transaction(db_sessions) as s:
        pipeline.add_boilerplate_counts(s, {("site", long_a): 1, ("site", long_b): 2})
    with transaction(db_sessions) as s:
        assert pipeline.recurring_lines(s, "site", 1) == {"x" * 255: 3}


def test_a_batch_of_results_sets_each_documents_own_state(db_sessions):
    done, retry, failed = (take(db_sessions, sha=c * 64, path=f"{c}.txt") for c in "fgh")
    ids = [done.document_id, retry.document_id, failed.document_id]
    with transaction(db_sessions) as s:
        pipeline.claim(s, ids, max_attempts=3)
    now = utcnow()
    runs = [pipeline.StageResult(done.document_id, stage, 1, StageState.SUCCEEDED, now, now)
            for stage in Stage]
    runs.append(pipeline.StageResult(retry.document_id, Stage.CLEAN, 1, StageState.RETRYING,
                                     now, now, error="db away", error_kind="transient"))
    runs.append(pipeline.StageResult(failed.document_id, Stage.CLEAN, 1, StageState.FAILED,
                                     now, now, error="not text", error_kind="decode"))
    with transaction(db_sessions) as s:
        pipeline.record_results(s, runs, worker="w", extractor_version="1")
    with transaction(db_sessions) as s:
        rows = {d.id: d for d in s.scalars(select(Document).where(Document.id.in_(ids)))}
        assert (rows[done.document_id].status, rows[done.document_id].finished_at
                is not None) == (DocumentStatus.DONE, True)
        # the attempts its last stage took, as for any other state (not 0: "never tried")
        assert rows[done.document_id].attempts == 1
        assert (rows[retry.document_id].status, rows[retry.document_id].stage_state,
                rows[retry.document_id].last_error) == (
            DocumentStatus.QUEUED, StageState.RETRYING, "db away")
        assert (rows[failed.document_id].status, rows[failed.document_id].error_kind) == (
            DocumentStatus.FAILED, "decode")
        history = s.execute(select(StageRun.document_id, StageRun.stage, StageRun.state,
                                   StageRun.worker).order_by(StageRun.id)).all()
    assert len(history) == 5
    assert history[-1] == (failed.document_id, Stage.CLEAN,
                           StageState.FAILED, "w")


def test_load_raw_returns_every_byte_and_the_source_path(db_sessions):
    content = bytes(range(256)) * 400  # NULs, high bytes, ~100 KB
    items = [pipeline.Incoming("b" * 64, "dir/page.html", content),
             pipeline.Incoming("c" * 64, "other.txt", b"")]
    with transaction(db_sessions) as s:
        page, empty = pipeline.take_in_many(s, items)
    with transaction(db_sessions) as s:
        raw = pipeline.load_raw(s, [page.document_id, empty.document_id, 999])
    assert raw == {page.document_id: (content, "dir/page.html"),
                   empty.document_id: (b"", "other.txt")}


@pytest.mark.postgres
def test_batch_lookups_cost_the_same_on_a_table_postgres_has_no_statistics_for():
    # Without statistics PostgreSQL guesses that each looked-up value matches 0.5% of the
    # rows, so a batch of a few hundred values would scan the whole table, and every
    # intake would cost more as the table grows. A database of its own: nothing has
    # analysed it.
    with fresh_postgres_database("nd_stats") as url:
        engine = make_engine(url)
        try:
            migrate.upgrade(engine)
            _check_batch_lookups_without_statistics(make_session_factory(engine))
        finally:
            engine.dispose()


def _check_batch_lookups_without_statistics(sessions):
    with transaction(sessions) as s:
        pipeline.take_in_many(s, [pipeline.Incoming(f"{i:064x}", f"f{i}.txt", b"x", i)
                                  for i in range(3000)])
        assert s.scalar(text("SELECT count(*) FROM pg_stats "
                             "WHERE tablename = 'documents'")) == 0
    # this transaction's own scan counters (the view adds those not yet reported)
    scans = text("SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables "
                 "WHERE relname = 'documents'")
    with transaction(sessions) as s:
        before = s.execute(scans).one()
        results = pipeline.take_in_many(s, [pipeline.Incoming(f"{i:064x}", f"g{i}.txt", b"x", 1)
                                            for i in range(2800, 3200)])
        taken = pipeline.taken_files(s, [(f"f{i}.txt", 1, i) for i in range(1000)])
        after = s.execute(scans).one()
        # and the setting is back for whatever else the transaction does
        assert s.scalar(text("SHOW enable_seqscan")) == "on"
    assert [r.status for r in results] == [DocumentStatus.DUPLICATE] * 200 + [
        DocumentStatus.QUEUED] * 200
    assert len(taken) == 1000
    assert after.seq_scan == before.seq_scan
    assert after.idx_scan > before.idx_scan

    # claims look rows up by id alone: intersected with a scan of the status index,
    # each claim would read an entry per queued document, the whole backlog
    status_scans = text("SELECT pg_stat_get_xact_numscans("
                        "'ix_documents_status_updated'::regclass)")
    with transaction(sessions) as s:
        before_claim = s.execute(status_scans).scalar_one()
        claims = pipeline.claim(s, list(range(1, 101)), max_attempts=5)
        after_claim = s.execute(status_scans).scalar_one()
    assert len(claims) == 100
    assert after_claim == before_claim


# ---------------------------------------------------------------- latency and the oldest


def _finish(sessions, doc_id: int, state: StageState = StageState.SUCCEEDED) -> None:
    """Claim `doc_id` and record its run: every stage left succeeding, or its current
    stage ending in `state`."""
    with transaction(sessions) as s:
        [claim] = pipeline.claim(s, [doc_id], max_attempts=5)
        now = utcnow()
        stages = list(Stage)[list(Stage).index(claim.stage):]
        if state is not StageState.SUCCEEDED:
            stages = stages[:1]
        failed = state is not StageState.SUCCEEDED
        pipeline.record_results(s, [
            pipeline.StageResult(doc_id, stage, claim.attempt, state, now, now,
                                 error="busy" if failed else None,
                                 error_kind="transient" if failed else None)
            for stage in stages], worker="w", extractor_version="1")


def test_a_pass_is_queued_at_intake_and_duplicates_and_rejected_files_have_none(
        db_sessions):
    first = take(db_sessions)
    copy = take(db_sessions, path="copy.txt")
    with transaction(db_sessions) as s:
        [batch, batch_copy] = pipeline.take_in_many(s, [
            pipeline.Incoming("b" * 64, "b.txt", b"b"),
            pipeline.Incoming("b" * 64, "b copy.txt", b"b")])
        rejected = pipeline.record_rejected(s, source_path="big.txt", reason="too big",
                                            kind="too_large")
    with transaction(db_sessions) as s:
        rows = {d.id: d for d in s.scalars(select(Document))}
    for taken in (first, batch):
        doc = rows[taken.document_id]
        assert doc.pass_queued_at is not None and doc.pass_queued_at == doc.received_at
    for other in (copy.document_id, batch_copy.document_id, rejected):
        assert rows[other].pass_queued_at is None


def test_latency_and_the_oldest_age_count_from_when_the_current_pass_was_queued(
        db_sessions, monkeypatch):
    from db.queries import latency_percentiles, oldest_unfinished_age_s

    def at(when):  # the pipeline's writes happen at `when`
        monkeypatch.setattr(pipeline, "utcnow", lambda: when)

    def figures():
        with transaction(db_sessions) as s:
            return latency_percentiles(s)["p50"], oldest_unfinished_age_s(s)

    now = utcnow()
    at(now - timedelta(days=1))
    with transaction(db_sessions) as s:
        doc_id = pipeline.take_in(s, sha256="a" * 64, source_path="a.txt",
                                  content=b"a").document_id
    _, oldest = figures()
    assert oldest == pytest.approx(86_400, abs=60)
    monkeypatch.undo()
    _finish(db_sessions, doc_id)
    # a first pass counts from intake, when the file was dropped
    latency, oldest = figures()
    assert latency == pytest.approx(86_400, abs=60) and oldest is None

    # reprocessed two hours ago: its new pass is two hours old, not a day
    at(now - timedelta(hours=2))
    with transaction(db_sessions) as s:
        pipeline.reset_for_reprocess(s, [doc_id])
    assert figures()[1] == pytest.approx(7_200, abs=60)
    # a worker's retry after a transient error, and the reconciler sending it again after
    # a lost message, go on with the same pass: the wait is part of its latency
    at(now - timedelta(hours=1))
    _finish(db_sessions, doc_id, StageState.RETRYING)
    with transaction(db_sessions) as s:
        pipeline.requeue(s, [doc_id], Stage.CLEAN, reason="re-enqueued")
    assert figures()[1] == pytest.approx(7_200, abs=60)
    _finish(db_sessions, doc_id, StageState.FAILED)
    monkeypatch.undo()

    # `retry` starts a pass of its own, now
    with transaction(db_sessions) as s:
        pipeline.requeue(s, [doc_id], Stage.CLEAN, reset_attempts=True)
    assert figures()[1] < 60
    _finish(db_sessions, doc_id)
    latency, oldest = figures()
    assert latency < 60 and oldest is None


def test_the_oldest_unfinished_document_is_read_from_an_index_of_the_unfinished(db_sessions):
    from db.queries import oldest_unfinished_age_s

    # a backlog of queued documents beside finished ones: through the status index,
    # finding the oldest of them would read every queued row
    with transaction(db_sessions) as s:
        results = pipeline.take_in_many(s, [pipeline.Incoming(f"{i:064x}", f"{i}.txt", b"x")
                                            for i in range(2000)])
        s.execute(Document.__table__.update()
                  .where(Document.id.in_([r.document_id for r in results[:1000]]))
                  .values(status=DocumentStatus.DONE))
    engine = db_sessions.kw["bind"]
    with statements_run(engine) as statements, transaction(db_sessions) as s:
        assert oldest_unfinished_age_s(s) is not None
    [oldest] = [(st, p) for st, p in statements if "documents" in st]
    plan = query_plan(engine, *oldest)
    assert "ix_documents_unfinished_pass_queued" in plan, plan


# ---------------------------------------------------------------- run times


def test_runs_under_a_millisecond_keep_their_time_and_the_figures_agree(db_sessions):
    from db.queries import stage_duration_histogram, stage_durations

    docs = [take(db_sessions, sha=f"{i:064x}", path=f"{i}.txt").document_id
            for i in range(20)]
    start = utcnow()
    with transaction(db_sessions) as s:
        claims = pipeline.claim(s, docs, max_attempts=3)
        # extract runs of 0.10, 0.15 … 1.05 ms, and clean runs of 1.996 ms: whole
        # milliseconds, truncated, made all but one of the first 0 and the second 1
        pipeline.record_results(s, [
            result for n, c in enumerate(claims) for result in (
                pipeline.StageResult(c.document_id, Stage.CLEAN, 1, StageState.SUCCEEDED,
                                     start, start + timedelta(microseconds=1996),
                                     start - timedelta(microseconds=999)),
                pipeline.StageResult(c.document_id, Stage.EXTRACT, 1, StageState.SUCCEEDED,
                                     start, start + timedelta(microseconds=100 + 50 * n),
                                     start))], worker="w", extractor_version="1")
    with transaction(db_sessions) as s:
        stored = sorted(s.execute(select(StageRun.stage, StageRun.duration_ms,
                                         StageRun.wait_ms)).all())
        durations = stage_durations(s)
        histogram = stage_duration_histogram(s, [1, 5])
    assert [(ms, wait) for stage, ms, wait in stored if stage is Stage.CLEAN] == [
        (2.0, 0)] * 20  # to 0.01 ms; a wait stays in whole milliseconds
    assert sorted(ms for stage, ms, _ in stored if stage is Stage.EXTRACT) == [
        pytest.approx(0.1 + 0.05 * n) for n in range(20)]
    # the average and the p95 from the same values: the average below the p95
    assert durations["extract"] == {"runs": 20, "avg_ms": 0.57, "p95_ms": 1.05}
    assert durations["clean"] == {"runs": 20, "avg_ms": 2.0, "p95_ms": 2.0}
    assert histogram["extract"]["buckets"] == [(1, 19), (5, 20)]
    assert histogram["extract"]["sum_ms"] == pytest.approx(11.5)
    assert histogram["clean"]["sum_ms"] == pytest.approx(40.0)
