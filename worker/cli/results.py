"""Commands that look at results: articles, search, export, show."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from db.bounds import MAX_SQL_INT
from worker.cli.app import main, runtime_for
from worker.cli.errors import EXIT_FAILED, EXIT_NOT_FOUND, OutputCutShort
from worker.cli.output import cut, dump_json, print_article, print_explain
from worker.cli.params import (
    OFFSET,
    ArticleChoice,
    DashTextCommand,
    article_filter_options,
    json_option,
)
from worker.wording import counted, milliseconds


@main.command()
@article_filter_options
@click.option("--limit", type=click.IntRange(1, MAX_SQL_INT), default=50, show_default=True)
@click.option("--offset", type=OFFSET, default=0)
@json_option
@click.pass_context
def articles(ctx: click.Context, filters: ArticleChoice, limit: int, offset: int,
             as_json: bool) -> None:
    """List extracted articles, newest published first.

    An article whose file changed since (taken in again under the same name with other
    bytes) ends with [newer: ID], the newest edition's document id; --latest leaves such
    articles out. --json prints the items that the HTTP API's /articles returns.

    \b
    Example:
      newsdrop articles --since 2024-01-01 --author "Jane Doe"
      newsdrop articles --site reuters --lang en --limit 20 --offset 20 --json
    """
    from db.engine import reading
    from db.export import count_articles
    from db.queries import list_articles_with_editions
    from worker.render import article_summary, listing_when

    rt = runtime_for(ctx, migrate_schema=False)
    # one more than the page: whether a next page holds anything
    f = filters.to_filter(min(limit + 1, MAX_SQL_INT), offset)
    with reading(rt.sessions) as session:
        items = [article_summary(a, d, newer)
                 for a, d, newer in list_articles_with_editions(session, f)]
        # an empty page past the end: say how many there are, so the offset can be mended
        matching = count_articles(session, f) if not items and offset and not as_json else 0
    items, more = items[:limit], len(items) > limit
    if as_json:
        dump_json(items)
        return
    if not items:
        if matching:
            click.echo(f"no articles at offset {offset}: {counted(matching, 'article')} "
                       f"{'matches' if matching == 1 else 'match'}, at offsets 0 to "
                       f"{matching - 1}", err=True)
            return
        click.echo("no articles match" if filters.narrowed or offset else "no articles yet",
                   err=True)
        return
    for it in items:
        when = listing_when(it["published_at"])
        edition = f"  [newer: {it['newer_edition']}]" if it["newer_edition"] else ""
        click.echo(f"{it['id']:>6}  {when:<17}  {cut(it['title'] or '(no title)', 70)}"
                   f"{edition}")
    if more:
        _say_more(offset + limit)


def _say_more(next_offset: int) -> None:
    """A full page with more behind it says so, on stderr: the listing is not all."""
    click.echo(f"more match: --offset {next_offset} for the next page", err=True)


@main.command(cls=DashTextCommand)
@click.argument("query")
@article_filter_options
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--offset", type=OFFSET, default=0)
@json_option
@click.pass_context
def search(ctx: click.Context, query: str, filters: ArticleChoice, limit: int, offset: int,
           as_json: bool) -> None:
    """Full-text search over titles, subtitles and bodies, best match first.

    Every word must appear (in any order), and words in double quotes side by side;
    title matches rank above body matches. Other punctuation and operators are searched
    as plain text: *, NEAR, AND/OR, a leading - do nothing special, so `newsdrop search
    -nissan` looks for "nissan" (a query starting with -- goes after --: `newsdrop search
    -- --nissan`). Ids are document ids, as `newsdrop show` takes.

    \b
    Example:
      newsdrop search "harbour strike" --since 2024-01-01   # both words, anywhere
      newsdrop search '"harbour strike" dockers'   # those two side by side
      newsdrop search election --site times --json
    """
    from db.engine import reading
    from db.search import MAX_LIMIT, InvalidQuery, count_matches, operator_words
    from db.search import search as run_search
    from worker.render import listing_when

    rt = runtime_for(ctx, migrate_schema=False)
    f = filters.to_filter()
    try:
        with reading(rt.sessions) as session:
            # one more than the page: whether a next page holds anything
            hits = run_search(session, query, filters=f, limit=min(limit + 1, MAX_LIMIT),
                              offset=offset)
    except InvalidQuery as exc:
        raise click.UsageError(exc.message) from exc
    hits, more = hits[:limit], len(hits) > limit
    if as_json:
        dump_json([h.to_dict() for h in hits])
        return
    if not hits and offset:
        with reading(rt.sessions) as session:
            matching = count_matches(session, query, filters=f)
        if matching:
            click.echo(f"no articles at offset {offset}: {counted(matching, 'article')} "
                       f"{'matches' if matching == 1 else 'match'} {query!r}, at offsets 0 "
                       f"to {matching - 1}", err=True)
            return
    if not hits:
        literal = operator_words(query)
        hint = (f" ({', '.join(literal)}: search has no operators; every word must "
                "appear)" if literal else "")
        click.echo(f"no articles match {query!r}{hint}", err=True)
        return
    for h in hits:
        edition = f"  [newer: {h.newer_edition}]" if h.newer_edition else ""
        click.echo(click.style(f"{h.document_id:>6}", bold=True)
                   + f"  {listing_when(h.published_at):<17}  "
                   f"{cut(h.title or '(no title)', 70)}{edition}")
        snippet = "".join(click.style(t, fg="yellow", bold=True) if hit else t
                          for t, hit in h.snippet_parts())
        click.echo("        " + " ".join(snippet.split()))
    if more:
        _say_more(offset + limit)


@main.command()
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl",
              show_default=True, help="JSON Lines (lists kept) or CSV (lists as JSON).")
@article_filter_options
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
              help="Write to this file (with a progress bar) instead of stdout; - is "
                   "stdout.")
@click.pass_context
def export(ctx: click.Context, fmt: str, filters: ArticleChoice, output: Path | None) -> None:
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

    rt = runtime_for(ctx, migrate_schema=False)
    f = filters.to_filter()
    if output is None or str(output) == "-":
        # a write that fails ends the command through GuardedOutput
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
    """Show one document by id, sha256 prefix or file: its article and processing history.

    REF is a document id, the first 6 or more hex digits of the document's sha256, or
    its file, tried in that order; a file as the shell names it (inbox/nytimes/a.html)
    first, then as its source_path (`articles --json` lists it). Digits that are no
    document's id are tried as a sha256 prefix too; a prefix that several hashes start
    with is refused, naming some of them. A file gives its latest edition: the newest
    document of that name holding an article (else the newest). A later document of the
    same file that holds no article (failed, a duplicate, still queued) is noted on
    stderr.

    \b
    Example:
      newsdrop show 42
      newsdrop show 3f2a9c --json
      newsdrop show nytimes/2024-05-01-harbour-strike.html
    """
    from db.engine import reading
    from db.queries import (
        AmbiguousReference,
        article_of,
        later_without_article,
        newest_edition,
        stage_runs,
    )
    from worker.cli.references import document_meant, what_ref_is
    from worker.intake import moved_aside
    from worker.render import document_detail

    rt = runtime_for(ctx, migrate_schema=False)
    with reading(rt.sessions) as session:
        try:
            doc = document_meant(session, ref, rt.settings)
        except AmbiguousReference as exc:
            raise click.BadParameter(exc.message, ctx=ctx, param_hint="REF") from exc
        if doc is None:
            click.echo(f"no document {ref!r} ({what_ref_is(ref, 'show')})", err=True)
            sys.exit(EXIT_NOT_FOUND)
        data = document_detail(doc, article_of(session, doc.id), stage_runs(session, doc.id),
                               newest_edition(session, doc.id))
        for later in later_without_article(session, doc):  # on stderr: --json stays whole
            click.echo(f"note: {doc.source_path} was taken in again as document {later.id}, "
                       f"{_without_article(later)}: `newsdrop show {later.id}`", err=True)
    if explain:
        _explain_document(rt, data["document"], as_json)
        return
    if as_json:
        dump_json(data)
        return
    d = data["document"]
    click.secho(f"document {d['id']}  {d['status']}", bold=True)
    for key in ("source_path", "sha256", "size_bytes", "stage", "stage_state", "attempts",
                "duplicate_of", "newer_edition", "error_kind", "last_error", "received_at",
                "pass_queued_at", "finished_at"):
        if key == "pass_queued_at" and d[key] == d["received_at"]:
            continue  # its first pass: queued when it was taken in
        if d.get(key) not in (None, ""):
            click.echo(f"  {key}: {d[key]}")
    if d["status"] in ("rejected", "duplicate"):  # moved aside by intake, perhaps
        aside = moved_aside(rt.settings, d["source_path"], d["id"])
        if aside is not None:
            click.echo(f"  moved to: {aside}")
    if data["article"]:
        click.echo()
        print_article(data["article"])
    if data["history"]:
        click.echo()
        click.secho("history", bold=True)
        for line in history_lines(d, data["history"]):
            click.echo(line)


def _without_article(doc: Any) -> str:
    """Why a later edition of a file holds no article, in a few words."""
    status = doc.status.value
    if status == "failed":
        return f"which failed ({doc.error_kind or 'error'})"
    if status == "duplicate":
        return f"a duplicate of document {doc.duplicate_of}"
    if status == "rejected":
        return f"which was rejected ({doc.error_kind or 'refused'})"
    return f"still {status}"


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
        why = ("was deleted: nothing of it is stored" if doc["status"] == "deleted"
               else "has no stored bytes to explain")
        click.echo(f"document {doc['id']} {why}", err=True)
        sys.exit(EXIT_NOT_FOUND)
    if as_json:
        dump_json(cleaned.to_dict())
    else:
        print_explain(cleaned.to_dict())


def _or_dash(value: object) -> str:
    return "-" if value is None else str(value)


def history_lines(doc: dict[str, Any], runs: list[dict[str, Any]]) -> list[str]:
    """`show`'s history: one line per stage run, a marker where `retry` or `reprocess`
    began a pass, and one where attempts left no run behind."""
    lines: list[str] = []
    previous: dict[str, Any] | None = None
    recorded: dict[str, int] = {}  # the latest attempt at each stage in this pass
    for r in runs:
        if previous is not None and _begins_a_pass(r, previous):
            when = _latest_pass_start(doc, previous, r) or r["queued_at"]
            lines.append("  -- sent back by retry or reprocess" + (f" at {when}" if when else ""))
            recorded = {}
        previous = r
        lines.extend(_unrecorded(r["stage"], recorded.get(r["stage"], 0), r["attempt"]))
        recorded[r["stage"]] = r["attempt"]
        err = f"  {r['error']}" if r["error"] else ""
        # persist writes a batch in one transaction: its runs have no time of their own
        ran = ("ran in its batch's write" if r["stage"] == "persist"
               else f"ran {milliseconds(r['duration_ms'])} ms")
        lines.append(f"  {r['stage']:<8} #{r['attempt']} {r['state']:<9} "
                     f"wait {_or_dash(r['wait_ms'])} ms, {ran} on {r['worker']}{err}")
    if doc["stage"] is not None and runs:
        # attempts after the last run: the one under way, if any, is not lost
        claimed = doc["attempts"] - (doc["status"] == "processing")
        lines.extend(_unrecorded(doc["stage"], recorded.get(doc["stage"], 0), claimed + 1))
    return lines


def _unrecorded(stage: str, last: int, next_recorded: int) -> list[str]:
    """A marker for the attempts at `stage` between attempt `last` and `next_recorded`
    that were claimed but never written down."""
    lost = range(last + 1, next_recorded)
    if not lost:
        return []
    which = f"#{lost[0]}" + (f"-#{lost[-1]}" if len(lost) > 1 else "")
    return [f"  -- {stage} {which} left no record: its worker was lost (killed, out of "
            "memory) or could not write its outcome to the database"]


def _latest_pass_start(doc: dict[str, Any], before: dict[str, Any], run: dict[str, Any]
                       ) -> str | None:
    """When the pass that `run` begins was sent back, if it is the latest pass: only its
    start is kept (pass_queued_at), and it is this pass's if it lies between the run
    before and this one (a row from before migration 0006 has the intake time there,
    before every run). Earlier passes go by their first run's queued_at, which a
    reconciler's re-send of a lost message moves later."""
    queued = doc["pass_queued_at"]
    latest = _before(before["started_at"], queued) and not _before(run["started_at"], queued)
    return queued if latest else None


def _begins_a_pass(run: dict[str, Any], previous: dict[str, Any]) -> bool:
    """Whether `run` is the first of a pass that `retry` or `reprocess` began: within one
    pass the stages only go forward and each stage's attempts only count up, so a run at
    an earlier stage, or at the same stage with no higher attempt, began another (its
    first attempt need not have left a run)."""
    from db.models import Stage

    order = [stage.value for stage in Stage]
    here, before = order.index(run["stage"]), order.index(previous["stage"])
    return here < before or (here == before and run["attempt"] <= previous["attempt"])


def _before(instant: str | None, other: str | None) -> bool:
    """Whether ISO 8601 `instant` comes before `other` (False when either is unknown)."""
    if instant is None or other is None:
        return False
    return datetime.fromisoformat(instant) < datetime.fromisoformat(other)
