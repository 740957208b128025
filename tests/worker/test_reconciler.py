"""reconcile: documents whose state stopped moving are sent again, and the log says why."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from db import pipeline
from db.engine import transaction
from db.models import Document
from worker.reconciler import reconcile


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
        assert reconcile(sessions, 0, sent.append) == 2
    assert sorted(i for batch in sent for i in batch) == sorted(ids)
    assert "resumed 2 documents left unfinished when newsdrop last stopped" in caplog.text
    assert "lease" not in caplog.text


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
