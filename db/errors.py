"""Errors the database layer raises for callers to show to a person."""

from __future__ import annotations


class QueryError(Exception):
    """A query that cannot be run as given; `message` says why, for whoever typed it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SchemaTooNew(Exception):
    """The database was migrated by a newer newsdrop than this one: this one cannot
    upgrade it, nor rely on its tables."""

    def __init__(self, current: str, head: str | None) -> None:
        super().__init__(f"the database schema is at revision {current}, newer than this "
                         f"newsdrop knows (latest {head}): upgrade newsdrop on this machine")
        self.current, self.head = current, head
