"""Parameter types and options that several commands share."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

import click

from db.bounds import MAX_ID, MAX_SECONDS, MAX_SQL_INT
from worker.settings import RANGES

#: worker processes one command may start, as NEWSDROP_CONCURRENCY allows
MAX_CONCURRENCY = int(RANGES["concurrency"][1])


class DocumentId(click.IntRange):
    """A document id: "'abc' is not a valid document id", not "… integer range"."""

    name = "document id"


#: ids, limits and offsets are whole numbers a query can carry (db/bounds.py)
DOCUMENT_ID = DocumentId(1, MAX_ID)
OFFSET = click.IntRange(0, MAX_SQL_INT)


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


def iso_date(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Accept YYYY-MM-DD, an ISO 8601 time (without an offset, UTC) or an age (30m, 2h,
    7d: that long before now), as the instant the queries compare."""
    if value is None:
        return None
    from db.dates import as_bound

    try:
        return as_bound(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from None


def since_time(_ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """An ISO 8601 time (UTC unless it says its zone, as everywhere in newsdrop), or an
    age like 30m, 2h, 7d."""
    if value is None:
        return None
    from db.dates import age_instant

    try:
        instant = age_instant(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from None
    if instant is not None:
        return instant
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


def not_blank(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An option given with nothing in it ("--lang ''", an unset shell variable) would match
    everything: said rather than ignored."""
    if value is not None and not value.strip():
        raise click.BadParameter("is empty (leave the option out to match everything)",
                                 ctx=ctx, param=param)
    return value


@dataclass(frozen=True, slots=True)
class ArticleChoice:
    """The article filters given to articles, search or export (`article_filter_options`)."""

    since: str | None
    until: str | None
    received_since: str | None
    author: str | None
    site: str | None
    source: str | None
    lang: str | None
    doc_status: str | None
    latest: bool

    @property
    def narrowed(self) -> bool:
        """Whether any filter was given (an empty result is "no match", not "none yet")."""
        return any(getattr(self, f.name) for f in fields(self))

    def to_filter(self, limit: int | None = None, offset: int = 0) -> Any:
        """The query's ArticleFilter; a usage error for a --since after --until."""
        from db.queries import ArticleFilter

        check_window(self.since, self.until)
        return ArticleFilter(since=self.since, until=self.until,
                             received_since=self.received_since, author=self.author,
                             site=self.site, source=self.source, language=self.lang,
                             status=self.doc_status, latest=self.latest, limit=limit,
                             offset=offset)


def article_filter_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The article filters shared by articles, search and export, handed to the command
    as one `filters: ArticleChoice` argument."""
    options = [
        click.option("--since", callback=iso_date,
                     help="Published on or after (YYYY-MM-DD or ISO 8601, UTC unless it "
                          "has an offset; or an age: 30m, 2h, 7d)."),
        click.option("--until", callback=iso_date,
                     help="Published on or before (a date includes that whole UTC day; "
                          "an age too)."),
        click.option("--received-since", callback=iso_date,
                     help="Taken in on or after (read as --since is): what came in over "
                          "the last day, --received-since 1d."),
        click.option("--author", callback=not_blank,
                     help="Author name contains this (ASCII letters in any case)."),
        click.option("--site", callback=not_blank,
                     help="Site name, or the host of the page's address, contains this "
                          "(ASCII letters in any case; a web address given counts by its "
                          "host)."),
        click.option("--source", callback=not_blank,
                     help="The file's path (as taken in, below the inbox) contains this "
                          "(ASCII letters in any case): a folder per site, --source "
                          "nytimes/."),
        click.option("--lang", callback=not_blank, help="Language code, e.g. en (any case)."),
        click.option("--status", "doc_status", type=ArticleStatusChoice(),
                     help="Status of the article's document: done; queued or processing "
                          "while it runs again (reprocess, retry); failed if that run "
                          "failed (it keeps the article it had, unless the run found no "
                          "article in its bytes)."),
        click.option("--latest", is_flag=True,
                     help="Only the latest edition of each file: leave out an article "
                          "whose file changed since (taken in again under the same name "
                          "with other bytes) and gave a newer one."),
    ]

    @functools.wraps(fn)
    def with_filters(*args: Any, **kwargs: Any) -> Any:
        choice = ArticleChoice(**{f.name: kwargs.pop(f.name) for f in fields(ArticleChoice)})
        return fn(*args, filters=choice, **kwargs)

    for option in reversed(options):
        with_filters = option(with_filters)
    return with_filters


def check_window(since: str | None, until: str | None) -> None:
    from db.dates import check_window

    try:
        check_window(since, until, names=("--since", "--until"))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


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
