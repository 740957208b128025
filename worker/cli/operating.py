"""Commands that watch over and steer the pipeline: status, failures, retry, reprocess,
delete, serve, and the database schema."""

from __future__ import annotations

import sys
from typing import Any

import click

from db.bounds import MAX_SQL_INT
from worker.cli.app import log_level_name, main, runtime_for, settings_for, sqlite_file_missing
from worker.cli.errors import (
    EXIT_FAILED,
    EXIT_NOT_FOUND,
    BadConfiguration,
    Interrupted,
    safe_url,
)
from worker.cli.output import count_values, dump_json, format_counts
from worker.cli.params import (
    DOCUMENT_ID,
    Seconds,
    check_window,
    iso_date,
    json_option,
    since_time,
    wait_option,
)
from worker.cli.progress import wait_with_progress
from worker.wording import counted


@main.command()
@json_option
@click.option("--watch", "live", is_flag=True,
              help="Refresh in place until Ctrl-C (into a pipe or file: one after another).")
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
    from click.core import ParameterSource

    from worker.monitor import collect_status, render_status, watch_status

    # either would be silently ignored
    if ctx.get_parameter_source("interval") is not ParameterSource.DEFAULT and not live:
        raise click.UsageError("--interval only applies with --watch")
    if as_json and live:
        raise click.UsageError("--json prints the status once: leave out --watch")
    rt = runtime_for(ctx, migrate_schema=False)
    if as_json:
        dump_json(collect_status(rt))
    elif live:
        watch_status(rt, interval_s=interval)
    else:
        click.echo(render_status(collect_status(rt)))


@main.command()
@click.option("--stage", type=click.Choice(["intake", "clean", "extract", "persist"]),
              help="Stage it stopped at; intake: rejected when taken in.")
@click.option("--kind", help="Error kind (any case), e.g. undecodable, empty, too_large, "
                             "not_an_article; one no failure has lists those they have.")
@click.option("--since", callback=since_time,
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
    from db.queries import FailureFilter, failure_kinds
    from db.queries import failures as query_failures
    from worker.render import document_dict

    kind = kind.lower() if kind else None  # kinds are written in lowercase
    rt = runtime_for(ctx, migrate_schema=False)
    with reading(rt.sessions) as session:
        docs = [document_dict(d) for d in query_failures(
            session, FailureFilter(stage=stage, kind=kind, since=since, limit=limit))]
        kinds = failure_kinds(session) if kind and not docs and not as_json else []
    if as_json:
        dump_json(docs)
        return
    if kind and kind not in kinds and kinds:
        # a kind no failure has: a typo, most often
        click.echo(f"no failures of kind {kind!r}; the failures' kinds are "
                   + ", ".join(kinds), err=True)
    elif not docs:
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
    listed and left alone. --all-failed leaves out, and counts, the failures this
    extractor version recorded that its rules would repeat on the same bytes (empty,
    binary, undecodable, not_an_article): name their ids to retry them anyway;
    `reprocess --stale` gives them to a newer extractor.

    \b
    Example:
      newsdrop retry 17 18
      newsdrop retry --all-failed --wait
    """
    from db.engine import reading
    from db.queries import failed_ids, repeatable_failures, status_of
    from tasks.errors import NO_ARTICLE_KINDS
    from tasks.version import EXTRACTOR_VERSION
    from worker.operations import retry_failed

    if not ids and not all_failed:
        raise click.UsageError("name document ids, or pass --all-failed")
    if ids and all_failed:
        # one of the two would be silently ignored
        raise click.UsageError("--all-failed retries every failed document: leave it out to "
                               "retry the documents named")
    rt = runtime_for(ctx, create=False)
    if ids:
        known = _known_ids(rt, list(ids))
    else:
        with reading(rt.sessions) as session:
            repeat = repeatable_failures(session, NO_ARTICLE_KINDS, EXTRACTOR_VERSION)
            known = status_of(session, [i for i in failed_ids(session) if i not in repeat])
        if repeat:
            click.echo(f"left alone {counted(len(repeat), 'failure')} that this extractor "
                       "would repeat on the same bytes "
                       f"({format_counts(count_values(repeat.values()))}): name the ids to "
                       "retry them anyway", err=True)
    not_failed = [f"{i} ({st})" for i, (st, _) in known.items() if st != "failed"]
    if not_failed:
        click.echo("not failed, left alone: " + ", ".join(not_failed), err=True)
    rejected = [i for i, (st, _) in known.items() if st == "rejected"]
    if rejected:
        _how_to_take_in_again(rt, rejected)
    sent = retry_failed(rt, list(known))
    per_stage = count_values(stage or "clean" for st, stage in known.values() if st == "failed")
    _report_requeued(rt, sent, f"({format_counts(per_stage)})",
                     missing=bool(ids) and len(known) < len(set(ids)), wait=wait,
                     timeout=timeout)


@main.command()
@click.argument("ids", nargs=-1, type=DOCUMENT_ID)
@click.option("--all", "everything", is_flag=True,
              help="Every done or failed document (with no other choice).")
@click.option("--stale", is_flag=True,
              help="Documents an older extractor version ran: the article it made, or "
                   "its finding that the bytes hold none (not_an_article, empty…).")
@click.option("--since", callback=iso_date,
              help="Received on or after (YYYY-MM-DD or ISO 8601, UTC unless it has an "
                   "offset; or an age: 30m, 2h, 7d).")
@click.option("--until", callback=iso_date,
              help="Received on or before (a date includes that whole UTC day; an age "
                   "too).")
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
    from worker.operations import STALE
    from worker.operations import reprocess as run_reprocess

    if not (ids or everything or stale or since or until):
        raise click.UsageError("name document ids, or pass --all, --stale, --since or --until")
    check_window(since, until)
    if everything and (ids or stale or since or until):
        # --all would silently win over the narrower choice, or be silently ignored
        raise click.UsageError("--all takes every done or failed document: leave it out to "
                               "choose by IDS, --stale or --since/--until")
    rt = runtime_for(ctx, create=False)
    stale_by = STALE if stale else None
    excluded: dict[int, tuple[str, str | None]] = {}
    if ids:
        known = _known_ids(rt, list(ids))
        with reading(rt.sessions) as session:
            excluded = reprocess_exclusions(session, list(known), since=since, until=until,
                                            stale=stale_by)
    else:
        with reading(rt.sessions) as session:
            known = status_of(session, reprocess_candidates(
                session, since=since, until=until, stale=stale_by))
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
    before = count_values(st for i, (st, _) in known.items() if i in sent_ids)
    _report_requeued(rt, sent, f"for every stage (were {format_counts(before)})",
                     missing=bool(ids) and len(known) < len(set(ids)), wait=wait,
                     timeout=timeout)


@main.command()
@click.argument("refs", nargs=-1, metavar="REF...", required=True)
@click.option("--yes", "-y", is_flag=True,
              help="Delete without asking (needed where no terminal can ask).")
@click.pass_context
def delete(ctx: click.Context, refs: tuple[str, ...], yes: bool) -> None:
    """Delete documents: their stored bytes, article and processing history (their stage
    runs stay only as what /metrics counts: stage, outcome and times, no error text).

    REF is read as `show` reads it: a document id, the first 6 or more hex digits of its
    sha256, or its file (its source_path, or the file as the shell names it). A file
    names every edition taken in from it. Digits are an id only: an id that names no
    document is never read as the start of a hash.

    Duplicates of a deleted document (the same bytes under other names) go with it. A
    document a worker is processing is left alone: run the command again once it is
    finished. What stays of a document taken in is its file's name, size and mtime, with
    status `deleted`, so that the watcher does not take that very file in again while
    it sits unchanged in the inbox; the same bytes dropped again (or the file named to
    `ingest`) are a new document. Files are not touched. Asks first, naming the files,
    unless --yes is given.

    Exits 1 if a document was left alone because a worker held it, or the question was
    answered no (nothing is deleted then), 3 if a REF names no document (the others are
    deleted).

    \b
    Example:
      newsdrop delete 17 18
      newsdrop delete inbox/wire/2024-05-01-strike.txt
      newsdrop failures --kind empty --limit 9999 --json | jq '.[].id' | xargs -r newsdrop delete -y
    """
    from db.engine import reading, transaction
    from db.queries import AmbiguousReference, source_paths, status_of
    from db.removal import delete_documents, duplicates_of
    from worker.cli.references import documents_named, what_ref_is

    if not yes and not _can_ask():
        raise click.UsageError("no terminal to ask on: pass --yes to delete without asking")
    rt = runtime_for(ctx, create=False)
    with reading(rt.sessions) as session:
        try:
            ids, unknown = documents_named(session, refs, rt.settings)
        except AmbiguousReference as exc:
            raise click.BadParameter(exc.message, ctx=ctx, param_hint="REF") from exc
        known = status_of(session, ids)
    for ref in unknown:
        click.echo(f"no document {ref!r} ({what_ref_is(ref, 'delete')})", err=True)
    # what the question counts: a document deleted before or held by a worker is left
    # alone, and said so afterwards
    chosen = {i: st for i, (st, _) in known.items() if st not in ("deleted", "processing")}
    if chosen and not yes:
        with reading(rt.sessions) as session:
            duplicates = len(duplicates_of(session, list(chosen), exclude=set(ids)))
            names = source_paths(session, list(chosen)[:_NAMED_IN_QUESTION])
        for doc_id, name in names.items():  # what the person means to delete, by name
            click.echo(f"{doc_id:>6}  {chosen[doc_id]:<9} {name}", err=True)
        if len(chosen) > len(names):
            click.echo(f"        and {len(chosen) - len(names)} more", err=True)
        try:
            sure = click.confirm(f"Delete {counted(len(chosen), 'document')} "
                                 f"({format_counts(count_values(chosen.values()))})"
                                 f"{_and_duplicates(len(chosen), duplicates)}, with their "
                                 "bytes, articles and history?", err=True)
        except click.Abort:  # Ctrl-C, or the input ended, at the question
            raise Interrupted("interrupted: nothing deleted") from None
        if not sure:
            click.echo("nothing deleted", err=True)
            sys.exit(EXIT_FAILED)
    with transaction(rt.sessions) as session:
        done = delete_documents(session, ids)
    if done.deleted_before:
        click.echo("deleted before: " + " ".join(map(str, done.deleted_before)), err=True)
    if done.busy:
        click.echo("being processed, left alone: " + " ".join(map(str, done.busy)), err=True)
    click.echo(f"deleted {counted(len(done.deleted), 'document')}"
               f"{_and_duplicates(len(done.deleted), len(done.duplicates))}", err=True)
    if done.missing:  # deleted whole (a rejected file) by another command meanwhile
        click.echo("no longer there: " + " ".join(map(str, done.missing)), err=True)
    if unknown or done.missing:
        sys.exit(EXIT_NOT_FOUND)
    if done.busy:
        sys.exit(EXIT_FAILED)


def _how_to_take_in_again(rt: Any, rejected: list[int]) -> None:
    """What takes a rejected file in, since `retry` cannot: nothing of it was stored."""
    from db.engine import reading
    from db.queries import source_paths
    from worker.intake import moved_aside

    click.echo("a rejected file was never stored: mend what refused it (`newsdrop show ID` "
               "says) and `newsdrop ingest` the file again", err=True)
    with reading(rt.sessions) as session:
        names = source_paths(session, rejected[:_NAMED_IN_QUESTION])
    for doc_id, name in names.items():
        place = moved_aside(rt.settings, name, doc_id)
        click.echo(f"{doc_id:>6}  {name}" + (f": now at {place}" if place else ""), err=True)


#: documents named, with their files, above `delete`'s question
_NAMED_IN_QUESTION = 10


def _can_ask() -> bool:
    return sys.stdin.isatty()


def _and_duplicates(documents: int, duplicates: int) -> str:
    if not duplicates:
        return ""
    return f" and {counted(duplicates, 'duplicate')} of {'it' if documents == 1 else 'them'}"


def _report_requeued(rt: Any, sent: list[int], detail: str, *, missing: bool, wait: bool,
                     timeout: float | None) -> None:
    """Say what went back to the workers; with --wait, follow them; then exit 3 if a named
    id does not exist (a failure or a timeout while waiting says so first, with its own
    exit code)."""
    click.echo(f"re-enqueued {counted(len(sent), 'document')}" + (f" {detail}" if sent else ""),
               err=True)
    if wait:
        wait_with_progress(rt, sent, timeout)
    if missing:
        sys.exit(EXIT_NOT_FOUND)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback needs NEWSDROP_API_TOKEN.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Serve a read-only HTTP API: /status, /articles, /articles/{ref}, /search, /metrics.

    /articles/{ref} takes an id, a sha256 prefix or a file's path, as `show` does;
    /metrics is in Prometheus format; OpenAPI docs are at /docs. When NEWSDROP_API_TOKEN
    is set, clients must send `Authorization: Bearer <token>`; it is required to listen
    on any address other than loopback, and must be at least 16 characters long (not a
    placeholder such as change-me, nor a few characters repeated).

    \b
    Example:
      newsdrop serve                       # http://127.0.0.1:8000/docs
      curl 'http://127.0.0.1:8000/search?q=harbour+strike&limit=5'
      NEWSDROP_API_TOKEN=$(openssl rand -hex 24) newsdrop serve --host 0.0.0.0
    """
    from worker.api import ExposureError, check_exposure, check_token, listen, url_of
    from worker.api import serve as run_serve

    secret = settings_for(ctx).api_token
    token = secret.get_secret_value() if secret is not None else None
    try:
        check_token(token)
        check_exposure(host, token)
    except ExposureError as exc:
        raise BadConfiguration(str(exc)) from exc
    rt = runtime_for(ctx, migrate_schema=False)
    try:
        sockets = listen(host, port)
    except OSError as exc:
        raise BadConfiguration(f"cannot listen on {host}:{port}: {exc.strerror or exc}; "
                               "choose another --port or --host") from exc
    click.echo(f"newsdrop: serving {url_of(host, port)} (docs at /docs, "
               f"{'bearer token required' if token else 'no token'}); Ctrl-C stops", err=True)
    run_serve(rt, host=host, port=port, token=token, log_level=log_level_name(), sockets=sockets)


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

    rt = runtime_for(ctx, migrate_schema=False, check_schema=False)
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

    settings = settings_for(ctx)
    if sqlite_file_missing(settings.resolved_database_url):
        # a diagnostic creates nothing: say there is no database yet
        click.echo(f"database none (no file at {safe_url(settings.resolved_database_url)}), "
                   f"latest {migrate.head_revision()}")
        return
    rt = runtime_for(ctx, migrate_schema=False, check_schema=False)
    revision = migrate.current_revision(rt.engine)
    current = revision or "none (no newsdrop schema yet)"
    newer = (" (a newer newsdrop migrated it: upgrade this one)"
             if revision is not None and not migrate.is_known(revision) else "")
    click.echo(f"database {current}, latest {migrate.head_revision()}{newer}")
