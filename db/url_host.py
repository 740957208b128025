"""`url_host(column)`: the host of a web address stored in a column, in lowercase.

`--site` matches it beside `site_name`, which many pages do not state. Both databases
read the host with one regular expression, so that they agree: PostgreSQL has regular
expressions built in; SQLite has none, so every SQLite connection gets `host_of` as a
function (db/engine.py registers it).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction

from db.ascii_fold import ascii_lowered

#: the name SQLite connections know `host_of` by
SQLITE_FUNCTION = "newsdrop_url_host"

# scheme://[user[:password]@]host[:port]..., of a lowercased address: the capture is the
# host, a bracketed IPv6 address with its brackets. The user part runs to the last "@"
# before the path. Written for Python's re and PostgreSQL's regular expressions alike.
_HOST = r"^[a-z][a-z0-9+.-]*://(?:[^/?#]*@)?(\[[^]/?#]*\]|[^/?#:]*)"
_HOST_RE = re.compile(_HOST)
# what a host looks like when one is typed without its scheme: "www.example.com/news"
_BARE_HOST = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)+")


def host_of(url: str | None) -> str | None:
    """The host of `url` in lowercase ("www.example.com" of "https://www.example.com/a"),
    or None when it names none (no scheme, or not a web address at all)."""
    found = _HOST_RE.match(url.strip().lower()) if url else None
    return found.group(1) or None if found else None


def site_needle(site: str) -> str:
    """What `--site` looks for: a web address given counts by its host
    ("https://www.example.com/news", "//www.example.com/x", "www.example.com/news": each
    www.example.com, in lowercase); any other text as typed ("AP/Reuters" stays whole),
    its ASCII letters in lowercase (see db/ascii_fold.py)."""
    text = site.strip()
    low = text.lower()
    if "://" in low:
        return host_of(low) or ascii_lowered(text)
    head, slash, _ = low.removeprefix("//").partition("/")
    if head and (low.startswith("//") or slash and _BARE_HOST.fullmatch(head)):
        return head
    return ascii_lowered(text)


class url_host(GenericFunction[str]):
    """The SQL expression; lowercase like SQLAlchemy's own functions (`func.lower`)."""

    type = Text()
    inherit_cache = True


@compiles(url_host, "postgresql")
def _postgresql(element: url_host, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"substring(lower(btrim({column})) from '{_HOST}')"


@compiles(url_host, "sqlite")
def _sqlite(element: url_host, compiler: Any, **kw: Any) -> str:
    return f"{SQLITE_FUNCTION}({compiler.process(element.clauses, **kw)})"
