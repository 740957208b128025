"""Database URLs as people and tools write them."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from db.engine import check_url, make_engine, normalise_url


@pytest.mark.parametrize("url,expected", [
    # Heroku, libpq and many tools write these; newsdrop speaks psycopg 3
    ("postgres://u:p%40ss@db.example:5432/news?sslmode=require",
     "postgresql+psycopg://u:p%40ss@db.example:5432/news?sslmode=require"),
    ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
    ("POSTGRES://u@h/db", "postgresql+psycopg://u@h/db"),
    # already naming a driver, or not PostgreSQL: left as they are
    ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ("sqlite:////tmp/newsdrop.db", "sqlite:////tmp/newsdrop.db"),
    ("mysql://u@h/db", "mysql://u@h/db"),
    ("not a url", "not a url"),
])
def test_a_bare_postgresql_scheme_gets_newsdrops_driver(url, expected):
    assert normalise_url(url) == expected


@pytest.mark.parametrize("url", ["postgres://u@h/db", "postgresql://u@h/db"])
def test_a_bare_postgresql_url_is_accepted(url):
    check_url(url)


@pytest.mark.parametrize("url,why", [
    ("sqlite:////tmp/nd.db?foo=bar",
     "sqlite:////tmp/nd.db?foo=bar: Query string argument(s) 'foo' are not accepted by the "
     "pysqlite driver; SQLite URI arguments require that 'uri=true' also be present in "
     "the URL."),
    ("sqlite:////tmp/nd.db?cached_statements=abc",
     "sqlite:////tmp/nd.db?cached_statements=abc: an option's value cannot be used "
     "(invalid literal for int() with base 10: 'abc')"),
    # what newsdrop sets itself, which the URL's would not change
    ("sqlite:////tmp/nd.db?timeout=5",
     "sqlite:////tmp/nd.db?timeout=5: leave timeout out of the URL: newsdrop waits 30 s "
     "for a lock itself"),
    ("sqlite://user@host/nd.db",
     "sqlite://user@host/nd.db: a SQLite URL names a file and no host, user or password: "
     "sqlite:///relative/path.db or sqlite:////absolute/path.db"),
])
def test_a_sqlite_url_option_that_would_be_ignored_or_cannot_be_read_is_refused(url, why):
    with pytest.raises(ValueError) as caught:
        check_url(url)
    assert str(caught.value) == why


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:////tmp/nd.db?check_same_thread=false",
                                 "sqlite:///file:nd.db?mode=ro&uri=true"])
def test_sqlite_url_options_sqlalchemy_takes_are_accepted(url):
    check_url(url)


@pytest.mark.postgres
def test_a_postgres_url_connects_through_psycopg(postgres_url):
    bare = postgres_url.replace("postgresql+psycopg://", "postgres://", 1)
    engine = make_engine(bare)
    try:
        assert engine.dialect.driver == "psycopg"
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()
