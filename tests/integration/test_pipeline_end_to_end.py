"""End to end: files dropped into a watched inbox end in the database, on every backend.

Given a running watcher and a worker (or `newsdrop run`), when 200 distinct articles,
duplicates, hostile inputs and ignored names land in the inbox and its subfolders,
then every file that may be taken reaches a terminal state with a reason, each distinct
article is stored exactly once, and the processes are still up at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import (
    DBProbe,
    Processes,
    WaitTimeout,
    child_pids,
    pid_alive,
    pipeline_env,
    wait_for,
)
from tests.integration import corpus

GOOD_FILES = 200
MAX_FILE_BYTES = 200_000
TERMINAL_TIMEOUT_S = 120
#: the slow writer's pause mid-file: 20x the settle time (NEWSDROP_SETTLE_MS=50)
SLOW_WRITER_PAUSE_S = 1.0


@dataclass
class Backend:
    name: str
    database_url: str | None  # None: the embedded default (SQLite in the data folder)
    broker_url: str | None  # None: the embedded filesystem broker

    def probe_url(self, tmp_path: Path) -> str:
        return self.database_url or f"sqlite:///{(tmp_path / 'data' / 'newsdrop.db')}"


@pytest.fixture(params=[
    pytest.param("redis+sqlite", marks=[pytest.mark.redis, pytest.mark.slow]),
    pytest.param("redis+postgres",
                 marks=[pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]),
    pytest.param("embedded", marks=[pytest.mark.slow]),
])
def backend(request: pytest.FixtureRequest) -> Backend:
    name = request.param
    if name == "embedded":
        return Backend(name, None, None)
    redis_url = request.getfixturevalue("redis_url")
    db_url = request.getfixturevalue(
        "postgres_url" if name == "redis+postgres" else "sqlite_url")
    return Backend(name, db_url, redis_url)


@dataclass
class Drop:
    """What was written into the inbox (paths relative to it) and how each must end."""

    originals: dict[str, bytes] = field(default_factory=dict)  # distinct good files
    copies: dict[str, str] = field(default_factory=dict)  # duplicate copy -> its original
    failed: dict[str, str] = field(default_factory=dict)  # path -> expected error_kind
    rejected: dict[str, str] = field(default_factory=dict)  # path -> expected error_kind
    vanished: list[str] = field(default_factory=list)  # deleted at once: no row
    ignored: list[str] = field(default_factory=list)
    growing: str = ""
    growing_size: int = 0

    @property
    def expected_rows(self) -> int:
        return len(self.originals) + len(self.copies) + len(self.failed) + len(self.rejected)


def _grow(path: Path, first: bytes, rest: bytes, pause_s: float) -> None:
    """A slow writer: part of the file, a pause well past the settle time, then the rest."""
    with path.open("wb") as fh:
        fh.write(first)
        fh.flush()
        time.sleep(pause_s)
        fh.write(rest)
        fh.flush()


def drop_everything(inbox: Path, outside: Path) -> tuple[Drop, threading.Thread]:
    rng = random.Random(20240501)
    d = Drop()

    def rel(p: Path) -> str:
        return str(p.relative_to(inbox))

    def put(name: str, data: bytes) -> Path:
        p = inbox / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        return p

    # a slow writer starts first so that it is mid-file while the rest pours in
    growing = inbox / "slow writer.txt"
    text = corpus.article_text(rng, 7777).encode()
    d.growing, d.growing_size = rel(growing), len(text)
    writer = threading.Thread(target=_grow,
                              args=(growing, text[:600], text[600:], SLOW_WRITER_PAUSE_S))
    writer.start()

    for p in corpus.write_good(inbox, GOOD_FILES):
        d.originals[rel(p)] = p.read_bytes()
    special = {name: corpus.article_text(rng, 9100 + i).encode() for i, name in enumerate(
        ("résumé du jour.txt", "新闻 1.txt", "local news/with  two spaces.txt"))}
    special["encodings/latin1.txt"] = corpus.latin1_article(rng)
    special["encodings/utf16-bom.txt"] = corpus.utf16_article(rng)
    for name, data in special.items():
        d.originals[rel(put(name, data))] = data

    # the same bytes under other names, some in other folders
    sources = sorted(d.originals)[:12]
    for i, src in enumerate(sources):
        copy = f"copies/copy {i}.txt" if i % 2 else f"dup_{i}.txt"
        put(copy, d.originals[src])
        d.copies[copy] = src

    # inputs that must fail in the pipeline, with their error kind
    d.failed[rel(put("bad/empty.txt", b""))] = "empty"
    d.failed[rel(put("bad/image.txt", corpus.binary_png(rng)))] = "binary"
    d.failed[rel(put("bad/not-utf8.txt", corpus.invalid_utf8()))] = "undecodable"

    # inputs intake must refuse: moved to rejected/ with a sidecar
    d.rejected[rel(put("bad/huge.txt", b"word " * (300_000 // 5)))] = "too_large"
    outside.write_bytes(corpus.article_text(rng, 9999).encode())
    link = inbox / "bad" / "escape.txt"
    link.symlink_to(outside)
    d.rejected[rel(link)] = "symlink_outside"

    # gone before anyone can read it
    gone = put("vanishing.txt", corpus.article_text(rng, 8888).encode())
    gone.unlink()
    d.vanished.append(rel(gone))

    # names that are never taken
    for name in (".hidden.txt", "x.part", "y.tmp", "z~", "wire/.also-hidden.txt"):
        put(name, corpus.article_text(rng, 5555).encode())
        d.ignored.append(name)
    return d, writer


def _start(backend: Backend, processes: Processes, inbox: Path) -> list[int]:
    """Start the pipeline; return the pids that must still be alive at the end."""
    if backend.name == "embedded":
        run = processes.start("run", "run", "-c", "2")
        processes.wait_log(run, "watching ", 60)
        processes.wait_log(run, " ready.", 60)
        return [run.pid, *child_pids(run.pid)]
    upgraded = processes.run("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    watcher = processes.start_watcher(inbox)
    worker = processes.start_worker(concurrency=2)
    return [watcher.pid, worker.pid]


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite through a raw SELECT hands back text
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def test_pipeline_end_to_end(backend: Backend, processes: Processes, tmp_path: Path,
                             db_probe, capsys: pytest.CaptureFixture[str]) -> None:
    inbox = (tmp_path / "inbox").resolve()
    inbox.mkdir()
    processes.env = pipeline_env(tmp_path, database_url=backend.database_url,
                                 broker_url=backend.broker_url,
                                 max_file_bytes=MAX_FILE_BYTES, rescan_interval_s=5)
    alive = _start(backend, processes, inbox)
    probe: DBProbe = db_probe(backend.probe_url(tmp_path))

    first_drop = datetime.now(UTC)
    drop, writer = drop_everything(inbox, tmp_path / "outside-secret.txt")
    writer.join()

    def settled() -> bool:
        paths = set(probe.by_path())
        return drop.growing in paths and probe.all_terminal(drop.expected_rows)

    wait_for(settled, TERMINAL_TIMEOUT_S, interval=0.5, message=lambda: (
        f"every file terminal; counts now {probe.counts()}, expected {drop.expected_rows} "
        f"rows\n{processes.logs()}"))
    # the slow writer's whole file may still be on its way in if its first part was taken
    with contextlib.suppress(WaitTimeout):
        wait_for(lambda: any(r.size_bytes == drop.growing_size
                             for r in probe.by_path()[drop.growing]) and probe.unfinished() == 0,
                 3, message="the slow writer's whole file")
    rows = probe.by_path()
    # the slow writer is left out: its deliberate pause would set the end time
    timed = [r for path, docs in rows.items() if path != drop.growing for r in docs]
    elapsed = (max(_aware(r.finished_at) for r in timed) - first_drop).total_seconds()
    taken = len(timed)
    with capsys.disabled():
        print(f"\n[throughput] {backend.name}: {taken} files in {elapsed:.1f}s "
              f"(first drop -> last terminal) = {taken / elapsed:.1f} files/s")

    logs = processes.logs
    # nothing ignored was taken, nothing else appeared
    for name in drop.ignored:
        assert name not in rows, f"ignored name {name!r} was taken in"
    expected_paths = (set(drop.originals) | set(drop.copies) | set(drop.failed)
                      | set(drop.rejected) | {drop.growing})
    assert set(rows) <= expected_paths, f"unexpected rows: {set(rows) - expected_paths}"

    # every taken file ended terminal, once
    for path in set(drop.originals) | set(drop.copies) | set(drop.failed) | set(drop.rejected):
        assert path in rows, f"{path!r} never reached the database\n{logs()}"
        assert len(rows[path]) == 1, f"{path!r} taken {len(rows[path])} times: {rows[path]}"

    # distinct good files: done, one article each; copies point at their original
    articles = probe.articles_per_document()
    by_sha: dict[str, list] = {}
    for path in set(drop.originals) | set(drop.copies):
        by_sha.setdefault(rows[path][0].sha256, []).append(rows[path][0])
    assert len(by_sha) == len(drop.originals)
    for sha, docs in by_sha.items():
        originals = [r for r in docs if r.duplicate_of is None]
        assert len(originals) == 1, f"{sha[:12]}: {len(originals)} originals in {docs}"
        original = originals[0]
        assert original.status == "done", (
            f"{original.source_path} ended {original.status}: {original.last_error}")
        assert articles.get(original.id) == 1, f"{original.source_path}: no article"
        for dup in docs:
            if dup is original:
                continue
            assert dup.status == "duplicate" and dup.duplicate_of == original.id, dup
            assert dup.id not in articles
            assert not dup.last_error, f"a duplicate carries an error: {dup.last_error}"
    grown_ids = {r.id for r in rows[drop.growing]}
    assert sum(n for i, n in articles.items() if i not in grown_ids) == len(drop.originals)
    assert set(articles.values()) == {1}

    # hostile inputs: failed in the pipeline, or refused at intake, each with a reason
    for path, kind in drop.failed.items():
        r = rows[path][0]
        assert (r.status, r.error_kind) == ("failed", kind), (path, r)
        assert r.last_error and r.id not in articles
    rejected_dir = tmp_path / "data" / "rejected"
    for path, kind in drop.rejected.items():
        r = rows[path][0]
        assert (r.status, r.error_kind) == ("rejected", kind), (path, r)
        assert r.last_error
        moved = rejected_dir / path
        assert os.path.lexists(moved), f"{path} not moved to {rejected_dir}"
        assert not os.path.lexists(inbox / path), f"{path} still in the inbox"
        sidecar = json.loads(moved.with_name(moved.name + ".error.json").read_text())
        assert sidecar["reason"] == r.last_error and sidecar["document_id"] == r.id
        assert sidecar["stage"] and sidecar["time"]
    assert (tmp_path / "outside-secret.txt").exists(), "the symlink's target was touched"
    for path in drop.vanished:  # nothing of it was held: no rejected document
        assert path not in rows, rows[path]

    # the CLI shows a failure's reason
    image = rows["bad/image.txt"][0]
    shown = processes.run("show", str(image.id))
    assert shown.returncode == 0, shown.stderr
    assert image.last_error in shown.stdout and "failed" in shown.stdout, shown.stdout

    for pid in alive:
        assert pid_alive(pid), f"process {pid} died during the run\n{logs()}"
    if backend.name == "embedded":
        assert len(alive) >= 2, "newsdrop run started no worker child"

    # last, as it is the check most likely to fail: the slow writer's file was taken
    # once, complete (not first as the part written before the pause)
    grown = [(r.status, r.size_bytes) for r in rows[drop.growing]]
    assert grown == [("done", drop.growing_size)], (
        f"a file whose writer paused for {SLOW_WRITER_PAUSE_S}s mid-file was taken as "
        f"{grown} (status, bytes); the whole file is {drop.growing_size} bytes")
