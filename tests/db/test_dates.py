"""The instant a stated publication date names, and the bounds --since/--until take."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from db.dates import published_utc, since_instant, until_instant


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("stated", "instant"), [
    # an offset is applied
    ("2019-11-19T08:21:00-05:00", utc(2019, 11, 19, 13, 21)),
    ("2019-11-19T13:21:00Z", utc(2019, 11, 19, 13, 21)),
    ("2019-11-19T13:21:00+00:00", utc(2019, 11, 19, 13, 21)),
    ("2019-11-20T02:51:30.250+13:30", utc(2019, 11, 19, 13, 21, 30, 250000)),
    ("2019-11-19T01:00:00+05:00", utc(2019, 11, 18, 20)),  # the day before, in UTC
    # no zone stated: taken as stated, as UTC
    ("2019-11-19T08:21:00", utc(2019, 11, 19, 8, 21)),
    ("2019-11-19T08:21", utc(2019, 11, 19, 8, 21)),
    # a date alone: the start of that day
    ("2019-11-19", utc(2019, 11, 19)),
    (" 2019-11-19 ", utc(2019, 11, 19)),
])
def test_a_stated_date_becomes_its_instant_in_utc(stated: str, instant: datetime) -> None:
    got = published_utc(stated)
    assert got == instant and got is not None and got.utcoffset() == timedelta(0)


@pytest.mark.parametrize("stated", [
    None, "", "   ", "Nov 19, 2019", "2019-11", "2019-13-01", "2019-11-19T25:00:00",
    "yesterday", "2019-11-19T08:21:00 EST",
    # real instants, but beyond what a datetime holds once in UTC
    "0001-01-01T00:30:00+01:00", "9999-12-31T23:00:00-05:00",
])
def test_what_is_not_an_iso_8601_instant_gives_none(stated: str | None) -> None:
    assert published_utc(stated) is None


def test_offsets_order_by_instant_where_the_text_does_not() -> None:
    later, earlier = "2024-05-01T10:00:00-05:00", "2024-05-01T12:00:00+00:00"
    assert later < earlier  # the text sorts by wall clock
    assert published_utc(later) > published_utc(earlier)  # type: ignore[operator]


@given(st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31),
                    timezones=st.just(UTC) | st.builds(
                        timezone, st.timedeltas(min_value=timedelta(hours=-23, minutes=-59),
                                                max_value=timedelta(hours=23, minutes=59)))))
def test_any_isoformat_round_trips_to_the_same_instant(value: datetime) -> None:
    assert published_utc(value.isoformat()) == value


def test_since_is_the_first_instant_taken_in() -> None:
    assert since_instant("2024-03-02") == utc(2024, 3, 2)
    assert since_instant("2024-03-02T10:00:00+01:00") == utc(2024, 3, 2, 9)
    assert since_instant("2024-03-02T10:00") == utc(2024, 3, 2, 10)
    assert since_instant("0001-01-01T00:00:00+01:00") == datetime.min.replace(tzinfo=UTC)
    with pytest.raises(ValueError):
        since_instant("March 2024")


def test_until_a_date_takes_in_that_whole_day() -> None:
    assert until_instant("2024-03-02") == (utc(2024, 3, 3), False)  # before the 3rd starts
    assert until_instant("20240302") == (utc(2024, 3, 3), False)
    assert until_instant("2024-03-02T10:00:00-05:00") == (utc(2024, 3, 2, 15), True)
    assert until_instant("2024-03-02T10:00") == (utc(2024, 3, 2, 10), True)
    assert until_instant("9999-12-31") == (datetime.max.replace(tzinfo=UTC), True)
    with pytest.raises(ValueError):
        until_instant("2024-03-02T10:00 EST")
