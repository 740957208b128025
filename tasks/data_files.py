"""Files a scraper leaves beside its pages that hold data, not a page's text: JSON, a table
(CSV, TSV…), a log. Read as a text dump, each would become an "article" whose paragraphs
are records; `data_kind` tells them, so that clean refuses them as not an article.

Only the first lines are looked at, and a text whose first few lines do not all have
the shape is passed at once: a page's text never pays for more than a few string scans.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter

#: how much of the text the table and log checks look at
SAMPLE_CHARS = 64 * 1024
#: ... and how many of its non-blank lines
SAMPLE_LINES = 50
#: the first lines that must all have a shape before the rest of the sample is looked at
GATE_LINES = 5
#: a table: this share of the sampled lines have the same number of fields, at least
#: MIN_FIELDS (prose lines hold varying numbers of commas)
TABLE_SHARE = 0.9
MIN_FIELDS = 3
#: a log: this share of the sampled lines begin with a date and a time
LOG_SHARE = 0.8
#: JSON Lines: this many first lines must each be a JSON object or array
JSON_LINES_CHECKED = 20

_DELIMITERS = (",", "\t", ";", "|")
# a log line's stamp: "2024-05-01 12:00:03", "2024-05-01T12:00:03Z", "May  1 12:00:03"
# (syslog), "01.05.2024 12:00:03", and a web server's "127.0.0.1 - - [01/May/2024:12:00:03"
_LOG_STAMP = re.compile(
    r"\W{0,2}(?:\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}"
    r"|(?:[\d.:a-fA-F]+ \S+ \S+ \[)?\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}"
    r"|[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}"
    r"|\d{2}[./]\d{2}[./]\d{4} \d{2}:\d{2})")


def data_kind(text: str) -> str | None:
    """What data `text` holds, in words ("JSON data", "a table (48 rows of 3 fields in the
    first 50 lines)"…), or None for anything else, a page's text included."""
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        kind = _json_kind(stripped)
        if kind:
            return kind
    # a page's text: its first line (the headline, a menu) already has neither shape
    delimiters, stamped = _shapes(_first_lines(text, 1))
    if not (delimiters or stamped):
        return None
    first = _first_lines(text, GATE_LINES)
    delimiters, stamped = _shapes(first)
    if len(first) < GATE_LINES or not (delimiters or stamped):
        return None
    lines = _sample(text, SAMPLE_CHARS)[:SAMPLE_LINES]
    return _table_kind(lines, delimiters) or (_log_kind(lines) if stamped else None)


def _json_kind(text: str) -> str | None:
    try:
        json.loads(text)
        return "JSON data"
    except ValueError:
        pass
    lines = [line for line in text.splitlines()[:JSON_LINES_CHECKED] if line.strip()]
    if len(lines) < 2:
        return None
    for line in lines:
        try:
            if not isinstance(json.loads(line), dict | list):
                return None
        except ValueError:
            return None
    return "JSON Lines data"


def _shapes(lines: list[str]) -> tuple[list[str], bool]:
    """The delimiters that split every one of `lines` into MIN_FIELDS fields or more, and
    whether each begins with a log's stamp; ([], False) for no lines."""
    if not lines:
        return [], False
    delimiters = [d for d in _DELIMITERS
                  if all(line.count(d) >= MIN_FIELDS - 1 for line in lines)]
    return delimiters, all(_LOG_STAMP.match(line) is not None for line in lines)


def _first_lines(text: str, count: int) -> list[str]:
    """The first `count` non-blank lines, found without splitting the whole text."""
    found: list[str] = []
    start = 0
    while len(found) < count and start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        if text[start:end].strip():
            found.append(text[start:end].rstrip("\r"))
        start = end + 1
    return found


def _sample(text: str, chars: int) -> list[str]:
    """The non-blank lines of the first `chars` characters, a line cut off there left out."""
    head = text[:chars]
    lines = head.splitlines()
    if len(head) < len(text) and lines:
        lines.pop()
    return [line for line in lines if line.strip()]


def _table_kind(lines: list[str], delimiters: list[str]) -> str | None:
    for delimiter in delimiters:
        # quoted fields may hold the delimiter: count fields as a CSV reader splits them
        widths = Counter(len(row) for row in csv.reader(lines, delimiter=delimiter))
        fields, rows = widths.most_common(1)[0]
        if fields >= MIN_FIELDS and rows >= TABLE_SHARE * sum(widths.values()):
            return f"a table ({rows} rows of {fields} fields in the first {len(lines)} lines)"
    return None


def _log_kind(lines: list[str]) -> str | None:
    stamped = sum(1 for line in lines if _LOG_STAMP.match(line))
    if stamped >= LOG_SHARE * len(lines):
        return f"a log ({stamped} of its first {len(lines)} lines begin with a date and time)"
    return None
