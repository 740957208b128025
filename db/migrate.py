"""Apply Alembic migrations programmatically (`newsdrop db upgrade`, and at start-up)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError as AlembicError
from sqlalchemy import Engine, text

from db.engine import WRITES
from db.errors import SchemaTooNew

MIGRATIONS = Path(__file__).parent / "migrations"
#: arbitrary constant: serialises concurrent upgrades from several processes on PostgreSQL
_PG_LOCK_KEY = 7_260_451_188


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_known(revision: str) -> bool:
    """Whether `revision` is one of this newsdrop's migrations (not a later one's)."""
    try:
        return ScriptDirectory.from_config(_config()).get_revision(revision) is not None
    except AlembicError:
        return False


def check_not_newer(current: str | None) -> None:
    """Raise SchemaTooNew if `current` is a revision only a newer newsdrop knows."""
    if current is not None and not is_known(current):
        raise SchemaTooNew(current, head_revision())


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Bring the schema to `revision`; safe to call from several processes at once.
    Raises SchemaTooNew, changing nothing, if a newer newsdrop migrated the database."""
    cfg = _config()
    # on SQLite, BEGIN IMMEDIATE: a second process migrating at the same moment waits
    # for the first (busy timeout) instead of failing with "database is locked"
    with engine.connect().execution_options(**{WRITES: True}) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        check_not_newer(MigrationContext.configure(conn).get_current_revision())
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return current_revision(engine)
