"""Exit codes, and the errors a command ends with: an unreachable database or broker,
a configuration that cannot work, output cut short, Ctrl-C, no database."""

from __future__ import annotations

import re
import sys
from typing import Any

import click

from worker.settings import Settings, SettingsError, shown_broker_url
from worker.wording import counted

# named exit codes
EXIT_OK = 0
EXIT_FAILED = 1  # some documents failed or were rejected
EXIT_USAGE = 2  # a usage or configuration error (click's own usage errors use it too)
EXIT_NOT_FOUND = 3
EXIT_TIMEOUT = 4
EXIT_UNAVAILABLE = 5  # database or broker unreachable
EXIT_INTERRUPTED = 130  # Ctrl-C: what a shell reports for a command SIGINT ended


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
    """A read command found no newsdrop schema, and changed nothing."""

    exit_code = EXIT_NOT_FOUND


def _unreachable_errors() -> tuple[type[BaseException], ...]:
    """What the database and broker clients raise when their server cannot be reached."""
    from kombu.exceptions import OperationalError as BrokerError
    from sqlalchemy.exc import OperationalError as DatabaseError

    return (DatabaseError, BrokerError, ConnectionError)


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


# libpq's and psycopg's answers to a connection URL whose options cannot work, before any
# server is asked: "?sslmode=bogus", "?foo=bar", ":99999", "?connect_timeout=abc"
_BAD_URL_OPTION = re.compile(
    r'invalid (?:connection option "[^"]+"|\w+ value[^\n]*|port number[^\n]*'
    r'|integer value[^\n]*)|bad value for \w+[^\n]*')


class NewsdropGroup(click.Group):
    """Runs a command; an unreachable database or broker, whenever it shows up, ends it
    with a one-line message and EXIT_UNAVAILABLE instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from sqlalchemy.exc import OperationalError as DatabaseError
        from sqlalchemy.exc import ProgrammingError

        from db.errors import SchemaTooNew
        from worker.reconciler import NotSent

        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise Interrupted("interrupted") from None
        except SettingsError as exc:
            raise BadConfiguration(str(exc)) from exc
        except SchemaTooNew as exc:  # another machine's newer newsdrop migrated it
            raise BadConfiguration(str(exc)) from exc
        except ProgrammingError as exc:  # psycopg's own check of the URL's options
            bad = _bad_url_option(exc)
            if bad is None:
                raise
            raise bad from exc
        except NotSent as exc:
            if not isinstance(exc.__cause__, _unreachable_errors()):
                raise
            raise unsent_error(ctx.find_object(Settings), len(exc.ids), exc.__cause__) from exc
        except _unreachable_errors() as exc:
            if isinstance(exc, BrokenPipeError) and _stdout_reader_gone():
                raise  # `newsdrop articles | head`: click stops quietly, nothing is wrong
            settings = ctx.find_object(Settings)
            if isinstance(exc, DatabaseError):
                where = f" at {safe_url(settings.resolved_database_url)}" if settings else ""
                missing = _MISSING_DATABASE.search(str(exc.orig))
                if missing:
                    # the server answered: nothing is unreachable, the database is not there
                    raise NoDatabase(
                        f"the server{where} has no database {missing.group(1)!r}: create it "
                        f"(createdb {missing.group(1)}), or set NEWSDROP_DATABASE_URL to one "
                        "that exists") from exc
                bad = _bad_url_option(exc)
                if bad is not None:
                    raise bad from exc
                refused = _LOGIN_REFUSED.search(str(exc.orig))
                if refused:
                    # the server answered too: the URL's user or password is wrong
                    raise BadConfiguration(
                        f"the server{where} refused the login: {refused.group(0)}: set the "
                        "user and password in NEWSDROP_DATABASE_URL") from exc
                raise Unavailable(f"cannot reach the database{where}: {exc.orig}") from exc
            raise broker_problem(settings, exc) from exc


def broker_problem(settings: Settings | None, error: BaseException | str
                   ) -> click.ClickException:
    """The error for a broker that cannot be used: a configuration error when it answered
    but refused the URL's database or login, else unreachable."""
    from worker.broker import refusal, refused

    where = f" at {shown_broker_url(settings.resolved_broker_url)}" if settings else ""
    answer = refusal(error)
    if answer:
        return BadConfiguration(refused(where, answer))
    return Unavailable(f"cannot reach the broker{where}: {error}")


def _bad_url_option(exc: Any) -> BadConfiguration | None:
    """The error to show for a database error that says the URL's options cannot work;
    None for any other."""
    bad = _BAD_URL_OPTION.search(str(exc.orig))
    if bad is None:
        return None
    return BadConfiguration(f"the database URL cannot work: {bad.group(0)}: fix "
                            "NEWSDROP_DATABASE_URL (or --database-url)")


def unsent_error(settings: Settings | None, unsent: int, error: BaseException | None
                 ) -> click.ClickException:
    """`broker_problem`, for documents committed as queued that the broker did not take,
    with what sends them (worker.reconciler.send_queued ended their lease, so no lease is
    waited out)."""
    problem = broker_problem(settings, str(error).rstrip("."))
    stored = (f"{counted(unsent, 'document')} {'is' if unsent == 1 else 'are'} stored as "
              "queued and sent")
    if isinstance(problem, BadConfiguration):
        return BadConfiguration(
            f"{problem.message}; {stored} by the next `newsdrop watch`, `newsdrop run` or "
            "`newsdrop reconcile` on a broker that takes them")
    return Unavailable(
        f"{problem.message}; {stored} once the broker is back, by a running `newsdrop watch` "
        "or `newsdrop run`, or by `newsdrop reconcile`")


def _stdout_reader_gone() -> bool:
    """True when standard output is a pipe whose reading end was closed."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no real file behind stdout
        return False


def safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]
