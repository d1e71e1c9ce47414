"""FHIR dates as UTC ranges (`fhirclaim.fhir.dates`): what indexing, search and the worklist compare. `to_range`
remembers its answers (issue 17); a remembered answer must be the one computed for that text in that zone."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from fhirclaim.fhir import dates


def test_a_date_is_the_day_it_names_in_the_default_zone():
    assert dates.to_range("2026-05-15", "Asia/Jakarta") == (datetime(2026, 5, 14, 17), datetime(2026, 5, 15, 17))
    assert dates.to_range("2026-05-15", "UTC") == (datetime(2026, 5, 15), datetime(2026, 5, 16))
    # asked again, in either order, each zone keeps its own answer
    assert dates.to_range("2026-05-15", "Asia/Jakarta") == (datetime(2026, 5, 14, 17), datetime(2026, 5, 15, 17))
    assert dates.to_range("2026-05-15", timezone(timedelta(hours=9))) == (datetime(2026, 5, 14, 15),
                                                                          datetime(2026, 5, 15, 15))


def test_precision_and_offsets():
    assert dates.to_range("2026-02", "UTC") == (datetime(2026, 2, 1), datetime(2026, 3, 1))
    assert dates.to_range("2026", "UTC") == (datetime(2026, 1, 1), datetime(2027, 1, 1))
    # a fraction names the range of its digits, as a date names its day: a tenth of a second, a millisecond, a µs
    assert dates.to_range("2026-05-15T10:20:30.5+07:00", "UTC") == (datetime(2026, 5, 15, 3, 20, 30, 500000),
                                                                     datetime(2026, 5, 15, 3, 20, 30, 600000))
    assert dates.to_range("2026-05-15T10:20:30.123Z", "UTC") == (datetime(2026, 5, 15, 10, 20, 30, 123000),
                                                                  datetime(2026, 5, 15, 10, 20, 30, 124000))
    assert dates.to_range("2026-05-15T10:20:30.999Z", "UTC") == (datetime(2026, 5, 15, 10, 20, 30, 999000),
                                                                  datetime(2026, 5, 15, 10, 20, 31))
    assert dates.to_range("2026-05-15T10:20:30.123456Z", "UTC")[1] == datetime(2026, 5, 15, 10, 20, 30, 123457)
    assert dates.to_range("2026-05-15T10:20:30.12345678Z", "UTC") == (datetime(2026, 5, 15, 10, 20, 30, 123456),
                                                                       datetime(2026, 5, 15, 10, 20, 30, 123457))
    assert dates.to_range(" 2026-05-15T10:20Z ", "Asia/Jakarta") == (datetime(2026, 5, 15, 10, 20),
                                                                      datetime(2026, 5, 15, 10, 21))


@pytest.mark.parametrize("value", ["2026-13-01", "15-05-2026", "2026-02-30", "", "٢٠٢٦", None, 20260515])
def test_a_malformed_value_is_refused_every_time(value):
    for _ in range(2):  # an error is not remembered as an answer
        with pytest.raises(dates.DateFormatError):
            dates.to_range(value, "UTC")


def test_an_instant_is_utc_to_the_millisecond_with_a_four_digit_year():
    assert dates.instant(datetime(2026, 12, 4, 22, 39, 41, 591782)) == "2026-12-04T22:39:41.591Z"  # naive: UTC
    assert dates.instant(datetime(2026, 12, 5, 5, 39, 41, 999999, tzinfo=timezone(timedelta(hours=7)))) == \
        "2026-12-04T22:39:41.999Z"
    assert dates.instant(datetime(2026, 1, 1, tzinfo=timezone.utc)) == "2026-01-01T00:00:00.000Z"
    assert dates.instant(dates.MIN) == "0001-01-01T00:00:00.000Z"
