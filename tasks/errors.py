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


class NoArticleIn(PermanentError):
    """The rules' verdict on the bytes themselves: they hold no article. A document that
    fails so loses the article an earlier run made (its bytes stay stored). TooLarge is
    none: NEWSDROP_MAX_FILE_BYTES, a setting, may say so of bytes read before."""


class UndecodableInput(NoArticleIn):
    kind = "undecodable"


class BinaryInput(NoArticleIn):
    kind = "binary"


class EmptyDocument(NoArticleIn):
    kind = "empty"


class NotAnArticle(NoArticleIn):
    kind = "not_an_article"


class TooLarge(PermanentError):
    kind = "too_large"


def _kinds(cls: type[NewsdropError]) -> frozenset[str]:
    return frozenset({cls.kind}).union(*(_kinds(sub) for sub in cls.__subclasses__()))


#: the failure kinds of NoArticleIn and its subclasses, as recorded with a failure
NO_ARTICLE_KINDS = _kinds(NoArticleIn) - {NoArticleIn.kind}


class StageTimeout(PermanentError):
    kind = "timeout"
