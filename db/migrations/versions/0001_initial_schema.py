"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Tables, indexes, full-text search (FTS5 on SQLite, tsvector + GIN on PostgreSQL) and the
`document_articles` view for people who query with plain SQL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "boilerplate_lines",
        sa.Column("source_key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=255), nullable=False),
        sa.Column("doc_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("source_key", "fingerprint"),
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("source_path", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "processing",
                "done",
                "failed",
                "duplicate",
                "rejected",
                name="document_status",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "stage",
            sa.Enum("clean", "extract", "persist", name="stage", native_enum=False, length=16),
            nullable=True,
        ),
        sa.Column(
            "stage_state",
            sa.Enum(
                "queued",
                "running",
                "succeeded",
                "retrying",
                "failed",
                name="stage_state",
                native_enum=False,
                length=16,
            ),
            nullable=True,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("error_kind", sa.String(length=32), nullable=True),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["duplicate_of"],
            ["documents.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index("ix_documents_finished_at", ["finished_at"], unique=False)
        batch_op.create_index("ix_documents_sha256", ["sha256"], unique=False)
        batch_op.create_index("ix_documents_status_updated", ["status", "updated_at"], unique=False)
        batch_op.create_index(
            "uq_documents_original_sha256",
            ["sha256"],
            unique=True,
            sqlite_where=sa.text("duplicate_of IS NULL AND status != 'rejected'"),
            postgresql_where=sa.text("duplicate_of IS NULL AND status != 'rejected'"),
        )

    op.create_table(
        "articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("subtitle", sa.Text(), nullable=True),
        sa.Column("authors", sa.JSON(), nullable=False),
        sa.Column("published_at", sa.String(length=40), nullable=True),
        sa.Column("updated_at", sa.String(length=40), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("paragraphs", sa.JSON(), nullable=False),
        sa.Column("image_caption", sa.Text(), nullable=True),
        sa.Column("photo_credit", sa.Text(), nullable=True),
        sa.Column("reading_time_minutes", sa.Integer(), nullable=True),
        sa.Column("related", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("word_count", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("canonical_url", sa.Text(), nullable=True),
        sa.Column("site_name", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("extractor_version", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("document_id"),
    )
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.create_index("ix_articles_published_at", ["published_at"], unique=False)
        batch_op.create_index("ix_articles_site_name", ["site_name"], unique=False)

    op.create_table(
        "document_contents",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("document_id"),
    )
    op.create_table(
        "stage_outputs",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column(
            "stage",
            sa.Enum("clean", "extract", "persist", name="stage", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("document_id", "stage"),
    )
    op.create_table(
        "stage_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column(
            "stage",
            sa.Enum("clean", "extract", "persist", name="stage", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "queued",
                "running",
                "succeeded",
                "retrying",
                "failed",
                name="stage_state",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_kind", sa.String(length=32), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("wait_ms", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("worker", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("stage_runs", schema=None) as batch_op:
        batch_op.create_index("ix_stage_runs_document", ["document_id", "id"], unique=False)
        batch_op.create_index("ix_stage_runs_finished", ["finished_at"], unique=False)
    _create_dialect_objects()
    op.execute(DOCUMENT_ARTICLES_VIEW)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS document_articles")
    _drop_search_index()
    with op.batch_alter_table("stage_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_stage_runs_finished")
        batch_op.drop_index("ix_stage_runs_document")

    op.drop_table("stage_runs")
    op.drop_table("stage_outputs")
    op.drop_table("document_contents")
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_index("ix_articles_site_name")
        batch_op.drop_index("ix_articles_published_at")

    op.drop_table("articles")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_documents_original_sha256",
            sqlite_where=sa.text("duplicate_of IS NULL AND status != 'rejected'"),
            postgresql_where=sa.text("duplicate_of IS NULL AND status != 'rejected'"),
        )
        batch_op.drop_index("ix_documents_status_updated")
        batch_op.drop_index("ix_documents_sha256")
        batch_op.drop_index("ix_documents_finished_at")

    op.drop_table("documents")
    op.drop_table("boilerplate_lines")


DOCUMENT_ARTICLES_VIEW = """
CREATE VIEW document_articles AS
SELECT d.id AS document_id, d.source_path, d.sha256, d.size_bytes, d.status, d.stage,
       d.stage_state, d.attempts, d.last_error, d.error_kind, d.duplicate_of,
       d.received_at, d.finished_at,
       a.id AS article_id, a.title, a.subtitle, a.authors, a.published_at, a.site_name,
       a.language, a.word_count, a.url, a.extractor_version
FROM documents d LEFT JOIN articles a ON a.document_id = d.id
"""

# SQLite: an external-content FTS5 table kept in step with `articles` by triggers.
SQLITE_FTS = [
    """CREATE VIRTUAL TABLE articles_fts USING fts5(
        title, subtitle, body, content='articles', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
        INSERT INTO articles_fts(rowid, title, subtitle, body)
        VALUES (new.id, new.title, new.subtitle, new.body);
    END""",
    """CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, subtitle, body)
        VALUES ('delete', old.id, old.title, old.subtitle, old.body);
    END""",
    """CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, subtitle, body ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, subtitle, body)
        VALUES ('delete', old.id, old.title, old.subtitle, old.body);
        INSERT INTO articles_fts(rowid, title, subtitle, body)
        VALUES (new.id, new.title, new.subtitle, new.body);
    END""",
]

# PostgreSQL: a generated, weighted tsvector with a GIN index. The 'simple' configuration
# (no stemming) because inboxes mix languages; it matches SQLite's unicode61 behaviour.
# Only the first 200,000 characters of a body are indexed: a tsvector holds at most
# 1 MB, and a longer body would make its article impossible to store.
POSTGRES_FTS = [
    """ALTER TABLE articles ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', coalesce(title, '')), 'A') ||
        setweight(to_tsvector('simple', coalesce(subtitle, '')), 'B') ||
        setweight(to_tsvector('simple', left(coalesce(body, ''), 200000)), 'C')) STORED""",
    "CREATE INDEX ix_articles_search_vector ON articles USING GIN (search_vector)",
]


# PostgreSQL: compress large values with lz4 instead of the default pglz, which costs
# the server about half of intake's time on ~100 KB pages (measured: 540 -> 1,180
# pages/s). Servers built without lz4 keep the default.
POSTGRES_LZ4 = """
DO $$ BEGIN
    ALTER TABLE document_contents ALTER COLUMN content SET COMPRESSION lz4;
    ALTER TABLE articles ALTER COLUMN body SET COMPRESSION lz4;
    ALTER TABLE stage_outputs ALTER COLUMN payload SET COMPRESSION lz4;
EXCEPTION WHEN others THEN
    RAISE NOTICE 'lz4 compression unavailable, keeping the default: %', SQLERRM;
END $$
"""


def _create_dialect_objects() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_FTS if dialect == "sqlite" else [*POSTGRES_FTS, POSTGRES_LZ4]:
        op.execute(statement)


def _drop_search_index() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS articles_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS articles_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_articles_search_vector")
        op.execute("ALTER TABLE articles DROP COLUMN IF EXISTS search_vector")
