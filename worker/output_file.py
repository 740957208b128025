"""A command's output file (`export -o`): a regular file is replaced only once complete,
and what is not a regular file is written in place rather than replaced."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from types import TracebackType
from typing import TextIO


class OutputFile:
    """Used as a context manager, the text stream to write; on leaving the block the
    temporary file, if any, is renamed over the target, or removed if the block failed."""

    def __init__(self, stream: TextIO, target: Path, temporary: Path | None) -> None:
        self._stream = stream
        self._target = target
        self._temporary = temporary

    def __enter__(self) -> TextIO:
        return self._stream

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        done = False
        try:
            if exc_type is None:
                self._stream.close()  # its last flush may be what finds the disk full
                if self._temporary is not None:
                    os.replace(self._temporary, self._target)
                done = True
        finally:
            if not done:
                with contextlib.suppress(OSError):  # the error under way says more
                    self._stream.close()
                if self._temporary is not None:
                    self._temporary.unlink(missing_ok=True)


def open_output(path: Path, *, newline: str | None = None) -> OutputFile:
    """Open `path` to write UTF-8 text to, as `open(path, "w")` would, but so that a
    regular file (new or existing) gets the text only once all of it is written.

    The text goes to a temporary file under a name no other file has, beside the file,
    and is renamed over it at the end: a reader never sees half of it, and a failure
    leaves the old file as it was and no temporary one. Through a symlink, the file it
    points to is the one replaced and the link stays. Anything else that exists (a device,
    a FIFO) is written in place, as renaming over it would put a file in its stead, and
    this process's own standard output or error named by path (/dev/stdout) is written
    through its descriptor.
    Raises OSError when the path cannot be opened or created.
    """
    try:
        st: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        st = None
    own = _own_stream(path, st)
    if own is not None:
        return OutputFile(open(os.dup(own), "w", encoding="utf-8", newline=newline), path, None)
    if st is not None and not stat.S_ISREG(st.st_mode):
        # opened as given: a link such as /dev/stdout's may point to no path (pipe:[…])
        return OutputFile(path.open("w", encoding="utf-8", newline=newline), path, None)
    target = path.resolve()  # a symlink's file, so that the rename keeps the link
    # hidden and ending in .part, so that folder watchers (newsdrop's own) pass it over
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    temporary = Path(name)
    try:
        # mkstemp's 0600 would make the file private: give it the mode it would have had
        os.fchmod(fd, stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask())
    except BaseException:
        os.close(fd)
        temporary.unlink(missing_ok=True)
        raise
    return OutputFile(open(fd, "w", encoding="utf-8", newline=newline), target, temporary)


def _own_stream(path: Path, st: os.stat_result | None) -> int | None:
    """The descriptor, 1 or 2, that `path` names when it is this process's standard output
    or error seen through /dev or /proc (/dev/stdout, /dev/fd/1, /proc/self/fd/2): written
    through that descriptor, as `-o -` is. Opened again, the file it was redirected to
    would be emptied (even one redirected with >>); renamed over, lost."""
    if st is None or not str(path).startswith(("/dev/", "/proc/")):
        return None
    for fd in (1, 2):
        with contextlib.suppress(OSError):
            if os.path.samestat(st, os.fstat(fd)):
                return fd
    return None


def _umask() -> int:
    mask = os.umask(0o077)  # it can only be read by setting it: put it back at once
    os.umask(mask)
    return mask
