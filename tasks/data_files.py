"""Files a scraper leaves beside its pages that hold data, not a page's text: JSON, a table
(CSV, TSV…), a log. Read as a text dump, each would become an "article" whose paragraphs
are records; `data_kind` tells them, so that clean refuses them as not an article.

The first line decides whether to look further: a table's header splits into fields, a
log's first line begins with its stamp, JSON opens with a bracket. A page's first line
(its headline, a menu) does none of these, so a page's text pays a few string scans.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter

#: how much of the text the table and log checks look at
SAMPLE_CHARS = 64 * 1024
#: a table: at least this many records in the sample (a short text whose few lines hold
#: two commas each is no table), this share of them as wide as the most common width,
#: which is MIN_FIELDS or more (prose lines hold varying numbers of commas), or two under
#: a header that names its columns ("url,title")
MIN_TABLE_ROWS = 10
TABLE_SHARE = 0.9
MIN_FIELDS = 3
#: a log: of the sample's first LOG_LINES lines, at least MIN_STAMPED begin with a stamp
#: and LOG_SHARE are stamped or continue the entry above (indented, or a bracketed dump)
LOG_LINES = 50
MIN_STAMPED = 5
LOG_SHARE = 0.9
#: JSON Lines: this many first lines must each be a JSON object or array
JSON_LINES_CHECKED = 20

_DELIMITERS = (",", "\t", ";", "|")
_LEVEL = r"(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|CRITICAL|FATAL)"
# a log entry's start, always to the second (a live blog's "12:03" is no log stamp):
# "2024-05-01 12:00:03" (optionally after its level), "May  1 12:00:03" (syslog),
# "01.05.2024 12:00:03", a web server's "127.0.0.1 - - [01/May/2024:12:00:03", and
# Python logging's default "INFO:scraper:"
_LOG_STAMP = re.compile(
    rf"\W{{0,2}}(?:{_LEVEL}\W{{1,3}})?"
    r"(?:\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}"
    r"|(?:[\d.:a-fA-F]+ \S+ \S+ \[)?\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2}"
    r"|[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}"
    r"|\d{2}[./]\d{2}[./]\d{4} \d{2}:\d{2}:\d{2})"
    rf"|{_LEVEL}:[\w.]+:")
# a line that goes on with the log entry above it: a traceback's or a dump's lines
_LOG_CONTINUATION = re.compile(r"[\s{}\[\]'\"()]|Traceback ")
# a column's name in a table's header: one word of letters, digits, "_", "." or "-"
_COLUMN_NAME = re.compile(r"[A-Za-z_][\w.-]{0,40}")
# JSON cut short: an object or a list of objects, whose first key is in sight
_JSON_OPENING = re.compile(r'(?:\{\s*"|\[\s*\{\s*")[^"\n]*"\s*:')


def data_kind(text: str) -> str | None:
    """What data `text` holds, in words ("JSON data", "a table (48 of 50 records have 3
    fields)"…), or None for anything else, a page's text included."""
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        kind = _json_kind(stripped)
        if kind:
            return kind
    first = _first_line(text)
    delimiters = [d for d in _DELIMITERS if first.count(d) >= MIN_FIELDS - 1
                  or d in first and _names_columns(first.split(d))]
    stamped = _LOG_STAMP.match(first) is not None
    if not (delimiters or stamped):
        return None
    sample = _sample(text)
    return (_table_kind(sample, delimiters) if delimiters else None) or (
        _log_kind(sample) if stamped else None)


def _json_kind(text: str) -> str | None:
    try:
        json.loads(text)
        return "JSON data"
    except ValueError:
        pass
    lines = [line for line in _sample(text).splitlines()[:JSON_LINES_CHECKED] if line.strip()]
    if len(lines) >= 2 and all(_json_container(line) for line in lines):
        return "JSON Lines data"
    if _JSON_OPENING.match(text):
        return "JSON data, cut short"
    return None


def _json_container(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict | list)
    except ValueError:
        return False


def _first_line(text: str) -> str:
    """The first non-blank line, found without splitting the whole text."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        line = text[start:end].rstrip("\r")
        if line.strip():
            return line
        start = end + 1
    return ""


def _sample(text: str) -> str:
    """The first SAMPLE_CHARS of `text`, a line cut off there left out."""
    if len(text) <= SAMPLE_CHARS:
        return text
    head = text[:SAMPLE_CHARS]
    return head[:head.rfind("\n") + 1] or head


def _table_kind(sample: str, delimiters: list[str]) -> str | None:
    for delimiter in delimiters:
        # records as a CSV reader splits them: a quoted field may hold the delimiter, or
        # a line break (a scraped article's body in one column)
        try:
            records = [r for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if r]
        except csv.Error:  # a NUL character, a field over the size limit
            continue
        if len(records) < MIN_TABLE_ROWS:
            continue
        widths = Counter(len(r) for r in records)
        fields, rows = widths.most_common(1)[0]
        least = 2 if _names_columns(records[0]) else MIN_FIELDS
        if fields >= least and rows >= TABLE_SHARE * len(records):
            return f"a table ({rows} of {len(records)} records have {fields} fields)"
    return None


def _names_columns(fields: list[str]) -> bool:
    """Whether `fields`, a first line split, read as a header: "url,title", "id\tname"."""
    return len(fields) >= 2 and all(_COLUMN_NAME.fullmatch(f) for f in fields)


def _log_kind(sample: str) -> str | None:
    lines = [line for line in sample.splitlines() if line.strip()][:LOG_LINES]
    opens = [_LOG_STAMP.match(line) is not None for line in lines]
    stamped = sum(opens)
    of_a_log = stamped + sum(1 for line, opened in zip(lines, opens, strict=True)
                             if not opened and _LOG_CONTINUATION.match(line))
    if stamped >= MIN_STAMPED and of_a_log >= LOG_SHARE * len(lines):
        return f"a log ({stamped} of its first {len(lines)} lines open a log entry)"
    return None
