"""Moving files aside: never replacing a file, across file systems, and at the same time
as another mover."""

from __future__ import annotations

import errno
import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from worker import file_moves
from worker.file_moves import move_to_free_name, move_with_sidecar


def _no_hard_links(monkeypatch):
    """As on another file system: every hard link is refused."""
    def refuse(*_args, **_kwargs):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", refuse)


@pytest.fixture(params=["link", "copy"])
def how(request, monkeypatch):
    if request.param == "copy":
        _no_hard_links(monkeypatch)
    return request.param


def test_a_file_moves_to_the_first_free_name_and_replaces_nothing(tmp_path, how):
    (tmp_path / "in").mkdir()
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "a.txt").write_text("already here")
    src = tmp_path / "in" / "a.txt"
    src.write_text("new")
    os.chmod(src, 0o640)
    os.utime(src, ns=(1_500_000_000_000_000_000, 1_500_000_000_000_000_000))

    moved = move_to_free_name(src, archive / "a.txt")

    assert moved == archive / "a.1.txt"
    assert not src.exists()
    assert (archive / "a.txt").read_text() == "already here"
    assert moved.read_text() == "new"
    st = moved.stat()
    assert st.st_mtime_ns == 1_500_000_000_000_000_000
    assert st.st_mode & 0o777 == 0o640


def test_a_name_taken_after_it_was_looked_at_is_not_replaced(tmp_path, how, monkeypatch):
    # the gap between choosing a free name and moving there: another process fills it
    src = tmp_path / "a.txt"
    src.write_text("mine")
    dest = tmp_path / "archive" / "a.txt"
    real_place = file_moves._place

    def place_after_a_rival(path, name):
        if name == dest and not dest.exists():
            dest.write_text("the rival's")
        return real_place(path, name)

    monkeypatch.setattr(file_moves, "_place", place_after_a_rival)
    moved = move_to_free_name(src, dest)
    assert dest.read_text() == "the rival's"
    assert moved == dest.with_name("a.1.txt") and moved.read_text() == "mine"


def test_two_movers_of_same_named_files_lose_none(tmp_path):
    archive = tmp_path / "archive"
    per_mover = 150
    sources = []
    for mover in range(2):
        folder = tmp_path / f"inbox{mover}"
        for k in range(per_mover):
            (folder / str(k)).mkdir(parents=True)
            (folder / str(k) / "a.txt").write_text(f"{mover}-{k}")
        sources.append([folder / str(k) / "a.txt" for k in range(per_mover)])
    start = threading.Barrier(2)

    def move_all(paths):
        start.wait()
        for path in paths:
            move_to_free_name(path, archive / "a.txt")

    threads = [threading.Thread(target=move_all, args=(paths,)) for paths in sources]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    held = sorted(p.read_text() for p in archive.iterdir())
    assert held == sorted(f"{m}-{k}" for m in range(2) for k in range(per_mover))


def test_a_symlink_is_moved_as_a_symlink(tmp_path, how):
    target = tmp_path / "elsewhere.txt"
    target.write_text("target")
    link = tmp_path / "in" / "a.txt"
    link.parent.mkdir()
    link.symlink_to(target)
    moved = move_to_free_name(link, tmp_path / "rejected" / "a.txt")
    assert moved.is_symlink() and os.readlink(moved) == str(target)
    assert not os.path.lexists(link) and target.read_text() == "target"


def test_a_file_that_cannot_leave_its_folder_is_left_there_and_nowhere_else(
        tmp_path, how, monkeypatch):
    src = tmp_path / "in" / "a.txt"
    src.parent.mkdir()
    src.write_text("stays")
    real_unlink = os.unlink

    def unlink(path, *args, **kwargs):
        if Path(path) == src:
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", unlink)
    with pytest.raises(OSError, match="Read-only"):
        move_to_free_name(src, tmp_path / "archive" / "a.txt")
    assert src.read_text() == "stays"
    assert list((tmp_path / "archive").iterdir()) == []


def test_a_copy_that_fails_half_way_leaves_no_partial_file(tmp_path, monkeypatch):
    _no_hard_links(monkeypatch)
    src = tmp_path / "a.txt"
    src.write_bytes(b"x" * 10_000)

    def disk_full(source, copy, *_args):
        copy.write(source.read(100))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shutil, "copyfileobj", disk_full)
    with pytest.raises(OSError, match="No space"):
        move_to_free_name(src, tmp_path / "archive" / "a.txt")
    assert src.read_bytes() == b"x" * 10_000
    assert list((tmp_path / "archive").iterdir()) == []


def test_the_sidecar_never_replaces_a_file_of_its_name(tmp_path, how):
    rejected = tmp_path / "rejected"
    rejected.mkdir()
    # a user's file of that name, rejected earlier
    (rejected / "big.txt.error.json").write_text("a user's file")
    src = tmp_path / "big.txt"
    src.write_text("too big")

    moved = move_with_sidecar(src, rejected / "big.txt", stage="intake",
                              reason="over the size limit", document_id=7)

    assert moved == rejected / "big.1.txt" and moved.read_text() == "too big"
    assert (rejected / "big.txt.error.json").read_text() == "a user's file"
    assert not (rejected / "big.txt").exists()
    sidecar = json.loads((rejected / "big.1.txt.error.json").read_text())
    assert sidecar["document_id"] == 7 and sidecar["reason"] == "over the size limit"
    assert sidecar["source_path"] == str(src)


def test_nothing_to_move_is_none(tmp_path):
    assert move_with_sidecar(tmp_path / "gone.txt", tmp_path / "rejected" / "gone.txt",
                             stage="intake", reason="r", document_id=None) is None
    assert not (tmp_path / "rejected").exists()


def test_a_file_another_mover_takes_meanwhile_is_left_to_it(tmp_path, how, monkeypatch):
    # two watchers, or a watcher and `ingest --after move`, move the same file at once
    src = tmp_path / "a.txt"
    src.write_text("one file")
    archive = tmp_path / "archive"
    real_place = file_moves._place
    rival: list[Path | None] = []
    rival_started = threading.Event()

    def place_then_the_rival_moves_it(path, name):
        real_place(path, name)
        if not rival_started.is_set():
            rival_started.set()
            rival.append(move_to_free_name(path, archive / "a.txt"))

    monkeypatch.setattr(file_moves, "_place", place_then_the_rival_moves_it)
    assert move_to_free_name(src, archive / "a.txt") is None
    assert rival == [archive / "a.1.txt"]
    assert [(p.name, p.read_text()) for p in archive.iterdir()] == [("a.1.txt", "one file")]


def test_a_fifo_is_not_copied_to_another_file_system_nor_waited_on(tmp_path, monkeypatch):
    # opening a FIFO that has no writer would wait for one, holding up the watcher
    _no_hard_links(monkeypatch)
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    errors: list[BaseException] = []

    def move() -> None:
        try:
            move_to_free_name(fifo, tmp_path / "rejected" / "pipe.txt")
        except OSError as exc:
            errors.append(exc)

    thread = threading.Thread(target=move, daemon=True)
    thread.start()
    thread.join(5)
    assert not thread.is_alive(), "the move waits for a writer"
    assert errors and "only a regular file" in str(errors[0])
    assert fifo.exists() and list((tmp_path / "rejected").iterdir()) == []
