"""remember which extractor failed a document: documents.failed_extractor_version

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

`reprocess --stale` ran again the articles an older extractor made, but not the documents
an older extractor failed (a page it took for no article, a body it found empty): having
no article, they carried no version, and a newer extractor was never given them.
`failed_extractor_version` is the extractor version of the worker whose run failed the
document, null for a document not failed. Documents that failed before this migration
keep null, which `--stale` counts as an older extractor's: each is tried once more.

A nullable column with no default: SQLite and PostgreSQL add it without rewriting the
table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("failed_extractor_version", sa.String(length=32),
                                         nullable=True))


def downgrade() -> None:
    # a plain DROP COLUMN (SQLite 3.35+), as in 0003: a batch copy of `documents` would
    # drop the old table, and with foreign keys on that deletes every row referencing it
    op.execute("ALTER TABLE documents DROP COLUMN failed_extractor_version")
