"""Celery's prefork pool for the embedded broker, safe against a SIGTERM sent to the whole
process group (`timeout`, `kill -- -PGID`, systemd's default KillMode=control-group).

For a transport without an event loop, such as the embedded one, Celery runs billiard's
blocking pool: its processes wait for work on one shared pipe, one of them holding the
pipe's read lock (a semaphore they all share) and the others queued for it. SIGTERM
raises SystemExit in a pool process, so that it releases the lock on its way out, but:

- billiard's `Lock.__enter__` is a Python method around the C acquire. A process that the
  lock's release wakes with its own SIGTERM pending runs the handler as the C call
  returns, before the `with` block is entered, and exits owning the lock.
- The pool's supervisor thread forks a replacement for each process that exited, and
  Celery gives it the parent-death signal SIGKILL, which Linux sends when the forking
  *thread* ends: when the pool closes, a replacement still waiting for work dies with the
  lock.

At exit the pool's finalizer then waited for that lock forever, with no pool process left.
"""

from __future__ import annotations

from typing import Any

from billiard.pool import Pool as BlockingPool
from billiard.queues import SimpleQueue
from celery.concurrency import prefork


class _Queue(SimpleQueue):
    """billiard's SimpleQueue, entering its locks through the C methods: the `with`
    block then starts as the acquire returns, and a handler that raises cannot run in
    between."""

    def get_payload(self) -> bytes:
        with self._rlock._semlock:
            return self._reader.recv_bytes()  # type: ignore[no-any-return]

    def send_payload(self, value: bytes) -> None:
        with self._wlock._semlock:
            self._writer.send_bytes(value)


class Pool(BlockingPool):
    def _setup_queues(self) -> None:
        super()._setup_queues()
        # the queues billiard made, with the lock handling above; they add no state
        self._inqueue.__class__ = _Queue
        self._outqueue.__class__ = _Queue

    @staticmethod
    def _help_stuff_finish(inqueue: Any, task_handler: Any, pool: Any) -> None:
        # billiard takes the read lock here for good, waiting as long as it takes, so that
        # pool processes stop reading while it drains the pipe for a task handler blocked
        # writing to it. Only while that thread runs is there anything to drain; the lock
        # may be owned by a process killed while it waited for work (the replacements
        # above, the OOM killer), and then nothing would ever release it.
        while task_handler.is_alive():
            if inqueue._rlock.acquire(timeout=0.1):
                while task_handler.is_alive() and inqueue._reader.poll():
                    inqueue._reader.recv()
                return


class TaskPool(prefork.TaskPool):
    BlockingPool = Pool
