"""persist's pure half: an extracted article to the row the database stores."""

from __future__ import annotations

from datetime import UTC, datetime

from db.models import ARTICLE_COLUMNS
from tasks.document import Article
from tasks.persist import article_row


def test_the_row_has_every_article_column_and_the_document_id() -> None:
    row = article_row(7, Article(title="T", body="B", paragraphs=["B"], word_count=1))
    assert set(row) == {*ARTICLE_COLUMNS, "published_utc", "document_id"}
    assert (row["document_id"], row["title"], row["paragraphs"]) == (7, "T", ["B"])
    assert row["published_at"] is None and row["published_utc"] is None


def test_the_row_keeps_the_stated_date_and_adds_its_instant_in_utc() -> None:
    article = Article(title="T", body="B", published_at="2019-11-19T08:21:00-05:00")
    row = article_row(1, article)
    assert row["published_at"] == "2019-11-19T08:21:00-05:00"  # as stated
    assert row["published_utc"] == datetime(2019, 11, 19, 13, 21, tzinfo=UTC)
    unparseable = article_row(2, Article(title="T", body="B", published_at="Nov 2019"))
    assert unparseable["published_at"] == "Nov 2019" and unparseable["published_utc"] is None


def test_control_characters_are_dropped_from_strings_and_lists() -> None:
    article = Article(
        title="Bre\x00aking\x1b",
        body="Café \x07first.\n\n\tSecond\r\n\x0cthird\x7f",
        paragraphs=["Café \x07first.", "\tSecond"],
        authors=["Ana\x08 Lima"],
        reading_time_minutes=3,
    )
    row = article_row(1, article)
    assert row["title"] == "Breaking"
    assert row["body"] == "Café first.\n\n\tSecond\r\nthird"  # tab, CR and LF stay
    assert row["paragraphs"] == ["Café first.", "\tSecond"]
    assert row["authors"] == ["Ana Lima"]
    assert row["reading_time_minutes"] == 3
