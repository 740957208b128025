"""Inputs for the end-to-end and fault tests: article-like text dumps and hostile files.

Every good file gets its own random words, so no two share bytes (or boilerplate lines);
a seeded `random.Random` keeps a failing run reproducible.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

SEED_SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "sample_seed.txt"

_VOCABULARY = (
    "minister council budget harbour railway election court village river market "
    "teacher hospital report union energy farmers police museum bridge festival "
    "coast drought contract tunnel senator mayor storm factory airport province "
    "protest vaccine treaty border satellite orchestra library harvest ferry "
    "reservoir journalist commission inquiry pension refinery stadium archive "
    "cathedral parliament district voters engineers scientists officials residents"
)
_MONTH_NAMES = ("January February March April May June July August September October "
                "November December")
_WORDS = _VOCABULARY.split()
_MONTHS = _MONTH_NAMES.split()


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(8, 18))]
    # a random token makes every sentence, hence every file, unique
    words.insert(rng.randint(1, len(words) - 1), f"{rng.choice(_WORDS)}{rng.randint(10, 99999)}")
    words[0] = words[0].capitalize()
    return " ".join(words) + rng.choice(".....?!")


def article_text(rng: random.Random, n: int) -> str:
    """A plain-text dump: title, date line, 5-10 paragraphs."""
    title = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 9))).capitalize()
    date = (f"{rng.choice(_MONTHS)} {rng.randint(1, 28)}, {rng.randint(2005, 2024)} "
            f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}")
    paragraphs = [" ".join(_sentence(rng) for _ in range(rng.randint(3, 6)))
                  for _ in range(rng.randint(5, 10))]
    return f"{title} (report {n})\n\n{date}\n\n" + "\n\n".join(paragraphs) + "\n"


@dataclass
class Corpus:
    """What was written where, and what each file must end as."""

    good: list[Path] = field(default_factory=list)  # distinct, must end `done`
    duplicates: dict[Path, Path] = field(default_factory=dict)  # copy -> original
    bad: dict[Path, str] = field(default_factory=dict)  # path -> expected terminal status
    ignored: list[Path] = field(default_factory=list)  # must never be taken

    @property
    def taken(self) -> int:
        return len(self.good) + len(self.duplicates) + len(self.bad)


def write_good(inbox: Path, count: int, *, seed: int = 7, start: int = 0,
               include_sample: bool = True, own_site: bool = False) -> list[Path]:
    """`count` distinct article dumps spread over the inbox and two levels of subfolders.

    With `own_site`, each dump starts with a URL line on a host of its own, so that each
    is a source of its own for the corpus-level boilerplate counts.
    """
    rng = random.Random(seed)
    folders = [inbox, inbox / "wire", inbox / "wire" / "2024-05", inbox / "local news"]
    for f in folders:
        f.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + count):
        path = folders[i % len(folders)] / f"article_{i:04d}.txt"
        paths.append(path)
        if include_sample and i == start:
            path.write_bytes(SEED_SAMPLE.read_bytes())
            continue
        url = f"https://news{i}.example.org/story/{i}\n\n" if own_site else ""
        path.write_text(url + article_text(rng, i), encoding="utf-8")
    return paths


def binary_png(rng: random.Random) -> bytes:
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + rng.randbytes(4000)


def invalid_utf8() -> bytes:
    # the classic malformed sequences (lone continuation bytes, overlong forms, encoded
    # surrogates, 5-byte leads), no NULs: not UTF-8, and no code page makes prose of it
    bad = (b"\xc3\x28\xa0\xa1\xe2\x28\xa1\xe2\x82\x28\xf0\x28\x8c\xbc\xf0\x90\x28\xbc"
           b"\xf0\x28\x8c\x28\xc0\xaf\xed\xa0\x80\xf8\x88\x80\x80\x80")
    return bad * 60


def latin1_article(rng: random.Random) -> bytes:
    text = article_text(rng, 9001).replace("minister", "ministère").replace(
        "village", "société")
    return ("Été à Montréal: déjà vu\n\n" + text).encode("latin-1", errors="replace")


def utf16_article(rng: random.Random) -> bytes:
    return "\ufeff".encode("utf-16-le") + article_text(rng, 9002).encode("utf-16-le")
