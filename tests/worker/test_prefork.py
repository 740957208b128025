"""The pool the embedded broker runs: its pipe's locks survive SIGTERM to its processes."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Any

import billiard

from worker.prefork import Pool, _Queue

ROUNDS = 20


def _wait_for_work(queue: Any, waiting: Any) -> int:
    """Fork a process that does what a pool process does: SIGTERM becomes SystemExit
    (billiard's handler), and it waits on the pipe, holding the read lock or queued for
    it. A bare fork: multiprocessing's after-fork hooks would close, in the child,
    connections earlier tests left in this process, and can block doing so."""
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
        waiting.release()
        queue.get_payload()
    except SystemExit:
        code = 1
    finally:
        os._exit(code)


def _reap(pid: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if os.waitpid(pid, os.WNOHANG)[0]:
            return
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def test_processes_stopped_while_waiting_for_work_leave_the_read_lock_free() -> None:
    # billiard's own queue loses its lock in nearly every round: a process woken by the
    # lock's release, its own SIGTERM pending, exits owning it
    ctx = billiard.get_context("fork")
    for round_ in range(ROUNDS):
        queue, waiting = _Queue(ctx=ctx), ctx.Semaphore(0)
        pids = [_wait_for_work(queue, waiting) for _ in range(4)]
        for _ in pids:
            assert waiting.acquire(timeout=10), "a process did not start waiting for work"
        time.sleep(0.02)  # into the read, or queued on the lock
        for pid in pids:
            os.kill(pid, signal.SIGTERM)
        for pid in pids:
            _reap(pid, 5)
        assert queue._rlock.acquire(timeout=2), f"round {round_ + 1}: the read lock was lost"
        queue._rlock.release()


def test_the_finalizer_does_not_wait_for_a_lock_nothing_will_release() -> None:
    ctx = billiard.get_context("fork")
    queue = _Queue(ctx=ctx)
    queue._rlock.acquire()  # as a pool process killed while it waited for work left it
    task_handler = threading.Thread(target=lambda: None)
    task_handler.start()
    task_handler.join()
    started = time.monotonic()
    Pool._help_stuff_finish(queue, task_handler, [])
    assert time.monotonic() - started < 1
