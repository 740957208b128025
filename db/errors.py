"""Errors the read side of the database raises for callers to show to a person."""

from __future__ import annotations


class QueryError(Exception):
    """A query that cannot be run as given; `message` says why, for whoever typed it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
