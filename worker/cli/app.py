"""The `newsdrop` group: global options, logging, and the settings and runtime every
command starts from."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import click

from worker.cli.errors import BadConfiguration, NewsdropGroup, NoDatabase, safe_url
from worker.cli.output import guarded_stdout
from worker.settings import Settings, load_settings, unknown_variables

log = logging.getLogger("newsdrop")


#: the hidden option that marks a command `run` started as its child process
CHILD_OPTION = "--started-by-run"

#: commands that run until stopped and print no results: their output is logging, and
#: Celery and uvicorn take standard output over as they please
_SERVICES = frozenset({"run", "watch", "worker", "serve"})


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # alembic announces every plugin it loads at INFO; only its warnings matter here
    quiet = max(logging.WARNING, logging.getLogger().level)
    for name in ("alembic", "watchfiles"):  # one line per plugin loaded / per file event
        logging.getLogger(name).setLevel(quiet)


def settings_for(ctx: click.Context) -> Settings:
    return ctx.find_object(Settings) or load_settings()


def runtime_for(ctx: click.Context, *, migrate_schema: bool = True,
                check_schema: bool = True, create: bool = True) -> Any:
    """This process's runtime. Commands that write bring the schema to head first, and
    create the database where there is none unless `create` is False (commands that
    change documents already stored: where there is no database they were run in the
    wrong place); read commands (migrate_schema=False) create and migrate nothing. Both
    kinds stop with EXIT_NOT_FOUND where there is no database they would not create;
    read commands with EXIT_USAGE where its schema is not the current one."""
    from worker.service import prepare

    settings = settings_for(ctx)
    if migrate_schema and not create:
        _require_database(settings)
    if migrate_schema or not check_schema:
        return prepare(settings, migrate_schema=migrate_schema)
    return _read_runtime(settings)


def _require_database(settings: Settings) -> None:
    """Stop with NoDatabase where `settings` point at no newsdrop schema."""
    from db import migrate
    from worker import runtime

    if sqlite_file_missing(settings.resolved_database_url):
        raise _no_database(settings)
    engine = runtime.init(settings).engine
    try:
        missing = migrate.current_revision(engine) is None
    finally:
        engine.dispose()
    if missing:
        raise _no_database(settings)


def _read_runtime(settings: Settings) -> Any:
    from db import migrate
    from tasks.celery_tasks import app
    from worker import runtime
    from worker.celery_app import configure

    url = settings.resolved_database_url
    if sqlite_file_missing(url):
        raise _no_database(settings)
    rt = runtime.init(settings)
    current, head = migrate.current_revision(rt.engine), migrate.head_revision()
    if current is None:
        raise _no_database(settings)
    migrate.check_not_newer(current)
    if current != head:
        # as for a newer schema: the database is there, at a revision this one cannot read
        raise BadConfiguration(f"the database schema is older than this newsdrop: run "
                               f"`newsdrop db upgrade` (database at {current}, latest {head})")
    configure(app, settings)
    return rt


def _no_database(settings: Settings) -> NoDatabase:
    """No newsdrop database where `settings` point: how to make one, and where settings
    come from when none named it."""
    if {"database_url", "data_dir"} & settings.model_fields_set:
        hint = ", given the same --data-dir or --database-url (or NEWSDROP_* setting)"
    elif not Path(".env").is_file():
        # a command run from another folder than the one holding .env reads none of it
        hint = ("; no NEWSDROP_DATABASE_URL is set and this folder has no .env, which is "
                "read from the current folder only")
    else:
        hint = ""
    return NoDatabase(f"no newsdrop database at {safe_url(settings.resolved_database_url)}: "
                      f"start with `newsdrop run`, or `newsdrop db upgrade`{hint}")


def sqlite_file_missing(url: str) -> bool:
    """Whether `url` names a SQLite file that does not exist: connecting would create it,
    so read commands look before they connect."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return bool(parsed.get_backend_name() == "sqlite" and parsed.database
                and parsed.database != ":memory:" and not parsed.query.get("uri")
                and not Path(parsed.database).is_file())


def log_level_name() -> str:
    return logging.getLevelName(logging.getLogger().level)


@click.group(cls=NewsdropGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Data folder (SQLite file, embedded broker). Env: NEWSDROP_DATA_DIR.")
@click.option("--database-url", default=None,
              help="sqlite:///PATH or postgresql+psycopg://USER@HOST/DATABASE. "
                   "Env: NEWSDROP_DATABASE_URL.")
@click.option("--broker-url", default=None, help="Celery broker URL. Env: NEWSDROP_BROKER_URL.")
@click.option("--log-level", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
# `run` starts its worker as a child process with this: the parent has warned already
@click.option(CHILD_OPTION, "as_child", is_flag=True, hidden=True)
@click.version_option(package_name="newsdrop")
@click.pass_context
def main(ctx: click.Context, data_dir: Path | None, database_url: str | None,
         broker_url: str | None, log_level: str, as_child: bool) -> None:
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
        ctx.with_resource(guarded_stdout())
    ctx.obj = load_settings(data_dir=data_dir, database_url=database_url,
                            broker_url=broker_url)
    for name, likely in [] if as_child else unknown_variables(os.environ):
        log.warning("%s is not a newsdrop setting and is ignored%s", name,
                    f" (did you mean {likely}?)" if likely else "")
