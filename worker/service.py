"""Starting newsdrop's long-running parts: watcher, worker, or both in one command."""

from __future__ import annotations

import importlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from db import migrate
from worker import runtime
from worker.celery_app import QUEUE, configure
from worker.intake import Intake
from worker.reconciler import ReconcilerThread
from worker.settings import (
    DATA_DIR_SETTING,
    INBOX_SETTING,
    Settings,
    SettingsError,
    make_folder,
    shown_broker_url,
)
from worker.watcher import Watcher, events_fire
from worker.wording import counted

log = logging.getLogger(__name__)


def prepare(settings: Settings, *, migrate_schema: bool = True) -> runtime.Runtime:
    """Make this process's runtime: data folder, schema at head, Celery configured."""
    make_folder(settings.data_dir, "data folder", DATA_DIR_SETTING)
    rt = runtime.init(settings)
    if migrate_schema:
        current = migrate.current_revision(rt.engine)
        if current != migrate.head_revision():
            migrate.check_not_newer(current)  # before saying it upgrades what it cannot
            if current is not None:
                log.info("upgrading database schema to %s", migrate.head_revision())
            migrate.upgrade(rt.engine)
            if current is None:
                # said plainly: a command run from another folder starts a database of its
                # own there (the data folder is relative), which is seldom what was meant
                where = rt.engine.url.render_as_string(hide_password=True)
                log.info("created a new, empty database at %s" if rt.engine.dialect.name ==
                         "sqlite" else "created newsdrop's tables in %s", where)
    from tasks.celery_tasks import app

    configure(app, settings)
    return rt


def make_inbox(settings: Settings) -> None:
    """Create the inbox where there is none, and say so: at WARNING where it was named
    (a mistyped name would otherwise be watched, empty, for ever), else at INFO."""
    if make_folder(settings.inbox, "inbox", INBOX_SETTING):
        named = "inbox" in settings.model_fields_set
        log.log(logging.WARNING if named else logging.INFO,
                "created the inbox %s, which did not exist%s", settings.inbox.resolve(),
                ": is that the folder meant?" if named else "")


def enqueue(ids: list[int]) -> None:
    """Send document ids to the workers (imported late: Celery is slow to import)."""
    from tasks.celery_tasks import enqueue as send

    send(ids)


def make_intake(rt: runtime.Runtime, settings: Settings | None = None, *,
                root: Path | None = None, move_rejected: bool = True) -> Intake:
    """An Intake; `root` is the folder files must really lie in (default: the inbox)."""
    return Intake(settings or rt.settings, rt.sessions, enqueue, root=root,
                  move_rejected=move_rejected)


@contextmanager
def reconciling(rt: runtime.Runtime) -> Iterator[ReconcilerThread]:
    thread = ReconcilerThread(rt.sessions, rt.settings.lease_s,
                              rt.settings.reconcile_interval_s, enqueue)
    thread.start()
    try:
        yield thread
    finally:
        thread.stop()


def watch(rt: runtime.Runtime, *, check_events: bool = True) -> None:
    """Watch the inbox until SIGINT/SIGTERM, reconciling leases alongside."""
    s = rt.settings
    s.check_folders()  # an inbox holding the data folder would feed on itself
    inbox = s.inbox.resolve()
    make_inbox(s)
    poll = s.poll
    if check_events and not poll and events_fire(inbox) is False:
        log.warning("no file events arrive from %s (a network share?); polling every %d ms "
                    "instead (set NEWSDROP_POLL=true to skip this check)", inbox,
                    s.poll_interval_ms)
        poll = True
    check_broker(rt.settings, warn=True)
    watcher = Watcher(inbox, make_intake(rt), settle_ms=s.settle_ms, debounce_ms=s.debounce_ms,
                      rescan_interval_s=s.rescan_interval_s, poll=poll,
                      poll_interval_ms=s.poll_interval_ms, batch_size=s.batch_size)
    _stop_on_signals(watcher.stop)
    log.info("watching %s (%s)", inbox, "polling" if poll else "file events")
    with reconciling(rt):
        watcher.run()
    log.info("watcher stopped after taking in %s", counted(watcher.taken_count, "file"))


#: what the stages load, imported by the worker before its pool forks: children then
#: share those pages and skip the imports (about 50 ms) in their first batch; throughput
#: over a burst measured the same either way
STAGE_MODULES = ("tasks.clean", "tasks.extract", "tasks.html", "bs4.dammit",
                 "charset_normalizer")


def check_broker(settings: Settings, *, warn: bool) -> None:
    """Refuse a broker that answers but refuses the URL's database or login, which no
    retry mends; with `warn`, say so at once of one that cannot be reached (files are
    still taken in, stored as queued, and sent once it answers)."""
    from worker.broker import broker_error, refusal, refused

    error = broker_error()
    if error is None:
        return
    where = shown_broker_url(settings.resolved_broker_url)
    answer = refusal(error)
    if answer:
        raise SettingsError(refused(f" at {where}", answer))
    if warn:
        log.warning("cannot reach the broker at %s (%s): files are still taken in, stored as "
                    "queued, and sent once it answers", where, error)


def worker(rt: runtime.Runtime, *, concurrency: int, loglevel: str = "INFO") -> None:
    """Run a Celery worker in this process (prefork pool) until stopped."""
    from tasks.celery_tasks import app

    # Celery says itself that it cannot connect, and tries again until it can
    check_broker(rt.settings, warn=False)
    for module in STAGE_MODULES:
        importlib.import_module(module)
    n = concurrency or rt.settings.concurrency or os.cpu_count() or 1
    # quieter than INFO (warning, error), Celery's start-up banner is as unwanted as the
    # rest of its chatter
    quiet = ["--quiet"] if logging.getLevelName(loglevel.upper()) > logging.INFO else []
    app.worker_main([
        *quiet, "worker", f"--concurrency={n}", f"--loglevel={loglevel}", f"--queues={QUEUE}",
        "--without-gossip", "--without-mingle", "--pool=prefork",
        f"--hostname=newsdrop-{os.getpid()}@%h",
    ])


#: a worker child that exits on its own is restarted after this long, doubling to the max
RESTART_DELAY_S, RESTART_DELAY_MAX_S = 1.0, 30.0


class WorkerSupervisor(threading.Thread):
    """Keeps one `newsdrop worker` child running for `newsdrop run`, restarting it if it
    dies (killed, out of memory, a broker error it could not recover from)."""

    def __init__(self, cmd: list[str], env: dict[str, str]) -> None:
        super().__init__(name="newsdrop-worker-supervisor", daemon=True)
        self.cmd, self.env = cmd, env
        self.stopping = threading.Event()
        self.child: subprocess.Popen[bytes] | None = None
        # held from the look at `stopping` until `child` is set: a stop() in between
        # would find no child, and the one started next would never be stopped
        self._starting = threading.Lock()

    def run(self) -> None:
        delay = RESTART_DELAY_S
        while True:
            with self._starting:
                if self.stopping.is_set():
                    return
                started = time.monotonic()
                child = self.child = subprocess.Popen(self.cmd, env=self.env)
            code = child.wait()
            if self.stopping.is_set():
                return
            if time.monotonic() - started > RESTART_DELAY_MAX_S:
                delay = RESTART_DELAY_S  # it ran fine for a while: not a crash loop
            log.error("worker exited with %s; restarting it in %.0f s", code, delay)
            self.stopping.wait(delay)
            delay = min(delay * 2, RESTART_DELAY_MAX_S)

    def stop(self) -> None:
        self.stopping.set()
        # once run() lets go of the lock, it either has started its child, which is
        # stopped here, or will see `stopping` and start none
        with self._starting:
            child = self.child
        if child is None or child.poll() is not None:
            return
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()


def run_all(rt: runtime.Runtime, *, concurrency: int, loglevel: str = "INFO") -> int:
    """`newsdrop run`: a supervised worker child process plus the watcher in this one."""
    from worker.cli.app import CHILD_OPTION  # the child's settings were checked here

    check_broker(rt.settings, warn=False)  # before a worker child is started to fail on it
    cmd = [sys.executable, "-m", "worker", f"--log-level={loglevel}", CHILD_OPTION, "worker"]
    if concurrency:
        cmd.append(f"--concurrency={concurrency}")
    if rt.settings.uses_embedded_broker:
        # Only this machine's workers use the embedded broker, and none is running yet:
        # whatever was in flight when newsdrop last stopped is resumed now, not after
        # a lease.
        from worker.reconciler import reconcile

        reconcile(rt.sessions, 0, enqueue, at_start=True)
    supervisor = WorkerSupervisor(cmd, {**os.environ, **_settings_env(rt.settings)})
    supervisor.start()
    try:
        watch(rt)
    finally:
        supervisor.stop()
        supervisor.join(timeout=35)
    return 0


def _settings_env(settings: Settings) -> dict[str, str]:
    """Pass resolved locations on, so the child sees what this process was told."""
    return {
        "NEWSDROP_DATA_DIR": str(settings.data_dir.resolve()),
        "NEWSDROP_INBOX": str(settings.inbox.resolve()),
        "NEWSDROP_DATABASE_URL": settings.resolved_database_url,
        "NEWSDROP_BROKER_URL": settings.resolved_broker_url,
    }


def _stop_on_signals(stop: Callable[[], None]) -> None:
    def stopping(signum: int) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop()

    def handler(signum: int, _frame: object) -> None:
        # The handler interrupts the main thread wherever it is, possibly holding the lock
        # of the very Event that `stop` sets (inside a wait or a clear): set from another
        # thread, it waits for that lock instead of deadlocking on it.
        threading.Thread(target=stopping, args=(signum,), name="newsdrop-stop",
                         daemon=True).start()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def wait_until_done(rt: runtime.Runtime, ids: list[int], *, timeout_s: float | None,
                    on_progress: Callable[[int], None] | None = None) -> bool:
    """Poll until every id is terminal; False if `timeout_s` ran out first.

    Each poll asks only about the ids not yet seen terminal, so polling a large drop costs
    less as it finishes; an id counts as finished once seen terminal (a document
    requeued later by `reprocess` or `retry` is not waited for again).
    """
    from db.engine import reading
    from db.queries import unfinished_of

    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    pending = list(ids)
    while True:
        with reading(rt.sessions) as session:
            pending = unfinished_of(session, pending)
        if on_progress is not None:
            on_progress(len(ids) - len(pending))
        if not pending:
            return True
        if deadline is not None and time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def folder_files(paths: list[Path]) -> list[Path]:
    """Files named, and files below folders named, skipping temporary/hidden names
    (and everything inside hidden folders)."""
    from worker.intake import is_ignored_name
    from worker.watcher import scan

    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(scan(p)))
        elif not is_ignored_name(p):
            out.append(p)
    return out
