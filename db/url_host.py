"""`url_host(column)`: the host of a web address stored in a column, in lowercase.

`--site` matches it beside `site_name`, which many pages do not state. PostgreSQL reads
the host with a regular expression; SQLite has none built in, so every SQLite
connection gets `host_of` as a function (db/engine.py registers it).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction

#: the name SQLite connections know `host_of` by
SQLITE_FUNCTION = "newsdrop_url_host"

# scheme://[user[:password]@]host[:port]...; the capture is the host
_PG_HOST = r"^[a-z][a-z0-9+.-]*://(?:[^/?#@]*@)?([^/?#:]*)"


def host_of(url: str | None) -> str | None:
    """The host of `url` in lowercase ("www.example.com" of "https://www.example.com/a"),
    or None when it names none (no scheme, or not a web address at all)."""
    if not url or "://" not in url:
        return None
    try:
        return urlsplit(url.strip()).hostname or None
    except ValueError:  # "http://[bad" and other unreadable addresses
        return None


class url_host(GenericFunction[str]):
    """The SQL expression; lowercase like SQLAlchemy's own functions (`func.lower`)."""

    type = Text()
    inherit_cache = True


@compiles(url_host, "postgresql")
def _postgresql(element: url_host, compiler: Any, **kw: Any) -> str:
    return f"substring(lower({compiler.process(element.clauses, **kw)}) from '{_PG_HOST}')"


@compiles(url_host, "sqlite")
def _sqlite(element: url_host, compiler: Any, **kw: Any) -> str:
    return f"{SQLITE_FUNCTION}({compiler.process(element.clauses, **kw)})"
