"""`newsdrop delete` beside a running `newsdrop run` (embedded default, inbox kept)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.conftest import DBProbe, Processes, pipeline_env, wait_for

pytestmark = [pytest.mark.slow]

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "sample_seed.txt"
RESCAN_S = 1


def test_a_deleted_file_left_in_the_inbox_is_not_taken_in_again_until_it_changes(
        processes: Processes, tmp_path: Path, db_probe) -> None:
    # Given newsdrop running on its embedded default, the files kept in the inbox
    processes.env = pipeline_env(tmp_path, database_url=None, broker_url=None,
                                 rescan_interval_s=RESCAN_S)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    run = processes.start("run", "run", "-c", "1")
    processes.wait_log(run, " ready.", 60)
    probe: DBProbe = db_probe(f"sqlite:///{tmp_path / 'data' / 'newsdrop.db'}")
    text = SAMPLE.read_text(encoding="utf-8")
    (inbox / "a.txt").write_text(text, encoding="utf-8")
    (inbox / "copy of a.txt").write_text(text, encoding="utf-8")
    (inbox / "b.txt").write_text(text + "\nA last paragraph only this copy carries.\n",
                                 encoding="utf-8")
    wait_for(lambda: probe.counts() == {"done": 2, "duplicate": 1, "articles": 2}, 60,
             message=lambda: f"three files taken in: {probe.counts()}\n{processes.logs()}")
    docs = {d.source_path: d for d in probe.documents()}
    [original] = [d for d in docs.values() if d.status == "done" and d.source_path != "b.txt"]

    # When that page is deleted (its copy goes with it)
    result = processes.run("delete", "--yes", str(original.id))
    assert result.returncode == 0, result.stderr
    assert "deleted 1 document and 1 duplicate of it" in result.stderr

    # Then only b.txt's article is listed, and the watcher's rescans leave both files be
    listed = processes.run("articles", "--json")
    assert [a["id"] for a in json.loads(listed.stdout)] == [docs["b.txt"].id]
    time.sleep(3 * RESCAN_S + 1)
    assert probe.counts() == {"done": 1, "deleted": 2, "articles": 1}, processes.logs()

    # until one changes (here touched: the same bytes, a new mtime): a new document
    os.utime(inbox / original.source_path)
    wait_for(lambda: probe.counts() == {"done": 2, "deleted": 2, "articles": 2}, 60,
             message=lambda: f"taken in anew: {probe.counts()}\n{processes.logs()}")
    shown = processes.run("show", str(original.id))
    assert shown.returncode == 0 and f"document {original.id}  deleted" in shown.stdout
