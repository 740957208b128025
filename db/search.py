"""Full-text search over articles: title, subtitle and body, ranked, with a snippet.

SQLite uses the FTS5 table `articles_fts` (bm25 with title weighted above subtitle above
body, `snippet()` for the excerpt); PostgreSQL the generated `articles.search_vector`
(weights A/B/C, `ts_rank`, `ts_headline`).

User text is never handed to the FTS syntax. It is cut at whitespace into terms, a
quoted run ("harbour strike") being one term, and every term becomes a phrase, so `NEAR`,
`AND`, `OR`, `NOT`, `*`, `-`, `^`, `:` and parentheses are searched as the words they
contain (or ignored when they contain none): `foo-bar` finds "foo bar", `don't` finds
"don't", `"harbour strike"` finds those two words side by side. All terms must match
(AND). A query with no letter or digit at all cannot match anything and is rejected with
`InvalidQuery`, whose message is meant for the person who typed it.
"""

from __future__ import annotations

import html
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    bindparam,
    column,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.orm import Session

from db.bounds import MAX_SQL_INT
from db.errors import QueryError
from db.models import Article, Document, DocumentStatus
from db.queries import ArticleFilter, article_conditions, newest_editions

#: queries longer than this are refused: no one types them, and each term costs a lookup
MAX_QUERY_CHARS = 1000
MAX_TERMS = 32
MAX_LIMIT = 1000
#: column weights for SQLite's bm25 (title, subtitle, body); PostgreSQL's A/B/C weights
#: (1.0, 0.4, 0.2 by default) give the same order
BM25_WEIGHTS = (10.0, 4.0, 1.0)
SNIPPET_TOKENS = 16

# Private-use sentinels mark highlighted terms inside the database's snippet; they are
# turned into <mark>…</mark> once the surrounding text has been HTML-escaped.
_START, _END = "\ue000", "\ue001"
_ELLIPSIS = "…"
_FTS_TABLE = table("articles_fts", column("rowid"))


class InvalidQuery(QueryError):
    """A search query that cannot be run as given; `message` says why."""


@dataclass(frozen=True, slots=True)
class SearchHit:
    article_id: int
    document_id: int
    title: str | None
    published_at: str | None
    authors: list[Any]
    site_name: str | None
    language: str | None
    url: str | None
    status: str  # the document's, as `articles` lists it
    source: str  # the document's source_path
    #: higher is better, on both databases (SQLite's bm25 is negated)
    score: float
    #: raw excerpt with the sentinel marks; see `snippet` and `snippet_parts`
    raw_snippet: str
    #: the newest edition of the article's file, where its file changed since
    newer_edition: int | None = None

    @property
    def snippet(self) -> str:
        """The excerpt as HTML-safe text, matched words wrapped in <mark>…</mark>."""
        return "".join(f"<mark>{html.escape(t)}</mark>" if hit else html.escape(t)
                       for t, hit in self.snippet_parts())

    def snippet_parts(self) -> list[tuple[str, bool]]:
        """The excerpt as (text, highlighted) pieces, for terminals and other renderers."""
        parts: list[tuple[str, bool]] = []
        for i, chunk in enumerate(self.raw_snippet.split(_START)):
            if i == 0:
                if chunk:
                    parts.append((chunk, False))
                continue
            marked, _, rest = chunk.partition(_END)
            if marked:
                parts.append((marked, True))
            if rest:
                parts.append((rest, False))
        return parts

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.document_id, "article_id": self.article_id, "title": self.title,
            "published_at": self.published_at, "authors": self.authors,
            "site_name": self.site_name, "language": self.language, "url": self.url,
            "status": self.status, "source": self.source, "newer_edition": self.newer_edition,
            "score": round(self.score, 6), "snippet": self.snippet,
        }


def _is_word_char(ch: str) -> bool:
    # what SQLite's unicode61 tokenizer keeps as part of a token: letters, digits, private use
    cat = unicodedata.category(ch)
    return cat[0] in "LN" or cat == "Co"


def query_terms(query: str) -> list[str]:
    """The terms of `query` (whitespace-separated, a quoted run one term) that hold a
    letter or digit.

    Control characters and lone surrogates (which no database accepts as text) count as
    whitespace. Raises `InvalidQuery` when nothing searchable is left.
    """
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidQuery(f"search query too long ({len(query)} characters; "
                           f"at most {MAX_QUERY_CHARS})")
    cleaned = "".join(" " if unicodedata.category(c) in ("Cc", "Cs") else c for c in query)
    terms = [t for t in _split_terms(cleaned) if any(_is_word_char(c) for c in t)]
    if not terms:
        raise InvalidQuery("search query has no words to look for; "
                           "type at least one letter or digit")
    if len(terms) > MAX_TERMS:
        raise InvalidQuery(f"search query has {len(terms)} words; at most {MAX_TERMS}")
    return terms


#: quotes that open a phrase, each with the quote that closes it
_PHRASE_QUOTES = {'"': '"', "\u201c": "\u201d", "\u201e": "\u201c", "\u00ab": "\u00bb"}


def _split_terms(text: str) -> list[str]:
    """Whitespace-separated terms, but a quoted run ("harbour strike", “harbour strike”) is
    one term, its words to be found side by side. A quote with no closing one further on
    is an ordinary character, as quotes inside a word are (don't, 5'10")."""
    terms: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        close = _PHRASE_QUOTES.get(text[i])
        end = text.find(close, i + 1) if close else -1
        if end > i:
            terms.append(text[i + 1:end])
            i = end + 1
            continue
        start = i
        while i < n and not text[i].isspace():
            i += 1
        terms.append(text[start:i])
    return terms


#: words other search tools read as operators, which newsdrop searches as plain words
_OPERATOR_WORDS = frozenset({"AND", "OR", "NOT", "NEAR"})


def operator_words(query: str) -> list[str]:
    """The terms of `query` that other tools read as operators (OR, NOT, a trailing *
    or a leading -), here searched as words: what a query that matched nothing may owe
    its emptiness to."""
    return [t for t in _split_terms(query)
            if t in _OPERATOR_WORDS or (len(t) > 1 and (t.endswith("*") or t[0] == "-"))]


def fts5_query(query: str) -> str:
    """`query` as an FTS5 expression: every term a quoted phrase, all required."""
    return _fts5_expression(query_terms(query))


def _fts5_expression(terms: list[str]) -> str:
    # inside an FTS5 string only the double quote is special, and doubling escapes it
    return " ".join('"' + t.replace('"', '""') + '"' for t in terms)


def search(session: Session, query: str, *, filters: ArticleFilter | None = None,
           limit: int = 20, offset: int = 0) -> list[SearchHit]:
    """Articles matching every word of `query`, best first, within `filters`.

    `filters.limit` and `filters.offset` are ignored: `limit` and `offset` page the hits.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidQuery(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
    if not 0 <= offset <= MAX_SQL_INT:
        raise InvalidQuery(f"offset must be between 0 and {MAX_SQL_INT}, not {offset}")
    f = filters or ArticleFilter()
    terms = query_terms(query)
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        rows = _sqlite(session, terms, f, limit, offset)
    elif dialect == "postgresql":
        rows = _postgres(session, terms, f, limit, offset)
    else:  # pragma: no cover - only the two supported databases have an index
        raise InvalidQuery(f"full-text search is not available on {dialect}")
    newer = newest_editions(session, [row[0].document_id for row in rows])
    return [
        SearchHit(article_id=a.id, document_id=a.document_id, title=a.title,
                  published_at=a.published_at, authors=list(a.authors or []),
                  site_name=a.site_name, language=a.language, url=a.url,
                  status=str(DocumentStatus(status)), source=source, score=float(score),
                  raw_snippet=snippet or "", newer_edition=newer.get(a.document_id))
        for a, score, snippet, status, source in rows
    ]


def count_matches(session: Session, query: str, *,
                  filters: ArticleFilter | None = None) -> int:
    """How many articles `search` finds for `query` within `filters`, on every page."""
    terms, f = query_terms(query), filters or ArticleFilter()
    if session.get_bind().dialect.name == "sqlite":
        stmt = (select(func.count()).select_from(_FTS_TABLE)
                .join(Article, Article.id == _FTS_TABLE.c.rowid)
                .where(_fts_match(terms)))
    else:
        stmt = select(func.count()).select_from(Article).where(
            _VECTOR.op("@@")(_tsquery(terms)))
    stmt = stmt.join(Document, Document.id == Article.document_id).where(
        *article_conditions(f))
    return session.scalar(stmt) or 0


def _fts_match(terms: list[str]) -> ColumnElement[bool]:
    return literal_column("articles_fts").op("MATCH")(
        bindparam("fts_query", _fts5_expression(terms)))


#: the weighted full-text vector of title, subtitle and body that PostgreSQL keeps
_VECTOR: ColumnElement[Any] = literal_column("articles.search_vector")


def _tsquery(terms: list[str]) -> ColumnElement[Any]:
    """One phrase per term, all required: the same meaning as the FTS5 expression."""
    tsquery: ColumnElement[Any] | None = None
    for i, term in enumerate(terms):
        phrase = func.phraseto_tsquery("simple", bindparam(f"term_{i}", term))
        tsquery = phrase if tsquery is None else tsquery.op("&&")(phrase)
    assert tsquery is not None, "query_terms gives at least one term"
    return tsquery


def _sqlite(session: Session, terms: list[str], f: ArticleFilter, limit: int,
            offset: int) -> list[Any]:
    # the bare table name, as FTS5's MATCH and auxiliary functions want it
    fts: ColumnElement[Any] = literal_column("articles_fts")
    # bm25() is lower-is-better; negate it so every caller sorts the same way
    score = (-func.bm25(fts, *BM25_WEIGHTS)).label("score")
    snippet = func.snippet(fts, -1, _START, _END, _ELLIPSIS, SNIPPET_TOKENS).label("snippet")
    stmt = (
        select(Article, score, snippet, Document.status, Document.source_path)
        .select_from(_FTS_TABLE)
        .join(Article, Article.id == _FTS_TABLE.c.rowid)
        .join(Document, Document.id == Article.document_id)
        .where(_fts_match(terms), *article_conditions(f))
        .order_by(literal_column("score").desc(), Article.id.desc())
        .limit(limit).offset(offset)
    )
    return list(session.execute(stmt).all())


def _postgres(session: Session, terms: list[str], f: ArticleFilter, limit: int,
              offset: int) -> list[Any]:
    tsquery = _tsquery(terms)
    score = func.ts_rank(_VECTOR, tsquery, type_=Float).label("score")
    hits = (
        select(Article.id.label("id"), score)
        .join(Document, Document.id == Article.document_id)
        .where(_VECTOR.op("@@")(tsquery), *article_conditions(f))
        .order_by(literal_column("score").desc(), Article.id.desc())
        .limit(limit).offset(offset)
        .subquery()
    )
    # ts_headline re-parses the body: run it only on the page of hits
    # one fragment of about SNIPPET_TOKENS words, as SQLite's snippet() gives
    options = (f"StartSel={_START}, StopSel={_END}, MaxWords={SNIPPET_TOKENS}, "
               f"MinWords={SNIPPET_TOKENS // 2}, ShortWord=2, MaxFragments=1")
    snippet = func.ts_headline("simple", func.coalesce(Article.body, ""), tsquery,
                               bindparam("headline_options", options)).label("snippet")
    stmt = (
        select(Article, hits.c.score, snippet, Document.status, Document.source_path)
        .join(hits, hits.c.id == Article.id)
        .join(Document, Document.id == Article.document_id)
        .order_by(hits.c.score.desc(), Article.id.desc())
    )
    return list(session.execute(stmt).all())

