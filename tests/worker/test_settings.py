"""Settings that cannot work together are refused before anything starts."""

from __future__ import annotations

import click
import pytest

from worker.settings import Settings, SettingsError


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
    with pytest.raises(SettingsError, match=what) as err:
        settings.check_folders()
    assert isinstance(err.value, click.ClickException)  # the CLI prints it without a trace


def test_watch_refuses_an_inbox_that_holds_the_data_folder(tmp_path):
    from click.testing import CliRunner

    from worker.cli import main

    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path / "newsdrop-data"),
                                       "watch", "--no-event-check", str(tmp_path)])
    assert result.exit_code == 1
    assert "is inside the inbox" in result.output
    assert not isinstance(result.exception, SettingsError)  # handled, not a traceback
