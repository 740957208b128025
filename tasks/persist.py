"""The pure half of `persist`: turn an extracted article into the row the database stores."""

from __future__ import annotations

from typing import Any

from db.models import ARTICLE_COLUMNS
from tasks.decode import delete_ascii
from tasks.document import Article

#: control characters other than tab and newlines: PostgreSQL refuses NUL in text, and
#: none of them belongs in an article
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])


def article_row(document_id: int, article: Article) -> dict[str, Any]:
    """The `articles` row for one document's extracted article."""
    # read field by field: Article.to_dict (dataclasses.asdict) deep-copies every list
    row = {name: _clean(getattr(article, name)) for name in ARTICLE_COLUMNS}
    row["document_id"] = document_id
    return row


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return delete_ascii(value, _CONTROL_BYTES)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value
