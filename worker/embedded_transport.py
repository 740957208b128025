"""The embedded broker: kombu's filesystem transport, with messages written atomically.

kombu's writer creates `<id>.<queue>.msg` and only then writes the payload, while a
reader in another process may already move and read the file; it then reads nothing,
fails to decode it and stops the worker's consumer. Here a message is written under a
name no reader looks at and renamed into place, which is atomic on one filesystem.

A wait for messages also ends as soon as the worker is stopping: Celery's loop for a
transport like this one looks for a stop request only between waits of up to 2 s.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

#: the setting that makes Celery use this transport (with a `filesystem://` URL)
TRANSPORT = "worker.embedded_transport:Transport"

#: how often a wait for messages looks whether the worker is stopping
STOP_CHECK_S = 0.1


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + ".part"  # readers only take names ending in "<queue>.msg"
        try:
            with open(partial, "wb") as fh:
                fh.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel

    def drain_events(self, connection: Any, timeout: float | None = None,
                     **kwargs: Any) -> None:
        deadline = None if timeout is None else monotonic() + timeout
        while True:
            step = STOP_CHECK_S if deadline is None else min(
                STOP_CHECK_S, max(deadline - monotonic(), 0.0))
            try:
                super().drain_events(connection, timeout=step, **kwargs)
                return
            except TimeoutError:  # socket.timeout, what an empty wait raises
                # Celery's loop goes on to look for a stop request
                if _worker_stopping() or (deadline is not None and monotonic() >= deadline):
                    raise


def _worker_stopping() -> bool:
    from celery.worker import state  # set by the worker's signal handlers, and only there

    # as `state.maybe_shutdown` tells: a warm shutdown's flag is the exit code, often 0
    return any(flag is not None and flag is not False
               for flag in (state.should_stop, state.should_terminate))
