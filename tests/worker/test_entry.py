"""entry: the `newsdrop` command's entry point, before the command line is loaded."""

from __future__ import annotations

import builtins
import sys

import pytest

from worker import entry


def test_ctrl_c_while_the_command_loads_ends_it_as_ctrl_c_does_later(monkeypatch, capsys):
    real_import = builtins.__import__

    def interrupted_import(name, *args, **kwargs):
        if name == "worker.cli":
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "worker.cli", raising=False)
    monkeypatch.setattr(builtins, "__import__", interrupted_import)
    with pytest.raises(SystemExit) as exited:
        entry.main()
    assert exited.value.code == entry.EXIT_INTERRUPTED
    assert capsys.readouterr().err == "Error: interrupted\n"


def test_the_entry_point_runs_the_command_line(monkeypatch, capsys):
    from worker.cli import EXIT_INTERRUPTED

    monkeypatch.setattr(sys, "argv", ["newsdrop", "--version"])
    with pytest.raises(SystemExit) as exited:
        entry.main()
    assert exited.value.code == 0
    assert "newsdrop" in capsys.readouterr().out
    assert entry.EXIT_INTERRUPTED == EXIT_INTERRUPTED
