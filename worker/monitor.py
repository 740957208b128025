"""What `newsdrop status` shows: read from the database and the broker itself.

Everything but queue depth and workers comes from the database (documents and
stage_runs), so the figures survive restarts; the broker is asked with a short timeout
and reported as unknown when it does not answer.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from db import queries
from db.engine import reading
from db.models import Stage
from worker.broker import (
    BROKER_TIMEOUT_S,
    queue_depth_or_error,
    refusal,
    refused,
    unanswered_errors,
    why_unanswered,
)
from worker.celery_app import QUEUE
from worker.runtime import Runtime
from worker.signals import sigterm_as_interrupt
from worker.wording import counted, milliseconds

# The broker is asked by one caller at a time: the API answers requests in threads, and
# Celery's connection pool, which a ping draws on twice, runs dry under a few dozen
# parallel /status requests and never recovers. Callers that waited meanwhile share the
# answer of a question asked after they called, so none waits for more than two.
_broker_lock = threading.Lock()
_latest: dict[tuple[str, str], tuple[float, Any]] = {}  # (what, broker) -> (asked, answer)


def _ask_broker(what: str, ask: Callable[[], Any]) -> Any:
    from tasks.celery_tasks import app

    key = (what, str(app.conf.broker_url))
    called = time.monotonic()
    with _broker_lock:
        latest = _latest.get(key)
        if latest is not None and latest[0] >= called:
            return latest[1]
        asked = time.monotonic()
        answer = ask()
        _latest[key] = (asked, answer)
        return answer


def queue_depth() -> int | None:
    """Messages waiting in the broker's queue, or None if the broker can't be asked."""
    return _ask_broker("queue depth", _queue_depth)


def workers_online() -> list[str] | None:
    """The workers that answer a ping, or None if the broker can't be asked."""
    return _ask_broker("workers", _workers_online)


def _queue_depth() -> int | None:
    return queue_depth_or_error()[0]


def _workers_online() -> list[str] | None:
    return _workers_or_error()[0]


def _workers_or_error() -> tuple[list[str] | None, str | None]:
    """The workers that answer a ping, or None and why the broker could not carry it."""
    from tasks.celery_tasks import app

    try:
        replies = app.control.ping(timeout=BROKER_TIMEOUT_S)
    except unanswered_errors() as exc:
        return None, why_unanswered(exc)
    return sorted(name for reply in replies for name in reply), None


#: how often `status --watch` asks which workers are online: a ping waits out its whole
#: timeout for their replies, so asking at every refresh would stretch a short interval
WORKERS_EVERY_S = 5.0


def collect_status(rt: Runtime, *, recent_failures: int = 5,
                   workers_max_age_s: float = 0.0) -> dict[str, Any]:
    """Everything `status` shows. The workers online are asked anew unless an answer of
    at most `workers_max_age_s` seconds ago is at hand."""
    with reading(rt.sessions) as session:
        data: dict[str, Any] = {
            "documents": queries.counts_by_status(session),
            "active_by_stage": queries.active_by_stage(session),
            "throughput_per_s": queries.throughput(session),
            "latency_s": queries.latency_percentiles(session),
            "oldest_unfinished_age_s": queries.oldest_unfinished_age_s(session),
            # running time per stage over the last 15 minutes
            "stage_durations_ms": queries.stage_durations(session),
            "recent_failures": [
                {"id": d.id, "source_path": d.source_path, "stage": str(d.stage or "intake"),
                 "kind": d.error_kind, "error": d.last_error}
                for d in queries.failures(session, queries.FailureFilter(limit=recent_failures))
            ],
        }
    depth, workers, error = _ask_broker("queue depth and workers",
                                        lambda: _queue_depth_and_workers(workers_max_age_s))
    data["queue_depth"] = {QUEUE: depth}
    data["workers"] = workers
    data["broker_error"] = error
    return data


def _queue_depth_and_workers(workers_max_age_s: float
                             ) -> tuple[int | None, list[str] | None, str | None]:
    depth, error = queue_depth_or_error()
    # a broker that cannot say its queue depth cannot carry a ping either; asking anyway
    # would wait out the timeout and then report "no workers", which is not known
    if depth is None:
        return depth, None, error
    return depth, *_recent_workers(workers_max_age_s)


#: the latest answer to a ping, per broker: (when, (workers online, why none can be told))
_pinged: dict[str, tuple[float, tuple[list[str] | None, str | None]]] = {}


def _recent_workers(max_age_s: float) -> tuple[list[str] | None, str | None]:
    from tasks.celery_tasks import app

    key = str(app.conf.broker_url)
    seen = _pinged.get(key)
    if seen is not None and time.monotonic() - seen[0] < max_age_s:
        return seen[1]
    answer = _workers_or_error()
    _pinged[key] = (time.monotonic(), answer)
    return answer


def render_status(s: dict[str, Any]) -> str:
    docs = s["documents"]
    lines = ["documents  " + "  ".join(f"{k} {v}" for k, v in docs.items())]
    depth = s["queue_depth"].get(QUEUE)
    workers = s["workers"]
    # a message carries a batch of document ids (one, when they arrive one at a time)
    lines.append(f"queue      {QUEUE}: "
                 f"{'unknown' if depth is None else counted(depth, 'batch', 'batches')} waiting")
    if workers is None:
        error = s.get("broker_error")
        answer = refusal(error) if error else None
        why = (refused("", answer) if answer else
               f"cannot ask the broker: {error}" if error else "cannot ask the broker")
        lines.append(f"workers    unknown ({why})")
    else:
        lines.append(" ".join(["workers   ", f"{len(workers)} online", *workers]))
    for stage, states in s["active_by_stage"].items():
        lines.append(f"stage      {stage}: " + ", ".join(f"{k} {v}" for k, v in states.items()))
    tp = s["throughput_per_s"]
    lines.append("throughput " + "  ".join(f"{k} {v}/s" for k, v in tp.items()))
    lat = s["latency_s"]
    if lat["p50"] is not None:
        lines.append(f"latency    queued-to-done p50 {lat['p50']} s, p95 {lat['p95']} s")
    # persist writes a whole batch in one transaction, after each document's runs were
    # timed: its runs carry no time of their own, so the line leaves it out
    durations = [f"{stage} avg {milliseconds(d['avg_ms'])} ms "
                 f"p95 {milliseconds(d['p95_ms'])} ms "
                 f"({counted(d['runs'], 'run')})"
                 for stage, d in s.get("stage_durations_ms", {}).items()
                 if d["runs"] and stage != Stage.PERSIST]
    if durations:
        lines.append("run time   " + ", ".join(durations) + " in the last 15 min")
    if s["oldest_unfinished_age_s"] is not None:
        lines.append(f"oldest     unfinished for {s['oldest_unfinished_age_s']} s")
    if s["recent_failures"]:
        lines.append("failures")
        for f in s["recent_failures"]:
            lines.append(f"  {f['id']:>6} {f['stage']:<8} {f['kind'] or '':<14} "
                         f"{f['source_path']}: {f['error']}")
    return "\n".join(lines)


SPARK = "▁▂▃▄▅▆▇█"


class ThroughputHistory:
    """Documents done per second between successive refreshes of `status --watch`."""

    def __init__(self, size: int = 40) -> None:
        self.rates: deque[float] = deque(maxlen=size)
        self._last: tuple[float, int] | None = None

    def add(self, done: int, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if self._last is not None and now > self._last[0]:
            self.rates.append(max(0.0, (done - self._last[1]) / (now - self._last[0])))
        self._last = (now, done)

    def sparkline(self) -> str:
        if not self.rates:
            return ""
        top = max(self.rates)
        if top <= 0:
            return SPARK[0] * len(self.rates)
        return "".join(SPARK[min(len(SPARK) - 1, int(r / top * (len(SPARK) - 1) + 0.5))]
                       for r in self.rates)


def render_live(s: dict[str, Any], history: ThroughputHistory) -> str:
    """The status text with a throughput history line, for the live view."""
    latest = history.rates[-1] if history.rates else 0.0
    peak = max(history.rates, default=0.0)
    spark = history.sparkline() or "(collecting)"
    return (render_status(s) + f"\nhistory    {spark}  now {latest:.1f}/s, peak {peak:.1f}/s"
            f" over the last {counted(len(history.rates), 'refresh', 'refreshes')}")


def watch_status(rt: Runtime, *, interval_s: float = 2.0, refreshes: int | None = None) -> None:
    """Refresh the status in place until Ctrl-C (or `refreshes` times, for tests). Where
    the output is no terminal (a pipe, a file, a container's log) each refresh is
    written after the one before, as it is made."""
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    console = Console()
    # SIGTERM stops it as Ctrl-C does: the screen is left tidy and the exit code is 0
    with sigterm_as_interrupt():
        try:
            if not console.is_terminal:  # Live would draw only its last frame, at the end
                for frame in _status_frames(rt, interval_s, refreshes):
                    sys.stdout.write(frame + "\n\n")
                    sys.stdout.flush()
                return
            with Live(console=console, auto_refresh=False, transient=False) as live:
                for frame in _status_frames(rt, interval_s, refreshes):
                    live.update(Text(frame), refresh=True)
        except KeyboardInterrupt:
            pass


def _status_frames(rt: Runtime, interval_s: float, refreshes: int | None) -> Iterator[str]:
    """What `watch_status` shows, a refresh at a time, at a steady rate: the time a
    refresh takes is part of the interval."""
    history = ThroughputHistory()
    n = 0
    while refreshes is None or n < refreshes:
        next_at = time.monotonic() + interval_s
        data = collect_status(rt, workers_max_age_s=WORKERS_EVERY_S)
        history.add(data["documents"].get("done", 0))
        stamp = time.strftime("%H:%M:%S")
        yield (f"newsdrop status at {stamp} (every {interval_s:g} s; Ctrl-C stops)\n\n"
               + render_live(data, history))
        n += 1
        if refreshes is None or n < refreshes:
            time.sleep(max(0.0, next_at - time.monotonic()))
