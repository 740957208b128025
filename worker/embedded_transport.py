"""The embedded broker: kombu's filesystem transport, with messages written atomically.

kombu's writer creates `<id>.<queue>.msg` and only then writes the payload, while a
reader in another process may already move and read the file; it then reads nothing,
fails to decode it and stops the worker's consumer. Here a message is written under a
name no reader looks at and renamed into place, which is atomic on one filesystem.
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
