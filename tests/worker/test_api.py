"""`newsdrop serve` over a real socket: a server process on a free port, a temporary
SQLite database with a few articles and stage runs, requests made with urllib.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from db import migrate
from db.engine import make_engine, make_session_factory, transaction
from db.models import Document, DocumentStatus, Stage, StageRun, StageState, utcnow
from tests.db.test_search import add_article
from worker.api import ExposureError, check_exposure, check_token, is_loopback, url_of

REPO = Path(__file__).resolve().parents[2]
TOKEN = "test-token-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(url: str) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    sessions = make_session_factory(engine)
    now = utcnow()
    with transaction(sessions) as s:
        # oldest to newest as instants (23:00 UTC on 29 February, then 00:00 and 08:00 on
        # 1 March), which their stated texts are not
        for i, (title, site, published) in enumerate([
                ("Harbour strike ends", "Port News", "2024-03-01T08:00:00+09:00"),
                ("Council budget passes", "City Times", "2024-03-01T00:00:00Z"),
                ("Strike talks resume", "Port News", "2024-03-01T03:00:00-05:00")]):
            doc_id = add_article(s, title=title, body=f"Body {i} about the harbour strike.",
                                 site_name=site, published_at=published)
            for stage, ms in ((Stage.CLEAN, 3), (Stage.EXTRACT, 40), (Stage.PERSIST, 2000)):
                s.add(StageRun(document_id=doc_id, stage=stage, attempt=1,
                               state=StageState.SUCCEEDED, started_at=now,
                               finished_at=now + timedelta(milliseconds=ms), duration_ms=ms))
        bad = Document(sha256="f" * 64, source_path="inbox/bad.bin", size_bytes=3,
                       status=DocumentStatus.FAILED, stage=Stage.CLEAN,
                       stage_state=StageState.FAILED, attempts=2, last_error="binary",
                       error_kind="binary", received_at=now, updated_at=now, finished_at=now)
        s.add(bad)
        s.flush()
        for attempt, state in ((1, StageState.RETRYING), (2, StageState.FAILED)):
            s.add(StageRun(document_id=bad.id, stage=Stage.CLEAN, attempt=attempt, state=state,
                           started_at=now, finished_at=now, duration_ms=1, error="binary"))
    engine.dispose()


def start_server(tmp: Path, port: int, *args: str, token: str | None = None
                 ) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDROP_")}
    env.update({"PYTHONPATH": str(REPO), "NEWSDROP_DATA_DIR": str(tmp / "data"),
                "NEWSDROP_DATABASE_URL": f"sqlite:///{tmp / 'nd.db'}"})
    if token:
        env["NEWSDROP_API_TOKEN"] = token
    return subprocess.Popen([sys.executable, "-m", "worker", "serve", "--port", str(port),
                             *args], cwd=tmp, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)


def wait_listening(proc: subprocess.Popen[bytes], port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stdout.read().decode()}")  # type: ignore[union-attr]
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not start listening")


@pytest.fixture(scope="module")
def server_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The served folder: its database `nd.db`, seeded, and data folder `data`."""
    tmp = tmp_path_factory.mktemp("api")
    seed(f"sqlite:///{tmp / 'nd.db'}")
    return tmp


@pytest.fixture(scope="module")
def server(server_dir: Path) -> Iterator[str]:
    tmp = server_dir
    port = free_port()
    proc = start_server(tmp, port, token=TOKEN)
    try:
        wait_listening(proc, port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def get(base: str, path: str, *, token: str | None = TOKEN, method: str = "GET",
        authorization: str | None = None, **params: Any) -> tuple[int, str, dict[str, str]]:
    url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
    req = urllib.request.Request(url, method=method)
    if token or authorization:
        req.add_header("Authorization", authorization or f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode(), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)


def get_json(base: str, path: str, **params: Any) -> Any:
    code, body, _ = get(base, path, **params)
    assert code == 200, body
    return json.loads(body)


# ---------------------------------------------------------------- JSON endpoints


def test_articles_lists_newest_first_with_paging(server):
    page = get_json(server, "/articles", limit=2)
    assert [a["title"] for a in page["items"]] == ["Strike talks resume", "Council budget passes"]
    assert page["next_offset"] == 2
    rest = get_json(server, "/articles", limit=2, offset=2)
    assert [a["title"] for a in rest["items"]] == ["Harbour strike ends"]
    assert rest["next_offset"] is None
    # a last page that is exactly full points to no empty page after it
    whole = get_json(server, "/articles", limit=3)
    assert len(whole["items"]) == 3 and whole["next_offset"] is None
    every = get_json(server, "/search", q="strike", limit=500)
    n = len(every["items"])
    assert n >= 2 and every["next_offset"] is None
    assert get_json(server, "/search", q="strike", limit=n)["next_offset"] is None
    assert get_json(server, "/search", q="strike", limit=n - 1)["next_offset"] == n - 1


def test_articles_filters(server):
    page = get_json(server, "/articles", site="port", since="2024-03-01")
    assert [a["title"] for a in page["items"]] == ["Strike talks resume"]
    code, body, _ = get(server, "/articles", since="not a date")
    assert code == 422 and "since" in body
    for path in ("/articles", "/search"):
        code, body, _ = get(server, path, q="strike", since="2024-03-02", until="2024-03-01")
        assert code == 422, body
        assert "since 2024-03-02 is after until 2024-03-01: nothing can match" in body


def test_the_api_takes_the_filters_the_cli_has(server):
    # ages, as `articles --since 7d` takes them: the seeded articles came in just now,
    # stating dates in 2024
    assert len(get_json(server, "/articles", received_since="1h")["items"]) == 3
    assert get_json(server, "/articles", since="7d")["items"] == []
    code, body, _ = get(server, "/articles", received_since="2x")
    assert code == 422 and "received_since: '2x' is not a date" in body
    # no file here was taken in twice: every article is its file's latest
    page = get_json(server, "/articles", latest="true")
    assert len(page["items"]) == 3 and {a["newer_edition"] for a in page["items"]} == {None}
    code, body, _ = get(server, "/articles", latest="maybe")
    assert code == 422 and "latest" in body
    first = page["items"][0]
    assert [a["id"] for a in get_json(server, "/articles", source=first["source"])[
        "items"]] == [first["id"]]
    code, body, _ = get(server, "/articles/")
    assert code == 404 and "no document named" in body
    # every filter left empty, as a form sends it, is not applied
    empty = dict.fromkeys(("since", "until", "received_since", "author", "site", "source",
                           "lang", "status", "latest", "limit", "offset"), "")
    assert len(get_json(server, "/articles", **empty)["items"]) == 3
    assert len(get_json(server, "/search", q="strike", **empty)["items"]) == 3
    code, body, _ = get(server, "/search", q="")
    assert code == 422


def test_the_language_filter_takes_any_case(server):
    assert len(get_json(server, "/articles", lang="EN")["items"]) == 3
    assert len(get_json(server, "/search", q="strike", lang="En")["items"]) == 3
    assert get_json(server, "/articles", lang="fr")["items"] == []


def test_cli_articles_json_prints_the_items_of_the_api(server, server_dir):
    from click.testing import CliRunner

    from worker.cli import main

    result = CliRunner().invoke(main, [
        "--data-dir", str(server_dir / "data"),
        "--database-url", f"sqlite:///{server_dir / 'nd.db'}", "articles", "--json"])
    assert result.exit_code == 0, result.output
    items = get_json(server, "/articles")["items"]
    assert {"id", "article_id", "language", "url", "status", "source"} <= set(items[0])
    assert json.loads(result.output) == items


def test_articles_by_a_status_no_article_can_have_is_refused(server):
    # duplicates and rejected files have no article: an empty page would mislead
    for status in ("duplicate", "rejected"):
        code, body, _ = get(server, "/articles", status=status)
        assert code == 422 and "status" in body
    assert get_json(server, "/articles", status="failed")["items"] == []
    assert len(get_json(server, "/articles", status="done")["items"]) == 3


def test_one_article_with_its_history(server):
    first = get_json(server, "/articles", limit=1)["items"][0]
    data = get_json(server, f"/articles/{first['id']}")
    assert data["article"]["title"] == first["title"]
    assert [r["stage"] for r in data["history"]] == ["clean", "extract", "persist"]
    # SQLite hands back naive times; they are UTC and say so
    assert data["document"]["received_at"].endswith("+00:00")
    assert all(r["finished_at"].endswith("+00:00") for r in data["history"])
    code, body, _ = get(server, "/articles/99999")
    assert code == 404 and "no document 99999" in body
    # an id no document can have, too large for the id column or any integer column
    for ref in ("3000000000", "99999999999999999999", "0"):
        code, body, _ = get(server, f"/articles/{ref}")
        assert code == 404 and f"no document {ref}" in body
    code, body, _ = get(server, f"/articles/000{first['id']}")  # a sha256 prefix only
    assert code == 404
    assert f"(an id is written without leading zeros: {first['id']})" in body
    # by its file's path, slashes and all (the source_path `articles` lists)
    assert first["source"].startswith("inbox/")
    assert get_json(server, f"/articles/{first['source']}")["document"]["id"] == first["id"]


def test_one_article_by_a_sha256_prefix_as_show_finds_it(server):
    first = get_json(server, "/articles", limit=1)["items"][0]
    sha = get_json(server, f"/articles/{first['id']}")["document"]["sha256"]
    for prefix in (sha[:8], sha.upper()):
        assert get_json(server, f"/articles/{prefix}")["document"]["id"] == first["id"]
    code, body, _ = get(server, "/articles/8fe3")  # too short to be a prefix, not an id
    assert code == 404 and "no document 8fe3" in body


@pytest.mark.parametrize("path,params", [
    ("/articles", {"offset": "99999999999999999999"}),
    ("/articles", {"limit": "99999999999999999999"}),
    ("/search", {"q": "strike", "offset": "99999999999999999999"}),
    ("/search", {"q": "strike", "offset": "-1"})])
def test_paging_out_of_range_is_a_422(server, path, params):
    code, body, _ = get(server, path, **params)
    assert code == 422, body


@pytest.mark.parametrize("path,params", [
    ("/articles", {"site": "\x00"}), ("/articles", {"lang": "e\x00n"}),
    ("/articles", {"author": "\x00"}), ("/search", {"q": "strike", "site": "\x00"})])
def test_a_nul_character_in_a_text_filter_is_a_422(server, path, params):
    # PostgreSQL's text cannot hold it: the query would fail with a 500
    code, body, _ = get(server, path, **params)
    assert code == 422 and "cannot hold a NUL character" in body, body


def test_search_items_say_where_each_article_came_from_as_articles_items_do(server):
    articles = {a["id"]: a for a in get_json(server, "/articles")["items"]}
    hits = get_json(server, "/search", q="strike")["items"]
    assert hits and all((h["source"], h["status"]) == (articles[h["id"]]["source"],
                                                       articles[h["id"]]["status"])
                        for h in hits)
    assert hits[0]["source"].startswith("inbox/")


def test_search_ranks_and_highlights(server):
    data = get_json(server, "/search", q="strike")
    titles = [h["title"] for h in data["items"]]
    assert set(titles) == {"Harbour strike ends", "Strike talks resume",
                           "Council budget passes"}
    assert titles[-1] == "Council budget passes"  # the only one without strike in its title
    assert "<mark>" in data["items"][0]["snippet"]


def test_search_takes_a_query_starting_with_a_dash(server):
    titles = [h["title"] for h in get_json(server, "/search", q="-strike")["items"]]
    assert titles == [h["title"] for h in get_json(server, "/search", q="strike")["items"]]
    assert len(titles) == 3


@pytest.mark.parametrize("q", ["***", '" "', "()", ""])
def test_search_rejects_wordless_queries_as_every_bad_parameter_is_rejected(server, q):
    code, body, _ = get(server, "/search", q=q)
    assert code == 422
    assert "no words" in json.loads(body)["detail"]
    assert get(server, "/search", q="strike", limit=0)[0] == 422


def test_status_has_the_cli_shape(server):
    data = get_json(server, "/status")
    assert data["documents"]["done"] == 3 and data["documents"]["failed"] == 1
    assert {"queue_depth", "workers", "throughput_per_s", "latency_s",
            "stage_durations_ms", "recent_failures"} <= set(data)
    assert data["stage_durations_ms"]["persist"]["avg_ms"] == 2000


def test_openapi_docs_are_served(server):
    spec = get_json(server, "/openapi.json")
    assert {"/articles", "/articles/{ref}", "/search", "/status", "/metrics"} <= set(
        spec["paths"])
    code, body, _ = get(server, "/docs", token=None)
    assert code == 200 and "swagger" in body.lower()


def test_the_openapi_document_names_the_bearer_token_so_docs_can_send_it(server):
    spec = get_json(server, "/openapi.json")
    schemes = spec["components"]["securitySchemes"]
    assert [s["scheme"] for s in schemes.values()] == ["bearer"]
    assert spec["paths"]["/articles"]["get"]["security"] == [{name: []} for name in schemes]


def test_head_is_answered_as_get_without_a_body(server):
    for path in ("/status", "/metrics", "/articles"):
        code, body, headers = get(server, path, method="HEAD")
        assert code == 200 and body == "", path
        _, got, got_headers = get(server, path)
        assert headers["content-type"] == got_headers["content-type"]
        if path == "/articles":  # the same bytes each time: GET's length is announced
            assert int(headers["content-length"]) == len(got.encode()) > 0
    code, body, _ = get(server, "/articles", method="HEAD", token=None)
    assert (code, body) == (401, "")
    code, _, headers = get(server, "/articles", method="DELETE")
    assert code == 405 and headers["allow"] == "GET, HEAD"


# ---------------------------------------------------------------- metrics


def test_metrics_parse_as_prometheus_text(server):
    code, body, headers = get(server, "/metrics")
    assert code == 200
    assert headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(body)}

    docs = {s.labels["status"]: s.value for s in families["newsdrop_documents"].samples}
    assert docs["done"] == 3 and docs["failed"] == 1 and docs["queued"] == 0

    hist = families["newsdrop_stage_duration_seconds"]
    persist = {s.name[len(hist.name):] + s.labels.get("le", ""): s.value
               for s in hist.samples if s.labels["stage"] == "persist"}
    assert persist["_count"] == 3
    assert persist["_sum"] == pytest.approx(6.0)
    assert persist["_bucket1"] == 0 and persist["_bucket2.5"] == 3
    clean = {s.labels.get("le"): s.value for s in hist.samples
             if s.labels["stage"] == "clean" and s.name.endswith("_bucket")}
    # buckets below a millisecond, where clean and extract runs of a text fall (two runs
    # of 1 ms, three of 3 ms)
    assert clean["0.00025"] == clean["0.0005"] == 0
    assert clean["0.001"] == clean["0.0025"] == 2 and clean["0.005"] == 5
    assert persist["_bucket+Inf"] == 3

    retries = {s.labels["stage"]: s.value for s in families["newsdrop_stage_retries"].samples
               if s.name.endswith("_total")}
    failures = {s.labels["stage"]: s.value
                for s in families["newsdrop_stage_failures"].samples
                if s.name.endswith("_total")}
    assert retries == {"clean": 1, "extract": 0, "persist": 0}
    assert failures == {"clean": 1, "extract": 0, "persist": 0}
    # the embedded (filesystem) broker answers: nothing is waiting
    assert families["newsdrop_broker_up"].samples[0].value == 1
    assert families["newsdrop_queue_depth"].samples[0].value == 0


# ---------------------------------------------------------------- the token rule


def test_requests_without_the_token_are_refused(server):
    for path in ("/articles", "/metrics", "/status", "/search?q=x"):
        code, _, headers = get(server, path, token=None)
        assert code == 401, path
        assert headers.get("www-authenticate") == "Bearer"
    code, _, _ = get(server, "/articles", token="wrong")
    assert code == 401
    for authorization in (f"Token {TOKEN}", TOKEN, f"Bearer{TOKEN}", f"Bearer {TOKEN}x"):
        assert get(server, "/articles", authorization=authorization)[0] == 401, authorization


def test_the_token_is_taken_whatever_the_case_of_bearer_and_the_spaces_after_it(server):
    for authorization in (f"Bearer {TOKEN}", f"bearer {TOKEN}", f"BEARER   {TOKEN}"):
        assert get(server, "/articles", authorization=authorization)[0] == 200, authorization


def test_binding_beyond_loopback_without_a_token_is_refused(tmp_path):
    proc = start_server(tmp_path, free_port(), "--host", "0.0.0.0")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2  # a configuration error, as the README's table says
    assert b"NEWSDROP_API_TOKEN" in out


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_ends_the_server_cleanly_with_0(tmp_path, stop):
    """`docker stop` sends SIGTERM: the server shuts down and exits 0, as watch and worker do."""
    seed(f"sqlite:///{tmp_path / 'nd.db'}")
    port = free_port()
    proc = start_server(tmp_path, port)
    try:
        wait_listening(proc, port)
        proc.send_signal(stop)
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, out
    assert b"Traceback" not in out


def test_a_port_in_use_is_refused_before_serving(tmp_path):
    seed(f"sqlite:///{tmp_path / 'nd.db'}")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = start_server(tmp_path, port)
        out, _ = proc.communicate(timeout=60)
    # a one-line error and the usage code; not "serving", then uvicorn's exit 3 (not found)
    assert proc.returncode == 2, out
    assert out.decode().strip() == (f"Error: cannot listen on 127.0.0.1:{port}: Address "
                                    "already in use; choose another --port or --host")


def test_loopback_rule():
    for host in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"):
        assert is_loopback(host), host
        check_exposure(host, None)
    for host in ("0.0.0.0", "::", "192.168.1.4", "example.org"):
        assert not is_loopback(host), host
        check_exposure(host, "token")  # fine with a token
        with pytest.raises(Exception, match="NEWSDROP_API_TOKEN"):
            check_exposure(host, None)


def test_the_served_address_is_written_as_a_browser_takes_it():
    assert url_of("127.0.0.1", 8000) == "http://127.0.0.1:8000"
    assert url_of("localhost", 80) == "http://localhost:80"
    assert url_of("::1", 8000) == url_of("[::1]", 8000) == "http://[::1]:8000"
    assert url_of("::", 8080) == "http://[::]:8080"


@pytest.mark.parametrize("token,reason", [("change-me", "placeholder"),
                                          ("Change-Me", "placeholder"),
                                          ("change-me-change-me", "placeholder"),
                                          ("<your-api-token-here>", "placeholder"),
                                          ("replace-with-a-secret-token", "placeholder"),
                                          ("password1234567890", "placeholder"),
                                          ("short-token", "at least 16"),
                                          (" " * 20, "white space"),
                                          (" 0123456789abcdef", "white space"),
                                          ("0" * 20, "repeats"),
                                          ("abab" * 5, "repeats")])
def test_a_guessable_token_is_refused(token, reason):
    with pytest.raises(ExposureError, match=reason):
        check_token(token)
    check_token(None)  # no token: only loopback is allowed, which check_exposure decides
    check_token("0123456789abcdef")
    check_token("correct-horse-battery")
    check_token(secrets.token_hex(24))
    check_token(secrets.token_urlsafe(24))
    # passphrases whose words only hold a placeholder's letters run together
    for passphrase in ("exchange-meteor-walnut-harp", "replace-medium-cactus-orbit",
                       "glass-insert-tundra-mango", "Xk3-password-manager-generated-9fA2"):
        check_token(passphrase)


def test_serve_refuses_a_placeholder_token_before_binding(tmp_path):
    proc = start_server(tmp_path, free_port(), token="change-me")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert b"placeholder" in out and b"NEWSDROP_API_TOKEN" in out


def test_many_status_requests_at_once_are_all_answered_and_the_server_goes_on(server):
    # each asks the broker for its queue and its workers: in parallel, they used to drain
    # Celery's connection pool and leave every later request hanging
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(40) as pool:
        codes = list(pool.map(lambda _: get(server, "/status")[0], range(40)))
    assert codes == [200] * 40
    assert get(server, "/status")[0] == 200
    assert get(server, "/articles", limit=1)[0] == 200


def test_answer_head_passes_heads_to_the_app_as_get_and_sends_no_body():
    import asyncio

    from worker.api import AnswerHead

    seen: list[str] = []

    async def app(scope, receive, send):
        seen.append(scope["method"])
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"5")]})
        await send({"type": "http.response.body", "body": b"hello", "more_body": False})

    def call(method: str) -> list[dict]:
        sent: list[dict] = []

        async def send(message):
            sent.append(message)

        async def receive():
            return {"type": "http.request", "body": b""}

        asyncio.run(AnswerHead(app)({"type": "http", "method": method}, receive, send))
        return sent

    head, get = call("HEAD"), call("GET")
    assert seen == ["GET", "GET"]
    assert head[0] == get[0]  # the same status and headers, Content-Length included
    assert head[1]["body"] == b"" and get[1]["body"] == b"hello"


def test_editions_of_a_file_through_the_api(tmp_path):
    import hashlib

    from db import pipeline
    from tasks.runner import RunnerOptions, run_batch

    # Given a file taken in twice, its story updated in between
    engine = make_engine(f"sqlite:///{tmp_path / 'nd.db'}")
    migrate.upgrade(engine)
    sessions = make_session_factory(engine)
    sample = (REPO / "tests" / "fixtures" / "sample_seed.txt").read_bytes()
    for data in (sample, sample + b"\nUpdated at noon.\n"):
        with transaction(sessions) as s:
            [taken] = pipeline.take_in_many(s, [pipeline.Incoming(
                hashlib.sha256(data).hexdigest(), "wire/a.txt", data, len(data))])
        run_batch(sessions, [taken.document_id], options=RunnerOptions(), worker="t")
    engine.dispose()
    port = free_port()
    proc = start_server(tmp_path, port, token=TOKEN)
    try:
        wait_listening(proc, port)
        base = f"http://127.0.0.1:{port}"
        # Then the older names the newer, latest=true leaves it out, and the file's path
        # finds the newer
        every = get_json(base, "/articles")["items"]
        assert [(a["id"], a["newer_edition"]) for a in every] == [(2, None), (1, 2)]
        assert [a["id"] for a in get_json(base, "/articles", latest="true")["items"]] == [2]
        assert [h["id"] for h in get_json(base, "/search", q="Leiderman",
                                          latest="true")["items"]] == [2]
        assert {h["id"]: h["newer_edition"] for h in get_json(
            base, "/search", q="Leiderman")["items"]} == {1: 2, 2: None}
        assert get_json(base, "/articles/wire/a.txt")["document"]["id"] == 2
        assert get_json(base, "/articles/1")["document"]["newer_edition"] == 2
    finally:
        proc.terminate()
        proc.wait(timeout=10)
