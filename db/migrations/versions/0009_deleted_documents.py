"""documents may be deleted: status 'deleted' (a tombstone)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

`newsdrop delete` leaves of a document taken in only its row, with status `deleted`
and the file's name, size and mtime (db/removal.py). The status column is plain text
with no CHECK constraint, so the schema itself does not change; the revision marks that
rows may now hold a status an older newsdrop cannot read, which then refuses this
database as one a newer newsdrop migrated instead of failing on the first such row.

The downgrade removes the tombstones, and with them the stage runs they keep as counts
(so the /metrics counters fall by those): the files they kept the watcher from taking in
again would be taken in again.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    op.execute("DELETE FROM documents WHERE status = 'deleted'")
