"""Migrations go up and down on SQLite and PostgreSQL without losing rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import DateTime, Engine, inspect, text

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


def add_document_with_bytes(engine: Engine, status: str) -> None:
    """Document 1, a.txt, with its bytes: rows a downgrade must keep."""
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO documents (id, sha256, source_path, size_bytes, status, attempts, "
            "received_at, updated_at) VALUES (1, :sha, 'a.txt', 5, :status, 1, "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"sha": "a" * 64, "status": status})
        conn.execute(text("INSERT INTO document_contents (document_id, content) "
                          "VALUES (1, :c)"), {"c": b"hello"})


def test_0003_adds_the_source_mtime_and_its_downgrade_keeps_every_row(engine):
    migrate.upgrade(engine, "0002")
    add_document_with_bytes(engine, "queued")

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

    assert migrate.upgrade(engine, "0004") == "0004"
    assert "ix_boilerplate_lines_recurring" in indexes()
    downgrade(engine, "0003")
    assert "ix_boilerplate_lines_recurring" not in indexes()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT fingerprint, doc_count FROM boilerplate_lines")
                            ).all() == [("share this", 4)]


def test_0005_fills_published_utc_for_existing_rows_and_sorts_by_it(engine):
    from db.dates import published_utc
    from db.engine import make_session_factory, transaction
    from db.pipeline import upsert_articles
    from db.queries import ArticleFilter, list_articles
    from tasks.document import Article
    from tasks.persist import article_row

    migrate.upgrade(engine, "0004")
    # more rows than one batch of the fill reads, in a mix of stated forms
    batch = ScriptDirectory.from_config(migrate._config()).get_revision("0005").module.BATCH
    stated = ["2024-05-01T10:00:00-05:00", "2024-05-01T12:00:00+00:00", "2024-05-01",
              "2024-05-01T13:00:00", "1 May 2024", None, "2024-05-02T01:00:00+09:00"]
    n = 2 * batch + len(stated)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO documents (id, sha256, source_path, size_bytes, status, attempts, "
            "received_at, updated_at) VALUES (:id, :sha, :path, 1, 'done', 1, "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
            [{"id": i, "sha": f"{i:064x}", "path": f"{i}.txt"} for i in range(1, n + 1)])
        conn.execute(text(
            "INSERT INTO articles (document_id, title, authors, published_at, body, "
            "paragraphs, related, word_count, tags, extractor_version, created_at, "
            "modified_at) VALUES (:id, :title, '[]', :published_at, 'The harbour.', "
            "'[]', '[]', 2, '[]', 'old', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
            [{"id": i, "title": f"t{i}", "published_at": stated[(i - 1) % len(stated)]}
             for i in range(1, n + 1)])

    assert migrate.upgrade(engine) == migrate.head_revision()
    indexes = {i["name"] for i in inspect(engine).get_indexes("articles")}
    assert "ix_articles_published_utc" in indexes
    assert "ix_articles_published_at" not in indexes
    view = {c["name"] for c in inspect(engine).get_columns("document_articles")}
    assert {"published_at", "published_utc"} <= view
    instant = DateTime(timezone=True)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT document_id, published_at, published_utc "
                                 "FROM articles").columns(published_utc=instant)).all()
    assert len(rows) == n
    for doc_id, published_at, got in rows:
        want = published_utc(published_at)
        assert (got if got is None or got.tzinfo else got.replace(tzinfo=UTC)) == want, doc_id
        assert published_at == stated[(doc_id - 1) % len(stated)]  # kept as stated

    # stored as persist stores it: the same value for the same stated date
    sessions = make_session_factory(engine)
    with transaction(sessions) as s:
        s.execute(text("INSERT INTO documents (id, sha256, source_path, size_bytes, status, "
                       "attempts, received_at, updated_at) VALUES (:id, :sha, 'new.txt', 1, "
                       "'done', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                  {"id": n + 1, "sha": "f" * 64})
        upsert_articles(s, [article_row(n + 1, Article(
            title="new", body="b", published_at=stated[0], extractor_version="new"))])
    with engine.connect() as conn:
        assert len(set(conn.execute(text(
            "SELECT published_utc FROM articles WHERE published_at = :p"),
            {"p": stated[0]}).scalars())) == 1
    with transaction(sessions) as s:
        listed = [a.published_at for a, _ in list_articles(s, ArticleFilter(limit=None))]
    count = Counter(stated[(i - 1) % len(stated)] for i in range(1, n + 1))
    count[stated[0]] += 1  # the new row
    # newest instant first (16:00, 15:00, 13:00, 12:00, 00:00 UTC on 1 May), then none
    order = [stated[i] for i in (6, 0, 3, 1, 2)]
    dated = [value for value in order for _ in range(count[value])]
    assert listed[:len(dated)] == dated
    assert set(listed[len(dated):]) == {None, "1 May 2024"}

    downgrade(engine, "0004")
    indexes = {i["name"] for i in inspect(engine).get_indexes("articles")}
    assert "ix_articles_published_at" in indexes
    assert "ix_articles_published_utc" not in indexes
    assert "published_utc" not in {c["name"] for c in inspect(engine).get_columns("articles")}
    assert "published_utc" not in {
        c["name"] for c in inspect(engine).get_columns("document_articles")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM document_articles "
                                 "WHERE article_id IS NOT NULL")).scalar() == n + 1
        if engine.dialect.name == "sqlite":  # no table copy: the full-text triggers stay
            assert conn.execute(text("SELECT count(*) FROM sqlite_master WHERE type = "
                                     "'trigger' AND tbl_name = 'articles'")).scalar() == 3

    assert migrate.upgrade(engine) == migrate.head_revision()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM articles WHERE published_utc IS NULL")
                            ).scalar() == count[None] + count["1 May 2024"]


def test_0006_counts_each_pass_from_its_intake_and_its_downgrade_keeps_every_row(engine):
    migrate.upgrade(engine, "0005")
    received = {1: "2024-05-01 08:00:00", 2: "2024-05-02 09:30:00.250000",
                3: "2024-05-03 10:00:00", 4: "2024-05-04 11:00:00"}
    with engine.begin() as conn:
        for doc_id, status, duplicate_of in ((1, "queued", None), (2, "done", None),
                                             (3, "duplicate", 2), (4, "rejected", None)):
            conn.execute(text(
                "INSERT INTO documents (id, sha256, source_path, size_bytes, status, "
                "attempts, duplicate_of, received_at, updated_at) VALUES (:id, :sha, :path, "
                "1, :status, 0, :dup, :received, :received)"),
                {"id": doc_id, "sha": f"{doc_id:064x}", "path": f"{doc_id}.txt",
                 "status": status, "dup": duplicate_of, "received": received[doc_id]})
        conn.execute(text("INSERT INTO document_contents (document_id, content) "
                          "VALUES (1, :c)"), {"c": b"hello"})

    assert migrate.upgrade(engine, "0006") == "0006"
    columns, indexes = documents_schema(engine)
    assert "pass_queued_at" in columns and "ix_documents_unfinished_pass_queued" in indexes
    instant = DateTime(timezone=True)
    with engine.connect() as conn:
        rows = dict(conn.execute(text(
            "SELECT id, pass_queued_at = received_at FROM documents")).all())
        stamps = conn.execute(text("SELECT id, pass_queued_at FROM documents ORDER BY id")
                              .columns(pass_queued_at=instant)).all()
    # a document's pass so far is the one its intake queued; duplicates and rejected
    # files never go through the stages
    assert rows[1] and rows[2] and rows[3] is None and rows[4] is None
    assert [(i, t if t is None else t.replace(tzinfo=None).isoformat(" ", "microseconds"))
            for i, t in stamps] == [(1, "2024-05-01 08:00:00.000000"),
                                    (2, "2024-05-02 09:30:00.250000"), (3, None), (4, None)]

    downgrade(engine, "0005")
    columns, indexes = documents_schema(engine)
    assert "pass_queued_at" not in columns
    assert "ix_documents_unfinished_pass_queued" not in indexes
    with engine.connect() as conn:
        # no table was copied over: the rows and the bytes that reference them are there
        assert conn.execute(text("SELECT id, status FROM documents ORDER BY id")).all() == [
            (1, "queued"), (2, "done"), (3, "duplicate"), (4, "rejected")]
        assert conn.execute(text("SELECT count(*) FROM document_contents")).scalar() == 1

    assert migrate.upgrade(engine, "0006") == "0006"


def test_0007_keeps_run_times_to_a_hundredth_and_its_downgrade_truncates_them(engine):
    migrate.upgrade(engine, "0006")

    def add_run(conn, run_id: int, ms: float | int) -> None:
        conn.execute(text(
            "INSERT INTO stage_runs (id, document_id, stage, attempt, state, started_at, "
            "finished_at, wait_ms, duration_ms, worker) VALUES (:id, 1, 'clean', 1, "
            "'succeeded', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 3, :ms, 'w')"),
            {"id": run_id, "ms": ms})

    def durations() -> list[tuple[int, float | None]]:
        with engine.connect() as conn:
            return conn.execute(text("SELECT id, duration_ms FROM stage_runs ORDER BY id")
                                ).all()

    def column_type() -> str:
        [kind] = [str(c["type"]) for c in inspect(engine).get_columns("stage_runs")
                  if c["name"] == "duration_ms"]
        return kind

    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO documents (id, sha256, source_path, size_bytes, status, attempts, "
            "received_at, updated_at) VALUES (1, :sha, 'a.txt', 5, 'done', 1, "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"sha": "a" * 64})
        add_run(conn, 1, 0)
        add_run(conn, 2, 12)

    assert migrate.upgrade(engine, "0007") == "0007"
    with engine.begin() as conn:
        add_run(conn, 3, 0.42)
        add_run(conn, 4, 7.99)
    # the whole milliseconds from before stay as they were, and the new values are kept
    # to the hundredth on both databases (on SQLite by the column's INTEGER affinity)
    assert durations() == [(1, 0), (2, 12), (3, 0.42), (4, 7.99)]
    if engine.dialect.name == "postgresql":
        assert column_type() == "DOUBLE PRECISION"
    else:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT typeof(duration_ms) FROM stage_runs ORDER BY id")
                                ).scalars().all() == ["integer", "integer", "real", "real"]

    downgrade(engine, "0006")
    # truncated, as whole milliseconds used to be recorded
    assert durations() == [(1, 0), (2, 12), (3, 0), (4, 7)]
    if engine.dialect.name == "postgresql":
        assert column_type() == "INTEGER"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT wait_ms FROM stage_runs")).scalars().all() == [3] * 4

    assert migrate.upgrade(engine, "0007") == "0007"


def test_0008_adds_the_failed_extractor_version_and_its_downgrade_keeps_every_row(engine):
    migrate.upgrade(engine, "0007")
    add_document_with_bytes(engine, "failed")

    assert migrate.upgrade(engine, "0008") == "0008"
    assert "failed_extractor_version" in documents_schema(engine)[0]
    with engine.connect() as conn:
        # failed before the version was kept: `reprocess --stale` counts it as older
        assert conn.execute(text("SELECT failed_extractor_version FROM documents")
                            ).all() == [(None,)]

    downgrade(engine, "0007")
    assert "failed_extractor_version" not in documents_schema(engine)[0]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id, status FROM documents")).all() == [(1, "failed")]
        assert conn.execute(text("SELECT count(*) FROM document_contents")).scalar() == 1
    assert migrate.upgrade(engine, "0008") == "0008"


def test_0009_downgrade_removes_the_tombstones_an_older_newsdrop_cannot_read(engine):
    migrate.upgrade(engine, "0009")
    add_document_with_bytes(engine, "done")
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO documents (id, source_path, size_bytes, status, attempts, "
            "received_at, updated_at) VALUES (2, 'gone.txt', 5, 'deleted', 0, "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))

    downgrade(engine, "0008")

    with engine.connect() as conn:
        assert conn.execute(text("SELECT id, status FROM documents")).all() == [(1, "done")]
        assert conn.execute(text("SELECT count(*) FROM document_contents")).scalar() == 1
    assert migrate.upgrade(engine) == "0009"
