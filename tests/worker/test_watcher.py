"""The watcher's stability rule and scanning, on a real folder."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import pytest
import watchfiles

from worker import watcher as watcher_module
from worker.intake import IntakeOutcome
from worker.watcher import StabilityTracker, Watcher, event_filter, events_fire, scan


def test_a_file_is_ready_only_after_its_size_and_mtime_settle(tmp_path):
    f = tmp_path / "a.txt"
    f.write_bytes(b"part")
    tracker = StabilityTracker(settle_s=0.5)
    tracker.observe(f, now=0.0)
    assert tracker.ready(now=0.2) == []
    with f.open("ab") as fh:  # still being written
        fh.write(b" more")
    assert tracker.ready(now=0.6) == []  # changed: the clock starts again
    assert tracker.ready(now=0.9) == []
    assert tracker.ready(now=1.2) == [f]
    assert tracker.ready(now=5.0) == []  # handed out once


def test_taken_files_are_not_offered_again_until_they_change(tmp_path):
    f = tmp_path / "a.txt"
    f.write_bytes(b"x")
    tracker = StabilityTracker(settle_s=0.0)
    tracker.observe(f, 0.0)
    assert tracker.ready(1.0) == [f]
    tracker.mark_taken([IntakeOutcome(f, None)])
    tracker.observe(f, 2.0)
    assert tracker.ready(3.0) == []
    f.write_bytes(b"changed")
    tracker.observe(f, 4.0)
    assert tracker.ready(5.0) == [f]


def test_scan_recurses_skips_ignored_names_and_symlinked_folders(tmp_path):
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "sub" / "deeper" / "b.html").write_text("b")
    (tmp_path / ".hidden").write_text("h")
    (tmp_path / "c.part").write_text("c")
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("s")
    os.symlink(outside, tmp_path / "linked-folder")
    os.symlink(outside / "secret.txt", tmp_path / "linked-file.txt")
    found = {p.relative_to(tmp_path).as_posix() for p in scan(tmp_path)}
    # links are offered as themselves (intake rejects those pointing outside) and the
    # linked folder is never walked
    assert found == {"a.txt", "sub/deeper/b.html", "linked-file.txt", "linked-folder"}


class RecordingIntake:
    def __init__(self):
        self.taken: list[Path] = []
        self.chunks: list[list[Path]] = []

    def take(self, paths):
        self.taken.extend(paths)
        self.chunks.append(list(paths))
        return [IntakeOutcome(p, None) for p in paths]


def test_watcher_takes_existing_and_new_files_once(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "before.txt").write_text("already here")
    intake = RecordingIntake()
    watcher = Watcher(inbox, intake, settle_ms=50, debounce_ms=20, rescan_interval_s=0.3,
                      poll=False, poll_interval_ms=100, batch_size=10)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        time.sleep(0.3)
        (inbox / "sub").mkdir()
        (inbox / "sub" / "new.txt").write_text("new")
        (inbox / "ignored.tmp").write_text("tmp")
        deadline = time.monotonic() + 5
        while len(intake.taken) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.8)  # past a rescan: nothing is taken twice
    finally:
        watcher.stop()
        thread.join(5)
    names = sorted(p.relative_to(inbox.resolve()).as_posix() for p in intake.taken)
    assert names == ["before.txt", "sub/new.txt"]


def test_a_file_still_open_for_writing_is_not_ready_however_long_it_pauses(tmp_path):
    f = tmp_path / "slow.txt"
    tracker = StabilityTracker(settle_s=0.0)
    with f.open("wb") as writer:
        writer.write(b"first half")
        writer.flush()
        tracker.observe(f, 0.0)
        assert tracker.ready(10.0) == []  # stable for ages, but the writer is still there
        writer.write(b" and the rest")
    tracker.observe(f, 11.0)
    assert tracker.ready(12.0) == [f]


def test_events_below_hidden_or_temporary_folders_are_filtered_out(tmp_path):
    wanted = event_filter(tmp_path)
    added = watchfiles.Change.added
    assert wanted(added, str(tmp_path / "sub" / "a.txt"))
    assert not wanted(added, str(tmp_path / ".sync" / "a.txt"))
    assert not wanted(added, str(tmp_path / "x.partial" / "a.txt"))
    assert not wanted(added, str(tmp_path / "~$lock.docx"))
    assert not wanted(watchfiles.Change.deleted, str(tmp_path / "a.txt"))


def test_events_fire_waits_for_its_probe_in_a_busy_inbox(tmp_path):
    stop = threading.Event()

    def busy() -> None:
        n = 0
        while not stop.is_set():
            (tmp_path / f"busy-{n}.txt").write_text("x")
            n += 1
            time.sleep(0.005)

    writer = threading.Thread(target=busy, daemon=True)
    writer.start()
    try:
        assert events_fire(tmp_path, timeout_s=3.0) is True
    finally:
        stop.set()
        writer.join(2)


def test_events_fire_on_a_read_only_inbox_warns_and_gives_no_verdict(tmp_path, monkeypatch,
                                                                     caplog):
    def refuse(self, data):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "write_bytes", refuse)
    with caplog.at_level(logging.WARNING, logger="worker.watcher"):
        assert events_fire(tmp_path, timeout_s=0.5) is None
    assert "cannot write a probe file" in caplog.text


def test_take_ready_caps_a_batch_by_bytes(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for n in range(3):
        with (inbox / f"{n}.txt").open("wb") as fh:
            fh.truncate(40 * 1024 * 1024)  # sparse: 40 MB each, no disk used
    intake = RecordingIntake()
    watcher = Watcher(inbox, intake, settle_ms=0, debounce_ms=20, rescan_interval_s=60,
                      poll=False, poll_interval_ms=100, batch_size=100)
    watcher.rescan()
    assert watcher.take_ready(time.monotonic() + 1) == 3
    assert [len(c) for c in intake.chunks] == [1, 1, 1]  # 80 MB would be over 64 MB


def test_without_lease_permission_one_warning_says_only_the_settle_time_decides(
        tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(watcher_module, "open_for_writing", lambda path: None)
    tracker = StabilityTracker(settle_s=0.0)
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(name)
        tracker.observe(tmp_path / name, 0.0)
    with caplog.at_level(logging.WARNING, logger="worker.watcher"):
        assert sorted(p.name for p in tracker.ready(1.0)) == ["a.txt", "b.txt"]
    warnings = [r for r in caplog.records if "cannot tell whether files" in r.getMessage()]
    assert len(warnings) == 1 and "NEWSDROP_SETTLE_MS" in warnings[0].getMessage()


@pytest.mark.parametrize("hidden", [".stfolder", "dl.partial"])
def test_watcher_skips_files_in_hidden_folders_created_while_it_runs(tmp_path, hidden):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    intake = RecordingIntake()
    watcher = Watcher(inbox, intake, settle_ms=20, debounce_ms=20, rescan_interval_s=60,
                      poll=False, poll_interval_ms=100, batch_size=10)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        time.sleep(0.3)
        (inbox / hidden).mkdir()
        time.sleep(0.1)
        (inbox / hidden / "inner.txt").write_text("in progress")
        (inbox / "visible.txt").write_text("v")
        deadline = time.monotonic() + 5
        while not intake.taken and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        watcher.stop()
        thread.join(5)
    assert [p.name for p in intake.taken] == ["visible.txt"]
