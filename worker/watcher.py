"""The watcher: inotify events (or polling), a start-up scan and periodic rescans.

A file is taken in only once it is stable: its size and mtime unchanged for `settle_ms`
and, where Linux can tell, no process holding it open for writing.
Events can be missed (network shares, inotify queue overflow), so a full rescan every
`rescan_interval_s` closes that gap; the sha256 check in intake makes re-seeing a file
harmless. Symlinks are never followed out of the inbox.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import watchfiles

from worker.intake import Intake, IntakeOutcome, batches, is_ignored, is_ignored_name

log = logging.getLogger(__name__)

#: how often pending files are re-checked for stability while events are quiet
TICK_MS = 10
#: how long watchfiles waits for more events after the last one before yielding
STEP_MS = 5
#: how long files wait before intake is tried again after it failed (database down)
INTAKE_RETRY_S = 2.0
#: how long the start-up probe waits for its own file event before suggesting polling
PROBE_TIMEOUT_S = 2.0


def open_for_writing(path: Path) -> bool | None:
    """Whether some process still has `path` open for writing (None: cannot tell).

    Linux refuses a read lease on a file that is open for writing, which catches a
    writer that pauses longer than the settle time. Leases need the file's owner or
    CAP_LEASE and a local filesystem; elsewhere only the settle time decides.
    """
    if not hasattr(fcntl, "F_SETLEASE"):
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
    except OSError as exc:
        return True if exc.errno == errno.EAGAIN else None
    else:
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
        return False
    finally:
        os.close(fd)


@dataclass
class StabilityTracker:
    """Remembers each candidate's (size, mtime) and when that signature was first seen.

    Keys are path strings and signatures one packed int: with files kept in the inbox,
    `taken` holds an entry per file there, so its size is what memory grows with.
    """

    settle_s: float
    pending: dict[str, tuple[int, float]] = field(default_factory=dict)  # sig, since
    # files already taken in this run, by signature, so a rescan does not re-read them
    taken: dict[str, int] = field(default_factory=dict)
    # said once that the lease probe cannot tell (see `open_for_writing`)
    warned_no_lease: bool = False

    def observe(self, path: Path, now: float) -> None:
        key = str(path)
        try:
            sig = _signature(os.lstat(key))
        except FileNotFoundError:
            self.pending.pop(key, None)
            return
        if self.taken.get(key) == sig:
            return
        old = self.pending.get(key)
        if old is None or old[0] != sig:
            self.pending[key] = (sig, now)

    def ready(self, now: float) -> list[Path]:
        """Files whose signature has held for the settle time (re-checked on disk now)."""
        out = []
        for key, (sig, since) in list(self.pending.items()):
            if now - since < self.settle_s:
                continue
            path = Path(key)
            try:
                st = os.lstat(key)
            except FileNotFoundError:
                # vanished after it was seen: intake records why, the rescan won't see it
                out.append(path)
                del self.pending[key]
                continue
            if _signature(st) != sig or self._still_written(path, st):
                self.pending[key] = (_signature(st), now)
                continue
            out.append(path)
            del self.pending[key]
        return out

    def _still_written(self, path: Path, st: os.stat_result) -> bool:
        writing = open_for_writing(path)
        if writing is None and stat.S_ISREG(st.st_mode) and not self.warned_no_lease:
            self.warned_no_lease = True
            log.warning("cannot tell whether files are still being written (no lease "
                        "permission on %s); only NEWSDROP_SETTLE_MS decides — raise it for "
                        "slow writers", path)
        return bool(writing)

    def mark_taken(self, outcomes: list[IntakeOutcome]) -> None:
        for o in outcomes:
            try:
                self.taken[str(o.path)] = _signature(os.lstat(o.path))
            except FileNotFoundError:
                continue


def _signature(st: os.stat_result) -> int:
    """Size and mtime in one int: what must hold still for a file to count as written."""
    return (st.st_size << 64) | st.st_mtime_ns


def scan(inbox: Path) -> Iterator[Path]:
    """Every candidate file below `inbox`, without following symlinked folders."""
    stack = [inbox]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            log.warning("cannot list %s: %s", folder, exc)
            continue
        for entry in entries:
            path = Path(entry.path)
            if is_ignored_name(path):
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append(path)
            elif entry.is_file(follow_symlinks=False) or entry.is_symlink():
                yield path


def event_filter(root: Path) -> Callable[[watchfiles.Change, str], bool]:
    """watchfiles filter: no deletions, nothing hidden or temporary anywhere below `root`
    (a file inside a hidden folder is skipped, as the scan skips it)."""
    def wanted(change: watchfiles.Change, path: str) -> bool:
        return change != watchfiles.Change.deleted and not is_ignored(Path(path), root)
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


class Watcher:
    """Feeds stable inbox files to an `Intake`, in batches of what arrived together."""

    def __init__(self, inbox: Path, intake: Intake, *, settle_ms: int, debounce_ms: int,
                 rescan_interval_s: float, poll: bool, poll_interval_ms: int,
                 batch_size: int, on_tick: Callable[[], None] | None = None) -> None:
        self.inbox = inbox.resolve()
        self.intake = intake
        self.tracker = StabilityTracker(settle_ms / 1000)
        self.debounce_ms = debounce_ms
        self.rescan_interval_s = rescan_interval_s
        self.poll = poll
        self.poll_interval_ms = poll_interval_ms
        self.batch_size = max(1, batch_size)
        self.on_tick = on_tick
        self.stop_event = threading.Event()
        self.taken_count = 0
        self.rescans_done = 0  # finished walks of the whole inbox, the start-up scan included

    def stop(self) -> None:
        self.stop_event.set()

    def rescan(self) -> None:
        """Walk the whole inbox now, in this thread."""
        self._apply_rescan(*self._walk(), time.monotonic())

    def _walk(self) -> tuple[set[str], list[Path]]:
        """Every file below the inbox, and those whose signature is not a taken one.

        Runs beside the event loop during `run`, so a rescan of a large inbox never
        holds up new files; it only reads `taken` by key, which is safe beside writers.
        """
        present: set[str] = set()
        changed: list[Path] = []
        taken = self.tracker.taken
        for path in scan(self.inbox):
            key = str(path)
            present.add(key)
            try:
                sig = _signature(os.lstat(key))
            except OSError:
                continue  # gone already
            if taken.get(key) != sig:
                changed.append(path)
        return present, changed

    def _apply_rescan(self, present: set[str], changed: list[Path], now: float) -> None:
        for path in changed:
            self.tracker.observe(path, now)
        # forget files that left the inbox, so memory follows the inbox, not its history
        self.tracker.taken = {p: sig for p, sig in self.tracker.taken.items() if p in present}
        self.rescans_done += 1

    def run(self) -> None:
        self.inbox.mkdir(parents=True, exist_ok=True)
        # The first scan starts on the first tick, once events are subscribed: a file that
        # lands between a scan and the subscription would otherwise wait for a rescan.
        last_rescan = float("-inf")
        walking: Future[tuple[set[str], list[Path]]] | None = None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsdrop-rescan") as pool:
            for changes in watchfiles.watch(
                self.inbox, watch_filter=event_filter(self.inbox), debounce=self.debounce_ms,
                step=STEP_MS, rust_timeout=TICK_MS, yield_on_timeout=True,
                stop_event=self.stop_event, force_polling=self.poll,
                poll_delay_ms=self.poll_interval_ms, recursive=True,
                ignore_permission_denied=True,
            ):
                now = time.monotonic()
                for _, raw_path in changes:
                    path = Path(raw_path)
                    if path.is_dir() and not path.is_symlink():
                        # a folder moved in whole brings files no event announced
                        for inner in scan(path):
                            self.tracker.observe(inner, now)
                    else:
                        self.tracker.observe(path, now)
                if walking is None and now - last_rescan >= self.rescan_interval_s:
                    walking, last_rescan = pool.submit(self._walk), now
                if walking is not None and walking.done():
                    self._finish_rescan(walking, now)
                    walking = None
                self.take_ready(now)
                if self.on_tick is not None:
                    self.on_tick()

    def _finish_rescan(self, walking: Future[tuple[set[str], list[Path]]],
                       now: float) -> None:
        try:
            present, changed = walking.result()
        except OSError as exc:
            # the inbox itself went away for a moment: the next rescan tries again
            log.warning("rescan of %s failed: %s", self.inbox, exc)
            return
        self._apply_rescan(present, changed, now)

    def take_ready(self, now: float) -> int:
        ready = self.tracker.ready(now)
        for chunk in batches(ready, self.batch_size):
            try:
                outcomes = self.intake.take(chunk)
            except Exception:
                # e.g. the database is down: keep the files pending and try again later
                log.exception("intake of %d files failed; will retry", len(chunk))
                retry_at = time.monotonic() + INTAKE_RETRY_S
                for path in chunk:
                    self.tracker.observe(path, retry_at)
                continue
            self.tracker.mark_taken(outcomes)
            self.taken_count += sum(1 for o in outcomes if o.status is not None)
        return len(ready)
