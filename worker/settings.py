"""Configuration: one typed object read from `NEWSDROP_…` variables and an optional `.env`.

Nothing here runs at import; `load_settings()` is called by the CLI and passed down.
The defaults need no server: SQLite and kombu's filesystem transport in `data_dir`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from difflib import get_close_matches
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

#: what NEWSDROP_INBOX_NAME may be: one path segment, and not "." or ".."
_INBOX_NAME = re.compile(r"(?!\.\.?$)[A-Za-z0-9._-]{1,64}")
#: the path of a Redis URL: its database number, if any ("/", "/0")
_REDIS_DB = re.compile(r"/?\d*", re.ASCII)


def _check_broker_url(url: str) -> None:
    """What kombu would take otherwise and fail on later: "127.0.0.1:6379" (no scheme: kombu
    reads it as an AMQP host), a Redis database that is no number ("redis://host/abc").
    Each URL of a failover list ("redis://a;redis://b") is checked."""
    for part in url.split(";"):
        scheme, sep, _ = part.strip().partition("://")
        if not sep:
            raise ValueError("no scheme, such as redis://")
        if scheme.lower() == "sentinel":  # kombu reads the master's name from elsewhere only
            raise ValueError("Redis Sentinel needs a master_name transport option, which "
                             "newsdrop does not set: give the master's redis:// URL")
        if scheme.lower() in ("redis", "rediss"):
            db = urlsplit(part.strip()).path
            if not _REDIS_DB.fullmatch(db):
                raise ValueError(f"the Redis database {db.lstrip('/')!r} is no number")


def shown_broker_url(url: str) -> str:
    """`url` with its passwords masked, each URL of a failover list alike, whatever its
    other faults."""
    from kombu.utils.url import maybe_sanitize_url

    def one(part: str) -> str:
        try:
            return str(maybe_sanitize_url(part))
        except Exception:  # kombu's parser fails on a bad port or the like
            return re.sub(r"//[^@/]*@", "//**@", part)

    return ";".join(one(part) for part in url.split(";"))


class SettingsError(Exception):
    """Settings that cannot work together; the CLI prints the message and exits 2."""


#: The values each numeric setting may take (lowest, highest, unit), checked by
#: `Settings._within_range`; the README's configuration table states the same ranges.
#: Floors keep the watcher and reconciler from spinning (an interval of 0 is a busy loop)
#: and keep counts meaningful; ceilings keep every value within what the timers, the
#: watchfiles extension and the database accept.
RANGES: dict[str, tuple[int | float, int | float, str]] = {
    # one value in the database: PostgreSQL holds at most 1 GB in a field
    "max_file_bytes": (1, 1_000_000_000, " bytes"),
    "settle_ms": (0, 3_600_000, " ms"),
    "debounce_ms": (0, 10_000, " ms"),
    # each rescan walks the whole inbox, each poll too
    "rescan_interval_s": (1, 86_400, " s"),
    "poll_interval_ms": (100, 600_000, " ms"),
    "batch_size": (1, 10_000, ""),
    "max_attempts": (1, 100, ""),
    "retry_base_s": (0.1, 3_600, " s"),
    "retry_max_s": (0.1, 86_400, " s"),
    "soft_time_limit_s": (1, 86_400, " s"),
    "hard_time_limit_s": (1, 86_400, " s"),
    "concurrency": (0, 1_024, ""),
    "lease_s": (1, 604_800, " s"),
    "reconcile_interval_s": (1, 86_400, " s"),
    # a line in one document is every line: recurring starts at two
    "boilerplate_min_docs": (2, 1_000_000, ""),
}


class AfterIntake(StrEnum):
    """What happens to an inbox file once its bytes are safely committed."""

    KEEP = "keep"  # leave it; the sha256 stops it from being taken twice
    MOVE = "move"  # move it into archive_dir, keeping its path below the inbox
    DELETE = "delete"


class DuplicatePolicy(StrEnum):
    """How a file whose bytes were already taken in is recorded."""

    LINK = "link"  # a `duplicate` row pointing at the first copy, no second copy of the bytes
    KEEP = "keep"  # as LINK, and the duplicate's bytes are stored too
    REJECT = "reject"  # as LINK, and the file is moved to rejected_dir with a sidecar


class Settings(BaseSettings):
    # An empty value (`NEWSDROP_API_TOKEN=`, as `.env.example` leaves it) means the
    # default, as the URLs always did: an empty inbox or data folder would be the working
    # directory, and an empty token would be one `serve` refuses as too short.
    model_config = SettingsConfigDict(
        env_prefix="NEWSDROP_", env_file=".env", env_file_encoding="utf-8", extra="ignore",
        env_ignore_empty=True,
    )

    data_dir: Path = Field(Path("newsdrop-data"), description="SQLite file, embedded broker")
    inbox: Path = Field(Path("inbox"), description="folder the watcher takes files from")
    # several inboxes feeding one database: each file's source_path starts with its
    # inbox's name, so files of the same name in two inboxes are told apart
    inbox_name: str = Field("", description="prefix of the source_path of the inbox's files")
    database_url: str = Field("", description="SQLAlchemy URL; default SQLite in data_dir")
    broker_url: str = Field("", description="Celery broker URL; default filesystem in data_dir")

    # intake
    max_file_bytes: int = 20 * 1024 * 1024
    after_intake: AfterIntake = AfterIntake.KEEP
    duplicate_policy: DuplicatePolicy = DuplicatePolicy.LINK
    archive_dir: Path | None = None  # default data_dir/archive
    rejected_dir: Path | None = None  # default data_dir/rejected

    # watcher
    # size and mtime must stay unchanged this long before intake; raise it for writers
    # that pause mid-file (slow network copies). Writers that rename a finished file in
    # (rsync, most scrapers) or use a temporary name (.part, .tmp) are safe at any value.
    settle_ms: int = 30
    debounce_ms: int = 30  # longest a burst of file events is gathered before handling
    rescan_interval_s: float = 60.0  # full scan that closes gaps left by missed events
    poll: bool = False  # poll instead of inotify (network shares)
    poll_interval_ms: int = 1000

    # pipeline
    batch_size: int = 100  # most documents per task message
    max_attempts: int = 5  # per stage, transient failures included
    retry_base_s: float = 1.0  # first backoff; doubles each attempt, with jitter
    retry_max_s: float = 60.0
    soft_time_limit_s: int = 120  # per task (a batch)
    hard_time_limit_s: int = 180
    concurrency: int = 0  # worker processes; 0 = number of CPUs
    lease_s: int = 300  # a document whose state has not moved for this long is re-enqueued
    reconcile_interval_s: float = 30.0
    boilerplate_min_docs: int = 3  # a line in this many documents of one source is boilerplate

    # HTTP API (newsdrop serve): required when listening beyond loopback
    api_token: SecretStr | None = None

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'newsdrop.db').resolve()}"

    @property
    def resolved_broker_url(self) -> str:
        # the host part means nothing to the filesystem transport; kombu warns without one
        return self.broker_url or "filesystem://localhost/"

    @property
    def broker_folder(self) -> Path:
        return (self.data_dir / "broker").resolve()

    @property
    def resolved_archive_dir(self) -> Path:
        return self.archive_dir or self.data_dir / "archive"

    @property
    def resolved_rejected_dir(self) -> Path:
        return self.rejected_dir or self.data_dir / "rejected"

    @property
    def uses_embedded_broker(self) -> bool:
        return self.resolved_broker_url.startswith("filesystem")

    @field_validator("database_url")
    @classmethod
    def _a_database_newsdrop_can_use(cls, url: str) -> str:
        # refused here, as configuration, rather than as a traceback from the first connect
        if url:
            from db.engine import check_url, normalise_url

            check_url(url)
            # postgres://… becomes postgresql+psycopg://…, for every process it is passed to
            url = normalise_url(url)
        return url

    @field_validator("inbox_name")
    @classmethod
    def _a_name_for_paths(cls, name: str) -> str:
        if name and not _INBOX_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a name of letters, digits, '.', '_' and '-' "
                             "(it begins the source_path of the inbox's files: east/a.txt)")
        return name

    @field_validator("broker_url")
    @classmethod
    def _a_broker_newsdrop_can_use(cls, url: str) -> str:
        # refused here rather than as a traceback from kombu when a message is first sent
        if url:
            from kombu import Connection

            try:
                _check_broker_url(url)
                Connection(url).transport  # noqa: B018 - loads the scheme's transport only
            except Exception as exc:  # whatever kombu, or a library it loads, finds wrong
                reason = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
                raise ValueError(f"{shown_broker_url(url)} names no broker newsdrop can "
                                 f"use ({reason}); newsdrop takes redis://HOST:6379/0, or "
                                 "nothing for its embedded queue") from None
        return url

    @field_validator(*RANGES)
    @classmethod
    def _within_range(cls, value: float, info: ValidationInfo) -> float:
        low, high, unit = RANGES[str(info.field_name)]
        if not low <= value <= high:  # NaN is refused too
            raise ValueError(f"{_number(value)} is out of range: it takes {_number(low)} "
                             f"to {_number(high)}{unit}")
        return value

    @model_validator(mode="after")
    def _limits_fit_together(self) -> Settings:
        problems = []
        # A batch still running when its lease expires would be sent again beside itself.
        if not self.soft_time_limit_s < self.hard_time_limit_s < self.lease_s:
            problems.append(
                "need NEWSDROP_SOFT_TIME_LIMIT_S < NEWSDROP_HARD_TIME_LIMIT_S < "
                f"NEWSDROP_LEASE_S, got {self.soft_time_limit_s} < "
                f"{self.hard_time_limit_s} < {self.lease_s}")
        # the backoff is capped at the maximum: a maximum below the first wait means none
        if self.retry_base_s > self.retry_max_s:
            problems.append(
                "need NEWSDROP_RETRY_BASE_S <= NEWSDROP_RETRY_MAX_S, got "
                f"{_number(self.retry_base_s)} > {_number(self.retry_max_s)}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def check_folders(self) -> None:
        """Refuse an inbox that overlaps the folders newsdrop writes to, and any of these
        folders that is a file.

        An inbox holding the data folder would take the embedded broker's message files
        (and the archive, and rejected files) in as documents, and again, without end.
        """
        inbox = self.inbox.resolve()
        data = self.data_dir.resolve()
        writes = [("data folder", DATA_DIR_SETTING, data),
                  ("archive folder", "NEWSDROP_ARCHIVE_DIR", self.resolved_archive_dir.resolve()),
                  ("rejected folder", "NEWSDROP_REJECTED_DIR",
                   self.resolved_rejected_dir.resolve())]
        for what, env, folder in [("inbox", INBOX_SETTING, inbox), *writes]:
            _refuse_a_file(folder, what, env)
        for what, env, folder in writes:
            if folder == inbox or inbox in folder.parents:
                raise SettingsError(
                    f"the {what} {folder} is inside the inbox {inbox}: its files would be "
                    f"taken in as documents. Point {env} or {INBOX_SETTING} elsewhere.")
        if data in inbox.parents:
            raise SettingsError(
                f"the inbox {inbox} is inside the data folder {data}. Point {INBOX_SETTING} "
                f"or {DATA_DIR_SETTING} elsewhere.")


#: how a message names what sets the data folder and the inbox: the command line may
#: have, rather than the variable
DATA_DIR_SETTING = "--data-dir (NEWSDROP_DATA_DIR)"
INBOX_SETTING = "NEWSDROP_INBOX (or run's --inbox, watch's INBOX)"


def _refuse_a_file(path: Path, what: str, env: str) -> None:
    if path.exists() and not path.is_dir():
        raise SettingsError(f"the {what} {path} is a file, not a folder. Point {env} "
                            f"elsewhere.")


def make_folder(path: Path, what: str, env: str) -> bool:
    """Create the folder `path` (and its parents) unless it exists, and say whether it
    did; a SettingsError says why it cannot be made (a file in the way, a place nothing
    can be written)."""
    path = path.resolve()
    _refuse_a_file(path, what, env)
    if path.is_dir():
        return False
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingsError(f"cannot create the {what} {path}: {exc.strerror or exc}. "
                            f"Point {env} elsewhere.") from exc
    return True


#: NEWSDROP_* names that are known though they are not settings: docker-compose.yml's host
#: folder for the inbox (from the shared .env file), the test suite's NEWSDROP_TEST_* and
#: the benchmarks' NEWSDROP_BENCH_*
_OTHER_NEWSDROP_NAMES = frozenset({"NEWSDROP_INBOX_DIR"})
_OTHER_PREFIXES = ("NEWSDROP_TEST_", "NEWSDROP_BENCH_")


def unknown_variables(environ: Mapping[str, str], env_file: Path = Path(".env")
                      ) -> list[tuple[str, str | None]]:
    """NEWSDROP_* names set in `environ` or `env_file` that no setting reads, each with
    the setting it is most likely a misspelling of: a typo would otherwise go unnoticed,
    the default being used in its stead."""
    names = {k for k in environ if k.upper().startswith("NEWSDROP_")}
    if env_file.is_file():
        names |= {k for k in dotenv_values(env_file) if k.upper().startswith("NEWSDROP_")}
    settings = [f"NEWSDROP_{field.upper()}" for field in Settings.model_fields]
    unknown = sorted(n for n in names if n.upper() not in settings
                     and n.upper() not in _OTHER_NEWSDROP_NAMES
                     and not n.upper().startswith(_OTHER_PREFIXES))
    return [(name, _likely_meant(name.upper(), settings)) for name in unknown]


#: words a setting's name spells out that people shorten
_SHORT_WORDS = {"DB": "DATABASE"}


def _likely_meant(name: str, settings: list[str]) -> str | None:
    """The setting `name` is closest to, compared without the prefix all of them share
    (which would make any two names look alike: NEWSDROP_X is no NEWSDROP_INBOX); else
    the one setting whose words hold all of its words (NEWSDROP_TOKEN: API_TOKEN)."""
    prefix = len("NEWSDROP_")
    by_suffix = {s[prefix:]: s for s in settings}
    close = get_close_matches(name[prefix:], list(by_suffix), n=1, cutoff=0.75)
    if close:
        return by_suffix[close[0]]
    wanted = {_SHORT_WORDS.get(w, w) for w in name[prefix:].split("_")}
    holding = [s for suffix, s in by_suffix.items() if wanted <= set(suffix.split("_"))]
    return holding[0] if len(holding) == 1 else None


def load_settings(**overrides: object) -> Settings:
    """Read the environment and `.env`, then apply explicit overrides (CLI options)."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(_problem(e, clean) for e in exc.errors())
        raise SettingsError(f"invalid configuration: {problems}") from exc


def _number(value: float) -> str:
    """A number as a person would type it back: 1000000, 0.5, not 1e+06 or 0.50."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value) if isinstance(value, int) else f"{value:g}"


#: settings whose value is never repeated in an error: they may hold a password or token
_SECRET_FIELDS = frozenset({"database_url", "broker_url", "api_token"})


def _problem(error: Any, overrides: dict[str, object]) -> str:
    """One validation error, named as the person set it: --option or NEWSDROP_VARIABLE."""
    field = "_".join(map(str, error["loc"]))
    if error["type"] == "value_error":
        # a validator's own message, which shows the value; without pydantic's
        # "Value error, " in front
        msg = str(error["ctx"]["error"])
    elif field and field not in _SECRET_FIELDS:
        msg = f"{str(error['input'])!r} is not valid: {error['msg']}"
    else:
        msg = error["msg"]
    if not error["loc"]:
        return msg
    name = f"--{field.replace('_', '-')}" if field in overrides else f"NEWSDROP_{field.upper()}"
    return f"{name}: {msg}"
