"""Shared fixtures: real Redis and PostgreSQL (cleaned around each test), SQLite in
tmp_path, and helpers that run newsdrop's processes and poll its database.

Services that are not reachable skip their tests locally and fail them under CI=true,
so a broken CI setup can never pass by skipping.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _unavailable(what: str, exc: BaseException) -> None:
    reason = f"{what} unavailable: {exc}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason + " (CI=true: services are required)")
    pytest.skip(reason)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    # kept on the item so fixtures can tell, at teardown, whether the test failed
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


# ---------------------------------------------------------------- services


#: Redis databases other tests and tools claim for themselves (test_monitor, bench/)
_REDIS_DBS_TAKEN = frozenset({0, 11, 14})


@contextlib.contextmanager
def _redis_db_lease(url: str) -> Iterator[str]:
    """The URL's Redis database, or the next one free if another test run on this machine
    holds it: two runs of this suite at once would otherwise flush, and consume, each
    other's messages. A file lock per database marks it taken."""
    import fcntl
    import tempfile

    from redis.connection import parse_url

    base, _, db = url.rpartition("/")
    parsed = parse_url(url)
    first = int(parsed.get("db", 0) or 0)
    candidates = [first] + [n for n in range(15, 0, -1)
                            if n != first and n not in _REDIS_DBS_TAKEN]
    host = f"{parsed.get('host', 'localhost')}-{parsed.get('port', 6379)}"
    for n in candidates:
        lock = Path(tempfile.gettempdir()) / f"newsdrop-test-redis-{host}-{n}.lock"
        fh = lock.open("a")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            continue
        try:
            yield f"{base}/{n}" if db.isdigit() else f"{url.rstrip('/')}/{n}"
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()
        return
    pytest.skip("every Redis test database is in use by other test runs")


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis database of its own, flushed before and after the test."""
    import redis

    with _redis_db_lease(os.environ.get("NEWSDROP_TEST_REDIS_URL", DEFAULT_REDIS_URL)) as url:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        try:
            client.ping()
        except redis.RedisError as exc:
            _unavailable(f"Redis at {url}", exc)
        client.flushdb()
        try:
            yield url
        finally:
            client.flushdb()
            client.close()


@contextlib.contextmanager
def fresh_postgres_database(prefix: str = "nd_test") -> Iterator[str]:
    """Create an empty PostgreSQL database, yield its URL, drop it afterwards (skip, or
    fail under CI=true, when the server cannot be reached)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    base = make_url(os.environ.get("NEWSDROP_TEST_DATABASE_URL", DEFAULT_DATABASE_URL))
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT",
                          connect_args={"connect_timeout": 3})
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        _unavailable(f"PostgreSQL at {base.render_as_string(hide_password=True)}", exc)
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test, dropped afterwards."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'newsdrop.db'}"


@pytest.fixture
def sessions(sqlite_url: str) -> Iterator[Any]:
    """A session factory on a migrated SQLite database in tmp_path."""
    from db import migrate
    from db.engine import make_engine, make_session_factory

    engine = make_engine(sqlite_url)
    migrate.upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


# ---------------------------------------------------------------- polling


class WaitTimeout(AssertionError):
    pass


def fail_reads_of(monkeypatch: pytest.MonkeyPatch, name: str, errnos: list[int]) -> None:
    """Intake's read of a file called `name` fails with each of `errnos` in turn, then
    works (the watcher's lease probe, which opens without O_CLOEXEC, is let through)."""
    real_open = os.open

    def open_(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if Path(path).name == name and flags & os.O_CLOEXEC and errnos:
            code = errnos.pop(0)
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_)


def wait_for(predicate: Callable[[], Any], timeout: float, *, interval: float = 0.2,
             message: str | Callable[[], str] = "condition") -> Any:
    """Poll `predicate` until it returns something truthy; fail with `message` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            text = message() if callable(message) else message
            raise WaitTimeout(f"timed out after {timeout:.0f}s waiting for: {text}")
        time.sleep(interval)


# ---------------------------------------------------------------- database


class DBProbe:
    """Reads newsdrop's tables directly, the way a person with `psql` would."""

    def __init__(self, url: str) -> None:
        from db.engine import make_engine

        self.url = url
        self.engine = make_engine(url)

    def close(self) -> None:
        self.engine.dispose()

    def _rows(self, sql: str, **params: Any) -> list[Any]:
        from sqlalchemy import text
        from sqlalchemy.exc import OperationalError, ProgrammingError

        try:
            with self.engine.connect() as conn:
                return list(conn.execute(text(sql), params))
        except (OperationalError, ProgrammingError):
            return []  # schema not created yet, or the database briefly away

    def counts(self) -> dict[str, int]:
        """Documents per status, plus `articles`."""
        out = {str(s): n for s, n in self._rows(
            "SELECT status, count(*) FROM documents GROUP BY status")}
        rows = self._rows("SELECT count(*) FROM articles")
        out["articles"] = rows[0][0] if rows else 0
        return out

    def total(self) -> int:
        rows = self._rows("SELECT count(*) FROM documents")
        return rows[0][0] if rows else 0

    def unfinished(self) -> int:
        rows = self._rows("SELECT count(*) FROM documents "
                          "WHERE status IN ('queued', 'processing')")
        return rows[0][0] if rows else 0

    def documents(self) -> list[Any]:
        return self._rows(
            "SELECT id, source_path, sha256, size_bytes, status, stage, stage_state, attempts,"
            " last_error, error_kind, duplicate_of, finished_at FROM documents ORDER BY id")

    def by_path(self) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        for d in self.documents():
            out.setdefault(d.source_path, []).append(d)
        return out

    def articles_per_document(self) -> dict[int, int]:
        return {i: n for i, n in self._rows(
            "SELECT document_id, count(*) FROM articles GROUP BY document_id")}

    def stage_runs(self) -> list[Any]:
        return self._rows("SELECT document_id, stage, attempt, state, error, error_kind "
                          "FROM stage_runs ORDER BY id")

    def last_finished_at(self) -> Any:
        rows = self._rows("SELECT max(finished_at) FROM documents")
        return rows[0][0] if rows else None

    def all_terminal(self, expected_total: int) -> bool:
        return self.total() >= expected_total and self.unfinished() == 0


@pytest.fixture
def db_probe() -> Iterator[Callable[[str], DBProbe]]:
    made: list[DBProbe] = []

    def make(url: str) -> DBProbe:
        probe = DBProbe(url)
        made.append(probe)
        return probe

    yield make
    for p in made:
        p.close()


# ---------------------------------------------------------------- processes


def child_pids(pid: int) -> list[int]:
    """Direct children of `pid` (Linux /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: fields follow the last ')'
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            out.append(int(entry))
    return sorted(out)


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rfind(")") + 2:].split()[0] != "Z"


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    started: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def text(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def kill_group(self, sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)


def _base_env() -> dict[str, str]:
    """This process's environment without NEWSDROP_* settings, which would leak into the
    processes under test (the NEWSDROP_TEST_* service locations are kept)."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith("NEWSDROP_") or k.startswith("NEWSDROP_TEST_")}


class Processes:
    """Starts `python -m worker …` processes with one environment, logs each to a file,
    and always stops them (whole process groups) at teardown."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.env = env
        self.procs: list[Proc] = []

    def _env(self, extra: dict[str, str] | None) -> dict[str, str]:
        env = {**_base_env(), **self.env, **(extra or {}), "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
        return env

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> Proc:
        log = self.tmp_path / f"{name}.{len(self.procs)}.log"
        full_env = self._env(env)
        with log.open("wb") as fh:
            popen = subprocess.Popen(
                [sys.executable, "-m", "worker", *args], cwd=self.tmp_path, env=full_env,
                stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def run(self, *args: str, timeout: float = 120,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run one CLI command to completion (not a long-running process)."""
        full_env = self._env(env)
        return subprocess.run([sys.executable, "-m", "worker", *args], cwd=self.tmp_path,
                              env=full_env, capture_output=True, text=True, timeout=timeout)

    def start_watcher(self, inbox: Path) -> Proc:
        proc = self.start("watch", "watch", str(inbox))
        self.wait_log(proc, "watching ", 30)
        return proc

    def start_worker(self, concurrency: int = 2) -> Proc:
        proc = self.start("worker", "worker", "-c", str(concurrency))
        self.wait_log(proc, " ready.", 60)
        return proc

    def wait_log(self, proc: Proc, needle: str, timeout: float) -> None:
        def seen() -> bool:
            if not proc.alive():
                raise AssertionError(f"{proc.name} exited with {proc.popen.returncode} "
                                     f"before logging {needle!r}\n{self.logs()}")
            return needle in proc.text()

        wait_for(seen, timeout, message=lambda: f"{proc.name} to log {needle!r}\n{self.logs()}")

    def logs(self, tail: int = 60) -> str:
        parts = []
        for p in self.procs:
            lines = p.text().splitlines()
            state = "running" if p.alive() else f"exited {p.popen.returncode}"
            parts.append(f"----- {p.name} (pid {p.pid}, {state}), last {tail} lines "
                         f"of {len(lines)} -----")
            parts.extend(lines[-tail:])
        return "\n".join(parts)

    def stop_all(self) -> None:
        for p in self.procs:
            if p.alive():
                p.kill_group(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for p in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            # the group may hold pool children even when its leader is gone
            p.kill_group(signal.SIGKILL)
            if p.popen.poll() is None:
                p.popen.wait(timeout=5)


@pytest.fixture
def processes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Processes]:
    """Start newsdrop processes with `processes.env`; stopped and their logs printed
    (on failure) at teardown.

    Request it after `redis_url`/`postgres_url`, so that the processes stop before their
    Redis database is flushed and released and their PostgreSQL database dropped."""
    procs = Processes(tmp_path, {})
    yield procs
    procs.stop_all()
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        print(f"\n{procs.logs(tail=200)}")


def pipeline_env(tmp_path: Path, *, database_url: str | None, broker_url: str | None,
                 **extra: object) -> dict[str, str]:
    """NEWSDROP_* for test processes: short settle and backoff, data in tmp_path."""
    env = {
        "NEWSDROP_DATA_DIR": str(tmp_path / "data"),
        "NEWSDROP_INBOX": str(tmp_path / "inbox"),
        "NEWSDROP_SETTLE_MS": "50",
        "NEWSDROP_DEBOUNCE_MS": "50",
        "NEWSDROP_RETRY_BASE_S": "0.2",
        "NEWSDROP_RETRY_MAX_S": "2",
    }
    if database_url:
        env["NEWSDROP_DATABASE_URL"] = database_url
    if broker_url:
        env["NEWSDROP_BROKER_URL"] = broker_url
    env.update({f"NEWSDROP_{k.upper()}": str(v) for k, v in extra.items()})
    return env
