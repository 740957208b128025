"""`newsdrop ingest FOLDER --wait` against a running worker (Redis + SQLite)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.conftest import DBProbe, Processes, pipeline_env
from tests.integration import corpus

pytestmark = [pytest.mark.redis, pytest.mark.slow]

FILES = 60


def test_ingest_wait_returns_when_all_done(sqlite_url: str, redis_url: str,
                                           processes: Processes, tmp_path: Path,
                                           db_probe) -> None:
    """Given a worker, when a backfill folder is ingested with --wait, then the command
    exits 0 once every document is done; a folder holding a bad file exits 1."""
    processes.env = pipeline_env(tmp_path, database_url=sqlite_url, broker_url=redis_url)
    upgraded = processes.run("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    processes.start_worker(concurrency=2)
    probe: DBProbe = db_probe(sqlite_url)

    backfill = tmp_path / "backfill"
    paths = corpus.write_good(backfill, FILES, seed=5)
    (backfill / "again.txt").write_bytes(paths[3].read_bytes())  # a duplicate is not an error
    (backfill / ".hidden.txt").write_bytes(b"never taken")

    result = processes.run("ingest", str(backfill), "--wait", "--timeout", "90", timeout=120)
    assert result.returncode == 0, f"{result.stderr}\n{processes.logs()}"
    assert f"{FILES} done" in result.stderr and "1 duplicate" in result.stderr, result.stderr
    counts = probe.counts()
    assert counts == {"done": FILES, "duplicate": 1, "articles": FILES}, counts

    bad = tmp_path / "bad-backfill"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "fine.txt").write_text(corpus.article_text(random.Random(1), 1))
    result = processes.run("ingest", str(bad), "--wait", "--timeout", "60", timeout=90)
    assert result.returncode == 1, f"exit {result.returncode}\n{result.stderr}"
    assert "1 done" in result.stderr and "1 failed" in result.stderr, result.stderr
