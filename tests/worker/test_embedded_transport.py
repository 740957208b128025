"""The embedded broker carries every message whole between processes, under load."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from time import monotonic

import pytest
from celery.worker import state
from kombu import Connection

from worker.embedded_transport import TRANSPORT

COUNT = 400


def connection(folder):
    return Connection("filesystem://localhost/", transport=TRANSPORT, transport_options={
        "data_folder_in": str(folder), "data_folder_out": str(folder),
        "control_folder": str(folder / "control"), "polling_interval": 0.001})


def test_messages_written_by_another_process_are_never_read_half_written(tmp_path):
    folder = tmp_path / "queue"
    (folder / "control").mkdir(parents=True)
    producer = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        from kombu import Connection
        conn = Connection("filesystem://localhost/", transport={TRANSPORT!r},
                          transport_options={{"data_folder_in": {str(folder)!r},
                                             "data_folder_out": {str(folder)!r},
                                             "control_folder": {str(folder / "control")!r}}})
        q = conn.SimpleQueue("q")
        for i in range({COUNT}):
            q.put({{"n": i, "pad": "x" * 20000}})
    """)])
    received = []
    with connection(folder) as conn:
        queue = conn.SimpleQueue("q")
        while len(received) < COUNT:
            message = queue.get(timeout=30)  # a half-written file would fail to decode here
            received.append(message.payload["n"])
            message.ack()
    assert producer.wait(timeout=30) == 0
    assert sorted(received) == list(range(COUNT))


def test_a_wait_for_messages_ends_once_the_worker_is_stopping(tmp_path, monkeypatch):
    # Celery's worker loop looks for a stop request only between waits of up to 2 s
    folder = tmp_path / "queue"
    (folder / "control").mkdir(parents=True)
    with connection(folder) as conn:
        queue = conn.SimpleQueue("q")
        started = monotonic()
        with pytest.raises(queue.Empty):
            queue.get(timeout=0.3)
        assert monotonic() - started >= 0.3  # otherwise a wait lasts as long as asked
        monkeypatch.setattr(state, "should_stop", 0)  # a warm shutdown, exit code 0
        started = monotonic()
        with pytest.raises(queue.Empty):
            queue.get(timeout=10)
        assert monotonic() - started < 2
