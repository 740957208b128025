"""The watcher: inotify events (or polling), a start-up scan and periodic rescans.

A file is taken in only once it is stable (worker/stability.py): its size and mtime
unchanged for `settle_ms` and, where Linux can tell, no process holding it open for writing.
Events can be missed (network shares, inotify queue overflow), so a full rescan every
`rescan_interval_s` closes that gap. Which files were taken in already, the database
tells (a row with the file's name, size and mtime): neither a rescan nor a restart reads
them again, and the watcher keeps no state about them, so its memory does not grow with
an inbox that keeps its files (under `--after move` or `delete`, a file taken in and still
there is read again: see `Intake.already_taken`). Symlinks are never followed out of the
inbox.

An inbox folder removed or replaced while watched takes its inotify watch with it: the
watcher notices within `INBOX_CHECK_S`, watches the folder now at that path (creating it,
as at start-up, if none appears) and walks it at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import stat
import threading
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import watchfiles

# public in the module's own stub (`__all__`), though watchfiles' package does not re-export it
from watchfiles._rust_notify import WatchfilesRustInternalError

from db.errors import unavailable
from worker.intake import Intake, batches, is_ignored, is_ignored_filename
from worker.stability import StabilityTracker, size_and_mtime
from worker.wording import counted

log = logging.getLogger(__name__)

#: how often pending files are re-checked for stability while events are quiet
TICK_MS = 10
#: longest an idle watcher (no file waiting, no walk) sleeps before looking around again;
#: a file event or `stop` wakes it at once
IDLE_WAIT_S = 5.0
#: how long watchfiles waits for more events after the last one before yielding
STEP_MS = 5
#: how long watchfiles waits without any event before yielding an empty set; its first
#: yield tells `run` that events are subscribed, so the start-up scan begins up to this late
QUIET_YIELD_MS = 100
#: how long files wait before intake is tried again after it failed (database down); the
#: wait doubles at each failure in a row, up to INTAKE_MAX_WAIT_S
INTAKE_RETRY_S = 2.0
INTAKE_MAX_WAIT_S = 30.0
#: longest a file that could not be read for now (an I/O error…) waits for its next try:
#: the wait doubles from INTAKE_RETRY_S at each failure, so that a file that never becomes
#: readable costs a read and a warning every few minutes, not every few seconds
DEFERRED_MAX_WAIT_S = 300.0
#: how long the start-up probe waits for its own file event before suggesting polling
PROBE_TIMEOUT_S = 2.0
#: how often the events thread checks that the inbox is still the folder it subscribed to
#: (one stat); an event for the inbox itself checks at once
INBOX_CHECK_S = 1.0
#: how often a removed inbox's path is looked at while waiting for a folder to appear there
INBOX_WAIT_STEP_S = 0.05
#: files a rescan looks up in the database at once
SCAN_CHUNK = 1000
#: names not valid UTF-8 remembered as warned of, so each is warned of once
MAX_UNDECODABLE_WARNED = 1000
#: most ready files handed to intake per tick
READY_CHUNK = 1000


def scan_entries(folder: str) -> Iterator[os.DirEntry[str]]:
    """Every candidate file below `folder`, without following symlinked folders.

    Directories are read as they are walked, not listed whole first: a flat inbox of
    50,000 files never becomes a list of 50,000 entries.
    """
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    if is_ignored_filename(entry.name):
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    elif entry.is_file(follow_symlinks=False) or entry.is_symlink():
                        yield entry
        except OSError as exc:
            log.warning("cannot list %s: %s", current, exc)


def scan(inbox: Path) -> Iterator[Path]:
    """Every candidate file below `inbox`, without following symlinked folders."""
    for entry in scan_entries(str(inbox)):
        yield Path(entry.path)


def event_filter(root: Path) -> Callable[[watchfiles.Change, str], bool]:
    """watchfiles filter: no deletions but of `root` itself (the watcher must then subscribe
    again), nothing hidden or temporary anywhere below `root` (a file inside a hidden
    folder is skipped, as the scan skips it)."""
    root_path = str(root)
    prefix = os.path.join(root_path, "")

    def wanted(change: watchfiles.Change, path: str) -> bool:
        if change == watchfiles.Change.deleted:
            return path == root_path
        if not path.startswith(prefix):
            return not is_ignored(Path(path), root)
        # `is_ignored` on the string: it runs for every event, temporary names included
        return not any(is_ignored_filename(part) for part in path[len(prefix):].split(os.sep))
    return wanted


def events_fire(inbox: Path, timeout_s: float = PROBE_TIMEOUT_S) -> bool | None:
    """Create a probe file and see whether the OS reports it: false on many network shares.

    Other files arriving meanwhile do not end the wait; only the probe or the deadline
    does. None: the probe could not be written (a read-only inbox), so no verdict.
    """
    stop = threading.Event()
    probe = inbox / f".newsdrop-probe-{os.getpid()}"
    seen = threading.Event()
    deadline = time.monotonic() + timeout_s

    def listen() -> None:
        for changes in watchfiles.watch(inbox, stop_event=stop, debounce=10, step=10,
                                        rust_timeout=int(timeout_s * 1000),
                                        yield_on_timeout=True, recursive=False):
            if any(Path(p).name == probe.name for _, p in changes):
                seen.set()
                return
            if time.monotonic() >= deadline:
                return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    time.sleep(0.1)  # let the listener register before the probe appears
    try:
        try:
            probe.write_bytes(b"")
        except OSError as exc:
            log.warning("cannot write a probe file in %s (%s); skipping the check that "
                        "file events arrive", inbox, exc.strerror or exc)
            return None
        seen.wait(max(0.0, deadline - time.monotonic()))
    finally:
        stop.set()
        with contextlib.suppress(OSError):
            probe.unlink(missing_ok=True)
        thread.join(timeout_s)
    return seen.is_set()


class _Walk:
    """A rescan's listing of the inbox, made in a helper thread (a large inbox, or a slow
    network share, never holds up intake) and handed over a chunk at a time. The
    database lookups stay with the caller: a second connection would keep a second
    page and statement cache."""

    def __init__(self, listing: Callable[[], Iterator[list[tuple[str, int, int]]]],
                 stop: threading.Event) -> None:
        self._chunks: queue.Queue[list[tuple[str, int, int]]] = queue.Queue(maxsize=2)
        self._stop = stop
        self._abandoned = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._list, args=(listing,),
                                        name="newsdrop-rescan", daemon=True)
        self._thread.start()

    def _list(self, listing: Callable[[], Iterator[list[tuple[str, int, int]]]]) -> None:
        try:
            for chunk in listing():
                while not self._put(chunk):
                    if self._stop.is_set() or self._abandoned.is_set():
                        return
        except BaseException as exc:  # raised to the caller by `next_chunk`
            self._error = exc

    def _put(self, chunk: list[tuple[str, int, int]]) -> bool:
        try:
            self._chunks.put(chunk, timeout=0.1)
        except queue.Full:
            return False
        return True

    def next_chunk(self) -> list[tuple[str, int, int]] | None:
        """The next chunk listed, or None if there is none yet (or any more)."""
        try:
            return self._chunks.get_nowait()
        except queue.Empty:
            pass
        if self._error is not None:
            raise self._error
        return None

    def done(self) -> bool:
        return not self._thread.is_alive() and self._chunks.empty() and self._error is None

    def abandon(self) -> None:
        self._abandoned.set()


def _doubled_wait(tries: int, longest: float) -> float:
    """INTAKE_RETRY_S, doubled at each try after the first, up to `longest`."""
    return min(INTAKE_RETRY_S * 2 ** min(tries - 1, 20), longest)


#: how a folder is opened only to be held: O_PATH needs no read permission on it
_HOLD_FOLDER = getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY


class Watcher:
    """Feeds stable inbox files to an `Intake`, in batches of what arrived together.

    File events are followed in a thread of their own, which only notes them: held back
    while intake works, they would pile up in watchfiles at about 2 KB each. The thread
    that calls `run` takes ready files in and, when a rescan is due, looks up what the
    rescan listed. Both share the `StabilityTracker` under `lock`.
    """

    def __init__(self, inbox: Path, intake: Intake, *, settle_ms: int, debounce_ms: int,
                 rescan_interval_s: float, poll: bool, poll_interval_ms: int,
                 batch_size: int) -> None:
        self.inbox = inbox.resolve()
        self.intake = intake
        self.tracker = StabilityTracker(settle_ms / 1000)
        self.lock = threading.Lock()  # guards `tracker`
        self.debounce_ms = debounce_ms
        self.rescan_interval_s = rescan_interval_s
        self.poll = poll
        self.poll_interval_ms = poll_interval_ms
        self.batch_size = max(1, batch_size)
        self.stop_event = threading.Event()
        # set when the events thread notes a file, or on stop: wakes an idle `run`
        self.noted = threading.Event()
        self.taken_count = 0
        self.rescans_done = 0  # finished walks of the whole inbox, the start-up scan included
        self._undecodable_warned: set[str] = set()
        self._deferrals: dict[str, int] = {}  # files unreadable for now: failed tries
        self._failures = 0  # intake's failures in a row (the database out of reach)
        self._out_of_reach = False  # the latest of them was the database's

    def stop(self) -> None:
        self.stop_event.set()
        self.noted.set()

    def rescan(self) -> None:
        """Walk the whole inbox now, in this thread."""
        self._walk_starts()
        for chunk in self._listing():
            self._note_unknown(chunk)
        self.rescans_done += 1

    def _walk_starts(self) -> None:
        with self.lock:
            self.tracker.overflowed = False  # this walk finds what was left out

    def _listing(self) -> Iterator[list[tuple[str, int, int]]]:
        """Every file below the inbox with its size and mtime, `SCAN_CHUNK` at a time."""
        chunk: list[tuple[str, int, int]] = []
        for entry in scan_entries(str(self.inbox)):
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # gone already
            chunk.append((entry.path, st.st_size, st.st_mtime_ns))
            if len(chunk) >= SCAN_CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def _note_unknown(self, files: list[tuple[str, int, int]]) -> None:
        """Note the files of a listing chunk that were not taken in yet.

        One query per chunk tells the taken ones apart, so a walk holds one chunk
        whatever the size of the inbox, and a watcher started on a full inbox reads none
        of what it took before.
        """
        with self.lock:  # files already waiting need no lookup
            files = [f for f in files if f[0] not in self.tracker.pending]
        taken = self.intake.already_taken(files)
        with self.lock:
            now = time.monotonic()
            for path, _, _ in files:
                if path not in taken:
                    self.tracker.observe(path, now)

    def run(self) -> None:
        self.inbox.mkdir(parents=True, exist_ok=True)
        subscribed = threading.Event()
        failed: list[BaseException] = []
        events = threading.Thread(target=self._follow_events, args=(subscribed, failed),
                                  name="newsdrop-events", daemon=True)
        events.start()
        # The first scan starts once events are subscribed: a file that lands between a
        # scan and the subscription would otherwise wait for a rescan.
        next_rescan = float("-inf")
        walk: _Walk | None = None
        try:
            while not self.stop_event.is_set():
                if failed:
                    raise failed[0]
                now = time.monotonic()
                if walk is None and subscribed.is_set() and (
                        now >= next_rescan or self._overflow_drained()):
                    self._walk_starts()
                    walk = _Walk(self._listing, self.stop_event)
                    next_rescan = now + self.rescan_interval_s
                walked = False
                if walk is not None:
                    try:
                        walked = self._advance(walk)
                    except Exception as exc:
                        # the inbox went away for a moment, or the database did
                        log.warning("rescan of %s failed: %s", self.inbox, exc)
                        walk.abandon()
                        walk, next_rescan = None, now + INTAKE_RETRY_S
                    else:
                        if walk.done():
                            walk = None
                            self.rescans_done += 1
                taken = self.take_ready(now)
                if not (walked or taken):
                    self._pause(idle=subscribed.is_set() and walk is None,
                                until=next_rescan)
            if failed:
                raise failed[0]
        finally:
            self.stop_event.set()
            if walk is not None:
                walk.abandon()
            events.join()

    def _pause(self, *, idle: bool, until: float) -> None:
        """Wait for the next thing to do: one tick while files settle, else (`idle`: no
        walk under way or to start) the next file event, `stop` or the rescan due at
        `until`, so that an idle watcher does not wake a hundred times a second."""
        self.noted.clear()  # before looking: an event from now on ends the wait
        with self.lock:
            idle = idle and not self.tracker.pending and not self.tracker.overflowed
        if idle:
            self.noted.wait(min(max(until - time.monotonic(), TICK_MS / 1000), IDLE_WAIT_S))
        else:
            self.stop_event.wait(TICK_MS / 1000)

    def _advance(self, walk: _Walk) -> bool:
        """Note one chunk the walk listed, if it fits below the pending limit (a walk
        during a burst then holds up itself, never memory); whether there was one.

        One per turn of the loop: new files wait for one lookup, not for a whole walk.
        """
        if not self._room_for(SCAN_CHUNK):
            return False
        chunk = walk.next_chunk()
        if chunk is None:
            return False
        self._note_unknown(chunk)
        return True

    def _overflow_drained(self) -> bool:
        """Files were left out, and half the room is free again: a walk now finds them
        with the rest of the burst that left them out, rather than one walk each."""
        tracker = self.tracker
        return tracker.overflowed and len(tracker.pending) <= tracker.max_pending // 2

    def _room_for(self, n: int) -> bool:
        pending = len(self.tracker.pending)
        return pending == 0 or pending + n <= self.tracker.max_pending

    def _follow_events(self, subscribed: threading.Event,
                       failed: list[BaseException]) -> None:
        # events were dropped, or the inbox replaced: a walk, once subscribed again, finds
        # the files they would have announced
        lost = False
        inbox_fd = self._open_inbox()
        try:
            while not self.stop_event.is_set():
                if inbox_fd is None:
                    inbox_fd = self._inbox_in_place()
                    lost = True
                    continue
                try:
                    replaced = self._follow_subscription(inbox_fd, subscribed, walk_first=lost)
                except WatchfilesRustInternalError as exc:
                    # watchfiles cannot hand over a name that is not UTF-8, and drops the
                    # whole batch of events it came in; the file itself can be taken in
                    if "decode path" not in str(exc):
                        raise
                    self._warn_undecodable(str(exc))
                    lost = True
                    self.stop_event.wait(TICK_MS / 1000)  # not a busy loop if it recurs
                    continue
                lost = False
                if replaced:
                    os.close(inbox_fd)
                    inbox_fd = None
        except BaseException as exc:  # handed to `run`, which raises it
            failed.append(exc)
            self.stop()
        finally:
            if inbox_fd is not None:
                os.close(inbox_fd)

    def _warn_undecodable(self, message: str) -> None:
        """Warn once per name: each event on the file (created, written, closed) repeats
        it, and the rescan takes the file in once."""
        level = logging.DEBUG if message in self._undecodable_warned else logging.WARNING
        if len(self._undecodable_warned) >= MAX_UNDECODABLE_WARNED:
            self._undecodable_warned.clear()  # bounded: a name may be warned of again
        self._undecodable_warned.add(message)
        log.log(level, "%s: a file name in the inbox is not valid UTF-8; the files of its "
                "batch of events are found by a rescan", message)

    def _follow_subscription(self, inbox_fd: int, subscribed: threading.Event, *,
                             walk_first: bool) -> bool:
        """Note the events of one subscription to the inbox until `stop` (false), or until
        the folder at the inbox's path is no longer the one `inbox_fd` holds (true): its
        watch went with it. That is checked, one stat, every `INBOX_CHECK_S` and on an
        event for the inbox itself (polling reports it deleted). `walk_first`: walk the
        inbox once subscribed, for files whose events were lost."""
        held = os.fstat(inbox_fd)
        identity = (held.st_dev, held.st_ino)
        inbox = str(self.inbox)
        next_check = time.monotonic() + INBOX_CHECK_S
        said_removed_under_mount = False
        with contextlib.closing(self._events()) as events:
            for changes in events:
                subscribed.set()
                if walk_first:
                    walk_first = False
                    self._walk_soon()
                now = time.monotonic()
                inbox_changed = False
                for _, raw_path in changes:
                    if raw_path == inbox:
                        inbox_changed = True  # not walked: its files have events of their own
                    else:
                        self._on_event(raw_path, now)
                if inbox_changed or now >= next_check:
                    next_check = now + INBOX_CHECK_S
                    if self._inbox_identity() != identity:
                        return True
                    if not said_removed_under_mount and os.fstat(inbox_fd).st_nlink == 0:
                        # the path still leads to the removed folder: a mount made on it
                        said_removed_under_mount = True
                        log.warning("inbox %s was removed, but it is mounted here (a Docker "
                                    "bind mount, say), and a mount keeps the folder it was "
                                    "made on: a new folder in its place is not seen until "
                                    "the watcher (its container) is restarted", self.inbox)
        return False

    def _open_inbox(self) -> int | None:
        """A descriptor of the folder at the inbox's path (None: there is none), held while
        subscribed to it: the folder's inode number then cannot go to one created in its
        place (ext4 hands a freed one out again at once), so (st_dev, st_ino) tell the two
        apart. Held, a removed folder gets no deletion event from inotify: the periodic
        check in `_follow_subscription` notices it."""
        try:
            return os.open(self.inbox, _HOLD_FOLDER)
        except OSError:
            return None

    def _inbox_identity(self) -> tuple[int, int] | None:
        """The (st_dev, st_ino) of the folder at the inbox's path; None: there is none."""
        try:
            st = os.stat(self.inbox)
        except OSError:
            return None
        return (st.st_dev, st.st_ino) if stat.S_ISDIR(st.st_mode) else None

    def _inbox_in_place(self) -> int | None:
        """`_open_inbox` once there is a folder at the inbox's path again, after the inbox
        was removed or replaced (None: stopped meanwhile).

        A removed inbox is created again, as at start-up, but only if no folder takes its
        place within `INBOX_CHECK_S`: created at once, it would be in the way of the
        `mkdir inbox` that follows an `rm -rf inbox`.
        """
        create_at = time.monotonic() + INBOX_CHECK_S
        created = said_cannot_create = False
        while not self.stop_event.is_set():
            inbox_fd = self._open_inbox()
            if inbox_fd is not None:
                if created:
                    log.warning("inbox %s was removed; created it again and watching it",
                                self.inbox)
                else:
                    log.warning("inbox %s was removed or replaced; watching the folder now "
                                "in its place", self.inbox)
                return inbox_fd
            if time.monotonic() >= create_at:
                create_at = time.monotonic() + INBOX_CHECK_S  # if it fails, tried again then
                try:
                    self.inbox.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    if not said_cannot_create:
                        said_cannot_create = True
                        log.warning("inbox %s was removed and cannot be created again (%s); "
                                    "watching it once it is back", self.inbox,
                                    exc.strerror or exc)
                else:
                    created = True
                    continue  # to open it
            self.stop_event.wait(INBOX_WAIT_STEP_S)
        return None

    def _events(self) -> Generator[set[tuple[watchfiles.Change, str]], None, None]:
        return watchfiles.watch(
            self.inbox, watch_filter=event_filter(self.inbox), debounce=self.debounce_ms,
            step=STEP_MS, rust_timeout=QUIET_YIELD_MS, yield_on_timeout=True,
            stop_event=self.stop_event, force_polling=self.poll,
            poll_delay_ms=self.poll_interval_ms, recursive=True,
            ignore_permission_denied=True,
        )

    def _walk_soon(self) -> None:
        """Have `run` walk the inbox as soon as there is room, as after an overflow."""
        with self.lock:
            self.tracker.overflowed = True
        self.noted.set()

    def _on_event(self, raw_path: str, now: float) -> None:
        try:
            st = os.lstat(raw_path)
        except OSError:
            st = None
        if st is not None and stat.S_ISDIR(st.st_mode):
            # a folder moved in whole brings files no event announced
            for entry in scan_entries(raw_path):
                with self.lock:
                    if self.tracker.overflowed:
                        return  # no room: the rescan this sets off finds the rest
                    self.tracker.observe(entry.path, now)
                self.noted.set()
            return
        with self.lock:
            self.tracker.observe(raw_path, now, st)  # st None: gone, no longer pending
        self.noted.set()  # after noting it: an idle `run` wakes to find it pending

    def take_ready(self, now: float) -> int:
        """Take in up to `READY_CHUNK` stable files; how many were ready."""
        with self.lock:
            ready = self.tracker.ready(now, READY_CHUNK)
        if not ready:
            return 0
        try:
            # a second event for a file just taken, or a walk that raced intake, is told
            # apart here without reading the file again
            taken = self.intake.already_taken(
                [(path, *size_and_mtime(sig)) for path, sig in ready if sig is not None])
        except Exception as exc:
            self._failed("look up", [path for path, _ in ready], exc)
            return len(ready)
        self._recovered()
        fresh = [Path(path) for path, _ in ready if path not in taken]
        deferred: list[Path] = []
        chunks = list(batches(fresh, self.batch_size))
        for n, chunk in enumerate(chunks):
            try:
                outcomes = self.intake.take(chunk)
            except Exception as exc:
                # e.g. the database is down: the files stay pending, this chunk's and,
                # when the database is out of reach, the rest's (they would fail alike)
                out_of_reach = unavailable(exc) is not None
                self._failed("take in", [p for c in chunks[n:] for p in c]
                             if out_of_reach else chunk, exc)
                if out_of_reach:
                    break
                continue
            self.taken_count += sum(1 for o in outcomes if o.status is not None and not o.earlier)
            deferred += self.intake.deferred
        self._note_deferred(fresh, deferred)
        return len(ready)

    def _failed(self, what: str, paths: list[str] | list[Path], exc: BaseException) -> None:
        """Keep `paths` pending, to be tried again after a wait that doubles at each
        failure in a row; a database out of reach is said in a line, not a traceback."""
        self._failures += 1
        wait = _doubled_wait(self._failures, INTAKE_MAX_WAIT_S)
        why = unavailable(exc)
        self._out_of_reach = why is not None
        files = counted(len(paths), "file")
        if why is None:
            log.exception("could not %s %s; retrying in %g s", what, files, wait)
        else:
            log.error("could not %s %s: the database is out of reach (%s); retrying in %g s",
                      what, files, why, wait)
        retry_at = time.monotonic() + wait
        with self.lock:
            for path in paths:
                self.tracker.observe(path, retry_at)

    def _recovered(self) -> None:
        if self._failures and self._out_of_reach:
            log.info("the database answers again, after %d failed tries", self._failures)
        self._failures = 0

    def _note_deferred(self, handed: list[Path], deferred: list[Path]) -> None:
        """Put the files intake could not read for now (too many open files, an I/O error)
        back to wait, each longer at every failure; forget the others' failures."""
        if self._deferrals:
            again = {str(path) for path in deferred}
            for path in handed:
                if str(path) not in again:
                    self._deferrals.pop(str(path), None)
            with self.lock:  # and those deleted while they waited: nothing hands them over
                for key in [k for k in self._deferrals
                            if k not in self.tracker.pending and k not in again]:
                    del self._deferrals[key]
        if not deferred:
            return
        now = time.monotonic()
        with self.lock:
            for path in deferred:
                tries = self._deferrals[str(path)] = self._deferrals.get(str(path), 0) + 1
                wait = _doubled_wait(tries, DEFERRED_MAX_WAIT_S)
                self.tracker.observe(path, now + wait)

