"""The reconciler: the database is the system of record, the broker only a messenger.

Any active document whose state has not moved for longer than the lease is sent again,
at the stage it must resume at: its message was lost (broker restarted without
persistence, a worker killed on a transport without acks) or its worker died mid-stage.
Running it too often is harmless: a stage that is already done claims nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from db import pipeline
from db.engine import transaction
from db.models import Stage

log = logging.getLogger(__name__)

Enqueue = Callable[[list[int]], None]


def reconcile(sessions: sessionmaker[Session], lease_s: float, enqueue: Enqueue) -> int:
    """Re-enqueue every document whose lease expired; return how many were sent."""
    with transaction(sessions) as session:
        expired = pipeline.expired_leases(session, timedelta(seconds=lease_s))
        by_stage: dict[Stage, list[tuple[int, bool]]] = {}
        for doc in expired:
            by_stage.setdefault(doc.stage, []).append((doc.document_id, doc.was_running))
        for stage, docs in by_stage.items():
            pipeline.requeue(session, [d for d, _ in docs], stage,
                             reason=f"re-enqueued: its state had not moved for {lease_s:g} s "
                                    "(message lost, or its worker gone)")
    docs = [d for stage_docs in by_stage.values() for d in stage_docs]
    idle = [d for d, running in docs if not running]
    if idle:
        enqueue(idle)
    for doc_id, running in docs:
        if running:
            # it may be what killed its worker: alone, it can only take itself down
            enqueue([doc_id])
    if expired and lease_s == 0:  # at start-up, before any worker runs
        log.info("resumed %d document%s left unfinished when newsdrop last stopped",
                 len(expired), "" if len(expired) == 1 else "s")
    elif expired:
        log.warning("reconciler re-enqueued %d document%s whose state had not moved for %g s "
                    "(message lost, or its worker gone)", len(expired),
                    "" if len(expired) == 1 else "s", lease_s)
    return len(expired)


class ReconcilerThread(threading.Thread):
    """Runs `reconcile` at start-up and then every `interval_s`, until stopped."""

    def __init__(self, sessions: sessionmaker[Session], lease_s: float, interval_s: float,
                 enqueue: Enqueue) -> None:
        super().__init__(name="newsdrop-reconciler", daemon=True)
        self.sessions, self.lease_s, self.interval_s = sessions, lease_s, interval_s
        self.enqueue = enqueue
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                reconcile(self.sessions, self.lease_s, self.enqueue)
            except Exception:
                # the database or broker is down: the next round tries again
                log.exception("reconciliation failed; retrying in %ss", self.interval_s)
            self.stopped.wait(self.interval_s)

    def stop(self) -> None:
        self.stopped.set()
