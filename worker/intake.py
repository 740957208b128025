"""Intake: read files, record them in the database in one transaction, then enqueue.

The order is what makes a crash harmless: bytes and row are committed first, the ids are
sent to the broker second, the file is moved or deleted last. A crash between any two
steps leaves either a file the next scan takes again (its bytes were not committed) or a
`queued` row the reconciler re-enqueues.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from db import pipeline
from db.engine import reading, transaction
from db.models import DocumentStatus
from worker.file_moves import find_moved, move_to_free_name, move_with_sidecar
from worker.reconciler import NotSent, send_queued
from worker.settings import AfterIntake, DuplicatePolicy, Settings
from worker.wording import counted

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IntakeOutcome:
    path: Path
    status: DocumentStatus | None  # None: the same file was already taken in earlier
    document_id: int | None = None  # with status None: the document taken in earlier
    duplicate_of: int | None = None
    reason: str | None = None  # why it is rejected
    #: rejected again as it was before: `document_id` is the earlier row, nothing new stored
    earlier: bool = False


@dataclass(frozen=True, slots=True)
class _Read:
    path: Path
    content: bytes | None = None
    sha256: str | None = None
    reject_reason: str | None = None
    reject_kind: str | None = None
    size: int | None = None
    mtime_ns: int | None = None
    real: Path | None = None  # where the file read really is (no symlink on its path)


#: endings of names that browsers, copy tools and editors write to before the final name
TEMPORARY_SUFFIXES = (".part", ".partial", ".filepart", ".download", ".crdownload", ".tmp",
                      "~")
T = TypeVar("T")

#: most bytes one intake batch holds in memory (fewer files when they are large)
BATCH_MAX_BYTES = 64 * 1024 * 1024
#: files of one batch that vanished, or are duplicates, logged a line each up to this many;
#: beyond, in one line naming this many
NAMED_IN_A_LINE = 5
#: read outcomes that get no row: a link to a file the inbox holds anyway, and a file
#: that was moved or deleted before it could be read
_NO_ROW = ("symlink_inside", "vanished", "deferred")

#: read errors that may pass (too many open files, a busy or locked file, an I/O error or
#: a network share timing out): the file gets no row and is tried again, where any other
#: (permission denied, a symlink loop) rejects it
_PASSING_ERRNOS = frozenset(getattr(errno, name) for name in (
    "EMFILE", "ENFILE", "ENOMEM", "ENOBUFS", "EAGAIN", "EINTR", "EBUSY", "ETXTBSY", "EIO",
    "ESTALE", "ETIMEDOUT", "ENOLCK", "EDEADLK", "ENOTCONN", "ECONNRESET", "ECONNABORTED",
    "ENETDOWN", "ENETUNREACH", "ENETRESET", "EHOSTDOWN", "EHOSTUNREACH", "EREMOTEIO",
) if hasattr(errno, name))


def storable_name(name: str) -> str:
    """A path as text a database can store. The bytes of a name that are not UTF-8,
    which Python keeps as lone surrogates, become `\\xNN` escapes: such a file is taken
    in like any other, under a name that shows which bytes were wrong."""
    if name.isascii():
        return name
    try:
        name.encode()
    except UnicodeEncodeError:
        return os.fsencode(name).decode("utf-8", "backslashreplace")
    return name


def is_ignored_name(path: Path) -> bool:
    """Temporary and hidden names are never taken: they are files still being written.

    Hidden (`.x`), temporary (`.part`, `.partial`, `.filepart` from WinSCP, `.download`,
    `.crdownload`, `.tmp`, `x~`), Office lock files (`~$x`) and our own sidecars.
    """
    return is_ignored_filename(path.name)


def is_ignored_filename(name: str) -> bool:
    """`is_ignored_name` for a bare name (the watcher's scan works on strings)."""
    return (name.startswith((".", "~$")) or name.endswith(TEMPORARY_SUFFIXES)
            or name.endswith(".error.json"))


def is_ignored(path: Path, root: Path) -> bool:
    """`is_ignored_name` for `path` or any folder between it and `root` (a hidden folder's
    files are as hidden as the folder)."""
    try:
        rel = path.relative_to(root)
    except ValueError:
        return is_ignored_name(path)
    return any(is_ignored_name(Path(part)) for part in rel.parts)


def first_named(items: Sequence[T], name: Callable[[T], str]) -> str:
    """The names of the first NAMED_IN_A_LINE of `items`, with ", …" when there are more:
    what one log line says of many files."""
    return (", ".join(name(item) for item in items[:NAMED_IN_A_LINE])
            + (", …" if len(items) > NAMED_IN_A_LINE else ""))


def _log_duplicates(copies: list[tuple[str, int | None]]) -> None:
    """(name, original) of a batch's duplicates: one line each for a small batch (the
    watcher's), one in all for a large one (`ingest`'s, whose summary counts them)."""
    if len(copies) <= NAMED_IN_A_LINE:
        for name, original in copies:
            log.info("%s is a duplicate of document %s", name, original)
    else:
        log.info("%d files are duplicates of documents taken in (%s)", len(copies),
                 first_named(copies, lambda copy: f"{copy[0]} of {copy[1]}"))


class OwnFiles:
    """The files newsdrop keeps for itself: its SQLite database with its journals, and
    the embedded broker's messages, and those of any other newsdrop data folder (a
    `newsdrop.db`, and a `broker` folder beside one). `ingest` of a folder holding them
    (`.` beside the data folder) must not take them in as documents, and new ones at
    every run."""

    _JOURNALS = ("", "-wal", "-shm", "-journal")
    _DATABASE = "newsdrop.db"  # the name newsdrop gives its database in a data folder

    def __init__(self, settings: Settings) -> None:
        from sqlalchemy.engine import make_url

        url = make_url(settings.resolved_database_url)
        database = url.database if url.get_backend_name() == "sqlite" else None
        self.database = (Path(database).resolve()
                         if database and database != ":memory:" else None)
        self._database_names = ({self.database.name + j for j in self._JOURNALS}
                                if self.database is not None else set())
        self._any_database_names = {self._DATABASE + j for j in self._JOURNALS}
        self.broker = settings.broker_folder

    def __contains__(self, path: Path) -> bool:
        real = path.resolve()
        if self.database is not None and real.parent == self.database.parent and \
                real.name in self._database_names:
            return True
        if real.is_relative_to(self.broker) or real.name in self._any_database_names:
            return True
        return any(folder.name == "broker" and (folder.parent / self._DATABASE).exists()
                   for folder in real.parents)


def inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def batches(paths: Iterable[Path], max_files: int,
            max_bytes: int = BATCH_MAX_BYTES) -> Iterator[list[Path]]:
    """`paths` in chunks of at most `max_files` files and (about) `max_bytes` bytes.

    A chunk is closed once it reaches `max_bytes`; a single file larger than that is a
    chunk of its own. Sizes come from lstat; a file that cannot be stat'ed counts as 0.
    """
    chunk: list[Path] = []
    total = 0
    for path in paths:
        try:
            size = path.lstat().st_size
        except OSError:
            size = 0
        if chunk and (len(chunk) >= max(1, max_files) or total + size > max_bytes):
            yield chunk
            chunk, total = [], 0
        chunk.append(path)
        total += size
    if chunk:
        yield chunk


def _relative_to_any(path: Path, roots: Iterable[Path]) -> Path | None:
    for root in roots:
        try:
            return path.relative_to(root)
        except ValueError:
            continue
    return None


def source_name(path: Path, inboxes: Iterable[Path], named: str) -> str:
    """The `source_path` of the file at `path` (as a shell names it: relative to the
    current folder, or absolute): relative to the inbox when inside it (`inboxes`: the
    inbox resolved and as given), after `named` (NEWSDROP_INBOX_NAME and a slash, when
    set); otherwise absolute (`ingest ../x`), so that the same file named another way is
    known as taken in."""
    absolute = Path(os.path.abspath(path))
    rel = _relative_to_any(absolute, inboxes)
    if rel is None:
        return storable_name(str(absolute))
    return named + storable_name(str(rel))


def inbox_naming(settings: Settings) -> tuple[tuple[Path, Path], str]:
    """What `source_name` takes for `settings`' inbox: the inbox resolved and as given,
    and NEWSDROP_INBOX_NAME with a slash (which begins the source_path of its files)."""
    return ((settings.inbox.resolve(), Path(os.path.abspath(settings.inbox))),
            f"{settings.inbox_name}/" if settings.inbox_name else "")


def inbox_source_name(path: Path, settings: Settings) -> str:
    """`source_name` under `settings`' inbox: the name intake gives the file."""
    inboxes, named = inbox_naming(settings)
    return source_name(path, inboxes, named)


def moved_aside(settings: Settings, source_path: str, document_id: int) -> Path | None:
    """Where intake moved the file of a rejected document (or of a duplicate, under
    NEWSDROP_DUPLICATE_POLICY=reject), if it is still there: below the rejected folder,
    at its path below the inbox, or, for a file `ingest` took from elsewhere, below the
    folder it was given (some tail of its absolute path). Its sidecar must name the
    document, so no other file of that name is taken for it."""
    rejected = settings.resolved_rejected_dir
    if settings.inbox_name and source_path.startswith(f"{settings.inbox_name}/"):
        source_path = source_path[len(settings.inbox_name) + 1:]
    parts = Path(source_path).parts
    if Path(source_path).is_absolute():
        parts = parts[1:]
        tails = [parts[i:] for i in range(len(parts) - 1, -1, -1)]  # shortest first
    else:
        tails = [parts]
    for tail in tails:
        found = find_moved(rejected.joinpath(*tail), document_id)
        if found is not None:
            return found
    return None


class RealPaths:
    """`Path.resolve(strict=True)` with each folder resolved once.

    Resolving walks every component of a path with a system call; the files of one
    batch mostly share their folder, so only the folder is resolved (once) and a file
    that is not itself a symlink is that folder plus its name. Made per batch, so a
    folder renamed between batches is seen.
    """

    def __init__(self) -> None:
        self._folders: dict[Path, Path] = {}

    def folder(self, path: Path) -> Path:
        real = self._folders.get(path)
        if real is None:
            real = self._folders[path] = path.resolve(strict=True)
        return real

    def resolve(self, path: Path) -> Path:
        if stat.S_ISLNK(os.lstat(path).st_mode):  # raises FileNotFoundError if gone
            return path.resolve(strict=True)
        return self.folder(path.parent) / path.name


def read_file(path: Path, inbox: Path, max_bytes: int, *, where: str = "the inbox",
              real_paths: RealPaths | None = None) -> _Read:
    """Read one file below `inbox`, or say why it cannot be taken in.

    The whole path is resolved, so a symlinked folder (`inbox/link -> ../outside`) is
    caught as well as a symlinked file. The file is then opened without following a
    link and read through that one descriptor, so what was checked is what is read.
    """
    real_paths = real_paths or RealPaths()
    try:
        root = real_paths.folder(inbox)
        real = real_paths.resolve(path)
    except (FileNotFoundError, NotADirectoryError):  # NotADirectory: a folder became a file
        return _missing(path)
    except (OSError, RuntimeError) as exc:  # a symlink loop, a folder we may not enter
        return _unreadable(path, "cannot resolve path", exc)
    if not inside(real, root):
        return _Read(path, reject_reason=f"symlink points outside {where} ({real})",
                     reject_kind="symlink_outside")
    rel = _relative_to_any(Path(os.path.abspath(path)), (root, Path(os.path.abspath(inbox))))
    if rel is None or real != root / rel:
        # reached through a link that stays within the inbox: the target is taken in
        # under its own name
        return _Read(path, reject_reason=None, reject_kind="symlink_inside", real=real)
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return _Read(path, reject_kind="vanished")
    except OSError as exc:
        return _unreadable(path, "cannot read file", exc)
    try:
        st = os.fstat(fd)
    except OSError as exc:
        os.close(fd)
        return _unreadable(path, "cannot read file", exc)
    if stat.S_ISDIR(st.st_mode):  # the file was replaced by a folder, whose files are
        os.close(fd)  # seen one by one
        return _Read(path, reject_kind="vanished")
    try:
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(st.st_mode):
                return _Read(path, reject_kind="unreadable",
                             reject_reason="not a regular file")
            size = st.st_size
            if size > max_bytes:
                return _Read(path, size=size, reject_kind="too_large",
                             reject_reason=f"file is {size:,} bytes, over the limit of "
                                           f"{max_bytes:,} (NEWSDROP_MAX_FILE_BYTES)")
            # as many bytes as fstat says, and one more to see a file still growing: a
            # read of max_bytes + 1 would allocate that much (20 MB) for every file
            content = fh.read(size + 1)
            if len(content) > size:
                content += fh.read(max_bytes + 1 - len(content))
    except OSError as exc:
        return _unreadable(path, "cannot read file", exc)
    if len(content) > max_bytes:  # grew while we read it
        return _Read(path, size=len(content), reject_kind="too_large",
                     reject_reason=f"file is over the limit of {max_bytes:,} bytes "
                                   "(NEWSDROP_MAX_FILE_BYTES)")
    # the mtime from before the read: a write during the read changes it, so the watcher
    # sees a file it does not know and takes it again
    return _Read(path, content=content, sha256=hashlib.sha256(content).hexdigest(),
                 size=len(content), mtime_ns=st.st_mtime_ns, real=real)


def _unreadable(path: Path, what: str, exc: BaseException) -> _Read:
    """A file that could not be read: rejected, or, if the error may pass, deferred."""
    reason = f"{what}: {getattr(exc, 'strerror', None) or exc}"
    passing = isinstance(exc, OSError) and exc.errno in _PASSING_ERRNOS
    return _Read(path, reject_kind="deferred" if passing else "unreadable",
                 reject_reason=reason)


def _entry_mtime(path: Path) -> int | None:
    """The mtime of the directory entry `path` (a symlink's own), which with its name
    and size tells a rejected file seen again from a new one; None if it is gone."""
    try:
        return os.lstat(path).st_mtime_ns
    except OSError:
        return None


def _missing(path: Path) -> _Read:
    """Why a path that no longer resolves cannot be taken in: gone (no row: see
    `Intake.take`), or a broken symlink, which is rejected (and moved aside) like any file
    that cannot be read, rather than found again by every rescan."""
    try:
        target = os.readlink(path)
    except OSError:  # gone, or not a link: a component of its path vanished
        return _Read(path, reject_kind="vanished")
    return _Read(path, reject_kind="unreadable",
                 reject_reason=f"symlink to a file that does not exist ({target})")


class Intake:
    """Takes files into the database and hands their ids to the pipeline.

    `root` is the folder files must really lie in (symlinks are judged against it): the
    inbox by default, the folder being ingested for `newsdrop ingest`. With
    `move_rejected=False` a file that cannot be taken in (or a rejected duplicate) gets
    its row but stays where it is: `ingest --after keep` never moves a user's files.
    """

    def __init__(self, settings: Settings, sessions: sessionmaker[Session],
                 enqueue: Callable[[list[int]], None], *, root: Path | None = None,
                 move_rejected: bool = True) -> None:
        self.settings = settings
        self.sessions = sessions
        self.enqueue = enqueue
        (self.inbox, self._inbox_as_given), self._named = inbox_naming(settings)
        self.root = (root or settings.inbox).resolve()
        # as named (`ingest dirlink`, a symlink to a folder): its files are named below it
        self._root_as_given = Path(os.path.abspath(root or settings.inbox))
        self.move_rejected = move_rejected
        # documents committed as queued that the broker did not take, and its last error:
        # the reconciler sends them once the broker is back; `ingest` says so and exits 5
        self.unsent = 0
        self.send_error: BaseException | None = None
        # files moved or deleted before they were read: no row, so `ingest` counts them here
        self.vanished = 0
        # the files of the latest `take` that could not be read for a reason that may pass
        # (too many open files, an I/O error): no row; the caller tries them again
        self.deferred: list[Path] = []
        self._inbox_prefix = os.path.join(str(self.inbox), "")
        # Files that could not be moved out or deleted as they should have been (a
        # read-only inbox), by path: their (size, mtime_ns) then. `already_taken` does not
        # count rejected rows, so that a file moved back in is tried again, nor, under
        # --after move or delete, files taken in (one still here was not moved or
        # deleted); these stay put and would be read again at every rescan. Held for this
        # process only: a restart, say after raising NEWSDROP_MAX_FILE_BYTES or making the
        # inbox writable, tries them once more (and a file rejected again for the same
        # reason gets no second row).
        self._left_in_place: dict[str, tuple[int, int]] = {}
        # links to files of the inbox, said once each: every rescan meets them again
        self._links_noted: set[Path] = set()

    def already_taken(self, files: Iterable[tuple[str, int, int]]) -> set[str]:
        """The paths among `files` (path, size, mtime_ns) whose bytes, at that size and
        mtime, were taken in already (or rejected, and left where they are): one query,
        nothing read.

        Under `--after move` or `delete` a file taken in leaves the inbox, so one found
        still here was not moved or deleted (newsdrop stopped in between, or the move
        failed): it is not counted, and its next read finds it taken in and moves it.
        """
        files = list(files)
        stuck = {p for p, size, mtime in files if self._left_in_place.get(p) == (size, mtime)}
        names = {(self._source_name_of(p), size, mtime): p for p, size, mtime in files
                 if p not in stuck}
        if not names or self.settings.after_intake is not AfterIntake.KEEP:
            return stuck
        with reading(self.sessions) as session:
            known = pipeline.taken_files(session, names)
        return stuck | {names[k] for k in known}

    def _source_name_of(self, path: str) -> str:
        # `_source_name` without a Path per file: a rescan asks about every file kept
        if path.startswith(self._inbox_prefix):
            return self._named + storable_name(path[len(self._inbox_prefix):])
        return self._source_name(Path(path))

    def _note_links(self, links: list[_Read]) -> None:
        """Say, once each, what became of links to files of the inbox: nothing is taken
        in under a link's name (the file it points to is, under its own, unless hidden)."""
        for r in links:
            if r.path in self._links_noted or r.real is None:
                continue
            self._links_noted.add(r.path)
            target = self._source_name(r.real)
            if is_ignored(r.real, self.root):
                log.info("%s links to %s, whose name is hidden or temporary: neither is "
                         "taken in", self._source_name(r.path), target)
            else:
                log.info("%s links to %s: taken in under that name only",
                         self._source_name(r.path), target)

    def take(self, paths: Iterable[Path]) -> list[IntakeOutcome]:
        """Take in `paths` in one transaction; enqueue the new documents after commit.

        A file that vanished before it was read gets no row and no outcome, only a log
        line: nothing of it was held, and a file moved within the inbox (a renamed
        folder) is taken in under its new name. A file that could not be read for a
        reason that may pass gets none either: it is left in `deferred` to be tried again.
        """
        where = "the inbox" if self.root == self.inbox else str(self.root)
        real_paths = RealPaths()
        reads = [read_file(p, self._root_as_given, self.settings.max_file_bytes, where=where,
                           real_paths=real_paths) for p in paths]
        vanished = [r.path for r in reads if r.reject_kind == "vanished"]
        self.vanished += len(vanished)
        self._log_vanished(vanished)
        deferred = [r for r in reads if r.reject_kind == "deferred"]
        self.deferred = [r.path for r in deferred]
        if deferred:
            log.warning("could not read %s for now (%s): %s; not taken in yet",
                        counted(len(deferred), "file"), deferred[0].reject_reason,
                        first_named(deferred, lambda r: self._source_name(r.path)))
        self._note_links([r for r in reads if r.reject_kind == "symlink_inside"])
        reads = [r for r in reads if r.reject_kind not in _NO_ROW]
        if not reads:
            return []
        with transaction(self.sessions) as session:
            outcomes = self._record(session, reads)
        queued = [o.document_id for o in outcomes
                  if o.status is DocumentStatus.QUEUED and o.document_id is not None]
        try:
            send_queued(self.sessions, self.enqueue, [queued])
        except NotSent as exc:
            self.unsent += len(exc.ids)
            self.send_error = exc.__cause__
            log.error("could not send %s to the broker (%s); stored as queued, they are "
                      "sent by the reconciler once the broker is back",
                      counted(len(exc.ids), "document"), exc.__cause__)
        left: dict[tuple[str, str], list[Path]] = {}  # (what, why) -> files left in place
        for r, o in zip(reads, outcomes, strict=True):
            failed = self._after_commit(r, o)
            if failed is not None:
                left.setdefault(failed, []).append(r.path)
        for (what, why), paths in left.items():  # one line for a batch, not one a file
            log.warning("could not %s %s after intake (%s): %s; %s not read again until "
                        "changed or newsdrop restarts", what, counted(len(paths), "file"), why,
                        first_named(paths, self._source_name),
                        "it is" if len(paths) == 1 else "they are")
        return outcomes

    def _log_vanished(self, paths: list[Path]) -> None:
        if len(paths) <= NAMED_IN_A_LINE:
            for path in paths:
                log.info("%s was moved or deleted before it could be read; not taken in",
                         self._source_name(path))
        elif paths:
            log.info("%d files were moved or deleted before they could be read, and not "
                     "taken in (%s)", len(paths), first_named(paths, self._source_name))

    def _record(self, session: Session, reads: list[_Read]) -> list[IntakeOutcome]:
        """Rows for a batch of reads: rejections one by one, the rest in one bulk insert."""
        outcomes: dict[int, IntakeOutcome] = {}
        incoming: list[tuple[int, pipeline.Incoming]] = []
        for n, r in enumerate(reads):
            # a file read is named by where it really is, whichever way it was reached
            # (`ingest inbox/link-to-a-folder`); what could not be read, by its own path
            source = self._source_name(r.real or r.path)
            if r.reject_reason is not None:
                kind = r.reject_kind or "rejected"
                mtime = _entry_mtime(r.path)
                earlier = pipeline.find_rejected(session, source_path=source, kind=kind,
                                                 size_bytes=r.size, source_mtime_ns=mtime)
                if earlier is not None:
                    # the same file rejected again (a second `ingest`, or a file that could
                    # not be moved out, read again after a restart): its row says so already
                    log.info("%s was rejected already, as document %s: %s", source, earlier,
                             r.reject_reason)
                    outcomes[n] = IntakeOutcome(r.path, DocumentStatus.REJECTED, earlier,
                                                reason=r.reject_reason, earlier=True)
                    continue
                doc_id = pipeline.record_rejected(session, source_path=source,
                                                  reason=r.reject_reason, kind=kind,
                                                  size_bytes=r.size, source_mtime_ns=mtime)
                log.warning("rejected %s: %s", source, r.reject_reason)
                outcomes[n] = IntakeOutcome(r.path, DocumentStatus.REJECTED, doc_id,
                                            reason=r.reject_reason)
            else:
                assert r.sha256 is not None and r.content is not None
                incoming.append((n, pipeline.Incoming(r.sha256, source, r.content,
                                                      r.mtime_ns)))
        keep_bytes = self.settings.duplicate_policy is DuplicatePolicy.KEEP
        results = pipeline.take_in_many(session, [i for _, i in incoming],
                                        keep_duplicate_bytes=keep_bytes)
        pipeline.note_seen_again(session, [item for (_, item), res
                                           in zip(incoming, results, strict=True)
                                           if res.status is None])
        copies: list[tuple[str, int | None]] = []
        for (n, item), res in zip(incoming, results, strict=True):
            if res.status is DocumentStatus.DUPLICATE:
                copies.append((item.source_path, res.duplicate_of))
            outcomes[n] = IntakeOutcome(reads[n].path, res.status, res.document_id,
                                        res.duplicate_of)
        _log_duplicates(copies)
        return [outcomes[n] for n in range(len(reads))]

    def _source_name(self, path: Path) -> str:
        return source_name(path, (self.inbox, self._inbox_as_given), self._named)

    def _after_commit(self, r: _Read, o: IntakeOutcome) -> tuple[str, str] | None:
        """Only now, with the bytes safe in the database, may the file move. If it could
        not, what was tried and why it failed (the file is then remembered as left)."""
        path = r.path
        after = self._action_after_intake(o)
        if after is None:  # `--after keep`, the default: nothing to check or move
            return None
        what, action = after
        try:
            if not self._entry_inside_root(path):
                # reached through a symlinked folder: the real file is not ours to touch
                return None
            action(path)
        except OSError as exc:
            # the document is safe in the database; the file staying put is harmless
            try:
                st = path.lstat()
            except OSError:
                log.warning("could not %s %s after intake: %s", what, path, exc)
                return None
            self._left_in_place[str(path)] = (st.st_size, st.st_mtime_ns)
            return what, exc.strerror or str(exc)
        return None

    def _action_after_intake(self, o: IntakeOutcome
                             ) -> tuple[str, Callable[[Path], object]] | None:
        """What becomes of the file of `o` once its bytes are stored, said in words and as
        a function of its path; None: it stays."""
        if o.status is DocumentStatus.REJECTED:  # earlier too: it was not moved out then
            if not self.move_rejected:
                return None
            return "move to rejected/", lambda path: self._move_rejected(path, o)
        if o.status is DocumentStatus.DUPLICATE and \
                self.settings.duplicate_policy is DuplicatePolicy.REJECT:
            if not self.move_rejected:
                return None
            return "move to rejected/", lambda path: self._move_aside(
                path, f"duplicate of document {o.duplicate_of}", o.document_id)
        # status None (taken in earlier) included: its bytes are in the database too
        if self.settings.after_intake is AfterIntake.MOVE:
            return "move to archive/", self._archive
        if self.settings.after_intake is AfterIntake.DELETE:
            return "delete", lambda path: path.unlink(missing_ok=True)
        return None

    def _archive(self, path: Path) -> None:
        move_to_free_name(path, self.settings.resolved_archive_dir / self._rel(path))

    def _move_rejected(self, path: Path, o: IntakeOutcome) -> None:
        try:
            self._move_aside(path, o.reason or "", o.document_id)
        except OSError as exc:
            try:
                st = path.lstat()
            except OSError:  # moved after all (its sidecar failed), or gone meanwhile
                log.warning("could not move rejected file %s with its sidecar: %s", path, exc)
                return
            self._left_in_place[str(path)] = (st.st_size, st.st_mtime_ns)
            log.warning("could not move rejected file %s out of the inbox (%s); it is not "
                        "read again until it changes or newsdrop restarts", path, exc)

    def _move_aside(self, path: Path, reason: str, document_id: int | None) -> None:
        """Into rejected/, beside a sidecar saying why; the log says where (and so does
        `show`, from `moved_aside`)."""
        moved = self._move_with_sidecar(path, self.settings.resolved_rejected_dir, "intake",
                                        reason, document_id)
        if moved is not None:
            log.info("moved %s to %s", path, moved)

    def _entry_inside_root(self, path: Path) -> bool:
        """Whether the directory entry `path` names (the link itself, for a symlink) lies
        in the root: moving or deleting it can then touch nothing outside."""
        try:
            parent = path.parent.resolve(strict=True)
        except (OSError, RuntimeError):
            return False
        return inside(parent / path.name, self.root)

    def _rel(self, path: Path) -> Path:
        """Where `path` goes below archive/ or rejected/: its path below the inbox, or
        below the folder `ingest` was given, however either was written."""
        rel = _relative_to_any(Path(os.path.abspath(path)), (
            self.inbox, self._inbox_as_given, self.root, self._root_as_given))
        return rel if rel is not None else Path(path.name)

    def _move_with_sidecar(self, path: Path, folder: Path, stage: str, reason: str,
                           document_id: int | None) -> Path | None:
        return move_with_sidecar(path, folder / self._rel(path), stage=stage, reason=reason,
                                 document_id=document_id)
