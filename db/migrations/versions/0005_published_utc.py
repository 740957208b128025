"""sort and filter articles by the instant they were published: articles.published_utc

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

`published_at` is the date as the page stated it, and listings sorted and filtered on
that text, so dates with different offsets compared by wall clock (10:00-05:00, the
later instant, sorted before 12:00+00:00). `published_utc` holds the instant in UTC,
computed by `db.dates.published_utc` (a time without an offset, and a date alone, taken
as UTC; anything unparseable NULL). Existing rows are filled here, in batches, with that
same function; on PostgreSQL each update also recomputes the row's generated search
vector. The index on `published_at` is replaced by one on `published_utc`, and the
`document_articles` view gains the column.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.dates import published_utc

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: rows read and updated per statement while filling the column
BATCH = 1000

# typed columns, so values are stored as the model's DateTime stores them (on SQLite,
# text in the one format every comparison with a bound parameter assumes)
_articles = sa.table(
    "articles",
    sa.column("id", sa.Integer()),
    sa.column("published_at", sa.String(40)),
    sa.column("published_utc", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    op.add_column("articles", sa.Column("published_utc", sa.DateTime(timezone=True),
                                        nullable=True))
    _backfill(op.get_bind())
    # indexed after the fill, which then has no index entries to write
    op.drop_index("ix_articles_published_at", table_name="articles")
    if op.get_bind().dialect.name == "postgresql":
        # in the listing's order (newest first, undated last), which PostgreSQL can then
        # read straight from the index; SQLite takes no NULLS LAST in an index, and reads
        # a plain one backwards in that order
        op.create_index("ix_articles_published_utc", "articles",
                        [sa.text("published_utc DESC NULLS LAST"), sa.text("id DESC")])
    else:
        op.create_index("ix_articles_published_utc", "articles", ["published_utc"])
    op.execute("DROP VIEW document_articles")
    op.execute(DOCUMENT_ARTICLES_VIEW)


def downgrade() -> None:
    op.execute("DROP VIEW document_articles")
    op.drop_index("ix_articles_published_utc", table_name="articles")
    # a plain DROP COLUMN (SQLite 3.35+), as in 0003: a batch copy of `articles` would
    # drop its full-text triggers with the old table
    op.execute("ALTER TABLE articles DROP COLUMN published_utc")
    op.create_index("ix_articles_published_at", "articles", ["published_at"], unique=False)
    op.execute(DOCUMENT_ARTICLES_VIEW_0001)


def _backfill(conn: sa.Connection) -> None:
    """Fill `published_utc` for every dated row, BATCH rows at a time in id order."""
    write = (_articles.update()
             .where(_articles.c.id == sa.bindparam("row_id"))
             .values(published_utc=sa.bindparam("instant")))
    last = 0
    while True:
        rows = conn.execute(
            sa.select(_articles.c.id, _articles.c.published_at)
            .where(_articles.c.id > last, _articles.c.published_at.is_not(None))
            .order_by(_articles.c.id).limit(BATCH)).all()
        if not rows:
            return
        values = [{"row_id": row_id, "instant": instant} for row_id, stated in rows
                  if (instant := published_utc(stated)) is not None]
        if values:
            conn.execute(write, values)
        last = rows[-1][0]


DOCUMENT_ARTICLES_VIEW = """
CREATE VIEW document_articles AS
SELECT d.id AS document_id, d.source_path, d.sha256, d.size_bytes, d.status, d.stage,
       d.stage_state, d.attempts, d.last_error, d.error_kind, d.duplicate_of,
       d.received_at, d.finished_at,
       a.id AS article_id, a.title, a.subtitle, a.authors, a.published_at,
       a.published_utc, a.site_name, a.language, a.word_count, a.url, a.extractor_version
FROM documents d LEFT JOIN articles a ON a.document_id = d.id
"""

# the view as 0001 made it
DOCUMENT_ARTICLES_VIEW_0001 = """
CREATE VIEW document_articles AS
SELECT d.id AS document_id, d.source_path, d.sha256, d.size_bytes, d.status, d.stage,
       d.stage_state, d.attempts, d.last_error, d.error_kind, d.duplicate_of,
       d.received_at, d.finished_at,
       a.id AS article_id, a.title, a.subtitle, a.authors, a.published_at, a.site_name,
       a.language, a.word_count, a.url, a.extractor_version
FROM documents d LEFT JOIN articles a ON a.document_id = d.id
"""
