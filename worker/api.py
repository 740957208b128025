"""`newsdrop serve`: a read-only HTTP service over the results database.

JSON endpoints (`/status`, `/articles`, `/articles/{ref}`, `/search`) answer what the CLI
commands of the same names print with `--json`; `/metrics` gives Prometheus the same
figures; OpenAPI docs are at `/docs` and `/openapi.json`.

Nothing here writes. Every figure comes from the database (documents, stage_runs), except
queue depth and workers, which are asked of the broker with a short timeout. Counters
(`*_total`, the histogram) are counts of `stage_runs` rows, so they only grow while that
history is kept (a deleted document's runs stay for them), and they survive restarts of
this service.

Access: bound to 127.0.0.1 by default. With a token (NEWSDROP_API_TOKEN) every data
endpoint wants `Authorization: Bearer <token>`; binding anywhere but loopback without a
token is refused (`check_exposure`), and so is a token too short or left at a
placeholder (`check_token`).
"""


import hmac
import ipaddress
import re
import socket
from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request, Response
from fastapi.responses import PlainTextResponse
from fastapi.security import HTTPBearer
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db import queries
from db.bounds import MAX_SQL_INT
from db.dates import as_bound, check_window
from db.engine import reading
from db.errors import QueryError
from db.models import Stage
from db.pipeline import ArticleStatus
from worker.celery_app import QUEUE
from worker.monitor import collect_status, queue_depth
from worker.render import article_summary, document_detail
from worker.runtime import Runtime
from worker.signals import sigterm_as_interrupt

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
TOKEN_ENV = "NEWSDROP_API_TOKEN"
#: stage running-time histogram buckets, milliseconds (one run is one document's attempt)
#: (clean and extract runs of a text take well under a millisecond: the first buckets
#: tell them apart)
DURATION_BUCKETS_MS = (0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000,
                       10000, 30000, 60000)
MAX_PAGE = 500
#: shorter bearer tokens are refused: `openssl rand -hex 24` gives 48 characters
MIN_TOKEN_CHARS = 16
#: fewer distinct characters than this make a guessable token ("0000…"); random hex has 16
MIN_TOKEN_DISTINCT_CHARS = 6
#: values that example files and docs show in place of a real token
PLACEHOLDER_TOKENS = frozenset({"change-me", "changeme", "change_me", "secret", "token",
                                "password", "your-token", "<token>"})
#: what a longer placeholder says, in words of its own ("change-me-change-me",
#: "<your-api-token-here>", "replace-with-a-secret-token", "password1234"): a passphrase
#: of random words ("exchange-meteor-walnut") only holds them inside other words
PLACEHOLDER_WORDS = re.compile(
    r"(?<![a-z])(?:change[-_ ]?me|your[-_ ]?(?:api[-_ ]?)?(?:token|secret|key)"
    r"|(?:token|secret|key)[-_ ]?here|replace[-_ ]?(?:me|with)|placeholder)(?![a-z])"
    r"|^(?:password|secret|token)[-_ ]?\d*$")


class ExposureError(Exception):
    """Serving would expose the data without a token; `str(exc)` says what to do."""


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything, so it is not trusted as local


def check_token(token: str | None) -> None:
    """Refuse a token that anyone could guess: too short, or a placeholder left in."""
    if token is None:
        return
    if token.strip().lower() in PLACEHOLDER_TOKENS or PLACEHOLDER_WORDS.search(
            token.strip().lower()):
        raise ExposureError(
            f"{TOKEN_ENV} is still the placeholder {token!r}: set a real token, e.g. "
            "the output of `openssl rand -hex 24`.")
    if token != token.strip():
        # a client's header loses those spaces, so no request could ever match
        raise ExposureError(f"{TOKEN_ENV} begins or ends with white space; remove it.")
    if len(token) < MIN_TOKEN_CHARS:
        raise ExposureError(
            f"{TOKEN_ENV} is {len(token)} characters long; use at least {MIN_TOKEN_CHARS}, "
            "e.g. the output of `openssl rand -hex 24`.")
    if len(set(token.lower())) < MIN_TOKEN_DISTINCT_CHARS:
        raise ExposureError(
            f"{TOKEN_ENV} repeats a few characters (\"0000…\", \"abab…\"): anyone could "
            "guess it; use e.g. the output of `openssl rand -hex 24`.")


def check_exposure(host: str, token: str | None) -> None:
    """Refuse to serve beyond loopback without a bearer token."""
    if not token and not is_loopback(host):
        raise ExposureError(
            f"refusing to listen on {host} without a token: anyone who can reach it could "
            f"read every article. Set {TOKEN_ENV} (clients send 'Authorization: Bearer "
            f"<token>'), or listen on {DEFAULT_HOST}.")


# ---------------------------------------------------------------- metrics


class DatabaseCollector(Collector):
    """Reads the figures at scrape time; nothing is kept in this process."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def collect(self) -> Iterable[Metric]:
        with reading(self.rt.sessions) as session:
            by_status = queries.counts_by_status(session)
            active = queries.active_by_stage(session)
            histogram = queries.stage_duration_histogram(session, DURATION_BUCKETS_MS)
            runs = queries.stage_run_counts(session)
            oldest = queries.oldest_unfinished_age_s(session)

        docs = GaugeMetricFamily("newsdrop_documents", "Documents by status.",
                                 labels=["status"])
        for status, n in by_status.items():
            docs.add_metric([status], n)
        yield docs

        unfinished = GaugeMetricFamily(
            "newsdrop_documents_unfinished",
            "Queued or processing documents by current stage and stage state.",
            labels=["stage", "state"])
        for stage, states in active.items():
            for state, n in states.items():
                unfinished.add_metric([stage, state], n)
        yield unfinished

        hist = HistogramMetricFamily(
            "newsdrop_stage_duration_seconds",
            "Running time of finished stage runs (one run is one attempt at one stage for "
            "one document).",
            labels=["stage"])
        for stage, h in histogram.items():
            buckets = [(_le(ms), n) for ms, n in h["buckets"]] + [("+Inf", h["count"])]
            hist.add_metric([stage], buckets, sum_value=h["sum_ms"] / 1000)
        yield hist

        for name, state, doc in (
                ("newsdrop_stage_retries", "retrying",
                 "Stage runs that failed transiently and were retried."),
                ("newsdrop_stage_failures", "failed",
                 "Stage runs that failed for good (the document is failed).")):
            counter = CounterMetricFamily(name, doc, labels=["stage"])
            for stage in Stage:
                counter.add_metric([stage.value], runs.get((stage.value, state), 0))
            yield counter

        age = GaugeMetricFamily("newsdrop_oldest_unfinished_age_seconds",
                                "Age of the oldest queued or processing document.")
        age.add_metric([], oldest or 0.0)
        yield age

        depth = queue_depth()
        up = GaugeMetricFamily("newsdrop_broker_up",
                               "1 if the broker answered the queue-depth question.")
        up.add_metric([], 0 if depth is None else 1)
        yield up
        if depth is not None:
            q = GaugeMetricFamily("newsdrop_queue_depth", "Messages waiting in the broker.",
                                  labels=["queue"])
            q.add_metric([QUEUE], depth)
            yield q


def _le(ms: float) -> str:
    return f"{ms / 1000:g}"


# ---------------------------------------------------------------- the app


def _iso_param(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return as_bound(value)
    except ValueError as exc:
        raise HTTPException(422, f"{name}: {exc}") from None


def create_app(rt: Runtime, *, token: str | None = None) -> FastAPI:
    """The read-only API over `rt`'s database (and its broker, for queue depth)."""

    def authorize(request: Request) -> None:
        if not token:
            return
        # one or more spaces may follow the scheme (RFC 9110, 11.4)
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(),
                                                                 token.encode()):
            raise HTTPException(401, "a valid bearer token is required",
                                headers={"WWW-Authenticate": "Bearer"})

    # HTTPBearer checks nothing here (authorize does): it names the scheme in the OpenAPI
    # document, so that /docs offers to send the token
    security = [Depends(HTTPBearer(auto_error=False, description=f"The {TOKEN_ENV} token."))
                ] if token else []
    app = FastAPI(title="newsdrop", version=_version(),
                  description="Read-only access to newsdrop's articles, processing status "
                              "and metrics.",
                  dependencies=[*security, Depends(authorize)])
    app.add_middleware(AnswerHead)
    app.add_middleware(DropEmptyParameters)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(rt))

    def article_filter(
        since: Annotated[str | None, Query(
            description="Published on or after (YYYY-MM-DD or ISO 8601; UTC unless it has "
                        "an offset).")] = None,
        until: Annotated[str | None, Query(
            description="Published on or before (a date includes that whole UTC day).")
        ] = None,
        received_since: Annotated[str | None, Query(
            description="Taken in on or after (read as since is).")] = None,
        author: Annotated[str | None, Query(
            description="Author contains (ASCII letters in any case).")] = None,
        site: Annotated[str | None, Query(
            description="Site name, or the host of the page's address, contains (ASCII "
                        "letters in any case).")] = None,
        source: Annotated[str | None, Query(
            description="The file's path (as taken in, below the inbox) contains this "
                        "(ASCII letters in any case).")] = None,
        lang: Annotated[str | None, Query(
            description="Language code, e.g. en (any case).")] = None,
        status: Annotated[ArticleStatus | None, Query(
            description="Status of the article's document: done; queued or processing while "
                        "it runs again; failed if that run failed (it keeps the article it "
                        "had, unless the run found no article in its bytes). Duplicates and "
                        "rejected files have no article.")] = None,
        latest: Annotated[bool, Query(
            description="Only the latest edition of each file: leave out an article whose "
                        "file changed since (taken in again under the same name with other "
                        "bytes) and gave a newer one.")] = False,
    ) -> queries.ArticleFilter:
        for name, value in (("author", author), ("site", site), ("source", source),
                            ("lang", lang)):
            if value is not None and "\x00" in value:  # PostgreSQL's text cannot hold it
                raise HTTPException(422, f"{name} cannot hold a NUL character")
        since, until = _iso_param("since", since), _iso_param("until", until)
        received_since = _iso_param("received_since", received_since)
        try:
            check_window(since, until)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        return queries.ArticleFilter(
            since=since, until=until, received_since=received_since,
            author=author, site=site, source=source, language=lang,
            status=status.value if status else None, latest=latest)

    Filters = Annotated[queries.ArticleFilter, Depends(article_filter)]
    Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
    Offset = Annotated[int, Query(ge=0, le=MAX_SQL_INT)]

    @app.get("/metrics", response_class=PlainTextResponse,
             summary="Prometheus metrics (text exposition format)")
    def metrics() -> Response:
        return Response(generate_latest(registry),
                        media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/status", summary="What `newsdrop status --json` prints")
    def status() -> dict[str, Any]:
        return collect_status(rt)

    @app.get("/articles", summary="Articles, newest published first")
    def articles(f: Filters, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
        # one more than the page: whether a next page holds anything
        page = queries.ArticleFilter(**{**_fields(f), "limit": limit + 1, "offset": offset})
        with reading(rt.sessions) as session:
            items = [article_summary(a, d, newer)
                     for a, d, newer in queries.list_articles_with_editions(session, page)]
        return {"items": items[:limit], "limit": limit, "offset": offset,
                "next_offset": offset + limit if len(items) > limit else None}

    @app.get("/articles/{ref:path}",
             summary="One document, by id, sha256 prefix or file: its article and "
                     "history")
    def article(ref: Annotated[str, Path(description="A document id, 6 to 64 hex digits "
                                                     "of its sha256, or its file's "
                                                     "source_path (the latest edition).")]
                ) -> dict[str, Any]:
        if not ref.strip():  # /articles/ : what /articles lists, one at a time
            raise HTTPException(404, "no document named: give an id, a sha256 prefix or "
                                     "a file's path after /articles/")
        with reading(rt.sessions) as session:
            try:
                doc = queries.find_document(session, ref)
            except QueryError as exc:  # a sha256 prefix several hashes start with
                raise HTTPException(422, exc.message) from exc
            if doc is None:
                meant = queries.id_meant(ref)
                raise HTTPException(404, f"no document {ref}" + (
                    f" (an id is written without leading zeros: {meant})" if meant else ""))
            return document_detail(doc, queries.article_of(session, doc.id),
                                   queries.stage_runs(session, doc.id),
                                   queries.newest_edition(session, doc.id))

    @app.get("/search", summary="Full-text search, best match first")
    def search(q: Annotated[str, Query(
                   description="Words to find; all must appear, and words in double quotes "
                               "side by side.", max_length=1000)],
               f: Filters, limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
               offset: Offset = 0) -> dict[str, Any]:
        from db.search import InvalidQuery
        from db.search import search as run_search

        try:
            with reading(rt.sessions) as session:
                # one more than the page: whether a next page holds anything
                hits = run_search(session, q, filters=f, limit=limit + 1, offset=offset)
        except InvalidQuery as exc:
            # as FastAPI answers any other parameter that cannot be used
            raise HTTPException(422, exc.message) from exc
        return {"query": q, "items": [h.to_dict() for h in hits[:limit]], "limit": limit,
                "offset": offset,
                "next_offset": offset + limit if len(hits) > limit else None}

    return app


class DropEmptyParameters:
    """Leaves out query parameters given empty (`site=&since=`, as an HTML form sends the
    fields left blank), so each is not applied, as if not given, rather than refused as
    a bad date, status or number. A search's `q` is kept: an empty query is an error."""

    KEPT = frozenset({b"q"})

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = scope.get("query_string", b"") if scope["type"] == "http" else b""
        if query:
            parts = [p for p in query.split(b"&")
                     if p and (p.partition(b"=")[2] or p.partition(b"=")[0] in self.KEPT)]
            scope = {**scope, "query_string": b"&".join(parts)}
        await self.app(scope, receive, send)


class AnswerHead:
    """Answers HEAD as GET without the body, headers and status as GET's (RFC 9110, 9.3.2):
    FastAPI's routes take GET only, and uptime checks often send HEAD. A 405's `Allow`
    names HEAD beside GET."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"

        async def answer(message: Message) -> None:
            if message["type"] == "http.response.body" and head:
                message = {**message, "body": b""}
            elif message["type"] == "http.response.start" and message["status"] == 405:
                message = {**message, "headers": [
                    (name, b"GET, HEAD" if name.lower() == b"allow" and value == b"GET"
                     else value) for name, value in message.get("headers", [])]}
            await send(message)

        await self.app({**scope, "method": "GET"} if head else scope, receive, answer)


def url_of(host: str, port: int) -> str:
    """The address a browser takes: an IPv6 address goes in brackets."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _fields(f: queries.ArticleFilter) -> dict[str, Any]:
    return {name: getattr(f, name) for name in f.__dataclass_fields__}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("newsdrop")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0"


def listen(host: str, port: int) -> list[socket.socket]:
    """Sockets bound to every address `host` names, as uvicorn would bind them; OSError
    when one cannot be (the port in use, an address not on this machine). Binding before
    serving lets the caller say so plainly, rather than uvicorn's log and exit code 3."""
    sockets: list[socket.socket] = []
    try:
        infos = socket.getaddrinfo(host.strip("[]") or None, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:  # as asyncio does: "::" must not take IPv4 too
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def serve(rt: Runtime, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          token: str | None = None, log_level: str = "info",
          sockets: list[socket.socket] | None = None) -> None:
    """Serve until SIGINT/SIGTERM on `sockets` (default: `listen(host, port)`). Raises
    ExposureError before binding if unsafe."""
    import uvicorn

    check_token(token)
    check_exposure(host, token)
    sockets = sockets if sockets is not None else listen(host, port)
    config = uvicorn.Config(create_app(rt, token=token), host=host, port=port,
                            log_level=log_level.lower(),
                            access_log=log_level.upper() == "DEBUG")
    # uvicorn raises the signal that stopped it again once it has shut down, to the
    # handler it found: SIGTERM's default action would end the process with 143 where
    # `watch` and `worker` exit 0
    try:
        with sigterm_as_interrupt():
            uvicorn.Server(config).run(sockets=sockets)
    except KeyboardInterrupt:
        pass
    finally:
        for sock in sockets:
            sock.close()
