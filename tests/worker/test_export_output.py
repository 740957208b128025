"""`newsdrop export -o PATH`: what happens to PATH, and to the files beside it."""

from __future__ import annotations

import errno
import json
import os
import stat
import threading

import pytest
from click.testing import CliRunner

from db import migrate
from db.engine import make_engine, make_session_factory, transaction
from tests.db.test_search import add_article
from worker.cli import EXIT_FAILED, main

TITLES = ["Harbour strike", "Budget"]


@pytest.fixture
def data_dir(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    engine = make_engine(f"sqlite:///{data_dir / 'newsdrop.db'}")
    migrate.upgrade(engine)
    with transaction(make_session_factory(engine)) as s:
        add_article(s, title="Harbour strike", body="Dockers vote.", published_at="2024-03-02")
        add_article(s, title="Budget", body="The council met.", published_at="2024-01-15")
    engine.dispose()
    return data_dir


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def export(data_dir, output):
    return CliRunner().invoke(main, ["--data-dir", str(data_dir), "export", "-o", str(output)])


def titles(jsonl: str) -> list[str]:
    return [json.loads(line)["title"] for line in jsonl.splitlines()]


def names(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_export_to_a_fifo_writes_into_it_and_leaves_it_a_fifo(data_dir, tmp_path):
    # Given a FIFO with a reader waiting on it
    fifo = tmp_path / "out.jsonl"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text("utf-8")),
                              daemon=True)
    reader.start()
    # When the export names it
    result = export(data_dir, fifo)
    # Then the reader gets the articles through it, and it is still a FIFO
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    reader.join(timeout=10)
    assert not reader.is_alive()
    assert titles(received[0]) == TITLES
    assert names(tmp_path) == ["data", "out.jsonl"]


@pytest.mark.parametrize("target_exists", [True, False], ids=["existing", "dangling"])
def test_export_through_a_symlink_keeps_the_link_and_fills_its_target(
        data_dir, tmp_path, target_exists):
    # Given a link to a file in another folder (which may not exist yet)
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "articles.jsonl"
    if target_exists:
        target.write_text("old\n")
    link = tmp_path / "out.jsonl"
    link.symlink_to(os.path.join("real", "articles.jsonl"))
    # When the export writes to the link
    result = export(data_dir, link)
    # Then the link is still the same link, and the file it points to holds the export
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and os.readlink(link) == os.path.join("real", "articles.jsonl")
    assert titles(target.read_text("utf-8")) == TITLES
    assert names(tmp_path) == ["data", "out.jsonl", "real"]
    assert names(tmp_path / "real") == ["articles.jsonl"]


def test_export_leaves_a_file_named_like_a_temporary_one_alone(data_dir, tmp_path):
    # Given a file of the user's that happens to be called like the output plus .part
    (tmp_path / "out.jsonl.part").write_text("mine\n")
    result = export(data_dir, tmp_path / "out.jsonl")
    assert result.exit_code == 0, result.output
    assert titles((tmp_path / "out.jsonl").read_text("utf-8")) == TITLES
    assert (tmp_path / "out.jsonl.part").read_text() == "mine\n"
    assert names(tmp_path) == ["data", "out.jsonl", "out.jsonl.part"]


def test_a_failed_export_removes_its_temporary_file_and_nothing_else(
        data_dir, tmp_path, monkeypatch):
    import db.export

    def disk_full_after_a_row(_session, _filters, out, *_args, **_kw):
        out.write('{"title": "half')
        out.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(db.export, "export_articles", disk_full_after_a_row)
    # Given an earlier export, and a file of the user's called like a temporary one
    (tmp_path / "out.jsonl").write_text("earlier\n")
    (tmp_path / "out.jsonl.part").write_text("mine\n")
    # When the export cannot be written to the end
    result = export(data_dir, tmp_path / "out.jsonl")
    # Then it fails, the earlier export stays whole, and only the user's files are left
    assert result.exit_code == EXIT_FAILED, result.output
    assert "No space left on device" in result.output
    assert (tmp_path / "out.jsonl").read_text() == "earlier\n"
    assert (tmp_path / "out.jsonl.part").read_text() == "mine\n"
    assert names(tmp_path) == ["data", "out.jsonl", "out.jsonl.part"]


@pytest.mark.usefixtures("umask_022")
def test_an_exported_file_has_the_mode_it_had_or_the_usual_one(data_dir, tmp_path):
    # a new file: 0666 less the umask, as any program's (not the temporary file's 0600)
    assert export(data_dir, tmp_path / "new.jsonl").exit_code == 0
    assert stat.S_IMODE((tmp_path / "new.jsonl").stat().st_mode) == 0o644
    # a file the user made private stays private when an export replaces it
    private = tmp_path / "private.jsonl"
    private.write_text("earlier\n")
    private.chmod(0o600)
    assert export(data_dir, private).exit_code == 0
    assert titles(private.read_text("utf-8")) == TITLES
    assert stat.S_IMODE(private.stat().st_mode) == 0o600


def test_export_to_dev_stdout_appends_to_the_file_stdout_was_redirected_to(data_dir, tmp_path):
    import subprocess
    import sys

    log = tmp_path / "log.txt"
    log.write_text("line1\nline2\n")
    with log.open("a") as appended:  # as `>> log.txt` would give it
        subprocess.run([sys.executable, "-m", "worker", "--data-dir", str(data_dir),
                        "export", "-o", "/dev/stdout"], stdout=appended, check=True,
                       stderr=subprocess.DEVNULL)
    lines = log.read_text().splitlines()
    assert lines[:2] == ["line1", "line2"]
    assert titles("\n".join(lines[2:])) == TITLES
