"""Celery glue: one thin task that runs a batch of documents through their stages.

Messages carry only document ids (JSON). The task hands the batch to
`tasks.runner.run_batch`, which takes each document from the stage it is at (clean,
extract or persist) to the end, recording every stage run, and then schedules each
transient failure again with its own backoff; that later message resumes the document
at the stage that failed. The app is configured from Settings by
`worker.celery_app.configure` before anything is sent or consumed.
"""

from __future__ import annotations

import gc
import logging
from typing import Any

from celery import Celery, Task
from celery.signals import worker_process_init

from tasks.errors import TransientError
from tasks.runner import backoff_s, outage_retries, run_batch
from worker import runtime
from worker.reconciler import send_queued

log = logging.getLogger(__name__)

app = Celery("newsdrop")


@worker_process_init.connect
def _fresh_connections_after_fork(**_: Any) -> None:
    runtime.current().after_fork()
    # Everything loaded so far (modules, the app, settings) lives as long as the
    # process: kept out of the collector's full passes, which a batch of parsed pages
    # otherwise triggers over and over.
    gc.freeze()


@app.task(bind=True, name="newsdrop.process")
def process(self: Task, ids: list[int]) -> None:
    """Run clean → extract → persist for each document, from the stage it is at."""
    if (self.request.delivery_info or {}).get("redelivered") and len(ids) > 1:
        # This batch was in hand when a worker died; one of its documents may be the
        # cause. Run each alone, so a poison document can only take itself down; any
        # still queued that the broker refuses, the reconciler sends once it is back (one
        # the dead worker had claimed waits out its lease, as it would have anyway).
        send_queued(runtime.current().sessions, enqueue, ([doc_id] for doc_id in ids))
        return
    rt = runtime.current()
    options = rt.runner_options
    try:
        outcome = run_batch(rt.sessions, ids, options=options, worker=rt.worker_name)
    except TransientError as exc:
        # the database itself is unreachable: retry the whole message, for about a lease
        attempt = self.request.retries + 1
        raise self.retry(exc=exc, countdown=backoff_s(attempt, options),
                         max_retries=outage_retries(rt.settings.lease_s, options)) from exc
    # each after its own backoff; any the broker refuses, the reconciler sends once the
    # broker is back, backoff or not
    delays = outcome.retry
    send_queued(rt.sessions, lambda one: enqueue(one, countdown=delays[one[0]]),
                ([doc_id] for doc_id in delays))
    log.info("batch of %d: %d done, %d to retry, %d failed, %d skipped", len(ids),
             len(outcome.succeeded), len(outcome.retry), len(outcome.failed), outcome.skipped)
    if outcome.unknown:
        # taken off the queue all the same: left there, it would come back for ever
        log.warning("this database (%s) has no document %s of the message it took: does "
                    "this worker's NEWSDROP_DATABASE_URL name the database the watcher "
                    "writes to, beside the same broker?",
                    rt.engine.url.render_as_string(hide_password=True),
                    ", ".join(map(str, outcome.unknown[:10]))
                    + (", …" if len(outcome.unknown) > 10 else ""))


def enqueue(ids: list[int], *, countdown: float | None = None) -> None:
    """Send document ids to the workers, at most `batch_size` per message."""
    size = max(1, runtime.current().settings.batch_size)
    for start in range(0, len(ids), size):
        process.apply_async(args=[ids[start:start + size]], countdown=countdown)
