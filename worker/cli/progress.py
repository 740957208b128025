"""`--wait`: following documents to a terminal state with a progress bar."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import click

from worker.cli.errors import EXIT_FAILED, EXIT_TIMEOUT, Interrupted
from worker.cli.output import format_counts

#: seconds without a document finishing before the broker is asked whether any worker
#: is running: a wait with no worker would otherwise look like a hang
STALL_CHECK_S = 5.0
#: after a look, how long until the next one while nothing finishes (a ping waits ~1 s)
RECHECK_S = 60.0


class StallWatch:
    """Says once, when nothing has finished for STALL_CHECK_S, that no worker is running
    (or that the broker cannot be asked); `workers` is monitor.workers_online, `busy`
    whether some document is being processed. A worker whose every process is busy may
    not answer a ping on the embedded broker: one processing a document is running."""

    def __init__(self, workers: Callable[[], list[str] | None], busy: Callable[[], bool],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.workers, self.busy, self.clock = workers, busy, clock
        self.last_done = -1
        self.next_look = clock() + STALL_CHECK_S
        self.said = False
        self.none_online = False  # the latest look found no worker

    def note(self, done: int) -> str | None:
        """What to say after a poll that saw `done` finished, if anything."""
        now = self.clock()
        if done != self.last_done:
            self.last_done, self.next_look = done, now + STALL_CHECK_S
            return None
        if now < self.next_look:
            return None
        self.next_look = now + RECHECK_S
        online = self.workers()
        running = bool(online) or (online is not None and self.busy())
        self.none_online = online is not None and not running
        if running or self.said:
            return None
        self.said = True
        if online is None:
            return ("nothing has finished for a while, and the broker does not answer: the "
                    "documents stay queued until it is back and a worker runs")
        return ("no worker is running: start `newsdrop worker` (or `newsdrop run`) to "
                "process them; still waiting")


def wait_with_progress(rt: Any, ids: list[int], timeout: float | None) -> None:
    """Show a progress bar until every id is terminal; exit with a named code."""
    from db.engine import reading
    from db.queries import counts_by_status
    from worker.monitor import workers_online
    from worker.service import wait_until_done

    def busy() -> bool:
        with reading(rt.sessions) as session:
            return counts_by_status(session)["processing"] > 0

    stall = StallWatch(workers_online, busy)
    with click.progressbar(length=len(ids), label="processing", file=sys.stderr) as bar:
        done_before = [0]

        def progress(done: int) -> None:
            bar.update(done - done_before[0])
            done_before[0] = done
            said = stall.note(done)
            if said:
                click.echo(f"\n{said}", err=True)

        try:
            finished = wait_until_done(rt, ids, timeout_s=timeout, on_progress=progress)
        except KeyboardInterrupt:
            raise Interrupted(
                "stopped waiting; the documents are stored and "
                + ("a worker takes them when one starts" if stall.none_online
                   else "the workers go on with them")
                + " (`newsdrop status` shows how far they are)") from None
    final = _final_counts(rt, ids)
    click.echo("result: " + format_counts(final), err=True)
    if not finished:
        click.echo("timed out before every document finished; "
                   + ("no worker was running" if stall.none_online else "is a worker running?"),
                   err=True)
        sys.exit(EXIT_TIMEOUT)
    if final.get("failed") or final.get("rejected"):
        sys.exit(EXIT_FAILED)


def _final_counts(rt: Any, ids: list[int]) -> dict[str, int]:
    from db.engine import reading
    from db.queries import status_counts

    with reading(rt.sessions) as session:
        return status_counts(session, ids)
