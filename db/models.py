"""Tables and the states a document moves through.

`documents` is the system of record: one row per input file, with its current stage,
state, attempts and last error. `stage_runs` keeps one row per attempt of a stage, the
history `status`, `failures` and `show` read. Raw bytes and stage outputs live in
tables of their own so that status scans never drag megabytes of content along.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Double,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from db.dates import published_utc


def utcnow() -> datetime:
    return datetime.now(UTC)


class DocumentStatus(StrEnum):
    """Where a document is in its life. All but the first two are terminal."""

    QUEUED = "queued"  # taken in, waiting for (or between) stages
    PROCESSING = "processing"  # a stage is running
    DONE = "done"
    FAILED = "failed"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    # removed by `newsdrop delete`: only the file's name, size and mtime are left, so the
    # watcher does not take that file in again while it sits unchanged in the inbox
    DELETED = "deleted"

    @classmethod
    def terminal(cls) -> tuple[DocumentStatus, ...]:
        return (cls.DONE, cls.FAILED, cls.DUPLICATE, cls.REJECTED, cls.DELETED)


class Stage(StrEnum):
    CLEAN = "clean"
    EXTRACT = "extract"
    PERSIST = "persist"

    @property
    def next(self) -> Stage | None:
        return _NEXT_STAGE[self]


#: each stage's successor (None after the last), looked up once per stage of a document
_NEXT_STAGE: dict[Stage, Stage | None] = dict(zip(Stage, [*list(Stage)[1:], None], strict=True))


class StageState(StrEnum):
    """State of one stage run (and of a document's current stage)."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    RETRYING = "retrying"  # failed transiently; another attempt is scheduled
    FAILED = "failed"


def _enum(cls: type[StrEnum], name: str) -> Enum:
    # Plain strings, readable from any SQL client, with no CHECK constraint (SQLAlchemy
    # makes none for a non-native enum): a new value needs no schema change (see 0009).
    return Enum(
        cls,
        name=name,
        native_enum=False,
        values_callable=lambda e: [m.value for m in e],
        length=16,
        validate_strings=True,
    )


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


#: the statuses of documents not finished yet
UNFINISHED_STATUSES = (DocumentStatus.QUEUED, DocumentStatus.PROCESSING)
#: the same as SQL: the predicate of the partial index on pass_queued_at, which a query
#: must state in these very words (not with bound parameters) for either database to
#: know the index holds every row it asks for
UNFINISHED = f"status IN ({', '.join(repr(s.value) for s in UNFINISHED_STATUSES)})"
UNFINISHED_INDEX = "ix_documents_unfinished_pass_queued"


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str | None] = mapped_column(String(64))
    source_path: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    # the file's mtime when its bytes were taken in: with source_path and size_bytes,
    # how the watcher knows a file in the inbox is taken without reading it again
    source_mtime_ns: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[DocumentStatus] = mapped_column(_enum(DocumentStatus, "document_status"))
    stage: Mapped[Stage | None] = mapped_column(_enum(Stage, "stage"))
    stage_state: Mapped[StageState | None] = mapped_column(_enum(StageState, "stage_state"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    error_kind: Mapped[str | None] = mapped_column(String(32))
    # for a failed document, the extractor version of the worker whose run failed it:
    # `reprocess --stale` gives a newer extractor the documents an older one failed
    failed_extractor_version: Mapped[str | None] = mapped_column(String(32))
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # when the document's current pass through the stages was queued: at intake, and
    # again when `retry` or `reprocess` sends it back; a worker's own retries and the
    # reconciler's re-sends are part of the same pass. What status latency counts from.
    # Null for duplicates and rejected files, which never go through the stages.
    pass_queued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # last time the state moved: the reconciler's lease is measured from here (for a
    # queued document whose message the broker refused, pipeline.LEASE_ENDED)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_documents_sha256", "sha256"),
        # one original per content; duplicates and rejected rows may repeat the hash
        Index(
            "uq_documents_original_sha256",
            "sha256",
            unique=True,
            sqlite_where=text("duplicate_of IS NULL AND status != 'rejected'"),
            postgresql_where=text("duplicate_of IS NULL AND status != 'rejected'"),
        ),
        Index("ix_documents_status_updated", "status", "updated_at"),
        Index("ix_documents_finished_at", "finished_at"),
        # the unfinished documents alone, by when their pass was queued: the oldest is
        # the first entry, however long the backlog (`oldest_unfinished_age_s`)
        Index(
            UNFINISHED_INDEX,
            "pass_queued_at",
            sqlite_where=text(UNFINISHED),
            postgresql_where=text(UNFINISHED),
        ),
        # hash on PostgreSQL: equality is all the watcher asks, and a btree entry could
        # not hold a path longer than about 2,700 bytes
        Index("ix_documents_source_path", "source_path", postgresql_using="hash"),
    )


class DocumentContent(Base):
    """The raw bytes, kept so any stage can be re-run (retry, reprocess) on any machine."""

    __tablename__ = "document_contents"

    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    content: Mapped[bytes] = mapped_column(LargeBinary)


class StageOutput(Base):
    """A finished stage's output, input of the next; upserted, so re-runs are idempotent."""

    __tablename__ = "stage_outputs"

    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    stage: Mapped[Stage] = mapped_column(_enum(Stage, "stage"), primary_key=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StageRun(Base):
    __tablename__ = "stage_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    stage: Mapped[Stage] = mapped_column(_enum(Stage, "stage"))
    attempt: Mapped[int] = mapped_column(Integer)
    state: Mapped[StageState] = mapped_column(_enum(StageState, "stage_state"))
    error: Mapped[str | None] = mapped_column(Text)
    error_kind: Mapped[str | None] = mapped_column(String(32))
    queued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    wait_ms: Mapped[int | None] = mapped_column(Integer)  # queued → started
    # started → finished, to 0.01 ms: a clean or extract run of a seed-sized text often
    # takes less than one (on SQLite the column may be declared INTEGER: migration 0007)
    duration_ms: Mapped[float | None] = mapped_column(Double)
    worker: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        Index("ix_stage_runs_document", "document_id", "id"),
        Index("ix_stage_runs_finished", "finished_at"),
    )


def _published_utc_default(context: DefaultExecutionContext) -> datetime | None:
    return published_utc(context.get_current_parameters().get("published_at"))


#: the article fields stored as `articles` columns: every field of the extract contract
ARTICLE_COLUMNS = (
    "title", "subtitle", "authors", "published_at", "updated_at", "body", "paragraphs",
    "image_caption", "photo_credit", "reading_time_minutes", "related", "language",
    "word_count", "url", "canonical_url", "site_name", "description", "tags",
    "extractor_version",
)


class Article(Base):
    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), unique=True
    )
    title: Mapped[str | None] = mapped_column(Text)
    subtitle: Mapped[str | None] = mapped_column(Text)
    authors: Mapped[list[Any]] = mapped_column(JSON, default=list)
    published_at: Mapped[str | None] = mapped_column(String(40))  # ISO 8601 as stated
    # the instant published_at names, in UTC (db/dates.py): what listings sort and filter
    # on, since stated texts with different offsets do not sort by time. The pipeline's
    # writes set it (tasks/persist.py); other inserts that leave it out get it here.
    published_utc: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), default=_published_utc_default)
    updated_at: Mapped[str | None] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    paragraphs: Mapped[list[Any]] = mapped_column(JSON, default=list)
    image_caption: Mapped[str | None] = mapped_column(Text)
    photo_credit: Mapped[str | None] = mapped_column(Text)
    reading_time_minutes: Mapped[int | None] = mapped_column(Integer)
    related: Mapped[list[Any]] = mapped_column(JSON, default=list)
    language: Mapped[str | None] = mapped_column(String(16))
    word_count: Mapped[int] = mapped_column(Integer, default=0)
    url: Mapped[str | None] = mapped_column(Text)
    canonical_url: Mapped[str | None] = mapped_column(Text)
    site_name: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    extractor_version: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        Index("ix_articles_site_name", "site_name"),
    )


# The newest-first listing's order. PostgreSQL reads its first page straight from an index
# in that order (DESC NULLS LAST, which a plain index read backwards is not); SQLite reads
# a plain one backwards, its NULLs being lowest, and takes no NULLS LAST in an index.
Index("ix_articles_published_utc", Article.published_utc.desc().nulls_last(),
      Article.id.desc()).ddl_if(dialect="postgresql")
Index("ix_articles_published_utc", Article.published_utc).ddl_if(dialect="sqlite")


class BoilerplateLine(Base):
    """How many documents of one source contained a normalised line (corpus-level learning)."""

    __tablename__ = "boilerplate_lines"

    source_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(255), primary_key=True)
    doc_count: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        # what `recurring_lines` reads: a source's lines counted in at least min_docs
        Index("ix_boilerplate_lines_recurring", "source_key", "doc_count"),
    )
