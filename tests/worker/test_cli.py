"""The command line: help everywhere, and the commands that need no services."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from worker.cli import EXIT_FAILED, EXIT_NOT_FOUND, EXIT_UNAVAILABLE, EXIT_USAGE, main

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
    assert "Example" in result.output, f"`newsdrop {name} --help` shows no example"


def test_the_readme_lists_every_command():
    import re

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Commands", 1)[1].split("\n\n## ", 1)[0]
    listed = {m.group(1) for m in re.finditer(r"^\| `newsdrop ([a-z]+(?: [a-z]+)?)", table,
                                              re.M)}
    commands = {name for name, cmd in all_commands(main) if not isinstance(cmd, click.Group)}
    assert commands - listed == set()


def help_examples(command: click.Command) -> list[str]:
    """The shell lines under "Example:" in a command's help, continuations joined."""
    text = (command.help or "").split("Example:", 1)[-1] if "Example:" in (
        command.help or "") else ""
    return [ln.strip() for ln in text.replace("\\\n", " ").splitlines() if ln.strip()]


@pytest.mark.parametrize("name,command", [("newsdrop", main), *all_commands(main)])
def test_every_help_example_is_valid_as_written(name, command, monkeypatch):
    """Each `newsdrop …` an example shows parses, and the NEWSDROP_* values it sets are a
    configuration newsdrop accepts; only the user's own files need not exist."""
    import re
    import shlex

    from worker.settings import load_settings

    for line in help_examples(command):
        # a command substitution stands for a value of the right shape ($(openssl …))
        lexer = shlex.shlex(re.sub(r"\$\([^)]*\)", "0" * 48, line), posix=True,
                            punctuation_chars=True)
        lexer.whitespace_split = True
        segment: list[str] = []
        for token in [*lexer, "|"]:
            if token not in ("|", "&&", ";", ">"):
                segment.append(token)
                continue
            env = {}
            while segment and re.fullmatch(r"NEWSDROP_\w+=.*", segment[0]):
                key, _, value = segment.pop(0).partition("=")
                env[key] = value
            if segment[:1] == ["newsdrop"]:
                with monkeypatch.context() as m:
                    for key, value in env.items():
                        m.setenv(key, value)
                    load_settings()  # raises SettingsError on values that cannot work
                _parse_example(segment[1:], line)
            segment = []


def _parse_example(args: list[str], line: str) -> None:
    cmd: click.Command = main
    while isinstance(cmd, click.Group) and args and args[0] in cmd.commands:
        cmd = cmd.commands[args.pop(0)]
    assert cmd is not main or not args, f"no such command in {line!r}"
    try:
        cmd.make_context(cmd.name or "", args)
    except click.BadParameter as exc:
        if not (isinstance(exc.param.type, click.Path) and "does not exist" in str(exc)):
            raise AssertionError(f"{line!r}: {exc.format_message()}") from exc
    except click.UsageError as exc:
        raise AssertionError(f"{line!r}: {exc.format_message()}") from exc


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


def test_extract_jsonl_explain_prints_the_verdicts_as_json_lines():
    result = CliRunner().invoke(main, ["extract", str(SAMPLE), "--jsonl", "--explain"])
    assert result.exit_code == 0, result.output
    [line] = result.output.strip().splitlines()
    data = json.loads(line)
    assert data["path"] == str(SAMPLE) and data["format"] == "text"
    dropped = [b["text"] for b in data["blocks"] if b["label"] != "body"]
    assert any("Dear Reader" in text for text in dropped)


def test_extract_applies_the_configured_size_limit():
    result = CliRunner(env={"NEWSDROP_MAX_FILE_BYTES": "1000"}).invoke(
        main, ["extract", str(SAMPLE), "--jsonl"])
    assert result.exit_code == EXIT_FAILED, result.output
    assert "over the limit of 1,000 bytes" in json.loads(result.output)["error"]


def test_the_size_limit_has_one_default_everywhere():
    from tasks.clean import CleanOptions
    from tasks.runner import RunnerOptions
    from worker.settings import Settings

    default = Settings.model_fields["max_file_bytes"].default
    assert default == 20 * 1024 * 1024  # the README's 20971520
    assert CleanOptions().max_bytes == RunnerOptions().max_file_bytes == default


def test_extract_reports_a_bad_file_and_exits_non_zero(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    result = CliRunner().invoke(main, ["extract", str(empty), "--jsonl"])
    assert result.exit_code == EXIT_FAILED
    assert json.loads(result.output)["error"]


@pytest.mark.parametrize("args,said", [
    (["--interval", "5"], "--interval only applies with --watch"),
    (["--json", "--watch"], "--json prints the status once"),
])
def test_status_refuses_options_it_would_ignore(tmp_path, args, said):
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "status", *args])
    assert result.exit_code == EXIT_USAGE
    assert said in result.output


def test_extract_refuses_a_fifo_rather_than_wait_for_a_writer(tmp_path):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    done: list[Any] = []
    thread = threading.Thread(
        target=lambda: done.append(CliRunner().invoke(main, ["extract", str(fifo)])),
        daemon=True)
    thread.start()
    thread.join(10)
    assert done, "extract waits for a writer"
    assert done[0].exit_code == EXIT_FAILED
    assert f"{fifo}: not a regular file" in done[0].output


@pytest.mark.parametrize("command", ["retry", "reprocess"])
def test_a_document_id_that_is_no_number_is_named_as_such(command, tmp_path):
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), command, "abc"])
    assert result.exit_code == 2
    assert "'abc' is not a valid document id" in result.output


def test_extract_on_a_folder_with_no_files_says_so(tmp_path):
    (tmp_path / ".hidden.txt").write_text("A story.")
    result = CliRunner().invoke(main, ["extract", str(tmp_path)])
    assert result.exit_code == 0
    assert f"no files to extract in {tmp_path}" in result.output


def test_show_unknown_document_exits_not_found(tmp_path):
    upgraded = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "show", "999"])
    assert result.exit_code == EXIT_NOT_FOUND
    assert "no document '999'" in result.output
    zeros = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "show", "0042"])
    assert zeros.exit_code == EXIT_NOT_FOUND
    assert ("no document '0042' (an id is written without leading zeros: `newsdrop show "
            "42`)") in zeros.output


@pytest.mark.parametrize("args", [["show", "999"], ["articles"], ["search", "strike"],
                                  ["export"], ["status"], ["failures"], ["serve"]])
def test_read_commands_without_a_database_create_nothing(tmp_path, args):
    # Given a folder with no newsdrop database (the wrong working directory, say)
    data_dir = tmp_path / "newsdrop-data"
    # When a read command runs there
    result = CliRunner().invoke(main, ["--data-dir", str(data_dir), *args])
    # Then it says so and how to start, and leaves no file or folder behind
    assert result.exit_code == EXIT_NOT_FOUND, result.output
    assert "no newsdrop database at sqlite:///" in result.output
    assert "newsdrop db upgrade" in result.output
    assert not data_dir.exists()


def test_no_database_where_no_env_file_is_says_that_env_is_read_from_here_only(
        tmp_path, monkeypatch):
    for name in ("NEWSDROP_DATABASE_URL", "NEWSDROP_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # the project folder with its .env is elsewhere
    result = CliRunner().invoke(main, ["articles"])
    assert result.exit_code == EXIT_NOT_FOUND, result.output
    assert result.output.rstrip().endswith(
        "; no NEWSDROP_DATABASE_URL is set and this folder has no .env, which is read from "
        "the current folder only")
    # a data folder named on the command line: no .env was needed to find it
    named = CliRunner().invoke(main, ["--data-dir", str(tmp_path / "elsewhere"), "articles"])
    assert named.exit_code == EXIT_NOT_FOUND and ".env" not in named.output, named.output
    assert named.output.rstrip().endswith(
        "`newsdrop db upgrade`, given the same --data-dir or --database-url (or NEWSDROP_* "
        "setting)")
    (tmp_path / ".env").write_text("NEWSDROP_SETTLE_MS=30\n")  # one is here: no hint
    result = CliRunner().invoke(main, ["articles"])
    assert result.exit_code == EXIT_NOT_FOUND, result.output
    assert ".env" not in result.output


def test_read_commands_refuse_an_older_schema_without_migrating_it(tmp_path):

    from db import migrate
    from db.engine import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'newsdrop.db'}")
    migrate.upgrade(engine, "0006")  # as a database left by an older newsdrop
    try:
        result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "articles"])
        # the database is there, at a revision this newsdrop cannot read: as for a newer one
        assert result.exit_code == EXIT_USAGE, result.output
        assert "older than this newsdrop: run `newsdrop db upgrade`" in result.output
        assert migrate.current_revision(engine) == "0006"  # left alone
    finally:
        engine.dispose()


@pytest.mark.parametrize("command", [["articles"], ["search", "strike"], ["export"]])
@pytest.mark.parametrize("status,listed_by", [
    ("duplicate", "docs/querying.md has the SQL that lists each with its first copy"),
    ("rejected", "`newsdrop failures --stage intake` lists rejected files")],
    ids=["duplicate", "rejected"])
def test_a_status_no_article_can_have_says_where_those_documents_are_listed(
        tmp_path, command, status, listed_by):
    # Given a filter on a status whose documents never have an article
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path / "data"), *command,
                                       "--status", status])
    # Then it says where such documents are listed, rather than listing nothing
    assert result.exit_code == EXIT_USAGE, result.output
    assert listed_by in result.output
    assert not (tmp_path / "data").exists()


def test_the_status_filter_offers_the_statuses_a_document_with_an_article_has():
    result = CliRunner().invoke(main, ["articles", "--help"])
    assert "--status [done|queued|processing|failed]" in result.output
    assert ("failed if that run failed (it keeps the article it had, unless the run found "
            "no article in its bytes)") in " ".join(result.output.split())


def test_an_unreachable_broker_is_a_clear_error_with_its_exit_code(tmp_path):
    from db.engine import transaction
    from db.models import Document, DocumentStatus, Stage, utcnow
    from worker.service import prepare
    from worker.settings import Settings

    # Given a failed document, in a database that needs no server
    rt = prepare(Settings(data_dir=tmp_path))
    now = utcnow()
    with transaction(rt.sessions) as s:
        s.add(Document(sha256=None, source_path="inbox/bad.bin", status=DocumentStatus.FAILED,
                       stage=Stage.CLEAN, attempts=1, last_error="binary",
                       error_kind="binary", received_at=now, updated_at=now,
                       finished_at=now))
    rt.engine.dispose()
    _forget_broker_connections()
    # When retrying it must go through a broker nothing listens on
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path),
                                       "--broker-url", "redis://127.0.0.1:1/0",
                                       "retry", "--all-failed"])
    try:
        # Then a one-line message and the named exit code, not a traceback
        assert result.exit_code == EXIT_UNAVAILABLE, result.output
        assert "cannot reach the broker at redis://127.0.0.1:1/0" in result.output
        assert "Traceback" not in result.output
    finally:
        _back_to_the_embedded_broker(tmp_path)


def test_ingest_with_the_broker_down_stores_the_files_and_exits_unavailable(tmp_path):
    from db.engine import make_engine, make_session_factory, reading
    from db.queries import counts_by_status

    backfill = tmp_path / "backfill"
    backfill.mkdir()
    for n in range(3):
        (backfill / f"{n}.txt").write_bytes(SAMPLE.read_bytes() + str(n).encode())
    data_dir = tmp_path / "data"
    _forget_broker_connections()
    result = CliRunner().invoke(main, ["--data-dir", str(data_dir),
                                       "--broker-url", "redis://127.0.0.1:1/0",
                                       "ingest", str(backfill), "--wait"])
    try:
        # the README's code for an unreachable broker, and what became of the files
        assert result.exit_code == EXIT_UNAVAILABLE, result.output
        assert "taken in: 3 queued" in result.output
        assert "Error: cannot reach the broker at redis://127.0.0.1:1/0: " in result.output
        assert "3 documents are stored as queued and sent once the broker is back, by a " \
            "running `newsdrop watch` or `newsdrop run`, or by `newsdrop reconcile`" \
            in result.output
        assert "Traceback" not in result.output
        engine = make_engine(f"sqlite:///{data_dir / 'newsdrop.db'}")
        with reading(make_session_factory(engine)) as session:
            assert counts_by_status(session)["queued"] == 3
        engine.dispose()
        # and with the broker back, `reconcile` sends them at once, as the message says
        _reconcile_sends(data_dir, "re-enqueued 3 documents")
    finally:
        _back_to_the_embedded_broker(data_dir)


@pytest.mark.parametrize("command,status", [
    (["retry", "--all-failed"], "failed"),
    (["reprocess", "--all"], "done"),
])
def test_requeueing_with_the_broker_down_says_how_the_documents_will_be_sent(
        tmp_path, command, status):
    from db.engine import transaction
    from db.models import Document, DocumentStatus, Stage, utcnow
    from worker.service import prepare
    from worker.settings import Settings

    # Given three finished documents, in a database that needs no server
    rt = prepare(Settings(data_dir=tmp_path))
    now = utcnow()
    with transaction(rt.sessions) as s:
        s.add_all(Document(sha256=f"{n:064x}", source_path=f"inbox/{n}.txt",
                           status=DocumentStatus(status), stage=Stage.EXTRACT, attempts=1,
                           received_at=now, updated_at=now, finished_at=now)
                  for n in range(3))
    rt.engine.dispose()
    _forget_broker_connections()
    # When they are sent back through a broker nothing listens on
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path),
                                       "--broker-url", "redis://127.0.0.1:1/0", *command])
    try:
        # Then the named exit code, and a message that says they are stored and what
        # sends them
        assert result.exit_code == EXIT_UNAVAILABLE, result.output
        assert "Error: cannot reach the broker at redis://127.0.0.1:1/0: " in result.output
        assert "3 documents are stored as queued and sent once the broker is back, by a " \
            "running `newsdrop watch` or `newsdrop run`, or by `newsdrop reconcile`" \
            in result.output
        assert "Traceback" not in result.output
        # and with the broker back, `reconcile` sends them at once, not a lease (300 s) later
        _reconcile_sends(tmp_path, "re-enqueued 3 documents")
    finally:
        _back_to_the_embedded_broker(tmp_path)


@pytest.mark.parametrize("command,status", [
    (["retry", "1"], "failed"),
    (["reprocess", "1"], "done"),
])
def test_status_counts_a_document_sent_back_from_when_it_was_sent(tmp_path, command, status):
    from datetime import timedelta

    from db.engine import transaction
    from db.models import Document, DocumentStatus, Stage, utcnow
    from worker.service import prepare
    from worker.settings import Settings

    # Given a document taken in and finished a day ago
    rt = prepare(Settings(data_dir=tmp_path))
    day_ago = utcnow() - timedelta(days=1)
    with transaction(rt.sessions) as s:
        s.add(Document(sha256="a" * 64, source_path="inbox/a.txt", status=DocumentStatus(status),
                       stage=Stage.EXTRACT, attempts=1, received_at=day_ago,
                       updated_at=day_ago, finished_at=day_ago))
    rt.engine.dispose()
    # When it is sent back now (no worker runs: it stays queued)
    runner = CliRunner()
    sent = runner.invoke(main, ["--data-dir", str(tmp_path), *command])
    assert sent.exit_code == 0, sent.output
    # Then its pass is a moment old, not a day
    result = runner.invoke(main, ["--data-dir", str(tmp_path), "status", "--json"])
    assert result.exit_code == 0, result.output
    assert 0 <= json.loads(result.output)["oldest_unfinished_age_s"] < 60


def _reconcile_sends(data_dir: Path, said: str) -> None:
    """With the embedded broker back, `newsdrop reconcile` sends what is queued and says so."""
    _back_to_the_embedded_broker(data_dir)
    result = CliRunner().invoke(main, ["--data-dir", str(data_dir), "reconcile"])
    assert result.exit_code == 0, result.output
    assert said in result.output


def _forget_broker_connections() -> None:
    """Celery's app is per process and keeps its producers: a command run in this process
    sends through the broker an earlier test's command connected to, unless forgotten."""
    from tasks.celery_tasks import app

    app.close()
    app.amqp._producer_pool = None


def _back_to_the_embedded_broker(tmp_path: Path) -> None:
    """Later tests must not inherit the dead broker."""
    from worker.service import prepare
    from worker.settings import Settings

    prepare(Settings(data_dir=tmp_path)).engine.dispose()
    _forget_broker_connections()


def test_reconcile_says_what_it_leaves_to_the_lease_and_older_than_0_takes_it(tmp_path):
    from db import pipeline
    from db.engine import transaction
    from worker.service import prepare
    from worker.settings import Settings

    _back_to_the_embedded_broker(tmp_path)
    rt = prepare(Settings(data_dir=tmp_path))
    with transaction(rt.sessions) as s:  # queued a moment ago: within the lease
        pipeline.take_in(s, sha256="a" * 64, source_path="a.txt", content=b"a")
    rt.engine.dispose()
    runner = CliRunner()
    left = runner.invoke(main, ["--data-dir", str(tmp_path), "reconcile"])
    assert left.exit_code == 0, left.output
    assert left.output.startswith(
        "re-enqueued 0 documents\n1 other unfinished document changed state in the last "
        "300 s (queued, or with a worker) and is left alone: the earliest is due in "), \
        left.output
    assert left.output.endswith(" s if it has not moved by then (`--older-than 0` takes it "
                                "now)\n")
    taken = runner.invoke(main, ["--data-dir", str(tmp_path), "reconcile", "--older-than", "0"])
    assert taken.exit_code == 0, taken.output
    assert "re-enqueued 1 document" in taken.output and "other" not in taken.output
    assert "last stopped" not in taken.output
    bad = runner.invoke(main, ["--data-dir", str(tmp_path), "reconcile", "--older-than", "-1"])
    assert bad.exit_code == EXIT_USAGE


def test_reconcile_goes_on_round_after_round_until_nothing_due_is_left(tmp_path,
                                                                         monkeypatch):
    import worker.reconciler
    from db import pipeline
    from db.engine import transaction
    from worker.service import prepare
    from worker.settings import Settings

    _back_to_the_embedded_broker(tmp_path)
    monkeypatch.setattr(worker.reconciler, "ROUND_LIMIT", 2)
    rt = prepare(Settings(data_dir=tmp_path))
    with transaction(rt.sessions) as s:
        for n in range(5):
            pipeline.take_in(s, sha256=f"{n:064x}", source_path=f"{n}.txt", content=b"x")
    rt.engine.dispose()
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "reconcile",
                                       "--older-than", "0"])
    assert result.exit_code == 0, result.output
    assert "re-enqueued 5 documents" in result.output


def test_reconcile_with_nothing_due_still_says_the_broker_cannot_be_reached(tmp_path):
    CliRunner().invoke(main, ["--data-dir", str(tmp_path), "db", "upgrade"])
    _forget_broker_connections()
    try:
        result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "--broker-url",
                                           "redis://127.0.0.1:1/0", "reconcile"])
        assert result.exit_code == EXIT_UNAVAILABLE, result.output
        assert result.output.startswith("re-enqueued 0 documents\n")
        assert "Error: cannot reach the broker at redis://127.0.0.1:1/0: " in result.output
        _forget_broker_connections()
        failover = CliRunner().invoke(main, [
            "--data-dir", str(tmp_path), "--broker-url",
            "redis://:secret1@127.0.0.1:1/0;redis://:secret2@127.0.0.1:2/0", "reconcile"])
        assert failover.exit_code == EXIT_UNAVAILABLE, failover.output
        assert ("cannot reach the broker at redis://:**@127.0.0.1:1/0;redis://:**@127.0.0.1:2/0"
                in failover.output) and "secret" not in failover.output
    finally:
        _back_to_the_embedded_broker(tmp_path)


@pytest.mark.redis
def test_ingest_on_a_redis_database_the_server_lacks_is_a_configuration_error(tmp_path,
                                                                               redis_url):
    (tmp_path / "a.txt").write_bytes(SAMPLE.read_bytes())
    beyond = redis_url.rsplit("/", 1)[0] + "/99999"
    _forget_broker_connections()
    try:
        result = CliRunner().invoke(main, ["--data-dir", str(tmp_path / "data"),
                                           "--broker-url", beyond, "ingest",
                                           str(tmp_path / "a.txt")])
        assert result.exit_code == EXIT_USAGE, result.output
        assert (f"Error: the broker at {beyond} refuses: DB index is out of range: fix "
                "NEWSDROP_BROKER_URL (or --broker-url); 1 document is stored as queued") \
            in result.output
    finally:
        _back_to_the_embedded_broker(tmp_path / "data")


def test_db_upgrade_creates_the_schema_on_the_embedded_default(tmp_path):
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "newsdrop.db").exists()
    assert "revision" in result.output


def test_db_current_on_no_database_says_so_and_creates_nothing(tmp_path):
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "db", "current"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("database none")
    assert not (tmp_path / "newsdrop.db").exists()
    CliRunner().invoke(main, ["--data-dir", str(tmp_path), "db", "upgrade"])
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "db", "current"])
    from db import migrate

    head = migrate.head_revision()
    assert result.output.strip() == f"database {head}, latest {head}"


def test_db_current_on_an_empty_database_file_says_none(tmp_path):
    (tmp_path / "newsdrop.db").touch()
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "db", "current"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("database none (no newsdrop schema yet), latest ")


def test_an_unreachable_database_is_a_clear_error_with_its_exit_code():
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    result = CliRunner().invoke(main, ["--database-url", url, "articles"])
    assert result.exit_code == EXIT_UNAVAILABLE
    assert "cannot reach the database at postgresql+psycopg://nobody@127.0.0.1:1/none" \
        in result.output


@pytest.mark.parametrize("command", [["articles"], ["status"], ["db", "upgrade"]])
def test_a_database_the_server_does_not_have_is_not_found_not_unreachable(postgres_url,
                                                                          command, tmp_path):
    # the server answers, so nothing is unreachable: the database named is missing
    missing = postgres_url.rsplit("/", 1)[0] + "/nd_no_such_database"
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "--database-url",
                                       missing, *command])
    assert result.exit_code == EXIT_NOT_FOUND, result.output
    assert "has no database 'nd_no_such_database': create it" in result.output


@pytest.fixture
def postgres_roles(postgres_url):
    """Make roles on the test server (`CREATE ROLE name options`), dropped afterwards;
    yields a function that makes one and returns a URL logging in as it, with a
    password that must never be printed."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    made: list[str] = []

    def role(options: str | None) -> str:
        name = f"nd_role_{uuid.uuid4().hex[:12]}"
        if options is not None:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE ROLE "{name}" {options}'))
            made.append(name)
        return make_url(postgres_url).set(username=name, password="hunter2-secret") \
            .render_as_string(hide_password=False)

    yield role
    with admin.connect() as conn:
        for name in made:
            conn.execute(text(f'DROP ROLE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("command", [["articles"], ["status"], ["db", "upgrade"]])
@pytest.mark.parametrize("options,refusal", [
    (None, "does not exist"),  # no such role
    ("NOLOGIN", "is not permitted to log in"),
])
def test_a_login_the_server_refuses_is_a_configuration_error_not_unreachable(
        postgres_roles, command, options, refusal, tmp_path):
    url = postgres_roles(options)
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "--database-url", url,
                                       *command])
    assert result.exit_code == EXIT_USAGE, result.output
    role = url.split("://", 1)[1].split(":", 1)[0]
    # a server that asks for passwords says so instead of naming the missing role
    assert f'refused the login: role "{role}" {refusal}' in result.output \
        or f'authentication failed for user "{role}"' in result.output, result.output
    assert "set the user and password in NEWSDROP_DATABASE_URL" in result.output
    assert "hunter2-secret" not in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.postgres
def test_a_role_out_of_connections_is_unreachable_for_now_not_misconfigured(postgres_roles):
    url = postgres_roles("LOGIN CONNECTION LIMIT 0")
    result = CliRunner().invoke(main, ["--database-url", url, "articles"])
    assert result.exit_code == EXIT_UNAVAILABLE, result.output
    assert "cannot reach the database at " in result.output
    assert "too many connections for role" in result.output
    assert "hunter2-secret" not in result.output


@pytest.mark.parametrize("message,exit_code", [
    ('FATAL:  password authentication failed for user "newsdrop"', EXIT_USAGE),
    ("fe_sendauth: no password supplied", EXIT_USAGE),
    ('FATAL:  role "newsdrop" does not exist', EXIT_USAGE),
    ('FATAL:  no pg_hba.conf entry for host "10.0.0.5", user "newsdrop", database "news", '
     "no encryption", EXIT_USAGE),
    ('FATAL:  pg_hba.conf rejects connection for host "10.0.0.5", user "newsdrop", '
     'database "news", no encryption', EXIT_USAGE),
    # what a server answers for a while: trying again later may well work
    ("FATAL:  sorry, too many clients already", EXIT_UNAVAILABLE),
    ('FATAL:  too many connections for role "newsdrop"', EXIT_UNAVAILABLE),
    ("FATAL:  the database system is starting up", EXIT_UNAVAILABLE),
    ("FATAL:  the database system is shutting down", EXIT_UNAVAILABLE),
    ("FATAL:  the database system is in recovery mode", EXIT_UNAVAILABLE),
])
def test_what_the_server_answers_a_login_decides_the_exit_code(monkeypatch, message,
                                                              exit_code):
    import psycopg
    from sqlalchemy.exc import OperationalError

    @click.command()
    def connect() -> None:
        raise OperationalError("connect", {}, psycopg.OperationalError(
            'connection failed: connection to server at "127.0.0.1", port 5432 failed: '
            + message))

    monkeypatch.setitem(main.commands, "connect", connect)
    url = "postgresql+psycopg://newsdrop:hunter2-secret@127.0.0.1:5432/newsdrop"
    result = CliRunner().invoke(main, ["--database-url", url, "connect"])
    assert result.exit_code == exit_code, result.output
    assert "hunter2-secret" not in result.output
    where = "postgresql+psycopg://newsdrop:***@127.0.0.1:5432/newsdrop"
    if exit_code == EXIT_USAGE:
        assert f"the server at {where} refused the login: " in result.output
    else:
        assert f"cannot reach the database at {where}: " in result.output


@pytest.mark.parametrize("options,why", [
    ("/newsdrop?sslmode=bogus", 'invalid sslmode value: "bogus"'),
    ("/newsdrop?foo=bar", 'invalid connection option "foo"'),
    (":99999/newsdrop", 'invalid port number: "99999"'),
    ("/newsdrop?connect_timeout=abc", "bad value for connect_timeout: 'abc'"),
])
def test_a_database_url_whose_options_cannot_work_is_a_configuration_error(options, why):
    # found before any server is asked: nothing is unreachable
    url = f"postgresql+psycopg://newsdrop@127.0.0.1{options}"
    result = CliRunner().invoke(main, ["--database-url", url, "articles"])
    assert result.exit_code == EXIT_USAGE, result.output
    assert f"the database URL cannot work: {why}: fix NEWSDROP_DATABASE_URL" in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("url", ["nonsense://x", "not a url", "redis://127.0.0.1:6379/0",
                                 "mysql://u@localhost/db", "postgresql+nonsense://u@h/db"])
@pytest.mark.parametrize("command", [["status"], ["run"], ["db", "upgrade"]])
def test_a_database_url_newsdrop_cannot_use_is_a_usage_error(tmp_path, url, command):
    data_dir = tmp_path / "data"
    result = CliRunner().invoke(main, ["--data-dir", str(data_dir), "--database-url", url,
                                       *command])
    # a one-line error that says what would do, not a traceback from SQLAlchemy
    assert result.exit_code == EXIT_USAGE, result.output
    assert result.output.startswith("Error: invalid configuration: --database-url: ")
    assert "sqlite:///PATH/newsdrop.db or postgresql+psycopg://USER@HOST/DATABASE" \
        in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not data_dir.exists()


@pytest.mark.parametrize("url", ["nonsense://x", "postgres://u:secret@h/db"])
def test_a_broker_url_no_transport_knows_is_a_usage_error(tmp_path, url):
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "--broker-url", url,
                                       "status"])
    assert result.exit_code == EXIT_USAGE, result.output
    assert result.output.startswith("Error: invalid configuration: --broker-url: ")
    assert "names no broker newsdrop can use (No such transport: " in result.output
    assert "secret" not in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(("url", "why"), [
    # kombu would take it for an AMQP host named "127.0.0.1:6379" and retry forever
    ("127.0.0.1:6379", "no scheme, such as redis://"),
    # kombu's first connect would end in a traceback
    ("redis://127.0.0.1:6379/abc", "the Redis database 'abc' is no number"),
    ("redis://127.0.0.1:6379/0/", "the Redis database '0/' is no number"),
    ("redis://127.0.0.1:6379/²", "the Redis database '²' is no number"),
    ("redis://a:6379/0;redis://:secret@b:6379/x", "the Redis database 'x' is no number"),
    ("sentinel://a:26379;sentinel://b:26379", "Redis Sentinel needs a master_name"),
])
def test_a_broker_url_that_would_fail_at_its_first_use_is_a_usage_error(tmp_path, url, why):
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "--broker-url", url,
                                       "status"])
    assert result.exit_code == EXIT_USAGE, result.output
    assert f"names no broker newsdrop can use ({why}" in result.output
    assert "secret" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_redis_url_with_or_without_a_database_number_is_taken(tmp_path):
    from worker.settings import Settings

    for url in ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379/", "redis://h:1/15",
                "rediss://:pw@h:6380/2", "redis://:pw@a:6379/0;redis://:pw@b:6379/0",
                "redis://a:6379;redis://b:6379", "redis+socket:///tmp/redis.sock",
                "amqp://guest@h:5672//"):
        assert Settings(data_dir=tmp_path, broker_url=url).broker_url == url


@pytest.mark.parametrize("command", [["articles"], ["run"]])
def test_a_sqlite_url_option_that_cannot_work_is_a_usage_error(tmp_path, command):
    url = f"sqlite:///{tmp_path / 'data' / 'nd.db'}?journal=wal"
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path / "data"),
                                       "--database-url", url, *command])
    assert result.exit_code == EXIT_USAGE, result.output
    assert result.output.startswith(f"Error: invalid configuration: --database-url: {url}: "
                                    "Query string argument(s) 'journal' are not accepted")
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "data").exists()


def test_a_bad_database_url_in_the_environment_names_the_variable(tmp_path):
    result = CliRunner(env={"NEWSDROP_DATABASE_URL": "nonsense://x"}).invoke(
        main, ["--data-dir", str(tmp_path), "status"])
    assert result.exit_code == EXIT_USAGE, result.output
    assert "NEWSDROP_DATABASE_URL: nonsense://x is not a SQLite or PostgreSQL URL" \
        in result.output


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
    # SQLite's naive times are UTC, and the JSON says so
    assert data["document"]["received_at"].endswith("+00:00")
    assert all(r["finished_at"].endswith("+00:00") for r in data["history"])
    assert [r["stage"] for r in data["history"]] == ["clean", "extract", "persist"]

    explained = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "show", "1",
                                          "--explain"])
    assert explained.exit_code == 0, explained.output
    assert any("Dear Reader" in ln for ln in explained.output.splitlines()
               if ln.startswith("- "))


def test_show_says_how_long_a_run_under_a_millisecond_took(tmp_path):
    from datetime import timedelta

    from db import pipeline
    from db.engine import transaction
    from db.models import Stage, StageState
    from worker.service import prepare
    from worker.settings import Settings

    rt = prepare(Settings(data_dir=tmp_path))
    with transaction(rt.sessions) as s:
        doc_id = pipeline.take_in(s, sha256="a" * 64, source_path="a.txt",
                                  content=b"a").document_id
        [claim] = pipeline.claim(s, [doc_id], max_attempts=3)
        started = claim.queued_at + timedelta(milliseconds=3)
        pipeline.record_results(s, [pipeline.StageResult(
            doc_id, Stage.CLEAN, 1, StageState.FAILED, started,
            started + timedelta(microseconds=420), claim.queued_at, "not text", "binary"),
            pipeline.StageResult(doc_id, Stage.CLEAN, 2, StageState.FAILED, started,
                                 started + timedelta(milliseconds=2), None, "not text",
                                 "binary"),
            pipeline.StageResult(doc_id, Stage.PERSIST, 1, StageState.SUCCEEDED, started,
                                 started, None)],
            worker="host:1", extractor_version="1")
    rt.engine.dispose()
    shown = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "show", str(doc_id)])
    assert shown.exit_code == 0, shown.output
    assert "clean    #1 failed    wait 3 ms, ran 0.42 ms on host:1  not text" in shown.output
    # persist's runs are written with their batch, untimed: no "ran 0.00 ms"
    assert "persist  #1 succeeded wait - ms, ran in its batch's write on host:1" \
        in shown.output
    as_json = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "show", str(doc_id),
                                        "--json"])
    assert "clean    #2 failed    wait - ms, ran 2.00 ms on host:1  not text" in shown.output
    runs = json.loads(as_json.output)["history"]
    # a float either way, though SQLite hands a whole number back as an int
    assert [(r["wait_ms"], r["duration_ms"]) for r in runs] == [(3, 0.42), (None, 2.0),
                                                                 (None, 0.0)]
    assert isinstance(runs[1]["duration_ms"], float)


def test_show_marks_where_a_pass_sent_back_by_retry_or_reprocess_begins(tmp_path):
    from datetime import timedelta

    from db import pipeline
    from db.engine import transaction
    from db.models import Stage, StageState, utcnow
    from worker.service import prepare
    from worker.settings import Settings

    rt = prepare(Settings(data_dir=tmp_path))

    def one_failed_run() -> None:
        with transaction(rt.sessions) as s:
            [claim] = pipeline.claim(s, [doc_id], max_attempts=3)
            started = utcnow()
            pipeline.record_results(s, [pipeline.StageResult(
                doc_id, Stage.CLEAN, claim.attempt, StageState.FAILED, started,
                started + timedelta(milliseconds=1), claim.queued_at, "not text", "binary")],
                worker="host:1", extractor_version="1")

    with transaction(rt.sessions) as s:
        doc_id = pipeline.take_in(s, sha256="a" * 64, source_path="a.txt",
                                  content=b"a").document_id
    one_failed_run()
    shown = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "show", str(doc_id)])
    assert "sent back" not in shown.output  # one pass: nothing to mark
    for _ in range(2):
        with transaction(rt.sessions) as s:
            pipeline.requeue(s, [doc_id], Stage.CLEAN, reset_attempts=True)
        one_failed_run()
    rt.engine.dispose()

    def markers() -> list[str]:
        shown = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "show", str(doc_id)])
        history = shown.output.split("history\n")[1].splitlines()
        # every pass is marked
        assert [line.split()[:2] for line in history] == [
            ["clean", "#1"], ["--", "sent"], ["clean", "#1"], ["--", "sent"], ["clean", "#1"]
        ], shown.output
        return [history[1], history[3]]

    as_json = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "show", str(doc_id),
                                        "--json"])
    detail = json.loads(as_json.output)
    sent = [run["queued_at"] for run in detail["history"][1:]]
    # each with when it was sent back: the time its first run's message was queued
    assert markers() == [f"  -- sent back by retry or reprocess at {at}" for at in sent]
    assert sent[1] == detail["document"]["pass_queued_at"]

    from db.models import Document, StageRun

    # a run whose message time is not known (its lease had ended): the latest pass's
    # start is pass_queued_at; an earlier one's is not kept
    with transaction(rt.sessions) as s:
        for run in s.query(StageRun).filter_by(document_id=doc_id):
            run.queued_at = None
    rt.engine.dispose()
    assert markers() == ["  -- sent back by retry or reprocess",
                         f"  -- sent back by retry or reprocess at {sent[1]}"]
    # a row from before migration 0006 got its intake time as pass_queued_at: no pass
    # is said to have begun then
    with transaction(rt.sessions) as s:
        doc = s.get(Document, doc_id)
        doc.pass_queued_at = doc.received_at
    rt.engine.dispose()
    assert markers() == ["  -- sent back by retry or reprocess"] * 2


def test_show_says_where_an_attempt_left_no_record_because_its_worker_died(tmp_path):
    from datetime import timedelta

    from db import pipeline
    from db.engine import transaction
    from db.models import Stage, StageState, utcnow
    from worker.service import prepare
    from worker.settings import Settings

    rt = prepare(Settings(data_dir=tmp_path))
    with transaction(rt.sessions) as s:
        doc_id = pipeline.take_in(s, sha256="a" * 64, source_path="a.txt",
                                  content=b"a").document_id
    for lost in (True, True, False):  # two claims die with their worker, the third runs
        with transaction(rt.sessions) as s:
            [claim] = pipeline.claim(s, [doc_id], max_attempts=5)
            if lost:
                continue
            started = utcnow()
            pipeline.record_results(s, [pipeline.StageResult(
                doc_id, Stage.CLEAN, claim.attempt, StageState.FAILED, started,
                started + timedelta(milliseconds=1), claim.queued_at, "not text", "binary")],
                worker="host:1", extractor_version="1")
    rt.engine.dispose()
    shown = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "show", str(doc_id)])
    history = shown.output.split("history\n")[1].splitlines()
    assert history[0] == ("  -- clean #1-#2 left no record: its worker was lost (killed, out "
                          "of memory) or could not write its outcome to the database")
    assert history[1].startswith("  clean    #3 failed")
    assert len(history) == 2


def test_a_pass_begins_where_attempts_count_from_one_again_at_an_earlier_stage():
    from worker.cli.results import _begins_a_pass

    def run(stage: str, attempt: int) -> dict[str, Any]:
        return {"stage": stage, "attempt": attempt}

    one_pass = [run("clean", 1), run("extract", 1), run("extract", 2), run("persist", 1)]
    assert not any(_begins_a_pass(r, prev) for prev, r in itertools.pairwise(one_pass))
    assert _begins_a_pass(run("clean", 1), run("persist", 1))  # reprocess
    assert _begins_a_pass(run("extract", 1), run("extract", 3))  # retry of a failed stage
    assert not _begins_a_pass(run("clean", 2), run("clean", 1))  # its worker died: again
    # a retry whose first attempt left no run: its attempts counted from 1 again all the same
    assert _begins_a_pass(run("extract", 2), run("extract", 3))
    assert _begins_a_pass(run("clean", 2), run("extract", 1))


def test_history_lines_name_the_attempts_that_left_no_run_wherever_they_are():
    from worker.cli.results import history_lines

    def run(stage: str, attempt: int) -> dict[str, Any]:
        return {"stage": stage, "attempt": attempt, "state": "failed", "error": None,
                "queued_at": None, "started_at": None, "wait_ms": 1, "duration_ms": 1.0,
                "worker": "w"}

    def doc(stage: str, attempts: int, status: str) -> dict[str, Any]:
        return {"stage": stage, "attempts": attempts, "status": status,
                "pass_queued_at": None}

    def markers(d: dict[str, Any], runs: list[dict[str, Any]]) -> list[str]:
        return [line.split(" left no record")[0] if "left no record" in line else line[:20]
                for line in history_lines(d, runs) if line.startswith("  --")]

    # gave up after five attempts, of which only the first three were written down
    assert markers(doc("clean", 5, "failed"), [run("clean", n) for n in (1, 2, 3)]) == [
        "  -- clean #4-#5"]
    # the attempt under way is not lost; the one before it is
    assert markers(doc("extract", 3, "processing"), [run("clean", 1), run("extract", 1)]) == [
        "  -- extract #2"]
    # a retry's first attempt lost: the pass is marked, then the lost attempt
    assert markers(doc("extract", 2, "failed"),
                   [run("extract", 1), run("extract", 2), run("extract", 2)]) == [
        "  -- sent back by re", "  -- extract #1"]
    assert markers(doc("persist", 1, "done"), [run("clean", 1), run("extract", 1),
                                               run("persist", 1)]) == []


def test_output_piped_to_a_reader_that_stops_early_is_not_a_broker_error():
    # `newsdrop articles | head -1`: once head has its line, writing more fails with
    # EPIPE, which Python reports as a ConnectionError; it must not read as an outage
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before newsdrop writes anything
    try:
        done = subprocess.run([sys.executable, "-m", "worker", "extract", str(SAMPLE)],
                              stdout=write_end, stderr=subprocess.PIPE, text=True,
                              timeout=60)
    finally:
        os.close(write_end)
    assert "cannot reach" not in done.stderr
    assert "Traceback" not in done.stderr
    assert done.returncode != EXIT_UNAVAILABLE


@pytest.mark.parametrize("args", [["articles"], ["db", "upgrade"], ["ingest", str(SAMPLE)]])
def test_a_database_a_newer_newsdrop_migrated_is_refused_with_one_line(tmp_path, args,
                                                                        caplog):
    import logging
    import sqlite3

    upgraded = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    with sqlite3.connect(tmp_path / "newsdrop.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    with caplog.at_level(logging.INFO):
        result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), *args])
    assert result.exit_code == EXIT_USAGE, result.output
    assert "upgrading database schema" not in caplog.text  # nothing it could do
    assert ("the database schema is at revision 0099, newer than this newsdrop knows "
            "(latest ") in result.output
    assert "upgrade newsdrop on this machine" in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    current = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "db", "current"])
    assert "database 0099, latest " in current.output
    assert "a newer newsdrop migrated it" in current.output


def test_two_processes_migrating_a_new_database_at_once_both_succeed(tmp_path):
    # two `newsdrop run` started together on a new data folder: the second used to fail
    # at once with "database is locked" (a deferred SQLite transaction cannot wait)
    for attempt in range(4):
        data = tmp_path / str(attempt)
        procs = [subprocess.Popen([sys.executable, "-m", "worker", "--data-dir", str(data),
                                   "db", "upgrade"], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True) for _ in range(2)]
        results = [(p.wait(timeout=120), p.stdout.read() if p.stdout else "") for p in procs]
        for p in procs:
            if p.stdout:
                p.stdout.close()
        assert [code for code, _ in results] == [0, 0], results


def test_status_watch_stops_on_sigterm_as_on_ctrl_c_with_0(tmp_path):
    import pty
    import select
    import signal
    import time

    CliRunner().invoke(main, ["--data-dir", str(tmp_path), "db", "upgrade"])
    # on a terminal, as it is meant to run: it draws at once there
    reader, terminal = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "worker", "--data-dir", str(tmp_path),
                             "status", "--watch", "--interval", "0.2"],
                            stdout=terminal, stderr=terminal)
    os.close(terminal)
    shown = b""
    try:
        deadline = time.monotonic() + 60
        while b"documents" not in shown and time.monotonic() < deadline:  # drawn once
            if select.select([reader], [], [], 1)[0]:
                shown += os.read(reader, 65536)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        proc.kill()
        os.close(reader)
    assert b"documents" in shown
    assert proc.returncode == 0, shown


@pytest.mark.parametrize("command", [["retry", "1"], ["retry", "--all-failed"],
                                     ["reprocess", "--all"], ["reconcile"],
                                     ["delete", "--yes", "1"]])
def test_commands_that_change_stored_documents_create_no_database(tmp_path, command):
    # run where there is no database (another folder than meant): nothing to change there
    data = tmp_path / "newsdrop-data"
    result = CliRunner().invoke(main, ["--data-dir", str(data), *command])
    assert result.exit_code == EXIT_NOT_FOUND, result.output
    assert f"no newsdrop database at sqlite:///{data}/newsdrop.db" in result.output
    assert not data.exists()


@pytest.mark.postgres
def test_commands_that_change_stored_documents_create_no_tables(postgres_url):
    from sqlalchemy import create_engine, inspect

    result = CliRunner().invoke(main, ["--database-url", postgres_url, "retry",
                                       "--all-failed"])
    assert result.exit_code == EXIT_NOT_FOUND, result.output
    engine = create_engine(postgres_url)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_status_watch_into_a_pipe_writes_each_refresh_as_it_is_made(tmp_path):
    import select
    import signal
    import time

    CliRunner().invoke(main, ["--data-dir", str(tmp_path), "db", "upgrade"])
    proc = subprocess.Popen([sys.executable, "-m", "worker", "--data-dir", str(tmp_path),
                             "status", "--watch", "--interval", "0.2"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    try:
        # two refreshes arrive while it runs, not only when it ends
        written, deadline = b"", time.monotonic() + 60
        while written.count(b"newsdrop status at ") < 2 and time.monotonic() < deadline:
            if select.select([proc.stdout], [], [], 1)[0]:
                written += os.read(proc.stdout.fileno(), 65536)
        assert written.count(b"newsdrop status at ") >= 2, written
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        proc.stdout.close()


def test_delete_asks_first_and_without_a_terminal_needs_yes(tmp_path, monkeypatch):
    from db.engine import reading, transaction
    from db.models import Document, DocumentStatus, Stage, utcnow
    from worker.service import prepare
    from worker.settings import Settings

    # Given a finished document, a duplicate of it and a document a worker holds
    rt = prepare(Settings(data_dir=tmp_path))
    now = utcnow()
    with transaction(rt.sessions) as s:
        s.add_all([
            Document(id=1, sha256="a" * 64, source_path="a.txt", status=DocumentStatus.DONE,
                     stage=Stage.PERSIST, attempts=1, received_at=now, updated_at=now),
            Document(id=2, sha256="a" * 64, source_path="copy.txt", duplicate_of=1,
                     status=DocumentStatus.DUPLICATE, attempts=0, received_at=now,
                     updated_at=now),
            Document(id=3, sha256="b" * 64, source_path="b.txt",
                     status=DocumentStatus.PROCESSING, stage=Stage.CLEAN, attempts=1,
                     received_at=now, updated_at=now)])

    def statuses():
        with reading(rt.sessions) as s:
            return [d.status.value for d in s.query(Document).order_by(Document.id)]

    runner = CliRunner()
    data = ["--data-dir", str(tmp_path)]
    # no terminal to ask on (a script, a pipe): refused unless --yes says so
    result = runner.invoke(main, [*data, "delete", "1"])
    assert result.exit_code == EXIT_USAGE, result.output
    assert "no terminal to ask on: pass --yes" in result.output
    monkeypatch.setattr("worker.cli.operating._can_ask", lambda: True)
    result = runner.invoke(main, [*data, "delete", "1"], input="n\n")
    # the question names each file, and answered no, it deletes nothing
    assert "     1  done      a.txt\n" in result.output
    assert "Delete 1 document (1 done) and 1 duplicate of it, with their bytes, articles " \
        "and history? [y/N]" in result.output
    assert result.exit_code == 1 and "nothing deleted" in result.output
    assert statuses() == ["done", "duplicate", "processing"]
    # the input ended (or Ctrl-C) at the question: interrupted, as the README says
    ended = runner.invoke(main, [*data, "delete", "1"], input="")
    assert ended.exit_code == 130 and "interrupted: nothing deleted" in ended.output
    assert statuses() == ["done", "duplicate", "processing"]

    result = runner.invoke(main, [*data, "delete", "1", "3", "999"], input="y\n")

    # the missing id is named and exits 3; the busy one is named and left alone
    assert result.exit_code == EXIT_NOT_FOUND, result.output
    assert "no document '999' (REF is an id" in result.output
    assert "being processed, left alone: 3" in result.output
    assert "deleted 1 document and 1 duplicate of it" in result.output
    assert statuses() == ["deleted", "deleted", "processing"]
    again = runner.invoke(main, [*data, "delete", "--yes", "1", "3"])
    assert again.exit_code == EXIT_FAILED, again.output
    assert "deleted before: 1" in again.output and "deleted 0 documents" in again.output
    explained = runner.invoke(main, [*data, "show", "1", "--explain"])
    assert explained.exit_code == EXIT_NOT_FOUND
    assert "document 1 was deleted: nothing of it is stored" in explained.output
    rt.engine.dispose()


def test_ingest_of_the_folder_holding_the_data_folder_leaves_newsdrop_own_files_out(
        tmp_path, monkeypatch, caplog):
    import logging

    from db.engine import reading
    from db.models import Document
    from worker.service import prepare
    from worker.settings import Settings

    # Given the default layout: an inbox and newsdrop's data folder side by side, with a
    # database, queued messages and an archived file in it
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "a.txt").write_bytes(SAMPLE.read_bytes())
    runner = CliRunner()
    with caplog.at_level(logging.INFO):
        first = runner.invoke(main, ["ingest", "inbox"])
    assert first.exit_code == 0, first.output
    # a database made where none was is said plainly: the data folder is relative
    assert (f"created a new, empty database at sqlite:///{tmp_path}/newsdrop-data/"
            "newsdrop.db") in caplog.text
    archived = tmp_path / "newsdrop-data" / "archive" / "old.txt"
    archived.parent.mkdir()
    archived.write_bytes(SAMPLE.read_bytes() + b"\nAn older edition.\n")
    # a story whose name begins as the database's does is no journal of it
    story = tmp_path / "newsdrop-data" / "newsdrop.db-story.txt"
    story.write_bytes(SAMPLE.read_bytes() + b"\nA story kept beside the database.\n")

    # When the whole folder is ingested, twice (the database has changed in between)
    for _ in range(2):
        result = runner.invoke(main, ["ingest", "."])
        assert result.exit_code == 0, result.output
        assert "of newsdrop's own (the database and queue of a newsdrop data folder)" \
            in result.output

    # Then only the inbox's file and the archived one are documents
    rt = prepare(Settings())
    with reading(rt.sessions) as s:
        assert sorted(d.source_path for d in s.query(Document)) == [
            str(archived), str(story), "a.txt"]
    rt.engine.dispose()


def test_an_article_whose_file_changed_since_names_the_newer_edition(tmp_path):
    # Given a.txt taken in, then taken in again after its story was updated
    _processed(tmp_path, ("a.txt", SAMPLE.read_bytes()),
               ("a.txt", SAMPLE.read_bytes() + b"\nUpdated at noon.\n"))
    runner = CliRunner()
    data_dir = ["--data-dir", str(tmp_path)]

    # Then the listing marks the older edition, and --latest leaves it out
    listing = runner.invoke(main, [*data_dir, "articles"])
    assert listing.exit_code == 0, listing.output
    lines = listing.output.splitlines()
    assert [line.split()[0] for line in lines] == ["2", "1"]
    assert lines[1].endswith("[newer: 2]") and "[newer" not in lines[0]
    latest = runner.invoke(main, [*data_dir, "articles", "--latest", "--json"])
    assert [(a["id"], a["newer_edition"]) for a in json.loads(latest.output)] == [(2, None)]
    shown = runner.invoke(main, [*data_dir, "show", "1"])
    assert "  newer_edition: 2\n" in shown.output
    searched = runner.invoke(main, [*data_dir, "search", "Leiderman"]).output.splitlines()
    assert [line.split()[0] for line in searched[::2]] == ["2", "1"]
    assert searched[2].endswith("[newer: 2]") and "[newer" not in searched[0]
    exported = runner.invoke(main, [*data_dir, "export", "--latest"])
    assert [json.loads(line)["document_id"] for line in exported.output.splitlines()] == [2]


def test_article_dates_take_an_age_as_failures_does(tmp_path):
    # Given the sample, published in 2011, taken in just now
    _processed(tmp_path, ("a.txt", SAMPLE.read_bytes()))

    def listed(*args: str) -> list[int]:
        result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "articles", "--json",
                                           *args])
        assert result.exit_code == 0, result.output
        return [a["id"] for a in json.loads(result.output)]

    # Then an age reaches back from now, for when it was published and when it came in
    assert listed("--since", "7d") == [] and listed("--until", "30m") == [1]
    assert listed("--received-since", "2h") == [1]
    bad = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "articles", "--since", "2x"])
    assert bad.exit_code == 2
    assert "'2x' is not a date (YYYY-MM-DD), an ISO 8601 time or an age" in bad.output


def _processed(data_dir: Path, *files: tuple[str, bytes]) -> None:
    """Files taken in and run through every stage, as a worker would, into `data_dir`."""
    import hashlib

    from db import pipeline
    from db.engine import transaction
    from tasks.runner import RunnerOptions, run_batch
    from worker.service import prepare
    from worker.settings import Settings

    rt = prepare(Settings(data_dir=data_dir))
    for name, data in files:
        with transaction(rt.sessions) as s:
            [taken] = pipeline.take_in_many(s, [pipeline.Incoming(
                hashlib.sha256(data).hexdigest(), name, data, len(data))])
        run_batch(rt.sessions, [taken.document_id], options=RunnerOptions(), worker="t")
    rt.engine.dispose()


def test_show_finds_a_file_as_the_shell_names_it(tmp_path, monkeypatch):
    # Given inbox/wire/a.txt taken in (as wire/a.txt, below the inbox)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEWSDROP_INBOX", raising=False)
    data = tmp_path / "newsdrop-data"
    (tmp_path / "inbox" / "wire").mkdir(parents=True)
    (tmp_path / "inbox" / "wire" / "a.txt").write_bytes(SAMPLE.read_bytes())
    _processed(data, ("wire/a.txt", SAMPLE.read_bytes()))

    def shown(ref: str) -> Any:
        return CliRunner().invoke(main, ["--data-dir", str(data), "show", ref, "--json"])

    # Then its stored name, its path from here and its absolute path all find it
    for ref in ("wire/a.txt", "inbox/wire/a.txt", "./inbox/wire/a.txt",
                str(tmp_path / "inbox" / "wire" / "a.txt")):
        result = shown(ref)
        assert result.exit_code == 0, (ref, result.output)
        assert json.loads(result.output)["document"]["source_path"] == "wire/a.txt"
    # and a file never taken in is not found (exit 3), whatever it is named like
    for ref in ("inbox/wire/b.txt", "report", "8fe3"):
        missing = shown(ref)
        assert missing.exit_code == EXIT_NOT_FOUND, missing.output
        assert f"no document {ref!r} (REF is an id, 6 or more hex digits" in missing.output


def test_delete_reads_digits_as_an_id_only_never_as_the_start_of_a_hash(tmp_path):
    from db.engine import reading, transaction
    from db.models import Document, DocumentStatus, Stage, utcnow
    from worker.service import prepare
    from worker.settings import Settings

    # Given one document, whose hash starts with digits
    rt = prepare(Settings(data_dir=tmp_path))
    now = utcnow()
    with transaction(rt.sessions) as s:
        s.add(Document(id=1, sha256="1234567" + "a" * 57, source_path="a.txt",
                       status=DocumentStatus.DONE, stage=Stage.PERSIST, attempts=1,
                       received_at=now, updated_at=now))

    # When ids that name no document are piped in, some of them such digits
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "delete", "--yes",
                                       "123456", "1234567", "0001"])

    # Then nothing is deleted, and each is said to name nothing
    assert result.exit_code == EXIT_NOT_FOUND, result.output
    assert "no document '123456'" in result.output and "deleted 0 documents" in result.output
    assert "an id is written without leading zeros: `newsdrop delete 1`" in result.output
    with reading(rt.sessions) as s:
        assert s.get(Document, 1).status is DocumentStatus.DONE
    rt.engine.dispose()


def test_delete_takes_a_hash_prefix_or_a_file_as_show_does(tmp_path, monkeypatch):
    import hashlib

    from db.engine import reading
    from db.models import Document
    from worker.service import prepare
    from worker.settings import Settings

    # Given two editions of inbox/wire/a.txt, b.txt and a copy of it, and c.txt
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEWSDROP_INBOX", raising=False)
    data = tmp_path / "newsdrop-data"
    (tmp_path / "inbox" / "wire").mkdir(parents=True)
    first, second = SAMPLE.read_bytes(), SAMPLE.read_bytes() + b"\nA later edition.\n"
    (tmp_path / "inbox" / "wire" / "a.txt").write_bytes(second)
    other = SAMPLE.read_bytes() + b"\nAnother story.\n"
    _processed(data, ("wire/a.txt", first), ("wire/a.txt", second), ("b.txt", other),
               ("copy-of-b.txt", other), ("c.txt", SAMPLE.read_bytes() + b"\nA third.\n"))

    def delete(*refs: str) -> Any:
        return CliRunner().invoke(main, ["--data-dir", str(data), "delete", "--yes", *refs])

    def statuses() -> dict[str, list[str]]:
        rt = prepare(Settings(data_dir=data))
        with reading(rt.sessions) as s:
            found: dict[str, list[str]] = {}
            for d in s.query(Document).order_by(Document.id):
                found.setdefault(d.source_path, []).append(d.status.value)
        rt.engine.dispose()
        return found

    # When b.txt is named by a prefix of its hash: it goes, and its copy with it
    by_hash = delete(hashlib.sha256(other).hexdigest()[:8])
    assert by_hash.exit_code == 0, by_hash.output
    assert "deleted 1 document and 1 duplicate of it" in by_hash.output
    # a file, as the shell names it, names every edition taken in from it
    by_file = delete("inbox/wire/a.txt")
    assert by_file.exit_code == 0, by_file.output
    assert "deleted 2 documents" in by_file.output
    assert statuses() == {"wire/a.txt": ["deleted", "deleted"], "b.txt": ["deleted"],
                          "copy-of-b.txt": ["deleted"], "c.txt": ["done"]}
    # a reference to nothing is named (exit 3), and what it does name is deleted
    mixed = delete("0005", "c.txt")
    assert mixed.exit_code == EXIT_NOT_FOUND, mixed.output
    assert "no document '0005' (an id is written without leading zeros: " \
        "`newsdrop delete 5`)" in mixed.output
    assert "deleted 1 document" in mixed.output and statuses()["c.txt"] == ["deleted"]
    # a file whose editions are all deleted already says so
    again = delete("wire/a.txt")
    assert again.exit_code == 0 and "deleted before: 1 2" in again.output
    # and shown, a deleted document has no history (its runs are kept as counts only)
    shown = CliRunner().invoke(main, ["--data-dir", str(data), "show", "1", "--json"])
    assert json.loads(shown.stdout)["history"] == []


def test_a_rejected_file_says_where_it_was_moved_and_how_to_take_it_in_again(
        tmp_path, monkeypatch, caplog):
    import logging

    from worker.service import make_intake, prepare
    from worker.settings import Settings

    # Given two files of one name rejected in turn, the second moved beside the first
    data, inbox = tmp_path / "newsdrop-data", tmp_path / "inbox"
    inbox.mkdir()
    monkeypatch.setenv("NEWSDROP_INBOX", str(inbox))
    rt = prepare(Settings(data_dir=data, inbox=inbox, max_file_bytes=1000))
    intake = make_intake(rt)
    ids = []
    with caplog.at_level(logging.INFO, logger="worker.intake"):
        for filler in (b"x", b"y"):
            (inbox / "big.txt").write_bytes(filler * 2000)
            [outcome] = intake.take([inbox / "big.txt"])
            ids.append(outcome.document_id)
    rt.engine.dispose()
    rejected = data / "rejected"
    assert f"moved {inbox / 'big.txt'} to {rejected / 'big.1.txt'}" in caplog.text

    def run(*args: str) -> Any:
        return CliRunner().invoke(main, ["--data-dir", str(data), *args])

    # Then show names the place of each, by its own sidecar
    assert f"  moved to: {rejected / 'big.txt'}\n" in run("show", str(ids[0])).output
    assert f"  moved to: {rejected / 'big.1.txt'}\n" in run("show", str(ids[1])).output
    # and retry, which cannot take it, says what will
    retried = run("retry", str(ids[0]))
    assert f"not failed, left alone: {ids[0]} (rejected)" in retried.output
    assert "a rejected file was never stored: mend what refused it (`newsdrop show ID` " \
        "says) and `newsdrop ingest` the file again\n" in retried.output
    assert f"{ids[0]:>6}  big.txt: now at {rejected / 'big.txt'}\n" in retried.output


def test_search_past_its_last_hit_says_how_many_match(tmp_path):
    data = tmp_path / "newsdrop-data"
    _processed(data, ("a.txt", SAMPLE.read_bytes()),
               ("b.txt", SAMPLE.read_bytes() + b"\nAnother copy.\n"))

    def search(*args: str) -> Any:
        return CliRunner().invoke(main, ["--data-dir", str(data), "search", *args])

    past = search("Leiderman", "--offset", "2")
    assert past.exit_code == 0, past.output
    assert "no articles at offset 2: 2 articles match 'Leiderman', at offsets 0 to 1" \
        in past.output
    assert "no articles match 'nowhere'" in search("nowhere", "--offset", "2").output


def test_show_of_a_file_says_it_was_taken_in_again_with_no_article(tmp_path):
    # Given a.txt processed, then changed into bytes that hold no article
    data = tmp_path / "newsdrop-data"
    _processed(data, ("a.txt", SAMPLE.read_bytes()), ("a.txt", b"\x00\x01binary" * 50))

    result = CliRunner().invoke(main, ["--data-dir", str(data), "show", "a.txt", "--json"])

    # Then the article shown is the one it held, and a note on stderr says what followed
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["document"]["id"] == 1
    assert "note: a.txt was taken in again as document 2, which failed (binary): " \
        "`newsdrop show 2`" in result.stderr
    # the failed edition itself has nothing later to note
    assert "note:" not in CliRunner().invoke(
        main, ["--data-dir", str(data), "show", "2"]).stderr


def test_show_prefers_the_file_named_from_here_and_finds_one_moved_out(tmp_path, monkeypatch):
    # Given inbox/a.txt and inbox/wire/a.txt taken in, and inbox/wire/b.txt moved out
    data, inbox = tmp_path / "newsdrop-data", tmp_path / "inbox"
    monkeypatch.setenv("NEWSDROP_INBOX", str(inbox))
    (inbox / "wire").mkdir(parents=True)
    (inbox / "wire" / "a.txt").write_bytes(SAMPLE.read_bytes() + b"\nThe wire's copy.\n")
    monkeypatch.chdir(tmp_path)
    _processed(data, ("a.txt", SAMPLE.read_bytes()),
               ("wire/a.txt", SAMPLE.read_bytes() + b"\nThe wire's copy.\n"),
               ("wire/b.txt", SAMPLE.read_bytes() + b"\nMoved to the archive since.\n"))

    def shown_path(ref: str) -> str:
        result = CliRunner().invoke(main, ["--data-dir", str(data), "--log-level", "error",
                                           "show", ref, "--json"])
        assert result.exit_code == 0, (ref, result.output)
        return json.loads(result.output)["document"]["source_path"]

    assert shown_path("a.txt") == "a.txt"  # from the project's folder: the stored name
    assert shown_path("inbox/wire/b.txt") == "wire/b.txt"  # no longer there
    monkeypatch.chdir(inbox / "wire")
    assert shown_path("a.txt") == "wire/a.txt"  # the file here, not inbox/a.txt
