"""What each line of a plain-text dump is, judged from its own text alone.

A dump is split into `Line`s; each is normalised (entities, stray tags, spaces), measured
(words, stopword share, final punctuation, bullet) and given a first kind from what it
says (cues.py: prompts, datelines, bylines, credits…) or, failing that, from its shape
(prose, a short sentence, a headline, a list item). text_blocks.py then weighs the
lines' neighbours and position to label each one.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache

from tasks import cues
from tasks.document import BlockLabel
from tasks.language import count_words, words

#: a paragraph of at least this many words that reads like prose is body evidence
GOOD_MIN_WORDS = 10
#: prose needs at least this share of stopwords (menus, names and headlines have few)
GOOD_MIN_STOP_SHARE = 0.16
#: a line this long is prose even without final punctuation (a wrapped paragraph)
LONG_LINE_WORDS = 25
#: medium sentences need this share of stopwords to count as prose
NEAR_MIN_STOP_SHARE = 0.10
#: a dateline may be a row of this many short facts (date, comment count, section, author)
FACT_ROW_MAX_PARTS = 6
FACT_MAX_WORDS = 6
#: a cue on a line longer than this needs a second cue to outweigh the prose
CUE_MAX_WORDS = 40

_TOKEN = re.compile(r"\w+")
# Only real HTML tag names are stripped: "<The Palace>" in a dump is a title, not markup.
_TAG = re.compile(
    r"<!--.{0,2000}?-->|</?(?:a|abbr|article|aside|audio|b|blockquote|br|button|caption|center|"
    r"cite|code|dd|div|dl|dt|em|figcaption|figure|font|footer|form|h[1-6]|header|hr|i|iframe|"
    r"img|input|label|li|link|main|meta|nav|noscript|ol|option|p|picture|pre|s|script|section|"
    r"select|small|source|span|strike|strong|style|sub|sup|svg|table|tbody|td|th|thead|time|"
    r"tr|u|ul|video)(?:\s[^<>]{0,500})?/?>",
    re.IGNORECASE,
)
_SPACE_CHARS = r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]"
# Runs of spaces that collapse to one " ": every run except a lone " ", which is left
# alone (replacing it with itself, once per word, is most of the cost of the collapse).
_SPACES = re.compile(rf"[\t\u00a0\u2000-\u200b\u202f\u205f\u3000]{_SPACE_CHARS}*| {_SPACE_CHARS}+")
_HAS_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_CAPITALISED = re.compile(r"^[^\W\d_]*[A-Z]", re.UNICODE)
# one word of a person's name: "Jane", "JANE", "O'Neil", "Smith-Jones", an initial "Y.",
# "Иван" (its first letter must be a capital too: see is_person_name)
_NAME_WORD = re.compile(r"^[^\W\d_](?:[^\W\d_]|['’-])*\.?$")
# lowercase words inside a name: "Ana de Souza", "Ludwig van Beethoven"
_NAME_PARTICLES = frozenset({"de", "da", "di", "del", "della", "van", "von", "der", "den",
                             "le", "la", "bin", "al", "el", "dos", "du"})
META_KINDS = frozenset({"dateline", "byline", "reading_time", "credit"})


@dataclass(slots=True)
class Line:
    """One non-blank input line with the evidence gathered about it."""

    text: str
    gap_before: bool  # a blank line (or the start) precedes it
    words: int = 0
    stop_share: float = 0.0
    terminal: bool = False
    bullet: bool = False
    tokens: list[str] | None = None  # words() of the analysed text (the first max_chars)
    kind: str = ""
    why: str = ""
    bonus: float = 0.0  # positional evidence added to the line's score
    label: BlockLabel | None = None
    reason: str = ""

    def set(self, label: BlockLabel, reason: str) -> None:
        """Record the final verdict."""
        self.label, self.reason = label, reason


def normalise_line(line: str) -> str:
    """A dump line as text: entities unescaped, stray tags removed, spaces collapsed."""
    if "<" in line:
        line = _TAG.sub(" ", line)
    if "&" in line:
        line = html.unescape(line)
    if line.isascii() and "  " not in line and "\t" not in line:
        return line.strip()  # no run to collapse: skip the scan
    return _SPACES.sub(" ", line).strip()


#: lines up to this long have their fingerprint cached: 8,192 of them hold about 10 MB
#: at most (ASCII), and longer lines are body paragraphs, which do not recur
FINGERPRINT_CACHED_CHARS = 600


def fingerprint(line: str) -> str:
    """Normalised form of a line for counting recurrences: case, digits, punctuation folded.

    A text line is fingerprinted when it is checked against the recurring lines and
    again when its document's lines are counted, so short lines (the ones that recur)
    are cached; long ones would only crowd the cache.
    """
    if len(line) > FINGERPRINT_CACHED_CHARS:
        return _fold(line)
    return _cached_fold(line)


def _fold(line: str) -> str:
    return " ".join(["0" if t.isdigit() else t for t in _TOKEN.findall(line.lower())])


_cached_fold = lru_cache(maxsize=8192)(_fold)


def ends_like_sentence(text: str) -> bool:
    """True if the text ends with sentence punctuation, looking past closing quotes."""
    stripped = text.rstrip(cues.TRAILING_CLOSERS + " ")
    return bool(stripped) and stripped[-1] in cues.TERMINAL_PUNCT


def is_dateline(text: str) -> bool:
    """A line that is mostly a date: at most a few other words beside it, or a row of short
    facts about the article, one of which is its date ("May 2, 2019 / 4 Comments / in Local
    News / by Jo Doe"). A row needs a fact only an article's header states (an author, a
    comment count, a reading time, its section): an event's "June 7, 2019 | 7:30 PM |
    Harbour Stage" or a headline run into a date is no dateline."""
    if not cues.HAS_YEAR.search(text) or not cues.DATE.search(text):
        return False
    if _mostly_a_date(text):
        return True
    parts = [p.strip() for p in cues.FACT_SEPARATOR.split(text)]
    return (2 <= len(parts) <= FACT_ROW_MAX_PARTS
            and all(len(p.split()) <= FACT_MAX_WORDS for p in parts)
            and any(_mostly_a_date(p) for p in parts)
            and any(cues.HEADER_FACT.match(p) for p in parts))


def _mostly_a_date(text: str) -> bool:
    rest = cues.DATE.sub(" ", text)
    rest = cues.DATELINE_WORDS.sub(" ", rest)
    return len(words(rest)) <= 3


def is_byline(text: str) -> bool:
    """A line naming the author(s): 'By Jane Doe', 'Jane Doe | Reuters', 'Jane Doe @jdoe',
    or their role ('Staff reporter @jdoe')."""
    m = cues.BYLINE.match(text)
    if not m:
        return cues.AUTHOR_ROLE.match(text) is not None
    if m["names5"]:  # a section's rail ends so too: "Real Estate View More Articles"
        return names_a_person(m["names5"])
    names = next((m[g] for g in ("names", "names2", "names3", "names4") if m[g]), "")
    names = cues.DATE.sub(" ", names)
    tokens = [t for t in re.split(r"[\s,&/|\-–]+", names) if t]
    if not tokens or len(tokens) > 12:
        return False
    capital = sum(1 for t in tokens if _CAPITALISED.match(t))
    joiners = sum(1 for t in tokens if t.lower() in {"and", "und", "et", "y", "e", "en"})
    return capital >= max(1, (len(tokens) - joiners) * 0.6)


def split_lines(text: str) -> list[Line]:
    """Non-blank lines, each remembering whether a blank line came before it."""
    lines: list[Line] = []
    gap = True
    for raw in text.split("\n"):
        if not raw.strip():
            gap = True
            continue
        clean = normalise_line(raw)
        lines.append(Line(text=clean or raw.strip(), gap_before=gap))
        if not clean:
            lines[-1].kind, lines[-1].why = "empty", "markup or invisible characters only"
        gap = False
    return lines


def measure(line: Line, stops: frozenset[str], max_chars: int, *, use_stops: bool) -> None:
    """Length, stopword share, final punctuation and bullet shape of a line."""
    sample = line.text[:max_chars]
    tokens = line.tokens if line.tokens is not None else words(sample)
    line.words = count_words(sample)
    if use_stops:
        line.stop_share = len([t for t in tokens if t in stops]) / len(tokens) if tokens else 0.0
    else:
        # no language recognised (or a script without spaces): shape alone decides
        line.stop_share = 1.0 if tokens else 0.0
    line.terminal = ends_like_sentence(sample)
    line.bullet = bool(cues.BULLET.match(sample))


def first_look(line: Line, max_chars: int) -> None:
    """Classify a line from its own text: cues first, then shape."""
    if line.kind:
        return
    text = line.text[:max_chars]
    # no word tokens <=> no letter (a line NO_WORDS matches has none either)
    if not (line.tokens if line.tokens is not None else _HAS_LETTER.search(text)):
        line.kind, line.why = "empty", "no words (bullets, separators or numbers only)"
        return
    if cues.URL.match(text):
        line.kind, line.why = "url", "a bare web address"
        return
    short = line.words <= CUE_MAX_WORDS
    if short and line.words <= 10 and cues.RELATED_HEADER.match(text):
        line.kind, line.why = "related_header", "a header that opens a list of other articles"
        return
    if short and cues.INLINE_RELATED.match(text) and not line.terminal:
        line.kind, line.why = "inline_related", "a link to another article ('Read more: …')"
        return
    if line.words <= 16 and cues.COMMENTS_HEADER.match(text):
        line.kind, line.why = "comments", "opens the comment section"
        return
    if line.words <= 10 and cues.COMMENT_AUTHOR.match(text):
        line.kind, line.why = "cue", "a reader comment's author line"
        return
    if line.words <= 12 and cues.READING_TIME.match(text):
        line.kind, line.why = "reading_time", "states the reading time"
        return
    low = text.lower()  # shared by the cue scans below
    if line.words <= 60 and cues.is_credit(text, low=low):
        line.kind, line.why = "credit", "a photo caption/credit"
        return
    if line.words <= 14 and is_byline(text):
        line.kind, line.why = "byline", "names the author ('By …')"
        return
    if line.words <= 16 and is_dateline(text):
        line.kind, line.why = "dateline", "mostly a date"
        return
    hits = cues.boilerplate_hits(text, line.words, low=low, tokens=line.tokens)
    if not hits and line.bullet and cues.BULLETED_BUTTON.match(text):
        # a row of buttons rendered as a list: "* Follow on Facebook", "* Show more"
        hits = ["button"]
    if hits and (short or len(hits) >= 2 or hits[0] in cues.STRONG_CUES):
        line.kind, line.why = "cue", f"{hits[0]} ({', '.join(sorted(set(hits)))})"
        return
    if line.bullet and (line.words < 6 or line.stop_share < NEAR_MIN_STOP_SHARE):
        line.kind, line.why = "list", "a short list item (menu or link list)"
        return
    good_shape = line.terminal or line.words >= LONG_LINE_WORDS
    if line.words >= GOOD_MIN_WORDS and good_shape and line.stop_share >= GOOD_MIN_STOP_SHARE:
        line.kind = "good"
        line.why = f"prose: {line.words} words, {line.stop_share:.0%} stopwords"
    elif line.terminal and line.words >= 4 and line.stop_share >= NEAR_MIN_STOP_SHARE:
        line.kind = "near"
        line.why = f"a sentence: {line.words} words, {line.stop_share:.0%} stopwords"
    elif line.terminal:
        line.kind, line.why = "short_sentence", f"a short sentence ({line.words} words)"
    elif line.words >= LONG_LINE_WORDS:
        line.kind, line.why = "list", "a long run of words that is not prose (few stopwords)"
    else:
        line.kind, line.why = "headline", "headline-shaped: short, no final punctuation"


def is_person_name(line: Line) -> bool:
    """Two or three capitalised words and nothing else: "Jane Doe", "JANE DOE", "Ana de Souza".

    Four or more are left out: they are as often a name run into its outlet ("Jane Doe
    Florida Today") or a section label as a name."""
    return line.kind == "headline" and not line.bullet and names_a_person(line.text)


def names_a_person(text: str) -> bool:
    """`is_person_name` for a text of any kind."""
    tokens = text.split()
    # a particle inside a name may be capitalised: "Marcus De Guzman", "Ana Da Silva"
    particles = [t.lower() in _NAME_PARTICLES for t in tokens]
    names = [t for t, particle in zip(tokens, particles, strict=True) if not particle]
    if not 2 <= len(names) <= 3 or particles[0] or particles[-1]:
        return False
    return all(t[0].isupper() and _NAME_WORD.match(t) and t.lower() not in cues.ANY_STOPWORDS
               and t.lower().rstrip(".") not in cues.MONTHS
               and t.lower() not in cues.SECTION_WORDS for t in names)


#: what may stand between a date and the name beside it: "May 2, 2019 | Jane Doe"
_SEPARATORS = " |,-–—/•·"


def name_beside_date(text: str) -> str | None:
    """The name of "May 2, 2019 Jane Doe" or "Published Mon May 2, 2019 10:30 | Jane Doe":
    what follows the date (and its time), when that is a person's name and no outlet's.

    Nothing but dateline words may come before the date: "Hong Kong, May 2, 2019" is the
    wire's place-then-date."""
    m = cues.DATE.search(text)
    if m is None or cues.DATELINE_WORDS.sub(" ", text[:m.start()]).strip(_SEPARATORS):
        return None
    rest = " ".join(cues.TIME.sub(" ", text[m.end():]).split()).strip(_SEPARATORS)
    if not rest or not names_a_person(rest) or \
            rest.split()[-1].lower() in cues.OUTLET_WORDS:
        return None
    return rest
