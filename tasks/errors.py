"""Errors that say what happens next.

`TransientError`: the world was briefly unavailable (broker or database connection,
"database is locked", disk busy); the stage is retried with bounded, jittered backoff.
`PermanentError`: the input itself is the problem; retrying cannot help, so the
document fails at once with `message` written for a person.
"""

from __future__ import annotations


class NewsdropError(Exception):
    """Base of every error newsdrop raises on purpose."""

    #: short machine-readable kind, stored with the failure (e.g. "undecodable")
    kind: str = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TransientError(NewsdropError):
    kind = "transient"


class PermanentError(NewsdropError):
    kind = "permanent"


class UndecodableInput(PermanentError):
    kind = "undecodable"


class BinaryInput(PermanentError):
    kind = "binary"


class EmptyDocument(PermanentError):
    kind = "empty"


class NotAnArticle(PermanentError):
    kind = "not_an_article"


class TooLarge(PermanentError):
    kind = "too_large"


class StageTimeout(PermanentError):
    kind = "timeout"
