"""Editions of a file, and finding articles by their file and by when they came in."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from db import pipeline
from db.engine import reading, transaction
from db.queries import ArticleFilter, list_articles, newest_editions
from db.removal import delete_documents
from db.search import search
from tasks.runner import RunnerOptions, run_batch

SAMPLE = (Path(__file__).resolve().parent.parent / "fixtures" / "sample_seed.txt").read_bytes()


def edition(db_sessions, name: str, data: bytes) -> int:
    """`name` taken in with `data` and run through every stage; its document id."""
    with transaction(db_sessions) as s:
        [taken] = pipeline.take_in_many(s, [pipeline.Incoming(
            hashlib.sha256(data).hexdigest(), name, data, len(data))])
    run_batch(db_sessions, [taken.document_id], options=RunnerOptions(), worker="test")
    return taken.document_id


def listed(db_sessions, **filters) -> list[int]:
    with reading(db_sessions) as s:
        return sorted(d.id for _, d in list_articles(s, ArticleFilter(**filters)))


def test_the_latest_edition_of_a_file_replaces_the_earlier_ones(db_sessions):
    first = edition(db_sessions, "a.txt", SAMPLE)
    other = edition(db_sessions, "b.txt", SAMPLE + b"\nOnly b.txt says this.\n")
    second = edition(db_sessions, "a.txt", SAMPLE + b"\nAn update to the story.\n")
    third = edition(db_sessions, "a.txt", SAMPLE + b"\nA later update.\n")

    assert listed(db_sessions) == [first, other, second, third]
    assert listed(db_sessions, latest=True) == [other, third]
    with reading(db_sessions) as s:
        # each earlier edition names the newest
        assert newest_editions(s, [first, other, second, third]) == {first: third,
                                                                     second: third}
        assert sorted(h.document_id for h in search(
            s, "Leiderman", filters=ArticleFilter(latest=True))) == [other, third]


def test_an_edition_without_an_article_replaces_nothing(db_sessions):
    first = edition(db_sessions, "a.txt", SAMPLE)
    second = edition(db_sessions, "a.txt", SAMPLE + b"\nAn update to the story.\n")
    empty = edition(db_sessions, "a.txt", b"   \n")  # fails: nothing in it
    assert listed(db_sessions, latest=True) == [second]
    with reading(db_sessions) as s:
        assert newest_editions(s, [first, empty]) == {first: second}

    # the newest article deleted, the one before it is the latest again
    with transaction(db_sessions) as s:
        delete_documents(s, [second])
    assert listed(db_sessions, latest=True) == [first]
    with reading(db_sessions) as s:
        assert newest_editions(s, [first]) == {}


def test_the_source_filter_finds_a_folder_of_the_inbox_in_any_case(db_sessions):
    times = edition(db_sessions, "NYTimes/a.txt", SAMPLE)
    other = edition(db_sessions, "bbc/b_100%.txt", SAMPLE + b"\nOnly b says this.\n")

    assert listed(db_sessions, source="nytimes/") == [times]
    assert listed(db_sessions, source="100%") == listed(db_sessions, source="_") == [other]
    assert listed(db_sessions, source="%") == [other]  # literal, not a wildcard
    # ASCII letters in any case, others as written: alike on both databases
    capitals = edition(db_sessions, "ÄRZTE/c.txt", SAMPLE + b"\nOnly c says this.\n")
    assert listed(db_sessions, source="ÄRZTE/") == listed(db_sessions, source="Ärzte/") == [
        capitals]
    assert listed(db_sessions, source="ärzte/") == []
    with reading(db_sessions) as s:
        assert [h.document_id for h in search(
            s, "Leiderman", filters=ArticleFilter(source="BBC/"))] == [other]


def test_a_file_s_path_finds_its_latest_edition(db_sessions):
    from db.queries import find_document

    first = edition(db_sessions, "News/A b.txt", SAMPLE)
    newest = edition(db_sessions, "News/A b.txt", SAMPLE + b"\nUpdated.\n")
    with reading(db_sessions) as s:
        assert find_document(s, "News/A b.txt").id == newest
        assert find_document(s, str(first)).id == first
        assert find_document(s, "news/a b.txt") is None  # a path is found as written

    # the newest edition deleted (or failed), the latest is the one holding an article
    with transaction(db_sessions) as s:
        delete_documents(s, [newest])
    with reading(db_sessions) as s:
        assert find_document(s, "News/A b.txt").id == first
    # a file named by a hash of its address, or by a number no document has as its id
    hashed = edition(db_sessions, "deadbeef", SAMPLE + b"\nNamed by a hash.\n")
    numbered = edition(db_sessions, "90210", SAMPLE + b"\nNamed by a number.\n")
    with reading(db_sessions) as s:
        assert find_document(s, "deadbeef").id == hashed
        assert find_document(s, "90210").id == numbered


def test_received_since_finds_what_came_in_lately_whatever_its_published_date(db_sessions):
    from datetime import timedelta

    from sqlalchemy import update

    from db.models import Document, utcnow

    old = edition(db_sessions, "old.txt", SAMPLE)
    new = edition(db_sessions, "new.txt", SAMPLE + b"\nA later copy.\n")
    with transaction(db_sessions) as s:
        s.execute(update(Document).where(Document.id == old)
                  .values(received_at=utcnow() - timedelta(days=3)))
    day_ago = (utcnow() - timedelta(days=1)).isoformat()

    assert listed(db_sessions, received_since=day_ago) == [new]
    assert listed(db_sessions, received_since="2000-01-01") == [old, new]
    # both published in 2011: the publication date filters leave them alike
    assert listed(db_sessions, received_since=day_ago, since="2011-01-01") == [new]


def test_a_file_named_like_an_ambiguous_sha256_prefix_is_found_by_its_name(db_sessions):
    from db.queries import AmbiguousReference, find_document

    with transaction(db_sessions) as s:
        pipeline.take_in_many(s, [
            pipeline.Incoming("abcdef01" + "0" * 56, "x.txt", b"x", 1),
            pipeline.Incoming("abcdef02" + "0" * 56, "abcdef", b"y", 2)])
    with reading(db_sessions) as s:
        assert find_document(s, "abcdef").source_path == "abcdef"
        with pytest.raises(AmbiguousReference):  # the prefix starts two hashes
            find_document(s, "abcdef", by_path=False)


def test_site_and_author_fold_ascii_letters_alike_on_both_databases(db_sessions):
    from tests.db.test_search import add_article

    with transaction(db_sessions) as s:
        doc_id = add_article(s, title="Test", body="x", site_name="ÖKO-TEST",
                             authors=["ÉLISE Müller"])
    for typed in ("ÖKO-TEST", "Öko-test"):
        assert listed(db_sessions, site=typed) == [doc_id]
    assert listed(db_sessions, site="öko-test") == []  # a non-ASCII letter as written
    assert listed(db_sessions, author="Élise müller") == [doc_id]
    assert listed(db_sessions, author="élise") == []
