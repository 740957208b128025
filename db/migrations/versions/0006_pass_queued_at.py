"""count latency from when a document's current pass was queued: documents.pass_queued_at

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

`status` measured latency from `received_at` to `finished_at`, and the oldest unfinished
document's age from `received_at` too, so a document sent back by `retry` or `reprocess`
counted from its first intake: its latency was days, and a reprocessed document queued a
moment ago looked as old as its file. `pass_queued_at` is when the document's current
pass through the stages was queued: set at intake, and again when `retry` or `reprocess`
sends it back (a worker's own retries and the reconciler's re-sends keep it: they are
part of the pass the user waits for). Existing rows take their `received_at`, except
duplicates and rejected files, which never go through the stages and keep NULL. On
PostgreSQL the fill writes a new version of every such row, which the table holds until
vacuum frees it.

A partial index on `pass_queued_at` holds only the queued and processing documents, so
the oldest of them is the index's first entry however long the backlog, and finished
documents cost it nothing. It is created after the fill, which then has no index entries
to write.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNFINISHED = "status IN ('queued', 'processing')"


def upgrade() -> None:
    op.add_column("documents", sa.Column("pass_queued_at", sa.DateTime(timezone=True),
                                         nullable=True))
    op.execute("UPDATE documents SET pass_queued_at = received_at "
                "WHERE status NOT IN ('duplicate', 'rejected')")
    op.create_index("ix_documents_unfinished_pass_queued", "documents", ["pass_queued_at"],
                    sqlite_where=sa.text(_UNFINISHED), postgresql_where=sa.text(_UNFINISHED))


def downgrade() -> None:
    op.drop_index("ix_documents_unfinished_pass_queued", table_name="documents")
    # a plain DROP COLUMN (SQLite 3.35+), as in 0003: a batch copy of `documents` would
    # drop the old table, and with foreign keys on that deletes every row referencing it
    op.execute("ALTER TABLE documents DROP COLUMN pass_queued_at")
