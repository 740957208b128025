"""The pipeline's writes: intake, stage claims and outcomes, article upserts, leases.

Each function takes a `Session` inside a transaction the caller owns, and works on a
batch of documents with a constant number of statements, so a batch of a hundred
costs about what a batch of one does.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    any_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db import bulk
from db.bounds import in_slices
from db.models import (
    UNFINISHED_STATUSES,
    Article,
    BoilerplateLine,
    Document,
    DocumentContent,
    DocumentStatus,
    Stage,
    StageOutput,
    StageRun,
    StageState,
    utcnow,
)

#: the statuses a document is still being worked on in
ACTIVE = UNFINISHED_STATUSES

#: `updated_at` of a queued document whose message the broker refused (`end_leases`):
#: before any lease's cutoff, so the reconciler's next round sends it, and a time no
#: document's state moved at, so the reconciler can tell it from a lost message
LEASE_ENDED = datetime(2000, 1, 1, tzinfo=UTC)


class ArticleStatus(StrEnum):
    """The statuses a document holding an article can have: what filtering articles by
    their document's status can ask for.

    Only persist writes an article: a done document that runs again (`reprocess`, then
    `retry`) keeps the article it had while queued or processing, and after failing,
    unless it failed because its bytes hold no article (`drop_articles`). Duplicates and
    rejected files are never processed, so neither ever has an article.
    """

    DONE = DocumentStatus.DONE.value
    QUEUED = DocumentStatus.QUEUED.value
    PROCESSING = DocumentStatus.PROCESSING.value
    FAILED = DocumentStatus.FAILED.value


@dataclass(frozen=True, slots=True)
class IntakeResult:
    document_id: int
    # None: the same file seen again (same bytes, same name), and nothing recorded;
    # document_id is the document it was taken in as
    status: DocumentStatus | None
    duplicate_of: int | None = None


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


@contextmanager
def _index_lookup(session: Session) -> Iterator[None]:
    """Run the statements inside as index lookups on PostgreSQL, whatever its statistics.

    A batch looks up a hundred or a thousand values of an indexed column. Without
    statistics on that column (a new database before ANALYZE, or a server running
    without autovacuum) PostgreSQL assumes each value matches 0.5% of the rows, so the
    batch "matches" them all and it scans the whole table: every batch would cost more
    as the table grows. The setting is put back after the statements; if one of them
    fails, the transaction is rolled back, which undoes a SET LOCAL anyway.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        session.execute(text("SET LOCAL enable_seqscan = off"))
    yield
    if postgres:
        session.execute(text("SET LOCAL enable_seqscan TO DEFAULT"))


def _among(session: Session, column: Any, values: Collection[Any]) -> ColumnElement[bool]:
    """`column IN (values)`; on PostgreSQL `column = ANY(array)`, with one parameter.

    An IN list is one parameter per value: SQLAlchemy renders the list into the
    statement at every execution, psycopg converts the long text again (it caches
    statements of 50 parameters at most) and the server parses it anew. One array
    parameter keeps the statement's text the same whatever the batch, so all three
    happen once, and psycopg prepares it on the server. Both read the column's index.
    """
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(list(values), ARRAY(column.type)))
    return column.in_(values)


def missing_ids(session: Session, ids: Sequence[int]) -> list[int]:
    """Those of `ids` that no document has: what a message sent by a pipeline writing to
    another database names."""
    found = set(session.scalars(select(Document.id).where(_among(session, Document.id, ids))))
    return [i for i in dict.fromkeys(ids) if i not in found]


# ---------------------------------------------------------------- intake


def find_original(session: Session, sha256: str) -> int | None:
    # locked as `take_in_many` locks what it links to (`_hold_originals`)
    return session.scalar(
        select(Document.id).where(
            Document.sha256 == sha256,
            Document.duplicate_of.is_(None),
            Document.status != DocumentStatus.REJECTED,
        ).with_for_update(key_share=True)
    )


def take_in(session: Session, *, sha256: str, source_path: str, content: bytes,
            keep_duplicate_bytes: bool = False,
            source_mtime_ns: int | None = None) -> IntakeResult:
    """Insert a document with its bytes as `queued`, or as a `duplicate` of the first copy;
    or nothing (status None, the id of that document) if the same bytes were taken in
    under the same name already.

    Two watchers racing on the same bytes are settled by the unique index on originals:
    the loser sees IntegrityError and records a duplicate instead, or nothing if the
    winner took in the same file.
    """
    now = utcnow()
    original = find_original(session, sha256)
    if original is None:
        try:
            with session.begin_nested():
                doc_id = session.scalar(
                    insert(Document)
                    .values(sha256=sha256, source_path=source_path, size_bytes=len(content),
                            source_mtime_ns=source_mtime_ns,
                            status=DocumentStatus.QUEUED, stage=Stage.CLEAN,
                            stage_state=StageState.QUEUED, attempts=0,
                            received_at=now, pass_queued_at=now, updated_at=now)
                    .returning(Document.id)
                )
                assert doc_id is not None
                session.execute(insert(DocumentContent).values(document_id=doc_id,
                                                               content=content))
            return IntakeResult(doc_id, DocumentStatus.QUEUED)
        except IntegrityError:
            original = find_original(session, sha256)
            if original is None:
                raise
    # the same bytes under the same name: the same file, taken in by another intake at
    # the same moment (two `ingest` runs of one folder), is no duplicate of itself
    same = session.scalar(
        select(func.min(Document.id))
        .where(Document.sha256 == sha256, Document.source_path == source_path,
               Document.status != DocumentStatus.REJECTED))
    if same is not None:
        return IntakeResult(same, None)
    doc_id = session.scalar(
        insert(Document)
        .values(sha256=sha256, source_path=source_path, size_bytes=len(content),
                source_mtime_ns=source_mtime_ns,
                status=DocumentStatus.DUPLICATE, duplicate_of=original, attempts=0,
                received_at=now, updated_at=now, finished_at=now)
        .returning(Document.id)
    )
    assert doc_id is not None
    if keep_duplicate_bytes:
        session.execute(insert(DocumentContent).values(document_id=doc_id, content=content))
    return IntakeResult(doc_id, DocumentStatus.DUPLICATE, duplicate_of=original)


@dataclass(frozen=True, slots=True)
class Incoming:
    """One file's bytes on their way into the database."""

    sha256: str
    source_path: str
    content: bytes
    mtime_ns: int | None = None  # the file's, when read (see `taken_files`)


def take_in_many(session: Session, items: Sequence[Incoming], *,
                 keep_duplicate_bytes: bool = False) -> list[IntakeResult]:
    """`take_in` for a batch, in a constant number of statements.

    An item whose bytes were already taken in under the same name (the same file seen
    again) records nothing: its result has no status, and the id of that document.
    """
    if not items:
        return []
    with _index_lookup(session):
        known = session.execute(
            select(Document.id, Document.sha256, Document.source_path, Document.duplicate_of,
                   Document.status)
            .where(_among(session, Document.sha256, {i.sha256 for i in items}))
        ).all()
    originals = {r.sha256: r.id for r in known
                 if r.duplicate_of is None and r.status != DocumentStatus.REJECTED}
    # the document of each (sha256, name) taken in: the first, should two rows hold it
    taken: dict[tuple[str, str], int] = {}
    for r in known:
        key = (r.sha256, r.source_path)
        taken[key] = min(r.id, taken.get(key, r.id))
    seen = set(taken)
    plan: list[str] = []
    fresh: dict[str, Incoming] = {}
    for it in items:
        if (it.sha256, it.source_path) in seen:
            plan.append("again")
            continue
        seen.add((it.sha256, it.source_path))
        if it.sha256 in originals or it.sha256 in fresh:
            plan.append("duplicate")
        else:
            fresh[it.sha256] = it
            plan.append("new")
    linked = sorted({originals[it.sha256] for it, step in zip(items, plan, strict=True)
                     if step == "duplicate" and it.sha256 in originals})
    if linked and not _hold_originals(session, linked):
        # one was deleted since it was read: its bytes are new again, so look again
        return take_in_many(session, items, keep_duplicate_bytes=keep_duplicate_bytes)
    now = utcnow()
    try:
        with session.begin_nested():
            new_ids = _insert_documents(session, [
                {"sha256": it.sha256, "source_path": it.source_path,
                 "size_bytes": len(it.content), "status": DocumentStatus.QUEUED,
                 "source_mtime_ns": it.mtime_ns,
                 "stage": Stage.CLEAN, "stage_state": StageState.QUEUED, "attempts": 0,
                 "received_at": now, "pass_queued_at": now, "updated_at": now}
                for it in fresh.values()])
            _insert_contents(session, zip(new_ids, (it.content for it in fresh.values()),
                                          strict=True))
    except IntegrityError:
        # another watcher stored some of the same bytes at the same moment: settle each
        # item on its own, where the unique index decides who holds the original
        return _results(items, plan, taken, lambda it, _step: take_in(
            session, sha256=it.sha256, source_path=it.source_path, content=it.content,
            keep_duplicate_bytes=keep_duplicate_bytes, source_mtime_ns=it.mtime_ns))
    originals.update(zip(fresh, new_ids, strict=True))
    dups = [it for it, step in zip(items, plan, strict=True) if step == "duplicate"]
    dup_ids = _insert_documents(session, [
        {"sha256": it.sha256, "source_path": it.source_path, "size_bytes": len(it.content),
         "source_mtime_ns": it.mtime_ns,
         "status": DocumentStatus.DUPLICATE, "duplicate_of": originals[it.sha256],
         "attempts": 0, "received_at": now, "updated_at": now, "finished_at": now}
        for it in dups])
    if keep_duplicate_bytes:
        _insert_contents(session, zip(dup_ids, (it.content for it in dups), strict=True))
    by_new = dict(zip(fresh, new_ids, strict=True))
    dup_iter = iter(dup_ids)

    def stored(it: Incoming, step: str) -> IntakeResult:
        if step == "new":
            return IntakeResult(by_new[it.sha256], DocumentStatus.QUEUED)
        return IntakeResult(next(dup_iter), DocumentStatus.DUPLICATE,
                            duplicate_of=originals[it.sha256])

    return _results(items, plan, taken, stored)


def _hold_originals(session: Session, ids: list[int]) -> bool:
    """Lock the originals `ids` that new duplicates will point at, until the caller
    commits (PostgreSQL; SQLite's writers take turns anyway), so that a `delete` of one
    waits and then deletes the new duplicates with it. False if one was deleted since it
    was read (its sha256 emptied). In id order, so that two intakes lock shared originals
    in one order, and exclusive, so that two intakes linking to one original take turns
    rather than both holding a share of it and deadlocking on their next write to it."""
    with _index_lookup(session):
        held = session.scalars(
            select(Document.id).where(_among(session, Document.id, ids),
                                      Document.sha256.is_not(None))
            .order_by(Document.id).with_for_update(key_share=True)).all()
    return len(held) == len(ids)


def _results(items: Sequence[Incoming], plan: list[str], taken: dict[tuple[str, str], int],
             stored: Callable[[Incoming, str], IntakeResult]) -> list[IntakeResult]:
    """Each item's result, in order: a file seen again gets the document it was taken in
    as (no status); any other gets what `stored` recorded for it, which a later copy of
    the same file in the batch is then seen again as."""
    results: list[IntakeResult] = []
    for it, step in zip(items, plan, strict=True):
        key = (it.sha256, it.source_path)
        if step == "again":
            results.append(IntakeResult(taken[key], None))
            continue
        res = stored(it, step)
        taken[key] = res.document_id
        results.append(res)
    return results


def _insert_documents(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert document rows; their new ids, in the order of `rows`.

    Within one call (sha256, source_path) is unique, so ids are matched back by it
    rather than by trusting the order RETURNING yields them in.
    """
    returned = bulk.insert(session, _table(Document), rows,
                           returning=("id", "sha256", "source_path"))
    ids = {(r.sha256, r.source_path): r.id for r in returned}
    return [ids[(row["sha256"], row["source_path"])] for row in rows]


def _insert_contents(session: Session, pairs: Iterable[tuple[int, bytes]]) -> None:
    rows = [{"document_id": i, "content": c} for i, c in pairs]
    if rows:
        # one row per execute: packing megabytes of bytes into one array costs the
        # server more than the round trips it saves
        session.execute(insert(DocumentContent), rows)


def record_rejected(session: Session, *, source_path: str, reason: str, kind: str,
                    sha256: str | None = None, size_bytes: int | None = None,
                    source_mtime_ns: int | None = None) -> int:
    """A file that could not be taken in still gets a row saying why."""
    now = utcnow()
    doc_id = session.scalar(
        insert(Document)
        .values(sha256=sha256, source_path=source_path, size_bytes=size_bytes,
                source_mtime_ns=source_mtime_ns,
                status=DocumentStatus.REJECTED, attempts=0, last_error=reason,
                error_kind=kind, received_at=now, updated_at=now, finished_at=now)
        .returning(Document.id)
    )
    assert doc_id is not None
    return doc_id


def find_rejected(session: Session, *, source_path: str, kind: str, size_bytes: int | None,
                  source_mtime_ns: int | None) -> int | None:
    """The row of the same file rejected before for the same kind of reason: the same
    name, size and mtime. None when the mtime is not known (a file gone meanwhile, or
    rows from before rejected rows recorded it): that file is recorded again."""
    if source_mtime_ns is None:
        return None
    with _index_lookup(session):
        return session.scalar(
            select(Document.id)
            .where(Document.source_path == source_path,
                   Document.status == DocumentStatus.REJECTED, Document.error_kind == kind,
                   Document.size_bytes.is_not_distinct_from(size_bytes),
                   Document.source_mtime_ns == source_mtime_ns)
            .order_by(Document.id).limit(1))


def taken_files(session: Session, files: Iterable[tuple[str, int, int]]
                ) -> set[tuple[str, int, int]]:
    """Which of `files` (source_path, size, mtime_ns) were taken in already.

    A file counts as taken when a row holds its name, size and mtime: its bytes are in
    the database. Rejected rows do not count, so a file moved back after being rejected
    (the size limit raised, say) is read again; if it is rejected again, intake finds
    its row (`find_rejected`) and records nothing more.
    """
    wanted = set(files)
    if not wanted:
        return set()
    names = list({name for name, _, _ in wanted})
    if session.get_bind().dialect.name != "postgresql":
        # padded to a power of two: drivers keep each distinct statement prepared
        # (SQLite's cache holds 128 per connection, ~200 KB each at 1,000 names), so lists
        # of every length from 1 to 1,000 would cost tens of megabytes (on PostgreSQL the
        # names are one array parameter: one statement whatever their number)
        names += names[-1:] * ((1 << (len(names) - 1).bit_length()) - len(names))
    t = _table(Document)  # Core, not ORM: a rescan asks about every file kept
    with _index_lookup(session):
        rows = session.execute(
            select(t.c.source_path, t.c.size_bytes, t.c.source_mtime_ns)
            .where(_among(session, t.c.source_path, names),
                   t.c.status != DocumentStatus.REJECTED)
        ).all()
    return wanted.intersection(map(tuple, rows))


def note_seen_again(session: Session, items: Sequence[Incoming]) -> None:
    """Record the new mtime of files seen again with the same bytes under the same name
    (touched, or copied over with the same content), so `taken_files` knows them."""
    rows = [{"s": it.sha256, "p": it.source_path, "m": it.mtime_ns}
            for it in items if it.mtime_ns is not None]
    if not rows:
        return
    t = _table(Document)
    session.execute(
        update(t).where(t.c.sha256 == bindparam("s"), t.c.source_path == bindparam("p"),
                        t.c.source_mtime_ns.is_distinct_from(bindparam("m")))
        .values(source_mtime_ns=bindparam("m")), rows)


# ---------------------------------------------------------------- stages


@dataclass(frozen=True, slots=True)
class Claim:
    """A document a worker may work on now: the stage it resumes at and this attempt."""

    document_id: int
    stage: Stage
    attempt: int
    queued_at: datetime | None  # None: not known (see `claim`)


def claim(session: Session, ids: Sequence[int], *, max_attempts: int) -> list[Claim]:
    """Mark the active documents among `ids` as running, each at the stage it is at.

    A redelivered or duplicated message finds the documents finished (or already being
    retried elsewhere at a later stage) and claims nothing more than what is left, which
    is what makes every stage idempotent. A document whose earlier attempts all died
    with their worker (killed, out of memory) is failed here rather than handed to yet
    another worker.
    """
    # Rows are fetched by id alone and their status checked here: given both conditions,
    # a planner without statistics (or with some from when the table was small)
    # intersects the id lookups with a scan of the status index, whose entries grow
    # with the backlog.
    rows = [r for r in session.execute(
        select(Document.id, Document.stage, Document.stage_state, Document.attempts,
               Document.updated_at, Document.status)
        .where(_among(session, Document.id, ids))
    ) if r.status in ACTIVE]
    # A `delete` committed since the rows were read has made them tombstones, which the
    # writes below leave alone: each re-checks its rows as it locks them (an inequality,
    # which no index serves, keeps the plan on the ids).
    alive = Document.status != DocumentStatus.DELETED
    exhausted = [r for r in rows if r.attempts >= max_attempts]
    now = utcnow()
    for r in exhausted:
        stage = (r.stage or Stage.CLEAN).value
        session.execute(
            update(Document).where(Document.id == r.id, alive)
            .values(status=DocumentStatus.FAILED, stage_state=StageState.FAILED,
                    last_error=f"gave up: {max_attempts} attempt"
                               f"{'' if max_attempts == 1 else 's'} of stage {stage} never "
                               "finished (worker lost or killed, or the database "
                               "unreachable when it tried to record the outcome)",
                    error_kind="worker_lost", updated_at=now, finished_at=now)
        )
    # A document whose lease was ended has its message here all the same when a send
    # failed part-way: when it was queued is not known, and LEASE_ENDED is not it.
    claims = [Claim(r.id, r.stage or Stage.CLEAN, r.attempts + 1,
                    None if _lease_ended(r.updated_at) else r.updated_at)
              for r in rows if r.attempts < max_attempts]
    if claims:
        claimed = set(session.scalars(
            update(Document)
            .where(_among(session, Document.id, [c.document_id for c in claims]), alive)
            .values(status=DocumentStatus.PROCESSING, stage_state=StageState.RUNNING,
                    attempts=Document.attempts + 1, updated_at=now)
            .returning(Document.id)
        ))
        claims = [c for c in claims if c.document_id in claimed]
    return claims


def load_raw(session: Session, ids: Sequence[int]) -> dict[int, tuple[bytes, str]]:
    """Raw bytes and source path of each document."""
    if not ids:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        return _load_raw_binary(session, ids)
    rows = session.execute(
        select(DocumentContent.document_id, DocumentContent.content, Document.source_path)
        .join(Document, Document.id == DocumentContent.document_id)
        .where(DocumentContent.document_id.in_(ids))
    ).all()
    return {r.document_id: (r.content, r.source_path) for r in rows}


def _load_raw_binary(session: Session, ids: Sequence[int]) -> dict[int, tuple[bytes, str]]:
    """`load_raw` over psycopg's binary protocol: as text, the server hex-encodes every
    byte and the client decodes it again, which costs more than the rest of the read
    for ~100 KB pages."""
    import psycopg

    driver = cast(psycopg.Connection, session.connection().connection.driver_connection)
    with driver.cursor(binary=True) as cur:
        cur.execute("SELECT c.document_id, c.content, d.source_path "
                    "FROM document_contents c JOIN documents d ON d.id = c.document_id "
                    "WHERE c.document_id = ANY(%s)", (list(ids),))
        return {doc_id: (bytes(content), path) for doc_id, content, path in cur}


def load_outputs(session: Session, stage: Stage, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    rows = session.execute(
        select(StageOutput.document_id, StageOutput.payload)
        .where(StageOutput.stage == stage, StageOutput.document_id.in_(ids))
    ).all()
    return {r.document_id: r.payload for r in rows}


def save_outputs(session: Session, outputs: Sequence[tuple[int, Stage, dict[str, Any]]]
                 ) -> None:
    """Keep stage outputs (document id, stage, payload) a later attempt will resume from."""
    now = utcnow()
    rows = [{"document_id": i, "stage": stage.value, "payload": p, "created_at": now}
            for i, stage, p in outputs]
    bulk.insert(session, _table(StageOutput), rows, conflict=("document_id", "stage"),
                update=("payload", "created_at"))


@dataclass(frozen=True, slots=True)
class StageResult:
    """What one attempt of a stage did to one document."""

    document_id: int
    stage: Stage
    attempt: int
    state: StageState  # SUCCEEDED, RETRYING or FAILED
    started_at: datetime
    finished_at: datetime
    queued_at: datetime | None = None
    error: str | None = None
    error_kind: str | None = None


def record_results(session: Session, results: Sequence[StageResult], *, worker: str,
                   extractor_version: str) -> None:
    """One history row per stage run; each document's state set from its last run. A
    document that failed records `extractor_version`, the version of the rules that ran."""
    if not results:
        return
    bulk.insert(session, _table(StageRun), [
        {
            "document_id": r.document_id, "stage": r.stage.value, "attempt": r.attempt,
            "state": r.state.value, "error": r.error, "error_kind": r.error_kind,
            "queued_at": r.queued_at, "started_at": r.started_at,
            "finished_at": r.finished_at, "worker": worker,
            "wait_ms": _whole_ms(r.queued_at, r.started_at),
            "duration_ms": _ms(r.started_at, r.finished_at),
        }
        for r in results
    ])
    last = {r.document_id: r for r in results}  # runs are in order: the last one wins
    now = utcnow()
    updates: list[dict[str, Any]] = []
    for r in last.values():
        row: dict[str, Any] = {"id": r.document_id, "updated_at": now,
                               "failed_extractor_version": None}
        if r.state is StageState.SUCCEEDED:  # the last stage: a run stops only at the end
            row.update(status=DocumentStatus.DONE, stage=r.stage,
                       stage_state=StageState.SUCCEEDED, attempts=r.attempt, finished_at=now,
                       last_error=None, error_kind=None)
        elif r.state is StageState.RETRYING:
            row.update(status=DocumentStatus.QUEUED, stage=r.stage,
                       stage_state=StageState.RETRYING, attempts=r.attempt, finished_at=None,
                       last_error=r.error, error_kind=r.error_kind)
        else:
            row.update(status=DocumentStatus.FAILED, stage=r.stage,
                       stage_state=StageState.FAILED, attempts=r.attempt, finished_at=now,
                       last_error=r.error, error_kind=r.error_kind,
                       failed_extractor_version=extractor_version)
        updates.append(row)
    # only a claimed document moves on: a late duplicate run must not undo `done`
    bulk.update(session, _table(Document), updates, key="id",
                where={"status": DocumentStatus.PROCESSING})


def release(session: Session, ids: Sequence[int]) -> None:
    """Give claimed documents back untouched: queued again, the claim's attempt undone."""
    if not ids:
        return
    session.execute(
        update(Document)
        .where(Document.id.in_(ids), Document.status == DocumentStatus.PROCESSING)
        .values(status=DocumentStatus.QUEUED, stage_state=StageState.QUEUED,
                attempts=Document.attempts - 1, updated_at=utcnow())
    )


def _ms(start: datetime | None, end: datetime | None) -> float | None:
    """Milliseconds from `start` to `end`, to 0.01 ms: a stage run often takes less than
    one, which whole milliseconds recorded as 0."""
    if start is None or end is None:
        return None
    return max(0.0, round((_aware(end) - _aware(start)).total_seconds() * 1000, 2))


def _whole_ms(start: datetime | None, end: datetime | None) -> int | None:
    """Whole milliseconds from `start` to `end`, for a run's wait: a pass's first wait
    starts at a time another process recorded (the watcher, a worker), often on another
    machine's clock, so a finer figure would claim more than the clocks agree on."""
    if start is None or end is None:
        return None
    return max(0, int((_aware(end) - _aware(start)).total_seconds() * 1000))


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; they are UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# ---------------------------------------------------------------- persist


def upsert_articles(session: Session, rows: Sequence[dict[str, Any]]) -> set[int]:
    """Insert or update one article per document; return the document ids that were new.

    The unique key on `articles.document_id` makes a repeated persist an update, never a
    second row.
    """
    if not rows:
        return set()
    ids = [r["document_id"] for r in rows]
    existing = set(session.scalars(select(Article.document_id)
                                   .where(_among(session, Article.document_id, ids))))
    now = utcnow()
    full = [{**r, "created_at": now, "modified_at": now} for r in rows]
    cols = [c for c in full[0] if c not in ("document_id", "created_at")]
    bulk.insert(session, _table(Article), full, conflict=("document_id",), update=cols)
    return set(ids) - existing


def drop_articles(session: Session, ids: Sequence[int]) -> None:
    """Delete the articles of documents whose bytes, read again, hold none. Only a
    document still claimed by this run is touched, as `record_results` only moves those:
    a late duplicate run must not take the article of a document finished meanwhile."""
    for part in in_slices(ids):
        session.execute(delete(Article).where(Article.document_id.in_(
            select(Document.id).where(Document.id.in_(part),
                                      Document.status == DocumentStatus.PROCESSING))))


def add_boilerplate_counts(session: Session, counts: dict[tuple[str, str], int]) -> None:
    """Add to how many documents of each source contained each line fingerprint."""
    if not counts:
        return
    # merged after cutting to size: one statement may not touch the same row twice
    merged: dict[tuple[str, str], int] = {}
    for (source, fp), n in counts.items():
        key = (_key(source), _key(fp))
        merged[key] = merged.get(key, 0) + n
    # sorted: concurrent workers then lock shared rows in one order and cannot deadlock
    rows = [{"source_key": s, "fingerprint": f, "doc_count": n}
            for (s, f), n in sorted(merged.items())]
    bulk.insert(session, _table(BoilerplateLine), rows, conflict=("source_key", "fingerprint"),
                increment=("doc_count",))


def _key(text: str) -> str:
    """Keys are stored in 255 characters; longer ones are cut the same way everywhere."""
    return text[:255]


def recurring_lines(session: Session, source_key: str, min_docs: int) -> dict[str, int]:
    """Fingerprints seen in at least `min_docs` documents of `source_key`, with counts."""
    rows = session.execute(
        select(BoilerplateLine.fingerprint, BoilerplateLine.doc_count).where(
            BoilerplateLine.source_key == _key(source_key),
            BoilerplateLine.doc_count >= min_docs)
    )
    return {fp: n for fp, n in rows}


# ---------------------------------------------------------------- leases and requeues


class Expired(NamedTuple):
    """An active document whose lease is over."""

    document_id: int
    stage: Stage  # the stage it must resume at
    was_running: bool  # a worker was running it when it went quiet
    unsent: bool  # its lease was ended: the broker refused its message (`end_leases`)


def expired_leases(session: Session, lease: timedelta, limit: int = 10_000, *,
                   now: datetime | None = None) -> list[Expired]:
    """Active documents whose state has not moved for longer than `lease`, or whose lease
    was ended.

    On PostgreSQL the rows are locked until the transaction ends, and a row a worker is
    changing is passed over: without the lock a worker could claim or finish a document
    between this look and the requeue that follows it, and the requeue would undo that.
    (SQLite's write transactions run one at a time: no worker writes in between.)
    """
    cutoff = (now or utcnow()) - lease
    rows = session.execute(
        select(Document.id, Document.stage, Document.stage_state, Document.updated_at)
        .where(Document.status.in_(ACTIVE), Document.updated_at < cutoff)
        .order_by(Document.id).limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    return [Expired(r.id, r.stage or Stage.CLEAN, r.stage_state == StageState.RUNNING,
                    _lease_ended(r.updated_at)) for r in rows]


def end_leases(session: Session, ids: Sequence[int]) -> None:
    """End the lease of queued documents whose message the broker refused, so the
    reconciler's next round sends them whatever its NEWSDROP_LEASE_S: nothing of them is
    in the broker, so there is nothing to wait for. A document a worker claimed meanwhile
    (its message got through after all) is left alone."""
    for part in in_slices(ids):
        session.execute(update(Document)
                        .where(Document.id.in_(part), Document.status == DocumentStatus.QUEUED)
                        .values(updated_at=LEASE_ENDED))


def _lease_ended(updated_at: datetime) -> bool:
    return _aware(updated_at) <= LEASE_ENDED


def requeue(session: Session, ids: Sequence[int], stage: Stage, *, reason: str | None = None,
            reset_attempts: bool = False) -> None:
    """Mark documents queued at `stage` (the caller then sends their ids to the broker).

    With `reset_attempts` (`retry`, `reprocess`) a new pass begins: fresh attempts, and
    latency counted from now. Without it (the reconciler sending a lost message again)
    the pass goes on: the time it took counts, as a worker's own retries do.
    """
    if not ids:
        return
    now = utcnow()
    # queued again, it is failed no more: nothing failed it (yet) in this pass
    values: dict[str, Any] = {"status": DocumentStatus.QUEUED, "stage": stage,
                              "stage_state": StageState.QUEUED, "updated_at": now,
                              "finished_at": None, "failed_extractor_version": None}
    if reset_attempts:
        values.update(attempts=0, last_error=None, error_kind=None, pass_queued_at=now)
    elif reason:
        values["last_error"] = reason
    for part in in_slices(ids):
        # a document deleted since the caller looked stays deleted
        session.execute(update(Document).where(
            Document.id.in_(part), Document.status != DocumentStatus.DELETED).values(values))


def reset_for_reprocess(session: Session, ids: Sequence[int]) -> None:
    """Forget stage outputs so every stage runs again from the stored bytes."""
    for part in in_slices(ids):
        session.execute(delete(StageOutput).where(StageOutput.document_id.in_(part)))
    requeue(session, ids, Stage.CLEAN, reset_attempts=True)
