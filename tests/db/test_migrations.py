"""Migrations go up and down on SQLite and PostgreSQL without losing rows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from db import migrate
from db.engine import make_engine
from tests.conftest import fresh_postgres_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    """An empty database of its own (migrations change the schema)."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
        yield eng
        eng.dispose()
        return
    with fresh_postgres_database("nd_migrate") as url:
        eng = make_engine(url)
        yield eng
        eng.dispose()


def downgrade(engine: Engine, revision: str) -> None:
    cfg = migrate._config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def documents_schema(engine: Engine) -> tuple[set[str], set[str]]:
    insp = inspect(engine)
    return ({c["name"] for c in insp.get_columns("documents")},
            {i["name"] for i in insp.get_indexes("documents")})


def test_0003_adds_the_source_mtime_and_its_downgrade_keeps_every_row(engine):
    migrate.upgrade(engine, "0002")
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO documents (id, sha256, source_path, size_bytes, status, attempts, "
            "received_at, updated_at) VALUES (1, :sha, 'a.txt', 5, 'queued', 0, "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"sha": "a" * 64})
        conn.execute(text("INSERT INTO document_contents (document_id, content) "
                          "VALUES (1, :c)"), {"c": b"hello"})

    assert migrate.upgrade(engine, "0003") == "0003"
    columns, indexes = documents_schema(engine)
    assert "source_mtime_ns" in columns and "ix_documents_source_path" in indexes
    with engine.begin() as conn:
        # rows from before keep no mtime: their files are read once more, then known
        assert conn.execute(text("SELECT source_mtime_ns FROM documents")).all() == [(None,)]
        conn.execute(text("UPDATE documents SET source_mtime_ns = :m"), {"m": 2**62})

    downgrade(engine, "0002")
    columns, indexes = documents_schema(engine)
    assert "source_mtime_ns" not in columns and "ix_documents_source_path" not in indexes
    with engine.connect() as conn:
        # no table was copied over: the row and the bytes that reference it are all there
        assert conn.execute(text("SELECT id, source_path FROM documents")).all() == [
            (1, "a.txt")]
        assert conn.execute(text("SELECT count(*) FROM document_contents")).scalar() == 1

    assert migrate.upgrade(engine, "0003") == "0003"


def test_0004_indexes_recurring_lines_and_its_downgrade_keeps_the_counts(engine):
    migrate.upgrade(engine, "0003")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO boilerplate_lines (source_key, fingerprint, doc_count) "
                          "VALUES ('site', 'share this', 4)"))

    def indexes() -> set[str | None]:
        return {i["name"] for i in inspect(engine).get_indexes("boilerplate_lines")}

    assert migrate.upgrade(engine) == "0004"
    assert "ix_boilerplate_lines_recurring" in indexes()
    downgrade(engine, "0003")
    assert "ix_boilerplate_lines_recurring" not in indexes()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT fingerprint, doc_count FROM boilerplate_lines")
                            ).all() == [("share this", 4)]
