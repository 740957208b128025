"""The largest whole numbers a query can carry, shared by the CLI and the HTTP API.

Values beyond them cannot even be bound to a statement (SQLite raises OverflowError,
PostgreSQL "out of range"), so they are refused where they are typed.
"""

#: LIMIT and OFFSET: SQLite's INTEGER and PostgreSQL's bigint are signed 64-bit
MAX_SQL_INT = 2**63 - 1
#: document ids: `documents.id` is an INTEGER column, which PostgreSQL holds in 32 bits
MAX_ID = 2**31 - 1

#: longest duration a seconds option takes (`--timeout`, `--interval`): a year
MAX_SECONDS = 366 * 24 * 3600
