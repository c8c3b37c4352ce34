"""One clock on every screen: config.clock's helpers show the committee's local time."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from config.clock import CLOCK_SECONDS, SHORT, local_time, machine_time, utc_offset
from estate.access import audit
from estate.audit_log import audit_lines

SHANGHAI = ZoneInfo("Asia/Shanghai")
AT = datetime(2022, 4, 10, 23, 30, 15, 123456, tzinfo=UTC)  # 07:30 the next morning there


def test_people_read_local_time_without_microseconds_and_the_offset_once() -> None:
    assert local_time(AT, SHANGHAI) == "2022-04-11 07:30"
    assert local_time(AT, SHANGHAI, CLOCK_SECONDS) == "07:30:15"
    assert local_time(AT, SHANGHAI, SHORT, offset=True) == "04-11 07:30 (UTC+08:00)"
    assert local_time(AT.replace(tzinfo=None), SHANGHAI) == "2022-04-11 07:30"  # naive = UTC
    assert local_time(None, SHANGHAI) == "-"
    assert utc_offset(SHANGHAI) == "UTC+08:00"
    assert utc_offset(ZoneInfo("America/St_Johns"), AT) == "UTC-02:30"
    assert utc_offset(UTC) == "UTC"


def test_machines_read_iso_8601_with_the_offset() -> None:
    assert machine_time(AT, SHANGHAI) == "2022-04-11T07:30:15+08:00"
    assert machine_time(None, SHANGHAI) == ""


async def test_the_audit_log_reads_in_local_time(db: str) -> None:
    await audit(now=AT, action="survey open", actor="cli", target="round 1")
    (line,) = await audit_lines(tz=SHANGHAI)
    assert line.startswith("2022-04-11 07:30:15\tcli\tallowed\tsurvey open")
