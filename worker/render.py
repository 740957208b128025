"""Documents, articles and stage runs as plain JSON-ready dicts, for the CLI and the API.

`newsdrop show --json` and `GET /articles/{ref}` print the same shapes, as do
`newsdrop articles --json` and the items of `GET /articles`. Times are ISO
8601 with their zone: SQLite hands back naive datetimes, and they are UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from db.dates import published_utc
from db.models import ARTICLE_COLUMNS, Article, Document, DocumentStatus, StageRun
from db.queries import iso_utc


def document_dict(d: Document) -> dict[str, Any]:
    return {
        "id": d.id, "source_path": d.source_path, "sha256": d.sha256,
        "size_bytes": d.size_bytes, "status": str(d.status),
        "stage": str(d.stage) if d.stage else None,
        "stage_state": str(d.stage_state) if d.stage_state else None,
        "attempts": d.attempts, "last_error": d.last_error, "error_kind": d.error_kind,
        "duplicate_of": d.duplicate_of, "received_at": iso_utc(d.received_at),
        "pass_queued_at": iso_utc(d.pass_queued_at), "finished_at": iso_utc(d.finished_at),
    }


def article_dict(a: Article) -> dict[str, Any]:
    """Every field of the extract contract, as stored."""
    return {name: getattr(a, name) for name in ARTICLE_COLUMNS}


def article_summary(a: Article, d: Document, newer_edition: int | None = None
                    ) -> dict[str, Any]:
    """One item of a listing: `newsdrop articles --json` and `GET /articles`.
    `newer_edition`: the newest document of the same file, if its file changed since."""
    return {"id": d.id, "article_id": a.id, "published_at": a.published_at,
            "title": a.title, "authors": a.authors, "site_name": a.site_name,
            "language": a.language, "words": a.word_count, "url": a.url,
            "status": str(d.status), "source": d.source_path, "newer_edition": newer_edition}


def listing_when(published_at: str | None) -> str:
    """An article's date on a listing line: the UTC instant the list is ordered by and
    `--since/--until` compare ("2019-11-19 13:21Z"), or the date alone where only a date
    is stated; "-" for none. A stated local time would make a newest-first list look
    out of order. A time stated without a zone is ordered as if UTC, but shown as
    stated, without the Z: where it is UTC is a guess, not a fact of the page."""
    if not published_at:
        return "-"
    instant = published_utc(published_at)
    if instant is None:
        return published_at[:17]
    if len(published_at.strip()) <= len("YYYY-MM-DD"):
        return instant.strftime("%Y-%m-%d")
    zone = "Z" if datetime.fromisoformat(published_at.strip()).tzinfo else ""
    return instant.strftime("%Y-%m-%d %H:%M") + zone


def run_dict(r: StageRun) -> dict[str, Any]:
    """One stage run: one attempt at one stage for one document."""
    return {
        "stage": str(r.stage), "attempt": r.attempt, "state": str(r.state),
        "error": r.error, "error_kind": r.error_kind, "queued_at": iso_utc(r.queued_at),
        "started_at": iso_utc(r.started_at), "finished_at": iso_utc(r.finished_at),
        # a float on either database (SQLite hands back a whole number as an int)
        "wait_ms": r.wait_ms,
        "duration_ms": None if r.duration_ms is None else float(r.duration_ms),
        "worker": r.worker,
    }


def document_detail(document: Document, article: Article | None, runs: list[StageRun],
                    newer_edition: int | None = None) -> dict[str, Any]:
    """What `show --json` and `GET /articles/{ref}` return: document (with the newest
    document of the same file, if its file changed since), article, history. A deleted
    document has none: its runs are kept only as counts (db/removal.py)."""
    deleted = document.status is DocumentStatus.DELETED
    return {"document": {**document_dict(document), "newer_edition": newer_edition},
            "article": article_dict(article) if article else None,
            "history": [] if deleted else [run_dict(r) for r in runs]}
