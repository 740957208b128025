"""stage run times to a hundredth of a millisecond: stage_runs.duration_ms as double precision

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

`duration_ms` held whole milliseconds, truncated, and clean and extract runs of a
seed-sized text often take less than one: `show` said they ran 0 ms, and `status` put the
average of those zeros and ones above their p95. Runs are now recorded to 0.01 ms.
Existing values are whole milliseconds, and stay as they are.

PostgreSQL: the column becomes `double precision`, which rewrites `stage_runs` and its
indexes while holding its lock (1,000,000 runs took 1.7 s on a 2-core machine).
Downgrading truncates the values back to whole milliseconds, as they used to be
recorded.

SQLite: nothing to do. A column's declared type there is only an affinity, and INTEGER
affinity keeps a REAL value with a fraction as it is (only a REAL that is a whole
number is stored as an INTEGER, which loses nothing), so 0.42 is stored and read back
as 0.42, and avg(), sum() and comparisons work across both storage classes. Declaring
the column REAL would take a rebuild of the table, as SQLite cannot change a column's
type: a copy of the whole run history under the write lock, for a declaration that
changes no value and no result. So a database migrated to here still says INTEGER for
the column, and holds REAL values in it. Downgrading truncates those back to integers.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE stage_runs ALTER COLUMN duration_ms TYPE double precision")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE stage_runs ALTER COLUMN duration_ms TYPE integer "
                   "USING trunc(duration_ms)")
    else:
        op.execute("UPDATE stage_runs SET duration_ms = CAST(duration_ms AS INTEGER) "
                   "WHERE typeof(duration_ms) = 'real'")
