"""The watcher's stability rule and scanning, on a real folder."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import watchfiles

from tests.conftest import fail_reads_of
from worker import stability
from worker import watcher as watcher_module
from worker.intake import IntakeOutcome
from worker.stability import StabilityTracker
from worker.watcher import Watcher, event_filter, events_fire, scan


def ready_paths(tracker, now, limit=None):
    return [Path(p) for p, _ in tracker.ready(now, limit)]


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
    assert ready_paths(tracker, now=1.2) == [f]
    assert tracker.ready(now=5.0) == []  # handed out once


def test_ready_hands_out_at_most_its_limit_oldest_first(tmp_path):
    tracker = StabilityTracker(settle_s=0.0)
    files = [tmp_path / f"{n}.txt" for n in range(5)]
    for n, f in enumerate(files):
        f.write_text(str(n))
        tracker.observe(f, now=float(n))
    assert ready_paths(tracker, 10.0, limit=2) == files[:2]
    assert ready_paths(tracker, 10.0, limit=2) == files[2:4]
    assert ready_paths(tracker, 10.0, limit=2) == files[4:]


def test_files_beyond_the_pending_limit_are_left_for_a_rescan(tmp_path):
    tracker = StabilityTracker(settle_s=0.0, max_pending=2)
    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / name).write_text(name)
        tracker.observe(tmp_path / name, 0.0)
    assert len(tracker.pending) == 2 and tracker.overflowed


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
    """Records what it is handed; knows a file as taken by its path, size and mtime, as
    the database does."""

    def __init__(self):
        self.taken: list[Path] = []
        self.chunks: list[list[Path]] = []
        self.known: set[tuple[str, int, int]] = set()
        self.deferred: list[Path] = []  # every file it is handed is read

    def take(self, paths):
        self.taken.extend(paths)
        self.chunks.append(list(paths))
        for p in paths:
            st = os.lstat(p)
            self.known.add((str(p), st.st_size, st.st_mtime_ns))
        return [IntakeOutcome(p, None) for p in paths]

    def already_taken(self, files):
        return {path for path, size, mtime in files if (path, size, mtime) in self.known}


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
    assert ready_paths(tracker, 12.0) == [f]


def test_events_below_hidden_or_temporary_folders_are_filtered_out(tmp_path):
    wanted = event_filter(tmp_path)
    added = watchfiles.Change.added
    assert wanted(added, str(tmp_path / "sub" / "a.txt"))
    assert not wanted(added, str(tmp_path / ".sync" / "a.txt"))
    assert not wanted(added, str(tmp_path / "x.partial" / "a.txt"))
    assert not wanted(added, str(tmp_path / "~$lock.docx"))
    assert not wanted(watchfiles.Change.deleted, str(tmp_path / "a.txt"))
    assert wanted(watchfiles.Change.deleted, str(tmp_path))  # the inbox itself


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
    monkeypatch.setattr(stability, "open_for_writing", lambda path: None)
    tracker = StabilityTracker(settle_s=0.0)
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(name)
        tracker.observe(tmp_path / name, 0.0)
    with caplog.at_level(logging.WARNING, logger="worker.watcher"):
        assert sorted(p.name for p in ready_paths(tracker, 1.0)) == ["a.txt", "b.txt"]
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


# ---------------------------------------------------------------- with a real intake


@pytest.fixture
def inbox_intake(tmp_path, sessions, monkeypatch):
    """A real `Intake` on a migrated SQLite database; `reads` counts files it reads."""
    from worker import intake as intake_module
    from worker.intake import Intake
    from worker.settings import Settings

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    reads: list[Path] = []
    real_read = intake_module.read_file

    def counting_read(path, *args, **kwargs):
        reads.append(path)
        return real_read(path, *args, **kwargs)

    monkeypatch.setattr(intake_module, "read_file", counting_read)

    def make():
        settings = Settings(data_dir=tmp_path / "data", inbox=inbox)
        return Intake(settings, sessions, lambda ids: None)

    return inbox, make, reads, sessions


def make_watcher(inbox, intake, **overrides):
    options = {"settle_ms": 0, "debounce_ms": 20, "rescan_interval_s": 3600, "poll": False,
               "poll_interval_ms": 100, "batch_size": 100, **overrides}
    return Watcher(inbox, intake, **options)


def take_all(watcher, max_rounds=100):
    """Rescan and take in until nothing is left waiting."""
    for _ in range(max_rounds):
        watcher.rescan()
        if not watcher.take_ready(time.monotonic() + 1):
            return
    raise AssertionError(f"files still waiting after {max_rounds} rescans")


def statuses(sessions, source_path):
    from sqlalchemy import select

    from db.engine import reading
    from db.models import Document

    with reading(sessions) as s:
        return [st.value for st in s.scalars(
            select(Document.status).where(Document.source_path == source_path)
            .order_by(Document.id))]


def rows_by_path(sessions):
    from sqlalchemy import select

    from db.engine import reading
    from db.models import Document

    out: dict[str, int] = {}
    with reading(sessions) as s:
        for name in s.scalars(select(Document.source_path)):
            out[name] = out.get(name, 0) + 1
    return out


def test_a_database_out_of_reach_is_said_in_a_line_and_tried_again_ever_later(
        inbox_intake, caplog):
    from db.engine import make_engine, make_session_factory

    inbox, make, _, sessions = inbox_intake
    (inbox / "a.txt").write_text("alpha")
    intake = make()
    watcher = make_watcher(inbox, intake)
    watcher.rescan()
    # a server that refuses connections: nothing listens on port 1
    down = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/newsdrop")
    intake.sessions = make_session_factory(down)
    with caplog.at_level(logging.INFO, logger="worker.watcher"):
        assert watcher.take_ready(time.monotonic()) == 1
        assert watcher.take_ready(time.monotonic() + 1.5) == 0  # waits 2 s
        assert watcher.take_ready(time.monotonic() + 2.5) == 1
        assert watcher.take_ready(time.monotonic() + 3.5) == 0  # then 4 s
        intake.sessions = sessions  # the server is back
        assert watcher.take_ready(time.monotonic() + 4.5) == 1
    down.dispose()
    assert statuses(sessions, "a.txt") == ["queued"]
    assert [(r.levelname, r.exc_info, r.getMessage().split(" (")[0]) for r in caplog.records] \
        == [("ERROR", None, "could not look up 1 file: the database is out of reach"),
            ("ERROR", None, "could not look up 1 file: the database is out of reach"),
            ("INFO", None, "the database answers again, after 2 failed tries")]
    assert caplog.records[0].getMessage().endswith("retrying in 2 s")
    assert caplog.records[1].getMessage().endswith("retrying in 4 s")
    assert "Connection refused" in caplog.records[0].getMessage()


def test_any_other_intake_failure_keeps_its_traceback(inbox_intake, caplog, monkeypatch):
    inbox, make, _, sessions = inbox_intake
    (inbox / "a.txt").write_text("alpha")
    intake = make()
    watcher = make_watcher(inbox, intake)
    watcher.rescan()
    looked_up = intake.already_taken
    failures = [RuntimeError("a bug")]

    def already_taken(files):
        if failures:
            raise failures.pop()
        return looked_up(files)

    monkeypatch.setattr(intake, "already_taken", already_taken)
    with caplog.at_level(logging.INFO, logger="worker.watcher"):
        assert watcher.take_ready(time.monotonic()) == 1
        assert watcher.take_ready(time.monotonic() + 2.5) == 1
    assert statuses(sessions, "a.txt") == ["queued"]
    # one error, with its traceback, and no word of a database coming back
    [record] = caplog.records
    assert record.getMessage() == "could not look up 1 file; retrying in 2 s"
    assert record.exc_info is not None


def test_a_rescan_reads_no_file_already_taken(inbox_intake):
    inbox, make, reads, _ = inbox_intake
    for n in range(3):
        (inbox / f"{n}.txt").write_text(f"file {n}")
    watcher = make_watcher(inbox, make())
    take_all(watcher)
    assert len(reads) == 3 and watcher.taken_count == 3
    watcher.rescan()
    assert watcher.tracker.pending == {}
    assert watcher.take_ready(time.monotonic() + 1) == 0
    assert len(reads) == 3


def one_file_taken(inbox_intake, text):
    """inbox/a.txt holding `text`, and a watcher that has taken it in."""
    inbox, make, _, _ = inbox_intake
    f = inbox / "a.txt"
    f.write_text(text)
    watcher = make_watcher(inbox, make())
    take_all(watcher)
    return f, watcher


def test_a_file_modified_after_intake_is_taken_again(inbox_intake):
    _, _, reads, sessions = inbox_intake
    f, watcher = one_file_taken(inbox_intake, "first version")
    f.write_text("second version, longer")
    take_all(watcher)
    assert len(reads) == 2 and watcher.taken_count == 2
    assert rows_by_path(sessions) == {"a.txt": 2}


def test_a_file_touched_with_the_same_bytes_is_read_once_more_then_known(inbox_intake):
    _, _, reads, sessions = inbox_intake
    f, watcher = one_file_taken(inbox_intake, "same bytes")
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    take_all(watcher)
    assert len(reads) == 2  # read to find the bytes unchanged: no new document
    assert rows_by_path(sessions) == {"a.txt": 1}
    take_all(watcher)
    assert len(reads) == 2  # its new mtime is known now


def test_a_watcher_restarted_on_a_full_inbox_reads_nothing_already_known(inbox_intake):
    inbox, make, reads, sessions = inbox_intake
    n = watcher_module.SCAN_CHUNK * 2 + 500  # several lookups
    for k in range(n):
        (inbox / f"{k}.txt").write_text(f"file {k}")
    take_all(make_watcher(inbox, make()))
    assert len(reads) == n
    restarted = make_watcher(inbox, make())
    restarted.rescan()
    assert restarted.tracker.pending == {} and not restarted.tracker.overflowed
    assert len(reads) == n
    (inbox / "new.txt").write_text("dropped while it was down")
    take_all(restarted)
    assert [p.name for p in reads[n:]] == ["new.txt"]
    assert len(rows_by_path(sessions)) == n + 1


def test_an_event_for_a_file_just_taken_is_told_apart_without_reading_it(inbox_intake):
    inbox, make, reads, _ = inbox_intake
    f = inbox / "a.txt"
    f.write_text("x")
    watcher = make_watcher(inbox, make())
    take_all(watcher)
    watcher.tracker.observe(f, time.monotonic())  # a second event for the same file
    assert watcher.take_ready(time.monotonic() + 1) == 1
    assert len(reads) == 1 and watcher.taken_count == 1


def test_files_left_out_for_want_of_room_are_found_by_the_next_walk(inbox_intake):
    inbox, make, reads, sessions = inbox_intake
    watcher = make_watcher(inbox, make())
    watcher.tracker.max_pending = 2
    for n in range(5):
        (inbox / f"{n}.txt").write_text(f"file {n}")
        watcher.tracker.observe(inbox / f"{n}.txt", 0.0)
    assert len(watcher.tracker.pending) == 2 and watcher.tracker.overflowed
    take_all(watcher)
    assert sorted(rows_by_path(sessions)) == [f"{n}.txt" for n in range(5)]
    assert len(reads) == 5


def run_in_thread(watcher):
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("max_pending", [stability.MAX_PENDING, 50])
def test_every_file_of_a_5000_file_burst_is_taken_once(inbox_intake, max_pending):
    from tests.conftest import wait_for

    inbox, make, reads, sessions = inbox_intake
    # no periodic rescan: with a small pending limit, the walks that overflow sets off
    # are what finds the files left out
    watcher = make_watcher(inbox, make(), settle_ms=20, rescan_interval_s=3600)
    watcher.tracker.max_pending = max_pending
    thread = run_in_thread(watcher)
    try:
        wait_for(lambda: watcher.rescans_done, 10, interval=0.01, message="start-up scan")
        n = 5000
        for k in range(n):
            tmp = inbox / f".{k}.txt.part"
            tmp.write_text(f"article {k}")
            os.rename(tmp, inbox / f"{k}.txt")
        wait_for(lambda: watcher.taken_count >= n, 120,
                 message=lambda: f"{n} files taken, {watcher.taken_count} so far")
    finally:
        watcher.stop()
        thread.join(10)
    assert not thread.is_alive()
    assert rows_by_path(sessions) == {f"{k}.txt": 1 for k in range(n)}
    assert len(reads) == n  # none read twice


def test_an_idle_watcher_sleeps_until_a_file_event_or_stop_wakes_it(tmp_path, monkeypatch):
    from tests.conftest import wait_for

    # far longer than the test waits: only an event or `stop` can end an idle wait
    monkeypatch.setattr(watcher_module, "IDLE_WAIT_S", 60.0)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    intake = RecordingIntake()
    watcher = make_watcher(inbox, intake)
    turns = []
    take_ready = watcher.take_ready

    def counting_take_ready(now):
        turns.append(now)
        return take_ready(now)

    watcher.take_ready = counting_take_ready
    thread = run_in_thread(watcher)
    try:
        wait_for(lambda: watcher.rescans_done, 10, interval=0.01, message="start-up scan")
        before = len(turns)
        time.sleep(1.0)
        idle_turns = len(turns) - before
        (inbox / "new.txt").write_text("new")
        wait_for(lambda: intake.taken, 10, interval=0.01, message="the new file taken")
    finally:
        watcher.stop()
        thread.join(10)
    assert not thread.is_alive()
    # one turn per 10 ms tick would be about a hundred
    assert idle_turns <= 2
    assert [p.name for p in intake.taken] == ["new.txt"]


def test_an_idle_watcher_wakes_for_its_periodic_rescans(tmp_path, monkeypatch):
    from tests.conftest import wait_for

    monkeypatch.setattr(watcher_module, "IDLE_WAIT_S", 60.0)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    watcher = make_watcher(inbox, RecordingIntake(), rescan_interval_s=0.2)
    thread = run_in_thread(watcher)
    try:
        wait_for(lambda: watcher.rescans_done >= 4, 10, interval=0.01,
                 message=lambda: f"four walks, {watcher.rescans_done} so far")
    finally:
        watcher.stop()
        thread.join(10)
    assert not thread.is_alive()


def remove_and_create_again(inbox):
    shutil.rmtree(inbox)
    inbox.mkdir()


def move_away_and_replace(inbox):
    inbox.rename(inbox.with_name("inbox.old"))
    inbox.mkdir()


def inbox_warnings(caplog):
    return [r.getMessage() for r in caplog.records
            if r.name == "worker.watcher" and r.levelno == logging.WARNING
            and "removed" in r.getMessage()]


@pytest.mark.parametrize("poll", [False, True], ids=["events", "polling"])
@pytest.mark.parametrize("replace", [remove_and_create_again, move_away_and_replace],
                         ids=["removed", "moved-away"])
def test_an_inbox_replaced_while_watched_is_watched_and_walked_again(tmp_path, caplog, poll,
                                                                      replace):
    from tests.conftest import wait_for

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "before.txt").write_text("taken from the first folder")
    intake = RecordingIntake()
    # no periodic rescan within the test: only noticing the new folder can find its files
    watcher = make_watcher(inbox, intake, settle_ms=20, rescan_interval_s=600, poll=poll)
    thread = run_in_thread(watcher)
    try:
        wait_for(lambda: intake.taken, 10, interval=0.01, message="start-up scan")
        with caplog.at_level(logging.WARNING, logger="worker.watcher"):
            replace(inbox)
            (inbox / "copied.txt").write_text("copied in with the new folder")
            wait_for(lambda: len(intake.taken) >= 2, 10, interval=0.01,
                     message="the file copied into the new folder taken")
            (inbox / "later.txt").write_text("dropped once the new folder is watched")
            wait_for(lambda: len(intake.taken) >= 3, 10, interval=0.01,
                     message="a later file taken")
            # the walk of the new folder is over: a file it found twice would be in
            wait_for(lambda: watcher.rescans_done >= 2, 10, interval=0.01,
                     message="the walk of the new folder")
            time.sleep(0.2)
    finally:
        watcher.stop()
        thread.join(10)
    assert not thread.is_alive()
    assert [p.name for p in intake.taken] == ["before.txt", "copied.txt", "later.txt"]
    warnings = inbox_warnings(caplog)
    assert len(warnings) == 1 and "watching the folder now in its place" in warnings[0]


def test_an_inbox_removed_for_good_is_created_again_and_watched(tmp_path, caplog):
    from tests.conftest import wait_for

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    intake = RecordingIntake()
    watcher = make_watcher(inbox, intake, settle_ms=20, rescan_interval_s=600)
    thread = run_in_thread(watcher)
    try:
        wait_for(lambda: watcher.rescans_done, 10, interval=0.01, message="start-up scan")
        with caplog.at_level(logging.WARNING, logger="worker.watcher"):
            shutil.rmtree(inbox)
            wait_for(inbox.is_dir, 10, interval=0.01, message="the inbox created again")
            (inbox / "new.txt").write_text("dropped into the inbox created again")
            wait_for(lambda: intake.taken, 10, interval=0.01, message="the new file taken")
    finally:
        watcher.stop()
        thread.join(10)
    assert not thread.is_alive()
    assert [p.name for p in intake.taken] == ["new.txt"]
    warnings = inbox_warnings(caplog)
    assert len(warnings) == 1 and "created it again" in warnings[0]


#: run in a mount namespace of its own: the inbox is a bind mount of another folder, which
#: is then removed and made again, as `rm -rf inbox; mkdir inbox` does on a Docker host
BIND_MOUNTED_INBOX_REMOVED = """
import json, logging, shutil, subprocess, sys, threading
from pathlib import Path
from worker.watcher import Watcher

class NoIntake:
    def take(self, paths): raise AssertionError(paths)
    def already_taken(self, files): return set()

class Said(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.said = threading.Event()
        self.messages = []
    def emit(self, record):
        self.messages.append(record.getMessage())
        self.said.set()

base = Path(sys.argv[1])
host, inbox = base / "host-inbox", base / "inbox"
host.mkdir()
inbox.mkdir()
subprocess.run(["mount", "--bind", str(host), str(inbox)], check=True)
said = Said()
logging.getLogger("worker.watcher").addHandler(said)
watcher = Watcher(inbox, NoIntake(), settle_ms=20, debounce_ms=20, rescan_interval_s=600,
                  poll=False, poll_interval_ms=100, batch_size=10)
thread = threading.Thread(target=watcher.run, daemon=True)
thread.start()
shutil.rmtree(host)
host.mkdir()
said.said.wait(10)
watcher.stop()
thread.join(10)
print(json.dumps(said.messages))
"""


#: a mount namespace of its own, in a user namespace so that no root is needed
UNSHARE = ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"]


def can_mount_in_a_namespace_of_its_own():
    try:
        return subprocess.run([*UNSHARE, "true"], capture_output=True,
                              timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@pytest.mark.skipif(not can_mount_in_a_namespace_of_its_own(),
                    reason="needs `unshare` and user namespaces")
def test_a_bind_mounted_inbox_removed_on_the_host_is_said_to_need_a_restart(tmp_path):
    from tests.conftest import REPO

    out = subprocess.run(
        [*UNSHARE, sys.executable, "-c", BIND_MOUNTED_INBOX_REMOVED, str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=True).stdout
    messages = json.loads(out)
    assert len(messages) == 1 and "restarted" in messages[0], messages


def test_a_failure_to_follow_events_stops_the_watcher_with_that_error(tmp_path, monkeypatch):
    def broken_watch(*args, **kwargs):
        raise RuntimeError("inotify watch limit reached")
        yield  # a generator, as watchfiles.watch is

    monkeypatch.setattr(watcher_module.watchfiles, "watch", broken_watch)
    watcher = make_watcher(tmp_path, RecordingIntake())
    with pytest.raises(RuntimeError, match="watch limit"):
        watcher.run()


def test_a_name_that_is_not_utf8_neither_stops_the_watcher_nor_hides_its_neighbours(
        inbox_intake, caplog):
    # watchfiles raises on such a name and drops the whole batch of events it was in
    from tests.conftest import wait_for

    inbox, make, _, sessions = inbox_intake
    watcher = make_watcher(inbox, make(), settle_ms=20)
    thread = run_in_thread(watcher)
    undecodable = Path(os.fsdecode(os.fsencode(inbox) + b"/caf\xe9.txt"))
    try:
        wait_for(lambda: watcher.rescans_done, 10, interval=0.01, message="start-up scan")
        with caplog.at_level(logging.WARNING, logger="worker.watcher"):
            undecodable.write_text("one")
            (inbox / "next.txt").write_text("two")  # same batch of events
            wait_for(lambda: watcher.taken_count >= 2, 10,
                     message=lambda: f"two files taken, {watcher.taken_count} so far")
            for _ in range(3):  # more events on the same name
                os.utime(undecodable)
                time.sleep(0.1)
        assert thread.is_alive()
    finally:
        watcher.stop()
        thread.join(10)
    assert rows_by_path(sessions) == {"caf\\xe9.txt": 1, "next.txt": 1}
    warned = [r for r in caplog.records if "not valid UTF-8" in r.getMessage()]
    assert len(warned) == 1, [r.getMessage() for r in warned]


def test_a_rejected_file_that_cannot_be_moved_out_is_not_rejected_at_every_rescan(
        inbox_intake, monkeypatch):
    # a read-only inbox: the rejected file stays where it is
    from worker import intake as intake_module
    from worker.intake import Intake
    from worker.settings import Settings

    inbox, _, reads, sessions = inbox_intake

    def read_only(*_args, **_kwargs):
        raise PermissionError(30, "Read-only file system")

    monkeypatch.setattr(intake_module, "move_with_sidecar", read_only)
    settings = Settings(data_dir=inbox.parent / "data", inbox=inbox, max_file_bytes=100)
    big = inbox / "big.txt"
    big.write_text("x" * 200)
    watcher = make_watcher(inbox, Intake(settings, sessions, lambda ids: None))
    take_all(watcher)
    take_all(watcher)
    assert rows_by_path(sessions) == {"big.txt": 1} and len(reads) == 1
    big.write_text("y" * 300)  # changed: looked at again
    take_all(watcher)
    assert rows_by_path(sessions) == {"big.txt": 2}
    # a restart tries it once more: rejected for the same reason, it gets no second row
    restarted = make_watcher(inbox, Intake(settings, sessions, lambda ids: None))
    take_all(restarted)
    take_all(restarted)
    assert rows_by_path(sessions) == {"big.txt": 2} and len(reads) == 3
    # and after raising the limit it is taken in
    raised = settings.model_copy(update={"max_file_bytes": 1000})
    take_all(make_watcher(inbox, Intake(raised, sessions, lambda ids: None)))
    assert rows_by_path(sessions) == {"big.txt": 3} and len(reads) == 4
    assert statuses(sessions, "big.txt") == ["rejected", "rejected", "queued"]


def test_files_moved_or_deleted_before_they_settle_leave_no_rejected_rows(
        inbox_intake, tmp_path, caplog):
    """A folder renamed inside the inbox and then partly moved out, and a file its writer
    deletes: nothing of them was held, so none is a rejected document; the renamed files
    are taken in under their new names."""
    inbox, make, _, sessions = inbox_intake
    (inbox / "ren").mkdir()
    for k in range(500):
        (inbox / "ren" / f"{k}.txt").write_text(f"file {k}")
    (inbox / "brief.txt").write_text("deleted by its writer")
    watcher = make_watcher(inbox, make(), settle_ms=60_000)
    watcher.rescan()
    assert len(watcher.tracker.pending) == 501  # seen, none settled yet
    (inbox / "ren").rename(inbox / "ren2")
    (inbox / "brief.txt").unlink()
    watcher._on_event(str(watcher.inbox / "ren2"), time.monotonic())  # a folder moved in
    outside = tmp_path / "outside"
    outside.mkdir()
    for k in range(250):
        (inbox / "ren2" / f"{k}.txt").rename(outside / f"{k}.txt")
    with caplog.at_level(logging.INFO, logger="worker.intake"):
        while watcher.take_ready(time.monotonic() + 120):
            pass
    assert rows_by_path(sessions) == {f"ren2/{k}.txt": 1 for k in range(250, 500)}
    records = [r for r in caplog.records if r.name == "worker.intake"]
    assert all(r.levelno == logging.INFO for r in records)
    said = [r.getMessage() for r in records]
    assert sum(int(m.split()[0]) if m[0].isdigit() else 1 for m in said) == 751, said
    assert len(said) < 20  # summary lines, not one per file


def test_a_read_error_that_may_pass_rejects_nothing_and_the_file_is_read_again(
        inbox_intake, monkeypatch, caplog):
    import errno

    inbox, make, _, sessions = inbox_intake
    (inbox / "a.txt").write_text("alpha")
    (inbox / "b.txt").write_text("beta")
    fail_reads_of(monkeypatch, "a.txt", [errno.EMFILE, errno.EIO])
    watcher = make_watcher(inbox, make())
    watcher.rescan()
    with caplog.at_level(logging.WARNING, logger="worker.intake"):
        for _ in range(3):  # later each time: a deferred file waits a moment
            watcher.take_ready(time.monotonic() + 60)
    assert rows_by_path(sessions) == {"a.txt": 1, "b.txt": 1}
    assert statuses(sessions, "a.txt") == ["queued"]
    assert (inbox / "a.txt").exists() and not (inbox.parent / "data" / "rejected").exists()
    warned = [r.getMessage() for r in caplog.records if "for now" in r.getMessage()]
    assert len(warned) == 2 and "Too many open files" in warned[0], warned


def test_a_file_unreadable_for_now_waits_longer_at_each_failure(inbox_intake, monkeypatch):
    import errno

    inbox, make, _, sessions = inbox_intake
    (inbox / "a.txt").write_text("alpha")
    fail_reads_of(monkeypatch, "a.txt", [errno.EIO] * 12)
    watcher = make_watcher(inbox, make())
    watcher.rescan()
    waits = []
    for _ in range(12):
        watcher.take_ready(time.monotonic() + 10_000)
        [(_, since)] = watcher.tracker.pending.values()
        waits.append(round(since - time.monotonic()))
    assert waits[:4] == [2, 4, 8, 16] and waits[-1] == watcher_module.DEFERRED_MAX_WAIT_S
    watcher.take_ready(time.monotonic() + 10_000)
    assert statuses(sessions, "a.txt") == ["queued"]


def test_files_unreadable_for_now_in_several_batches_each_wait_longer(
        inbox_intake, monkeypatch):
    import errno

    from worker.intake import Intake
    from worker.settings import Settings

    inbox, _, _, sessions = inbox_intake
    for name in ("a.txt", "b.txt"):
        (inbox / name).write_text(name)
        fail_reads_of(monkeypatch, name, [errno.EIO] * 4)
    intake = Intake(Settings(data_dir=inbox.parent / "data", inbox=inbox), sessions,
                    lambda ids: None)
    watcher = make_watcher(inbox, intake, batch_size=1)  # one batch each
    watcher.rescan()
    for _ in range(4):
        watcher.take_ready(time.monotonic() + 10_000)
    assert watcher._deferrals == {str(inbox / "a.txt"): 4, str(inbox / "b.txt"): 4}


def test_a_file_deleted_while_it_waits_after_a_failed_read_is_forgotten(
        inbox_intake, monkeypatch):
    import errno

    inbox, make, _, _ = inbox_intake
    (inbox / "a.txt").write_text("alpha")
    fail_reads_of(monkeypatch, "a.txt", [errno.EIO])
    watcher = make_watcher(inbox, make())
    watcher.rescan()
    watcher.take_ready(time.monotonic() + 1)
    assert watcher._deferrals == {str(inbox / "a.txt"): 1}
    (inbox / "a.txt").unlink()
    watcher.tracker.observe(inbox / "a.txt", time.monotonic())  # as its delete event does
    (inbox / "b.txt").write_text("beta")
    fail_reads_of(monkeypatch, "b.txt", [errno.EIO])
    watcher.rescan()
    watcher.take_ready(time.monotonic() + 1)
    assert watcher._deferrals == {str(inbox / "b.txt"): 1}


def test_a_read_error_that_cannot_pass_rejects_the_file(inbox_intake, monkeypatch):
    import errno

    inbox, make, _, sessions = inbox_intake
    (inbox / "a.txt").write_text("alpha")
    fail_reads_of(monkeypatch, "a.txt", [errno.EACCES])
    take_all(make_watcher(inbox, make()))
    assert statuses(sessions, "a.txt") == ["rejected"]


def test_a_waiting_file_whose_folder_became_a_file_is_gone_and_the_watcher_goes_on(
        inbox_intake):
    inbox, make, _, sessions = inbox_intake
    (inbox / "sub").mkdir()
    (inbox / "sub" / "a.txt").write_text("alpha")
    (inbox / "b.txt").write_text("beta")
    watcher = make_watcher(inbox, make())
    watcher.rescan()  # both wait to settle
    shutil.rmtree(inbox / "sub")
    (inbox / "sub").write_text("a file now")
    watcher.take_ready(time.monotonic() + 1)
    assert rows_by_path(sessions) == {"b.txt": 1}
    take_all(watcher)
    assert rows_by_path(sessions) == {"b.txt": 1, "sub": 1}


def test_a_waiting_file_replaced_by_a_folder_is_gone_and_the_folder_is_not_moved(
        inbox_intake):
    inbox, make, _, sessions = inbox_intake
    (inbox / "x").write_text("a file first")
    watcher = make_watcher(inbox, make())
    watcher.rescan()
    (inbox / "x").unlink()
    (inbox / "x").mkdir()
    (inbox / "x" / "late.txt").write_text("written into the new folder")
    watcher.take_ready(time.monotonic() + 1)
    take_all(watcher)
    assert rows_by_path(sessions) == {"x/late.txt": 1}
    assert (inbox / "x" / "late.txt").exists()
    assert not (inbox.parent / "data" / "rejected").exists()


def _intake_after(inbox, sessions, after: str):
    from worker.intake import Intake
    from worker.settings import AfterIntake, Settings

    settings = Settings(data_dir=inbox.parent / "data", inbox=inbox,
                        after_intake=AfterIntake(after))
    return Intake(settings, sessions, lambda ids: None)


@pytest.mark.parametrize("after", ["move", "delete"])
def test_a_file_taken_in_but_not_yet_moved_or_deleted_is_on_the_next_start(
        inbox_intake, monkeypatch, after):
    from worker.intake import Intake

    inbox, _, reads, sessions = inbox_intake
    (inbox / "a.txt").write_text("alpha")
    # newsdrop stops between the commit and the move
    after_commit = Intake._after_commit
    monkeypatch.setattr(Intake, "_after_commit", lambda self, r, o: None)
    stopped = make_watcher(inbox, _intake_after(inbox, sessions, after))
    stopped.rescan()
    stopped.take_ready(time.monotonic() + 1)
    assert (inbox / "a.txt").exists() and rows_by_path(sessions) == {"a.txt": 1}
    monkeypatch.setattr(Intake, "_after_commit", after_commit)
    take_all(make_watcher(inbox, _intake_after(inbox, sessions, after)))
    assert not (inbox / "a.txt").exists()
    assert rows_by_path(sessions) == {"a.txt": 1} and len(reads) == 2
    archived = inbox.parent / "data" / "archive" / "a.txt"
    assert archived.exists() == (after == "move")


def test_a_file_that_could_not_be_moved_after_intake_is_left_until_a_restart(
        inbox_intake, monkeypatch, caplog):
    import errno

    from worker import intake as intake_module

    inbox, _, reads, sessions = inbox_intake
    (inbox / "a.txt").write_text("alpha")
    move = intake_module.move_to_free_name

    def disk_full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(intake_module, "move_to_free_name", disk_full)
    watcher = make_watcher(inbox, _intake_after(inbox, sessions, "move"))
    with caplog.at_level(logging.WARNING, logger="worker.intake"):
        take_all(watcher)
        take_all(watcher)  # a rescan neither reads it again nor warns again
    assert len(reads) == 1
    assert len([r for r in caplog.records if "could not move" in r.getMessage()]) == 1
    monkeypatch.setattr(intake_module, "move_to_free_name", move)
    take_all(make_watcher(inbox, _intake_after(inbox, sessions, "move")))
    assert not (inbox / "a.txt").exists() and rows_by_path(sessions) == {"a.txt": 1}
    assert (inbox.parent / "data" / "archive" / "a.txt").read_text() == "alpha"
