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


def unavailable(exc: BaseException) -> str | None:
    """Why the database cannot be used for now, in the first line of its client's words,
    when `exc` says so (the server down or restarting, connections refused or dropped, a
    lock held too long); None for any other error, which no waiting mends."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    if isinstance(exc, OperationalError) or (
            isinstance(exc, DBAPIError) and exc.connection_invalidated):
        said = str(getattr(exc, "orig", None) or exc).strip()
        return said.splitlines()[0] if said else type(exc).__name__
    return None
