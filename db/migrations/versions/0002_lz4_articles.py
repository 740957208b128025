"""compress articles.paragraphs and search_vector with lz4

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

`paragraphs` holds the body's text a second time, as JSON, and `search_vector` is about
as large; compressing them with PostgreSQL's default pglz cost about 0.2 ms of server
time per ~5 KB article. Only new values are compressed the new way. SQLite has no such
setting: nothing to do there.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# servers built without lz4 keep the default
_SET = """
DO $$ BEGIN
    ALTER TABLE articles ALTER COLUMN paragraphs SET COMPRESSION {method};
    ALTER TABLE articles ALTER COLUMN search_vector SET COMPRESSION {method};
EXCEPTION WHEN others THEN
    RAISE NOTICE 'lz4 compression unavailable, keeping the default: %', SQLERRM;
END $$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_SET.format(method="lz4"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_SET.format(method="pglz"))
