"""Commands that take documents in and process them: run, watch, worker, ingest,
extract, reconcile."""

from __future__ import annotations

import errno
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from worker.cli.app import log_level_name, main, runtime_for, settings_for
from worker.cli.errors import EXIT_FAILED, Interrupted, broker_problem, safe_url, unsent_error
from worker.cli.output import count_values, format_counts, print_article, print_explain
from worker.cli.params import MAX_CONCURRENCY, Seconds, wait_option
from worker.cli.progress import wait_with_progress
from worker.settings import AfterIntake, shown_broker_url
from worker.wording import counted

if TYPE_CHECKING:
    from worker.intake import IntakeOutcome


@main.command()
@click.option("--inbox", type=click.Path(path_type=Path), default=None,
              help="Folder to watch (default ./inbox). Env: NEWSDROP_INBOX.")
@click.option("--concurrency", "-c", type=click.IntRange(0, MAX_CONCURRENCY), default=0,
              help="Worker processes (default: NEWSDROP_CONCURRENCY or number of CPUs).")
@click.pass_context
def run(ctx: click.Context, inbox: Path | None, concurrency: int) -> None:
    """Watch the inbox and process what arrives: watcher and worker in one command.

    \b
    Example:
      newsdrop run
      cp article.txt inbox/ && newsdrop articles
    """
    from worker.service import make_inbox, run_all

    if inbox is not None:
        ctx.obj = ctx.obj.model_copy(update={"inbox": inbox})
    ctx.obj.check_folders()
    # made first: an inbox that cannot be created is refused before a database is
    # created or a worker starts
    make_inbox(ctx.obj)
    rt = runtime_for(ctx)
    click.echo(f"newsdrop: watching {rt.settings.inbox.resolve()} "
               f"(database {safe_url(rt.settings.resolved_database_url)}, "
               f"broker {shown_broker_url(rt.settings.resolved_broker_url)}); Ctrl-C stops",
               err=True)
    sys.exit(run_all(rt, concurrency=concurrency, loglevel=log_level_name()))


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
    from worker.service import make_inbox
    from worker.service import watch as run_watch

    update: dict[str, Any] = {}
    if inbox is not None:
        update["inbox"] = inbox
    if poll is not None:
        update["poll"] = poll
    ctx.obj = ctx.obj.model_copy(update=update)
    ctx.obj.check_folders()
    make_inbox(ctx.obj)  # before a database is created: an inbox may be refused
    rt = runtime_for(ctx)
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

    rt = runtime_for(ctx)
    run_worker(rt, concurrency=concurrency, loglevel=log_level_name())


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@wait_option
@click.option("--after", "after", type=click.Choice([a.value for a in AfterIntake]),
              default=AfterIntake.KEEP.value, show_default=True,
              help="What to do with each file once it is safely stored: move goes to "
                   "the archive folder, keeping the file's path below the inbox (or "
                   "below the folder named).")
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
    from worker.intake import OwnFiles, batches
    from worker.service import folder_files, make_intake

    rt = runtime_for(ctx)
    settings = rt.settings.model_copy(update={"after_intake": AfterIntake(after)})
    # each PATH is its own root: symlinks are judged against the folder being ingested,
    # and with --after keep nothing (rejected files included) leaves the user's folder.
    # A symlink to a file, named on purpose, stands for its target, which is read but,
    # not being what was named, neither moved nor deleted: --after applies to the others.
    keep = settings.model_copy(update={"after_intake": AfterIntake.KEEP})
    groups = [(p.resolve().parent, folder_files([p.resolve()]), keep)
              if p.is_symlink() and not p.is_dir()
              else (p if p.is_dir() else p.parent, folder_files([p]), settings)
              for p in paths]
    # newsdrop's own database and queue files, were they named or in a folder named (`.`
    # beside the data folder), would become documents, and new ones at every run
    own, own_files = 0, OwnFiles(settings)
    for n, (root, files, group_settings) in enumerate(groups):
        kept = [f for f in files if f not in own_files]
        own += len(files) - len(kept)
        groups[n] = (root, kept, group_settings)
    if own:
        click.echo(f"left out {counted(own, 'file')} of newsdrop's own (the database and "
                   "queue of a newsdrop data folder)", err=True)
    outcomes: list[IntakeOutcome] = []
    unsent, send_error, vanished = 0, None, 0
    deferred: list[Path] = []  # unreadable for now (an I/O error…): no row, not taken in
    try:
        with click.progressbar(length=sum(len(f) for _, f, _ in groups), label="taking in",
                               file=sys.stderr) as bar:
            for root, files, group_settings in groups:
                intake = make_intake(
                    rt, group_settings, root=root,
                    move_rejected=group_settings.after_intake is not AfterIntake.KEEP)
                for chunk in batches(files, settings.batch_size):
                    outcomes.extend(intake.take(chunk))
                    deferred += intake.deferred
                    bar.update(len(chunk))
                unsent, send_error = unsent + intake.unsent, intake.send_error or send_error
                vanished += intake.vanished
    except KeyboardInterrupt:
        # the batch under way is stored whole or not at all; if it was stored but not
        # sent, the reconciler sends it once its lease runs out, as after a lost message
        raise Interrupted(
            f"interrupted; taken in so far: {_intake_summary(outcomes, vanished, deferred)}, and "
            "perhaps the batch under way. The same `newsdrop ingest` takes in the rest: it "
            "skips the files taken in already") from None
    summary = _intake_summary(outcomes, vanished, deferred)
    click.echo("taken in: " + summary, err=True)
    if deferred:
        one = len(deferred) == 1
        click.echo(f"{counted(len(deferred), 'file')} could not be read for now (the log says "
                   f"why) and {'was' if one else 'were'} not taken in: the same `newsdrop "
                   f"ingest` tries {'it' if one else 'them'} again", err=True)
    if unsent:
        # stored all the same, so nothing is lost; but no worker hears of them for now
        raise unsent_error(settings, unsent, send_error)
    if not wait:
        if deferred or any(o.status is DocumentStatus.REJECTED for o in outcomes):
            sys.exit(EXIT_FAILED)
        return
    wait_with_progress(rt, [o.document_id for o in outcomes if o.document_id is not None],
                       timeout)
    if deferred:
        sys.exit(EXIT_FAILED)


def _outcome_word(o: IntakeOutcome) -> str:
    if o.earlier:
        return "rejected earlier"
    return o.status.value if o.status else "already taken"


def _intake_summary(outcomes: list[IntakeOutcome], vanished: int,
                    deferred: list[Path]) -> str:
    counts = count_values(map(_outcome_word, outcomes))
    if vanished:
        counts["gone before they were read"] = vanished
    if deferred:
        counts["not read for now"] = len(deferred)
    return format_counts(counts)


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

    options = CleanOptions(max_bytes=settings_for(ctx).max_file_bytes)
    failed = found = 0
    for path in folder_files(list(paths)):
        found += 1
        try:
            if not path.is_file():  # a FIFO would wait for a writer, a device never end
                raise OSError(errno.EINVAL, "not a regular file")
            cleaned = clean(RawDocument(path.read_bytes(), name=path.name), options=options)
            article = run_extract(cleaned)
        except (NewsdropError, OSError) as exc:
            failed += 1
            reason = exc.message if isinstance(exc, NewsdropError) else exc.strerror or str(exc)
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
            print_explain(cleaned.to_dict())
        else:
            print_article(article.to_dict())
    if not found:
        click.echo(f"no files to extract in {', '.join(map(str, paths))} (hidden files and "
                   "partial downloads are left out, as the watcher leaves them)", err=True)
    if failed:
        sys.exit(EXIT_FAILED)


@main.command()
@click.option("--older-than", "older_than", type=Seconds(), metavar="SECONDS",
              help="Re-enqueue documents whose state has not moved for this long (default: "
                   "NEWSDROP_LEASE_S). 0 takes every unfinished one: for after a crash, with "
                   "no worker running.")
@click.pass_context
def reconcile(ctx: click.Context, older_than: float | None) -> None:
    """Re-enqueue documents whose state has not moved for longer than the lease, now.

    Documents whose message the broker refused when they were queued (`ingest`,
    `retry` or `reprocess` with the broker down) are sent too, whatever the lease. The
    watcher does this at start-up and every NEWSDROP_RECONCILE_INTERVAL_S. A document
    sent while a worker still has it is processed twice, to the same result.

    \b
    Example:
      newsdrop reconcile                      # stuck for over NEWSDROP_LEASE_S (300 s)
      newsdrop reconcile --older-than 3600    # only those stuck for over an hour
      newsdrop reconcile --older-than 0       # every unfinished one: the workers crashed
    """
    from db.engine import reading
    from db.models import utcnow
    from db.queries import within_lease
    from worker.broker import broker_error
    from worker.reconciler import ROUND_LIMIT
    from worker.reconciler import reconcile as run_reconcile
    from worker.service import enqueue

    rt = runtime_for(ctx, create=False)
    lease_s = rt.settings.lease_s if older_than is None else older_than
    with reading(rt.sessions) as session:  # before the documents sent now move
        waiting, earliest = within_lease(session, timedelta(seconds=lease_s))
    started = utcnow()  # what is due now, round after round: a round takes ROUND_LIMIT
    n = sent = run_reconcile(rt.sessions, lease_s, enqueue, now=started)
    while sent == ROUND_LIMIT:
        sent = run_reconcile(rt.sessions, lease_s, enqueue, now=started)
        n += sent
    click.echo(f"re-enqueued {counted(n, 'document')}", err=True)
    # a lease of 0 leaves none alone (but those a clock ahead of this one dated later)
    if waiting and earliest is not None and lease_s > 0:
        due = max(0.0, (earliest - utcnow()).total_seconds() + lease_s)
        one = waiting == 1
        click.echo(f"{counted(waiting, 'other unfinished document')} changed state in the "
                   f"last {lease_s:g} s (queued, or with a worker) and {'is' if one else 'are'}"
                   f" left alone: the earliest is due in {due:.0f} s if it has not moved by "
                   f"then (`--older-than 0` takes {'it' if one else 'them'} now)", err=True)
    if n == 0:  # nothing was sent: whether the broker could take anything is not known yet
        error = broker_error()
        if error is not None:
            raise broker_problem(rt.settings, error)
