"""Full-text search on real SQLite (FTS5) and real PostgreSQL (tsvector + GIN).

Given a few articles, search finds what it should, ranks title matches first, applies the
article filters, and no query string whatsoever makes it raise anything but
`InvalidQuery`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from db import migrate
from db.engine import make_engine, make_session_factory, transaction
from db.models import Article, Document, DocumentStatus, utcnow
from db.queries import ArticleFilter, list_articles
from db.search import MAX_LIMIT, InvalidQuery, count_matches, fts5_query, query_terms, search


def add_article(session: Session, *, title: str, body: str, subtitle: str | None = None,
                authors: list[str] | None = None, published_at: str | None = None,
                site_name: str | None = None, language: str | None = "en",
                url: str | None = None, canonical_url: str | None = None,
                status: DocumentStatus = DocumentStatus.DONE) -> int:
    """A done document with its article, as persist leaves them; returns the document id."""
    sha = hashlib.sha256(f"{title}|{body}|{uuid.uuid4()}".encode()).hexdigest()
    now = utcnow()
    doc = Document(sha256=sha, source_path=f"inbox/{sha[:8]}.txt", size_bytes=len(body),
                   status=status, attempts=1, received_at=now, updated_at=now,
                   finished_at=now if status is DocumentStatus.DONE else None)
    session.add(doc)
    session.flush()
    session.add(Article(
        document_id=doc.id, title=title, subtitle=subtitle, authors=authors or [],
        published_at=published_at, body=body, paragraphs=body.split("\n\n"),
        related=[], language=language, word_count=len(body.split()), site_name=site_name,
        url=url, canonical_url=canonical_url, tags=[], extractor_version="test",
        created_at=now, modified_at=now))
    session.flush()
    return doc.id


CORPUS = [
    dict(title="Harbour strike ends after nine days", subtitle="Dockers accept the offer",
         body="The dockers voted to return to work on Monday.\n\nShipping resumes.",
         authors=["Ana Costa"], published_at="2024-03-02T10:00:00", site_name="Port News",
         url="https://www.portnews.example/2024/strike?via=reuters"),
    dict(title="City council budget", subtitle=None,
         body="The council discussed the harbour, parks and the new library. "
              "A strike was mentioned once in passing.",
         authors=["Ben Ode"], published_at="2024-01-15", site_name="City Times",
         canonical_url="HTTPS://News.CityDaily.example:8443/budget"),
    dict(title="Théâtre: une saison réussie", subtitle=None,
         body="Le théâtre municipal a connu une saison réussie, selon la direction.",
         authors=[], published_at="2023-11-20", site_name=None, language="fr",
         url=" https://editor:p@ss@lejournal.example/theatre?from=reuters@wire"),
    dict(title="Don't panic: AND/OR explained", subtitle="A guide to NEAR and *",
         body="Search operators like NEAR, AND, OR and the star * confuse readers. "
              "C++ and e-mail addresses such as jane@example.org too.",
         authors=["Jane Doe"], published_at="2022-05-05", site_name="Tech Weekly",
         canonical_url="http://[2001:db8::1]:8080/guide"),
]


def _fill(sessions: sessionmaker[Session]) -> dict[str, int]:
    ids = {}
    with transaction(sessions) as s:
        for row in CORPUS:
            ids[row["title"]] = add_article(s, **row)
    return ids


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('search') / 'nd.db'}")
    migrate.upgrade(engine)
    sessions = make_session_factory(engine)
    yield sessions, _fill(sessions)
    engine.dispose()


@pytest.fixture(scope="module")
def postgres_db(postgres_engine: Engine) -> Any:
    """The module's migrated PostgreSQL database (tests/db/conftest.py), filled."""
    sessions = make_session_factory(postgres_engine)
    return sessions, _fill(sessions)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> Any:
    """(sessions, document ids by title) on each database in turn."""
    return request.getfixturevalue(f"{request.param}_db")


def _titles(sessions: sessionmaker[Session], query: str, **kw: Any) -> list[str | None]:
    with transaction(sessions) as s:
        return [h.title for h in search(s, query, **kw)]


# ---------------------------------------------------------------- what it finds


def test_finds_words_in_title_subtitle_and_body(db):
    sessions, _ = db
    assert _titles(sessions, "dockers") == ["Harbour strike ends after nine days"]
    assert _titles(sessions, "library") == ["City council budget"]
    assert _titles(sessions, "nothing-like-this") == []


def test_title_matches_rank_first(db):
    sessions, _ = db
    # "strike" is in one title and in another article's body
    assert _titles(sessions, "strike") == ["Harbour strike ends after nine days",
                                           "City council budget"]


def test_every_word_is_required(db):
    sessions, _ = db
    assert _titles(sessions, "harbour library") == ["City council budget"]


def test_case_does_not_matter_and_sqlite_ignores_accents(db):
    sessions, _ = db
    assert _titles(sessions, "THÉÂTRE") == ["Théâtre: une saison réussie"]
    if sessions.kw["bind"].dialect.name == "sqlite":
        # unicode61 remove_diacritics; PostgreSQL's 'simple' configuration keeps accents
        assert _titles(sessions, "theatre") == ["Théâtre: une saison réussie"]


@pytest.mark.parametrize("query", ["NEAR", '"AND/OR"', "don't", "OR", "C++", "NEAR(x y)",
                                   "stars*", "-operators", "guide:", "^guide", "{guide}"])
def test_operators_are_searched_as_words(db, query):
    sessions, _ = db
    expected = [] if query in ("NEAR(x y)", "stars*") else ["Don't panic: AND/OR explained"]
    assert _titles(sessions, query) == expected


def test_quoted_words_are_found_only_side_by_side(db):
    sessions, _ = db
    # "strike" and "harbour" are both in the budget article's body, apart
    assert _titles(sessions, "harbour strike") == ["Harbour strike ends after nine days",
                                                   "City council budget"]
    assert _titles(sessions, '"harbour strike"') == ["Harbour strike ends after nine days"]
    assert _titles(sessions, "“Harbour Strike” nine") == ["Harbour strike ends after nine days"]
    assert _titles(sessions, '"strike harbour"') == []  # in that order
    assert _titles(sessions, '"return to work" dockers') == [
        "Harbour strike ends after nine days"]
    # an unclosed quote is an ordinary character
    assert _titles(sessions, '"harbour library') == ["City council budget"]


def test_snippet_highlights_the_match(db):
    sessions, _ = db
    with transaction(sessions) as s:
        [hit] = search(s, "shipping")
    assert "<mark>Shipping</mark>" in hit.snippet
    assert ("Shipping", True) in hit.snippet_parts()
    assert hit.to_dict()["snippet"] == hit.snippet


def test_snippet_is_one_excerpt_of_about_the_same_length_on_either_database(db):
    sessions, _ = db
    words = [f"word{i}" for i in range(200)]
    words[60] = words[150] = "lighthouse"
    with transaction(sessions) as s:
        add_article(s, title="Coast", body=" ".join(words))
    with transaction(sessions) as s:
        [hit] = search(s, "lighthouse")
    assert "<mark>lighthouse</mark>" in hit.snippet
    assert hit.snippet.count("lighthouse") == 1  # one excerpt, not two joined by "…"
    assert 8 <= len(hit.snippet.replace("…", " ").split()) <= 20


def test_snippet_is_html_safe(db):
    sessions, _ = db
    with transaction(sessions) as s:
        add_article(s, title="Markup", body="Beware <script>alert(1)</script> tags")
    with transaction(sessions) as s:
        [hit] = search(s, "beware")
    # the only markup is ours (PostgreSQL's parser drops tags; SQLite's text is escaped)
    assert "<" not in hit.snippet.replace("<mark>", "").replace("</mark>", "")


def test_filters_apply(db):
    sessions, _ = db
    assert _titles(sessions, "strike", filters=ArticleFilter(site="city")) == [
        "City council budget"]
    assert _titles(sessions, "strike", filters=ArticleFilter(since="2024-02-01")) == [
        "Harbour strike ends after nine days"]
    assert _titles(sessions, "strike", filters=ArticleFilter(until="2024-01-15")) == [
        "City council budget"]
    assert _titles(sessions, "strike", filters=ArticleFilter(author="costa")) == [
        "Harbour strike ends after nine days"]
    assert _titles(sessions, "saison", filters=ArticleFilter(language="en")) == []
    assert _titles(sessions, "saison", filters=ArticleFilter(language="FR")) == [
        "Théâtre: une saison réussie"]


def test_site_filter_reads_the_host_of_the_page_address(db):
    sessions, _ = db

    def listed(site: str) -> list[str | None]:
        with transaction(sessions) as s:
            return sorted(a.title for a, _ in list_articles(s, ArticleFilter(site=site)))

    harbour, budget, theatre = (row["title"] for row in CORPUS[:3])
    assert listed("portnews") == [harbour]  # the url's host
    assert listed("citydaily.example") == [budget]  # canonical_url's, any case, port left
    assert listed("lejournal") == [theatre]  # a page that states no site name
    assert listed("https://WWW.portnews.example/elsewhere") == [harbour]  # a given address
    assert listed("//www.portnews.example/x") == listed("www.portnews.example/x") == [harbour]
    assert listed("port") == [harbour]  # site name and host alike: listed once
    assert listed("reuters") == []  # the query string is not the host
    assert listed("editor") == listed("ss") == []  # nor the user name and password before it
    assert listed("budget") == []  # nor the path
    assert listed("2001:db8::1") == [CORPUS[3]["title"]]  # an IPv6 host
    assert listed("8080") == []  # nor the port
    with transaction(sessions) as s:  # search takes the same filter
        assert [h.title for h in search(s, "saison", filters=ArticleFilter(
            site="lejournal.example"))] == [theatre]


def test_limit_and_offset_page_through_hits(db):
    sessions, _ = db
    everything = _titles(sessions, "strike")
    assert _titles(sessions, "strike", limit=1) == everything[:1]
    assert _titles(sessions, "strike", limit=1, offset=1) == everything[1:2]
    with transaction(sessions) as s:  # the count covers every page, within the filters
        assert count_matches(s, "strike") == len(everything) > 1
        assert count_matches(s, '"harbour strike"') == 1
        assert count_matches(s, "strike", filters=ArticleFilter(site="Port News")) == 1
        assert count_matches(s, "nowhere") == 0


@pytest.mark.parametrize("query", ["", "   ", "*", "-- ;", '""', "()", "\x00\x01"])
def test_queries_without_words_are_rejected_clearly(db, query):
    sessions, _ = db
    with transaction(sessions) as s, pytest.raises(InvalidQuery, match="no words"):
        search(s, query)


def test_bad_paging_is_rejected(db):
    sessions, _ = db
    with transaction(sessions) as s:
        with pytest.raises(InvalidQuery, match="limit"):
            search(s, "strike", limit=0)
        with pytest.raises(InvalidQuery, match="offset"):
            search(s, "strike", offset=-1)
        with pytest.raises(InvalidQuery, match="offset"):  # beyond what OFFSET can carry
            search(s, "strike", offset=2**63)


# ---------------------------------------------------------------- hostile text

TOKENS = ['"', "'", "*", "-", "+", "^", ":", "(", ")", "[", "]", "{", "}", "\\", ";", "%",
          "_", " ", "\t", "\n", "\x00", "NEAR", "AND", "OR", "NOT", "NEAR(", "DROP TABLE",
          "é", "\ud800"]
# pieces joined: FTS and SQL syntax mixed with any code point, surrogates and controls included
HOSTILE = st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=4)), max_size=20).map(
    "".join)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=HOSTILE)
def test_any_text_either_searches_or_is_rejected_clearly(db, query):
    sessions, _ = db
    with transaction(sessions) as s:
        try:
            hits = search(s, query, limit=5)
        except InvalidQuery as exc:
            assert exc.message
            return
        # what the pages hold, counted alike
        assert count_matches(s, query) == len(search(s, query, limit=MAX_LIMIT))
    assert len(hits) <= 5


def test_fts5_expression_quotes_every_term():
    assert fts5_query('say "hi there" 5\'10" NEAR(x) *') == \
        '"say" "hi there" "5\'10""" "NEAR(x)"'
    assert query_terms("a\x00b") == ["a", "b"]


def test_overlong_queries_are_rejected():
    with pytest.raises(InvalidQuery, match="too long"):
        query_terms("a" * 5000)
    with pytest.raises(InvalidQuery, match="at most"):
        query_terms(" ".join("w" for _ in range(100)))


def test_invalid_query_is_a_database_query_error_not_a_pipeline_one():
    # db must not depend on tasks: a bad query is no document's failure
    from db.errors import QueryError

    assert issubclass(InvalidQuery, QueryError)
    assert InvalidQuery("why").message == "why"
    assert not any(c.__module__.startswith("tasks") for c in InvalidQuery.__mro__)
