"""The pure half of `persist`: turn an extracted article into the row the database stores."""

from __future__ import annotations

from typing import Any

from tasks.document import Article

#: Article fields stored as `articles` columns (every field of the extract contract)
ARTICLE_COLUMNS = (
    "title", "subtitle", "authors", "published_at", "updated_at", "body", "paragraphs",
    "image_caption", "photo_credit", "reading_time_minutes", "related", "language",
    "word_count", "url", "canonical_url", "site_name", "description", "tags",
    "extractor_version",
)


def article_row(document_id: int, article: Article) -> dict[str, Any]:
    """The `articles` row for one document's extracted article."""
    data = article.to_dict()
    row = {name: data[name] for name in ARTICLE_COLUMNS}
    row["document_id"] = document_id
    return row
