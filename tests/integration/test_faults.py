"""Faults, on Redis + PostgreSQL: a killed worker, a flushed broker, a database outage.

Each test drops FILES articles, starts the worker once all are taken in, waits until the
first batch is being worked on, injects the fault while most documents are still in
flight, and then expects what DESIGN.md
promises: every document done, exactly one article each, nothing failed. Short leases
(NEWSDROP_LEASE_S=5, reconciled every second) let the watcher's reconciler recover
messages the fault lost within the test's time.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import redis
from sqlalchemy.engine import make_url

from tests.conftest import (
    DBProbe,
    Processes,
    child_pids,
    pid_alive,
    pipeline_env,
    wait_for,
)
from tests.integration import corpus
from tests.integration.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

FILES = 300
LEASE_S = 5
#: small batches: more messages in flight, so a fault always lands on some of them
BATCH_SIZE = 25
FINISH_TIMEOUT_S = 120


def _env(tmp_path: Path, database_url: str, broker_url: str) -> dict[str, str]:
    return pipeline_env(tmp_path, database_url=database_url, broker_url=broker_url,
                        lease_s=LEASE_S, reconcile_interval_s=1, batch_size=BATCH_SIZE,
                        rescan_interval_s=5,
                        # a batch must end inside its lease (settings refuse otherwise)
                        soft_time_limit_s=3, hard_time_limit_s=4)


def _start(processes: Processes, tmp_path: Path) -> tuple[Path, list[int]]:
    """The schema and the watcher; the worker starts in `_drop_and_wait_in_flight`."""
    inbox = (tmp_path / "inbox").resolve()
    inbox.mkdir()
    upgraded = processes.run("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    watcher = processes.start_watcher(inbox)
    return inbox, [watcher.pid]


def _drop_and_wait_in_flight(inbox: Path, probe: DBProbe, processes: Processes, *,
                             own_site: bool = False) -> int:
    """Drop FILES articles, start the worker once every one is taken in, and return as soon
    as a stage is running, with how many documents are unfinished.

    Every file is in the database first, so a fault lands on the stages, not on intake;
    and the worker starts only then, because one already running can finish most of the
    documents on a fast machine before the test sees them all taken in.
    """
    corpus.write_good(inbox, FILES, seed=99, own_site=own_site)
    wait_for(lambda: probe.total() >= FILES, 30, interval=0.02,
             message=lambda: f"all taken in; {probe.counts()}\n{processes.logs()}")
    # not `start_worker`, which waits for the worker's log: the database shows its first
    # claim sooner
    processes.start("worker", "worker", "-c", "2")
    wait_for(lambda: probe.counts().get("processing", 0) > 0, 60, interval=0.01,
             message=lambda: f"one being processed; {probe.counts()}\n{processes.logs()}")
    return probe.unfinished()


def _assert_all_done(probe: DBProbe, processes: Processes) -> None:
    wait_for(lambda: probe.all_terminal(FILES), FINISH_TIMEOUT_S, interval=0.5,
             message=lambda: f"all {FILES} documents terminal; {probe.counts()}\n"
                             f"{processes.logs()}")
    counts = probe.counts()
    failed = [d for d in probe.documents() if d.status != "done"]
    assert not failed, (
        f"documents not done: {[(d.id, d.status, d.last_error) for d in failed[:10]]} "
        f"({len(failed)} in all)")
    assert counts == {"done": FILES, "articles": FILES}, counts
    per_doc = probe.articles_per_document()
    assert len(per_doc) == FILES and set(per_doc.values()) == {1}


def _pool_children(worker_pid: int) -> list[int]:
    return [p for p in child_pids(worker_pid) if pid_alive(p)]


@pytest.mark.parametrize("kill", ["child", "group"])
def test_worker_killed_mid_run(kill: str, postgres_url: str, redis_url: str,
                               processes: Processes, tmp_path: Path, db_probe) -> None:
    """kill -9 of a pool child (the parent replaces it) or of the whole worker (a new one
    is started): the documents in hand come back, none is failed or stored twice."""
    processes.env = _env(tmp_path, postgres_url, redis_url)
    inbox, alive = _start(processes, tmp_path)
    probe: DBProbe = db_probe(postgres_url)

    in_flight = _drop_and_wait_in_flight(inbox, probe, processes)
    worker = processes.procs[-1]
    children = wait_for(lambda: _pool_children(worker.pid), 10, message="pool children")
    if kill == "child":
        for pid in children:
            os.kill(pid, signal.SIGKILL)
    else:
        worker.kill_group(signal.SIGKILL)
        worker.popen.wait(timeout=10)
        processes.start_worker(concurrency=2)
    assert in_flight >= FILES // 3, f"the kill came too late: only {in_flight} in flight"

    _assert_all_done(probe, processes)
    alive.append(processes.procs[-1].pid)
    for pid in alive:
        assert pid_alive(pid), f"process {pid} died\n{processes.logs()}"


def test_broker_flushed_mid_run(postgres_url: str, redis_url: str, processes: Processes,
                                tmp_path: Path, db_probe) -> None:
    """Redis loses every queued message (FLUSHDB): the reconciler re-enqueues from the
    database and everything finishes."""
    processes.env = _env(tmp_path, postgres_url, redis_url)
    inbox, _ = _start(processes, tmp_path)
    probe: DBProbe = db_probe(postgres_url)

    in_flight = _drop_and_wait_in_flight(inbox, probe, processes)
    client = redis.Redis.from_url(redis_url)
    queued_before = client.llen("newsdrop")
    # what was logged before the flush (the reconciler may have re-enqueued documents
    # that waited for the worker to start) does not count as the recovery
    logged_before = {p.log: len(p.text()) for p in processes.procs}
    client.flushdb()
    client.close()
    assert in_flight >= FILES // 3, f"the flush came too late: only {in_flight} in flight"
    assert queued_before > 0, "nothing was queued in Redis when it was flushed"

    _assert_all_done(probe, processes)
    log = "\n".join(p.text()[logged_before.get(p.log, 0):] for p in processes.procs)
    assert "reconciler re-enqueued" in log, "finished without the reconciler's help?"


OUTAGE_S = 4.0
#: flapping: the database goes away this often, for this long, this many times: blips
#: shorter than a batch, so one lands inside a batch and the batch goes on after it. The
#: whole spell (2.4 s) stays within the retry budget (NEWSDROP_RETRY_BASE_S=0.5 and 5
#: attempts: at least 3.75 s of backoff), so no document may run out of attempts.
FLAP_EVERY_S, FLAP_DOWN_S, FLAPS = 0.4, 0.03, 6


#: cut-read: connections cut as they read a site's known boilerplate, mid-batch
CUT_READS = 5


@pytest.mark.parametrize("shape", ["outage", "flapping", "cut-read"])
def test_database_outage_mid_run(shape: str, postgres_url: str, redis_url: str,
                                 processes: Processes, tmp_path: Path, db_probe) -> None:
    """PostgreSQL refuses connections (and drops open ones) mid-run, for a few seconds
    at once (`outage`) or in many short cuts (`flapping`): transient errors are retried
    and every document ends done.

    For `flapping`, each document names a site of its own, so the clean stage reads the
    database for each one (its site's known boilerplate) while the batch runs: a cut then
    lands between a batch's claim and its results, not only on whole transactions.
    `cut-read` makes that certain: the connection is cut exactly as such a read is sent.
    """
    url = make_url(postgres_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False)
        processes.env = _env(tmp_path, proxied, redis_url)
        if shape == "flapping":
            processes.env["NEWSDROP_RETRY_BASE_S"] = "0.5"
        inbox, alive = _start(processes, tmp_path)
        probe: DBProbe = db_probe(postgres_url)  # the test itself goes around the proxy

        if shape == "cut-read":
            proxy.cut_when_sent(b"FROM boilerplate_lines", CUT_READS)
        in_flight = _drop_and_wait_in_flight(inbox, probe, processes,
                                             own_site=shape != "outage")
        alive.append(processes.procs[-1].pid)  # the worker
        if shape == "outage":
            proxy.outage(OUTAGE_S)
        elif shape == "flapping":
            for _ in range(FLAPS):
                proxy.outage(FLAP_DOWN_S)
                time.sleep(FLAP_EVERY_S - FLAP_DOWN_S)
        assert in_flight >= FILES // 3, f"the outage came too late: {in_flight} in flight"

        if shape == "cut-read":
            wait_for(lambda: proxy.cut == CUT_READS, 30,
                     message=lambda: f"{CUT_READS} boilerplate reads cut, {proxy.cut} were")
        _assert_all_done(probe, processes)
        retried = [r for r in probe.stage_runs() if r.attempt > 1 or r.state == "retrying"]
        log = "\n".join(p.text() for p in processes.procs)
        assert retried or "Retry in" in log, (
            "the outage caused no retry at all: it missed the work in flight")
        for pid in alive:
            assert pid_alive(pid), f"process {pid} died in the outage\n{processes.logs()}"
