"""The command line: help everywhere, and the commands that need no services."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from worker.cli import EXIT_FAILED, EXIT_NOT_FOUND, EXIT_UNAVAILABLE, main

SAMPLE = Path(__file__).parents[1] / "fixtures" / "sample_seed.txt"


def all_commands(group: click.Group, prefix: str = ""):
    for name, cmd in group.commands.items():
        yield f"{prefix}{name}", cmd
        if isinstance(cmd, click.Group):
            yield from all_commands(cmd, f"{prefix}{name} ")


@pytest.mark.parametrize("name,command", list(all_commands(main)))
def test_every_command_has_help(name, command):
    assert command.help, f"`newsdrop {name}` has no help"
    result = CliRunner().invoke(main, [*name.split(), "--help"])
    assert result.exit_code == 0, result.output
    if not isinstance(command, click.Group):
        assert "Example" in result.output, f"`newsdrop {name} --help` shows no example"


def test_extract_jsonl_prints_the_contract_fields_with_the_path():
    result = CliRunner().invoke(main, ["extract", str(SAMPLE), "--jsonl"])
    assert result.exit_code == 0, result.output
    [line] = result.output.strip().splitlines()
    data = json.loads(line)
    assert data["path"] == str(SAMPLE)
    assert data["title"] == "Gov’t reviewing Russia defense ties after expulsion"
    assert data["published_at"] == "2011-05-20T02:52:00"
    assert len(data["paragraphs"]) == 17


def test_extract_explain_shows_dropped_lines_with_their_evidence():
    result = CliRunner().invoke(main, ["extract", str(SAMPLE), "--explain"])
    assert result.exit_code == 0, result.output
    dropped = [ln for ln in result.output.splitlines() if ln.startswith("- ")]
    assert any("Be the first to know" in ln for ln in dropped)
    assert any("Dear Reader" in ln for ln in dropped)


def test_extract_reports_a_bad_file_and_exits_non_zero(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    result = CliRunner().invoke(main, ["extract", str(empty), "--jsonl"])
    assert result.exit_code == EXIT_FAILED
    assert json.loads(result.output)["error"]


def test_show_unknown_document_exits_not_found(tmp_path):
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "show", "999"])
    assert result.exit_code == EXIT_NOT_FOUND
    assert "no document" in result.output


def test_db_upgrade_creates_the_schema_on_the_embedded_default(tmp_path):
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "newsdrop.db").exists()
    assert "revision" in result.output


def test_an_unreachable_database_is_a_clear_error_with_its_exit_code():
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    result = CliRunner().invoke(main, ["--database-url", url, "articles"])
    assert result.exit_code == EXIT_UNAVAILABLE
    assert "cannot reach the database" in result.output


def test_show_prints_a_processed_article_and_explains_its_lines(tmp_path):
    from tasks.runner import RunnerOptions, run_batch
    from worker.intake import Intake
    from worker.service import prepare
    from worker.settings import Settings

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "sample.txt").write_bytes(SAMPLE.read_bytes())
    rt = prepare(Settings(data_dir=tmp_path, inbox=inbox))
    sent: list[list[int]] = []
    [outcome] = Intake(rt.settings, rt.sessions, sent.append).take([inbox / "sample.txt"])
    run_batch(rt.sessions, sent[0], options=RunnerOptions(), worker="test")

    shown = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "show",
                                      str(outcome.document_id)])
    assert shown.exit_code == 0, shown.output
    assert "document 1  done" in shown.output
    assert "photo_credit: Assaf Shilo/Israel Sun" in shown.output
    assert "clean    #1 succeeded" in shown.output

    as_json = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "show", "1", "--json"])
    data = json.loads(as_json.output)
    assert data["article"]["reading_time_minutes"] == 2
    assert [r["stage"] for r in data["history"]] == ["clean", "extract", "persist"]

    explained = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "show", "1",
                                          "--explain"])
    assert explained.exit_code == 0, explained.output
    assert any("Dear Reader" in ln for ln in explained.output.splitlines()
               if ln.startswith("- "))
