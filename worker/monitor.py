"""What `newsdrop status` shows: read from the database and the broker itself."""

from __future__ import annotations

from typing import Any

from db import queries
from db.engine import transaction
from worker.celery_app import QUEUE
from worker.runtime import Runtime

#: a status call must never hang on a dead broker or silent workers
BROKER_TIMEOUT_S = 1.0


def queue_depth() -> int | None:
    """Messages waiting in the broker's queue, or None if the broker can't be asked."""
    from tasks.celery_tasks import app

    try:
        with app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_S)
            _, count, _ = conn.default_channel.queue_declare(queue=QUEUE, passive=True)
            return int(count)
    except Exception:
        return None


def workers_online() -> list[str] | None:
    from tasks.celery_tasks import app

    try:
        replies = app.control.ping(timeout=BROKER_TIMEOUT_S)
    except Exception:
        return None
    return sorted(name for reply in replies for name in reply)


def collect_status(rt: Runtime, *, recent_failures: int = 5) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        data: dict[str, Any] = {
            "documents": queries.counts_by_status(session),
            "active_by_stage": queries.active_by_stage(session),
            "throughput_per_s": queries.throughput(session),
            "latency_s": queries.latency_percentiles(session),
            "oldest_unfinished_age_s": queries.oldest_unfinished_age_s(session),
            "recent_failures": [
                {"id": d.id, "source_path": d.source_path, "stage": str(d.stage or "intake"),
                 "kind": d.error_kind, "error": d.last_error}
                for d in queries.failures(session, queries.FailureFilter(limit=recent_failures))
            ],
        }
    data["queue_depth"] = {QUEUE: queue_depth()}
    data["workers"] = workers_online()
    return data


def render_status(s: dict[str, Any]) -> str:
    docs = s["documents"]
    lines = ["documents  " + "  ".join(f"{k} {v}" for k, v in docs.items())]
    depth = s["queue_depth"].get(QUEUE)
    workers = s["workers"]
    lines.append(f"queue      {QUEUE}: {'unknown' if depth is None else depth} waiting")
    lines.append("workers    " + ("unknown (broker unreachable)" if workers is None
                                  else f"{len(workers)} online " + " ".join(workers)))
    for stage, states in s["active_by_stage"].items():
        lines.append(f"stage      {stage}: " + ", ".join(f"{k} {v}" for k, v in states.items()))
    tp = s["throughput_per_s"]
    lines.append("throughput " + "  ".join(f"{k} {v}/s" for k, v in tp.items()))
    lat = s["latency_s"]
    if lat["p50"] is not None:
        lines.append(f"latency    drop-to-done p50 {lat['p50']} s, p95 {lat['p95']} s")
    if s["oldest_unfinished_age_s"] is not None:
        lines.append(f"oldest     unfinished for {s['oldest_unfinished_age_s']} s")
    if s["recent_failures"]:
        lines.append("failures")
        for f in s["recent_failures"]:
            lines.append(f"  {f['id']:>6} {f['stage']:<8} {f['kind'] or '':<14} "
                         f"{f['source_path']}: {f['error']}")
    return "\n".join(lines)
