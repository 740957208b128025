"""The pure half of `persist`: turn an extracted article into the row the database stores."""

from __future__ import annotations

from typing import Any

from db.dates import published_utc
from db.models import ARTICLE_COLUMNS
from tasks.decode import DROPPED_CONTROL_CODES, delete_ascii
from tasks.document import Article


def article_row(document_id: int, article: Article) -> dict[str, Any]:
    """The `articles` row for one document's extracted article, with the instant its
    publication date names (`published_utc`), which listings sort and filter on."""
    # read field by field: Article.to_dict (dataclasses.asdict) deep-copies every list
    row = {name: _clean(getattr(article, name)) for name in ARTICLE_COLUMNS}
    row["published_utc"] = published_utc(row["published_at"])
    row["document_id"] = document_id
    return row


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return delete_ascii(value, DROPPED_CONTROL_CODES)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value
