import os
import signal
import threading

import pytest

from tests.conftest import wait_for
from worker import service


def test_a_stop_signal_stops_from_another_thread_than_the_one_it_interrupts():
    # `stop` sets Events whose lock the interrupted thread may hold: called in that
    # thread, it could deadlock
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    stopped_in: list[threading.Thread] = []
    try:
        service._stop_on_signals(lambda: stopped_in.append(threading.current_thread()))
        os.kill(os.getpid(), signal.SIGTERM)
        wait_for(lambda: stopped_in, 5, interval=0.01, message="stop called")
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
    assert stopped_in[0] is not threading.main_thread()


# ---------------------------------------------------------------- the worker supervisor

#: a stand-in for the worker: a child that lives until it is stopped (or the test ends)
LONG_SLEEP = ["sleep", "30"]


class _ContendedLock:
    """A lock that tells when someone has to wait for it."""

    def __init__(self, waiting: threading.Event) -> None:
        self._lock = threading.Lock()
        self.waiting = waiting

    def __enter__(self) -> None:
        if not self._lock.acquire(blocking=False):
            self.waiting.set()
            self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


class _PausedAfterLook(threading.Event):
    """`stopping`, as a supervisor's run() sees it: its first look answers as it found
    the event, but only once stop() has run, or waits for the start to finish."""

    def __init__(self, supervisor: "_StoppedWhileStarting") -> None:
        super().__init__()
        self.supervisor = supervisor
        self.looked = threading.Event()

    def is_set(self) -> bool:
        value = super().is_set()
        if threading.current_thread() is self.supervisor and not self.looked.is_set():
            self.looked.set()
            assert self.supervisor.stop_ran_or_waits.wait(10), "stop() never called"
        return value


class _StoppedWhileStarting(service.WorkerSupervisor):
    """A supervisor whose stop() comes between run()'s look at `stopping` and the start of
    its child: the interleaving that used to leave the child running."""

    def __init__(self) -> None:
        super().__init__(LONG_SLEEP, dict(os.environ))
        self.stop_ran_or_waits = threading.Event()
        self.stopping = _PausedAfterLook(self)
        self._starting = _ContendedLock(self.stop_ran_or_waits)

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            self.stop_ran_or_waits.set()

    def left_running(self) -> bool:
        """Whether a child outlived stop(); such a child is killed here."""
        child = self.child
        if child is None or child.poll() is not None:
            return False
        child.kill()
        child.wait()
        return True


def test_a_stop_while_the_supervisor_starts_its_worker_stops_that_worker():
    supervisor = _StoppedWhileStarting()
    supervisor.start()
    assert supervisor.stopping.looked.wait(10)
    supervisor.stop()
    # once stop() has returned, the supervisor has started its child or never will
    wait_for(lambda: supervisor.child is not None or not supervisor.is_alive(), 10,
             interval=0.01, message="the supervisor to start its child or end")
    assert not supervisor.left_running(), "stop() returned and left the worker running"
    supervisor.join(10)
    assert not supervisor.is_alive()
    assert supervisor.child is not None and supervisor.child.returncode == -signal.SIGTERM


def test_a_stop_before_the_supervisor_runs_starts_no_worker():
    supervisor = service.WorkerSupervisor(LONG_SLEEP, dict(os.environ))
    supervisor.stop()
    supervisor.start()
    supervisor.join(10)
    assert not supervisor.is_alive() and supervisor.child is None


def test_run_failing_right_after_starting_the_worker_leaves_no_worker(monkeypatch, tmp_path):
    from types import SimpleNamespace

    from worker.settings import Settings

    supervisors: list[_StoppedWhileStarting] = []

    def supervisor(_cmd: list[str], _env: dict[str, str]) -> _StoppedWhileStarting:
        supervisors.append(_StoppedWhileStarting())
        return supervisors[-1]

    def watch(_rt: object) -> None:
        raise RuntimeError("the watcher cannot start")

    monkeypatch.setattr(service, "WorkerSupervisor", supervisor)
    monkeypatch.setattr(service, "watch", watch)
    rt = SimpleNamespace(settings=Settings(data_dir=tmp_path, inbox=tmp_path / "inbox",
                                           broker_url="redis://127.0.0.1:6379/15"))
    with pytest.raises(RuntimeError, match="the watcher cannot start"):
        service.run_all(rt, concurrency=1)
    [started] = supervisors
    assert not started.left_running(), "`newsdrop run` failed and left its worker running"
    assert not started.is_alive()
    # stopped, not left to run its course
    assert started.child is not None and started.child.returncode == -signal.SIGTERM


@pytest.mark.parametrize(("loglevel", "banner"), [("INFO", True), ("DEBUG", True),
                                                   ("WARNING", False), ("error", False)])
def test_the_worker_prints_celerys_banner_only_at_info_or_more_verbose(monkeypatch, tmp_path,
                                                                  loglevel, banner):
    from tasks.celery_tasks import app
    from worker.settings import Settings

    argv: list[list[str]] = []
    monkeypatch.setattr(app, "worker_main", argv.append)
    rt = service.prepare(Settings(data_dir=tmp_path, inbox=tmp_path / "inbox"))
    service.worker(rt, concurrency=1, loglevel=loglevel)
    assert ("--quiet" not in argv[0]) == banner
    assert argv[0][argv[0].index("worker") + 1] == "--concurrency=1"


# ---------------------------------------------------------------- the inbox


def test_an_inbox_created_says_so_louder_when_it_was_named(tmp_path, monkeypatch, caplog):
    import logging

    from worker.settings import Settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEWSDROP_INBOX", raising=False)
    with caplog.at_level(logging.INFO, logger="worker.service"):
        service.make_inbox(Settings())  # the default ./inbox, on a first run
        service.make_inbox(Settings(inbox=tmp_path / "typo" / "inbx"))  # named, mistyped?
        service.make_inbox(Settings(inbox=tmp_path / "typo" / "inbx"))  # there now
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", f"created the inbox {tmp_path / 'inbox'}, which did not exist"),
        ("WARNING", f"created the inbox {tmp_path / 'typo' / 'inbx'}, which did not exist: "
                    "is that the folder meant?")]


@pytest.mark.parametrize("command", ["run", "watch"])
def test_an_inbox_that_cannot_be_made_is_refused_before_a_database_is(tmp_path, command):
    from click.testing import CliRunner

    from worker.cli import main

    (tmp_path / "a-file").write_text("not a folder")
    data = tmp_path / "newsdrop-data"
    result = CliRunner().invoke(main, ["--data-dir", str(data), command],
                                env={"NEWSDROP_INBOX": str(tmp_path / "a-file" / "inbox")})
    assert result.exit_code == 2, result.output
    assert "cannot create the inbox" in result.output
    assert not data.exists()
