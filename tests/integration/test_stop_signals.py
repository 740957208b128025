"""SIGTERM to the whole process group, with the embedded broker: every process exits.

`timeout`, `kill -- -PGID` and systemd's default KillMode=control-group signal all of a
service's processes at once, the pool processes too. The worker used to hang for good
after its warm shutdown in most such stops: a pool process died owning the lock of the
pipe the pool hands out work through, and the pool's finalizer waited for that lock.
Each round starts the command afresh, so that one test sees several stops.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from functools import partial
from pathlib import Path

import pytest

from tests.conftest import Processes, pipeline_env, wait_for

pytestmark = pytest.mark.slow

ROUNDS = 3
#: pool processes: the more wait for work, the likelier one of them took the lock as it died
CONCURRENCY = "6"
#: a stop takes a few seconds; the hang this guards against lasted until killed
STOP_TIMEOUT_S = 20


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize("command", [["worker", "-c", CONCURRENCY], ["run", "-c", CONCURRENCY]],
                         ids=["worker", "run"])
def test_sigterm_to_the_process_group_stops_every_process(
        command: list[str], processes: Processes, tmp_path: Path) -> None:
    processes.env = pipeline_env(tmp_path, database_url=None, broker_url=None)
    for round_ in range(ROUNDS):
        proc = processes.start(command[0], *command)
        processes.wait_log(proc, " ready.", 60)
        if command[0] == "run":
            processes.wait_log(proc, "watching ", 30)
        time.sleep(1)  # pool processes waiting for work: where the signal cost the lock
        proc.kill_group(signal.SIGTERM)
        try:
            code = proc.popen.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"round {round_ + 1}: `newsdrop {command[0]}` still running "
                        f"{STOP_TIMEOUT_S} s after SIGTERM to its process group\n"
                        f"{processes.logs()}")
        assert code == 0, f"round {round_ + 1}: exit code {code}\n{processes.logs()}"
        wait_for(partial(_group_gone, proc.pid), 5,
                 message=f"round {round_ + 1}: the pool processes to exit too")
