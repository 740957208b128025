"""`--wait`: following documents to a terminal state with a progress bar."""

from __future__ import annotations

import sys
from typing import Any

import click

from worker.cli.errors import EXIT_FAILED, EXIT_TIMEOUT, Interrupted
from worker.cli.output import format_counts


def wait_with_progress(rt: Any, ids: list[int], timeout: float | None) -> None:
    """Show a progress bar until every id is terminal; exit with a named code."""
    from worker.service import wait_until_done

    with click.progressbar(length=len(ids), label="processing", file=sys.stderr) as bar:
        done_before = [0]

        def progress(done: int) -> None:
            bar.update(done - done_before[0])
            done_before[0] = done

        try:
            finished = wait_until_done(rt, ids, timeout_s=timeout, on_progress=progress)
        except KeyboardInterrupt:
            raise Interrupted(
                "stopped waiting; the documents are stored and the workers go on with them "
                "(`newsdrop status` shows how far they are)") from None
    final = _final_counts(rt, ids)
    click.echo("result: " + format_counts(final), err=True)
    if not finished:
        click.echo("timed out before every document finished; is a worker running?", err=True)
        sys.exit(EXIT_TIMEOUT)
    if final.get("failed") or final.get("rejected"):
        sys.exit(EXIT_FAILED)


def _final_counts(rt: Any, ids: list[int]) -> dict[str, int]:
    from db.engine import reading
    from db.queries import status_counts

    with reading(rt.sessions) as session:
        return status_counts(session, ids)
