"""Asking the broker whether it can be used now, and telling a broker that is down (wait
for it) from one that answers but refuses the URL (fix the setting)."""

from __future__ import annotations

import re

from worker.celery_app import QUEUE

#: a question to the broker must never hang on a dead one
BROKER_TIMEOUT_S = 1.0

# Redis's answers when it is up but refuses what the URL asks: a database number beyond
# its `databases`, a wrong password, or none where one is required (redis-py drops their
# WRONGPASS and NOAUTH prefixes). Redis words them in English whatever the locale.
_REFUSAL = re.compile(r"DB index is out of range|WRONGPASS[^\n]*|NOAUTH[^\n]*"
                      r"|Authentication required|invalid username-password pair[^\n]*"
                      r"|invalid password")


def down_errors() -> tuple[type[BaseException], ...]:
    """What a broker call raises when the broker cannot be reached: kombu wraps the
    transport's connection errors in its OperationalError once its retries run out (as
    `app.control.ping` does on a refused Redis connection); the rest are the socket's."""
    from kombu.exceptions import OperationalError

    return (OperationalError, OSError, TimeoutError)


def unanswered_errors() -> tuple[type[BaseException], ...]:
    """What asking the broker a question raises when it cannot answer: `down_errors`,
    and the channel errors of the embedded broker, whose files a person who may only
    read the data folder cannot write (a ping writes its reply queue's binding)."""
    from kombu.exceptions import ChannelError

    return (*down_errors(), ChannelError)


def why_unanswered(exc: BaseException) -> str:
    """`exc` in its client's words, with the system's reason when it wraps one (the
    embedded broker's "Cannot open FILE" says no more)."""
    said = str(exc).rstrip(".") or type(exc).__name__
    cause = exc.__cause__
    if isinstance(cause, OSError) and cause.strerror and cause.strerror not in said:
        said += f": {cause.strerror}"
    return said


def refusal(error: BaseException | str) -> str | None:
    """The broker's words when `error` says it refused the URL's database or login (a
    configuration to fix, not a server down), else None."""
    found = _REFUSAL.search(str(error))
    return found.group(0) if found else None


def refused(where: str, answer: str) -> str:
    """What to tell a person whose broker refused the URL (`where`: " at URL" or "")."""
    return f"the broker{where} refuses: {answer}: fix NEWSDROP_BROKER_URL (or --broker-url)"


def broker_error() -> str | None:
    """Why the broker cannot be used now, in its client's words; None when it answers."""
    return queue_depth_or_error()[1]


def queue_depth_or_error() -> tuple[int | None, str | None]:
    """Messages waiting in newsdrop's queue, or None and why the broker cannot say."""
    from tasks.celery_tasks import app

    try:
        with app.connection_for_read() as conn:
            # one quick attempt: status must answer even when the broker is down
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_S)
            try:
                _, count, _ = conn.default_channel.queue_declare(queue=QUEUE, passive=True)
            except conn.channel_errors:
                return 0, None  # the queue was never declared: nothing was sent to it yet
            return int(count), None
    except unanswered_errors() as exc:
        return None, why_unanswered(exc)
