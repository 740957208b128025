"""Engines and sessions, with the per-database settings that make concurrent use safe."""

from __future__ import annotations

import sqlite3
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from db.url_host import SQLITE_FUNCTION, host_of

#: how long SQLite waits on a lock held by another process before "database is locked"
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: how often a connection tries again to switch a new database to WAL (see below)
_WAL_RETRY_S = 0.02
#: the databases the schema, search and bulk writes are written for, as a person types them
ACCEPTED_URLS = "sqlite:///PATH/newsdrop.db or postgresql+psycopg://USER@HOST/DATABASE"
#: the PostgreSQL driver newsdrop installs, and the one its bulk writes and binary reads use
POSTGRES_DRIVER = "postgresql+psycopg"
#: schemes that name PostgreSQL but no driver: `postgres://` (what Heroku and many tools
#: emit, unknown to SQLAlchemy) and `postgresql://` (psycopg2 to SQLAlchemy)
_BARE_POSTGRES_SCHEMES = ("postgres", "postgresql")


def normalise_url(url: str) -> str:
    """`url` with a bare PostgreSQL scheme given newsdrop's driver; any other unchanged.

    Only the scheme is rewritten, so the rest (password, query options) stays as typed.
    """
    scheme, sep, rest = url.partition("://")
    if sep and scheme.lower() in _BARE_POSTGRES_SCHEMES:
        return f"{POSTGRES_DRIVER}://{rest}"
    return url


def check_url(url: str) -> None:
    """Raise ValueError saying why `url` names no database newsdrop can use: not a URL,
    a database other than SQLite or PostgreSQL, or a driver that is not installed."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(normalise_url(url))
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise ValueError(f"{url!r} is not a database URL; newsdrop takes "
                         f"{ACCEPTED_URLS}") from None
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        hint = (" (Redis is the broker: --broker-url, NEWSDROP_BROKER_URL)"
                if parsed.get_backend_name() in ("redis", "rediss") else "")
        raise ValueError(f"{shown} is not a SQLite or PostgreSQL URL{hint}; newsdrop takes "
                         f"{ACCEPTED_URLS}")
    try:
        parsed.get_dialect().import_dbapi()
    except (NoSuchModuleError, ImportError) as exc:
        raise ValueError(f"cannot load the database driver {shown} asks for ({exc}); "
                         f"newsdrop takes {ACCEPTED_URLS}") from None
    if parsed.get_backend_name() == "sqlite":
        _check_sqlite_options(parsed, shown)


#: SQLite URL options newsdrop sets itself, which a URL's would not change
_SQLITE_OWN_OPTIONS = {"timeout": f"newsdrop waits {SQLITE_BUSY_TIMEOUT_MS // 1000} s for a "
                                  "lock itself",
                       "isolation_level": "newsdrop begins its transactions itself"}


def _check_sqlite_options(parsed: URL, shown: str) -> None:
    # SQLAlchemy reads a SQLite URL's options when the engine is made, and ignores one it
    # does not know with a warning: refused here, as psycopg refuses a PostgreSQL one
    from sqlalchemy.exc import ArgumentError, SAWarning

    own = sorted(_SQLITE_OWN_OPTIONS.keys() & parsed.query.keys())
    if own:
        raise ValueError(f"{shown}: leave {own[0]} out of the URL: "
                         f"{_SQLITE_OWN_OPTIONS[own[0]]}")
    with warnings.catch_warnings():
        warnings.simplefilter("error", SAWarning)
        try:
            parsed.get_dialect()().create_connect_args(parsed)
        except SAWarning as exc:
            why = str(exc).split(" (Background on this warning")[0].replace(
                " and are being ignored", "")
            raise ValueError(f"{shown}: {why}") from None
        except ArgumentError:  # a host, user or password: sqlite://user@host/x.db
            raise ValueError(f"{shown}: a SQLite URL names a file and no host, user or "
                             "password: sqlite:///relative/path.db or "
                             "sqlite:////absolute/path.db") from None
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{shown}: an option's value cannot be used ({exc})") from None


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`: SQLite gets WAL, a busy timeout and foreign keys; a bare
    PostgreSQL scheme gets newsdrop's driver (`normalise_url`)."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs
        )
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin)
        return engine
    # No pre-ping: a SELECT 1 per checkout costs more than the rare dead connection,
    # which surfaces as an OperationalError that the pipeline already retries.
    return create_engine(url, **kwargs)


def _configure_sqlite(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets readers (status, search) run while a worker writes. Switching a new
    # database to it takes a lock SQLite does not wait for: two processes that create the
    # database at once (two `newsdrop run` on a new data folder) try again for a while.
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(_WAL_RETRY_S)
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()
    dbapi_conn.create_function(SQLITE_FUNCTION, 1, host_of, deterministic=True)
    # transactions are begun by _begin, not implicitly by the driver
    dbapi_conn.isolation_level = None


#: execution option set by `transaction()`: this transaction will write
WRITES = "newsdrop_writes"


def _begin(conn: Any) -> None:
    # A deferred transaction that reads and then writes cannot wait for the write lock
    # (SQLite answers "database is locked" at once); a writer takes it up front so the
    # busy timeout does its job. Readers begin deferred and never block writers (WAL).
    writes = conn.get_execution_options().get(WRITES, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work commits on success and rolls back on any error."""
    with factory() as session, session.begin():
        session.connection(execution_options={WRITES: True})
        yield session


@contextmanager
def reading(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A read-only session: on SQLite it never takes the write lock, so a long read
    (an export, a status refresh) does not hold up workers."""
    with factory() as session, session.begin():
        yield session
