"""`newsdrop status`: figures from the database, the broker asked with a short timeout,
and the live view's throughput history."""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import timedelta

import pytest
from click.testing import CliRunner

from db.engine import transaction
from db.models import Stage, StageRun, StageState, utcnow
from tests.db.test_search import add_article
from worker.broker import broker_error, refusal
from worker.cli import main
from worker.monitor import (
    ThroughputHistory,
    collect_status,
    queue_depth,
    render_live,
    render_status,
    watch_status,
    workers_online,
)
from worker.service import check_broker, prepare
from worker.settings import SettingsError, load_settings


def drop_broker_connections() -> None:
    """Forget connections to a broker configured earlier in this process (a real process
    configures its broker once; these tests switch between several)."""
    from tasks.celery_tasks import app

    app.close()
    app.amqp._producer_pool = None


def reset_broker(tmp_path) -> None:
    prepare(load_settings(data_dir=tmp_path / "data"))  # back to the embedded broker
    drop_broker_connections()


@pytest.fixture
def rt(tmp_path):
    """A runtime on a fresh SQLite database with the embedded broker."""
    runtime = prepare(load_settings(data_dir=tmp_path / "data"))
    now = utcnow()
    with transaction(runtime.sessions) as s:
        for i in range(3):
            doc_id = add_article(s, title=f"Article {i}", body="words " * 20)
            for stage, ms in ((Stage.CLEAN, 10 * (i + 1)), (Stage.EXTRACT, 100)):
                s.add(StageRun(document_id=doc_id, stage=stage, attempt=1,
                               state=StageState.SUCCEEDED, started_at=now,
                               finished_at=now + timedelta(milliseconds=ms), duration_ms=ms))
        # a run from long ago is outside the 15-minute window
        s.add(StageRun(document_id=doc_id, stage=Stage.PERSIST, attempt=1,
                       state=StageState.SUCCEEDED, started_at=now - timedelta(hours=2),
                       finished_at=now - timedelta(hours=2), duration_ms=5))
    yield runtime
    runtime.engine.dispose()
    drop_broker_connections()


def test_status_counts_and_stage_durations(rt):
    data = collect_status(rt)
    assert data["documents"]["done"] == 3
    assert data["stage_durations_ms"]["clean"] == {"runs": 3, "avg_ms": 20.0, "p95_ms": 30.0}
    assert data["stage_durations_ms"]["extract"]["avg_ms"] == 100.0
    assert data["stage_durations_ms"]["persist"] == {"runs": 0, "avg_ms": None, "p95_ms": None}
    assert data["queue_depth"] == {"newsdrop": 0}  # the embedded broker answers


def test_stage_run_counts_are_true_and_each_stage_gets_its_own_sample(tmp_path):
    from db.queries import stage_durations

    runtime = prepare(load_settings(data_dir=tmp_path / "data"))
    now = utcnow()
    try:
        with transaction(runtime.sessions) as s:
            doc_id = add_article(s, title="Busy", body="words")
            # 30 recent clean runs, then 5 older extract runs: a sample of the 10 latest
            # runs of any stage would see clean alone, and 10 of its 30
            for n in range(30):
                s.add(StageRun(document_id=doc_id, stage=Stage.CLEAN, attempt=1,
                               state=StageState.SUCCEEDED, started_at=now,
                               finished_at=now - timedelta(seconds=n), duration_ms=n))
            for n in range(5):
                s.add(StageRun(document_id=doc_id, stage=Stage.EXTRACT, attempt=1,
                               state=StageState.SUCCEEDED, started_at=now,
                               finished_at=now - timedelta(minutes=5, seconds=n),
                               duration_ms=100 + n))
        with transaction(runtime.sessions) as s:
            durations = stage_durations(s, sample=10)
    finally:
        runtime.engine.dispose()
    assert durations["clean"]["runs"] == 30 and durations["clean"]["avg_ms"] == 14.5
    assert durations["clean"]["p95_ms"] == 9.0  # of its 10 latest runs (0-9 ms)
    assert durations["extract"] == {"runs": 5, "avg_ms": 102.0, "p95_ms": 104.0}


def test_run_time_line_counts_in_words_and_leaves_persist_out():
    from worker.monitor import render_status

    status = {"documents": {"done": 1}, "queue_depth": {"newsdrop": 0}, "workers": [],
              "active_by_stage": {}, "throughput_per_s": {}, "latency_s": {"p50": None},
              "oldest_unfinished_age_s": None, "recent_failures": [],
              "stage_durations_ms": {
                  "clean": {"runs": 1, "avg_ms": 9.996, "p95_ms": 99.96},
                  "extract": {"runs": 3457, "avg_ms": 0.14, "p95_ms": 0.31},
                  "persist": {"runs": 3458, "avg_ms": 0.0, "p95_ms": 0.0}}}
    [line] = [ln for ln in render_status(status).splitlines() if ln.startswith("run time")]
    # to about three digits: a sub-millisecond stage keeps its hundredths
    # (a value is printed to the digits it has once rounded: 9.996 is "10.0", not "10.00")
    assert line == ("run time   clean avg 10.0 ms p95 100 ms (1 run), extract avg 0.14 ms "
                    "p95 0.31 ms (3457 runs) in the last 15 min")


def test_latency_line_says_it_counts_from_when_the_pass_was_queued():
    from worker.monitor import render_status

    status = {"documents": {"done": 1}, "queue_depth": {"newsdrop": 0}, "workers": [],
              "active_by_stage": {}, "throughput_per_s": {},
              "latency_s": {"p50": 0.058, "p95": 0.07}, "oldest_unfinished_age_s": None,
              "recent_failures": [], "stage_durations_ms": {}}
    [line] = [ln for ln in render_status(status).splitlines() if ln.startswith("latency")]
    assert line == "latency    queued-to-done p50 0.058 s, p95 0.07 s"


@pytest.mark.parametrize(("depth", "said"), [(4, "4 batches"), (1, "1 batch"),
                                             (None, "unknown")])
def test_the_queue_line_counts_batches_not_documents(depth, said):
    from worker.monitor import render_status

    status = {"documents": {"queued": 280}, "queue_depth": {"newsdrop": depth},
              "workers": [], "active_by_stage": {}, "throughput_per_s": {},
              "latency_s": {"p50": None}, "oldest_unfinished_age_s": None,
              "recent_failures": [], "stage_durations_ms": {}}
    assert render_status(status).splitlines()[1] == f"queue      newsdrop: {said} waiting"


def test_status_json_keeps_its_keys(rt, tmp_path):
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path / "data"), "status", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {"documents", "active_by_stage", "throughput_per_s", "latency_s",
            "oldest_unfinished_age_s", "recent_failures", "queue_depth", "workers",
            "stage_durations_ms", "broker_error"} <= set(data)


def test_status_with_a_dead_broker_says_unknown_quickly(tmp_path):
    runtime = prepare(load_settings(data_dir=tmp_path / "data",
                                    broker_url="redis://127.0.0.1:9/0"))
    try:
        started = time.monotonic()
        data = collect_status(runtime)
        assert time.monotonic() - started < 10
        assert data["queue_depth"] == {"newsdrop": None}
        assert data["workers"] is None
        # the client's words say why, on the workers line too
        assert "127.0.0.1:9" in data["broker_error"]
        workers_line = render_status(data).splitlines()[2]
        assert workers_line == f"workers    unknown (cannot ask the broker: {data['broker_error']})"
    finally:
        runtime.engine.dispose()
        reset_broker(tmp_path)


def test_status_says_why_when_the_embedded_broker_cannot_carry_a_ping(rt, tmp_path):
    # Given an embedded broker whose ping reply file cannot be opened (as for a person
    # who may read the data folder but not write to it)
    reply = tmp_path / "data" / "broker" / "control" / "reply.celery.pidbox.exchange"
    reply.unlink(missing_ok=True)
    reply.mkdir(parents=True)

    data = collect_status(rt)

    # Then the workers are unknown, and the line says why, rather than the command failing
    assert data["workers"] is None
    assert data["broker_error"] == f"Cannot open {reply}: Is a directory"
    assert f"workers    unknown (cannot ask the broker: Cannot open {reply}: " \
        "Is a directory)" in render_status(data)


@pytest.mark.redis
def test_a_redis_database_the_server_does_not_have_is_a_refusal_to_fix(tmp_path, redis_url):
    """Redis answers, but has no such database: no retry mends that, and status says so."""
    beyond = redis_url.rsplit("/", 1)[0] + "/99999"
    runtime = prepare(load_settings(data_dir=tmp_path / "data", broker_url=beyond))
    drop_broker_connections()
    try:
        assert refusal(broker_error() or "") == "DB index is out of range"
        data = collect_status(runtime)
        assert render_status(data).splitlines()[2] == (
            "workers    unknown (the broker refuses: DB index is out of range: fix "
            "NEWSDROP_BROKER_URL (or --broker-url))")
        with pytest.raises(SettingsError,
                           match="refuses: DB index is out of range: fix NEWSDROP_BROKER_URL"):
            check_broker(runtime.settings, warn=True)  # watch, worker and run start so
    finally:
        runtime.engine.dispose()
        reset_broker(tmp_path)


@pytest.fixture
def redis_with_a_password(tmp_path):
    """A Redis server of this test's own that asks for the password "right"."""
    import shutil
    import socket
    import subprocess

    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is not installed (.ci/run installs it)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1",
                             "--requirepass", "right", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.redis
@pytest.mark.parametrize(("password", "answer"), [
    ("", "Authentication required"),  # none given where one is required
    (":wrong@", "invalid username-password pair or user is disabled"),
])
def test_a_missing_or_wrong_redis_password_is_a_refusal_to_fix(tmp_path, redis_with_a_password,
                                                              password, answer):
    url = f"redis://{password}127.0.0.1:{redis_with_a_password}/0"
    runtime = prepare(load_settings(data_dir=tmp_path / "data", broker_url=url))
    drop_broker_connections()
    try:
        assert refusal(broker_error() or "") == answer
        with pytest.raises(SettingsError, match=f"refuses: {answer}"):
            check_broker(runtime.settings, warn=False)
    finally:
        runtime.engine.dispose()
        reset_broker(tmp_path)


def test_an_unreachable_broker_at_watch_start_is_a_warning_not_an_error(tmp_path, caplog):
    runtime = prepare(load_settings(data_dir=tmp_path / "data",
                                    broker_url="redis://127.0.0.1:1/0"))
    drop_broker_connections()
    try:
        with caplog.at_level(logging.WARNING, logger="worker.service"):
            check_broker(runtime.settings, warn=True)
            check_broker(runtime.settings, warn=False)  # the worker: Celery says so itself
        [record] = [r for r in caplog.records if r.name == "worker.service"]
        assert record.getMessage().startswith(
            "cannot reach the broker at redis://127.0.0.1:1/0 (")
        assert "files are still taken in, stored as queued" in record.getMessage()
    finally:
        runtime.engine.dispose()
        reset_broker(tmp_path)


def test_broker_questions_answer_none_when_nothing_listens(tmp_path):
    # only connection errors mean "unknown"; anything else would still raise
    runtime = prepare(load_settings(data_dir=tmp_path / "data",
                                    broker_url="redis://127.0.0.1:1/0"))
    drop_broker_connections()
    try:
        assert queue_depth() is None
        assert workers_online() is None  # kombu's OperationalError, after its retries
    finally:
        runtime.engine.dispose()
        reset_broker(tmp_path)


def test_throughput_history_sparkline():
    h = ThroughputHistory(size=4)
    assert h.sparkline() == ""
    for t, done in ((0, 0), (1, 0), (2, 10), (3, 15), (4, 35), (5, 35)):
        h.add(done, now=t)
    assert list(h.rates) == [10.0, 5.0, 20.0, 0.0]  # only the last four refreshes
    assert h.sparkline() == "▅▃█▁"


def test_live_view_renders_the_history(rt, capsys):
    watch_status(rt, interval_s=0.01, refreshes=2)
    out = capsys.readouterr().out
    assert "documents" in out and "history" in out
    h = ThroughputHistory()
    h.add(0, now=0)
    h.add(4, now=2)
    assert "now 2.0/s" in render_live(collect_status(rt), h)


def test_the_live_view_asks_which_workers_are_online_every_few_seconds_only(rt, capsys,
                                                                            monkeypatch):
    # a ping waits out its whole timeout: at every refresh it would stretch a short interval
    pings: list[float] = []
    monkeypatch.setattr("worker.monitor._workers_or_error",
                        lambda: pings.append(time.monotonic()) or (["w@host"], None))
    monkeypatch.setattr("worker.monitor._pinged", {})
    watch_status(rt, interval_s=0.01, refreshes=4)
    assert len(pings) == 1
    assert "1 online w@host" in capsys.readouterr().out
    # `status` and the API ask every time
    collect_status(rt)
    collect_status(rt)
    assert len(pings) == 3


#: a Redis database of this module's own: pipeline tests share the default one, and their
#: workers would take (and count) these messages
REDIS_DB = 11


@pytest.fixture
def own_redis_url():
    import redis

    base = os.environ.get("NEWSDROP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    url = base.rsplit("/", 1)[0] + f"/{REDIS_DB}"
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis unavailable at {url}: {exc} (CI=true: services are required)")
        pytest.skip(f"Redis unavailable at {url}: {exc}")
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.mark.redis
def test_queue_depth_counts_waiting_messages_on_redis(tmp_path, own_redis_url):
    from tasks.celery_tasks import enqueue

    runtime = prepare(load_settings(data_dir=tmp_path / "data", broker_url=own_redis_url,
                                    batch_size=2))
    # drop the connections to the broker an earlier test configured (a real process
    # configures its broker once)
    drop_broker_connections()
    try:
        # nothing sent yet: the queue does not exist, and that means nothing is waiting
        assert collect_status(runtime)["queue_depth"] == {"newsdrop": 0}
        enqueue([1, 2, 3, 4, 5])  # no worker runs: three messages wait
        data = collect_status(runtime)
        assert data["queue_depth"] == {"newsdrop": 3}
        assert data["workers"] == []
    finally:
        runtime.engine.dispose()
        reset_broker(tmp_path)
