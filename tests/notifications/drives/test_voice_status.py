"""The drive status covers calls: per floor and building the call-up calls not answered, and a
voice household whose last try failed is on the silent list with what happened ("无人接听×2"),
in the text the CLI and Telegram show (zh-CN and en)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from config.clock import FakeClock
from notifications.calls import VoiceCalls
from notifications.drives.models import DriveBatch, DriveHousehold
from notifications.drives.status import load_status, render_status
from notifications.models import OutboxMessage
from tests.conftest import make_settings
from tests.notifications.drives.test_drives import MIN, T0
from tests.notifications.drives.test_voice_callups import voice_drive

TZ = ZoneInfo("Asia/Shanghai")


async def fail_calls(clock: FakeClock, calls: VoiceCalls, ref: str, outcomes: list[str]) -> None:
    """The queued call of ``ref`` ends with each outcome in turn (its retries included)."""
    for n, outcome in enumerate(outcomes):
        [row] = await OutboxMessage.filter(ref=ref, status="queued")
        moved = await calls.status(row.id, {"CallSid": f"CA{row.id:032d}", "CallStatus": outcome})
        assert moved, (n, outcome)
        clock.advance(120)


async def called_drive(clock: FakeClock):  # type: ignore[no-untyped-def]
    drive, runtime = await voice_drive(clock)
    for minute in (8, 10):  # batch 1 (floor 3) readied and called
        clock.set(T0 + minute * MIN)
        await runtime.tick()
    return drive, runtime


async def test_unanswered_calls_and_the_not_reached_household(db: str) -> None:
    clock = FakeClock(T0)
    drive, runtime = await called_drive(clock)
    calls = VoiceCalls(clock=clock, settings=make_settings(voice_retries=2), drives=runtime)
    batch = await DriveBatch.get(drive_id=drive.id, seq=1)
    await fail_calls(
        clock, calls, f"drive:{drive.id}:b{batch.id}:call", ["busy", "no-answer", "no-answer"]
    )

    status = await load_status(drive.id)
    assert status is not None
    [building] = status.points[0].buildings
    assert building.by_floor[3].calls == {"busy": 1, "no-answer": 2}
    assert building.by_floor[2].unanswered == 0
    assert building.unanswered == 3
    [visit] = status.silent  # not yet marked silent by the drive: the phone did not reach it
    assert (visit.floor, visit.outcomes) == (3, ("busy", "no-answer", "no-answer"))
    part = await DriveHousehold.get(drive_id=drive.id, floor=3)
    assert not part.silent

    zh = render_status(status, "zh-CN", TZ)
    assert "电话未接 3：占线×1、无人接听×2" in zh
    assert f"1-{visit.room}（1人，电话未接通：占线×1、无人接听×2）" in zh
    en = render_status(status, "en", TZ)
    assert "calls not answered 3: busy x1, no answer x2" in en
    assert "not reached by phone: busy x1, no answer x2" in en


async def test_a_household_that_replies_later_leaves_the_list(db: str) -> None:
    clock = FakeClock(T0)
    drive, runtime = await called_drive(clock)
    calls = VoiceCalls(clock=clock, settings=make_settings(voice_retries=0), drives=runtime)
    batch = await DriveBatch.get(drive_id=drive.id, seq=1)
    await fail_calls(clock, calls, f"drive:{drive.id}:b{batch.id}:call", ["no-answer"])
    status = await load_status(drive.id)
    assert status is not None and [v.outcomes for v in status.silent] == [("no-answer",)]
    await DriveHousehold.filter(drive_id=drive.id, floor=3).update(reply=1)
    status = await load_status(drive.id)
    assert status is not None and status.silent == []
    # The unanswered call still counts on its floor.
    assert status.points[0].buildings[0].by_floor[3].calls == {"no-answer": 1}


async def test_a_drive_without_failed_calls_shows_no_calls_line(db: str) -> None:
    clock = FakeClock(T0)
    drive, _ = await called_drive(clock)
    status = await load_status(drive.id)
    assert status is not None and status.silent == []
    assert "电话未接" not in render_status(status, "zh-CN", TZ)
