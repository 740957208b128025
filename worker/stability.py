"""When a file in the inbox counts as written: its size and mtime unchanged for the settle
time and, where Linux can tell, no process holding it open for writing.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

#: most files waiting to settle; beyond it, new files are left for a rescan to find
MAX_PENDING = 10_000


def open_for_writing(path: str | Path) -> bool | None:
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
    """Files seen but not yet handed on: each one's (size, mtime), and since when.

    Nothing is kept about a file once it is handed to intake: the database tells which
    files were taken (`Intake.already_taken`), so memory follows the files waiting to
    settle, not the inbox. At most `max_pending` wait; a file seen beyond that is left
    out and `overflowed` set, for a rescan to find it once there is room.
    """

    settle_s: float
    max_pending: int = MAX_PENDING
    pending: dict[str, tuple[int, float]] = field(default_factory=dict)  # sig, since
    overflowed: bool = False
    # said once that the lease probe cannot tell (see `open_for_writing`)
    warned_no_lease: bool = False

    def observe(self, path: str | os.PathLike[str], now: float,
                st: os.stat_result | None = None) -> None:
        key = os.fspath(path)
        if st is None:
            try:
                st = os.lstat(key)
            except OSError:
                self.pending.pop(key, None)
                return
        sig = signature(st)
        old = self.pending.get(key)
        if old is None:
            if len(self.pending) >= self.max_pending:
                self.overflowed = True
                return
            self.pending[key] = (sig, now)
        elif old[0] != sig:
            self.pending[key] = (sig, now)

    def ready(self, now: float, limit: int | None = None) -> list[tuple[str, int | None]]:
        """Up to `limit` files whose signature has held for the settle time (re-checked on
        disk now), in the order they were first seen, each with that signature (None: it is
        no longer a file that can be looked at: moved, deleted, replaced by a folder, or out
        of reach; intake's read tells which, and a file that is gone gets no row)."""
        out: list[tuple[str, int | None]] = []
        moved: list[tuple[str, int]] = []
        for key, (sig, since) in self.pending.items():
            if limit is not None and len(out) >= limit:
                break
            if now - since < self.settle_s:
                continue
            try:
                st = os.lstat(key)
            except OSError:
                # gone, or out of reach now (its folder replaced by a file, made private, a
                # symlink loop): intake's read tells which, and records what it must
                out.append((key, None))
                continue
            if stat.S_ISDIR(st.st_mode):  # replaced by a folder, whose files are seen apart
                out.append((key, None))
                continue
            if signature(st) != sig or self._still_written(key, st):
                moved.append((key, signature(st)))
                continue
            out.append((key, sig))
        for key, _ in out:
            del self.pending[key]
        for key, sig in moved:  # the clock starts again
            self.pending[key] = (sig, now)
        return out

    def _still_written(self, path: str, st: os.stat_result) -> bool:
        writing = open_for_writing(path)
        if writing is None and stat.S_ISREG(st.st_mode) and not self.warned_no_lease:
            self.warned_no_lease = True
            log.warning("cannot tell whether files are still being written (no lease "
                        "permission on %s); only NEWSDROP_SETTLE_MS decides — raise it for "
                        "slow writers", path)
        return bool(writing)


_MTIME_BITS = 64


def signature(st: os.stat_result) -> int:
    """Size and mtime in one int: what must hold still for a file to count as written."""
    return (st.st_size << _MTIME_BITS) | (st.st_mtime_ns & ((1 << _MTIME_BITS) - 1))


def size_and_mtime(sig: int) -> tuple[int, int]:
    """The size and mtime_ns a signature packs (an mtime before 1970 is negative)."""
    mtime = sig & ((1 << _MTIME_BITS) - 1)
    if mtime >= 1 << (_MTIME_BITS - 1):
        mtime -= 1 << _MTIME_BITS
    return sig >> _MTIME_BITS, mtime
