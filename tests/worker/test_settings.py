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
    (["run", "--inbox", "{file}/inbox"], "cannot create the inbox {file}/inbox: "),
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
