"""Running stages over batches on a real SQLite database, without Celery."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from db import pipeline
from db.engine import transaction
from db.models import Article, Document, DocumentStatus, Stage, StageRun, StageState
from tasks import runner
from tasks.errors import EmptyDocument, NotAnArticle, StageTimeout, TransientError
from tasks.runner import RunnerOptions, run_batch
from tasks.version import EXTRACTOR_VERSION

SAMPLE = (Path(__file__).parents[1] / "fixtures" / "sample_seed.txt").read_bytes()
OPTIONS = RunnerOptions(max_attempts=3, retry_base_s=0.01, retry_max_s=0.02,
                        boilerplate_cache_s=0.0)


def take(sessions, content: bytes, name: str) -> int:
    import hashlib

    with transaction(sessions) as s:
        return pipeline.take_in(s, sha256=hashlib.sha256(content).hexdigest(),
                                source_path=name, content=content).document_id


def run(sessions, ids):
    return run_batch(sessions, ids, options=OPTIONS, worker="test")


def run_all_stages(sessions, ids):
    return run(sessions, ids).succeeded


def test_the_sample_goes_through_every_stage_into_one_article(sessions):
    doc_id = take(sessions, SAMPLE, "sample.txt")
    assert run_all_stages(sessions, [doc_id]) == [doc_id]
    with transaction(sessions) as s:
        articles = s.scalars(select(Article)).all()
        doc = s.get(Document, doc_id)
        runs = s.scalars(select(StageRun).order_by(StageRun.id)).all()
    assert len(articles) == 1
    assert articles[0].title == "Gov’t reviewing Russia defense ties after expulsion"
    assert doc.status is DocumentStatus.DONE
    assert [(r.stage, r.state) for r in runs] == [
        (Stage.CLEAN, StageState.SUCCEEDED), (Stage.EXTRACT, StageState.SUCCEEDED),
        (Stage.PERSIST, StageState.SUCCEEDED)]
    # persist's time is the batch's write, which no one document owns (docs/querying.md)
    assert runs[2].finished_at == runs[2].started_at and runs[2].duration_ms == 0
    assert runs[1].finished_at > runs[1].started_at


def test_bad_documents_fail_alone_with_a_readable_reason(sessions):
    good = take(sessions, SAMPLE, "good.txt")
    empty = take(sessions, b"", "empty.txt")
    binary = take(sessions, b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "image.txt")
    outcome = run(sessions, [good, empty, binary])
    assert outcome.succeeded == [good]
    assert sorted(outcome.failed) == sorted([empty, binary])
    with transaction(sessions) as s:
        failed = {d.id: d for d in s.scalars(select(Document).where(
            Document.status == DocumentStatus.FAILED))}
    assert set(failed) == {empty, binary}
    assert failed[empty].error_kind == "empty"
    assert failed[binary].error_kind == "binary"
    assert all(d.last_error and d.stage is Stage.CLEAN for d in failed.values())
    # which rules failed them: `reprocess --stale` gives them to a newer extractor
    assert {d.failed_extractor_version for d in failed.values()} == {EXTRACTOR_VERSION}
    with transaction(sessions) as s:
        assert s.get(Document, good).failed_extractor_version is None


def test_transient_errors_retry_then_give_up_with_the_attempt_count(sessions, monkeypatch):
    doc_id = take(sessions, SAMPLE, "flaky.txt")

    def flaky(*_args, **_kwargs):
        raise TransientError("disk busy")

    monkeypatch.setattr(runner, "_run_clean", flaky)
    for attempt in range(1, OPTIONS.max_attempts):
        outcome = run(sessions, [doc_id])
        assert list(outcome.retry) == [doc_id], f"attempt {attempt} should be retried"
        assert 0 < outcome.retry[doc_id] <= OPTIONS.retry_max_s
    outcome = run(sessions, [doc_id])
    assert outcome.failed == [doc_id]
    with transaction(sessions) as s:
        doc = s.get(Document, doc_id)
        states = s.scalars(select(StageRun.state).order_by(StageRun.id)).all()
    assert doc.status is DocumentStatus.FAILED
    assert doc.last_error == f"gave up after {OPTIONS.max_attempts} attempts: disk busy"
    assert states == [StageState.RETRYING] * (OPTIONS.max_attempts - 1) + [StageState.FAILED]


def test_giving_up_after_a_single_attempt_says_one_attempt(sessions, monkeypatch):
    from dataclasses import replace

    doc_id = take(sessions, SAMPLE, "once.txt")

    def flaky(*_args, **_kwargs):
        raise TransientError("disk busy")

    monkeypatch.setattr(runner, "_run_clean", flaky)
    runner.run_batch(sessions, [doc_id], options=replace(OPTIONS, max_attempts=1),
                     worker="test")
    with transaction(sessions) as s:
        assert s.get(Document, doc_id).last_error == "gave up after 1 attempt: disk busy"


def test_a_retry_resumes_at_the_stage_that_failed(sessions, monkeypatch):
    doc_id = take(sessions, SAMPLE, "resume.txt")
    real_extract = runner._run_extract
    monkeypatch.setattr(runner, "_run_extract", lambda _c: (_ for _ in ()).throw(
        TransientError("lock timeout")))
    assert list(run(sessions, [doc_id]).retry) == [doc_id]
    monkeypatch.setattr(runner, "_run_extract", real_extract)

    def clean_must_not_run(*_args, **_kwargs):
        raise AssertionError("clean ran again although it had finished")

    monkeypatch.setattr(runner, "_run_clean", clean_must_not_run)
    assert run(sessions, [doc_id]).succeeded == [doc_id]
    with transaction(sessions) as s:
        runs = s.execute(select(StageRun.stage, StageRun.attempt, StageRun.state)
                         .order_by(StageRun.id)).all()
        doc = s.get(Document, doc_id)
    assert [tuple(r) for r in runs] == [
        (Stage.CLEAN, 1, StageState.SUCCEEDED), (Stage.EXTRACT, 1, StageState.RETRYING),
        (Stage.EXTRACT, 2, StageState.SUCCEEDED), (Stage.PERSIST, 1, StageState.SUCCEEDED)]
    assert doc.status is DocumentStatus.DONE


@pytest.mark.parametrize(("error", "keeps_its_article"), [
    (NotAnArticle("a table: a data file, not the text of a page"), False),
    (EmptyDocument("nothing left"), False),
    (TransientError("disk busy"), True),  # given up on, not a verdict on the bytes
    (StageTimeout("took too long"), True),
])
def test_a_document_run_again_loses_its_article_only_when_its_bytes_hold_none(
        sessions, monkeypatch, error, keeps_its_article):
    doc_id = take(sessions, SAMPLE, "again.txt")
    assert run_all_stages(sessions, [doc_id]) == [doc_id]
    with transaction(sessions) as s:  # `reprocess` after newer rules came in
        pipeline.reset_for_reprocess(s, [doc_id])
    monkeypatch.setattr(runner, "_run_extract", lambda _c: (_ for _ in ()).throw(error))
    for _ in range(OPTIONS.max_attempts):  # a transient error is given up on at the last
        run(sessions, [doc_id])
    with transaction(sessions) as s:
        doc = s.get(Document, doc_id)
        article = s.scalar(select(Article).where(Article.document_id == doc_id))
    assert doc.status is DocumentStatus.FAILED and doc.error_kind == error.kind
    assert (article is not None) == keeps_its_article


def test_a_redelivered_batch_changes_nothing_once_done(sessions):
    doc_id = take(sessions, SAMPLE, "twice.txt")
    run(sessions, [doc_id])
    again = run(sessions, [doc_id])
    assert (again.succeeded, again.skipped) == ([], 1)
    with transaction(sessions) as s:
        assert s.scalar(select(func.count()).select_from(StageRun)) == 3
        assert s.scalar(select(func.count()).select_from(Article)) == 1


def test_a_message_naming_documents_this_database_lacks_says_so(sessions):
    doc_id = take(sessions, SAMPLE, "here.txt")
    outcome = run(sessions, [doc_id, 99_999])
    assert (outcome.succeeded, outcome.unknown, outcome.skipped) == ([doc_id], [99_999], 0)
    again = run(sessions, [doc_id])  # a redelivery: known, and skipped
    assert (again.unknown, again.skipped) == ([], 1)


def test_the_worker_warns_of_a_message_from_another_database(tmp_path, caplog):
    from tasks.celery_tasks import process
    from worker.service import prepare
    from worker.settings import Settings

    rt = prepare(Settings(data_dir=tmp_path))  # an empty database, beside a shared broker
    with caplog.at_level("WARNING", logger="tasks.celery_tasks"):
        process([41, 42])
    rt.engine.dispose()
    [warning] = caplog.messages
    assert warning == (f"this database (sqlite:///{tmp_path / 'newsdrop.db'}) has no "
                       "document 41, 42 of the message it took: does this worker's "
                       "NEWSDROP_DATABASE_URL name the database the watcher writes to, "
                       "beside the same broker?")


@pytest.mark.parametrize(("lease_s", "base", "most"), [(300, 1.0, 60.0), (60, 0.5, 4.0),
                                                      (3600, 2.0, 600.0), (1, 1.0, 60.0)])
def test_a_message_is_retried_through_an_outage_as_long_as_a_lease(lease_s, base, most):
    options = RunnerOptions(retry_base_s=base, retry_max_s=most)
    n = runner.outage_retries(lease_s, options)
    # the shortest waits backoff_s can draw over n retries cover the lease; over n - 1 not
    shortest = [runner.backoff_s(a, RunnerOptions(retry_base_s=base, retry_max_s=most))
                for a in range(1, n + 1)]
    floors = [min(most, base * 2 ** (a - 1)) / 2 for a in range(1, n + 1)]
    assert all(s >= f for s, f in zip(shortest, floors, strict=True))
    if n > options.max_attempts:
        assert sum(floors) >= lease_s > sum(floors[:-1])
    else:
        assert n == options.max_attempts  # never fewer than a stage's attempts
    assert runner.outage_retries(300, RunnerOptions()) == 15


def test_a_worker_retries_a_message_through_a_database_outage(monkeypatch):
    from tasks.celery_tasks import process
    from worker import runtime
    from worker.settings import Settings

    asked: dict[str, object] = {}

    class Retried(Exception):
        pass

    def retry(**kwargs: object) -> Exception:
        asked.update(kwargs)
        return Retried()

    monkeypatch.setattr(process, "retry", retry)
    # a database nothing answers for: nothing listens on port 1
    rt = runtime.init(Settings(database_url="postgresql+psycopg://postgres@127.0.0.1:1/x",
                               lease_s=300))
    with pytest.raises(Retried):
        process([1, 2])
    rt.engine.dispose()
    assert asked["max_retries"] == runner.outage_retries(300, rt.runner_options) == 15
    assert "database unavailable" in str(asked["exc"])


def test_backoff_grows_and_stays_bounded():
    opts = RunnerOptions(retry_base_s=1.0, retry_max_s=8.0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (10, 8.0)]:
        delay = runner.backoff_s(attempt, opts)
        assert ceiling / 2 <= delay <= ceiling


TOWNS = ["Ashford", "Brookfield", "Carlton", "Dunmore", "Elmstead", "Fairview", "Glenwood",
         "Hartley", "Ivybridge", "Jarrow"]


def _site_doc(n: int, junk: str) -> bytes:
    """A story of one site: every paragraph its own (digits alone don't make lines differ)."""
    town, other = TOWNS[n % len(TOWNS)], TOWNS[(n + 3) % len(TOWNS)]
    paras = [
        f"Officials in {town} said on Tuesday that the new bridge to {other} would open "
        "next spring, after a long delay caused by a shortage of steel.",
        junk,
        f"The council of {town} expects heavy traffic on the crossing, which will shorten "
        f"the trip to {other} by nearly half an hour for commuters.",
        f"Residents of {other} have waited years for the project, and several of them said "
        "they were relieved that the work was finally coming to an end.",
    ]
    return (f"{town} bridge news\n\n" + "\n\n".join(paras) + "\n").encode()


def test_a_junk_line_that_recurs_across_a_source_is_dropped_once_counted(sessions):
    junk = "Our community pages are supported by the Riverside Traders Guild and by readers."
    first = take(sessions, _site_doc(1, junk), "1.txt")
    run_all_stages(sessions, [first])
    with transaction(sessions) as s:
        body = s.scalar(select(Article.body).where(Article.document_id == first))
    assert junk in body, "the rules alone must not know this line, or the test proves nothing"
    for n in range(2, 2 + OPTIONS.boilerplate_min_docs):
        run_all_stages(sessions, [take(sessions, _site_doc(n, junk), f"{n}.txt")])
    later = take(sessions, _site_doc(99, junk), "99.txt")
    run_all_stages(sessions, [later])
    with transaction(sessions) as s:
        body = s.scalar(select(Article.body).where(Article.document_id == later))
    cleaned = runner.cleaned_for_explain(sessions, later, options=OPTIONS).to_dict()
    assert junk not in body
    assert "have waited years for the project" in body
    [verdict] = [b for b in cleaned["blocks"] if b["text"] == junk]
    assert verdict["label"] == "boilerplate" and "recurs" in verdict["reason"]


def test_a_lost_database_connection_during_a_stage_is_retried_not_failed(sessions,
                                                                          monkeypatch):
    from sqlalchemy.exc import OperationalError

    doc_id = take(sessions, SAMPLE, "cut.txt")

    def connection_cut(*_args, **_kwargs):
        raise OperationalError("SELECT fingerprint FROM boilerplate_lines", {},
                               Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(runner, "_run_clean", connection_cut)
    outcome = run(sessions, [doc_id])
    assert list(outcome.retry) == [doc_id] and outcome.failed == []
    with transaction(sessions) as s:
        doc = s.get(Document, doc_id)
    assert doc.status is DocumentStatus.QUEUED and doc.error_kind == "transient"
    assert "database unavailable" in doc.last_error


def test_when_the_batch_runs_out_of_time_no_document_is_failed_for_it(sessions, monkeypatch):
    from celery.exceptions import SoftTimeLimitExceeded

    ids = [take(sessions, SAMPLE.replace(b"Gov", f"Gov {n}".encode()), f"{n}.txt")
           for n in range(3)]
    real_clean = runner._run_clean
    calls = []

    def clean_until_time_is_up(raw, *args, **kwargs):
        calls.append(raw)
        if len(calls) == 2:
            raise SoftTimeLimitExceeded()
        return real_clean(raw, *args, **kwargs)

    monkeypatch.setattr(runner, "_run_clean", clean_until_time_is_up)
    outcome = run(sessions, ids)
    assert outcome.succeeded == [ids[0]] and outcome.failed == []
    assert set(outcome.retry) == {ids[1], ids[2]}
    with transaction(sessions) as s:
        docs = {i: s.get(Document, i) for i in ids}
        runs = s.execute(select(StageRun.document_id, StageRun.state)).all()
    assert docs[ids[1]].stage_state is StageState.RETRYING  # the one in hand: one attempt
    assert (docs[ids[2]].status, docs[ids[2]].attempts) == (DocumentStatus.QUEUED, 0)
    assert all(doc_id != ids[2] for doc_id, _ in runs)  # never started: no history


def test_a_document_the_database_refuses_fails_alone(sessions, monkeypatch):
    from sqlalchemy.exc import IntegrityError

    ids = [take(sessions, SAMPLE.replace(b"Gov", f"Gov {n}".encode()), f"{n}.txt")
           for n in range(3)]
    real_upsert = pipeline.upsert_articles

    def refuse_the_second(session, rows):
        if any(r["document_id"] == ids[1] for r in rows):
            raise IntegrityError("INSERT INTO articles", {}, Exception("value refused"))
        return real_upsert(session, rows)

    monkeypatch.setattr(pipeline, "upsert_articles", refuse_the_second)
    outcome = run(sessions, ids)
    assert sorted(outcome.succeeded) == [ids[0], ids[2]] and outcome.failed == [ids[1]]
    with transaction(sessions) as s:
        bad = s.get(Document, ids[1])
        titles = s.scalars(select(Article.document_id)).all()
    assert bad.status is DocumentStatus.FAILED and bad.error_kind == "database"
    assert "refused" in bad.last_error
    assert sorted(titles) == [ids[0], ids[2]]
