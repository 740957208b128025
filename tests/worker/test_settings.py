"""Settings that cannot work together are refused before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.settings import Settings, SettingsError, load_settings


def test_separate_inbox_and_data_folder_are_fine(tmp_path):
    Settings(inbox=tmp_path / "inbox", data_dir=tmp_path / "newsdrop-data").check_folders()


@pytest.mark.parametrize("inbox,data,extra,what", [
    (".", "newsdrop-data", {}, "data folder"),  # `newsdrop watch .`
    ("x", "x", {}, "data folder"),
    ("inbox", "data", {"archive_dir": "inbox/archive"}, "archive folder"),
    ("inbox", "data", {"rejected_dir": "inbox/rejected"}, "rejected folder"),
    ("data/inbox", "data", {}, "inside the data folder"),
])
def test_an_inbox_overlapping_a_folder_newsdrop_writes_is_refused(tmp_path, inbox, data,
                                                                  extra, what):
    settings = Settings(inbox=tmp_path / inbox, data_dir=tmp_path / data,
                        **{k: tmp_path / v for k, v in extra.items()})
    with pytest.raises(SettingsError, match=what):
        settings.check_folders()


def test_watch_refuses_an_inbox_that_holds_the_data_folder(tmp_path):
    from click.testing import CliRunner

    from worker.cli import EXIT_USAGE, main

    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path / "newsdrop-data"),
                                       "watch", "--no-event-check", str(tmp_path)])
    assert result.exit_code == EXIT_USAGE
    assert "is inside the inbox" in result.output
    assert not isinstance(result.exception, SettingsError)  # handled, not a traceback


def test_time_limits_must_fit_inside_the_lease(monkeypatch):
    monkeypatch.setenv("NEWSDROP_LEASE_S", "60")
    with pytest.raises(SettingsError, match="NEWSDROP_HARD_TIME_LIMIT_S < NEWSDROP_LEASE_S"):
        load_settings()
    monkeypatch.setenv("NEWSDROP_SOFT_TIME_LIMIT_S", "30")
    monkeypatch.setenv("NEWSDROP_HARD_TIME_LIMIT_S", "45")
    assert load_settings().lease_s == 60


def test_a_malformed_value_names_its_variable(monkeypatch):
    monkeypatch.setenv("NEWSDROP_BATCH_SIZE", "many")
    with pytest.raises(SettingsError, match="NEWSDROP_BATCH_SIZE"):
        load_settings()


@pytest.mark.parametrize("env", [{"NEWSDROP_BATCH_SIZE": "abc"}, {"NEWSDROP_LEASE_S": "60"}])
def test_a_bad_environment_value_is_a_configuration_error_exit_2(tmp_path, env):
    from click.testing import CliRunner

    from worker.cli import EXIT_USAGE, main

    result = CliRunner(env=env).invoke(main, ["--data-dir", str(tmp_path), "status"])
    assert result.exit_code == EXIT_USAGE, result.output
    assert result.output.startswith("Error: invalid configuration: ")
    assert next(iter(env)) in result.output
    assert "Traceback" not in result.output


def test_a_folder_that_is_a_file_is_refused(tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    with pytest.raises(SettingsError, match="the inbox .*a-file is a file, not a folder"):
        Settings(inbox=a_file, data_dir=tmp_path / "data").check_folders()
    with pytest.raises(SettingsError, match="the rejected folder .*a-file is a file"):
        Settings(inbox=tmp_path / "inbox", data_dir=tmp_path / "data",
                 rejected_dir=a_file).check_folders()


@pytest.mark.parametrize("args,message", [
    (["run", "--inbox", "{file}"], "the inbox {file} is a file, not a folder"),
    (["--data-dir", "{file}", "run"], "the data folder {file} is a file, not a folder"),
    (["--data-dir", "{file}", "ingest", "{sample}"], "the data folder {file} is a file"),
    (["--data-dir", "{file}/data", "run"], "cannot create the data folder {file}/data: "),
    (["--data-dir", "{file}/data", "ingest", "{sample}"], "cannot create the data folder"),
    (["--data-dir", "{file}/data", "db", "upgrade"],
     "cannot create the data folder {file}/data: Not a directory. Point --data-dir "
     "(NEWSDROP_DATA_DIR) elsewhere."),
    (["run", "--inbox", "{file}/inbox"], "cannot create the inbox {file}/inbox: Not a "
                                         "directory. Point NEWSDROP_INBOX (or run's --inbox, "
                                         "watch's INBOX) elsewhere."),
    (["watch", "--no-event-check", "{file}/inbox"], "cannot create the inbox {file}/inbox"),
    pytest.param(["--data-dir", "/proc/newsdrop-data", "ingest", "{sample}"],
                 "cannot create the data folder /proc/newsdrop-data: ",
                 marks=pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="no /proc")),
])
def test_a_folder_that_cannot_be_one_is_a_usage_error(tmp_path, monkeypatch, args, message):
    from click.testing import CliRunner

    import worker.service
    from worker.cli import EXIT_USAGE, main

    def started(*_args, **_kwargs):
        raise AssertionError("newsdrop run started with a folder it cannot use")

    monkeypatch.setattr(worker.service, "run_all", started)
    monkeypatch.chdir(tmp_path)
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    sample = Path(__file__).parents[1] / "fixtures" / "sample_seed.txt"
    fill = {"file": str(a_file), "sample": str(sample)}
    if "--data-dir" not in args:
        args = ["--data-dir", str(tmp_path / "data"), *args]
    result = CliRunner().invoke(main, [a.format(**fill) for a in args])
    assert result.exit_code == EXIT_USAGE, result.output
    assert result.output.startswith(f"Error: {message.format(**fill)}"), result.output
    assert "watching" not in result.output


@pytest.mark.parametrize("env,named", [
    # each of these used to start: a busy loop, a crash in watchfiles, or nothing taken
    ({"NEWSDROP_RESCAN_INTERVAL_S": "0"}, "NEWSDROP_RESCAN_INTERVAL_S: 0 is out of range: "
                                          "it takes 1 to 86400 s"),
    ({"NEWSDROP_RECONCILE_INTERVAL_S": "0"}, "NEWSDROP_RECONCILE_INTERVAL_S: 0 is out of"),
    ({"NEWSDROP_DEBOUNCE_MS": "-1"}, "NEWSDROP_DEBOUNCE_MS: -1 is out of range: it takes 0 "
                                     "to 10000 ms"),
    ({"NEWSDROP_MAX_FILE_BYTES": "0"}, "NEWSDROP_MAX_FILE_BYTES: 0 is out of range: it "
                                       "takes 1 to 1000000000 bytes"),
    ({"NEWSDROP_MAX_FILE_BYTES": "-5"}, "NEWSDROP_MAX_FILE_BYTES: -5 is out of range"),
    ({"NEWSDROP_SETTLE_MS": "-1"}, "NEWSDROP_SETTLE_MS: -1 is out of range"),
    ({"NEWSDROP_MAX_ATTEMPTS": "0"}, "NEWSDROP_MAX_ATTEMPTS: 0 is out of range: it takes 1 "
                                     "to 100"),
    ({"NEWSDROP_BOILERPLATE_MIN_DOCS": "0"}, "NEWSDROP_BOILERPLATE_MIN_DOCS: 0 is out of "
                                             "range: it takes 2 to 1000000"),
    ({"NEWSDROP_POLL_INTERVAL_MS": "0"}, "NEWSDROP_POLL_INTERVAL_MS: 0 is out of range"),
    ({"NEWSDROP_BATCH_SIZE": "0"}, "NEWSDROP_BATCH_SIZE: 0 is out of range"),
    ({"NEWSDROP_CONCURRENCY": "-2"}, "NEWSDROP_CONCURRENCY: -2 is out of range"),
    ({"NEWSDROP_LEASE_S": "99999999999"}, "NEWSDROP_LEASE_S: 99999999999 is out of range"),
    ({"NEWSDROP_RETRY_BASE_S": "0"}, "NEWSDROP_RETRY_BASE_S: 0 is out of range: it takes "
                                     "0.1 to 3600 s"),
    ({"NEWSDROP_RETRY_MAX_S": "nan"}, "NEWSDROP_RETRY_MAX_S: nan is out of range"),
    ({"NEWSDROP_RETRY_MAX_S": "inf"}, "NEWSDROP_RETRY_MAX_S: inf is out of range"),
    ({"NEWSDROP_RETRY_BASE_S": "10", "NEWSDROP_RETRY_MAX_S": "1"},
     "need NEWSDROP_RETRY_BASE_S <= NEWSDROP_RETRY_MAX_S, got 10 > 1"),
    ({"NEWSDROP_AFTER_INTAKE": "shred"}, "NEWSDROP_AFTER_INTAKE: 'shred' is not valid: Input "
                                         "should be 'keep', 'move' or 'delete'"),
])
def test_a_value_that_cannot_work_is_refused_naming_variable_value_and_range(
        monkeypatch, env, named):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert named in str(refused.value)
    assert "\n" not in str(refused.value)


def test_every_numeric_setting_has_a_range_its_default_lies_in():
    from worker.settings import RANGES

    numeric = {name for name, field in Settings.model_fields.items()
               if field.annotation in (int, float)}
    assert set(RANGES) == numeric
    defaults = Settings()
    for name, (low, high, _unit) in RANGES.items():
        assert low <= getattr(defaults, name) <= high, name


def test_the_ends_of_each_range_are_accepted(monkeypatch):
    from worker.settings import RANGES

    for end in (0, 1):
        with monkeypatch.context() as m:
            for name, bounds in RANGES.items():
                m.setenv(f"NEWSDROP_{name.upper()}", str(bounds[end]))
            # the relations between them hold at the ends that make sense together
            m.setenv("NEWSDROP_SOFT_TIME_LIMIT_S", "1" if end == 0 else "86398")
            m.setenv("NEWSDROP_HARD_TIME_LIMIT_S", "2" if end == 0 else "86399")
            m.setenv("NEWSDROP_LEASE_S", "3" if end == 0 else "604800")
            m.setenv("NEWSDROP_RETRY_BASE_S", "0.1" if end == 0 else "3600")
            load_settings()


def test_the_readme_states_every_range():
    from worker.settings import RANGES, _number

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1]: line for line in readme.splitlines()
            if line.startswith("| `NEWSDROP_")}
    for name, (low, high, _unit) in RANGES.items():
        [row] = [line for names, line in rows.items() if f"`NEWSDROP_{name.upper()}`" in names]
        allowed = row.split("|")[3]
        assert f"{_number(low)} to {_number(high)}" in allowed, (name, allowed)


def test_watch_with_intervals_that_would_spin_exits_2_before_starting(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import worker.service
    from worker.cli import EXIT_USAGE, main

    def started(*_args, **_kwargs):
        raise AssertionError("the watcher started")

    monkeypatch.setattr(worker.service, "watch", started)
    result = CliRunner(env={"NEWSDROP_RESCAN_INTERVAL_S": "0",
                            "NEWSDROP_RECONCILE_INTERVAL_S": "0"}).invoke(
        main, ["--data-dir", str(tmp_path / "data"), "watch", "--no-event-check",
               str(tmp_path / "inbox")])
    assert result.exit_code == EXIT_USAGE, result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith("Error: invalid configuration: NEWSDROP_RESCAN_INTERVAL_S: 0 ")
    assert "NEWSDROP_RECONCILE_INTERVAL_S: 0 is out of range" in line


def test_an_empty_value_means_the_default(monkeypatch):
    for name in ("API_TOKEN", "INBOX", "DATA_DIR", "BATCH_SIZE", "POLL", "AFTER_INTAKE",
                 "DATABASE_URL"):
        monkeypatch.setenv(f"NEWSDROP_{name}", "")
    settings = load_settings()
    assert settings.api_token is None
    assert settings.inbox == Path("inbox") and settings.data_dir == Path("newsdrop-data")
    assert settings.batch_size == 100 and settings.poll is False
    assert settings.resolved_database_url.startswith("sqlite:///")


def test_serve_takes_the_empty_token_of_a_copied_env_example_as_unset(tmp_path, monkeypatch):
    """`cp .env.example .env` leaves `NEWSDROP_API_TOKEN=`: serving on loopback, which
    needs no token, must not refuse it as a token 0 characters long."""
    from click.testing import CliRunner

    import worker.api
    from worker.cli import main
    from worker.service import prepare

    example = (Path(__file__).parents[2] / ".env.example").read_text(encoding="utf-8")
    assert "\nNEWSDROP_API_TOKEN=\n" in example
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(example, encoding="utf-8")
    monkeypatch.delenv("NEWSDROP_API_TOKEN", raising=False)
    prepare(Settings(data_dir=tmp_path / "data")).engine.dispose()
    served: list[str | None] = []
    monkeypatch.setattr(worker.api, "listen", lambda host, port: [])
    monkeypatch.setattr(worker.api, "serve", lambda rt, **kw: served.append(kw["token"]))
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path / "data"), "serve"])
    assert result.exit_code == 0, result.output
    assert served == [None] and "no token" in result.output


@pytest.mark.postgres
def test_a_postgres_url_as_heroku_writes_it_is_used_as_postgresql(postgres_url, tmp_path):
    from click.testing import CliRunner

    from worker.cli import main

    bare = postgres_url.replace("postgresql+psycopg://", "postgres://", 1)
    assert load_settings(database_url=bare).database_url == postgres_url
    result = CliRunner(env={"NEWSDROP_DATABASE_URL": bare}).invoke(
        main, ["--data-dir", str(tmp_path), "db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("database at revision ")


def test_a_newsdrop_variable_no_setting_reads_is_named_with_its_likely_spelling(tmp_path):
    from worker.settings import unknown_variables

    env_file = tmp_path / ".env"
    env_file.write_text("NEWSDROP_INBOX_DIR=./inbox\nNEWSDROP_BACTH_SIZE=50\n"
                        "export NEWSDROP_LEASE_S=60\nPOSTGRES_USER=newsdrop\n")
    environ = {"NEWSDROP_DATABSE_URL": "sqlite:///x.db", "NEWSDROP_SHINY": "1",
               "NEWSDROP_INBOX": "in", "NEWSDROP_TEST_REDIS_URL": "redis://",
               "NEWSDROP_BENCH_DATABASE_URL": "postgresql://", "HOME": "/",
               "NEWSDROP_X": "1", "NEWSDROP_LEASE": "60", "NEWSDROP_TOKEN": "t",
               "NEWSDROP_DB_URL": "sqlite://", "NEWSDROP_URL": "u"}
    assert unknown_variables(environ, env_file) == [
        ("NEWSDROP_BACTH_SIZE", "NEWSDROP_BATCH_SIZE"),
        ("NEWSDROP_DATABSE_URL", "NEWSDROP_DATABASE_URL"),
        ("NEWSDROP_DB_URL", "NEWSDROP_DATABASE_URL"),
        ("NEWSDROP_LEASE", "NEWSDROP_LEASE_S"),
        ("NEWSDROP_SHINY", None),
        ("NEWSDROP_TOKEN", "NEWSDROP_API_TOKEN"),
        ("NEWSDROP_URL", None),  # in two settings' names: which one is not to be told
        ("NEWSDROP_X", None),  # the prefix alone makes no likeness
    ]


def test_every_command_warns_of_a_misspelt_setting(tmp_path, monkeypatch, caplog):
    from click.testing import CliRunner

    from worker.cli import main

    monkeypatch.setenv("NEWSDROP_MAX_FILE_BYTE", "1000")
    with caplog.at_level("WARNING"):
        result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "db", "current"])
    assert result.exit_code == 0, result.output
    assert ("NEWSDROP_MAX_FILE_BYTE is not a newsdrop setting and is ignored (did you mean "
            "NEWSDROP_MAX_FILE_BYTES?)") in caplog.messages


def test_run_warns_of_a_misspelt_setting_once_not_again_in_its_worker(processes, tmp_path):
    # `run` starts its worker as a child process, which reads the same environment
    processes.env = {"NEWSDROP_DATA_DIR": str(tmp_path / "data"),
                     "NEWSDROP_INBOX": str(tmp_path / "inbox")}
    run = processes.start("run", "run", "-c", "1", env={"NEWSDROP_MAX_FILE_BYTE": "1000"})
    processes.wait_log(run, " ready.", 60)  # the worker child is up
    assert run.text().count("NEWSDROP_MAX_FILE_BYTE is not a newsdrop setting") == 1, \
        run.text()
