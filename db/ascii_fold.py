"""ASCII letters in any case, every other character as written: the same on both
databases. SQLite's lower() folds only ASCII, PostgreSQL's whatever its locale knows, so
`lower()` on both sides of a comparison would match different rows on each."""

from __future__ import annotations

import string
from typing import Any

from sqlalchemy import Text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction


def ascii_lowered(text: str) -> str:
    """`text` with its ASCII capitals lowercased, as `ascii_lower` does in SQL."""
    return text.translate(_FOLD)


_FOLD = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


class ascii_lower(GenericFunction[str]):
    """The SQL expression; lowercase like SQLAlchemy's own functions (`func.lower`)."""

    type = Text()
    inherit_cache = True


@compiles(ascii_lower, "postgresql")
def _postgresql(element: ascii_lower, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"translate({column}, '{string.ascii_uppercase}', '{string.ascii_lowercase}')"


@compiles(ascii_lower, "sqlite")
def _sqlite(element: ascii_lower, compiler: Any, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"
