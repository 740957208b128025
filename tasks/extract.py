"""The extract stage: a cleaned document's labelled blocks to an Article's fields.

Structured metadata (HTML JSON-LD/OpenGraph/meta, in `doc.metadata`) wins over what
the blocks say, because a page's machine-readable fields are stated, not inferred.
A field the input does not state stays None: nothing is guessed from a neighbouring
article (related blocks are never a source of authors or dates).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tasks import cues
from tasks.document import Article, Block, BlockLabel, CleanedDoc
from tasks.errors import NotAnArticle
from tasks.language import count_words, guess_language, script_language
from tasks.text_lines import is_byline, name_beside_date
from tasks.version import EXTRACTOR_VERSION

_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_ASCII_NON_LETTERS = bytes(b for b in range(128) if not chr(b).isalpha())
# "and" in a few languages, between spaces: the "Y." of "Bruce Y. Lee" is an initial
_AUTHOR_SPLIT = re.compile(r"\s*(?:,|;|&|(?<=\s)(?:and|und|et|y|e|en)(?=\s))\s*", re.I)
_AUTHOR_CUT = re.compile(r"\s+(?:[-–—|•/@／｜]|\bon\b|\bupdated\b|\bpublished\b|"
                         rf"{cues.ROLE_ADJECTIVE}\s+{cues.ROLE}\b|{cues.AUTHOR_PAGE_LINK}$).*$"
                         rf"|{cues.GLUED_HANDLE}.*$", re.I)
# Words that name a role, an agency or a day rather than a person.
_NOT_A_NAME = re.compile(
    rf"^(?:staff|(?:(?:{cues.ROLE_ADJECTIVE}|opinion)\s+)*{cues.ROLE}|"
    r"reuters|ap|afp|associated press|bloomberg|"
    r"the associated press|admin|administrator|guest|guest author|team|news desk|"
    r"view more articles|more articles|"
    # what is left of a date the byline carries: "By Jane Doe, Wednesday, 20 November 2019"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|yesterday)$",
    re.I,
)
# The parts of a dateline that each state one date: "Published … | Updated …"
_DATE_PARTS = re.compile(rf"{cues.FACT_SEPARATOR.pattern}|{cues.UPDATED_START.pattern}",
                         re.I)
# a dateline part that is a time of day and nothing else: "10:30 AM", "at 14:05 GMT"
_TIME_ONLY = re.compile(rf"^\s*(?:at\s+)?(?:{cues.TIME.pattern})\s*$", re.I)
_INLINE_PREFIX = re.compile(r"^(?:[*+•·▪►▸●◦–-]\s+)")


@dataclass(frozen=True, slots=True)
class ExtractOptions:
    """Options of the extract stage."""

    #: a caption found inside a credit line needs at least this many words to be used
    min_caption_words: int = 3


DEFAULT_EXTRACT_OPTIONS = ExtractOptions()


def extract(doc: CleanedDoc, *, options: ExtractOptions = DEFAULT_EXTRACT_OPTIONS) -> Article:
    """Read the article's fields from a cleaned document."""
    meta = doc.metadata
    by_label: dict[BlockLabel, list[Block]] = {}
    for block in doc.blocks:
        by_label.setdefault(block.label, []).append(block)

    paragraphs = [b.text for b in by_label.get(BlockLabel.BODY, [])]
    body = "\n\n".join(paragraphs)
    _check_is_prose(body, doc)
    # a stated title, else the headline, else an HTML page's <title>
    title = (_meta_str(meta, "title") or _first_text(by_label, BlockLabel.TITLE)
             or _meta_str(meta, "document_title"))
    words = count_words(body)
    _check_is_article(title, paragraphs, words)
    published, updated = _dates(by_label)
    caption, credit = _caption_and_credit(by_label, options)

    return Article(
        title=title,
        subtitle=_meta_str(meta, "subtitle") or _first_text(by_label, BlockLabel.SUBTITLE),
        authors=_meta_list(meta, "authors") or _authors(_byline_texts(by_label)),
        published_at=_meta_str(meta, "published_at") or published,
        updated_at=_meta_str(meta, "updated_at") or updated,
        body=body,
        paragraphs=paragraphs,
        image_caption=_meta_str(meta, "image_caption") or caption,
        photo_credit=_meta_str(meta, "photo_credit") or credit,
        reading_time_minutes=_meta_int(meta, "reading_time_minutes")
        or _reading_time(by_label.get(BlockLabel.READING_TIME, [])),
        related=_meta_list(meta, "related") or _related(by_label.get(BlockLabel.RELATED, [])),
        language=_meta_str(meta, "language") or guess_language(paragraphs or
                                                               [b.text for b in doc.blocks])
        or script_language(body),
        word_count=words,
        url=_meta_str(meta, "url"),
        canonical_url=_meta_str(meta, "canonical_url"),
        site_name=_meta_str(meta, "site_name"),
        description=_meta_str(meta, "description"),
        tags=_meta_list(meta, "tags"),
        extractor_version=EXTRACTOR_VERSION,
    )


#: below this share of letters among its visible characters, a body is not prose
MIN_LETTER_SHARE = 0.5
#: a page titled like an error page ("404 Not Found") is one when its text is this short
ERROR_PAGE_MAX_WORDS = 120
#: with no title found, a text this short is a note, a few rows of data or a fragment,
#: not an article (the shortest news briefs run to about twice as many words)
UNTITLED_MIN_WORDS = 30


def _check_is_prose(body: str, doc: CleanedDoc) -> None:
    """Refuse a document with no article text, or whose 'text' is not language."""
    if not body.strip():
        kinds = " or ".join(sorted({b.label.value for b in doc.blocks}))
        if not doc.blocks:
            found = "nothing is left once the page is cleaned"
        elif len(doc.blocks) == 1:
            found = f"its only block is labelled {kinds}"
        else:
            found = f"all {len(doc.blocks)} of its blocks are labelled {kinds}"
        raise NotAnArticle(
            f"no article text found: {found} (newsdrop extract FILE --explain shows why)")
    visible, letters = _letter_count(body)
    if letters < MIN_LETTER_SHARE * visible:
        raise NotAnArticle(
            f"the text is not prose: only {letters * 100 // visible}% of its "
            "characters are letters (wrong encoding, or not a text document)")


def _check_is_article(title: str | None, paragraphs: list[str], words: int) -> None:
    """Refuse an error page a scraper fetched instead of the article ("404 Not Found"),
    and a few words with no title (a short note, a small CSV file)."""
    if not title:
        if words < UNTITLED_MIN_WORDS:
            raise NotAnArticle(f"no title and only {words} words of text: too little to "
                               "be an article")
        return
    if not cues.ERROR_PAGE_TITLE.match(title):
        return
    if sum(len(p.split()) for p in paragraphs) <= ERROR_PAGE_MAX_WORDS:
        raise NotAnArticle(f"an error page ({title!r}), not an article")


def _letter_count(text: str) -> tuple[int, int]:
    """(non-whitespace characters, letters among them), as str.isspace/isalpha count.

    A character at a time in Python costs ~0.3 ms per article; here ASCII (most of
    the characters even of non-English pages) is counted by bytes operations in C.
    """
    visible = "".join(text.split())
    ascii_part = visible.encode("ascii", "ignore")
    letters = len(ascii_part.translate(None, _ASCII_NON_LETTERS))
    if len(ascii_part) < len(visible):
        letters += sum(map(str.isalpha, "".join(_NON_ASCII.findall(visible))))
    return len(visible), letters


# ---------------------------------------------------------------------------
# metadata helpers
# ---------------------------------------------------------------------------
def _meta_str(meta: dict[str, Any], key: str) -> str | None:
    """A non-empty string from the metadata, else None."""
    value = meta.get(key)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _meta_int(meta: dict[str, Any], key: str) -> int | None:
    """A positive integer from the metadata, else None."""
    value = meta.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def _meta_list(meta: dict[str, Any], key: str) -> list[str]:
    """A list of non-empty strings from the metadata (a lone string becomes a list)."""
    value = meta.get(key)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    return [v.strip() for v in value if isinstance(v, str) and v.strip()]


def _first_text(by_label: dict[BlockLabel, list[Block]], label: BlockLabel) -> str | None:
    """Text of the first block with this label, if any."""
    blocks = by_label.get(label)
    return blocks[0].text if blocks else None


# ---------------------------------------------------------------------------
# fields read from blocks
# ---------------------------------------------------------------------------
def _byline_texts(by_label: dict[BlockLabel, list[Block]]) -> list[str]:
    """Byline blocks, and the "by …" part of a dateline row ("May 2, 2019 / by Jo Doe")."""
    texts = [b.text for b in by_label.get(BlockLabel.BYLINE, [])]
    for block in by_label.get(BlockLabel.DATELINE, []):
        texts += [p for p in _DATE_PARTS.split(block.text)
                  if cues.BYLINE_PREFIX.match(p.strip()) and is_byline(p.strip())]
    return texts


def _authors(bylines: list[str]) -> list[str]:
    """Person names from byline texts ('By Jane Doe and John Roe' -> two names)."""
    names: list[str] = []
    for byline in bylines:
        # a dateline with a name after its date ("Published May 2, 2019 | Jane Doe")
        text = name_beside_date(byline) or cues.BYLINE_PREFIX.sub("", byline)
        text = cues.DATE.sub(" ", text)
        text = cues.TIME.sub(" ", text)
        text = _AUTHOR_CUT.sub("", text).strip(" ,;|-–")
        for part in _AUTHOR_SPLIT.split(text):
            part = part.strip(" .,;:|-–")
            if (len(part) < 2 or _NOT_A_NAME.match(part) or cues.LOGIN_NAME.fullmatch(part)
                    or not re.search(r"[^\W\d_]", part)):
                continue
            if part not in names:
                names.append(part)
    return names


def _dates(by_label: dict[BlockLabel, list[Block]]) -> tuple[str | None, str | None]:
    """(published_at, updated_at) from datelines (and bylines that carry a date)."""
    published = updated = None
    for block in by_label.get(BlockLabel.DATELINE, []) + by_label.get(BlockLabel.BYLINE, []):
        for part, value in _dated_parts(block.text):
            if cues.UPDATED.search(part):
                updated = updated or value
            else:
                published = published or value
    # An "Updated …" date alone is not a publication date: published_at stays None then.
    return published, updated


def _dated_parts(text: str) -> list[tuple[str, str]]:
    """(part, ISO date) for each part of a dateline that states a date. A part that is a
    time of day and nothing else completes the day stated just before it: "May 20, 2019 |
    10:30 AM"."""
    dated: list[tuple[str, str]] = []
    day_before = False  # the part just before stated a day without a time
    for part in _DATE_PARTS.split(text):
        value = parse_date(part)
        if value is None and day_before and _TIME_ONLY.match(part):
            clock = _time(part)
            if clock:
                before, day = dated[-1]
                dated[-1] = (f"{before} {part}", f"{day}T{clock}")
            day_before = False
            continue
        day_before = value is not None and "T" not in value
        if value is not None:
            dated.append((part, value))
    return dated


def parse_date(text: str) -> str | None:
    """ISO 8601 form of the first date (and time) in `text`; no timezone is invented."""
    m = cues.DATE.search(text)
    if not m:
        return None
    if m.group("iso"):
        return _iso(m.group("iso"))
    if m.group("mdy"):
        day, month, year = m.group("d1"), cues.MONTHS.get(m.group("m1").lower()), m.group("y1")
    elif m.group("dmy"):
        day, month, year = m.group("d2"), cues.MONTHS.get(m.group("m2").lower()), m.group("y2")
    elif m.group("ymd"):  # dotted (m4, d4) or slashed (m5, d5)
        year, month, day = m.group("y4"), int(m.group("m4") or m.group("m5")), \
            m.group("d4") or m.group("d5")
    elif m.group("cjk"):
        year, month, day = m.group("y6"), int(m.group("m6")), m.group("d6")
    else:
        a, b, year = int(m.group("d3")), int(m.group("m3")), m.group("y3")
        if a > 12 >= b:
            day, month = str(a), b
        elif b > 12 >= a:
            day, month = str(b), a
        else:
            return None  # 03/04/2019: day and month cannot be told apart
    if month is None:
        return None
    try:
        d = date(int(year), int(month), int(day))
    except ValueError:
        return None
    # every date out, not only this one: a second date's "12.01" is no time of day
    clock = _time(cues.DATE.sub(" ", text))
    return f"{d.isoformat()}T{clock}" if clock else d.isoformat()


def _iso(value: str) -> str | None:
    """Validate and normalise an ISO 8601 date or date-time as written."""
    value = value.replace(" ", "T", 1)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if "T" not in value:
        return parsed.date().isoformat()
    return parsed.isoformat()


def _time(text: str) -> str | None:
    """'HH:MM:SS[offset]' from a time of day in the text, if one is stated."""
    for m in cues.TIME.finditer(text):
        hour, minute = int(m.group("h")), int(m.group("min"))
        second = int(m.group("s") or 0)
        ampm = (m.group("ampm") or "").lower().replace(".", "")
        if ampm == "pm" and hour < 12:
            hour += 12
        elif ampm == "am" and hour == 12:
            hour = 0
        if hour > 23 or minute > 59 or second > 59:
            continue
        tz = (m.group("tz") or "").upper()
        offset = ""
        if tz in ("UTC", "GMT", "Z"):
            offset = "+00:00"
        elif tz:
            digits = tz.replace(":", "")
            offset = f"{digits[:3]}:{digits[3:]}"
        return f"{hour:02d}:{minute:02d}:{second:02d}{offset}"
    return None


def _caption_and_credit(
    by_label: dict[BlockLabel, list[Block]], options: ExtractOptions
) -> tuple[str | None, str | None]:
    """The lead image's caption and credit."""
    caption = _first_text(by_label, BlockLabel.CAPTION)
    credit = None
    for block in by_label.get(BlockLabel.CREDIT, []):
        found, rest = split_credit(block.text)
        if found and credit is None:
            credit = found
        if caption is None and len(rest.split()) >= options.min_caption_words:
            caption = rest
        if credit is not None and caption is not None:
            break
    return caption, credit


def split_credit(text: str) -> tuple[str | None, str]:
    """(credit, caption text without it) for a caption/credit line."""
    m = cues.find_credit(text)
    if not m:
        return None, text
    credit = next((g for g in m.groups() if g), None)
    caption = (text[: m.start()] + text[m.end():]).strip(" .,;:-–|([")
    if caption and text[: m.start()].rstrip().endswith((".", "!", "?")):
        caption = text[: m.start()].strip()
    return (credit.strip(" .,;()") if credit else None), caption


def _reading_time(blocks: list[Block]) -> int | None:
    """Minutes from a '2 minute read' block."""
    for block in blocks:
        m = cues.READING_TIME.match(block.text)
        if m:
            value = int(m.group("n") or m.group("n2"))
            if value > 0:
                return value
    return None


def _related(blocks: list[Block]) -> list[str]:
    """Headlines of related blocks, without 'Read more:' prefixes or bullets, de-duplicated."""
    out: list[str] = []
    for block in blocks:
        text = _INLINE_PREFIX.sub("", block.text)
        m = cues.INLINE_RELATED.match(text)
        if m:
            text = m.group("headline")
        text = text.strip()
        if text and text not in out:
            out.append(text)
    return out
