"""The instant an article's stated date names, for sorting and filtering.

`articles.published_at` keeps the date as the page stated it: ISO 8601 with an offset
("2019-11-19T08:21:00-05:00", "…Z"), without one ("2019-11-19T08:21:00"), or a date
alone. As text those do not sort by time: 10:00-05:00 is later than 12:00+00:00 but
sorts before it. `articles.published_utc` holds the instant in UTC, computed by
`published_utc` when an article is written (and by migration 0005 for older rows);
listings sort and `--since/--until` filter on it.

A time without an offset is taken as UTC, and a date alone as the start of that day in
UTC: the page did not say, and newsdrop invents no timezone for it.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta


def published_utc(stated: str | None) -> datetime | None:
    """The UTC instant of `stated`, an ISO 8601 date or date-time; None when it is not
    one, or names an instant beyond what a datetime holds once in UTC."""
    if stated is None:
        return None
    try:
        return _utc(datetime.fromisoformat(stated.strip()))
    except (ValueError, OverflowError):
        return None


def check_bound(value: str) -> str:
    """`value` when it is a `--since`/`--until` bound the functions below read; otherwise
    ValueError, with the message the CLI, the API and the queries all give."""
    try:
        datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD) or ISO 8601 time") from None
    return value


#: an age: so many seconds, minutes, hours or days before now
_AGE = re.compile(r"\s*(\d+)\s*([smhd])\s*")
_AGE_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def age_instant(value: str, now: datetime | None = None) -> datetime | None:
    """The instant an age (30m, 2h, 7d) names, that long before `now`, to the second;
    None when `value` is no age. ValueError when it reaches back before the year 1."""
    age = _AGE.fullmatch(value)
    if age is None:
        return None
    try:
        ago = timedelta(**{_AGE_UNITS[age.group(2)]: int(age.group(1))})
        return ((now or datetime.now(UTC)) - ago).replace(microsecond=0)
    except (OverflowError, ValueError):  # before year 1, or too many digits for int
        raise ValueError(f"{value!r} reaches back before the year 1") from None


def as_bound(value: str) -> str:
    """`value` as a `since`/`until` bound: an age (30m, 2h, 7d) becomes the instant it
    names, as ISO 8601 in UTC; a date or ISO 8601 time stays as given. ValueError, with
    the message the CLI and the API give, for anything else."""
    instant = age_instant(value)
    if instant is not None:
        return instant.isoformat()
    try:
        return check_bound(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD), an ISO 8601 time or an age "
                         "(30m, 2h, 7d)") from None


def check_window(since: str | None, until: str | None, *,
                 names: tuple[str, str] = ("since", "until")) -> None:
    """ValueError when `since` comes after `until` (both valid bounds): such a window is
    a mistyped one, and saying so beats listing nothing. `names` name the two bounds
    in the message as the caller's user gave them."""
    if not since or not until:
        return
    start = since_instant(since)
    end, inclusive = until_instant(until)
    if start > end or (start == end and not inclusive):
        raise ValueError(f"{names[0]} {since} is after {names[1]} {until}: "
                         "nothing can match")


def since_instant(value: str) -> datetime:
    """The first instant a `--since` bound takes in (a date alone: that day's start, UTC).

    Raises ValueError when `value` is not ISO 8601.
    """
    return _utc_clamped(datetime.fromisoformat(value.strip()))


def until_instant(value: str) -> tuple[datetime, bool]:
    """(instant, inclusive) for an `--until` bound: a date alone takes in that whole day
    (UTC), so it ends before the next day starts.

    Raises ValueError when `value` is not ISO 8601.
    """
    text = value.strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return _utc_clamped(datetime.fromisoformat(text)), True
    try:
        return datetime.combine(day + timedelta(days=1), time(), UTC), False
    except OverflowError:  # 9999-12-31: no later day to stop before
        return datetime.max.replace(tzinfo=UTC), True


def _utc(parsed: datetime) -> datetime:
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _utc_clamped(parsed: datetime) -> datetime:
    """`parsed` in UTC; a bound beyond datetime's range there is as far as it goes."""
    try:
        return _utc(parsed)
    except OverflowError:
        edge = datetime.min if parsed.year == 1 else datetime.max
        return edge.replace(tzinfo=UTC)
