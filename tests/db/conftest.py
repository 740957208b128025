"""`db_sessions`: the same test on SQLite and on a real PostgreSQL, whose writes differ."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from db import migrate
from db.engine import make_engine, make_session_factory
from db.models import Base
from tests.conftest import fresh_postgres_database


@pytest.fixture(scope="module")
def postgres_engine() -> Iterator[Engine]:
    """One migrated PostgreSQL database per module, dropped afterwards."""
    with fresh_postgres_database("nd_db") as url:
        engine = make_engine(url)
        try:
            migrate.upgrade(engine)
            yield engine
        finally:
            engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_sessions(request: pytest.FixtureRequest) -> Any:
    """A session factory on a migrated, empty database: SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sessions")
    engine: Engine = request.getfixturevalue("postgres_engine")
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return make_session_factory(engine)
