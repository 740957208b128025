"""persist's pure half: an extracted article to the row the database stores."""

from __future__ import annotations

from db.models import ARTICLE_COLUMNS
from tasks.document import Article
from tasks.persist import article_row


def test_the_row_has_every_article_column_and_the_document_id() -> None:
    row = article_row(7, Article(title="T", body="B", paragraphs=["B"], word_count=1))
    assert set(row) == {*ARTICLE_COLUMNS, "document_id"}
    assert (row["document_id"], row["title"], row["paragraphs"]) == (7, "T", ["B"])


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
