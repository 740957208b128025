"""Guess a text's language from the density of each language's stopwords."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from tasks.cues import STOPWORDS

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)
_DOTTED_I = "\u0130"
# _WORD restricted to lowercased ASCII text, where letters are a-z and the only
# apostrophe is "'": the same tokens, but a character range is cheaper to test than
# Unicode categories.
_ASCII_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
# Without an apostrophe, _ASCII_WORD's tokens are the runs of a-z: blanking every other
# character and splitting finds them at C speed, a third of the cost of the regex scan.
_ASCII_NON_LETTERS = str.maketrans(dict.fromkeys(
    (chr(c) for c in range(128) if not "a" <= chr(c) <= "z"), " "))

# word -> languages whose stopword list holds it: one lookup per word, not one per language
_LANGS_OF: dict[str, tuple[str, ...]] = {}
for _lang, _stops in STOPWORDS.items():
    for _word in _stops:
        _LANGS_OF[_word] = (*_LANGS_OF.get(_word, ()), _lang)

# Scripts written without spaces between words (Chinese, Japanese, Thai): length counts in
# characters. Korean puts spaces between its words, so its words are counted as others are.
_UNSPACED = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
#: characters of an unspaced script that count as one word
CHARS_PER_UNSPACED_WORD = 2

# Scripts that (nearly) one language writes: a text with no stopwords to go by, written
# mostly in one, is in that language. Kana is Japanese even among Chinese characters.
_SCRIPT_LANGUAGES = (
    ("ja", re.compile(r"[\u3040-\u30ff]")),
    ("ko", re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")),
    ("zh", re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")),
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
    ("el", re.compile(r"[\u0370-\u03ff\u1f00-\u1fff]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
    ("ka", re.compile(r"[\u10a0-\u10ff]")),
    ("hy", re.compile(r"[\u0530-\u058f]")),
)
#: a script names the language when this share of the sample's letters is written in it
#: (for kana, a tenth: Japanese text is mostly Chinese characters)
SCRIPT_MIN_SHARE = 0.5
KANA_MIN_SHARE = 0.1
#: characters of text looked at for the script
SCRIPT_SAMPLE_CHARS = 3000

#: below this many stopword hits the sample is too thin to say anything
MIN_STOPWORD_HITS = 3
#: the winner must account for at least this share of the sample's words
MIN_STOPWORD_SHARE = 0.08
#: words looked at, at most: a few hundred words decide as well as the whole text
SAMPLE_WORDS = 1500


def words(text: str) -> list[str]:
    """Lowercased word tokens of `text` (letters only, keeping inner apostrophes)."""
    if text.isascii():
        low = text.lower()
        if "'" in low:
            return _ASCII_WORD.findall(low)
        return low.translate(_ASCII_NON_LETTERS).split()
    if _DOTTED_I in text:
        # "İ" lowercases to two characters (i + combining dot, which is not a letter), so
        # lowering first would split the word: tokenise, then lowercase each token
        return [w.lower() for w in _WORD.findall(text)]
    # Every other character keeps its length and its letter/non-letter class when
    # lowercased, so one pass over the lowered text yields the same tokens, cheaper.
    return _WORD.findall(text.lower())


def count_words(text: str) -> int:
    """Words of `text`: its runs between spaces, and one more for every
    CHARS_PER_UNSPACED_WORD characters of a script written without spaces. A run of such
    script counts by its characters and once more as a run: the cleaner's thresholds were
    measured with this count."""
    n = len(text.split())
    # most text has no unspaced script: one search is cheaper than collecting matches
    if not text.isascii() and _UNSPACED.search(text):
        n += len(_UNSPACED.findall(text)) // CHARS_PER_UNSPACED_WORD
    return n


def script_language(text: str) -> str | None:
    """ISO 639-1 code of the language a text's script names (Japanese, Korean, Greek…),
    for the languages `guess_language` has no stopwords of; None for other scripts."""
    sample = text[:SCRIPT_SAMPLE_CHARS]
    if sample.isascii():
        return None
    letters = sum(map(str.isalpha, sample))
    for lang, script in _SCRIPT_LANGUAGES:
        share = len(script.findall(sample)) / letters if letters else 0.0
        if share >= (KANA_MIN_SHARE if lang == "ja" else SCRIPT_MIN_SHARE):
            return lang
    return None


def guess_language(text: str | Iterable[str]) -> str | None:
    """ISO 639-1 code of the language whose stopwords are densest, or None if unclear."""
    if isinstance(text, str):
        text = (text,)
    return language_of_words(words(chunk) for chunk in text)


def language_of_words(chunks: Iterable[list[str]]) -> str | None:
    """`guess_language` for text already split by `words`, one token list per chunk.

    Callers that tokenise each line anyway (the text classifier) pass their tokens
    here instead of having the text tokenised a second time.
    """
    sample: list[str] = []
    for tokens in chunks:
        sample.extend(tokens)
        if len(sample) >= SAMPLE_WORDS:
            break
    sample = sample[:SAMPLE_WORDS]
    if not sample:
        return None
    # Count each distinct word once (hashing every word once), then credit the languages
    # of the distinct words that are stopwords.
    counts = Counter(sample)
    hits: dict[str, int] = {}
    for word in counts.keys() & _LANGS_OF.keys():
        n = counts[word]
        for lang in _LANGS_OF[word]:
            hits[lang] = hits.get(lang, 0) + n
    if not hits:
        return None
    best_hits = max(hits.values())
    leaders = [lang for lang, n in hits.items() if n == best_hits]
    best = leaders[0] if len(leaders) == 1 else _first_credited(sample, leaders)
    if best_hits < MIN_STOPWORD_HITS or best_hits / len(sample) < MIN_STOPWORD_SHARE:
        return None
    return best


def _first_credited(sample: list[str], leaders: list[str]) -> str:
    """Of languages tied for most hits, the one whose stopword comes first in the sample.

    This is how the guess has always broken ties (the first language to score wins),
    kept so that a tie between, say, Spanish and Portuguese resolves as before.
    """
    for word in sample:
        for lang in _LANGS_OF.get(word, ()):
            if lang in leaders:
                return lang
    return leaders[0]  # not reached: every leader has hits, so one of its words is here
