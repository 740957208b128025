"""The reconciler: the database is the system of record, the broker only a messenger.

Any active document whose state has not moved for longer than the lease is sent again,
at the stage it must resume at: its message was lost (broker restarted without
persistence, a worker killed on a transport without acks) or its worker died mid-stage.
A document the broker refused when it was queued was never sent at all: its lease is
ended on the spot (`send_queued`), so the next round sends it without waiting.
Running it too often is harmless: a stage that is already done claims nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from db import pipeline
from db.engine import transaction
from db.errors import unavailable
from db.models import Stage
from worker.wording import counted

log = logging.getLogger(__name__)

Enqueue = Callable[[list[int]], None]


class NotSent(Exception):
    """Documents committed as queued that the broker did not take; its error is chained.

    Their lease is ended (see `send_queued`), so the next reconciliation sends them.
    """

    def __init__(self, ids: list[int]) -> None:
        super().__init__(ids)  # as args, so that it pickles (a worker's pool sends it on)
        self.ids = ids

    def __str__(self) -> str:
        return f"{counted(len(self.ids), 'document')} not sent to the broker"


def send_queued(sessions: sessionmaker[Session], enqueue: Enqueue,
                messages: Iterable[list[int]]) -> None:
    """Send documents committed as queued: one `enqueue` call per list of ids.

    When the broker refuses a list, neither it nor the lists after it were sent, so their
    lease is ended at once: the reconciler of a running watch or run, or `newsdrop
    reconcile`, sends them as soon as the broker is back rather than a lease later. Then
    NotSent is raised from the broker's error. A list the broker took part of is sent
    again whole; a document sent twice claims nothing the second time once it is done,
    as with any redelivery.
    """
    pending = [ids for ids in messages if ids]
    for n, ids in enumerate(pending):
        try:
            enqueue(ids)
        except Exception as exc:
            unsent = [i for later in pending[n:] for i in later]
            try:
                with transaction(sessions) as session:
                    pipeline.end_leases(session, unsent)
            except Exception as db_exc:
                log.error("could not end the lease of %s the broker did not take (%s); they "
                          "are sent once it runs out (NEWSDROP_LEASE_S)",
                          counted(len(unsent), "document"), db_exc)
            raise NotSent(unsent) from exc


#: most documents one round re-enqueues; the next round takes the rest
ROUND_LIMIT = 10_000


def reconcile(sessions: sessionmaker[Session], lease_s: float, enqueue: Enqueue, *,
              at_start: bool = False, now: datetime | None = None) -> int:
    """Re-enqueue the documents whose lease expired or was ended, up to ROUND_LIMIT;
    return how many were sent. `at_start`: newsdrop is starting and no worker runs yet,
    so whatever is unfinished was left so when it last stopped. `now` (default: now) is
    the instant the lease is counted back from: rounds that share one pass over what was
    due then, and not over the documents they re-enqueued themselves."""
    with transaction(sessions) as session:
        expired = pipeline.expired_leases(session, timedelta(seconds=lease_s),
                                          limit=ROUND_LIMIT, now=now)
        groups: dict[tuple[Stage, bool], list[int]] = {}
        for doc in expired:
            groups.setdefault((doc.stage, doc.unsent), []).append(doc.document_id)
        for (stage, unsent), ids in groups.items():
            # a message the broker refused was not lost: the reason it was queued stands
            pipeline.requeue(session, ids, stage, reason=None if unsent else (
                f"re-enqueued: its state had not moved for {lease_s:g} s "
                "(message lost, or its worker gone)"))
    idle = [doc.document_id for doc in expired if not doc.was_running]
    # a document that was running may be what killed its worker: sent alone, it can only
    # take itself down
    send_queued(sessions, enqueue,
                [idle, *([doc.document_id] for doc in expired if doc.was_running)])
    refused = sum(doc.unsent for doc in expired)
    lapsed = len(expired) - refused
    if expired and at_start:
        log.info("resumed %s left unfinished when newsdrop last stopped",
                 counted(len(expired), "document"))
        return len(expired)
    if refused:
        log.info("sent %s the broker had refused", counted(refused, "document"))
    if lapsed:
        log.warning("reconciler re-enqueued %s whose state had not moved for %g s "
                    "(message lost, or its worker gone)", counted(lapsed, "document"), lease_s)
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
            except NotSent as exc:
                # the broker is down or refuses: one line each round, not a traceback
                log.error("reconciliation could not send %s to the broker (%s); retrying in "
                          "%gs", counted(len(exc.ids), "document"), str(exc.__cause__).rstrip("."),
                          self.interval_s)
            except Exception as exc:
                # the database is down, or worse: the next round tries again
                why = unavailable(exc)
                if why is None:
                    log.exception("reconciliation failed; retrying in %gs", self.interval_s)
                else:
                    log.error("reconciliation failed: the database is out of reach (%s); "
                              "retrying in %gs", why, self.interval_s)
            self.stopped.wait(self.interval_s)

    def stop(self) -> None:
        self.stopped.set()
