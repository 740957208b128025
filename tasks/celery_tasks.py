"""Celery glue: one task per stage, each a thin wrapper around `tasks.runner.run_stage`.

Messages carry only document ids (JSON). A task runs its stage over the batch, sends
the documents that succeeded on to the next stage in one message, and schedules each
transient failure again with its own backoff. The app is configured from Settings by
`worker.celery_app.configure` before anything is sent or consumed.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, Task
from celery.signals import worker_process_init

from db.models import Stage
from tasks.errors import TransientError
from tasks.runner import RunnerOptions, backoff_s, run_stage
from worker import runtime

log = logging.getLogger(__name__)

app = Celery("newsdrop")


@worker_process_init.connect
def _fresh_connections_after_fork(**_: Any) -> None:
    runtime.current().after_fork()


def _options() -> RunnerOptions:
    s = runtime.current().settings
    return RunnerOptions(max_attempts=s.max_attempts, retry_base_s=s.retry_base_s,
                         retry_max_s=s.retry_max_s, max_file_bytes=s.max_file_bytes,
                         boilerplate_min_docs=s.boilerplate_min_docs)


def _run(task: Task, stage: Stage, ids: list[int]) -> None:
    if task.request.delivery_info and task.request.delivery_info.get("redelivered") \
            and len(ids) > 1:
        # This batch was in hand when a worker died; one of its documents may be the
        # cause. Run each alone, so a poison document can only take itself down.
        for doc_id in ids:
            enqueue(stage, [doc_id])
        return
    rt = runtime.current()
    options = _options()
    try:
        outcome = run_stage(rt.sessions, stage, ids, options=options, worker=rt.worker_name)
    except TransientError as exc:
        # the database itself is unreachable: retry the whole message, bounded
        attempt = task.request.retries + 1
        raise task.retry(exc=exc, countdown=backoff_s(attempt, options),
                         max_retries=options.max_attempts) from exc
    nxt = stage.next
    if nxt is not None and outcome.succeeded:
        enqueue(nxt, outcome.succeeded)
    for doc_id, delay in outcome.retry.items():
        enqueue(stage, [doc_id], countdown=delay)
    log.info("%s: %d done, %d to retry, %d failed, %d skipped", stage.value,
             len(outcome.succeeded), len(outcome.retry), len(outcome.failed), outcome.skipped)


@app.task(bind=True, name="newsdrop.clean")
def clean_task(self: Task, ids: list[int]) -> None:
    _run(self, Stage.CLEAN, ids)


@app.task(bind=True, name="newsdrop.extract")
def extract_task(self: Task, ids: list[int]) -> None:
    _run(self, Stage.EXTRACT, ids)


@app.task(bind=True, name="newsdrop.persist")
def persist_task(self: Task, ids: list[int]) -> None:
    _run(self, Stage.PERSIST, ids)


TASKS = {Stage.CLEAN: clean_task, Stage.EXTRACT: extract_task, Stage.PERSIST: persist_task}


def enqueue(stage: Stage, ids: list[int], *, countdown: float | None = None) -> None:
    """Send document ids to `stage`, at most `batch_size` per message."""
    size = max(1, runtime.current().settings.batch_size)
    for start in range(0, len(ids), size):
        TASKS[stage].apply_async(args=[ids[start:start + size]], countdown=countdown)
