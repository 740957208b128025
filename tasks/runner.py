"""Run a batch of documents through their remaining stages: load, call, store, record.

This is what a Celery task does, without Celery: the glue in `tasks.celery_tasks` only
turns the outcome into messages (delayed retries). Each document's outcome is its own:
one that fails never fails, delays or retries its neighbours.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from db import pipeline
from db.engine import reading, transaction
from db.models import Stage, StageState, utcnow
from tasks.document import MAX_FILE_BYTES, Article, CleanedDoc, RawDocument
from tasks.errors import (
    NO_ARTICLE_KINDS,
    NewsdropError,
    PermanentError,
    StageTimeout,
    TransientError,
)
from tasks.persist import article_row
from tasks.version import EXTRACTOR_VERSION

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunnerOptions:
    max_attempts: int = 5
    retry_base_s: float = 1.0
    retry_max_s: float = 60.0
    max_file_bytes: int = MAX_FILE_BYTES
    boilerplate_min_docs: int = 3
    #: how long a process reuses the recurring lines it read for a source
    boilerplate_cache_s: float = 30.0


@dataclass(slots=True)
class BatchOutcome:
    """Where each claimed document goes next."""

    succeeded: list[int] = field(default_factory=list)
    retry: dict[int, float] = field(default_factory=dict)  # id -> backoff seconds
    failed: list[int] = field(default_factory=list)
    skipped: int = 0  # not claimable: already past this stage, or terminal
    #: no such document: the message came from a pipeline writing to another database
    unknown: list[int] = field(default_factory=list)


def backoff_s(attempt: int, options: RunnerOptions) -> float:
    """Exponential backoff with full jitter: spreads retries after a shared outage."""
    ceiling = min(options.retry_max_s, options.retry_base_s * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


def outage_retries(lease_s: float, options: RunnerOptions) -> int:
    """How many times a message is sent back while the database is out of reach: enough
    that the shortest waits `backoff_s` can draw add up to `lease_s`, and no fewer than
    `max_attempts`. Given up on sooner, its documents would wait out a whole lease for
    the reconciler after the database came back; retried until then, each finds the
    database again within one wait of its return."""
    shortest_longest = options.retry_max_s / 2
    retries, waited = 0, 0.0
    while waited < lease_s:
        shortest = min(options.retry_max_s, options.retry_base_s * 2 ** min(retries, 60)) / 2
        if shortest >= shortest_longest:  # grown to its bound: the rest all alike
            retries += math.ceil((lease_s - waited) / shortest_longest)
            break
        retries += 1
        waited += shortest
    return max(retries, options.max_attempts)


def is_transient_db_error(exc: BaseException) -> bool:
    """Connection loss and lock contention pass; constraint or SQL errors do not."""
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


# ---------------------------------------------------------------- stage functions


def _run_clean(raw: tuple[bytes, str], options: RunnerOptions,
               lookup: Callable[[str], Collection[str]] | None) -> CleanedDoc:
    from tasks.clean import CleanOptions, clean

    content, path = raw
    return clean(RawDocument(content, name=path),
                 options=CleanOptions(max_bytes=options.max_file_bytes,
                                      boilerplate_min_docs=options.boilerplate_min_docs),
                 known_boilerplate=lookup)


def _run_extract(cleaned: CleanedDoc) -> Article:
    from tasks.extract import extract

    return extract(cleaned)


@dataclass(slots=True)
class _Work:
    """One document in hand: where it resumes, and what its stages have produced."""

    claim: pipeline.Claim
    raw: tuple[bytes, str] | None = None
    cleaned: CleanedDoc | None = None
    article: Article | None = None
    results: list[pipeline.StageResult] = field(default_factory=list)
    given_back: bool = False  # not started: the batch ran out of time first

    @property
    def stopped_at(self) -> pipeline.StageResult | None:
        last = self.results[-1] if self.results else None
        return last if last is not None and last.state is not StageState.SUCCEEDED else None


# ---------------------------------------------------------------- the batch


def run_batch(sessions: sessionmaker[Session], ids: list[int], *,
              options: RunnerOptions, worker: str) -> BatchOutcome:
    """Run every document in `ids` from the stage it is at through persist.

    The stages of one document run back to back in memory, each recorded as its own
    stage run; what the batch produced is written in one transaction at the end. A
    document that stops early (a failure, or a transient error to retry) keeps the
    output of its last finished stage, so its next attempt resumes exactly there.
    """
    outcome = BatchOutcome()
    try:
        with transaction(sessions) as session:
            claims = pipeline.claim(session, ids, max_attempts=options.max_attempts)
            if len(claims) < len(set(ids)):  # seldom: a redelivery, a duplicated message
                outcome.unknown = pipeline.missing_ids(session, ids)
            work = _load(session, claims)
            lookup = _boilerplate_lookup(session, options)
    except DBAPIError as exc:
        raise _as_transient(exc) from exc
    outcome.skipped = len(set(ids)) - len(claims) - len(outcome.unknown)

    alone = len(work) == 1
    for n, w in enumerate(work):
        if not _advance(w, options, lookup, outcome, alone=alone):
            # The batch's time is up. Its other documents go back untouched, without
            # costing an attempt; each will run in a message of its own.
            for rest in work[n + 1:]:
                rest.given_back = True
                outcome.retry[rest.claim.document_id] = 0.0
            break

    try:
        with transaction(sessions) as session:
            _write(session, work, worker)
    except DBAPIError as exc:
        if is_transient_db_error(exc):
            raise _as_transient(exc) from exc
        # One document's data was refused (e.g. by a constraint): write each on its own,
        # so only that one fails and its neighbours keep their work.
        log.warning("batch write refused (%s); writing documents one by one", exc.orig)
        for w in work:
            _write_alone(sessions, w, worker, outcome)
    outcome.succeeded = [w.claim.document_id for w in work
                         if w.stopped_at is None and not w.given_back]
    return outcome


def _write(session: Session, work: list[_Work], worker: str) -> None:
    _store(session, [w for w in work if not w.given_back])
    pipeline.record_results(session, [r for w in work for r in w.results], worker=worker,
                            extractor_version=EXTRACTOR_VERSION)
    pipeline.release(session, [w.claim.document_id for w in work if w.given_back])


def _write_alone(sessions: sessionmaker[Session], w: _Work, worker: str,
                 outcome: BatchOutcome) -> None:
    """Write one document's outcome; if the database refuses it, record why it failed."""
    try:
        with transaction(sessions) as session:
            _write(session, [w], worker)
        return
    except DBAPIError as exc:
        if is_transient_db_error(exc):
            raise _as_transient(exc) from exc
        error = exc
    doc_id = w.claim.document_id
    log.warning("document %s: the database refused its result: %s", doc_id, error.orig)
    last = w.results[-1]
    failed = pipeline.StageResult(
        doc_id, Stage.PERSIST if last.state is StageState.SUCCEEDED else last.stage,
        last.attempt, StageState.FAILED, last.started_at, utcnow(), last.queued_at,
        f"the database refused this document's data: {error.orig}", "database")
    outcome.retry.pop(doc_id, None)
    outcome.failed.append(doc_id)
    w.results = [r for r in w.results if r.state is StageState.SUCCEEDED
                 and r.stage is not failed.stage] + [failed]
    w.article = None
    with transaction(sessions) as session:
        pipeline.record_results(session, w.results, worker=worker,
                                extractor_version=EXTRACTOR_VERSION)


def _as_transient(exc: DBAPIError) -> Exception:
    if is_transient_db_error(exc):
        return TransientError(f"database unavailable: {exc.orig}")
    return exc


def cleaned_for_explain(sessions: sessionmaker[Session], document_id: int, *,
                        options: RunnerOptions) -> CleanedDoc | None:
    """The clean verdicts for a document, for `show --explain`.

    A document that stopped after clean kept its output; for the others clean runs
    again on the stored bytes, with today's recurring-line counts (clean is pure, so
    this is what it decided, give or take lines that became recurring since).
    """
    with reading(sessions) as session:
        stored = pipeline.load_outputs(session, Stage.CLEAN, [document_id])
        if document_id in stored:
            return CleanedDoc.from_dict(stored[document_id])
        raw = pipeline.load_raw(session, [document_id]).get(document_id)
        lookup = _boilerplate_lookup(session, options)
    if raw is None:
        return None
    return _run_clean(raw, options, lookup)


def _load(session: Session, claims: list[pipeline.Claim]) -> list[_Work]:
    """Each claimed document with the input of the stage it resumes at."""
    at = {stage: [c.document_id for c in claims if c.stage is stage] for stage in Stage}
    raw = pipeline.load_raw(session, at[Stage.CLEAN])
    cleaned = pipeline.load_outputs(session, Stage.CLEAN, at[Stage.EXTRACT])
    extracted = pipeline.load_outputs(session, Stage.EXTRACT, at[Stage.PERSIST])
    work = []
    for c in claims:
        w = _Work(c, raw=raw.get(c.document_id))
        if c.document_id in cleaned:
            w.cleaned = CleanedDoc.from_dict(cleaned[c.document_id])
        if c.document_id in extracted:
            w.article = Article.from_dict(extracted[c.document_id])
        work.append(w)
    return work


def _advance(w: _Work, options: RunnerOptions,
             lookup: Callable[[str], Collection[str]] | None, outcome: BatchOutcome, *,
             alone: bool) -> bool:
    """Run one document's remaining stages; False if the batch's time limit struck."""
    stage: Stage | None = w.claim.stage
    attempt, queued_at = w.claim.attempt, w.claim.queued_at
    while stage is not None:
        started = utcnow()
        try:
            if stage is Stage.CLEAN:
                if w.raw is None:
                    raise PermanentError("the raw bytes of this document are missing")
                w.cleaned = _run_clean(w.raw, options, lookup)
            elif stage is Stage.EXTRACT:
                if w.cleaned is None:
                    raise PermanentError("the output of clean is missing; reprocess it")
                w.article = _run_extract(w.cleaned)
            elif w.article is None:
                raise PermanentError("the output of extract is missing; reprocess it")
            # persist's write happens with the whole batch's, in _store
        except Exception as exc:  # recorded per document, never swallowed
            if _is_time_limit(exc) and not alone:
                # not necessarily this document's fault: it runs again on its own
                exc = TransientError("the batch ran out of time; retried on its own")
                w.results.append(_failure(w.claim.document_id, stage, attempt, exc, started,
                                          queued_at, options, outcome))
                return False
            w.results.append(_failure(w.claim.document_id, stage, attempt, exc, started,
                                      queued_at, options, outcome))
            return not _is_time_limit(exc)
        # persist's own time is the batch's write, shared by its documents: none is its own
        finished = started if stage is Stage.PERSIST else utcnow()
        w.results.append(pipeline.StageResult(w.claim.document_id, stage, attempt,
                                              StageState.SUCCEEDED, started, finished,
                                              queued_at))
        stage, attempt, queued_at = stage.next, 1, finished
    return True


def _store(session: Session, work: list[_Work]) -> None:
    """Articles for finished documents; resume points for the ones that stopped early.
    A document whose bytes hold no article by these rules loses the one it had (a page an
    older extractor took for an article), so that `articles` shows what the rules read."""
    done = [w for w in work if w.stopped_at is None and w.article is not None]
    rows = [article_row(w.claim.document_id, w.article) for w in done if w.article]
    new_ids = pipeline.upsert_articles(session, rows)
    pipeline.drop_articles(session, [
        w.claim.document_id for w in work if (stop := w.stopped_at) is not None
        and stop.state is StageState.FAILED and stop.error_kind in NO_ARTICLE_KINDS])
    # count recurring lines once per document: only when its article is first written
    counts: Counter[tuple[str, str]] = Counter()
    for w in done:
        if w.claim.document_id in new_ids and w.cleaned is not None:
            for fp in _fingerprints(w.cleaned):
                counts[(w.cleaned.source_key, fp)] += 1
    pipeline.add_boilerplate_counts(session, dict(counts))
    resume: list[tuple[int, Stage, dict[str, Any]]] = []
    for w in work:
        stop = w.stopped_at
        if stop is None or stop.stage is Stage.CLEAN:
            continue
        if stop.stage is Stage.EXTRACT and w.cleaned is not None:
            resume.append((w.claim.document_id, Stage.CLEAN, w.cleaned.to_dict()))
        elif stop.stage is Stage.PERSIST and w.article is not None:
            resume.append((w.claim.document_id, Stage.EXTRACT, w.article.to_dict()))
    pipeline.save_outputs(session, resume)


def _fingerprints(doc: CleanedDoc) -> set[str]:
    from tasks.clean import line_fingerprints

    return line_fingerprints(doc)


_boilerplate_cache: dict[tuple[str, str, int], tuple[float, dict[str, int]]] = {}


def _boilerplate_lookup(session: Session, options: RunnerOptions
                        ) -> Callable[[str], Collection[str]]:
    """Recurring lines per source, cached in the process for a short while.

    The counts only grow, and a line needs several documents to qualify, so a few
    seconds of staleness costs nothing and saves a query per source per batch.
    """
    bind = session.get_bind()
    url = str(bind.url) if hasattr(bind, "url") else ""

    def lookup(source_key: str) -> Collection[str]:
        key = (url, source_key, options.boilerplate_min_docs)
        hit = _boilerplate_cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < options.boilerplate_cache_s:
            return hit[1]
        with Session(bind) as s:
            lines = pipeline.recurring_lines(s, source_key, options.boilerplate_min_docs)
        _boilerplate_cache[key] = (time.monotonic(), lines)
        return lines

    return lookup


def _is_time_limit(exc: BaseException) -> bool:
    return type(exc).__name__ == "SoftTimeLimitExceeded"


def _failure(doc_id: int, stage: Stage, attempt: int, exc: BaseException, started: Any,
             queued_at: Any, options: RunnerOptions, outcome: BatchOutcome
             ) -> pipeline.StageResult:
    """Classify one document's error: retry later, or fail now with a readable reason."""
    if _is_time_limit(exc):
        exc = StageTimeout(f"stage {stage.value} took longer than the task's time limit, "
                           "even on its own")
    elif is_transient_db_error(exc):
        # e.g. the recurring-line lookup lost its connection mid-batch
        exc = TransientError(f"database unavailable: {getattr(exc, 'orig', exc)}")
    if isinstance(exc, TransientError) and attempt < options.max_attempts:
        delay = backoff_s(attempt, options)
        outcome.retry[doc_id] = delay
        log.warning("document %s, %s: transient error, retry in %.1fs: %s", doc_id,
                    stage.value, delay, exc)
        return pipeline.StageResult(doc_id, stage, attempt, StageState.RETRYING, started,
                                    utcnow(), queued_at, exc.message, exc.kind)
    outcome.failed.append(doc_id)
    if isinstance(exc, NewsdropError):
        message, kind = exc.message, exc.kind
        if isinstance(exc, TransientError):
            message = (f"gave up after {attempt} attempt{'' if attempt == 1 else 's'}: "
                       f"{message}")
        log.info("document %s failed at %s: %s", doc_id, stage.value, message)
    else:
        message, kind = f"internal error: {type(exc).__name__}: {exc}", "internal"
        log.exception("document %s, %s: unexpected error", doc_id, stage.value)
    return pipeline.StageResult(doc_id, stage, attempt, StageState.FAILED, started, utcnow(),
                                queued_at, message, kind)
