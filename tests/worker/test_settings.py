"""Settings that cannot work together are refused before anything starts."""

from __future__ import annotations

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
