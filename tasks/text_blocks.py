"""Label the lines of a plain-text dump: body, metadata, related links or boilerplate.

The decision for each line combines general evidence, in this order:

1. *What the line says* (text_lines.py, with cues.py): calls to action, share/follow
   prompts, paywall appeals, cookie notices, "Related"/"Read more" headers, datelines,
   bylines, reading times, photo credits; and (here) lines the corpus has seen recur
   across many documents of the same source (`known` fingerprints).
2. *Its shape* (text_lines.py): length, stopword density, whether it ends like a
   sentence, bullets.
3. *Its neighbours* (here): a lone "By" above a name, a name beside the dateline, the
   items a sentence ending in ':' introduces, a reader appeal from salutation to
   signature.
4. *Where it sits* (here): the body is one long, mostly contiguous run of prose, found as the
   highest-scoring stretch of lines (prose scores up, junk scores down). Above it is
   the head (title, standfirst, dateline, byline, caption); below it the tail (related
   lists, footers). Short headline-shaped lines inside the body are subheadings when
   alone and links to other articles when they come in runs.

Every line gets exactly one Block, with the evidence in `reason`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping

from tasks import cues
from tasks.document import Block, BlockLabel
from tasks.language import language_of_words, words
from tasks.text_lines import (
    META_KINDS,
    Line,
    ends_like_sentence,
    fingerprint,
    first_look,
    is_byline,
    is_person_name,
    measure,
    name_beside_date,
    split_lines,
)

# ---------------------------------------------------------------------------
# Thresholds (named so a reader can see what each number means)
# ---------------------------------------------------------------------------
#: how far above a dateline holding a name ("May 2, 2019 Jane Doe") its headline may be:
#: a standfirst may sit between them
HEADLINE_ABOVE_DATELINE = 3
#: a single short line between paragraphs up to this long is a subheading
SUBHEADING_MAX_WORDS = 8
#: lines of a head/tail listing scanned above the body for the title
TITLE_SCAN_LINES = 40
#: a headline further above the byline is the title rather than the nearest one when this
#: much more of its content words are the body's (an author's name shares none)
TITLE_TOPIC_MARGIN = 0.2
#: a credit line holds its own caption when a sentence at least this long comes first
CAPTION_MIN_WORDS = 5
#: a sentence-shaped line longer than this is not a title, however it is capitalised
TITLE_MAX_WORDS = 20
#: a run of headline-shaped lines at least this long is a link list, not subheadings
LINK_RUN_MIN = 2
#: a salutation's appeal is looked for within this many lines
APPEAL_MAX_LINES = 40
#: signature lines kept in an appeal after its sign-off ("Thank you," / names)
APPEAL_SIGNATURE_LINES = 4
#: lines whose fingerprint recurs are kept if they are prose at least this long,
#: between body paragraphs (a wire service's standard paragraph, not a template)
RECURRING_BODY_MIN_WORDS = 25
#: when more than this share of a document's countable sentences recur, the document
#: itself was seen before (a re-scrape, an update, a syndicated copy)
SEEN_BEFORE_SHARE = 0.5
#: sentences shorter than this are no evidence of that either way
SEEN_BEFORE_MIN_WORDS = 8

#: items a sentence ending in ':' can introduce, and how long each may be
LIST_MAX_ITEMS = 80
LIST_ITEM_MAX_WORDS = 30
_LIST_ITEM_KINDS = frozenset({"headline", "list", "short_sentence", "near", "dateline"})
#: at most this many recognised junk lines are crossed to reach more prose
BRIDGE_MAX_LINES = 15
# Lines the body may be grown across: identified junk that says nothing about position.
_BRIDGEABLE = frozenset({"cue", "known", "empty", "inline_related"})

#: prose below a comment section header counts this much towards being the body
COMMENTS_WEIGHT = 0.3
#: score added to the first prose line within this many lines below a title+byline/dateline
ARTICLE_START_BONUS = 40.0
ARTICLE_START_WINDOW = 5
#: a prose-less page's content must span at least this many lines to be kept
MIN_FALLBACK_LINES = 3
_CONTENT_KINDS = frozenset({"headline", "list", "short_sentence", "near", "listed", "good"})

# Scores for finding the body: prose adds its length, everything else costs.
_PENALTY = {
    "cue": -8.0,
    "known": -8.0,
    "related_header": -15.0,
    "comments": -40.0,
    "listed": 2.0,
    "inline_related": -4.0,
    "meta": -5.0,
    "empty": -1.0,
    "url": -3.0,
    "headline": -3.0,
    "list": -3.0,
    "short_sentence": 1.0,
}
_OPENERS = "\"'‘“«([¿¡"
# Kinds a line keeps though it recurs: its own text already says what it is, and that says
# more. A dateline folds to the same fingerprint across a month ("May 0, 0"), a staff
# writer's byline recurs on every article, and a "Related" header opens its list.
_KNOWN_KEEPS = META_KINDS | {"empty", "cue", "related_header", "comments", "inline_related"}
_META_LABELS = {
    "dateline": BlockLabel.DATELINE,
    "byline": BlockLabel.BYLINE,
    "reading_time": BlockLabel.READING_TIME,
    "credit": BlockLabel.CREDIT,
}


def classify_text(
    text: str,
    *,
    max_line_chars: int,
    known: Collection[str] | None = None,
    min_docs: int = 0,
    counted_max_words: int = 60,
) -> tuple[list[Block], str | None]:
    """Label every non-blank line of a text dump; return the blocks and the language guess."""
    lines = split_lines(text)
    # Each line is tokenised once: the language guess and the stopword share both use it.
    for line in lines:
        line.tokens = words(line.text[:max_line_chars])
    language = language_of_words(
        (line.tokens or []) if len(line.text) <= max_line_chars else words(line.text)
        for line in lines
        if len(line.text) > 40
    )
    stops = cues.STOPWORDS.get(language or "", cues.ANY_STOPWORDS)
    for line in lines:
        measure(line, stops, max_line_chars, use_stops=language is not None)
        first_look(line, max_line_chars)
    _join_split_bylines(lines)
    _mark_names_beside_dates(lines)
    _mark_introduced_lists(lines)
    _mark_appeals(lines)
    if known:
        _mark_known(lines, known, min_docs, counted_max_words)
    _mark_article_start(lines)
    start, end = _find_body(lines)
    start, end = _bridge(lines, start, end)
    if end < start or not any(lines[i].kind == "good" for i in range(start, end + 1)):
        start, end = _longest_content_run(lines)
        for line in lines[start:end + 1]:
            line.kind = "listed"
            line.why = "content of a page without prose (the longest run no cue marks as junk)"
    _label_related_lists(lines, start, end)
    start = _skip_head_metadata(lines, start, end)
    _label_body(lines, start, end)
    _label_head(lines, start)
    _label_tail(lines, end)
    if known:
        _keep_recurring_body(lines, known, start, end)
    _join_drop_caps(lines)
    blocks = [
        Block(text=line.text, label=line.label or BlockLabel.BOILERPLATE, reason=line.reason,
              score=_line_score(line))
        for line in lines
    ]
    return blocks, language


def _line_score(line: Line) -> float:
    """How strongly the line's kind, and any head start its position earned it, say 'body'
    (positive) or 'junk' (negative)."""
    if line.kind == "good":
        return float(min(line.words, 200)) + line.bonus
    if line.kind == "near":
        return line.words * 0.5 + line.bonus
    if line.kind in META_KINDS:
        return _PENALTY["meta"]
    return _PENALTY.get(line.kind, -1.0)


def _mark_article_start(lines: list[Line]) -> None:
    """Prose right below the first title + byline/dateline block is where the article starts.

    Pages carry other prose (footers, 'about us', teasers); the article is the prose
    that follows its own header, so that prose gets a head start.
    """
    for i, line in enumerate(lines[1:], 1):
        if line.kind not in ("byline", "dateline"):
            continue
        if not any(lines[k].kind == "headline" for k in range(max(0, i - 4), i)):
            continue
        for j in range(i + 1, min(len(lines), i + 1 + ARTICLE_START_WINDOW)):
            if lines[j].kind in ("good", "near"):
                lines[j].bonus = ARTICLE_START_BONUS
                return
            if lines[j].kind in ("related_header", "comments"):
                break
        return


def _join_split_bylines(lines: list[Line]) -> None:
    """A lone "By" line names its author on the next line: that line is the byline."""
    for i, line in enumerate(lines[:-1]):
        if line.words > 2 or not cues.BYLINE_WORD.match(line.text):
            continue
        names = lines[i + 1]
        if names.kind == "headline" and names.words <= 8 and is_byline(f"By {names.text}"):
            line.kind, line.why = "cue", "opens the byline on the next line"
            names.kind, names.why = "byline", "names the author (its 'By' is on the line above)"


def _is_headline(line: Line) -> bool:
    """Headline-shaped and a few words long: a headline rather than a label."""
    return line.kind == "headline" and line.words >= 3


def _mark_names_beside_dates(lines: list[Line]) -> None:
    """A name on its own line between a headline and its dateline, or right below the
    dateline of a headline, is the byline without its "By": "Jane Doe" / "May 2, 2019";
    so is a dateline whose date a name follows and nothing else ("May 2, 2019 Jane Doe") a
    few lines below a headline, where no byline came before it (a second name there is as
    often an editor's or a photographer's).

    A place or a topic can sit there too ("New York", "Climate Change"); unlike the
    author's name, the article's prose names it, and then the line is left alone."""
    prose: str | None = None
    bylined = False  # a byline came before this line
    for i, line in enumerate(lines):
        bylined = bylined or i > 0 and lines[i - 1].kind == "byline"
        if i == 0:
            continue
        if line.kind == "dateline":
            name = name_beside_date(line.text)
            headed = name is not None and not bylined and any(
                _is_headline(lines[j]) for j in range(max(0, i - HEADLINE_ABOVE_DATELINE), i))
            why = "a date and a name beside it, below the headline"
        else:
            name = line.text
            before, after = lines[i - 1], lines[i + 1] if i + 1 < len(lines) else None
            headed = is_person_name(line) and (
                _is_headline(before) and after is not None and after.kind == "dateline"
                or before.kind == "dateline" and i >= 2 and _is_headline(lines[i - 2]))
            why = "a name on its own line beside the dateline"
        if not headed or name is None:
            continue
        if prose is None:
            prose = " ".join(p.text for p in lines if p.kind in ("good", "near")).lower()
        if name.lower() not in prose:
            line.kind, line.why = "byline", why


def _mark_introduced_lists(lines: list[Line]) -> None:
    """Items right below a sentence ending in ':' belong to it ("Tour dates:", "Ingredients:")."""
    for i, line in enumerate(lines):
        if line.kind not in ("good", "near", "short_sentence"):
            continue
        if not line.text.rstrip(cues.TRAILING_CLOSERS + " ").endswith(":"):
            continue
        for j in range(i + 1, min(len(lines), i + 1 + LIST_MAX_ITEMS)):
            item = lines[j]
            if j > i + 1 and item.gap_before:
                break  # a blank line ends the list (the first item may follow one)
            if item.kind not in _LIST_ITEM_KINDS or item.words > LIST_ITEM_MAX_WORDS:
                break
            item.kind, item.why = "listed", "an item of the list the sentence above introduces"


def _mark_appeals(lines: list[Line]) -> None:
    """A salutation ('Dear Reader,') opens an appeal that runs to its signature."""
    for i, line in enumerate(lines):
        if line.kind == "cue" and line.why.startswith("part of"):
            continue
        if not (line.words <= 6 and cues.APPEAL_OPEN.match(line.text)):
            continue
        end = _appeal_end(lines, i)
        for j in range(i, end + 1):
            lines[j].kind = "cue"
            lines[j].why = "part of a reader appeal (salutation to signature)"


def _appeal_end(lines: list[Line], start: int) -> int:
    """Index of the last line of the appeal opened at `start`."""
    limit = min(len(lines), start + APPEAL_MAX_LINES)
    for j in range(start + 1, limit):
        if lines[j].words <= 6 and cues.APPEAL_CLOSE.match(lines[j].text):
            end = j
            for k in range(j + 1, min(limit, j + 1 + APPEAL_SIGNATURE_LINES)):
                if lines[k].terminal or lines[k].words > 10 or lines[k].kind == "good":
                    break
                end = k
            return end
    # No sign-off: the appeal reaches the last line that still pitches something.
    end = start
    for j in range(start + 1, limit):
        if lines[j].kind == "cue":
            end = j
    return end


def _mark_known(lines: list[Line], known: Collection[str], min_docs: int,
                counted_max_words: int) -> None:
    """Lines whose fingerprint recurs across many documents of the source are boilerplate,
    unless the document itself recurs (`seen_before`)."""
    hits = []
    for line in lines:
        if line.kind in _KNOWN_KEEPS:
            continue
        if line.words > counted_max_words \
                and len(line.text.split(None, counted_max_words)) > counted_max_words:
            continue  # never counted, so never known: spare the fingerprint of a paragraph
        fp = fingerprint(line.text)
        if fp and fp in known:
            hits.append((line, fp))
    recurring = {id(line) for line, _ in hits}
    if seen_before([(line.words, id(line) in recurring) for line in lines
                    if line.kind in ("good", "near")], counted_max_words):
        return
    counts = known if isinstance(known, Mapping) else None
    for line, fp in hits:
        n = counts.get(fp) if counts is not None else None
        many = f"{n}" if isinstance(n, int) else f"at least {min_docs}" if min_docs else "many"
        line.kind, line.why = "known", f"recurs across {many} documents of this source"


def seen_before(sentences: Iterable[tuple[int, bool]], counted_max_words: int) -> bool:
    """Whether recurrence means "this article was taken in before", not "template".

    One (words, recurs) pair per sentence of the document; those the corpus could have
    counted (up to `counted_max_words`) and long enough to tell are weighed. A site's
    template is menus, prompts and a few stock sentences; when most of a document's
    sentences recur, the document is a copy of one seen before (a re-scrape, an update,
    a syndicated copy), and dropping them would strip its body.
    """
    weighed = [recurs for words, recurs in sentences
               if SEEN_BEFORE_MIN_WORDS <= words <= counted_max_words]
    return len(weighed) >= 2 and sum(weighed) > SEEN_BEFORE_SHARE * len(weighed)


# ---------------------------------------------------------------------------
# Evidence from position
# ---------------------------------------------------------------------------
def _find_body(lines: list[Line]) -> tuple[int, int]:
    """Indices (inclusive) of the highest-scoring contiguous stretch: the article body.

    A comment section header is a wall: the stretch never crosses it, and prose below
    it (readers' comments) counts for less, so a long discussion cannot outweigh the
    article it discusses.
    """
    best, best_start, best_end = 0.0, 0, -1
    running, run_start = 0.0, 0
    weight = 1.0
    for i, line in enumerate(lines):
        if line.kind == "comments":
            running, weight = 0.0, COMMENTS_WEIGHT
            continue
        if running <= 0:
            running, run_start = 0.0, i
        score = _line_score(line)
        running += score * weight if score > 0 else score
        if running > best:
            best, best_start, best_end = running, run_start, i
    if best_end < 0:
        return len(lines), len(lines) - 1  # no prose at all: everything is head/tail
    # trim junk at the edges of the stretch: it starts and ends on prose
    while best_start < best_end and lines[best_start].kind not in ("good", "near"):
        best_start += 1
    while best_end > best_start and lines[best_end].kind not in ("good", "near",
                                                                 "short_sentence", "listed"):
        best_end -= 1
    return best_start, best_end


def _longest_content_run(lines: list[Line]) -> tuple[int, int]:
    """Fallback for pages without prose (a calendar, a results table): the longest run of
    lines that no cue marks as junk."""
    best = (len(lines), len(lines) - 1)
    best_len = 0
    run_start = None
    for i, line in enumerate([*lines, None]):
        content = line is not None and line.kind in _CONTENT_KINDS
        if content and run_start is None:
            run_start = i
        if not content and run_start is not None:
            if i - run_start > best_len:
                best, best_len = (run_start, i - 1), i - run_start
            run_start = None
    return best if best_len >= MIN_FALLBACK_LINES else (len(lines), len(lines) - 1)


def _bridge(lines: list[Line], start: int, end: int) -> tuple[int, int]:
    """Grow the body over recognised junk (a pitch, a share bar) to prose on the other side.

    The stretch search can stop at a long identified block such as a reader appeal;
    prose beyond it still belongs to the article when nothing between says otherwise
    (no headline lists, datelines or related headers, which mark a page's other parts).
    """
    if end < start:
        return start, end
    while True:
        grown = _bridge_one(lines, start, -1)
        if grown is None:
            break
        start = grown
    while True:
        grown = _bridge_one(lines, end, +1)
        if grown is None:
            break
        end = grown
    return start, end


def _bridge_one(lines: list[Line], edge: int, step: int) -> int | None:
    """New edge after crossing one gap of recognised junk in direction `step`, or None."""
    i = edge + step
    gap = 0
    while 0 <= i < len(lines) and lines[i].kind in _BRIDGEABLE:
        i += step
        gap += 1
    if gap == 0 or gap > BRIDGE_MAX_LINES or not 0 <= i < len(lines):
        return None
    new_edge, good = None, False
    while 0 <= i < len(lines) and lines[i].kind in ("good", "near", "short_sentence"):
        good = good or lines[i].kind == "good"
        new_edge = i
        i += step
    return new_edge if good else None


def _skip_head_metadata(lines: list[Line], start: int, end: int) -> int:
    """Move the body's start past a dateline/byline block that a standfirst pulled inside."""
    prose_words = 0
    new_start = start
    for i in range(start, min(end + 1, start + 12)):
        line = lines[i]
        if line.kind in META_KINDS and prose_words <= 60:
            new_start = i + 1
        elif line.kind in ("good", "near"):
            prose_words += line.words
            if prose_words > 60:
                break
    while new_start <= end and lines[new_start].kind not in ("good", "near"):
        new_start += 1
    return new_start if new_start <= end else start


def _is_headline_text(line: Line) -> bool:
    """Reads like another article's headline (not a name or a label)."""
    return line.words >= 5 or (line.words >= 3 and line.stop_share > 0)


def _article_header(lines: list[Line], start: int) -> int:
    """Index of the article's own header: the headline right above a "By …" line that
    leads into the body (few lines between them), or `start` if there is none.

    Only a byline that says "By" marks it: a teaser in a list of related articles has a
    headline and a date too, and may stand right above the body."""
    by_at = _said_by_above(lines, start, ARTICLE_START_WINDOW)
    if by_at is None:
        return start
    header = _non_empty_above(lines, by_at)
    if header is None or lines[header].kind != "headline":
        return by_at
    # a teaser of a list running into the body looks the same, but so does the item above
    # it: a byline right above the headline, dated the same way or undated alike
    teaser_by = _said_by_above(lines, header, 2)
    if teaser_by is not None and _dated(lines, teaser_by) == _dated(lines, by_at):
        return start
    return header


def _dated(lines: list[Line], i: int) -> bool:
    """Whether a dateline follows line `i` (blank lines aside)."""
    j = i + 1
    while j < len(lines) and lines[j].kind == "empty":
        j += 1
    return j < len(lines) and lines[j].kind == "dateline"


def _said_by_above(lines: list[Line], below: int, within: int) -> int | None:
    """Index of the nearest "By …" byline above line `below`, among the `within` non-empty
    lines above it, with no prose between; None if there is none."""
    seen = 0
    for i in range(below - 1, -1, -1):
        line = lines[i]
        if line.kind in ("good", "near") or seen >= within:
            return None
        if line.kind == "byline" and cues.BYLINE_PREFIX.match(line.text):
            return i
        if line.kind != "empty":
            seen += 1
    return None


def _non_empty_above(lines: list[Line], i: int) -> int | None:
    above = i - 1
    while above >= 0 and lines[above].kind == "empty":
        above -= 1
    return above if above >= 0 else None


def _label_related_lists(lines: list[Line], start: int, end: int) -> None:
    """A 'Related'/'Read more' header and the list under it, until prose resumes or the
    article's own header begins (a list in the page's menus can run right into it)."""
    header = _article_header(lines, start)
    for i, line in enumerate(lines):
        if line.kind != "related_header":
            continue
        line.set(BlockLabel.BOILERPLATE, line.why)
        for j in range(i + 1, len(lines)):
            item = lines[j]
            if item.label is not None or (i < header <= j):
                break
            # prose resumes: the list is over (a list inside the body ends at a paragraph)
            if item.kind == "good" or (item.kind == "near" and start <= j <= end):
                break
            if item.kind in ("related_header", "comments"):
                break
            if item.kind in ("headline", "list", "near", "short_sentence",
                             "inline_related") and _is_headline_text(item):
                item.set(BlockLabel.RELATED, "listed under a related-articles header")
            else:
                item.set(BlockLabel.BOILERPLATE,
                         f"part of a related-articles list ({item.why or item.kind})")


def _label_body(lines: list[Line], start: int, end: int) -> None:
    """Label the lines inside the body stretch."""
    i = start
    while i <= end:
        line = lines[i]
        if line.label is not None:
            i += 1
            continue
        kind = line.kind
        if kind in ("good", "near", "short_sentence", "listed"):
            line.set(BlockLabel.BODY, line.why)
        elif kind == "list" and line.words >= 4 and line.stop_share > 0:
            line.set(BlockLabel.BODY, "a list item inside the body")
        elif kind == "headline" or kind == "list":
            j = i
            while j + 1 <= end and lines[j + 1].label is None and lines[j + 1].kind in (
                "headline", "list"
            ):
                j += 1
            _label_inline_run(lines[i:j + 1])
            i = j
        elif kind == "inline_related":
            line.set(BlockLabel.RELATED, line.why)
        elif kind in META_KINDS:
            line.set(_META_LABELS[kind], line.why + " (inside the body)")
        else:
            line.set(BlockLabel.BOILERPLATE, line.why or "not prose")
        i += 1
    _label_captions(lines, start, end + 1)


def _label_inline_run(run: list[Line]) -> None:
    """Short headline-shaped lines between paragraphs: a subheading, or links elsewhere."""
    if len(run) < LINK_RUN_MIN and run[0].words <= SUBHEADING_MAX_WORDS:
        run[0].set(BlockLabel.BODY, "a subheading between body paragraphs")
        return
    for line in run:
        if _is_headline_text(line) and not line.bullet:
            line.set(BlockLabel.RELATED,
                     "headline-shaped line between paragraphs (a link to another article)")
        elif _is_headline_text(line):
            line.set(BlockLabel.RELATED, "a linked headline in a list inside the body")
        else:
            line.set(BlockLabel.BOILERPLATE, "a short label between paragraphs")


def _label_captions(lines: list[Line], lo: int, hi: int) -> None:
    """A short line right above a photo credit is that photo's caption, unless the credit
    line states its own ("Fans cheer in Madrid. (Jo Doe/AP)"): the line above it is then
    something else, the headline as often as not."""
    for i in range(max(lo, 1), hi):
        if lines[i].kind != "credit" or _holds_its_caption(lines[i].text):
            continue
        prev = lines[i - 1]
        if prev.kind in ("headline", "near", "short_sentence") and prev.label in (
            None, BlockLabel.BODY, BlockLabel.BOILERPLATE, BlockLabel.RELATED
        ) and prev.words <= 30:
            prev.set(BlockLabel.CAPTION, "directly above a photo credit")


def _holds_its_caption(text: str) -> bool:
    """A credit line that states its photo's caption too: a sentence before the credit."""
    m = cues.find_credit(text)
    before = text[:m.start()] if m else ""
    return len(before.split()) >= CAPTION_MIN_WORDS and ends_like_sentence(before)


def _label_head(lines: list[Line], start: int) -> None:
    """Title, standfirst and metadata above the body; the rest of the head is boilerplate."""
    _label_captions(lines, 1, start)
    title_at = _find_title(lines, start)
    if title_at is not None:
        lines[title_at].set(BlockLabel.TITLE, "the headline-shaped line above the article's "
                                              "metadata and body")
        for j in range(title_at + 1, start):
            cand = lines[j]
            if cand.label is None and cand.kind in ("good", "near", "short_sentence"):
                cand.set(BlockLabel.SUBTITLE, "the sentence right below the title")
                break
            if cand.label is None and cand.kind not in ("empty", "list", "cue"):
                break
    meta_from = max(0, title_at - 2) if title_at is not None else 0
    for i in range(start):
        line = lines[i]
        if line.label is not None:
            continue
        if line.kind in META_KINDS and i >= meta_from:
            line.set(_META_LABELS[line.kind], line.why)
        elif line.kind in META_KINDS:
            line.set(BlockLabel.BOILERPLATE, f"{line.why}, far above the article")
        elif line.kind == "inline_related":
            line.set(BlockLabel.RELATED, line.why)
        else:
            line.set(BlockLabel.BOILERPLATE,
                     f"above the article body ({line.why or line.kind})")


def _find_title(lines: list[Line], start: int) -> int | None:
    """Index of the title: a headline-shaped line above the head's metadata."""
    lowest = max(0, start - TITLE_SCAN_LINES)
    # The title sits above the dateline/byline: start looking there if the head has one,
    # so that a caption between the dateline and the body is not taken for the title.
    top = start
    for i in range(start - 1, lowest - 1, -1):
        if lines[i].kind in ("dateline", "byline") and lines[i].label is None:
            top = i
            break
    found = _scan_title(lines, top, lowest)
    if found is None and top != start:
        found = _scan_title(lines, start, top)
    return found


def _body_words(lines: list[Line]) -> frozenset[str]:
    """The words the body uses, stopwords left out: what its headline is about."""
    found: set[str] = set()
    for line in lines:
        if line.label is BlockLabel.BODY and line.tokens:
            found.update(line.tokens)
    return frozenset(found - cues.ANY_STOPWORDS)


def _topic_words(line: Line, body_words: frozenset[str]) -> tuple[int, float]:
    """How many of the line's content words the body uses too, and what share they are."""
    content = [t for t in line.tokens or () if t not in cues.ANY_STOPWORDS]
    shared = sum(1 for t in content if t in body_words)
    return shared, shared / len(content) if content else 0.0


def _title_cased_sentence(line: Line) -> bool:
    """A short sentence with Every Word Capitalised: a headline that ends in "?", "!" or "."
    ("Is Football Violence a Crime?"). Running text rarely capitalises all its words."""
    if line.kind not in ("good", "near", "short_sentence") or line.words > TITLE_MAX_WORDS:
        return False
    content = [w.lstrip(_OPENERS) for w in line.text.split()]
    content = [w for w in content if w[:1].isalpha() and w.lower() not in cues.ANY_STOPWORDS]
    return len(content) >= 3 and all(w[0].isupper() for w in content)


def _scan_title(lines: list[Line], top: int, lowest: int) -> int | None:
    """The headline-shaped line above `top` (down to `lowest`) that is the title.

    The nearest headline of 3+ words, unless one further up shares clearly more of its
    words with the body: a headline is about its article, while the lines between it and
    the byline (an author's name, a comment count, a "Browse all posts" link) are not.
    Fewer shared words never win: a short line's share is too easily high.
    """
    fallback = None
    candidates: list[int] = []
    for i in range(top - 1, lowest - 1, -1):
        line = lines[i]
        if line.label is not None or line.kind in ("empty", "cue", "known", "url", "list",
                                                  "related_header", "inline_related"):
            continue
        if line.kind in META_KINDS:
            continue
        if (line.kind == "headline" and line.words >= 3) or _title_cased_sentence(line):
            candidates.append(i)
        if line.kind == "headline" and fallback is None:
            fallback = i
        if line.kind == "good" and line.words > 60:
            break  # a long paragraph above means we are not in the head any more
    if len(candidates) <= 1:
        return candidates[0] if candidates else fallback
    body_words = _body_words(lines)  # only when there is a choice to make
    best = candidates[0]
    best_shared, best_share = _topic_words(lines[best], body_words)
    for i in candidates[1:]:
        shared, share = _topic_words(lines[i], body_words)
        if lines[best].kind != "headline" and lines[i].kind == "headline":
            # a Title-Cased sentence nearer the byline may be the standfirst: a headline-
            # shaped line above it is the title unless clearly less about the body
            better = shared >= 1 and share >= best_share - TITLE_TOPIC_MARGIN
        else:
            better = share >= best_share + TITLE_TOPIC_MARGIN and shared >= max(1, best_shared)
        if better:
            best, best_shared, best_share = i, shared, share
    return best


def _label_tail(lines: list[Line], end: int) -> None:
    """Below the body: related links and credits keep their meaning, the rest is footer."""
    in_comments = False
    for i in range(end + 1, len(lines)):
        line = lines[i]
        in_comments = in_comments or line.kind == "comments"
        if line.label is not None:
            continue
        if in_comments:
            line.set(BlockLabel.BOILERPLATE, f"in the comment section ({line.why or line.kind})")
        elif line.kind == "inline_related":
            line.set(BlockLabel.RELATED, line.why)
        elif line.kind == "credit" and i <= end + 3:
            line.set(BlockLabel.CREDIT, line.why)
        else:
            line.set(BlockLabel.BOILERPLATE,
                     f"below the article body ({line.why or line.kind})")


def _keep_recurring_body(lines: list[Line], known: Collection[str], start: int,
                         end: int) -> None:
    """Undo a recurrence verdict for long prose sitting between body paragraphs."""
    for i in range(max(start, 1), min(end, len(lines) - 1)):
        line = lines[i]
        if line.kind != "known" or line.words < RECURRING_BODY_MIN_WORDS:
            continue
        if not ends_like_sentence(line.text):
            continue
        if lines[i - 1].label is BlockLabel.BODY and lines[i + 1].label is BlockLabel.BODY:
            line.set(BlockLabel.BODY, "recurs in other documents, but is prose inside the body")


#: a paragraph's first capital set apart from the rest of its word, as a page's drop cap
#: comes out in a text dump ("T he Davis Cup"). Vowels and Y are left out: each is a
#: word of its own in some language ("A long time", "E poi", "Y luego")
_DROP_CAP = re.compile(r"([B-DF-HJ-NP-TV-XZ]) ([a-z]+)\b")


def _join_drop_caps(lines: list[Line]) -> None:
    """Join a body paragraph's split drop cap back to its word when the whole word is
    written elsewhere in the body ("T he" where "the" is; not "T cells", "B vitamins",
    nor the Polish "W czwartek"). A drop cap whose word the page writes nowhere else
    ("M uch") stays split: nothing tells it from a letter that names something."""
    body = [line for line in lines if line.label is BlockLabel.BODY]
    split = [(line, m) for line in body if (m := _DROP_CAP.match(line.text))]
    if not split:
        return
    written = {w for line in body for w in words(line.text)}
    for line, m in split:
        if (m[1] + m[2]).lower() in written:
            line.text = m[1] + m[2] + line.text[m.end():]
