"""The sample seed pins the extraction contract (DESIGN.md, "What extract returns")."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.clean import clean
from tasks.document import Article, BlockLabel, CleanedDoc, RawDocument
from tasks.extract import extract
from tasks.version import EXTRACTOR_VERSION

SEED = Path(__file__).resolve().parents[1] / "fixtures" / "sample_seed.txt"

INLINE_RELATED = [
    "'Russia blocks UN report on Iran arms sales to Syria'",
    "Russian official: Iran atomic plant to operate in weeks",
    "Israel’s sale of UAVs to Russia in doubt after Syria deal",
]


@pytest.fixture(scope="module")
def cleaned() -> CleanedDoc:
    return clean(RawDocument(SEED.read_bytes(), SEED.name))


@pytest.fixture(scope="module")
def article(cleaned: CleanedDoc) -> Article:
    return extract(cleaned)


def test_title(article: Article) -> None:
    assert article.title == "Gov’t reviewing Russia defense ties after expulsion"


def test_subtitle(article: Article) -> None:
    assert article.subtitle == (
        "Military attaché to Moscow Col. Vadim Leiderman was helping Israeli defense "
        "industries illegally obtain sensitive technology, report says."
    )


def test_published_at_has_no_invented_timezone(article: Article) -> None:
    assert article.published_at == "2011-05-20T02:52:00"
    assert article.updated_at is None


def test_reading_time(article: Article) -> None:
    assert article.reading_time_minutes == 2


def test_caption_and_credit(article: Article) -> None:
    assert article.image_caption == "IDF attache to Moscow Col. Vadim Laderman"
    assert article.photo_credit == "Assaf Shilo/Israel Sun"


def test_authors_are_not_taken_from_the_related_tail(article: Article) -> None:
    assert article.authors == []


def test_body_has_the_seventeen_paragraphs(article: Article) -> None:
    assert len(article.paragraphs) == 17
    assert article.paragraphs[0].startswith("The deportation of Israel’s military attaché")
    assert article.paragraphs[-1].endswith("and then everyone will forget,” he said.")
    assert article.body == "\n\n".join(article.paragraphs)
    assert article.word_count == len(article.body.split())


@pytest.mark.parametrize(
    "junk",
    [
        "Dear Reader",
        "we ask you to be our partner",
        "Yaakov Katz, Editor-in-Chief",
        "Be the first to know - Join our Facebook page.",
        "Premium Plus",
        "Related Content",
        "Gil Stern Stern HOFFMAN",
        "August 31, 2014",
        *INLINE_RELATED,
    ],
)
def test_junk_is_removed_from_the_body(article: Article, junk: str) -> None:
    assert junk not in article.body


def test_related(article: Article) -> None:
    assert article.related == [
        *INLINE_RELATED,
        "Prime minister to Channel 1: I’ll be running again in next election",
    ]


def test_language_and_version(article: Article) -> None:
    assert article.language == "en"
    assert article.extractor_version == EXTRACTOR_VERSION


def test_every_block_explains_itself(cleaned: CleanedDoc) -> None:
    assert all(block.reason for block in cleaned.blocks)
    appeal = [b for b in cleaned.blocks if b.text == "Dear Reader,"]
    assert appeal and appeal[0].label is BlockLabel.BOILERPLATE


def test_cleaned_doc_round_trips_through_json(cleaned: CleanedDoc, article: Article) -> None:
    assert extract(CleanedDoc.from_dict(cleaned.to_dict())) == article
