"""data_kind: a scraper's data files (JSON, tables, logs) told from the text of a page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tasks.clean import clean
from tasks.data_files import data_kind
from tasks.document import RawDocument
from tasks.errors import NotAnArticle

SAMPLE = (Path(__file__).parents[1] / "fixtures" / "sample_seed.txt").read_text()
ROWS = range(40)


@pytest.mark.parametrize(("text", "kind"), [
    (json.dumps({"headline": "Harbour strike ends", "articleBody": "Workers went back."}),
     "JSON data"),
    ("\n" + json.dumps([{"url": f"https://example.org/{i}"} for i in ROWS], indent=2),
     "JSON data"),
    ("".join(json.dumps({"url": f"https://example.org/{i}", "title": f"A, B {i}"}) + "\n"
             for i in ROWS), "JSON Lines data"),
    # quoted fields hold commas of their own: fields are counted as a CSV reader splits them
    ("url,title,date\n" + "".join(f'https://example.org/{i},"Strike, day {i}",2024-05-01\n'
                                  for i in ROWS), "a table (41 rows of 3 fields"),
    ("".join(f"{i}\tname {i}\tvalue\r\n" for i in ROWS), "a table (40 rows of 3 fields"),
    ("".join(f"2024-05-01 12:00:{i % 60:02d} [scrapy.core.engine] INFO: Crawled (200) "
             f"<GET https://example.org/{i}>\n" for i in ROWS), "a log (40 of its first 40"),
    ("".join(f'127.0.0.1 - - [01/May/2024:12:00:{i:02d} +0000] "GET / HTTP/1.1" 200\n'
             for i in ROWS), "a log"),
    ("".join(f"May  1 12:00:{i:02d} host cron[12]: job ran\n" for i in ROWS), "a log"),
])
def test_data_files_are_told_by_their_shape(text: str, kind: str | None) -> None:
    found = data_kind(text)
    assert (found or "").startswith(kind or "") and (found is None) == (kind is None)


@pytest.mark.parametrize("text", [
    SAMPLE,
    # a headline with commas, prose below it with commas that vary from line to line
    "Rain, wind, and more rain: the week ahead\n\n" + "\n\n".join(
        ", ".join(["The council met"] * (i % 4 + 1)) + "." for i in ROWS),
    "[Updated] Harbour strike ends\n\nWorkers went back on Monday, the union said.",
    "{Draft} Harbour strike ends\n\nWorkers went back on Monday.",
    # a live blog's timestamps, below a headline
    "Live: harbour strike\n\n" + "\n".join(f"2024-05-01 12:{i:02d} Update {i}." for i in ROWS),
    "a,b,c\n1,2,3\n",  # too short to say
    "",
])
def test_the_text_of_a_page_is_no_data_file(text: str) -> None:
    assert data_kind(text) is None


def test_clean_refuses_a_data_file_as_not_an_article() -> None:
    table = "url,title,date\n" + "".join(f"https://example.org/{i},Title {i},2024-05-01\n"
                                         for i in ROWS)
    with pytest.raises(NotAnArticle, match=r"^a table \(41 rows of 3 fields in the first 41 "
                                           r"lines\): a data file, not the text of a page$"):
        clean(RawDocument(table.encode(), name="meta.csv"))
