"""reconcile: documents whose state stopped moving are sent again, and the log says why."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from datetime import timedelta

import pytest

from db import pipeline
from db.engine import transaction
from db.models import Document, DocumentStatus, Stage, StageState
from worker.intake import Intake
from worker.reconciler import reconcile
from worker.runtime import Runtime
from worker.settings import Settings


def _take_in(sessions, *contents: bytes) -> list[int]:
    items = [pipeline.Incoming(sha256=hashlib.sha256(c).hexdigest(), source_path=f"{n}.txt",
                               content=c) for n, c in enumerate(contents)]
    with transaction(sessions) as s:
        return [r.document_id for r in pipeline.take_in_many(s, items)]


def _age(sessions, ids: list[int], seconds: float) -> None:
    with transaction(sessions) as s:
        for doc in s.query(Document).filter(Document.id.in_(ids)):
            doc.updated_at = doc.updated_at - timedelta(seconds=seconds)


def test_at_start_up_every_unfinished_document_is_resumed_and_said_so(sessions, caplog):
    ids = _take_in(sessions, b"one", b"two")
    sent: list[list[int]] = []
    with caplog.at_level(logging.INFO, logger="worker.reconciler"):
        assert reconcile(sessions, 0, sent.append, at_start=True) == 2
    assert sorted(i for batch in sent for i in batch) == sorted(ids)
    assert "resumed 2 documents left unfinished when newsdrop last stopped" in caplog.text
    assert "lease" not in caplog.text


def test_a_lease_of_0_asked_for_later_says_what_it_re_enqueued_not_that_newsdrop_stopped(
        sessions, caplog):
    _take_in(sessions, b"one")
    with caplog.at_level(logging.INFO, logger="worker.reconciler"):
        assert reconcile(sessions, 0, lambda ids: None) == 1  # `reconcile --older-than 0`
    assert "last stopped" not in caplog.text
    assert "re-enqueued 1 document whose state had not moved for 0 s" in caplog.text


def test_one_round_takes_at_most_its_limit_and_the_next_the_rest(sessions, monkeypatch):
    import worker.reconciler

    monkeypatch.setattr(worker.reconciler, "ROUND_LIMIT", 2)
    ids = _take_in(sessions, b"one", b"two", b"three")
    _age(sessions, ids, 600)
    sent: list[list[int]] = []
    assert reconcile(sessions, 300, sent.extend) == 2
    assert reconcile(sessions, 300, sent.extend) == 1
    assert sorted(sent) == sorted(ids)


def test_an_expired_lease_is_a_warning_that_says_how_long_nothing_moved(sessions, caplog):
    ids = _take_in(sessions, b"one")
    _age(sessions, ids, 600)
    sent: list[list[int]] = []
    with caplog.at_level(logging.INFO, logger="worker.reconciler"):
        assert reconcile(sessions, 300, sent.append) == 1
    assert sent == [ids]
    record = next(r for r in caplog.records if r.name == "worker.reconciler")
    assert record.levelno == logging.WARNING
    assert "re-enqueued 1 document whose state had not moved for 300 s" in record.getMessage()


def test_a_document_within_its_lease_is_left_alone(sessions):
    _take_in(sessions, b"one")
    sent: list[list[int]] = []
    assert reconcile(sessions, 300, sent.append) == 0
    assert sent == []


def _broker_down(ids: list[int]) -> None:
    raise ConnectionError("broker unreachable")


def _failed(sessions, ids: list[int]) -> None:
    with transaction(sessions) as s:
        for doc in s.query(Document).filter(Document.id.in_(ids)):
            doc.status, doc.stage, doc.stage_state = (DocumentStatus.FAILED, Stage.EXTRACT,
                                                      StageState.FAILED)
            doc.attempts, doc.last_error, doc.error_kind = 3, "database busy", "transient"


def test_documents_the_broker_refused_at_intake_are_sent_at_the_next_round(sessions,
                                                                           tmp_path, caplog):
    # Given files taken in while the broker is down
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for n in range(3):
        (inbox / f"{n}.txt").write_bytes(b"text %d" % n)
    intake = Intake(Settings(data_dir=tmp_path / "data", inbox=inbox), sessions,
                    _broker_down)
    ids = [o.document_id for o in intake.take(sorted(inbox.iterdir()))]
    assert intake.unsent == 3
    # When the reconciler next runs, with the broker back and the default lease
    sent: list[list[int]] = []
    # Then it sends them at once: nothing of them is in the broker to wait for
    with caplog.at_level(logging.INFO, logger="worker.reconciler"):
        assert reconcile(sessions, 300, sent.append) == 3
    assert sorted(i for batch in sent for i in batch) == sorted(ids)
    # and says so, rather than that their state had not moved for a lease
    assert [r.getMessage() for r in caplog.records if r.name == "worker.reconciler"] == [
        "sent 3 documents the broker had refused"]


@pytest.mark.parametrize("operation", ["retry", "reprocess"])
def test_documents_the_broker_refused_on_retry_or_reprocess_are_sent_at_the_next_round(
        sessions, sqlite_url, tmp_path, monkeypatch, operation):
    from worker import operations

    # Given failed documents sent back while the broker is down
    ids = _take_in(sessions, b"one", b"two")
    _failed(sessions, ids)
    monkeypatch.setattr(operations, "enqueue", _broker_down)
    rt = Runtime(Settings(data_dir=tmp_path / "data", database_url=sqlite_url))
    with pytest.raises(Exception, match="broker"):
        if operation == "retry":
            operations.retry_failed(rt, None)
        else:
            operations.reprocess(rt, ids=ids)
    rt.engine.dispose()
    # When the reconciler next runs, with the broker back and the default lease
    sent: list[list[int]] = []
    # Then it sends them at once, at the stage they were queued at
    assert reconcile(sessions, 300, sent.append) == 2
    assert sorted(i for batch in sent for i in batch) == ids
    # with no lost message given as their last error
    with transaction(sessions) as s:
        docs = s.query(Document).filter(Document.id.in_(ids)).all()
    assert {d.stage for d in docs} == {Stage.EXTRACT if operation == "retry" else Stage.CLEAN}
    assert {d.last_error for d in docs} == {None}


def test_documents_the_reconciler_could_not_send_are_sent_at_its_next_round(sessions):
    # Given documents whose lease expired, and a round that finds the broker down
    ids = _take_in(sessions, b"one", b"two")
    _age(sessions, ids, 600)
    with pytest.raises(Exception, match="broker"):
        reconcile(sessions, 300, _broker_down)
    # Then the next round sends them, rather than a lease after the failed one
    sent: list[list[int]] = []
    assert reconcile(sessions, 300, sent.append) == 2
    assert sorted(i for batch in sent for i in batch) == ids


def test_the_reconciler_thread_says_in_one_line_that_the_broker_is_down(sessions, caplog):
    from worker.reconciler import ReconcilerThread

    _take_in(sessions, b"one")  # with a lease of 0 it is due
    tried = threading.Event()

    def broker_down(ids: list[int]) -> None:
        tried.set()
        _broker_down(ids)

    thread = ReconcilerThread(sessions, 0, 60, broker_down)
    with caplog.at_level(logging.INFO, logger="worker.reconciler"):
        thread.start()
        assert tried.wait(30)
        thread.stop()
        thread.join(timeout=30)
    [record] = [r for r in caplog.records if r.name == "worker.reconciler"]
    assert record.getMessage() == ("reconciliation could not send 1 document to the broker "
                                   "(broker unreachable); retrying in 60s")
    assert record.exc_info is None  # no traceback for a broker that is down


def test_the_reconciler_thread_says_in_one_line_that_the_database_is_out_of_reach(caplog):
    from db.engine import make_engine, make_session_factory
    from worker.reconciler import ReconcilerThread

    down = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/newsdrop")  # none listens
    thread = ReconcilerThread(make_session_factory(down), 0, 60, lambda ids: None)
    with caplog.at_level(logging.INFO, logger="worker.reconciler"):
        thread.start()
        for _ in range(300):
            if caplog.records:
                break
            time.sleep(0.1)
        thread.stop()
        thread.join(timeout=30)
    down.dispose()
    [record] = caplog.records
    assert record.getMessage().startswith(
        "reconciliation failed: the database is out of reach (connection failed: ")
    assert record.getMessage().endswith("); retrying in 60s")
    assert record.exc_info is None


def test_unavailable_tells_a_database_out_of_reach_from_other_errors():
    from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

    from db.errors import unavailable

    assert unavailable(OperationalError("SELECT 1", {}, Exception("server closed\nthe "
                                                                  "connection"))) == \
        "server closed"
    dropped = DBAPIError("SELECT 1", {}, Exception("gone"), connection_invalidated=True)
    assert unavailable(dropped) == "gone"
    assert unavailable(IntegrityError("INSERT", {}, Exception("duplicate key"))) is None
    assert unavailable(ValueError("no")) is None


def test_send_queued_ends_the_lease_of_what_the_broker_refused_and_says_which(sessions):
    from worker.reconciler import NotSent, send_queued

    # Given three messages, of which the broker takes the first and refuses the second
    ids = _take_in(sessions, b"one", b"two", b"three")
    sent: list[list[int]] = []

    def flaky(batch: list[int]) -> None:
        if sent:
            raise ConnectionError("broker gone")
        sent.append(batch)

    with pytest.raises(NotSent) as raised:
        send_queued(sessions, flaky, [[ids[0]], [ids[1]], [ids[2]]])
    # Then the refused message and the one after it are unsent, their lease ended, and
    # the broker's error is the cause; the message it took keeps its lease
    assert raised.value.ids == ids[1:]
    assert isinstance(raised.value.__cause__, ConnectionError)
    with transaction(sessions) as s:
        assert [d.document_id for d in pipeline.expired_leases(s, timedelta(seconds=300))] \
            == ids[1:]
