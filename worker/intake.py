"""Intake: read files, record them in the database in one transaction, then enqueue.

The order is what makes a crash harmless: bytes and row are committed first, the ids are
sent to the broker second, the file is moved or deleted last. A crash between any two
steps leaves either a file the next scan takes again (its bytes were not committed) or a
`queued` row the reconciler re-enqueues.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from db import pipeline
from db.engine import transaction
from db.models import DocumentStatus
from worker.settings import AfterIntake, DuplicatePolicy, Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IntakeOutcome:
    path: Path
    status: DocumentStatus | None  # None: the same file was already taken in earlier
    document_id: int | None = None
    duplicate_of: int | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class _Read:
    path: Path
    content: bytes | None = None
    sha256: str | None = None
    reject_reason: str | None = None
    reject_kind: str | None = None
    size: int | None = None


def is_ignored_name(path: Path) -> bool:
    """Temporary and hidden names are never taken: they are files still being written."""
    name = path.name
    return (name.startswith(".") or name.endswith((".part", ".tmp", ".crdownload", "~"))
            or name.endswith(".error.json"))


def inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def read_file(path: Path, inbox: Path, max_bytes: int) -> _Read:
    """Read one inbox file, or say why it cannot be taken in."""
    try:
        if path.is_symlink():
            target = path.resolve()
            if not inside(target, inbox.resolve()):
                return _Read(path, reject_reason=f"symlink points outside the inbox ({target})",
                             reject_kind="symlink_outside")
            # a link within the inbox: its target is taken in under its own name
            return _Read(path, reject_reason=None, reject_kind="symlink_inside")
        size = path.stat().st_size
        if size > max_bytes:
            return _Read(path, size=size, reject_kind="too_large",
                         reject_reason=f"file is {size:,} bytes, over the limit of "
                                       f"{max_bytes:,} (NEWSDROP_MAX_FILE_BYTES)")
        with path.open("rb") as fh:
            content = fh.read(max_bytes + 1)
    except FileNotFoundError:
        return _Read(path, reject_kind="vanished",
                     reject_reason="file disappeared before it could be read")
    except OSError as exc:
        return _Read(path, reject_kind="unreadable",
                     reject_reason=f"cannot read file: {exc.strerror or exc}")
    if len(content) > max_bytes:  # grew while we read it
        return _Read(path, size=len(content), reject_kind="too_large",
                     reject_reason=f"file is over the limit of {max_bytes:,} bytes")
    return _Read(path, content=content, sha256=hashlib.sha256(content).hexdigest(),
                 size=len(content))


class Intake:
    """Takes files into the database and hands their ids to the pipeline."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session],
                 enqueue: Callable[[list[int]], None]) -> None:
        self.settings = settings
        self.sessions = sessions
        self.enqueue = enqueue
        self.inbox = settings.inbox.resolve()

    def take(self, paths: Iterable[Path]) -> list[IntakeOutcome]:
        """Take in `paths` in one transaction; enqueue the new documents after commit."""
        reads = [read_file(p, self.inbox, self.settings.max_file_bytes) for p in paths]
        reads = [r for r in reads if r.reject_kind != "symlink_inside"]
        if not reads:
            return []
        with transaction(self.sessions) as session:
            outcomes = self._record(session, reads)
        queued = [o.document_id for o in outcomes
                  if o.status is DocumentStatus.QUEUED and o.document_id is not None]
        if queued:
            self.enqueue(queued)
        for r, o in zip(reads, outcomes, strict=True):
            self._after_commit(r, o)
        return outcomes

    def _record(self, session: Session, reads: list[_Read]) -> list[IntakeOutcome]:
        """Rows for a batch of reads: rejections one by one, the rest in one bulk insert."""
        outcomes: dict[int, IntakeOutcome] = {}
        incoming: list[tuple[int, pipeline.Incoming]] = []
        for n, r in enumerate(reads):
            source = self._source_name(r.path)
            if r.reject_reason is not None:
                doc_id = pipeline.record_rejected(session, source_path=source,
                                                  reason=r.reject_reason,
                                                  kind=r.reject_kind or "rejected",
                                                  size_bytes=r.size)
                log.warning("rejected %s: %s", source, r.reject_reason)
                outcomes[n] = IntakeOutcome(r.path, DocumentStatus.REJECTED, doc_id,
                                            reason=r.reject_reason)
            else:
                assert r.sha256 is not None and r.content is not None
                incoming.append((n, pipeline.Incoming(r.sha256, source, r.content)))
        keep_bytes = self.settings.duplicate_policy is DuplicatePolicy.KEEP
        results = pipeline.take_in_many(session, [i for _, i in incoming],
                                        keep_duplicate_bytes=keep_bytes)
        for (n, item), res in zip(incoming, results, strict=True):
            if res is None:
                outcomes[n] = IntakeOutcome(reads[n].path, None)
                continue
            if res.status is DocumentStatus.DUPLICATE:
                log.info("%s is a duplicate of document %s", item.source_path, res.duplicate_of)
            outcomes[n] = IntakeOutcome(reads[n].path, res.status, res.document_id,
                                        res.duplicate_of)
        return [outcomes[n] for n in range(len(reads))]

    def _source_name(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.inbox))
        except ValueError:
            return str(path)

    def _after_commit(self, r: _Read, o: IntakeOutcome) -> None:
        """Only now, with the bytes safe in the database, may the file move."""
        path = r.path
        try:
            if o.status is DocumentStatus.REJECTED:
                if r.reject_kind != "vanished":
                    self._move_with_sidecar(path, self.settings.resolved_rejected_dir, "intake",
                                            o.reason or "", o.document_id)
                return
            if o.status is DocumentStatus.DUPLICATE and \
                    self.settings.duplicate_policy is DuplicatePolicy.REJECT:
                self._move_with_sidecar(path, self.settings.resolved_rejected_dir, "intake",
                                        f"duplicate of document {o.duplicate_of}",
                                        o.document_id)
                return
            if o.status is None:
                return
            if self.settings.after_intake is AfterIntake.MOVE:
                dest = self._free_path(self.settings.resolved_archive_dir / self._rel(path))
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(path), dest)
            elif self.settings.after_intake is AfterIntake.DELETE:
                path.unlink(missing_ok=True)
        except OSError as exc:
            # the document is safe in the database; the file staying put is harmless
            log.warning("could not %s %s after intake: %s", self.settings.after_intake.value,
                        path, exc)

    def _rel(self, path: Path) -> Path:
        try:
            return path.relative_to(self.inbox)
        except ValueError:
            return Path(path.name)

    @staticmethod
    def _free_path(dest: Path) -> Path:
        n = 1
        candidate = dest
        while candidate.exists() or candidate.is_symlink():
            candidate = dest.with_name(f"{dest.stem}.{n}{dest.suffix}")
            n += 1
        return candidate

    def _move_with_sidecar(self, path: Path, folder: Path, stage: str, reason: str,
                           document_id: int | None) -> Path | None:
        return move_with_sidecar(path, folder / self._rel(path), stage=stage, reason=reason,
                                 document_id=document_id)


def move_with_sidecar(path: Path, dest: Path, *, stage: str, reason: str,
                      document_id: int | None) -> Path | None:
    """Move a file aside and write `<name>.error.json` next to it saying why."""
    dest = Intake._free_path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not (path.exists() or path.is_symlink()):
        return None
    shutil.move(str(path), dest)
    sidecar = dest.with_name(dest.name + ".error.json")
    sidecar.write_text(json.dumps({
        "document_id": document_id,
        "source_path": str(path),
        "stage": stage,
        "reason": reason,
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
    }, indent=2) + "\n", encoding="utf-8")
    return dest
