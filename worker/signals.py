"""SIGTERM taken as Ctrl-C, for the commands that run until stopped and whose stop is a
KeyboardInterrupt: `docker stop` and `kill` then end them cleanly, with 0."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt as SIGINT does; the handler
    before it is put back after. Only the main thread may set handlers: elsewhere (a test
    running the code in a thread) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
