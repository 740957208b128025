"""`newsdrop export`: every matching article as JSON Lines or CSV, streamed.

Rows come from `queries.iter_articles` (server-side cursor on PostgreSQL, `yield_per`
chunks on SQLite, each article dropped from the session once written), so memory stays
flat however many articles there are: see `bench/export_memory.py`.

A record is the document's identity and state followed by every article column. In CSV,
list fields (authors, paragraphs, related, tags) are JSON arrays in one cell, so names
holding commas or semicolons survive the round trip. A CSV text cell that starts with
`=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, so a spreadsheet
shows it as text instead of running it as a formula (scraped text is untrusted).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import Any, TextIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import ARTICLE_COLUMNS, Article, Document
from db.queries import ArticleFilter, article_conditions, iso_utc, iter_articles

DOCUMENT_COLUMNS = ("document_id", "article_id", "source_path", "sha256", "status",
                    "received_at")
COLUMNS = DOCUMENT_COLUMNS + ARTICLE_COLUMNS
#: rows fetched per round trip; memory is bounded by this many articles
CHUNK = 500
#: first characters that make a spreadsheet read a cell as a formula
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


def count_articles(session: Session, f: ArticleFilter) -> int:
    """How many articles an export with `f` will write (for a progress bar)."""
    return session.scalar(
        select(func.count()).select_from(Article)
        .join(Document, Document.id == Article.document_id)
        .where(*article_conditions(f))) or 0


def record(article: Article, document: Document) -> dict[str, Any]:
    """One exported record: the document's identity and state, then the article."""
    return {
        "document_id": document.id, "article_id": article.id,
        "source_path": document.source_path, "sha256": document.sha256,
        "status": str(document.status),
        "received_at": iso_utc(document.received_at),
        **{name: getattr(article, name) for name in ARTICLE_COLUMNS},
    }


def records(session: Session, f: ArticleFilter) -> Iterator[dict[str, Any]]:
    for article, document in iter_articles(session, f, chunk=CHUNK):
        yield record(article, document)


def csv_cell(value: Any) -> Any:
    """`value` as a CSV cell: lists as JSON, text that a spreadsheet would run as a
    formula prefixed with `'`."""
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write(rows: Iterator[dict[str, Any]], out: TextIO, fmt: ExportFormat,
          on_row: Callable[[], None] | None = None) -> int:
    """Write `rows` to `out` in `fmt`; returns how many were written."""
    n = 0
    if fmt is ExportFormat.CSV:
        writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
    for row in rows:
        if fmt is ExportFormat.CSV:
            writer.writerow({k: csv_cell(v) for k, v in row.items()})
        else:
            out.write(json.dumps(row, ensure_ascii=False))
            out.write("\n")
        n += 1
        if on_row is not None:
            on_row()
    return n


def export_articles(session: Session, f: ArticleFilter, out: TextIO, fmt: ExportFormat,
                    on_row: Callable[[], None] | None = None) -> int:
    """Stream every article matching `f` (its limit and offset ignored) to `out`."""
    return write(records(session, f), out, fmt, on_row)
