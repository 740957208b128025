"""`newsdrop status` against a real watcher, real Redis and a worker that comes and goes:
the figures it prints are the ones the drop produced."""

from __future__ import annotations

import json
import random
import sqlite3

import pytest

from tests.conftest import pipeline_env, wait_for
from tests.integration.corpus import article_text

pytestmark = [pytest.mark.redis, pytest.mark.slow]

GOOD = 12


def status(processes) -> dict:
    result = processes.run("status", "--json", timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_status_counts_queue_depth_and_failures_follow_the_work(tmp_path, redis_url,
                                                                sqlite_url, processes):
    processes.env = pipeline_env(tmp_path, database_url=sqlite_url, broker_url=redis_url,
                                 batch_size=1)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    processes.start_watcher(inbox)
    rng = random.Random(7)
    for n in range(GOOD):
        (inbox / f"good-{n}.txt").write_text(article_text(rng, n), encoding="utf-8")
    (inbox / "empty.txt").write_bytes(b"")
    (inbox / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)

    # no worker yet: everything waits in the broker, one message per document
    wait_for(lambda: status(processes)["documents"]["queued"] == GOOD + 2, 30,
             message="all files to be taken in")
    waiting = status(processes)
    assert waiting["queue_depth"] == {"newsdrop": GOOD + 2}
    assert waiting["workers"] == []
    assert waiting["oldest_unfinished_age_s"] is not None

    processes.start_worker(concurrency=2)
    wait_for(lambda: status(processes)["documents"]["done"] == GOOD, 60,
             message=lambda: f"the worker to finish; status {status(processes)}")
    wait_for(lambda: status(processes)["documents"]["failed"] == 2, 30,
             message="the two bad files to fail")
    done = status(processes)
    assert done["documents"]["queued"] == done["documents"]["processing"] == 0
    assert done["queue_depth"] == {"newsdrop": 0}
    assert len(done["workers"]) == 1
    assert done["throughput_per_s"]["1m"] > 0
    assert done["latency_s"]["p50"] is not None
    failures = {f["source_path"]: f for f in done["recent_failures"]}
    assert failures["empty.txt"]["kind"] == "empty"
    assert failures["image.txt"]["kind"] == "binary"
    assert all(f["error"] for f in failures.values())

    text = processes.run("failures", timeout=60).stdout
    assert "empty.txt" in text and "image.txt" in text

    # everything again from the stored bytes: the same outcomes, no second article
    again = processes.run("reprocess", "--all", "--wait", "--timeout", "60", timeout=90)
    assert again.returncode == 1, again.stderr  # the two bad files fail again
    assert f"result: {GOOD} done, 2 failed" in again.stderr
    after = status(processes)["documents"]
    assert (after["done"], after["failed"]) == (GOOD, 2)
    path = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == GOOD
