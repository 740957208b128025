"""record each taken file's mtime, index source_path

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

The watcher used to remember, in memory, the size and mtime of every file it took in,
so that a rescan would not read them again; with files kept in the inbox that grew
with the inbox. It now asks the database instead: intake records the file's mtime
beside its size, and the watcher looks files up by `source_path`. Rows taken in before
this revision have no mtime: those files are read once more (and found the same) after
the upgrade.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("source_mtime_ns", sa.BigInteger(), nullable=True))
    op.create_index("ix_documents_source_path", "documents", ["source_path"], unique=False,
                    postgresql_using="hash")


def downgrade() -> None:
    op.drop_index("ix_documents_source_path", table_name="documents")
    # a plain DROP COLUMN (SQLite 3.35+): a batch copy of `documents` would drop the old
    # table, and with foreign keys on that deletes every row that references it
    op.execute("ALTER TABLE documents DROP COLUMN source_mtime_ns")
