"""Read-side queries on a real SQLite database: article filters, export, stage timings,
and the CLI commands built on them (articles, search, export, failures)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from db import migrate
from db.engine import make_engine, make_session_factory, transaction
from db.export import COLUMNS, ExportFormat, count_articles, export_articles
from db.models import Document, DocumentStatus, Stage, StageRun, StageState, utcnow
from db.queries import (
    ArticleFilter,
    list_articles,
    stage_duration_histogram,
    stage_durations,
    stage_run_counts,
    status_counts,
    unfinished_of,
)
from tests.db.test_search import add_article
from worker.cli import main


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def sessions(data_dir):
    data_dir.mkdir()
    engine = make_engine(f"sqlite:///{data_dir / 'newsdrop.db'}")
    migrate.upgrade(engine)
    factory = make_session_factory(engine)
    with transaction(factory) as s:
        add_article(s, title="Harbour strike", body="Dockers, \"quoted\", vote.\n\nAgain.",
                    authors=["Ana Costa", "Smith, J."], published_at="2024-03-02",
                    site_name="Port News")
        add_article(s, title="Budget", body="The council met.", authors=["Ben"],
                    published_at="2024-01-15", site_name="City Times",
                    status=DocumentStatus.QUEUED)
        add_article(s, title="Théâtre", body="Une saison.", published_at=None, language="fr")
    yield factory
    engine.dispose()


@pytest.fixture(autouse=True)
def forget_the_broker():
    """retry and reprocess send through this test's embedded broker: Celery's app keeps
    that connection for the process, and later tests must not inherit it."""
    yield
    from tasks.celery_tasks import app

    app.close()
    app.amqp._producer_pool = None


def cli(data_dir, *args):
    return CliRunner().invoke(main, ["--data-dir", str(data_dir), *args])


# ---------------------------------------------------------------- filters


def test_status_filter_and_newest_first(sessions):
    with transaction(sessions) as s:
        assert [a.title for a, _ in list_articles(s, ArticleFilter())] == [
            "Harbour strike", "Budget", "Théâtre"]  # undated last
        assert [a.title for a, _ in list_articles(s, ArticleFilter(status="queued"))] == [
            "Budget"]


# ---------------------------------------------------------------- export


def test_export_jsonl_has_every_field(sessions):
    out = io.StringIO()
    with transaction(sessions) as s:
        n = export_articles(s, ArticleFilter(), out, ExportFormat.JSONL)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert n == len(rows) == 3
    assert list(rows[0]) == list(COLUMNS)
    assert rows[0]["authors"] == ["Ana Costa", "Smith, J."]
    assert rows[0]["paragraphs"] == ["Dockers, \"quoted\", vote.", "Again."]
    assert rows[0]["received_at"].endswith("+00:00")


def test_export_csv_round_trips_lists_and_quotes(sessions):
    out = io.StringIO()
    with transaction(sessions) as s:
        export_articles(s, ArticleFilter(site="port"), out, ExportFormat.CSV)
    [row] = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert json.loads(row["authors"]) == ["Ana Costa", "Smith, J."]
    assert row["body"] == "Dockers, \"quoted\", vote.\n\nAgain."


def test_export_csv_defuses_spreadsheet_formulas(sessions):
    # Given scraped text that a spreadsheet would run as a formula
    with transaction(sessions) as s:
        add_article(s, title="=HYPERLINK(\"http://evil\",\"x\")", body="+1 -2",
                    authors=["@someone"], site_name="-Evil", published_at="2024-05-01")
    # When it is exported as CSV
    out = io.StringIO()
    with transaction(sessions) as s:
        export_articles(s, ArticleFilter(site="evil"), out, ExportFormat.CSV)
    [row] = list(csv.DictReader(io.StringIO(out.getvalue())))
    # Then every such cell starts with ' and the rest is kept as it was
    assert row["title"] == "'=HYPERLINK(\"http://evil\",\"x\")"
    assert row["body"] == "'+1 -2"
    assert row["site_name"] == "'-Evil"
    assert json.loads(row["authors"]) == ["@someone"]  # a JSON array starts with [
    assert row["published_at"] == "2024-05-01"
    # and JSON Lines, which no spreadsheet runs, is left alone
    out = io.StringIO()
    with transaction(sessions) as s:
        export_articles(s, ArticleFilter(site="evil"), out, ExportFormat.JSONL)
    assert json.loads(out.getvalue())["title"].startswith("=HYPERLINK")


def test_export_runs_while_a_writer_holds_the_lock(sessions, data_dir):
    # a worker's transaction takes SQLite's write lock up front; an export only reads
    with transaction(sessions) as s:
        s.execute(select(Document.id).limit(1))
        result = cli(data_dir, "export", "--lang", "fr")
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["title"] for x in result.output.splitlines()] == ["Théâtre"]


def test_status_counts(sessions):
    with transaction(sessions) as s:
        ids = list(s.scalars(select(Document.id)))
        queued = s.scalar(select(Document.id).where(Document.status == DocumentStatus.QUEUED))
        assert status_counts(s, ids) == {"done": 2, "queued": 1}
        assert status_counts(s, [queued, 10_000]) == {"queued": 1}
        assert status_counts(s, []) == {}


def test_unfinished_of_keeps_the_active_ids_in_their_order(sessions):
    with transaction(sessions) as s:
        by_status = {st: i for i, st in s.execute(select(Document.id, Document.status))}
        queued = by_status[DocumentStatus.QUEUED]
        done = by_status[DocumentStatus.DONE]
        s.add(Document(sha256="f" * 64, source_path="busy.txt", size_bytes=1,
                       status=DocumentStatus.PROCESSING, received_at=utcnow(),
                       updated_at=utcnow()))
        s.flush()
        busy = s.scalar(select(Document.id).where(Document.source_path == "busy.txt"))
        assert unfinished_of(s, [busy, done, 10_000, queued]) == [busy, queued]
        # asked 500 at a time: the queued one is in the second lot
        missing = list(range(10_000, 10_600))
        assert unfinished_of(s, [busy, *missing, queued]) == [busy, queued]
        assert unfinished_of(s, [done]) == []
        assert unfinished_of(s, []) == []


def test_export_ignores_limit_and_counts(sessions):
    with transaction(sessions) as s:
        assert count_articles(s, ArticleFilter(limit=1)) == 3
        assert count_articles(s, ArticleFilter(language="fr")) == 1
        out = io.StringIO()
        assert export_articles(s, ArticleFilter(limit=1, offset=2), out,
                               ExportFormat.JSONL) == 3


def test_export_command_writes_a_file_or_stdout(sessions, data_dir, tmp_path):
    target = tmp_path / "out.csv"
    result = cli(data_dir, "export", "--format", "csv", "--since", "2024-02-01",
                 "-o", str(target))
    assert result.exit_code == 0, result.output
    assert "exported 1 article to" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "out.csv"]  # no temporary
    assert [r["title"] for r in csv.DictReader(target.open(encoding="utf-8"))] == [
        "Harbour strike"]
    result = cli(data_dir, "export", "--lang", "fr")
    assert result.exit_code == 0
    assert [json.loads(x)["title"] for x in result.output.splitlines()] == ["Théâtre"]


def test_export_to_a_place_that_cannot_be_created_is_a_usage_error(sessions, data_dir,
                                                                   tmp_path):
    # exit 1 is for failed documents (and output cut short); a bad -o is a bad option
    result = cli(data_dir, "export", "-o", str(tmp_path / "missing" / "x.jsonl"))
    assert result.exit_code == 2, result.output
    assert "Invalid value for '-o' / '--output': cannot write " in result.output
    assert "No such file or directory" in result.output


def test_export_that_cannot_write_to_the_end_says_so_and_leaves_no_file(
        sessions, data_dir, tmp_path, monkeypatch):
    import errno

    import db.export

    def disk_full(*_args, **_kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(db.export, "export_articles", disk_full)
    target = tmp_path / "out.jsonl"
    result = cli(data_dir, "export", "-o", str(target))
    assert result.exit_code == 1, result.output
    assert result.output.splitlines()[-1] == (
        f"Error: cannot write {target}: No space left on device")
    assert [p.name for p in tmp_path.iterdir()] == ["data"]  # nor a temporary file


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["export"], ["export", "-o", "-"], ["articles"],
                                  ["show", "1"], ["search", "strike", "--json"]],
                         ids=" ".join)
def test_output_to_a_full_stdout_is_one_line_and_exit_1(sessions, data_dir, args):
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "worker", "--data-dir", str(data_dir),
                               *args], stdout=full, stderr=subprocess.PIPE, text=True,
                              timeout=60, cwd=data_dir.parent)
    assert done.returncode == 1, done.stderr
    assert done.stderr == "Error: cannot write to standard output: No space left on device\n"


def test_export_dash_is_stdout(sessions, data_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli(data_dir, "export", "-o", "-", "--lang", "fr")
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["title"] for x in result.output.splitlines()] == ["Théâtre"]
    assert [p.name for p in tmp_path.iterdir()] == ["data"]


# ---------------------------------------------------------------- CLI on top


def test_search_command(sessions, data_dir):
    result = cli(data_dir, "search", "dockers", "--json")
    assert result.exit_code == 0, result.output
    [hit] = json.loads(result.output)
    assert hit["title"] == "Harbour strike" and "<mark>Dockers</mark>" in hit["snippet"]
    result = cli(data_dir, "search", "dockers")
    assert "Harbour strike" in result.output and "Dockers" in result.output
    result = cli(data_dir, "search", '"*"')
    assert result.exit_code == 2 and "no words" in result.output
    # what another search tool takes for operators is named when nothing matches
    result = cli(data_dir, "search", "dockers OR bakers")
    assert result.exit_code == 0 and ("no articles match 'dockers OR bakers' (OR: search has "
                                      "no operators; every word must appear)") in result.output
    result = cli(data_dir, "search", "dock* NEAR vote")
    assert "(dock*, NEAR: search has no operators" in result.output
    result = cli(data_dir, "search", "bakers")
    assert result.output.strip() == "no articles match 'bakers'"


@pytest.mark.parametrize("args", [["-dockers"], ["--json", "-dockers", "--limit", "5"],
                                  ["--author", "-", "-dockers"], ["--", "-dockers"],
                                  ["--", "--dockers"], ["-dockers", "--site", "-port"]],
                         ids=" ".join)
def test_a_query_may_start_with_a_dash(sessions, data_dir, args):
    # docs/querying.md: a leading - is ordinary text, not an option
    result = cli(data_dir, "search", *args)
    assert result.exit_code == 0, result.output
    assert "Harbour strike" in result.output or "no articles match" in result.output
    if "--author" not in args and "--site" not in args:
        assert "Harbour strike" in result.output


def test_a_mistyped_option_is_still_reported(sessions, data_dir):
    result = cli(data_dir, "search", "--limt", "5", "dockers")
    assert result.exit_code == 2
    assert "No such option '--limt'" in result.output


@pytest.mark.parametrize("command", [["articles"], ["search", "dockers"], ["export"]])
@pytest.mark.parametrize("option", ["--author", "--site", "--lang"])
def test_an_empty_filter_is_refused_rather_than_matching_everything(sessions, data_dir,
                                                                    command, option):
    result = cli(data_dir, *command, option, " ")
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}': is empty" in result.output


def test_articles_command_checks_dates_and_filters_status(sessions, data_dir):
    result = cli(data_dir, "articles", "--since", "March 2024")
    assert result.exit_code == 2 and "not a date" in result.output
    result = cli(data_dir, "articles", "--status", "queued", "--json")
    assert [a["title"] for a in json.loads(result.output)] == ["Budget"]


def test_failures_since(sessions, data_dir):
    now = utcnow()
    with transaction(sessions) as s:
        for name, age in (("old.bin", timedelta(days=3)), ("new.bin", timedelta(minutes=5))):
            s.add(Document(sha256=None, source_path=name, status=DocumentStatus.FAILED,
                           stage=Stage.CLEAN, attempts=1, last_error="binary",
                           error_kind="binary", received_at=now - age,
                           updated_at=now - age, finished_at=now - age))
    result = cli(data_dir, "failures", "--since", "1h", "--json")
    assert [d["source_path"] for d in json.loads(result.output)] == ["new.bin"]
    since = (now - timedelta(days=7)).isoformat()
    result = cli(data_dir, "failures", "--since", since, "--json")
    assert len(json.loads(result.output)) == 2
    result = cli(data_dir, "failures", "--since", "last week")
    assert result.exit_code == 2 and "age" in result.output
    # a time without a zone is UTC, as in articles and reprocess, whatever the local zone
    between = (now - timedelta(hours=1)).replace(tzinfo=None).isoformat()
    for zone in ("UTC", "America/New_York", "Asia/Tokyo"):
        result = subprocess.run(
            [sys.executable, "-m", "worker", "--data-dir", str(data_dir), "failures",
             "--since", between, "--json"],
            capture_output=True, text=True, env={**os.environ, "TZ": zone}, check=True)
        assert [d["source_path"] for d in json.loads(result.stdout)] == ["new.bin"], zone


def test_failures_by_stage_intake_are_the_rejected_files(sessions, data_dir):
    from db.pipeline import record_rejected

    now = utcnow()
    with transaction(sessions) as s:
        s.add(Document(sha256=None, source_path="bad.bin", status=DocumentStatus.FAILED,
                       stage=Stage.CLEAN, attempts=1, last_error="binary", error_kind="binary",
                       received_at=now, updated_at=now, finished_at=now))
        record_rejected(s, source_path="huge.txt", reason="file is over the limit",
                        kind="too_large")
    # the stage `failures` shows for a rejected file is one --stage takes
    shown = cli(data_dir, "failures")
    assert [ln.split()[2] for ln in shown.output.splitlines()] == ["intake", "clean"]
    result = cli(data_dir, "failures", "--stage", "intake", "--json")
    assert result.exit_code == 0, result.output
    assert [d["source_path"] for d in json.loads(result.output)] == ["huge.txt"]
    result = cli(data_dir, "failures", "--stage", "clean", "--json")
    assert [d["source_path"] for d in json.loads(result.output)] == ["bad.bin"]


def test_failures_take_a_kind_in_any_case_and_name_the_kinds_for_one_no_failure_has(
        sessions, data_dir):
    from db.pipeline import record_rejected

    with transaction(sessions) as s:
        record_rejected(s, source_path="huge.txt", reason="over the limit", kind="too_large")
        record_rejected(s, source_path="x.lnk", reason="outside", kind="symlink_outside")
    upper = cli(data_dir, "failures", "--kind", "TOO_LARGE", "--json")
    assert [d["source_path"] for d in json.loads(upper.output)] == ["huge.txt"]
    typo = cli(data_dir, "failures", "--kind", "to_large")
    assert typo.exit_code == 0
    assert typo.output == ("no failures of kind 'to_large'; the failures' kinds are "
                           "symlink_outside, too_large\n")
    # a kind some failure has, but none within --since: no list of kinds
    recent = cli(data_dir, "failures", "--kind", "too_large", "--since", "2099-01-01")
    assert recent.output == "no failures\n"


def test_retry_names_what_it_could_not_retry(sessions, data_dir):
    result = cli(data_dir, "retry", "1", "999")
    assert result.exit_code == 3
    assert "no such document: 999" in result.output
    assert "not failed, left alone: 1 (done)" in result.output
    assert "re-enqueued 0 documents" in result.output
    with transaction(sessions) as s:
        s.get(Document, 1).status = DocumentStatus.FAILED
    result = cli(data_dir, "retry", "1")
    assert "re-enqueued 1 document (1 clean)" in result.output


def test_a_full_page_with_more_behind_it_says_so_on_stderr(sessions, data_dir):
    page = CliRunner().invoke(main, ["--data-dir", str(data_dir), "articles", "--limit", "2"])
    assert page.exit_code == 0
    assert [line.split()[-1] for line in page.stdout.splitlines()] == ["strike", "Budget"]
    assert page.stderr == "more match: --offset 2 for the next page\n"
    for args in (["--limit", "3"], ["--limit", "2", "--offset", "1"], ["--limit", "2",
                                                                       "--json"]):
        whole = CliRunner().invoke(main, ["--data-dir", str(data_dir), "articles", *args])
        assert whole.exit_code == 0 and whole.stderr == "", args
    assert len(json.loads(whole.stdout)) == 2
    with transaction(sessions) as s:
        add_article(s, title="Strike talks", body="Dockers meet again.")
    hits = CliRunner().invoke(main, ["--data-dir", str(data_dir), "search", "dockers",
                                     "--limit", "1"])
    assert hits.exit_code == 0 and hits.stdout.lower().count("strike") == 1
    assert hits.stderr == "more match: --offset 1 for the next page\n"
    most = CliRunner().invoke(main, ["--data-dir", str(data_dir), "search", "dockers",
                                     "--limit", "1000"])  # the largest page there is
    assert most.exit_code == 0 and most.stderr == "", most.output
    last = CliRunner().invoke(main, ["--data-dir", str(data_dir), "search", "dockers",
                                     "--limit", "1", "--offset", "1"])
    assert last.exit_code == 0 and last.stdout and last.stderr == ""


def test_articles_past_the_end_says_how_many_match(sessions, data_dir):
    past = cli(data_dir, "articles", "--offset", "1000")
    assert past.exit_code == 0
    assert "no articles at offset 1000: 3 articles match, at offsets 0 to 2" in past.output
    filtered = cli(data_dir, "articles", "--lang", "fr", "--offset", "5")
    assert "no articles at offset 5: 1 article matches, at offsets 0 to 0" in filtered.output
    nothing = cli(data_dir, "articles", "--lang", "xx", "--offset", "5")
    assert "no articles match" in nothing.output


def test_retry_refuses_ids_together_with_all_failed(sessions, data_dir):
    result = cli(data_dir, "retry", "--all-failed", "1")
    assert result.exit_code == 2
    assert "--all-failed retries every failed document" in result.output


@pytest.mark.parametrize("command", ["retry", "reprocess"])
def test_wait_follows_the_documents_sent_even_when_a_named_id_does_not_exist(
        sessions, data_dir, command):
    with transaction(sessions) as s:
        s.get(Document, 1).status = DocumentStatus.FAILED
    # no worker runs here: waiting ends with the timeout's exit code, not "not found" at once
    result = cli(data_dir, command, "1", "999", "--wait", "--timeout", "0.5")
    assert "no such document: 999" in result.output
    assert "timed out before every document finished" in result.output, result.output
    assert result.exit_code == 4


# ---------------------------------------------------------------- show by sha256 prefix


def _with_hashes(sessions, *hashes, duplicate_of_first=False):
    """Documents with these sha256 values (padded to 64 hex digits); returns their ids."""
    ids: list[int] = []
    with transaction(sessions) as s:
        for sha in hashes:
            doc = Document(sha256=sha.ljust(64, "0"), source_path=f"{sha}.txt",
                           status=DocumentStatus.DONE, attempts=1, received_at=utcnow(),
                           updated_at=utcnow(),
                           duplicate_of=ids[0] if duplicate_of_first and ids else None)
            s.add(doc)
            s.flush()
            ids.append(doc.id)
    return ids


def test_a_sha_prefix_of_digits_that_is_no_id_finds_its_document(db_sessions):
    from db.queries import find_document

    [doc_id] = _with_hashes(db_sessions, "000213748e")
    with transaction(db_sessions) as s:
        assert find_document(s, "00021374").id == doc_id  # no document 21374
        assert find_document(s, f"{0:07d}{doc_id}") is None  # a leading zero: no id
        assert find_document(s, "000213").id == doc_id  # six digits are enough
        assert find_document(s, "02137") is None  # five: too few for a prefix
        assert find_document(s, str(doc_id)).id == doc_id  # an id it is, first


def test_an_ambiguous_sha_prefix_names_its_candidates(db_sessions):
    from db.queries import AmbiguousReference, find_document

    first, second = _with_hashes(db_sessions, "abcdef01", "abcdef02")
    # the same bytes again: one hash, so its first copy, not an ambiguity
    original, _copy = _with_hashes(db_sessions, "fedcba99", "fedcba99",
                                   duplicate_of_first=True)
    with transaction(db_sessions) as s:
        with pytest.raises(AmbiguousReference) as raised:
            find_document(s, "ABCDEF")
        assert raised.value.candidates == [(first, "abcdef01" + "0" * 56),
                                           (second, "abcdef02" + "0" * 56)]
        assert find_document(s, "abcdef02").id == second
        assert find_document(s, "fedcba").id == original


def test_show_an_ambiguous_prefix_is_a_usage_error_listing_candidates(sessions, data_dir):
    first, second = _with_hashes(sessions, *(f"abcdef{n:02d}" for n in range(7)))[:2]
    result = cli(data_dir, "show", "abcdef")
    assert result.exit_code == 2, result.output
    assert ("'abcdef' is ambiguous: the sha256 of 7 documents starts with it: "
            f"{first} (abcdef0000000000…), {second} (abcdef0100000000…),") in result.output
    assert ", …; give more digits, or the id" in result.output
    result = cli(data_dir, "show", "abcdef06", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["document"]["sha256"].startswith("abcdef06")


@pytest.mark.parametrize(("ref", "code", "says"), [
    # too short for a prefix, or no hex at all: no file of that name either
    ("8fe3", 3, "no document '8fe3' (REF is an id, 6 or more hex digits of a sha256, or a "
                "file taken in (its source_path, or the file itself))"),
    ("report", 3, "no document 'report' (REF is an id, 6 or more hex"),
    ("999", 3, "no document '999'"),
    ("abcdef99", 3, "no document 'abcdef99'"),
])
def test_show_tells_a_reference_it_cannot_read_from_one_that_finds_nothing(
        sessions, data_dir, ref, code, says):
    result = cli(data_dir, "show", ref)
    assert result.exit_code == code, result.output
    assert says in result.output


# ---------------------------------------------------------------- reprocess


@pytest.mark.parametrize("args", [["--all", "1"], ["--all", "--stale"],
                                  ["--all", "--since", "2024-01-01"],
                                  ["--all", "--until", "2024-01-01"]], ids=" ".join)
def test_reprocess_refuses_all_with_a_narrower_choice(sessions, data_dir, args):
    result = cli(data_dir, "reprocess", *args)
    assert result.exit_code == 2, result.output
    assert "--all takes every done or failed document: leave it out" in result.output
    assert "re-enqueued" not in result.output


def test_reprocess_says_why_it_left_named_documents_alone(sessions, data_dir):
    from db.models import Article
    from tasks.version import EXTRACTOR_VERSION

    with transaction(sessions) as s:  # 1 made by this extractor; 2 is queued; 3 is stale
        s.get(Article, 1).extractor_version = EXTRACTOR_VERSION
    result = cli(data_dir, "reprocess", "1", "2", "3", "--stale")
    assert result.exit_code == 0, result.output
    assert "not stale (nothing an older extractor made or judged), left alone: 1" \
        in result.output
    assert "not done or failed, left alone: 2 (queued)" in result.output
    assert "re-enqueued 1 document" in result.output
    assert "for every stage (were 1 done)" in result.output


def _received(sessions, **by_title):
    """Set when the documents of these titles were received (ISO 8601, UTC)."""
    from datetime import datetime

    from db.models import Article

    with transaction(sessions) as s:
        for title, when in by_title.items():
            doc_id = s.scalar(select(Article.document_id).where(Article.title == title))
            s.get(Document, doc_id).received_at = datetime.fromisoformat(when)


def _statuses(sessions):
    with transaction(sessions) as s:
        return {d.id: str(d.status) for d in s.scalars(select(Document))}


def test_reprocess_until_a_date_takes_in_that_whole_utc_day(sessions, data_dir):
    # documents 1 and 3 are done; 1 arrived late on 1 May (UTC), 3 the day before
    _received(sessions, **{"Harbour strike": "2024-05-01T23:30:00+00:00",
                           "Théâtre": "2024-04-30T22:30:00+00:00"})
    result = cli(data_dir, "reprocess", "--until", "2024-05-01")
    assert result.exit_code == 0, result.output
    assert "re-enqueued 2 documents" in result.output
    assert _statuses(sessions) == {1: "queued", 2: "queued", 3: "queued"}


def test_reprocess_since_an_instant_with_an_offset_and_named_ids(sessions, data_dir):
    _received(sessions, **{"Harbour strike": "2024-05-01T23:30:00+00:00",
                           "Théâtre": "2024-05-01T22:30:00+00:00"})
    # 01:00 at +02:00 is 23:00 UTC on 1 May: only document 1 arrived after it
    result = cli(data_dir, "reprocess", "1", "3", "--since", "2024-05-02T01:00+02:00")
    assert result.exit_code == 0, result.output
    assert "not received within --since/--until, left alone: 3" in result.output
    assert "re-enqueued 1 document" in result.output
    assert _statuses(sessions)[1] == "queued" and _statuses(sessions)[3] == "done"
    result = cli(data_dir, "reprocess", "--since", "May 2024")
    assert result.exit_code == 2 and "not a date" in result.output


def test_reprocess_candidates_read_received_bounds_as_instants(db_sessions):
    from datetime import datetime

    from db.queries import reprocess_candidates

    docs = []
    with transaction(db_sessions) as s:
        for when in ("2024-04-30T22:30:00+00:00", "2024-05-01T23:30:00+00:00",
                     "2024-05-02T00:30:00+00:00"):
            received = datetime.fromisoformat(when)
            docs.append(Document(sha256=None, source_path=when, status=DocumentStatus.DONE,
                                 attempts=1, received_at=received, updated_at=received))
        s.add_all(docs)
        s.flush()
        a, b, c = (d.id for d in docs)
    window = {"since": "2024-04-01", "until": "2024-05-31"}  # only these three documents
    with transaction(db_sessions) as s:
        assert reprocess_candidates(s, since="2024-04-01", until="2024-05-01") == [a, b]
        assert reprocess_candidates(s, since="2024-04-01",
                                    until="2024-05-01T23:30:00") == [a, b]
        assert reprocess_candidates(s, since="2024-05-02T01:00+02:00",
                                    until="2024-05-31") == [b, c]
        assert reprocess_candidates(s, ids=[a, c], **window) == [a, c]
        assert reprocess_candidates(s, ids=[a, c], since="2024-05-01") == [c]


def test_reprocess_exclusions_name_the_first_rule_each_document_fails(db_sessions):
    from datetime import datetime

    from db.models import Article
    from db.queries import Staleness, reprocess_candidates, reprocess_exclusions

    may, june = (datetime.fromisoformat(f"2024-{m}-02T10:00:00+00:00") for m in ("05", "06"))
    failed, no_article = DocumentStatus.FAILED, "not_an_article"
    rows = {  # name: (status, extractor version of its article or None, of its failure,
        #          the failure's kind, received)
        "stale": (DocumentStatus.DONE, "old", None, None, may),
        "current": (DocumentStatus.DONE, "new", None, None, may),
        "failed by the current": (failed, None, "new", no_article, may),
        "failed by an older": (failed, None, "old", no_article, may),
        "failed before versions were kept": (failed, None, None, no_article, may),
        "failed again, its article older": (failed, "old", "new", no_article, may),
        # failed otherwise, keeping an older article: sent at every look if that counted
        "timed out, its article older": (failed, "old", "new", "timeout", may),
        "failed with no kind": (failed, None, None, None, may),
        # no verdict on the bytes: newer rules would not change it
        "lost its worker": (failed, None, None, "worker_lost", may),
        "timed out under an older": (failed, None, "old", "timeout", may),
        "queued": (DocumentStatus.QUEUED, "old", None, None, may),
        "late": (DocumentStatus.DONE, "old", None, None, june),
    }
    ids = {}
    with transaction(db_sessions) as s:
        for name, (status, version, failed_by, kind, received) in rows.items():
            doc = Document(sha256=None, source_path=name, status=status, attempts=1,
                           received_at=received, updated_at=received,
                           failed_extractor_version=failed_by, error_kind=kind)
            s.add(doc)
            s.flush()
            ids[name] = doc.id
            if version is not None:
                s.add(Article(document_id=doc.id, body="text", extractor_version=version))
    judged = {"ids": list(ids.values()), "until": "2024-05-31",
              "stale": Staleness("new", frozenset({"not_an_article", "empty"}))}
    with transaction(db_sessions) as s:
        excluded = reprocess_exclusions(s, **judged)
        assert reprocess_candidates(s, **judged) == [
            ids[name] for name in ("stale", "failed by an older",
                                   "failed before versions were kept")]
    current = ("not stale (nothing an older extractor made or judged)", None)
    assert {name: excluded.get(doc_id) for name, doc_id in ids.items()} == {
        "stale": None,
        "current": current,
        "failed by the current": current,
        "failed by an older": None,
        "failed before versions were kept": None,
        "failed again, its article older": current,
        "timed out, its article older": current,
        "failed with no kind": current,
        "lost its worker": current,
        "timed out under an older": current,
        "queued": ("not done or failed", "queued"),
        "late": ("not received within --since/--until", None),
    }


# ---------------------------------------------------------------- numbers out of range

HUGE = "99999999999999999999"


@pytest.mark.parametrize("args", [
    ["articles", "--limit", HUGE], ["articles", "--offset", HUGE],
    ["search", "strike", "--offset", HUGE], ["failures", "--limit", HUGE],
    ["reprocess", HUGE], ["retry", HUGE], ["reprocess", "3000000000"],
    ["failures", "--since", "99999999999d"], ["failures", "--since", "9" * 5000 + "d"],
    ["failures", "--since", "0001-01-01T00:00+01:00"],
    ["status", "--watch", "--interval", "1e300"], ["status", "--watch", "--interval", "nan"],
    ["retry", "1", "--wait", "--timeout", "inf"],
], ids=lambda args: " ".join(a[:24] for a in args))
def test_a_number_out_of_range_is_a_usage_error(sessions, data_dir, args):
    result = cli(data_dir, *args)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Error: Invalid value for" in result.output


@pytest.mark.parametrize("command", ["run", "worker"])
@pytest.mark.parametrize("value", ["-1", "1025", HUGE])
def test_worker_processes_out_of_range_are_refused_before_anything_starts(command, value):
    import click

    with pytest.raises(click.BadParameter, match="not in the range 0<=x<=1024"):
        main.commands[command].make_context(command, ["-c", value])


@pytest.mark.parametrize("ref", [HUGE, "3000000000", "0"])
def test_show_an_id_no_document_can_have_is_not_found(sessions, data_dir, ref):
    result = cli(data_dir, "show", ref)
    assert result.exit_code == 3, result.output
    assert f"no document '{ref}'" in result.output


def test_an_id_beyond_the_id_column_finds_nothing_on_either_database(db_sessions):
    from db.queries import document_by_id, find_document

    # PostgreSQL refuses to compare its 32-bit id column with 3,000,000,000
    with transaction(db_sessions) as s:
        assert document_by_id(s, 3_000_000_000) is None
        assert document_by_id(s, 0) is None
        assert find_document(s, "3000000000") is None
        assert find_document(s, HUGE) is None
        assert find_document(s, "²") is None  # a digit int() does not read, no hex, no file


# ---------------------------------------------------------------- stage timings


def test_stage_durations_and_histogram(sessions):
    now = utcnow()
    with transaction(sessions) as s:
        for i, ms in enumerate((10, 20, 30, 40, 1000)):
            s.add(StageRun(document_id=1, stage=Stage.CLEAN, attempt=i + 1,
                           state=StageState.RETRYING if i < 2 else StageState.SUCCEEDED,
                           started_at=now, finished_at=now, duration_ms=ms))
        s.add(StageRun(document_id=1, stage=Stage.EXTRACT, attempt=1,
                       state=StageState.SUCCEEDED, started_at=now - timedelta(hours=1),
                       finished_at=now - timedelta(hours=1), duration_ms=7))
    with transaction(sessions) as s:
        recent = stage_durations(s)
        hist = stage_duration_histogram(s, [25, 100])
        counts = stage_run_counts(s)
    assert recent["clean"] == {"runs": 5, "avg_ms": 220.0, "p95_ms": 1000.0}
    assert recent["extract"]["runs"] == 0  # an hour ago: outside the window
    assert hist["clean"] == {"buckets": [(25, 2), (100, 4)], "count": 5, "sum_ms": 1100}
    assert hist["extract"]["count"] == 1 and hist["persist"]["count"] == 0
    assert counts[("clean", "retrying")] == 2 and counts[("clean", "succeeded")] == 3


def test_author_and_site_filters_take_text_literally(sessions):
    with transaction(sessions) as s:
        add_article(s, title="Ñandú", body="x", authors=["José Álvarez"], site_name="50%_off")
    with transaction(sessions) as s:
        def titles(**kw):
            return [a.title for a, _ in list_articles(s, ArticleFilter(**kw))]

        assert titles(author="JOSé") == ["Ñandú"]  # ASCII letters in any case
        assert titles(author="Álvarez") == ["Ñandú"]
        assert titles(author="josé álvarez") == []  # other letters as written
        assert titles(author="costa") == ["Harbour strike"]
        assert titles(author="%") == []
        assert titles(site="50%_") == ["Ñandú"]
        assert titles(site="_") == ["Ñandú"]
        assert titles(site="%") == ["Ñandú"]
        assert titles(language="FR") == titles(language="fr") == ["Théâtre"]


def test_retry_all_failed_leaves_out_what_this_extractor_would_fail_again(sessions,
                                                                          data_dir):
    from tasks.version import EXTRACTOR_VERSION

    # Given failures: two this extractor found no article in, one an older extractor
    # did, one of a transient kind and one of a file too large for the limit then
    now = utcnow()
    with transaction(sessions) as s:
        for n, (kind, version) in enumerate([
                ("binary", EXTRACTOR_VERSION), ("not_an_article", EXTRACTOR_VERSION),
                ("not_an_article", "1"), ("transient", EXTRACTOR_VERSION),
                ("too_large", EXTRACTOR_VERSION)]):
            s.add(Document(sha256=f"{n:064x}", source_path=f"{kind}{n}.txt",
                           status=DocumentStatus.FAILED, stage=Stage.CLEAN, attempts=1,
                           error_kind=kind, failed_extractor_version=version,
                           received_at=now, updated_at=now, finished_at=now))
    ids = {d.source_path: d.id for d in _documents(sessions)}

    result = cli(data_dir, "retry", "--all-failed")

    assert result.exit_code == 0, result.output
    assert ("left alone 2 failures that this extractor would repeat on the same bytes "
            "(1 binary, 1 not_an_article): name the ids to retry them anyway") in result.output
    assert "re-enqueued 3 documents (3 clean)" in result.output
    statuses = {d.source_path: d.status for d in _documents(sessions)}
    assert statuses["binary0.txt"] == statuses["not_an_article1.txt"] == DocumentStatus.FAILED
    assert {statuses[p] for p in ("not_an_article2.txt", "transient3.txt",
                                  "too_large4.txt")} == {DocumentStatus.QUEUED}
    # named, it goes back all the same
    named = cli(data_dir, "retry", str(ids["binary0.txt"]))
    assert named.exit_code == 0 and "re-enqueued 1 document" in named.output


def _documents(sessions):
    with transaction(sessions) as s:
        return list(s.scalars(select(Document).where(Document.status != DocumentStatus.DONE)))
