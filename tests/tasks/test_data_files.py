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
STAMPS = [f"2024-05-01 12:00:{i % 60:02d}" for i in ROWS]

# a crawler's log as it begins: settings and middleware lists dumped between its entries
SCRAPY_LOG = (
    f"{STAMPS[0]} [scrapy.utils.log] INFO: Scrapy 2.11.0 started (bot: news)\n"
    f"{STAMPS[0]} [scrapy.crawler] INFO: Overridden settings:\n"
    "{'BOT_NAME': 'news',\n 'ROBOTSTXT_OBEY': True,\n 'SPIDER_MODULES': ['news.spiders']}\n"
    f"{STAMPS[0]} [scrapy.middleware] INFO: Enabled downloader middlewares:\n"
    + "".join(f" 'scrapy.downloadermiddlewares.m{i}.Middleware{i}',\n" for i in range(12))
    + "".join(f"{stamp} [scrapy.core.engine] DEBUG: Crawled (200) <GET https://example.org/"
              f"{i}>\n" for i, stamp in enumerate(STAMPS)))


@pytest.mark.parametrize(("text", "kind"), [
    (json.dumps({"headline": "Harbour strike ends", "articleBody": "Workers went back."}),
     "JSON data"),
    ("\n" + json.dumps([{"url": f"https://example.org/{i}"} for i in ROWS], indent=2),
     "JSON data"),
    (json.dumps([{"url": f"https://example.org/{i}", "title": "T"} for i in ROWS],
                indent=2)[:300], "JSON data, cut short"),
    ("".join(json.dumps({"url": f"https://example.org/{i}", "title": f"A, B {i}"}) + "\n"
             for i in ROWS), "JSON Lines data"),
    # quoted fields hold commas, and line breaks, of their own: records are counted as a
    # CSV reader splits them
    ("url,title,date\n" + "".join(f'https://example.org/{i},"Strike, day {i}",2024-05-01\n'
                                  for i in ROWS), "a table (41 of 41 records have 3 fields)"),
    ("url,title,body\n" + "".join(f'https://example.org/{i},"Day {i}","One, two.\n\nThree."\n'
                                  for i in ROWS), "a table (41 of 41 records have 3 fields)"),
    ("".join(f"{i}\tname {i}\tvalue\r\n" for i in ROWS), "a table (40 of 40 records"),
    # two columns under a header naming them
    ("url,title\n" + "".join(f"https://example.org/{i},Harbour strike ends on day {i}\n"
                             for i in ROWS), "a table (41 of 41 records have 2 fields)"),
    (SCRAPY_LOG, "a log (35 of its first 50 lines open a log entry)"),
    ("".join(f"[{stamp}] INFO fetched https://example.org/{i}\n"
             for i, stamp in enumerate(STAMPS)), "a log (40 of its first 40"),
    ("".join(f"WARNING {stamp} slow response\n" for stamp in STAMPS), "a log"),
    ("".join(f"INFO:scraper:fetched https://example.org/{i}\n" for i in ROWS), "a log"),
    ("".join(f'127.0.0.1 - - [01/May/2024:12:00:{i:02d} +0000] "GET / HTTP/1.1" 200\n'
             for i in ROWS), "a log"),
    ("".join(f"May  1 12:00:{i:02d} host cron[12]: job ran\n" for i in ROWS), "a log"),
])
def test_data_files_are_told_by_their_shape(text: str, kind: str) -> None:
    assert (data_kind(text) or "").startswith(kind)


@pytest.mark.parametrize("text", [
    SAMPLE,
    # a headline with commas, prose below it with commas that vary from line to line
    "Rain, wind, and more rain: the week ahead\n\n" + "\n\n".join(
        ", ".join(["The council met"] * (i % 4 + 1)) + "." for i in ROWS),
    # a short text whose every line holds two commas
    "Sunny, warm, and dry on Monday.\nCloudy, cool, and windy on Tuesday.\nRain, wind, and "
    "hail on Wednesday.\nSun, clouds, and showers on Thursday.\nClear, calm, and cold.",
    "[Updated] Harbour strike ends\n\nWorkers went back on Monday, the union said.",
    "{Draft} Harbour strike ends\n\nWorkers went back on Monday.",
    # live tickers stamp their entries to the minute, below a headline or not
    "Live: harbour strike\n\n" + "\n".join(f"{stamp[:16]} Update {i}."
                                           for i, stamp in enumerate(STAMPS)),
    "\n".join(f"01.05.2024 12:{i:02d} Uhr: Die Polizei meldet Neues vom Hafen." for i in ROWS),
    "a,b,c\n1,2,3\n",  # too short to say
    # one comma a line under a headline that names no columns
    "Rain, wind\n\n" + "\n".join(f"Day {i}, the council met." for i in ROWS),
    "",
])
def test_the_text_of_a_page_is_no_data_file(text: str) -> None:
    assert data_kind(text) is None


def test_clean_refuses_a_data_file_as_not_an_article() -> None:
    table = "url,title,date\n" + "".join(f"https://example.org/{i},Title {i},2024-05-01\n"
                                         for i in ROWS)
    with pytest.raises(NotAnArticle, match=r"^a table \(41 of 41 records have 3 fields\): a "
                                           r"data file, not the text of a page$"):
        clean(RawDocument(table.encode(), name="meta.csv"))
