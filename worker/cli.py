"""`newsdrop`: the command line. Each command parses, calls library code, renders."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from db.bounds import MAX_ID, MAX_SECONDS, MAX_SQL_INT
from worker.settings import (
    RANGES,
    AfterIntake,
    Settings,
    SettingsError,
    load_settings,
    make_folder,
    unknown_variables,
)
from worker.wording import counted, milliseconds

if TYPE_CHECKING:
    from worker.intake import IntakeOutcome

# named exit codes
EXIT_OK = 0
EXIT_FAILED = 1  # some documents failed or were rejected
EXIT_USAGE = 2  # a usage or configuration error (click's own usage errors use it too)
EXIT_NOT_FOUND = 3
EXIT_TIMEOUT = 4
EXIT_UNAVAILABLE = 5  # database or broker unreachable
EXIT_INTERRUPTED = 130  # Ctrl-C: what a shell reports for a command SIGINT ended

log = logging.getLogger("newsdrop")

#: worker processes one command may start, as NEWSDROP_CONCURRENCY allows
MAX_CONCURRENCY = int(RANGES["concurrency"][1])


class DocumentId(click.IntRange):
    """A document id: "'abc' is not a valid document id", not "… integer range"."""

    name = "document id"


#: ids, limits and offsets are whole numbers a query can carry (db/bounds.py)
DOCUMENT_ID = DocumentId(1, MAX_ID)
OFFSET = click.IntRange(0, MAX_SQL_INT)


class Unavailable(click.ClickException):
    """The database (or broker) cannot be reached."""

    exit_code = EXIT_UNAVAILABLE


class BadConfiguration(click.ClickException):
    """Settings or option values that cannot work, said without click's usage text."""

    exit_code = EXIT_USAGE


class OutputCutShort(click.ClickException):
    """Output that could not be written to the end (a full disk): the README gives such
    output, like a reader that stopped early, exit code 1."""

    exit_code = EXIT_FAILED


class Interrupted(click.ClickException):
    """Ctrl-C: what was done so far is said, and the exit code is not mistaken for 1."""

    exit_code = EXIT_INTERRUPTED


class NoDatabase(click.ClickException):
    """A read command found no newsdrop schema, or an older one, and changed nothing."""

    exit_code = EXIT_NOT_FOUND


def _unreachable_errors() -> tuple[type[BaseException], ...]:
    """What the database and broker clients raise when their server cannot be reached."""
    from kombu.exceptions import OperationalError as BrokerError
    from sqlalchemy.exc import OperationalError as DatabaseError

    return (DatabaseError, BrokerError, ConnectionError)


#: commands that run until stopped and print no results: their output is logging, and
#: Celery and uvicorn take standard output over as they please
_SERVICES = frozenset({"run", "watch", "worker", "serve"})


# PostgreSQL's answer when the server is up but the URL names a database it does not have
_MISSING_DATABASE = re.compile(r'database "([^"]+)" does not exist')
# PostgreSQL's (and libpq's) answers when the server is up but refuses the URL's user:
# no such role, a role that may not log in, a wrong or missing password, a user or host
# its pg_hba.conf lets in from nowhere or refuses. psycopg gives no sqlstate for a
# connection that failed, so the (English) message is matched; what a server may answer
# for a while (too many connections, starting up, shutting down) matches none of these
# and stays unreachable.
_LOGIN_REFUSED = re.compile(
    r'role "[^"]+" (?:does not exist|is not permitted to log in)'
    r'|\w+ authentication failed for user "[^"]+"|no password supplied'
    r'|no pg_hba\.conf entry for host "[^"]+", user "[^"]+"|pg_hba\.conf rejects connection')


class NewsdropGroup(click.Group):
    """Runs a command; an unreachable database or broker, whenever it shows up, ends it
    with a one-line message and EXIT_UNAVAILABLE instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from sqlalchemy.exc import OperationalError as DatabaseError

        from worker.reconciler import NotSent

        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise Interrupted("interrupted") from None
        except SettingsError as exc:
            raise BadConfiguration(str(exc)) from exc
        except NotSent as exc:
            if not isinstance(exc.__cause__, _unreachable_errors()):
                raise
            raise Unavailable(_not_sent(ctx.find_object(Settings), len(exc.ids),
                                        exc.__cause__)) from exc
        except _unreachable_errors() as exc:
            if isinstance(exc, BrokenPipeError) and _stdout_reader_gone():
                raise  # `newsdrop articles | head`: click stops quietly, nothing is wrong
            settings = ctx.find_object(Settings)
            if isinstance(exc, DatabaseError):
                where = f" at {_safe_url(settings.resolved_database_url)}" if settings else ""
                missing = _MISSING_DATABASE.search(str(exc.orig))
                if missing:
                    # the server answered: nothing is unreachable, the database is not there
                    raise NoDatabase(
                        f"the server{where} has no database {missing.group(1)!r}: create it "
                        f"(createdb {missing.group(1)}), or set NEWSDROP_DATABASE_URL to one "
                        "that exists") from exc
                refused = _LOGIN_REFUSED.search(str(exc.orig))
                if refused:
                    # the server answered too: the URL's user or password is wrong
                    raise BadConfiguration(
                        f"the server{where} refused the login: {refused.group(0)}: set the "
                        "user and password in NEWSDROP_DATABASE_URL") from exc
                raise Unavailable(f"cannot reach the database{where}: {exc.orig}") from exc
            where = f" at {_safe_url(settings.resolved_broker_url)}" if settings else ""
            raise Unavailable(f"cannot reach the broker{where}: {exc}") from exc


def _not_sent(settings: Settings | None, unsent: int, error: BaseException | None) -> str:
    """Why documents committed as queued are not with the workers yet, and what sends them
    (worker.reconciler.send_queued ended their lease, so no lease is waited out)."""
    where = f" at {_safe_url(settings.resolved_broker_url)}" if settings else ""
    return (f"cannot reach the broker{where}: {str(error).rstrip('.')}; "
            f"{counted(unsent, 'document')} {'is' if unsent == 1 else 'are'} stored as queued "
            "and sent once the broker is back, by a running `newsdrop watch` or `newsdrop "
            "run`, or by `newsdrop reconcile`")


class _GuardedOutput:
    """Standard output whose writes, when they fail for any reason but a closed pipe (a
    full disk, /dev/full), raise OutputCutShort; a closed pipe is left to click, which
    ends the command quietly."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)

    def write(self, text: str) -> int:
        return self._guard(self.stream.write, text)

    def writelines(self, lines: Any) -> None:
        self._guard(self.stream.writelines, lines)

    def flush(self) -> None:
        self._guard(self.stream.flush)

    @staticmethod
    def _guard(call: Callable[..., Any], *args: Any) -> Any:
        try:
            return call(*args)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputCutShort(
                f"cannot write to standard output: {exc.strerror or exc}") from exc


@contextlib.contextmanager
def _guarded_stdout() -> Iterator[None]:
    """Standard output as _GuardedOutput while a command runs, flushed at its end so that
    what is still buffered fails then, not at exit."""
    guarded = sys.stdout = _GuardedOutput(sys.stdout)
    try:
        yield
        sys.stdout.flush()
    finally:
        if sys.stdout is guarded:
            sys.stdout = guarded.stream


def _stdout_reader_gone() -> bool:
    """True when standard output is a pipe whose reading end was closed."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no real file behind stdout
        return False


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # alembic announces every plugin it loads at INFO; only its warnings matter here
    quiet = max(logging.WARNING, logging.getLogger().level)
    for name in ("alembic", "watchfiles"):  # one line per plugin loaded / per file event
        logging.getLogger(name).setLevel(quiet)


def _settings(ctx: click.Context) -> Settings:
    return ctx.find_object(Settings) or load_settings()


def _runtime(ctx: click.Context, *, migrate_schema: bool = True,
             check_schema: bool = True) -> Any:
    """This process's runtime. Commands that write bring the schema to head first; read
    commands (migrate_schema=False) create and migrate nothing, and stop with
    EXIT_NOT_FOUND unless the database already holds the current schema."""
    from worker.service import prepare

    settings = _settings(ctx)
    if migrate_schema or not check_schema:
        return prepare(settings, migrate_schema=migrate_schema)
    return _read_runtime(settings)


def _read_runtime(settings: Settings) -> Any:

    from db import migrate
    from tasks.celery_tasks import app
    from worker import runtime
    from worker.celery_app import configure

    url = settings.resolved_database_url
    missing = NoDatabase(f"no newsdrop database at {_safe_url(url)}: start with "
                         "`newsdrop run`, or `newsdrop db upgrade`")
    if _sqlite_file_missing(url):
        raise missing
    rt = runtime.init(settings)
    current, head = migrate.current_revision(rt.engine), migrate.head_revision()
    if current is None:
        raise missing
    if current != head:
        raise NoDatabase(f"the database schema is older than this newsdrop: run "
                         f"`newsdrop db upgrade` (database at {current}, latest {head})")
    configure(app, settings)
    return rt


def _sqlite_file_missing(url: str) -> bool:
    """Whether `url` names a SQLite file that does not exist: connecting would create it,
    so read commands look before they connect."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return bool(parsed.get_backend_name() == "sqlite" and parsed.database
                and parsed.database != ":memory:" and not parsed.query.get("uri")
                and not Path(parsed.database).is_file())


class Seconds(click.FloatRange):
    """A duration in seconds, from `minimum` up to MAX_SECONDS; nan, which every range
    check lets through, is refused too."""

    name = "seconds"

    def __init__(self, minimum: float = 0.0) -> None:
        super().__init__(min=minimum, max=MAX_SECONDS)

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        seconds = super().convert(value, param, ctx)
        if seconds != seconds:
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        return seconds


def json_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(fn)


def wait_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--wait and --timeout: follow the documents to a terminal state with a progress bar."""
    import functools

    @functools.wraps(fn)
    def checked(*args: Any, **kwargs: Any) -> Any:
        # without --wait nothing waits, so a --timeout would be silently ignored
        if kwargs.get("timeout") is not None and not kwargs.get("wait"):
            raise click.UsageError("--timeout only applies with --wait")
        return fn(*args, **kwargs)

    checked = click.option("--timeout", type=Seconds(), default=None,
                           help="With --wait: give up after this many seconds.")(checked)
    return click.option("--wait", is_flag=True,
                        help="Return only when every document is done or failed.")(checked)


def _dump(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@click.group(cls=NewsdropGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Data folder (SQLite file, embedded broker). Env: NEWSDROP_DATA_DIR.")
@click.option("--database-url", default=None,
              help="sqlite:///PATH or postgresql+psycopg://USER@HOST/DATABASE. "
                   "Env: NEWSDROP_DATABASE_URL.")
@click.option("--broker-url", default=None, help="Celery broker URL. Env: NEWSDROP_BROKER_URL.")
@click.option("--log-level", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@click.version_option(package_name="newsdrop")
@click.pass_context
def main(ctx: click.Context, data_dir: Path | None, database_url: str | None,
         broker_url: str | None, log_level: str) -> None:
    """newsdrop: turn a folder of scraped news articles into a clean, queryable database.

    Drop text dumps or HTML pages into the inbox; they are cleaned, extracted and stored.
    Configuration comes from NEWSDROP_* environment variables and an optional .env file;
    with none set, everything runs embedded (SQLite and a file-based queue in
    ./newsdrop-data).

    \b
    Example:
      newsdrop run                  # watch ./inbox and process what arrives
      newsdrop articles             # list what was extracted
      newsdrop show 1               # one article, its fields and history
    """
    _setup_logging(log_level)
    if ctx.invoked_subcommand not in _SERVICES:
        ctx.with_resource(_guarded_stdout())
    ctx.obj = load_settings(data_dir=data_dir, database_url=database_url,
                            broker_url=broker_url)
    for name, likely in unknown_variables(os.environ):
        log.warning("%s is not a newsdrop setting and is ignored%s", name,
                    f" (did you mean {likely}?)" if likely else "")


# ---------------------------------------------------------------- running


@main.command()
@click.option("--inbox", type=click.Path(path_type=Path), default=None,
              help="Folder to watch (default ./inbox). Env: NEWSDROP_INBOX.")
@click.option("--concurrency", "-c", type=click.IntRange(0, MAX_CONCURRENCY), default=0,
              help="Worker processes (default: number of CPUs).")
@click.pass_context
def run(ctx: click.Context, inbox: Path | None, concurrency: int) -> None:
    """Watch the inbox and process what arrives: watcher and worker in one command.

    \b
    Example:
      newsdrop run
      cp article.txt inbox/ && newsdrop articles
    """
    from worker.service import run_all

    if inbox is not None:
        ctx.obj = ctx.obj.model_copy(update={"inbox": inbox})
    ctx.obj.check_folders()
    rt = _runtime(ctx)
    # made here, so that an inbox that cannot be created is refused before a worker starts
    make_folder(rt.settings.inbox, "inbox", "NEWSDROP_INBOX")
    click.echo(f"newsdrop: watching {rt.settings.inbox.resolve()} "
               f"(database {_safe_url(rt.settings.resolved_database_url)}, "
               f"broker {_safe_url(rt.settings.resolved_broker_url)}); Ctrl-C stops", err=True)
    sys.exit(run_all(rt, concurrency=concurrency, loglevel=_loglevel()))


@main.command()
@click.argument("inbox", type=click.Path(path_type=Path), required=False)
@click.option("--poll/--events", default=None,
              help="Poll the folder instead of waiting for file events (network shares).")
@click.option("--no-event-check", is_flag=True,
              help="Skip the start-up check that file events arrive at all.")
@click.pass_context
def watch(ctx: click.Context, inbox: Path | None, poll: bool | None,
          no_event_check: bool) -> None:
    """Watch INBOX (default NEWSDROP_INBOX or ./inbox) and enqueue each new stable file.

    Scans the inbox at start-up, rescans periodically, and re-enqueues documents whose
    lease expired. Workers run separately (`newsdrop worker`).

    \b
    Example:
      NEWSDROP_BROKER_URL=redis://localhost:6379/0 \\
      NEWSDROP_DATABASE_URL=postgresql+psycopg://newsdrop@db/newsdrop newsdrop watch /srv/inbox
    """
    from worker.service import watch as run_watch

    update: dict[str, Any] = {}
    if inbox is not None:
        update["inbox"] = inbox
    if poll is not None:
        update["poll"] = poll
    ctx.obj = ctx.obj.model_copy(update=update)
    ctx.obj.check_folders()
    rt = _runtime(ctx)
    run_watch(rt, check_events=not no_event_check)


@main.command()
@click.option("--concurrency", "-c", type=click.IntRange(0, MAX_CONCURRENCY), default=0,
              help="Worker processes (default: NEWSDROP_CONCURRENCY or number of CPUs).")
@click.pass_context
def worker(ctx: click.Context, concurrency: int) -> None:
    """Run a worker: takes documents from the broker and runs clean, extract, persist.

    Workers never read the inbox (raw bytes travel through the database), so they can
    run on any machine that reaches the broker and the database.

    \b
    Example:
      newsdrop worker --concurrency 4
    """
    from worker.service import worker as run_worker

    rt = _runtime(ctx)
    run_worker(rt, concurrency=concurrency, loglevel=_loglevel())


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@wait_option
@click.option("--after", "after", type=click.Choice([a.value for a in AfterIntake]),
              default=AfterIntake.KEEP.value, show_default=True,
              help="What to do with each file once it is safely stored.")
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[Path, ...], wait: bool, timeout: float | None,
           after: str) -> None:
    """Take in existing files or folders (a backfill), with a progress bar.

    A worker must be running (`newsdrop worker`, or `newsdrop run`) for them to be
    processed; --wait returns when all are done, duplicate, failed or rejected.

    \b
    Example:
      newsdrop ingest ~/scrapes/2024 --wait
    """
    from db.models import DocumentStatus
    from worker.intake import batches
    from worker.service import folder_files, make_intake

    rt = _runtime(ctx)
    settings = rt.settings.model_copy(update={"after_intake": AfterIntake(after)})
    # each PATH is its own root: symlinks are judged against the folder being ingested,
    # and with --after keep nothing (rejected files included) leaves the user's folder
    groups = [(p if p.is_dir() else p.parent, folder_files([p])) for p in paths]
    outcomes: list[IntakeOutcome] = []
    unsent, send_error, vanished = 0, None, 0
    try:
        with click.progressbar(length=sum(len(f) for _, f in groups), label="taking in",
                               file=sys.stderr) as bar:
            for root, files in groups:
                intake = make_intake(
                    rt, settings, root=root,
                    move_rejected=settings.after_intake is not AfterIntake.KEEP)
                for chunk in batches(files, settings.batch_size):
                    outcomes.extend(intake.take(chunk))
                    bar.update(len(chunk))
                unsent, send_error = unsent + intake.unsent, intake.send_error or send_error
                vanished += intake.vanished
    except KeyboardInterrupt:
        # the batch under way is stored whole or not at all; if it was stored but not
        # sent, the reconciler sends it once its lease runs out, as after a lost message
        raise Interrupted(
            f"interrupted; taken in so far: {_intake_summary(outcomes, vanished)}, and "
            "perhaps the batch under way. The same `newsdrop ingest` takes in the rest: it "
            "skips the files taken in already") from None
    summary = _intake_summary(outcomes, vanished)
    click.echo("taken in: " + summary, err=True)
    if unsent:
        # stored all the same, so nothing is lost; but no worker hears of them for now
        raise Unavailable(_not_sent(settings, unsent, send_error))
    if not wait:
        if any(o.status is DocumentStatus.REJECTED for o in outcomes):
            sys.exit(EXIT_FAILED)
        return
    _wait_with_progress(rt, [o.document_id for o in outcomes if o.document_id is not None],
                        timeout)


def _outcome_word(o: IntakeOutcome) -> str:
    if o.earlier:
        return "rejected earlier"
    return o.status.value if o.status else "already taken"


def _intake_summary(outcomes: list[IntakeOutcome], vanished: int) -> str:
    counts = _count(map(_outcome_word, outcomes))
    if vanished:
        counts["gone before they were read"] = vanished
    return _fmt_counts(counts)


def _wait_with_progress(rt: Any, ids: list[int], timeout: float | None) -> None:
    """Show a progress bar until every id is terminal; exit with a named code."""
    from worker.service import wait_until_done

    with click.progressbar(length=len(ids), label="processing", file=sys.stderr) as bar:
        done_before = [0]

        def progress(done: int) -> None:
            bar.update(done - done_before[0])
            done_before[0] = done

        try:
            finished = wait_until_done(rt, ids, timeout_s=timeout, on_progress=progress)
        except KeyboardInterrupt:
            raise Interrupted(
                "stopped waiting; the documents are stored and the workers go on with them "
                "(`newsdrop status` shows how far they are)") from None
    final = _final_counts(rt, ids)
    click.echo("result: " + _fmt_counts(final), err=True)
    if not finished:
        click.echo("timed out before every document finished; is a worker running?", err=True)
        sys.exit(EXIT_TIMEOUT)
    if final.get("failed") or final.get("rejected"):
        sys.exit(EXIT_FAILED)


def _explain_document(rt: Any, doc: dict[str, Any], as_json: bool) -> None:
    from tasks.errors import NewsdropError
    from tasks.runner import cleaned_for_explain

    if doc["duplicate_of"] is not None:
        click.echo(f"document {doc['id']} is a duplicate of {doc['duplicate_of']}: "
                   f"newsdrop show {doc['duplicate_of']} --explain", err=True)
        sys.exit(EXIT_NOT_FOUND)
    try:
        cleaned = cleaned_for_explain(rt.sessions, doc["id"], options=rt.runner_options)
    except NewsdropError as exc:
        click.echo(f"clean cannot read document {doc['id']}: {exc.message}", err=True)
        sys.exit(EXIT_FAILED)
    if cleaned is None:
        click.echo(f"document {doc['id']} has no stored bytes to explain", err=True)
        sys.exit(EXIT_NOT_FOUND)
    if as_json:
        _dump(cleaned.to_dict())
    else:
        _print_explain(cleaned.to_dict())


def _final_counts(rt: Any, ids: list[int]) -> dict[str, int]:
    from db.engine import reading
    from db.queries import status_counts

    with reading(rt.sessions) as session:
        return status_counts(session, ids)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.option("--jsonl", is_flag=True,
              help="One JSON object per file: the fields plus `path` (with --explain, the "
                   "verdicts as `show --explain --json` prints them, plus `path`).")
@click.option("--explain", is_flag=True, help="Show every line or block, kept or dropped, why.")
@click.pass_context
def extract(ctx: click.Context, paths: tuple[Path, ...], jsonl: bool, explain: bool) -> None:
    """Run clean + extract directly on files: no queue, no database.

    For debugging and evaluation; folders are read recursively. A file over
    NEWSDROP_MAX_FILE_BYTES (20 MiB by default) fails as too large, as in the pipeline.

    \b
    Example:
      newsdrop extract page.html --explain
      newsdrop extract ../shared/eval/dev/*/article.txt --jsonl > pred.jsonl
    """
    from tasks.clean import CleanOptions, clean
    from tasks.document import RawDocument
    from tasks.errors import NewsdropError
    from tasks.extract import extract as run_extract
    from worker.service import folder_files

    options = CleanOptions(max_bytes=_settings(ctx).max_file_bytes)
    failed = found = 0
    for path in folder_files(list(paths)):
        found += 1
        try:
            cleaned = clean(RawDocument(path.read_bytes(), name=path.name), options=options)
            article = run_extract(cleaned)
        except (NewsdropError, OSError) as exc:
            failed += 1
            reason = exc.message if isinstance(exc, NewsdropError) else str(exc)
            if jsonl:
                click.echo(json.dumps({"path": str(path), "error": reason}, ensure_ascii=False))
            else:
                click.echo(f"{path}: {reason}", err=True)
            continue
        if jsonl:
            data = cleaned.to_dict() if explain else article.to_dict()
            click.echo(json.dumps({"path": str(path), **data}, ensure_ascii=False))
            continue
        if len(paths) > 1 or path.is_dir():
            click.secho(f"== {path}", bold=True)
        if explain:
            _print_explain(cleaned.to_dict())
        else:
            _print_article(article.to_dict())
    if not found:
        click.echo(f"no files to extract in {', '.join(map(str, paths))} (hidden files and "
                   "partial downloads are left out, as the watcher leaves them)", err=True)
    if failed:
        sys.exit(EXIT_FAILED)


# ---------------------------------------------------------------- looking at results


def _iso_date(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Accept YYYY-MM-DD or an ISO 8601 time, compared as an instant with each article's
    published_utc (without an offset, UTC)."""
    if value is None:
        return None
    from db.dates import check_bound

    try:
        return check_bound(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from None


#: where documents of the statuses no article can have are listed instead
_LISTED_ELSEWHERE = {
    "duplicate": "a duplicate has no article of its own, its first copy has it: "
                 "`newsdrop status` counts duplicates, and docs/querying.md has the SQL "
                 "that lists each with its first copy",
    "rejected": "a rejected file was never processed, so it has no article: "
                "`newsdrop failures --stage intake` lists rejected files with the reason",
}


class ArticleStatusChoice(click.Choice):
    """The statuses a document holding an article can have. Asked for one it cannot have,
    it says where those documents are listed instead of matching nothing."""

    def __init__(self) -> None:
        from db.pipeline import ArticleStatus

        super().__init__([s.value for s in ArticleStatus])

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        elsewhere = _LISTED_ELSEWHERE.get(str(value).lower())
        if elsewhere is not None:
            self.fail(elsewhere, param, ctx)
        return super().convert(value, param, ctx)


def article_filter_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--since/--until/--author/--site/--lang/--status, shared by articles, search, export."""
    options = [
        click.option("--since", callback=_iso_date,
                     help="Published on or after (YYYY-MM-DD or ISO 8601; UTC unless it "
                          "has an offset)."),
        click.option("--until", callback=_iso_date,
                     help="Published on or before (a date includes that whole UTC day)."),
        click.option("--author", help="Author name contains this (any case)."),
        click.option("--site", help="Site name contains this (any case)."),
        click.option("--lang", help="Language code, e.g. en (any case)."),
        click.option("--status", "doc_status", type=ArticleStatusChoice(),
                     help="Status of the article's document: done; queued or processing "
                          "while it runs again (reprocess, retry); failed if that run "
                          "failed (it keeps the article it had)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _article_filter(since: str | None, until: str | None, author: str | None,
                    site: str | None, lang: str | None, doc_status: str | None,
                    limit: int | None = None, offset: int = 0) -> Any:
    from db.queries import ArticleFilter

    _check_window(since, until)
    return ArticleFilter(since=since, until=until, author=author, site=site, language=lang,
                         status=doc_status, limit=limit, offset=offset)


def _check_window(since: str | None, until: str | None) -> None:
    from db.dates import check_window

    try:
        check_window(since, until, names=("--since", "--until"))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


@main.command()
@article_filter_options
@click.option("--limit", type=click.IntRange(1, MAX_SQL_INT), default=50, show_default=True)
@click.option("--offset", type=OFFSET, default=0)
@json_option
@click.pass_context
def articles(ctx: click.Context, since: str | None, until: str | None, author: str | None,
             site: str | None, lang: str | None, doc_status: str | None, limit: int,
             offset: int, as_json: bool) -> None:
    """List extracted articles, newest published first.

    --json prints the items that the HTTP API's /articles returns.

    \b
    Example:
      newsdrop articles --since 2024-01-01 --author "Jane Doe"
      newsdrop articles --site reuters --lang en --limit 20 --offset 20 --json
    """
    from db.engine import reading
    from db.queries import list_articles
    from worker.render import article_summary, listing_when

    rt = _runtime(ctx, migrate_schema=False)
    f = _article_filter(since, until, author, site, lang, doc_status, limit, offset)
    with reading(rt.sessions) as session:
        items = [article_summary(a, d) for a, d in list_articles(session, f)]
    if as_json:
        _dump(items)
        return
    if not items:
        click.echo("no articles match" if (since or until or author or site or lang
                                            or doc_status or offset) else "no articles yet",
                   err=True)
        return
    for it in items:
        when = listing_when(it["published_at"])
        click.echo(f"{it['id']:>6}  {when:<17}  {_cut(it['title'] or '(no title)', 70)}")


class DashTextCommand(click.Command):
    """A command whose text argument may start with '-' (`newsdrop search -nissan`): a
    word with one leading '-' that is none of its options is read as text, where click
    would refuse it as an unknown option. A word starting with '--' stays an option, so
    a mistyped one is still reported; after '--' everything is text, as usual."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        takes_value: dict[str, bool] = {}
        for param in self.get_params(ctx):
            if isinstance(param, click.Option):
                for name in (*param.opts, *param.secondary_opts):
                    takes_value[name] = not (param.is_flag or param.count)
        options: list[str] = []
        texts: list[str] = []
        rest = iter(args)
        for arg in rest:
            if arg == "--":
                texts.extend(rest)
                break
            name = arg.partition("=")[0] if arg.startswith("--") else arg
            if name in takes_value:
                options.append(arg)
                value = next(rest, None) if takes_value[name] and name == arg else None
                if value is not None:  # the option's value, whatever it starts with
                    options.append(value)
            elif arg.startswith("--"):
                options.append(arg)
            else:
                texts.append(arg)
        return super().parse_args(ctx, [*options, "--", *texts] if texts else options)


@main.command(cls=DashTextCommand)
@click.argument("query")
@article_filter_options
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--offset", type=OFFSET, default=0)
@json_option
@click.pass_context
def search(ctx: click.Context, query: str, since: str | None, until: str | None,
           author: str | None, site: str | None, lang: str | None, doc_status: str | None,
           limit: int, offset: int, as_json: bool) -> None:
    """Full-text search over titles, subtitles and bodies, best match first.

    Every word must appear (in any order); title matches rank above body matches.
    Punctuation and operators are searched as plain text: quotes, *, NEAR, AND/OR,
    a leading - do nothing special, so `newsdrop search -nissan` looks for "nissan"
    (a query starting with -- goes after --: `newsdrop search -- --nissan`). Ids are
    document ids, as `newsdrop show` takes.

    \b
    Example:
      newsdrop search "harbour strike" --since 2024-01-01
      newsdrop search election --site times --json
    """
    from db.engine import reading
    from db.search import InvalidQuery
    from db.search import search as run_search
    from worker.render import listing_when

    rt = _runtime(ctx, migrate_schema=False)
    f = _article_filter(since, until, author, site, lang, doc_status)
    try:
        with reading(rt.sessions) as session:
            hits = run_search(session, query, filters=f, limit=limit, offset=offset)
    except InvalidQuery as exc:
        raise click.UsageError(exc.message) from exc
    if as_json:
        _dump([h.to_dict() for h in hits])
        return
    if not hits:
        click.echo(f"no articles match {query!r}", err=True)
        return
    for h in hits:
        click.echo(click.style(f"{h.document_id:>6}", bold=True)
                   + f"  {listing_when(h.published_at):<17}  "
                   f"{_cut(h.title or '(no title)', 70)}")
        snippet = "".join(click.style(t, fg="yellow", bold=True) if hit else t
                          for t, hit in h.snippet_parts())
        click.echo("        " + " ".join(snippet.split()))


@main.command()
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl",
              show_default=True, help="JSON Lines (lists kept) or CSV (lists as JSON).")
@article_filter_options
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
              help="Write to this file (with a progress bar) instead of stdout; - is "
                   "stdout.")
@click.pass_context
def export(ctx: click.Context, fmt: str, since: str | None, until: str | None,
           author: str | None, site: str | None, lang: str | None, doc_status: str | None,
           output: Path | None) -> None:
    """Export every matching article as JSON Lines or CSV, streamed in constant memory.

    Each record holds the document id, source path, sha256 and status, then every
    article field. With -o the file appears only once complete (through a symlink, the
    file the link points to is replaced; a device or FIFO is written in place, and
    /dev/stdout is standard output, as - is); a file that cannot be created is a usage
    error (exit 2), and output that cannot be written to the end (a full disk) ends the
    export with exit 1, leaving an earlier file as it was and no partial one. In CSV, a
    text cell starting with =, +, -, @, a tab or a carriage return gets a leading ' so
    that a spreadsheet shows it as text rather than running it as a formula. The export
    reads one consistent snapshot and never holds up the workers.

    \b
    Example:
      newsdrop export -o articles.jsonl
      newsdrop export --format csv --since 2024-01-01 --lang en > articles.csv
    """
    from db.engine import reading
    from db.export import ExportFormat, count_articles, export_articles
    from worker.output_file import open_output

    rt = _runtime(ctx, migrate_schema=False)
    f = _article_filter(since, until, author, site, lang, doc_status)
    if output is None or str(output) == "-":
        # a write that fails ends the command through _GuardedOutput
        with reading(rt.sessions) as session:
            export_articles(session, f, sys.stdout, ExportFormat(fmt))
        return
    try:
        out = open_output(output, newline="")
    except OSError as exc:  # no such folder, not allowed: the option names a bad place
        raise click.BadParameter(f"cannot write {output}: {exc.strerror or exc}",
                                 ctx=ctx, param_hint="'-o' / '--output'") from exc
    try:
        # out puts the file in place only if this whole block succeeds
        with out as stream, reading(rt.sessions) as session:
            total = count_articles(session, f)
            with click.progressbar(length=total, label="exporting", file=sys.stderr) as bar:
                step = [0]

                def tick() -> None:  # redrawing per row would cost more than the row
                    step[0] += 1
                    if step[0] % 200 == 0 or step[0] == total:
                        bar.update(step[0] - bar.pos)

                n = export_articles(session, f, stream, ExportFormat(fmt), on_row=tick)
    except OSError as exc:
        raise OutputCutShort(f"cannot write {output}: {exc.strerror or exc}") from exc
    click.echo(f"exported {counted(n, 'article')} to {output}", err=True)


@main.command()
@click.argument("ref")
@json_option
@click.option("--explain", is_flag=True, help="Every input line, kept or dropped, and why.")
@click.pass_context
def show(ctx: click.Context, ref: str, as_json: bool, explain: bool) -> None:
    """Show one document by id or sha256 prefix: its article and processing history.

    REF is a document id, or the first 6 or more hex digits of the document's sha256.
    Digits that are no document's id are tried as a sha256 prefix too; a prefix that
    several hashes start with is refused, naming some of them.

    \b
    Example:
      newsdrop show 42
      newsdrop show 3f2a9c --json
    """
    from db.engine import reading
    from db.errors import QueryError
    from db.queries import article_of, find_document, stage_runs
    from worker.render import document_detail

    rt = _runtime(ctx, migrate_schema=False)
    with reading(rt.sessions) as session:
        try:
            doc = find_document(session, ref)
        except QueryError as exc:  # ambiguous, or no id or sha256 prefix at all
            raise click.BadParameter(exc.message, ctx=ctx, param_hint="REF") from exc
        if doc is None:
            click.echo(f"no document {ref!r}", err=True)
            sys.exit(EXIT_NOT_FOUND)
        data = document_detail(doc, article_of(session, doc.id), stage_runs(session, doc.id))
    if explain:
        _explain_document(rt, data["document"], as_json)
        return
    if as_json:
        _dump(data)
        return
    d = data["document"]
    click.secho(f"document {d['id']}  {d['status']}", bold=True)
    for key in ("source_path", "sha256", "size_bytes", "stage", "stage_state", "attempts",
                "duplicate_of", "error_kind", "last_error", "received_at", "pass_queued_at",
                "finished_at"):
        if key == "pass_queued_at" and d[key] == d["received_at"]:
            continue  # its first pass: queued when it was taken in
        if d.get(key) not in (None, ""):
            click.echo(f"  {key}: {d[key]}")
    if data["article"]:
        click.echo()
        _print_article(data["article"])
    if data["history"]:
        click.echo()
        click.secho("history", bold=True)
        earlier_pass = False
        for r in data["history"]:
            if _before(r["started_at"], d["pass_queued_at"]):
                earlier_pass = True
            elif earlier_pass:  # attempts count from 1 again in the pass that follows
                click.echo(f"  -- sent back by retry or reprocess at {d['pass_queued_at']}")
                earlier_pass = False
            err = f"  {r['error']}" if r["error"] else ""
            click.echo(f"  {r['stage']:<8} #{r['attempt']} {r['state']:<9} "
                       f"wait {_or_dash(r['wait_ms'])} ms, "
                       f"ran {milliseconds(r['duration_ms'])} ms on {r['worker']}{err}")


def _or_dash(value: object) -> str:
    return "-" if value is None else str(value)


def _before(instant: str | None, other: str | None) -> bool:
    """Whether ISO 8601 `instant` comes before `other` (False when either is unknown)."""
    if instant is None or other is None:
        return False
    return datetime.fromisoformat(instant) < datetime.fromisoformat(other)


@main.command()
@json_option
@click.option("--watch", "live", is_flag=True, help="Refresh in place until Ctrl-C.")
@click.option("--interval", type=Seconds(0.2), default=2.0, show_default=True,
              help="Seconds between refreshes with --watch.")
@click.pass_context
def status(ctx: click.Context, as_json: bool, live: bool, interval: float) -> None:
    """Queue depth, workers, documents per state and stage, throughput, latency, failures.

    Queue depth and workers are asked of the broker with a one-second timeout ("unknown"
    when it does not answer); everything else comes from the database, so it survives
    restarts. Stage run times are per document, over the last 15 minutes: the runs and
    their average, with a p95 over each stage's latest 5,000 runs; persist, whose batch
    write is not timed per document, is left out of that line. --watch refreshes in
    place with a throughput history.

    \b
    Example:
      newsdrop status
      newsdrop status --watch --interval 5
      newsdrop status --json | jq .documents
    """
    from worker.monitor import collect_status, render_status, watch_status

    rt = _runtime(ctx, migrate_schema=False)
    if as_json:
        _dump(collect_status(rt))
    elif live:
        watch_status(rt, interval_s=interval)
    else:
        click.echo(render_status(collect_status(rt)))


def _since_time(_ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """An ISO 8601 time (UTC unless it says its zone, as everywhere in newsdrop), or an
    age like 30m, 2h, 7d."""
    import re
    from datetime import UTC, timedelta

    if value is None:
        return None
    age = re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", value)
    if age:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[age.group(2)]
        try:
            return datetime.now(UTC) - timedelta(**{unit: int(age.group(1))})
        except (OverflowError, ValueError):  # before year 1, or too many digits for int
            raise click.BadParameter(f"{value!r} reaches back before the year 1",
                                     param=param) from None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is neither an ISO 8601 time "
                                 "(2024-05-01T08:00) nor an age (30m, 2h, 7d)",
                                 param=param) from None
    try:
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is in the year 0 in UTC
        raise click.BadParameter(f"{value!r} is beyond the dates UTC can hold",
                                 param=param) from None


@main.command()
@click.option("--stage", type=click.Choice(["intake", "clean", "extract", "persist"]),
              help="Stage it stopped at; intake: rejected when taken in.")
@click.option("--kind", help="Error kind, e.g. undecodable, empty, too_large, transient.")
@click.option("--since", callback=_since_time,
              help="Finished on or after: ISO 8601 time, or an age such as 2h or 7d.")
@click.option("--limit", type=click.IntRange(1, MAX_SQL_INT), default=50, show_default=True)
@json_option
@click.pass_context
def failures(ctx: click.Context, stage: str | None, kind: str | None, since: Any, limit: int,
             as_json: bool) -> None:
    """Documents that failed or were rejected, newest first, with their reasons.

    \b
    Example:
      newsdrop failures --stage clean
      newsdrop failures --stage intake --kind too_large
      newsdrop failures --since 2h --kind undecodable --json
    """
    from db.engine import reading
    from db.queries import FailureFilter
    from db.queries import failures as query_failures
    from worker.render import document_dict

    rt = _runtime(ctx, migrate_schema=False)
    with reading(rt.sessions) as session:
        docs = [document_dict(d) for d in query_failures(
            session, FailureFilter(stage=stage, kind=kind, since=since, limit=limit))]
    if as_json:
        _dump(docs)
        return
    if not docs:
        click.echo("no failures", err=True)
    for d in docs:
        click.echo(f"{d['id']:>6}  {d['status']:<8} {d['stage'] or 'intake':<8} "
                   f"{d['error_kind'] or '':<14} {d['source_path']}: {d['last_error']}")


def _known_ids(rt: Any, ids: list[int]) -> dict[int, tuple[str, str | None]]:
    """(status, stage) of the named documents; warns about ids that do not exist."""
    from db.engine import reading
    from db.queries import status_of

    with reading(rt.sessions) as session:
        known = status_of(session, ids)
    missing = [i for i in ids if i not in known]
    if missing:
        click.echo(f"no such {'document' if len(missing) == 1 else 'documents'}: "
                   + " ".join(map(str, missing)), err=True)
    return known


@main.command()
@click.argument("ids", nargs=-1, type=DOCUMENT_ID)
@click.option("--all-failed", is_flag=True, help="Retry every failed document.")
@wait_option
@click.pass_context
def retry(ctx: click.Context, ids: tuple[int, ...], all_failed: bool, wait: bool,
          timeout: float | None) -> None:
    """Send failed documents back to the stage that failed, with fresh attempts.

    Prints how many went back to each stage; named documents that are not failed are
    listed and left alone.

    \b
    Example:
      newsdrop retry 17 18
      newsdrop retry --all-failed --wait
    """
    from db.engine import reading
    from db.queries import failed_ids, status_of
    from worker.operations import retry_failed

    if not ids and not all_failed:
        raise click.UsageError("name document ids, or pass --all-failed")
    rt = _runtime(ctx)
    if ids:
        known = _known_ids(rt, list(ids))
    else:
        with reading(rt.sessions) as session:
            known = status_of(session, failed_ids(session))
    not_failed = [f"{i} ({st})" for i, (st, _) in known.items() if st != "failed"]
    if not_failed:
        click.echo("not failed, left alone: " + ", ".join(not_failed), err=True)
    sent = retry_failed(rt, list(known) if ids else None)
    per_stage = _count(stage or "clean" for st, stage in known.values() if st == "failed")
    _report_requeued(rt, sent, f"({_fmt_counts(per_stage)})",
                     missing=bool(ids) and len(known) < len(set(ids)), wait=wait,
                     timeout=timeout)


@main.command()
@click.argument("ids", nargs=-1, type=DOCUMENT_ID)
@click.option("--all", "everything", is_flag=True,
              help="Every done or failed document (with no other choice).")
@click.option("--stale", is_flag=True,
              help="Documents whose article was made by an older extractor version.")
@click.option("--since", callback=_iso_date,
              help="Received on or after (YYYY-MM-DD or ISO 8601; UTC unless it has an "
                   "offset).")
@click.option("--until", callback=_iso_date,
              help="Received on or before (a date includes that whole UTC day).")
@wait_option
@click.pass_context
def reprocess(ctx: click.Context, ids: tuple[int, ...], everything: bool, stale: bool,
              since: str | None, until: str | None, wait: bool, timeout: float | None) -> None:
    """Run clean, extract and persist again from the stored raw bytes.

    Done and failed documents are reset to the clean stage and re-enqueued; a worker
    must be running. Prints how many, by their status before, and why any named
    document was left alone.

    IDS, --stale and --since/--until narrow the choice together: a document must meet
    each one given. --since/--until compare when a document was received, read as
    `articles` reads its dates: a time without an offset is UTC, and an --until date
    alone takes in that whole day. --all takes every done or failed document and
    combines with none of them.

    \b
    Example:
      newsdrop reprocess --stale --wait   # after upgrading newsdrop's extractor
      newsdrop reprocess --since 2024-05-01 --until 2024-05-31
      newsdrop reprocess 17 18
    """
    from db.engine import reading
    from db.queries import reprocess_candidates, reprocess_exclusions, status_of
    from tasks.version import EXTRACTOR_VERSION
    from worker.operations import reprocess as run_reprocess

    if not (ids or everything or stale or since or until):
        raise click.UsageError("name document ids, or pass --all, --stale, --since or --until")
    _check_window(since, until)
    if everything and (ids or stale or since or until):
        # --all would silently win over the narrower choice, or be silently ignored
        raise click.UsageError("--all takes every done or failed document: leave it out to "
                               "choose by IDS, --stale or --since/--until")
    rt = _runtime(ctx)
    stale_by = EXTRACTOR_VERSION if stale else None
    excluded: dict[int, tuple[str, str | None]] = {}
    if ids:
        known = _known_ids(rt, list(ids))
        with reading(rt.sessions) as session:
            excluded = reprocess_exclusions(session, list(known), since=since, until=until,
                                            not_extracted_by=stale_by)
    else:
        with reading(rt.sessions) as session:
            known = status_of(session, reprocess_candidates(
                session, since=since, until=until, not_extracted_by=stale_by))
    sent = run_reprocess(rt, ids=list(known) if ids else None, stale=stale, since=since,
                         until=until)
    sent_ids = set(sent)
    # a document whose state moved between the two looks is left alone for its status
    reasons = {i: excluded.get(i, ("not done or failed", st))
               for i, (st, _) in known.items() if i not in sent_ids}
    for reason in dict.fromkeys(r for r, _ in reasons.values()):
        listed = [f"{i} ({detail})" if detail else str(i)
                  for i, (r, detail) in reasons.items() if r == reason]
        click.echo(f"{reason}, left alone: " + ", ".join(listed), err=True)
    before = _count(st for i, (st, _) in known.items() if i in sent_ids)
    _report_requeued(rt, sent, f"for every stage (were {_fmt_counts(before)})",
                     missing=bool(ids) and len(known) < len(set(ids)), wait=wait,
                     timeout=timeout)


def _report_requeued(rt: Any, sent: list[int], detail: str, *, missing: bool, wait: bool,
                     timeout: float | None) -> None:
    """Say what went back to the workers; exit 3 if a named id does not exist; --wait."""
    click.echo(f"re-enqueued {counted(len(sent), 'document')}" + (f" {detail}" if sent else ""),
               err=True)
    if missing:
        sys.exit(EXIT_NOT_FOUND)
    if wait:
        _wait_with_progress(rt, sent, timeout)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback needs NEWSDROP_API_TOKEN.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Serve a read-only HTTP API: /status, /articles, /articles/{ref}, /search, /metrics.

    /articles/{ref} takes an id or a sha256 prefix, as `show` does; /metrics is in
    Prometheus format; OpenAPI docs are at /docs. When NEWSDROP_API_TOKEN is set,
    clients must send `Authorization: Bearer <token>`; it is required to listen on any
    address other than loopback, and must be at least 16 characters long (not a
    placeholder such as change-me, nor a few characters repeated).

    \b
    Example:
      newsdrop serve                       # http://127.0.0.1:8000/docs
      curl 'http://127.0.0.1:8000/search?q=harbour+strike&limit=5'
      NEWSDROP_API_TOKEN=$(openssl rand -hex 24) newsdrop serve --host 0.0.0.0
    """
    from worker.api import ExposureError, check_exposure, check_token, listen
    from worker.api import serve as run_serve

    secret = _settings(ctx).api_token
    token = secret.get_secret_value() if secret is not None else None
    try:
        check_token(token)
        check_exposure(host, token)
    except ExposureError as exc:
        raise BadConfiguration(str(exc)) from exc
    rt = _runtime(ctx, migrate_schema=False)
    try:
        sockets = listen(host, port)
    except OSError as exc:
        raise BadConfiguration(f"cannot listen on {host}:{port}: {exc.strerror or exc}; "
                               "choose another --port or --host") from exc
    click.echo(f"newsdrop: serving http://{host}:{port} (docs at /docs, "
               f"{'bearer token required' if token else 'no token'}); Ctrl-C stops", err=True)
    run_serve(rt, host=host, port=port, token=token, log_level=_loglevel(), sockets=sockets)


@main.command()
@click.pass_context
def reconcile(ctx: click.Context) -> None:
    """Re-enqueue documents whose state has not moved for longer than the lease, now.

    Documents whose message the broker refused when they were queued (`ingest`,
    `retry` or `reprocess` with the broker down) are sent too, whatever the lease. The
    watcher does this at start-up and every NEWSDROP_RECONCILE_INTERVAL_S.

    \b
    Example:
      newsdrop reconcile                        # stuck for over NEWSDROP_LEASE_S (300 s)
      NEWSDROP_LEASE_S=3600 newsdrop reconcile  # only those stuck for over an hour
    """
    from worker.reconciler import reconcile as run_reconcile
    from worker.service import enqueue

    rt = _runtime(ctx)
    n = run_reconcile(rt.sessions, rt.settings.lease_s, enqueue)
    click.echo(f"re-enqueued {counted(n, 'document')}", err=True)


# ---------------------------------------------------------------- database


@main.group()
def db() -> None:
    """Database schema commands: apply the migrations, or say which revision is applied.

    `run`, `watch`, `worker` and the commands that change documents apply the migrations
    themselves; the read commands never do.

    \b
    Example:
      newsdrop db current     # the database's revision and the latest one
      newsdrop db upgrade     # bring the schema to the latest revision
    """


@db.command()
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Apply Alembic migrations up to the latest schema.

    \b
    Example:
      NEWSDROP_DATABASE_URL=postgresql+psycopg://newsdrop@db/newsdrop newsdrop db upgrade
    """
    from db import migrate

    rt = _runtime(ctx, migrate_schema=False, check_schema=False)
    rev = migrate.upgrade(rt.engine)
    click.echo(f"database at revision {rev}")


@db.command()
@click.pass_context
def current(ctx: click.Context) -> None:
    """Print the schema revision of the database and the latest one known.

    \b
    Example:
      newsdrop db current
    """
    from db import migrate

    settings = _settings(ctx)
    if _sqlite_file_missing(settings.resolved_database_url):
        # a diagnostic creates nothing: say there is no database yet
        click.echo(f"database none (no file at {_safe_url(settings.resolved_database_url)}), "
                   f"latest {migrate.head_revision()}")
        return
    rt = _runtime(ctx, migrate_schema=False, check_schema=False)
    current = migrate.current_revision(rt.engine) or "none (no newsdrop schema yet)"
    click.echo(f"database {current}, latest {migrate.head_revision()}")


# ---------------------------------------------------------------- rendering


def _loglevel() -> str:
    return logging.getLevelName(logging.getLogger().level)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


def _count(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def _cut(text: str, width: int) -> str:
    """`text` in at most `width` characters, an ellipsis marking where it was cut."""
    return text if len(text) <= width else text[:width - 1] + "…"


def _fmt_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "nothing"


def _print_article(a: dict[str, Any]) -> None:
    """Every field of the extract contract (null shown as -), then the body."""
    for key in ("title", "subtitle", "authors", "published_at", "updated_at",
                "reading_time_minutes", "image_caption", "photo_credit", "language",
                "word_count"):
        value = a.get(key)
        if isinstance(value, list):
            value = "; ".join(str(v) for v in value)
        click.echo(f"{key}: {'-' if value in (None, '') else value}")
    for key in ("url", "canonical_url", "site_name", "description", "tags"):
        if a.get(key) not in (None, "", []):  # stated by HTML pages only
            value = a[key]
            click.echo(f"{key}: {'; '.join(value) if isinstance(value, list) else value}")
    related = a.get("related") or []
    click.echo(f"related: {len(related)}")
    for headline in related:
        click.echo(f"  - {headline}")
    click.echo(f"extractor_version: {a.get('extractor_version')}")
    click.echo(f"paragraphs: {len(a.get('paragraphs') or [])}")
    click.echo()
    click.echo(a.get("body") or "")


def _print_explain(cleaned: dict[str, Any]) -> None:
    """Every block with its verdict: + kept as body, - dropped, with the evidence."""
    click.echo(f"format {cleaned.get('format')}, encoding {cleaned.get('encoding')}, "
               f"source {cleaned.get('source_key') or '-'}")
    for b in cleaned.get("blocks", []):
        kept = b["label"] == "body"
        mark = click.style("+", fg="green") if kept else click.style("-", fg="red")
        text = b["text"].replace("\n", " ")
        if len(text) > 90:
            text = text[:87] + "..."
        click.echo(f"{mark} {b['label']:<12} {text}")
        if b.get("reason"):
            click.echo(f"    {b['reason']}")


if __name__ == "__main__":  # pragma: no cover
    main()
