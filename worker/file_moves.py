"""Moving a file out of the inbox (to archive/ or rejected/) without ever replacing one.

Picking a free name and then renaming to it leaves an instant in which another process
(a second watcher, `ingest --after move`) may pick the same name, and a rename replaces
whatever it finds there. So the name is taken by an operation that fails when the name
exists: a hard link, or, where a link is refused (another file system, one without
hard links), a file created exclusively and then filled. The original is removed only
once the new name holds the file.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

SIDECAR_SUFFIX = ".error.json"
_COPY_BUFFER = 1 << 20


def move_to_free_name(path: Path, dest: Path, *, keep_free: tuple[str, ...] = ()
                      ) -> Path | None:
    """Move `path` to `dest`, or to `name.1.ext`, `name.2.ext`… if that is taken, and
    return where it went; a name is also passed over while `name + s` exists for a suffix
    `s` of `keep_free` (room for a sidecar). None: another process moved or deleted the
    file meanwhile, and nothing was placed. On an error the file is where it was, and
    nowhere else.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    for candidate in _names(dest):
        if any(os.path.lexists(f"{candidate}{s}") for s in keep_free):
            continue
        try:
            _place(path, candidate)
        except FileExistsError:
            continue  # taken since it was looked at: the next name
        try:
            os.unlink(path)
        except FileNotFoundError:
            # another mover took it meanwhile (a second watcher, `ingest --after move`):
            # its copy stands, and this one would be a second
            os.unlink(candidate)
            return None
        except OSError:
            # the original cannot leave its folder (read-only, immutable): without
            # this, every later attempt would leave one more copy behind
            os.unlink(candidate)
            raise
        return candidate
    raise AssertionError("unreachable: the names never run out")


def move_with_sidecar(path: Path, dest: Path, *, stage: str, reason: str,
                      document_id: int | None) -> Path | None:
    """Move a file aside (as `move_to_free_name`) and write `<name>.error.json` next to it
    saying why; None if there was no file to move (or another process moved it)."""
    if not os.path.lexists(path):
        return None
    moved = move_to_free_name(path, dest, keep_free=(SIDECAR_SUFFIX,))
    if moved is None:
        return None
    with open(f"{moved}{SIDECAR_SUFFIX}", "x", encoding="utf-8") as sidecar:
        sidecar.write(json.dumps({
            "document_id": document_id,
            "source_path": str(path),
            "stage": stage,
            "reason": reason,
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
        }, indent=2) + "\n")
    return moved


def find_moved(dest: Path, document_id: int, *, tries: int = 100) -> Path | None:
    """Where `move_with_sidecar` put the file of `document_id` it meant to put at
    `dest`: the first of `dest`'s free names whose sidecar names that document; None if
    none of the first `tries` does (moved on since, or never moved)."""
    for candidate, _ in zip(_names(dest), range(tries), strict=False):
        try:
            with open(f"{candidate}{SIDECAR_SUFFIX}", encoding="utf-8") as sidecar:
                said = json.load(sidecar)
        except (OSError, ValueError):  # none there (or removed since), or not a sidecar
            continue
        if isinstance(said, dict) and said.get("document_id") == document_id and \
                os.path.lexists(candidate):
            return candidate
    return None


def _names(dest: Path) -> Iterator[Path]:
    yield dest
    n = 1
    while True:
        yield dest.with_name(f"{dest.stem}.{n}{dest.suffix}")
        n += 1


def _place(path: Path, name: Path) -> None:
    """Make `name` hold what `path` holds (a symlink stays a symlink); FileExistsError if
    `name` exists."""
    try:
        os.link(path, name, follow_symlinks=False)
        return
    except FileExistsError:
        raise
    except OSError:
        pass  # another file system, or one without hard links: copy instead
    if os.path.islink(path):
        os.symlink(os.readlink(path), name)
        return
    # without blocking: opening a FIFO that has no writer would wait for one
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "only a regular file can be copied to another file "
                                        "system", str(path))
        source = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    created = False
    try:
        with source, open(name, "xb") as copy:
            created = True
            shutil.copyfileobj(source, copy, _COPY_BUFFER)
        shutil.copystat(path, name)  # once closed: the last write would set the times
    except BaseException:
        if created:
            os.unlink(name)
        raise
