"""Deleting documents at a person's request: their bytes, article and history go.

A document taken in leaves its row behind as a tombstone: status `deleted`, the file's
name, size and mtime, and nothing of its content (no sha256). The watcher knows a file
by those three, so it does not take the same file in again while it sits unchanged in
the inbox; the same bytes dropped anew have no sha256 to match and are a new document,
not a duplicate of one that is gone. A rejected file's row held only why it was refused,
and goes entirely. Duplicates of a deleted document hold the same bytes and go with it.

Its stage runs stay, as counts: stage, outcome, attempt and times, without the error's
words. `/metrics` counts runs, and Prometheus reads a counter that went down as one that
restarted from zero. Nothing shows them as the document's history any more.

Lines counted as recurring (`boilerplate_lines`) keep what the deleted documents added:
the counts are per line of a source, not per document, and only ever grow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from db.bounds import in_slices
from db.models import (
    Article,
    Document,
    DocumentContent,
    DocumentStatus,
    StageOutput,
    StageRun,
    utcnow,
)

#: a document a worker holds is left alone: its results are about to be written
_BUSY = DocumentStatus.PROCESSING


@dataclass(slots=True)
class Deletion:
    """What `delete_documents` did with the ids it was given."""

    deleted: list[int] = field(default_factory=list)  # of the ids given
    duplicates: list[int] = field(default_factory=list)  # of those, deleted with them
    busy: list[int] = field(default_factory=list)  # being processed: left alone
    deleted_before: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)  # no such document


def delete_documents(session: Session, ids: Sequence[int]) -> Deletion:
    """Delete the documents `ids` and their duplicates, in the caller's transaction."""
    wanted = list(dict.fromkeys(ids))
    status = _statuses(session, wanted)
    out = Deletion(missing=[i for i in wanted if i not in status],
                   busy=[i for i in wanted if status.get(i) is _BUSY],
                   deleted_before=[i for i in wanted
                                   if status.get(i) is DocumentStatus.DELETED])
    chosen = [i for i in wanted if i in status and status[i] not in
              (_BUSY, DocumentStatus.DELETED)]
    gone = set(_tombstone(session, chosen))
    # a document a worker claimed since its status was read stayed as it was
    out.busy += [i for i in chosen if i not in gone]
    out.deleted = [i for i in chosen if i in gone]
    # looked up after: the copies of what was deleted, intake's latest among them
    duplicates = duplicates_of(session, out.deleted, exclude=set(wanted))
    out.duplicates = sorted(set(_tombstone(session, duplicates)))
    return out


def _statuses(session: Session, ids: Sequence[int]) -> dict[int, DocumentStatus]:
    found: dict[int, DocumentStatus] = {}
    for part in in_slices(ids):
        for doc_id, st in session.execute(
                select(Document.id, Document.status).where(Document.id.in_(part))):
            found[doc_id] = DocumentStatus(st)
    return found


def duplicates_of(session: Session, ids: Sequence[int], *, exclude: set[int]) -> list[int]:
    """The duplicates of the documents `ids`, but for those in `exclude`."""
    found: list[int] = []
    for part in in_slices(ids):
        found += session.scalars(
            select(Document.id).where(Document.duplicate_of.in_(part))
            .order_by(Document.id))
    return [i for i in dict.fromkeys(found) if i not in exclude]


def _tombstone(session: Session, ids: Sequence[int]) -> list[int]:
    """Empty each document of `ids` that no worker holds; the ids it emptied."""
    now = utcnow()
    done: list[int] = []
    for part in in_slices(ids):
        # rejected rows first, whole; then every other row becomes a tombstone, unless a
        # worker claimed it meanwhile: the status test and the change are one statement,
        # and a claim's own update re-checks that its rows are not deleted, so either the
        # claim came first (and the row is skipped here) or its update waits for this to
        # commit and leaves the row alone
        rejected = list(session.scalars(
            delete(Document).where(Document.id.in_(part),
                                   Document.status == DocumentStatus.REJECTED)
            .returning(Document.id)))
        emptied = list(session.scalars(
            update(Document).where(Document.id.in_(part),
                                   Document.status.not_in((_BUSY, DocumentStatus.DELETED)))
            .values(status=DocumentStatus.DELETED, sha256=None, duplicate_of=None,
                    stage=None, stage_state=None, attempts=0, last_error=None,
                    error_kind=None, failed_extractor_version=None, pass_queued_at=None,
                    updated_at=now, finished_at=now)
            .returning(Document.id)))
        for model in (Article, DocumentContent, StageOutput):
            session.execute(delete(model).where(model.document_id.in_(emptied)))
        # its runs stay as counts, without their error's words: the counters `/metrics`
        # gives are counts of runs, and a counter that went down would read as a restart
        session.execute(update(StageRun).where(StageRun.document_id.in_(emptied))
                        .values(error=None))
        done += rejected + emptied
    return done
