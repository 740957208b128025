"""The cheap pre-checks in front of the cue patterns never change what the patterns decide.

Each fast path (trigger scans, the credit and year pre-checks, tokenising lowered text,
collapsing spaces, counting stopwords per distinct word) is compared with the plain
computation it stands in for, on generated matches of the patterns themselves and on
random text built from the characters and words that make the shortcuts tricky.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from re import _constants as sre_c  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]

from hypothesis import given, settings
from hypothesis import strategies as st

from tasks import cues, language
from tasks.text_lines import normalise_line, split_lines

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "sample_seed.txt"

# ---------------------------------------------------------------------------
# Strings that match a pattern, covering every alternative of every group once
# ---------------------------------------------------------------------------
_CANDIDATES = "a1 x.-/é"


def _in_class(ch: str, items: list) -> bool:
    negate = False
    hit = False
    for op, av in items:
        if op is sre_c.NEGATE:
            negate = True
        elif op is sre_c.LITERAL:
            hit |= ord(ch) == av
        elif op is sre_c.RANGE:
            hit |= av[0] <= ord(ch) <= av[1]
        elif op is sre_c.CATEGORY:
            name = str(av).lower()
            probe = {"digit": r"\d", "space": r"\s", "word": r"\w"}
            kind = next(k for k in probe if k in name)
            found = re.fullmatch(probe[kind], ch) is not None
            hit |= (not found) if "not" in name else found
    return hit != negate


def _one_char(op: object, av: object) -> str:
    if op is sre_c.LITERAL:
        return chr(av)  # type: ignore[arg-type]
    if op is sre_c.NOT_LITERAL:
        return next(c for c in _CANDIDATES if ord(c) != av)
    if op is sre_c.ANY:
        return " "
    if op is sre_c.IN:
        return next(c for c in _CANDIDATES + "$" if _in_class(c, av))  # type: ignore[arg-type]
    raise AssertionError(f"unexpected single-character op {op}")


def _member(op: object, av: object) -> str:
    """One character of a class item (a literal, a range's first, a category's example)."""
    if op is sre_c.LITERAL:
        return chr(av)  # type: ignore[arg-type]
    if op is sre_c.RANGE:
        return chr(av[0])  # type: ignore[index]
    return _one_char(sre_c.IN, [(op, av)])


def _variants(seq: list) -> list[str]:
    """A default expansion of the sequence, then one string per other choice in it."""
    per_item = [_item_variants(op, av) for op, av in seq]
    default = "".join(v[0] for v in per_item)
    out = [default]
    for k, variants in enumerate(per_item):
        head = "".join(v[0] for v in per_item[:k])
        tail = "".join(v[0] for v in per_item[k + 1:])
        out.extend(head + v + tail for v in variants[1:])
    return out


def _item_variants(op: object, av: object) -> list[str]:
    if op is sre_c.BRANCH:
        return [s for alt in av[1] for s in _variants(list(alt))]  # type: ignore[index]
    if op is sre_c.SUBPATTERN:
        return _variants(list(av[-1]))  # type: ignore[index]
    if op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT):
        low, high, sub = av  # type: ignore[misc]
        inner = _variants(list(sub))
        counts = [max(low, 1) if high >= 1 else 0]
        if low == 0:
            counts.append(0)
        return [inner[0] * counts[0], *(s * max(counts[0], 1) for s in inner[1:]),
                *(inner[0] * n for n in counts[1:])]
    if op in (sre_c.AT, sre_c.ASSERT, sre_c.ASSERT_NOT):
        return [""]  # zero-width: strings it rules out are dropped by matches_of
    if op is sre_c.IN and all(item[0] is not sre_c.NEGATE for item in av):  # type: ignore
        # every member of a class, so that [$€£] yields "$", "€" and "£"
        return list(dict.fromkeys(_member(o, v) for o, v in av))  # type: ignore
    return [_one_char(op, av)]


def matches_of(rx: re.Pattern[str]) -> list[str]:
    """Generated strings that `rx` matches (those the simple expansion gets right)."""
    found = [s for s in _variants(list(sre_parse.parse(rx.pattern, rx.flags))) if rx.search(s)]
    assert found, f"no generated string matches {rx.pattern[:60]}"
    return found


def holds_trigger(text: str, trigger: str) -> bool:
    """r"\bword\b": the word as a whole run of letters; anything else: a substring."""
    if trigger.startswith("\\b") and trigger.endswith("\\b"):
        word = re.escape(trigger[2:-2])
        return re.search(rf"(?<![^\W\d_]){word}(?![^\W\d_])", text) is not None
    return trigger in text


def test_every_match_of_an_unanchored_cue_holds_one_of_its_triggers() -> None:
    for name, triggers, rx in cues.BOILERPLATE_PATTERNS:
        if triggers is cues._ALWAYS:
            continue
        assert all(t.startswith("\\b") == t.endswith("\\b") for t in triggers), name
        for text in matches_of(rx):
            # with letters around the match too: a trigger word must still stand alone
            for line in (text, f"x {text} x", f"l'{text}’s"):
                if rx.search(line):
                    assert any(holds_trigger(line, t) for t in triggers), (name, line)
                    assert cues.boilerplate_hits(line, 99) == reference_hits(line, 99)


def test_always_checked_cues_are_anchored_at_the_start() -> None:
    for name, triggers, rx in cues.BOILERPLATE_PATTERNS:
        if triggers is not cues._ALWAYS:
            continue
        tree = list(sre_parse.parse(rx.pattern))
        alternatives = tree[0][1][1] if len(tree) == 1 and tree[0][0] is sre_c.BRANCH else [
            tree
        ]
        for alt in alternatives:
            assert list(alt)[0] == (sre_c.AT, sre_c.AT_BEGINNING), name
        for text in matches_of(rx):
            assert cues._ANY_ANCHORED.match(text), (name, text)


def test_every_credit_and_date_match_passes_the_prechecks() -> None:
    for text in matches_of(cues.CREDIT) + matches_of(cues.CREDIT_TRAILER):
        for variant in (text, text.upper(), text.title()):
            assert cues.is_credit(variant) == bool(
                cues.CREDIT.search(variant) or cues.CREDIT_TRAILER.search(variant)
            ), variant
    for text in matches_of(cues.DATE):
        assert cues.HAS_YEAR.search(text), text


# ---------------------------------------------------------------------------
# Random text against the plain computations
# ---------------------------------------------------------------------------
_TRICKY = [
    "İ", "ı", "ſ", "K", "ß", "’", "'", "\u00a0", "\u2009", "\u3000", "\t", "  ", " ", "(", ")",
    "©", "$", "€", "«", "»", ">>", "-", ":", "/", "1", "2019", "中文", "é", "A", "e", "s",
]
_WORDS = sorted({
    *(t.strip().removeprefix("\\b").removesuffix("\\b")
      for _, triggers, _ in cues._BOILERPLATE_CUES for t in triggers if t.strip()),
    "l'ad", "ads’", "log in", "e-mail", "cookie policy", "£5 a month", "follow us on facebook",
    "photo", "Photo:", "credit", "Credits:", "Getty Images", "AP Photo", "reuters/x",
    "SHUTTERſTOCK", "CREDİT", "image", "by", "the", "and", "der", "die", "que", "le", "los",
    "share", "subscribe", "May", "20", "2011", "Advertisement", "Share this",
})
text_strategy = st.lists(st.sampled_from(_TRICKY + _WORDS), max_size=25).map("".join)


def reference_hits(text: str, n_words: int) -> list[str]:
    low = text.lower()
    return [
        name for name, triggers, rx in cues.BOILERPLATE_PATTERNS
        if (n_words <= cues.ANCHORED_MAX_WORDS or triggers is not cues._ALWAYS)
        and rx.search(low)
    ]


def reference_words(text: str) -> list[str]:
    return [w.lower() for w in language._WORD.findall(text)]


def reference_language(chunks: list[str]) -> str | None:
    sample: list[str] = []
    for chunk in chunks:
        sample.extend(reference_words(chunk))
        if len(sample) >= language.SAMPLE_WORDS:
            break
    sample = sample[: language.SAMPLE_WORDS]
    if not sample:
        return None
    hits = Counter(lang for w in sample for lang in language._LANGS_OF.get(w, ()))
    if not hits:
        return None
    best, best_hits = max(hits.items(), key=lambda item: item[1])
    if (best_hits < language.MIN_STOPWORD_HITS
            or best_hits / len(sample) < language.MIN_STOPWORD_SHARE):
        return None
    return best


def reference_normalise(line: str) -> str:
    if "<" in line or "&" in line:
        return normalise_line(line)  # the tag and entity steps are unchanged
    return re.sub(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+", " ", line).strip()


@settings(max_examples=600, deadline=None)
@given(text_strategy, st.integers(min_value=0, max_value=60))
def test_boilerplate_hits_equal_running_every_pattern(text: str, n_words: int) -> None:
    expected = reference_hits(text, n_words)
    assert cues.boilerplate_hits(text, n_words) == expected
    tokens = language.words(text)
    assert cues.boilerplate_hits(text, n_words, low=text.lower(), tokens=tokens) == expected


@settings(max_examples=400, deadline=None)
@given(text_strategy)
def test_prechecks_agree_with_the_patterns(text: str) -> None:
    assert cues.is_credit(text) == bool(cues.CREDIT.search(text)
                                        or cues.CREDIT_TRAILER.search(text))
    if cues.DATE.search(text):
        assert cues.HAS_YEAR.search(text)
    assert language.words(text) == reference_words(text)
    assert normalise_line(text) == reference_normalise(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(
    ["de", "la", "que", "el", "a", "o", "e", "em", "the", "and", "die", "und", "en", "et",
     "İn", "il", "Zürich", "word", "x", "é"]), max_size=12).map(" ".join), max_size=8))
def test_language_guess_equals_crediting_word_by_word(chunks: list[str]) -> None:
    assert language.guess_language(chunks) == reference_language(chunks)


def test_tied_languages_resolve_to_the_first_to_score() -> None:
    # "e" is Italian and Portuguese, "o" Portuguese... one each, in this order
    for chunks in (["e o a"], ["a o e"], ["que de la a", "o e"], ["il e di", "em o"]):
        assert language.guess_language(chunks) == reference_language(chunks), chunks


def test_sample_lines_hit_the_same_cues() -> None:
    for line in split_lines(SAMPLE.read_text(encoding="utf-8")):
        tokens = language.words(line.text)
        for n_words in (len(line.text.split()), 40):
            expected = reference_hits(line.text, n_words)
            assert cues.boilerplate_hits(line.text, n_words) == expected
            assert cues.boilerplate_hits(line.text, n_words, tokens=tokens) == expected
        assert cues.is_credit(line.text) == bool(
            cues.CREDIT.search(line.text) or cues.CREDIT_TRAILER.search(line.text)
        )
