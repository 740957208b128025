"""The largest whole numbers and id lists a query can carry, shared by the CLI, the HTTP
API and the database code.

Values beyond them cannot even be bound to a statement (SQLite raises OverflowError,
PostgreSQL "out of range"), so they are refused where they are typed.
"""

from collections.abc import Iterator, Sequence

#: LIMIT and OFFSET: SQLite's INTEGER and PostgreSQL's bigint are signed 64-bit
MAX_SQL_INT = 2**63 - 1
#: document ids: `documents.id` is an INTEGER column, which PostgreSQL holds in 32 bits
MAX_ID = 2**31 - 1

#: longest duration a seconds option takes (`--timeout`, `--interval`): a year
MAX_SECONDS = 366 * 24 * 3600

#: ids bound in one statement's IN list: each is a parameter, and psycopg takes at most
#: 65,535 of them in a statement (SQLite 32,766), so longer lists go in slices this long
IDS_PER_STATEMENT = 500


def in_slices(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    """`ids` in slices of at most IDS_PER_STATEMENT, one statement's worth each."""
    for start in range(0, len(ids), IDS_PER_STATEMENT):
        yield ids[start:start + IDS_PER_STATEMENT]
