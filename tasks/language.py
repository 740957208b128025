"""Guess a text's language from the density of each language's stopwords."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from tasks.cues import STOPWORDS

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)

# word -> languages whose stopword list holds it: one lookup per word, not one per language
_LANGS_OF: dict[str, tuple[str, ...]] = {}
for _lang, _stops in STOPWORDS.items():
    for _word in _stops:
        _LANGS_OF[_word] = (*_LANGS_OF.get(_word, ()), _lang)

#: below this many stopword hits the sample is too thin to say anything
MIN_STOPWORD_HITS = 3
#: the winner must account for at least this share of the sample's words
MIN_STOPWORD_SHARE = 0.08
#: words looked at, at most: a few hundred words decide as well as the whole text
SAMPLE_WORDS = 1500


def words(text: str) -> list[str]:
    """Lowercased word tokens of `text` (letters only, keeping inner apostrophes)."""
    return [w.lower() for w in _WORD.findall(text)]


def guess_language(text: str | Iterable[str]) -> str | None:
    """ISO 639-1 code of the language whose stopwords are densest, or None if unclear."""
    if isinstance(text, str):
        text = (text,)
    sample: list[str] = []
    for chunk in text:
        sample.extend(words(chunk))
        if len(sample) >= SAMPLE_WORDS:
            break
    sample = sample[:SAMPLE_WORDS]
    if not sample:
        return None
    hits = Counter(lang for w in sample for lang in _LANGS_OF.get(w, ()))
    if not hits:
        return None
    best, best_hits = max(hits.items(), key=lambda item: item[1])
    if best_hits < MIN_STOPWORD_HITS or best_hits / len(sample) < MIN_STOPWORD_SHARE:
        return None
    return best
