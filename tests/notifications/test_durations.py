"""Table tests for parsing durations and start times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from notifications.durations import format_duration, parse_duration, parse_start

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2022, 4, 10, 14, 0, 30, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("20s", 20),
        ("5m", 300),
        ("1h", 3600),
        ("1h30m", 5400),
        ("1h30m15s", 5415),
        ("1h 30m", 5400),
        ("2m30s", 150),
        (" 10M ", 600),
        ("90s", 90),
        ("0s", 0),
        ("１０ｍ", 600),
        ("5 m", 300),
    ],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("90", "'90' has no unit; add s, m or h \\(e.g. 90s or 90m\\)"),
        ("", "empty duration"),
        ("   ", "empty duration"),
        ("1.5h", "whole numbers"),
        ("-5m", "not a duration"),
        ("30m1h", "largest unit first"),
        ("5m5m", "not a duration"),
        ("5 minutes", "not a duration"),
        ("m", "not a duration"),
        ("5d", "not a duration"),
    ],
)
def test_parse_duration_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(text)


@pytest.mark.parametrize(
    "value",
    [timedelta(0), timedelta(seconds=20), timedelta(minutes=5), timedelta(hours=1, minutes=30)],
)
def test_format_duration_round_trips(value: timedelta) -> None:
    assert parse_duration(format_duration(value)) == value


def test_format_duration_forms() -> None:
    assert format_duration(timedelta(hours=1, seconds=5)) == "1h5s"
    assert format_duration(-timedelta(minutes=2)) == "-2m"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        (" NOW ", NOW),
        ("现在", NOW),
        ("14:30", datetime(2022, 4, 10, 14, 30, tzinfo=SHANGHAI)),
        ("14：30", datetime(2022, 4, 10, 14, 30, tzinfo=SHANGHAI)),
        ("23:59:59", datetime(2022, 4, 10, 23, 59, 59, tzinfo=SHANGHAI)),
        ("14:00", datetime(2022, 4, 10, 14, 0, tzinfo=SHANGHAI)),  # 30 s ago: still today
        ("2022-04-11T08:00", datetime(2022, 4, 11, 8, 0, tzinfo=SHANGHAI)),
        ("2022-04-11 08:00:00", datetime(2022, 4, 11, 8, 0, tzinfo=SHANGHAI)),
        ("2022-04-11t08:00", datetime(2022, 4, 11, 8, 0, tzinfo=SHANGHAI)),
        ("2022-04-11T00:00:00Z", datetime(2022, 4, 11, 8, 0, tzinfo=SHANGHAI)),
        ("2022-04-11T08:00+08:00", datetime(2022, 4, 11, 8, 0, tzinfo=SHANGHAI)),
    ],
)
def test_parse_start(text: str, expected: datetime) -> None:
    result = parse_start(text, now=NOW, tz=SHANGHAI)
    assert result == expected
    assert result.tzinfo == SHANGHAI


def test_parse_start_now_is_converted_to_local_time() -> None:
    result = parse_start("now", now=NOW.astimezone(UTC), tz=SHANGHAI)
    assert result == NOW and result.tzinfo == SHANGHAI and result.hour == 14


def test_parse_start_hhmm_uses_the_local_day_not_the_utc_day() -> None:
    # 00:30 in Shanghai on 11 April is still 10 April in UTC.
    now = datetime(2022, 4, 10, 16, 30, tzinfo=UTC)
    assert parse_start("08:00", now=now, tz=SHANGHAI) == datetime(
        2022, 4, 11, 8, 0, tzinfo=SHANGHAI
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "9:05",
            "9:05 has already passed today \\(it is now 14:00\\); give an ISO date-time "
            "for tomorrow, e.g. 2022-04-11T09:05",
        ),
        ("13:59", "13:59 has already passed today"),
        ("24:00", "not a time of day"),
        ("12:60", "not a time of day"),
        ("", "empty start time"),
        ("tomorrow", "'tomorrow' is not a start time"),
        ("2022-04-11", "a date without a time; write a date-time such as 2022-04-11T14:00"),
        ("2022-04-10T09:00", "is in the past"),
        ("2022-13-01T09:00", "is not a start time"),
    ],
)
def test_parse_start_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_start(text, now=NOW, tz=SHANGHAI)


def test_parse_start_allow_past_for_iso() -> None:
    result = parse_start("2022-04-10T09:00", now=NOW, tz=SHANGHAI, allow_past=True)
    assert result == datetime(2022, 4, 10, 9, 0, tzinfo=SHANGHAI)


def test_parse_start_rejects_naive_now() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_start("now", now=datetime(2022, 4, 10, 14, 0), tz=SHANGHAI)
