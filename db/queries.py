"""Read-side queries behind `status`, `articles`, `show`, `failures` and friends."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Select,
    Text,
    and_,
    case,
    cast,
    func,
    not_,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session, aliased

from db.ascii_fold import ascii_lower, ascii_lowered
from db.bounds import MAX_ID, in_slices
from db.dates import check_bound, check_window, since_instant, until_instant
from db.errors import QueryError
from db.models import (
    UNFINISHED,
    UNFINISHED_INDEX,
    Article,
    Document,
    DocumentStatus,
    Stage,
    StageOutput,
    StageRun,
    StageState,
    utcnow,
)
from db.pipeline import ACTIVE
from db.url_host import site_needle, url_host

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class ArticleFilter:
    # ISO 8601 dates or times, compared as instants with published_utc (see db/dates.py):
    # a time without an offset is UTC, and an `until` date alone takes in that whole day
    since: str | None = None
    until: str | None = None
    received_since: str | None = None  # taken in on or after, read as `since` is
    author: str | None = None
    site: str | None = None
    source: str | None = None  # in the file's path (source_path), ASCII letters any case
    language: str | None = None
    limit: int | None = 50
    offset: int = 0
    status: str | None = None  # the document's status, e.g. done, queued (being reprocessed)
    latest: bool = False  # leave out the articles a newer edition of their file replaced


def as_utc(value: datetime | None) -> datetime | None:
    """`value` with its zone: SQLite hands back naive datetimes for timezone-aware
    columns, and they are UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def iso_utc(value: datetime | None) -> str | None:
    """`value` as ISO 8601 text with its zone (+00:00 for SQLite's naive UTC values)."""
    aware = as_utc(value)
    return aware.isoformat() if aware is not None else None


def article_conditions(f: ArticleFilter) -> list[ColumnElement[bool]]:
    """The WHERE terms of `f` over `articles` joined to `documents` (no limit or order)."""
    terms: list[ColumnElement[bool]] = []
    terms.extend(_instant_terms(Article.published_utc, f.since, f.until))
    terms.extend(_instant_terms(Document.received_at, f.received_since, None))
    if f.author:
        # authors is stored as JSON text with non-ASCII escaped (\u00e9), so the needle is
        # escaped the same way, and only its ASCII letters are folded (lower() of the
        # escaped text folds only those); autoescape keeps % and _ literal
        needle = json.dumps(ascii_lowered(f.author))[1:-1]
        terms.append(func.lower(cast(Article.authors, Text)).contains(needle, autoescape=True))
    if f.site:
        terms.append(_site_term(f.site))
    if f.source:
        terms.append(ascii_lower(Document.source_path).contains(ascii_lowered(f.source),
                                                                 autoescape=True))
    if f.language:  # codes are ASCII, which lower() folds on both databases
        terms.append(func.lower(Article.language) == f.language.lower())
    if f.status:
        terms.append(Document.status == DocumentStatus(f.status))
    if f.latest:
        terms.append(~_newer_editions().exists())
    return terms


def _newer_editions(*, newest: bool = False) -> Select[Any]:
    """The documents taken in after `Document` under the same name that hold an article
    (or, with `newest`, the highest id of them): newer editions of its file, changed in
    place or replaced by one of the same name. A later document that holds no article
    (failed, deleted, still running) replaces nothing, so the last article a file held
    stays its latest."""
    newer, article = aliased(Document), aliased(Article)
    return (select(func.max(newer.id) if newest else newer.id)
            .join(article, article.document_id == newer.id)
            .where(newer.source_path == Document.source_path, newer.id > Document.id))


def newest_editions(session: Session, ids: Sequence[int]) -> dict[int, int]:
    """For each of the documents `ids` that a newer edition of its file replaced, the id
    of the newest one."""
    out: dict[int, int] = {}
    for part in in_slices(ids):
        rows = session.execute(select(Document.id,
                                      _newer_editions(newest=True).scalar_subquery())
                               .where(Document.id.in_(part)))
        out.update({doc_id: newer for doc_id, newer in rows if newer is not None})
    return out


def newest_edition(session: Session, document_id: int) -> int | None:
    """`newest_editions` for one document."""
    return newest_editions(session, [document_id]).get(document_id)


def _site_term(site: str) -> ColumnElement[bool]:
    """`site` in the site name, or in the host of the page's address (a web address given
    counts by its host: "https://www.example.com/news" looks for www.example.com)."""
    needle = site_needle(site)
    return or_(*(expr.contains(needle, autoescape=True) for expr in (
        ascii_lower(Article.site_name), url_host(Article.url),
        url_host(Article.canonical_url))))


def _instant_terms(column: Any, since: str | None, until: str | None
                   ) -> list[ColumnElement[bool]]:
    """`column` (a UTC timestamp) within `since`/`until`, read by db/dates.py's rules."""
    try:
        check_window(since, until)
    except ValueError as exc:
        raise QueryError(str(exc)) from None
    terms: list[ColumnElement[bool]] = []
    if since:
        terms.append(column >= _bound("since", since_instant, since))
    if until:
        end, inclusive = _bound("until", until_instant, until)
        terms.append(column <= end if inclusive else column < end)
    return terms


def _bound(name: str, parse: Callable[[str], _T], value: str) -> _T:
    try:
        return parse(check_bound(value))
    except ValueError as exc:
        raise QueryError(f"{name}: {exc}") from None


def filtered_articles(f: ArticleFilter) -> Select:  # type: ignore[type-arg]
    stmt = select(Article, Document).join(Document, Document.id == Article.document_id)
    stmt = stmt.where(*article_conditions(f))
    # by instant, not by the stated text, which sorts by wall clock across offsets
    stmt = stmt.order_by(Article.published_utc.desc().nulls_last(), Article.id.desc())
    if f.offset:
        stmt = stmt.offset(f.offset)
    if f.limit is not None:
        stmt = stmt.limit(f.limit)
    return stmt


def list_articles(session: Session, f: ArticleFilter) -> list[tuple[Article, Document]]:
    return [(row[0], row[1]) for row in session.execute(filtered_articles(f)).all()]


def list_articles_with_editions(session: Session, f: ArticleFilter
                                ) -> list[tuple[Article, Document, int | None]]:
    """`list_articles`, each with the id of its file's newest edition if one replaced it."""
    rows = list_articles(session, f)
    newer = newest_editions(session, [d.id for _, d in rows])
    return [(a, d, newer.get(d.id)) for a, d in rows]


def iter_articles(session: Session, f: ArticleFilter, chunk: int = 500
                  ) -> Iterator[tuple[Article, Document]]:
    """Every matching article, streamed in chunks so memory stays flat on any size."""
    stmt = filtered_articles(replace(f, limit=None, offset=0))
    result = session.execute(stmt.execution_options(yield_per=chunk))
    for row in result:
        a, d = row[0], row[1]
        yield a, d
        session.expunge(a)
        session.expunge(d)


def document_by_id(session: Session, document_id: int) -> Document | None:
    """The document with this id; None also for an id no document can have (below 1, or
    beyond the id column's range, where PostgreSQL would refuse the lookup)."""
    if not 1 <= document_id <= MAX_ID:
        return None
    return session.get(Document, document_id)


#: the fewest hex digits of a sha256 taken as a prefix: fewer would match many documents
MIN_SHA_PREFIX = 6
#: how many of the hashes an ambiguous prefix starts are named
_AMBIGUOUS_SHOWN = 5


class AmbiguousReference(QueryError):
    """A sha256 prefix that more than one stored hash starts with."""

    def __init__(self, prefix: str, count: int, candidates: list[tuple[int, str]]) -> None:
        named = ", ".join(f"{doc_id} ({sha[:16]}…)" for doc_id, sha in candidates)
        more = ", …" if count > len(candidates) else ""
        super().__init__(f"{prefix!r} is ambiguous: the sha256 of {count} documents starts "
                         f"with it: {named}{more}; give more digits, or the id")
        self.candidates = candidates


def id_meant(ref: str) -> str | None:
    """The id that digits with leading zeros stand for ("0042": "42"), which
    `find_document` reads as a sha256 prefix only; None for any other ref."""
    digits = ref.strip()
    if digits.isascii() and digits.isdigit() and digits.startswith("0") and digits.strip("0"):
        return digits.lstrip("0")
    return None


def find_document(session: Session, ref: str, *, by_path: bool = True) -> Document | None:
    """A document by id, by a sha256 prefix of at least MIN_SHA_PREFIX hex digits, or by
    its file's source_path, tried in that order.

    Digits are read as an id first, and as a sha256 prefix when no document has that id
    (hashes start with digits too); digits with a leading zero, which no one writes an
    id with, are a prefix only. Of several documents with one hash, the first copy is the
    one found. What neither finds is, `by_path`, a file's source_path, as given (a file
    named by a hash of its address is found so): its latest edition (`latest_of_file`).
    None when nothing is found; raises AmbiguousReference when the prefix starts several
    hashes and no file has that very name.
    """
    path, ref = ref, ref.strip().lower()
    digits = ref.isascii() and ref.isdigit()  # not '²'
    if digits and not ref.startswith("0") and len(ref) <= len(str(MAX_ID)):
        doc = document_by_id(session, int(ref))
        if doc is not None:
            return doc
    hexadecimal = bool(ref) and all(c in "0123456789abcdef" for c in ref)
    if hexadecimal and MIN_SHA_PREFIX <= len(ref) <= 64:
        try:
            doc = _by_sha256_prefix(session, ref)
        except AmbiguousReference:
            named = latest_of_file(session, path) if by_path else None
            if named is None:
                raise
            return named
        if doc is not None:
            return doc
    return latest_of_file(session, path) if by_path else None


def _by_sha256_prefix(session: Session, prefix: str) -> Document | None:
    matching = (select(Document.sha256, func.min(Document.id).label("first"))
                .where(Document.sha256.startswith(prefix)).group_by(Document.sha256))
    hashes = session.execute(
        matching.order_by(Document.sha256).limit(_AMBIGUOUS_SHOWN + 1)).all()
    if len(hashes) > 1:
        count = session.scalar(select(func.count()).select_from(matching.subquery())) or 0
        raise AmbiguousReference(prefix, count, [(row.first, row.sha256)
                                                 for row in hashes[:_AMBIGUOUS_SHOWN]])
    if not hashes:
        return None
    return session.scalars(
        select(Document).where(Document.sha256 == hashes[0].sha256)
        .order_by(Document.duplicate_of.is_not(None), Document.id).limit(1)
    ).first()


def latest_of_file(session: Session, path: str) -> Document | None:
    """The newest document of this source_path that holds an article (what `--latest`
    lists for the file), else the newest of that name (failed, deleted…)."""
    return session.scalars(
        select(Document).outerjoin(Article, Article.document_id == Document.id)
        .where(Document.source_path == path)
        .order_by(Article.id.is_(None), Document.id.desc()).limit(1)).first()


def later_without_article(session: Session, document: Document) -> list[Document]:
    """The documents taken in after `document` under the same name that hold no article
    (failed, still running, a duplicate…): editions that replaced nothing, which its
    reader may want to know of. Deleted ones are left out."""
    return list(session.scalars(
        select(Document).outerjoin(Article, Article.document_id == Document.id)
        .where(Document.source_path == document.source_path, Document.id > document.id,
               Article.id.is_(None), Document.status != DocumentStatus.DELETED)
        .order_by(Document.id)))


def documents_of_file(session: Session, path: str) -> list[int]:
    """The ids of every edition of the file `path` names (its source_path) that is not
    deleted; when all are, those of the deleted ones."""
    rows = session.execute(select(Document.id, Document.status)
                           .where(Document.source_path == path).order_by(Document.id)).all()
    kept = [r.id for r in rows if r.status is not DocumentStatus.DELETED]
    return kept or [r.id for r in rows]


def article_of(session: Session, document_id: int) -> Article | None:
    return session.scalar(select(Article).where(Article.document_id == document_id))


def stage_runs(session: Session, document_id: int) -> list[StageRun]:
    return list(session.scalars(
        select(StageRun).where(StageRun.document_id == document_id).order_by(StageRun.id)
    ))


def stage_output(session: Session, document_id: int, stage: Stage) -> dict[str, Any] | None:
    return session.scalar(select(StageOutput.payload).where(
        StageOutput.document_id == document_id, StageOutput.stage == stage))


def counts_by_status(session: Session) -> dict[str, int]:
    rows = session.execute(select(Document.status, func.count()).group_by(Document.status))
    counts = {s.value: 0 for s in DocumentStatus}
    for status, n in rows:
        counts[DocumentStatus(status).value] = n
    return counts


def active_by_stage(session: Session) -> dict[str, dict[str, int]]:
    """Unfinished documents per stage and stage state."""
    rows = session.execute(
        select(Document.stage, Document.stage_state, func.count())
        .where(Document.status.in_((DocumentStatus.QUEUED, DocumentStatus.PROCESSING)))
        .group_by(Document.stage, Document.stage_state)
    )
    out: dict[str, dict[str, int]] = {}
    for stage, state, n in rows:
        out.setdefault(Stage(stage).value if stage else "-", {})[
            StageState(state).value if state else "-"] = n
    return out


def throughput(session: Session, minutes: Sequence[int] = (1, 5, 15)) -> dict[str, float]:
    """Documents finished per second over each recent window."""
    now = utcnow()
    out = {}
    for m in minutes:
        n = session.scalar(select(func.count()).select_from(Document).where(
            Document.status == DocumentStatus.DONE,
            Document.finished_at >= now - timedelta(minutes=m))) or 0
        out[f"{m}m"] = round(n / (m * 60), 2)
    return out


def latency_percentiles(session: Session, since: timedelta = timedelta(minutes=15),
                        sample: int = 5000) -> dict[str, float | None]:
    """Queued-to-done seconds (p50, p95) over recently finished documents: from when
    each one's last pass was queued (its intake, or the `retry` or `reprocess` that sent
    it back) to when it finished."""
    rows = session.execute(
        select(Document.pass_queued_at, Document.received_at, Document.finished_at)
        .where(Document.status == DocumentStatus.DONE,
               Document.finished_at >= utcnow() - since)
        .order_by(Document.finished_at.desc()).limit(sample)
    ).all()
    # a row written without pass_queued_at (by hand, say) counts from its intake
    values = sorted(
        (as_utc(f) - as_utc(q or r)).total_seconds()  # type: ignore[operator]
        for q, r, f in rows
    )
    if not values:
        return {"p50": None, "p95": None}
    return {"p50": round(_pct(values, 0.50), 3), "p95": round(_pct(values, 0.95), 3)}


def _pct(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def within_lease(session: Session, lease: timedelta) -> tuple[int, datetime | None]:
    """How many unfinished documents changed state within `lease` (the reconciler leaves
    them alone for now), and the earliest of those changes (UTC)."""
    count, earliest = session.execute(
        select(func.count(), func.min(Document.updated_at))
        .where(Document.status.in_(ACTIVE), Document.updated_at >= utcnow() - lease)).one()
    return int(count), as_utc(earliest)


def oldest_unfinished_age_s(session: Session) -> float | None:
    """Seconds since the oldest queued or processing document's pass was queued.

    The condition is the partial index's own text, so the answer is that index's first
    entry, however long the backlog.
    """
    # SQLite keeps no statistics here (nothing runs ANALYZE), and without them it would
    # rather take the status index and read every unfinished row it points to
    hint = (f" INDEXED BY {UNFINISHED_INDEX}"
            if session.get_bind().dialect.name == "sqlite" else "")
    oldest = session.scalar(
        text(f"SELECT min(pass_queued_at) AS oldest FROM documents{hint} WHERE {UNFINISHED}")
        .columns(oldest=DateTime(timezone=True)))
    if oldest is None:
        return None
    return round((utcnow() - as_utc(oldest)).total_seconds(), 1)  # type: ignore[operator]


#: the stage `failures` names for a file rejected when taken in, before any stage ran
INTAKE = "intake"


@dataclass(frozen=True, slots=True)
class FailureFilter:
    stage: str | None = None  # INTAKE or a Stage value
    kind: str | None = None
    since: datetime | None = None
    limit: int | None = 50


_FAILED_OR_REJECTED = (DocumentStatus.FAILED, DocumentStatus.REJECTED)


def failures(session: Session, f: FailureFilter) -> list[Document]:
    stmt = select(Document).where(Document.status.in_(_FAILED_OR_REJECTED))
    if f.stage == INTAKE:  # a rejected file has no stage: intake is where it stopped
        stmt = stmt.where(Document.status == DocumentStatus.REJECTED)
    elif f.stage:
        stmt = stmt.where(Document.stage == Stage(f.stage))
    if f.kind:
        stmt = stmt.where(Document.error_kind == f.kind)
    if f.since:
        stmt = stmt.where(Document.finished_at >= f.since)
    stmt = stmt.order_by(Document.finished_at.desc(), Document.id.desc())
    if f.limit is not None:
        stmt = stmt.limit(f.limit)
    return list(session.scalars(stmt))


def failure_kinds(session: Session) -> list[str]:
    """The error kinds the failed and rejected documents hold, in order."""
    return sorted(session.scalars(
        select(Document.error_kind).distinct()
        .where(Document.status.in_(_FAILED_OR_REJECTED), Document.error_kind.is_not(None))))


def failed_ids(session: Session) -> list[int]:
    return list(session.scalars(select(Document.id).where(
        Document.status == DocumentStatus.FAILED).order_by(Document.id)))


def repeatable_failures(session: Session, kinds: Collection[str], extractor_version: str
                        ) -> dict[int, str]:
    """Failed documents (id: kind) whose failure, of one of `kinds`, a worker of
    `extractor_version` recorded: the same bytes read by the same rules fail the same way."""
    rows = session.execute(select(Document.id, Document.error_kind).where(
        Document.status == DocumentStatus.FAILED, Document.error_kind.in_(sorted(kinds)),
        Document.failed_extractor_version == extractor_version).order_by(Document.id))
    return {doc_id: str(kind) for doc_id, kind in rows}


def _statuses(session: Session, ids: Sequence[int]) -> Iterator[tuple[int, DocumentStatus]]:
    """(id, status) of each of `ids` that exists, a slice of ids per statement.

    Rows are looked up by id alone and their status read here: with a status condition,
    the status index (an entry per queued document) would be intersected too, which
    costs as much as the backlog.
    """
    for part in in_slices(ids):
        for row in session.execute(select(Document.id, Document.status).where(
                Document.id.in_(part))):
            yield row.id, row.status


def status_counts(session: Session, ids: Sequence[int]) -> dict[str, int]:
    """How many of `ids` are in each status (statuses with none are absent)."""
    counts: dict[str, int] = {}
    for _, status in _statuses(session, ids):
        key = DocumentStatus(status).value
        counts[key] = counts.get(key, 0) + 1
    return counts


def unfinished_of(session: Session, ids: Sequence[int]) -> list[int]:
    """Those of `ids` not yet in a terminal state, in the order given."""
    unfinished = {i for i, status in _statuses(session, ids) if status in ACTIVE}
    return [i for i in ids if i in unfinished]


#: the statuses a document can be reprocessed from: finished originals, whose bytes are
#: stored (duplicates and rejected files have none of their own; active ones are busy)
REPROCESSABLE = (DocumentStatus.DONE, DocumentStatus.FAILED)


def received_conditions(since: str | None, until: str | None
                        ) -> list[ColumnElement[bool]]:
    """`since`/`until` over `documents.received_at`, read as the article filters read
    theirs (db/dates.py): a time without an offset is UTC, a date alone the start of
    that day, and an `until` date alone takes in that whole day."""
    return _instant_terms(Document.received_at, since, until)


_NOT_REPROCESSABLE = "not done or failed"


@dataclass(frozen=True, slots=True)
class Staleness:
    """What `reprocess --stale` runs again: an article an extractor other than
    `extractor_version` made, or a failure of one of `verdict_kinds` (a verdict on the
    bytes, which newer rules may change) it gave. A failure from before the version was
    recorded (null) counts as another's; a lost worker or a timeout is no verdict."""

    extractor_version: str
    verdict_kinds: frozenset[str]


def _reprocess_rules(since: str | None, until: str | None, stale: Staleness | None
                     ) -> list[tuple[str, ColumnElement[bool]]]:
    """What a document must be to run through every stage again, each rule named by what
    a document failing it is, in the order a document is judged (Article outer-joined)."""
    rules: list[tuple[str, ColumnElement[bool]]] = [
        (_NOT_REPROCESSABLE, Document.status.in_(REPROCESSABLE))]
    if stale:
        # a failed document is stale only by its failure, whatever article it keeps: one
        # that failed otherwise would be sent again at every look. No term is ever NULL.
        made_by_older = and_(Document.status == DocumentStatus.DONE,
                             Article.document_id.is_not(None),
                             Article.extractor_version != stale.extractor_version)
        failed_by_older = and_(
            Document.status == DocumentStatus.FAILED,
            func.coalesce(Document.error_kind, "").in_(sorted(stale.verdict_kinds)),
            Document.failed_extractor_version.is_distinct_from(stale.extractor_version))
        rules.append(("not stale (nothing an older extractor made or judged)",
                      or_(made_by_older, failed_by_older)))
    window = received_conditions(since, until)
    if window:
        rules.append(("not received within --since/--until", and_(*window)))
    return rules


def _reprocess_select(*columns: Any) -> Select[Any]:
    return select(*columns).outerjoin(Article, Article.document_id == Document.id)


def reprocess_candidates(session: Session, *, ids: Sequence[int] | None = None,
                         since: str | None = None, until: str | None = None,
                         stale: Staleness | None = None) -> list[int]:
    """Documents with stored bytes that can run through every stage again: among `ids`
    when given, received within `since`/`until` (ISO 8601, as `received_conditions`
    reads them), and stale (`Staleness`) when given."""
    rules = _reprocess_rules(since, until, stale)
    stmt = _reprocess_select(Document.id).where(*(rule for _, rule in rules))
    if ids is None:
        return list(session.scalars(stmt.order_by(Document.id)))
    found: list[int] = []
    for part in in_slices(sorted(set(ids))):
        found.extend(session.scalars(stmt.where(Document.id.in_(part)).order_by(Document.id)))
    return found


def reprocess_exclusions(session: Session, ids: Sequence[int], *, since: str | None = None,
                         until: str | None = None, stale: Staleness | None = None
                         ) -> dict[int, tuple[str, str | None]]:
    """Why each existing document of `ids` is not a `reprocess_candidates` one, by the
    first rule it fails: {id: (reason, detail)}; candidates and unknown ids are absent.
    The database judges every rule, with the very terms reprocess_candidates uses."""
    rules = _reprocess_rules(since, until, stale)
    # no rule is ever NULL, so each one's NOT is true or false
    failed = case(*((not_(rule), reason) for reason, rule in rules), else_=None).label("failed")
    out: dict[int, tuple[str, str | None]] = {}
    for part in in_slices(ids):
        rows = session.execute(_reprocess_select(Document.id, Document.status, failed)
                               .where(Document.id.in_(part)))
        for doc_id, status, reason in rows:
            if reason is not None:
                # the status it is in, where the status is the reason
                detail = DocumentStatus(status).value if reason == _NOT_REPROCESSABLE else None
                out[doc_id] = (reason, detail)
    return out


def stage_durations(session: Session, since: timedelta = timedelta(minutes=15),
                    sample: int = 5000) -> dict[str, dict[str, float | int | None]]:
    """Running time per stage of the runs finished in the window: how many and their
    average, over all of them, and a p95 over each stage's latest `sample` runs (a
    sample per stage, so that the busiest stage cannot crowd the others out)."""
    window = (StageRun.finished_at >= utcnow() - since, StageRun.duration_ms.is_not(None))
    totals = {Stage(stage).value: (int(n), avg) for stage, n, avg in session.execute(
        select(StageRun.stage, func.count(), func.avg(StageRun.duration_ms))
        .where(*window).group_by(StageRun.stage))}
    out: dict[str, dict[str, float | int | None]] = {}
    for stage in Stage:
        runs, avg = totals.get(stage.value, (0, None))
        values = sorted(float(ms or 0) for ms in session.scalars(
            select(StageRun.duration_ms).where(*window, StageRun.stage == stage)
            .order_by(StageRun.finished_at.desc()).limit(sample))) if runs else []
        out[stage.value] = {
            "runs": runs,
            # to 0.01 ms, as runs are recorded (the p95 is one of them): a stage under
            # a millisecond needs both digits
            "avg_ms": round(float(avg), 2) if runs and avg is not None else None,
            "p95_ms": _pct(values, 0.95) if values else None,
        }
    return out


def stage_duration_histogram(session: Session, buckets_ms: Sequence[float]
                             ) -> dict[str, dict[str, Any]]:
    """Every finished stage run so far, bucketed by running time (cumulative, as Prometheus
    histograms are): {stage: {"buckets": [(le_ms, count)…], "count": n, "sum_ms": total}}."""
    columns = [func.sum(case((StageRun.duration_ms <= b, 1), else_=0)) for b in buckets_ms]
    rows = session.execute(
        select(StageRun.stage, func.count(), func.sum(StageRun.duration_ms), *columns)
        .where(StageRun.duration_ms.is_not(None))
        .group_by(StageRun.stage)
    ).all()
    out: dict[str, dict[str, Any]] = {
        s.value: {"buckets": [(b, 0) for b in buckets_ms], "count": 0, "sum_ms": 0.0}
        for s in Stage}
    for stage, count, total, *counts in rows:
        out[Stage(stage).value] = {
            "buckets": [(b, int(n or 0)) for b, n in zip(buckets_ms, counts, strict=True)],
            "count": int(count), "sum_ms": round(float(total or 0), 2)}
    return out


def stage_run_counts(session: Session) -> dict[tuple[str, str], int]:
    """Stage runs so far per (stage, state): retries are the runs in state `retrying`."""
    rows = session.execute(
        select(StageRun.stage, StageRun.state, func.count())
        .group_by(StageRun.stage, StageRun.state))
    return {(Stage(stage).value, StageState(state).value): n for stage, state, n in rows}


def source_paths(session: Session, ids: Sequence[int]) -> dict[int, str]:
    """The source_path of each existing document among `ids`, in the order of `ids`."""
    found: dict[int, str] = {}
    for part in in_slices(ids):
        found.update((doc_id, path) for doc_id, path in session.execute(
            select(Document.id, Document.source_path).where(Document.id.in_(part))))
    return {i: found[i] for i in ids if i in found}


def status_of(session: Session, ids: Sequence[int]) -> dict[int, tuple[str, str | None]]:
    """(status, stage) of each existing document among `ids`; unknown ids are absent."""
    out: dict[int, tuple[str, str | None]] = {}
    for part in in_slices(ids):
        rows = session.execute(select(Document.id, Document.status, Document.stage).where(
            Document.id.in_(part)))
        for doc_id, status, stage in rows:
            out[doc_id] = (DocumentStatus(status).value, Stage(stage).value if stage else None)
    return out
