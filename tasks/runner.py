"""Run one stage over a batch of documents: load, call the pure function, store, record.

This is what a Celery task does, without Celery: the glue in `tasks.celery_tasks` only
turns the outcome into messages (next stage, delayed retries). Each document's outcome
is its own: one that fails never fails, delays or retries its neighbours.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from db import pipeline
from db.engine import transaction
from db.models import Stage, StageState, utcnow
from tasks.document import Article, CleanedDoc, RawDocument
from tasks.errors import NewsdropError, PermanentError, StageTimeout, TransientError
from tasks.persist import article_row

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunnerOptions:
    max_attempts: int = 5
    retry_base_s: float = 1.0
    retry_max_s: float = 60.0
    max_file_bytes: int = 20 * 1024 * 1024
    boilerplate_min_docs: int = 3


@dataclass(slots=True)
class BatchOutcome:
    """Where each claimed document goes next."""

    succeeded: list[int] = field(default_factory=list)
    retry: dict[int, float] = field(default_factory=dict)  # id -> backoff seconds
    failed: list[int] = field(default_factory=list)
    skipped: int = 0  # not claimable: already past this stage, or terminal


def backoff_s(attempt: int, options: RunnerOptions) -> float:
    """Exponential backoff with full jitter: spreads retries after a shared outage."""
    ceiling = min(options.retry_max_s, options.retry_base_s * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


def is_transient_db_error(exc: BaseException) -> bool:
    """Connection loss and lock contention pass; constraint or SQL errors do not."""
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


# ---------------------------------------------------------------- stage functions
# Each takes the stage's stored input and returns its JSON-ready output.


def _run_clean(raw: tuple[bytes, str], options: RunnerOptions,
               lookup: Callable[[str], Collection[str]] | None) -> dict[str, Any]:
    from tasks.clean import CleanOptions, clean

    content, path = raw
    doc = clean(RawDocument(content, name=path),
                options=CleanOptions(max_bytes=options.max_file_bytes,
                                     boilerplate_min_docs=options.boilerplate_min_docs),
                known_boilerplate=lookup)
    return doc.to_dict()


def _run_extract(cleaned: dict[str, Any]) -> dict[str, Any]:
    from tasks.extract import extract

    return extract(CleanedDoc.from_dict(cleaned)).to_dict()


# ---------------------------------------------------------------- the batch


def run_stage(sessions: sessionmaker[Session], stage: Stage, ids: list[int], *,
              options: RunnerOptions, worker: str) -> BatchOutcome:
    """Run `stage` for every document in `ids` that still needs it."""
    outcome = BatchOutcome()
    try:
        with transaction(sessions) as session:
            claims = pipeline.claim(session, stage, ids, max_attempts=options.max_attempts)
            claimed = [c.document_id for c in claims]
            inputs = _load_inputs(session, stage, claimed)
            lookup = _boilerplate_lookup(session, options) if stage is Stage.CLEAN else None
    except DBAPIError as exc:
        if is_transient_db_error(exc):
            raise TransientError(f"database unavailable: {exc.orig}") from exc
        raise
    outcome.skipped = len(set(ids)) - len(claims)

    results: list[pipeline.StageResult] = []
    outputs: dict[int, dict[str, Any]] = {}
    for c in claims:
        started = utcnow()
        try:
            payload = inputs.get(c.document_id)
            if payload is None:
                raise PermanentError(f"input of stage {stage.value} is missing")
            outputs[c.document_id] = _call_stage(stage, payload, options, lookup)
            results.append(pipeline.StageResult(c.document_id, c.attempt, StageState.SUCCEEDED,
                                                started, utcnow(), c.queued_at))
        except Exception as exc:  # recorded per document below, never swallowed
            results.append(_failure(c, exc, started, options, outcome))
            if _is_time_limit(exc):
                # the batch's time is up: give the rest back without costing them an attempt
                for rest in claims[claims.index(c) + 1:]:
                    results.append(pipeline.StageResult(
                        rest.document_id, rest.attempt - 1, StageState.RETRYING, started,
                        utcnow(), rest.queued_at, "batch ran out of time first", "timeout"))
                    outcome.retry[rest.document_id] = 0.0
                break

    try:
        with transaction(sessions) as session:
            ok = [r for r in results if r.state is StageState.SUCCEEDED]
            _store(session, stage, {r.document_id: outputs[r.document_id] for r in ok})
            pipeline.record_results(session, stage, results, worker=worker)
    except DBAPIError as exc:
        if is_transient_db_error(exc):
            raise TransientError(f"database unavailable: {exc.orig}") from exc
        raise
    outcome.succeeded = [r.document_id for r in results if r.state is StageState.SUCCEEDED]
    return outcome


def _call_stage(stage: Stage, payload: Any, options: RunnerOptions,
                lookup: Callable[[str], Collection[str]] | None) -> dict[str, Any]:
    if stage is Stage.CLEAN:
        return _run_clean(payload, options, lookup)
    if stage is Stage.EXTRACT:
        return _run_extract(payload)
    return payload  # persist: the article itself; the write happens in _store


def _load_inputs(session: Session, stage: Stage, ids: list[int]) -> dict[int, Any]:
    if not ids:
        return {}
    if stage is Stage.CLEAN:
        return dict(pipeline.load_raw(session, ids))
    if stage is Stage.EXTRACT:
        return pipeline.load_outputs(session, Stage.CLEAN, ids)
    return pipeline.load_outputs(session, Stage.EXTRACT, ids)


def _store(session: Session, stage: Stage, outputs: dict[int, dict[str, Any]]) -> None:
    if stage is not Stage.PERSIST:
        pipeline.save_outputs(session, stage, outputs)
        return
    rows = [article_row(i, Article.from_dict(a)) for i, a in outputs.items()]
    new_ids = pipeline.upsert_articles(session, rows)
    # count recurring lines once per document: only when its article is first written
    cleaned = pipeline.load_outputs(session, Stage.CLEAN, sorted(new_ids))
    pipeline.add_boilerplate_counts(session, _line_counts(cleaned.values()))


def _line_counts(cleaned_docs: Collection[dict[str, Any]]) -> dict[tuple[str, str], int]:
    from tasks.clean import line_fingerprints

    counts: Counter[tuple[str, str]] = Counter()
    for data in cleaned_docs:
        doc = CleanedDoc.from_dict(data)
        for fp in line_fingerprints(doc):
            counts[(doc.source_key, fp)] += 1
    return dict(counts)


def _boilerplate_lookup(session: Session, options: RunnerOptions
                        ) -> Callable[[str], Collection[str]]:
    """Recurring lines per source, read from the database once per source per batch."""
    cache: dict[str, dict[str, int]] = {}
    bind = session.get_bind()

    def lookup(source_key: str) -> Collection[str]:
        if source_key not in cache:
            with Session(bind) as s:
                cache[source_key] = pipeline.recurring_lines(
                    s, source_key, options.boilerplate_min_docs)
        return cache[source_key]

    return lookup


def _is_time_limit(exc: BaseException) -> bool:
    return type(exc).__name__ == "SoftTimeLimitExceeded"


def _failure(claim: pipeline.Claim, exc: BaseException, started: Any, options: RunnerOptions,
             outcome: BatchOutcome) -> pipeline.StageResult:
    """Classify one document's error: retry later, or fail now with a readable reason."""
    doc_id, attempt = claim.document_id, claim.attempt
    if _is_time_limit(exc):
        exc = StageTimeout("took longer than the stage's time limit")
    if isinstance(exc, TransientError) and attempt < options.max_attempts:
        delay = backoff_s(attempt, options)
        outcome.retry[doc_id] = delay
        log.warning("document %s: transient error, retry in %.1fs: %s", doc_id, delay, exc)
        return pipeline.StageResult(doc_id, attempt, StageState.RETRYING, started, utcnow(),
                                    claim.queued_at, exc.message, exc.kind)
    outcome.failed.append(doc_id)
    if isinstance(exc, NewsdropError):
        message, kind = exc.message, exc.kind
        if isinstance(exc, TransientError):
            message = f"gave up after {attempt} attempts: {message}"
        log.info("document %s failed: %s", doc_id, message)
    else:
        message, kind = f"internal error: {type(exc).__name__}: {exc}", "internal"
        log.exception("document %s: unexpected error", doc_id)
    return pipeline.StageResult(doc_id, attempt, StageState.FAILED, started, utcnow(),
                                claim.queued_at, message, kind)
