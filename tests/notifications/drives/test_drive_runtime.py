"""More promises of the drive runtime (notifications/drives.py) on a fake clock; the list of
promises is in test_drives.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from config.clock import FakeClock
from config.i18n import text
from estate.models import Building, Contact, Household, Staff, StaffBuilding
from notifications.drives.models import Drive, DriveBatch, DriveHousehold, DrivePoint
from notifications.drives.runtime import (
    LAST_CALL,
    REPLY_PREFIX,
    SILENT,
    DriveError,
    DriveRuntime,
    TickResult,
    building_staff,
)
from notifications.drives.texts import DRIVE_TEXTS, resident_text
from notifications.models import OutboxMessage, Priority, Timer
from notifications.voice_script import callup_spec
from tests.notifications.drives.test_drives import (
    MIN,
    T0,
    options,
    rooms_of,
    sent,
    small_estate,
    start,
)


async def one_building(clock: FakeClock, floors: int = 4, per_floor: int = 2, **opts: object):  # type: ignore[no-untyped-def]
    await small_estate(buildings=1, floors=floors, per_floor=per_floor)
    drive, _ = await start(clock, options(points=[("A", [1])], **opts))
    return drive, DriveRuntime(clock=clock)


async def batch(drive: Drive, seq: int) -> DriveBatch:
    return await DriveBatch.get(drive_id=drive.id, seq=seq)


async def test_next_due_follows_ready_call_slot_and_timers(db: str) -> None:
    clock = FakeClock(T0)
    drive, runtime = await one_building(clock, floors=2, per_floor=1)
    assert await runtime.next_due() == T0 + 8 * MIN  # the first "get ready"
    assert await runtime.next_due_in() == 8 * 60
    clock.set(T0 + 8 * MIN)
    await runtime.tick()
    assert await runtime.next_due() == T0 + 10 * MIN  # its call
    clock.set(T0 + 10 * MIN)
    await runtime.tick()
    assert await runtime.next_due() == T0 + 13 * MIN  # the second batch's "get ready"
    await runtime.pause(drive.id, "A")
    assert await runtime.next_due() is None  # a paused point has nothing due
    await runtime.resume(drive.id, "A")
    clock.set(T0 + 15 * MIN)
    await runtime.tick()  # the building's last batch: its last call is a slot later
    timer = await Timer.get(kind=LAST_CALL)
    assert timer.due_at == T0 + 20 * MIN and timer.status == "pending"
    assert await runtime.next_due() == T0 + 20 * MIN
    clock.set(T0 + 20 * MIN)
    await runtime.tick()
    assert await runtime.next_due() == T0 + 25 * MIN  # the silent list
    assert (await Timer.get(kind=SILENT)).due_at == T0 + 25 * MIN
    clock.set(T0 + 25 * MIN)
    done = await runtime.tick()
    assert done.finished == [drive.id] and done.silent == 2
    assert await runtime.next_due() is None
    await drive.refresh_from_db()
    assert (drive.status, drive.finished_at) == ("done", T0 + 25 * MIN)


async def test_a_tick_wakes_the_dispatcher_only_when_it_enqueued(db: str) -> None:
    clock = FakeClock(T0)
    woken: list[int] = []
    results: list[TickResult] = []
    await small_estate(buildings=1, floors=2, per_floor=1)
    drive, _ = await start(clock, options(points=[("A", [1])]))
    runtime = DriveRuntime(clock=clock, wake_dispatcher=lambda: woken.append(1))
    runtime.on_tick.append(results.append)
    await runtime.tick()
    assert woken == [] and results[-1].messages == 0
    clock.set(T0 + 8 * MIN)
    result = await runtime.tick()
    assert woken == [1] and (result.messages, result.called) == (1, 0)
    assert (await batch(drive, 1)).state == "ready"  # the "get ready" went out, nothing called
    clock.set(T0 + 10 * MIN)
    result = await runtime.tick()
    assert (result.called, result.messages) == (1, 1) and len(woken) == 2


async def test_a_batch_a_second_late_keeps_the_schedule_two_seconds_moves_it(db: str) -> None:
    clock = FakeClock(T0)
    drive, runtime = await one_building(clock)
    clock.set(T0 + 10 * MIN + timedelta(seconds=1))
    await runtime.tick()
    assert (await batch(drive, 2)).call_at == T0 + 15 * MIN
    clock.set(T0 + 15 * MIN + timedelta(seconds=2))
    await runtime.tick()
    second = await batch(drive, 2)
    assert (second.state, second.call_at) == ("called", T0 + 15 * MIN + timedelta(seconds=2))
    third = await batch(drive, 3)
    assert third.call_at == T0 + 20 * MIN + timedelta(seconds=2)
    assert third.ready_at == T0 + 18 * MIN + timedelta(seconds=2)


async def test_ready_messages_expire_at_the_call_and_are_dropped_when_called(db: str) -> None:
    clock = FakeClock(T0)
    drive, runtime = await one_building(clock, per_floor=1)
    clock.set(T0 + 8 * MIN)
    await runtime.tick()
    [ready] = await sent("ready")
    assert ready.ref == f"drive:{drive.id}:b{(await batch(drive, 1)).id}:ready"
    assert (ready.priority, ready.expires_at, ready.status) == (
        Priority.REPLY,
        T0 + 10 * MIN,
        "queued",
    )
    assert (await batch(drive, 1)).ready_sent_at == T0 + 8 * MIN
    assert (await batch(drive, 1)).state == "ready"
    clock.set(T0 + 10 * MIN)
    await runtime.tick()
    await ready.refresh_from_db()
    assert (ready.status, ready.error) == ("cancelled", "called")  # still queued: too late
    [call] = await sent("call")
    assert call.expires_at is None and call.priority == Priority.CALLUP
    part = await DriveHousehold.get(household_id=call.household_id)  # type: ignore[attr-defined]
    assert call.idempotency_key == f"drive:{drive.id}:call:{part.id}"


async def test_no_ready_is_dropped_without_a_lead(db: str) -> None:
    clock = FakeClock(T0)
    drive, runtime = await one_building(clock, per_floor=1, lead=timedelta(0))
    clock.set(T0 + 10 * MIN)
    result = await runtime.tick()
    first = await batch(drive, 1)
    assert first.state == "called" and not first.ready_dropped and result.called == 1
    assert await sent("ready") == []  # no lead: nothing to drop, nothing sent early


async def test_the_called_batch_is_done_after_its_slot(db: str) -> None:
    clock = FakeClock(T0)
    drive, runtime = await one_building(clock, floors=1, per_floor=1)
    clock.set(T0 + 10 * MIN)
    await runtime.tick()
    clock.set(T0 + 15 * MIN - timedelta(seconds=1))
    await runtime.tick()
    assert (await batch(drive, 1)).state == "called"
    clock.set(T0 + 15 * MIN)
    await runtime.tick()
    assert (await batch(drive, 1)).state == "done"


async def test_adaptive_pace_needs_the_share_and_an_empty_batch_moves_on(db: str) -> None:
    clock = FakeClock(T0)
    drive, runtime = await one_building(
        clock,
        floors=3,
        per_floor=3,
        pace="adaptive",
        share=0.5,
        min_interval=2 * MIN,
        max_interval=10 * MIN,
    )
    clock.set(T0 + 10 * MIN)
    await runtime.tick()
    await runtime.reply(await Contact.get(household=await Household.get(room="301")), 1)
    await runtime.reply(await Contact.get(household=await Household.get(room="302")), 3)
    clock.set(T0 + 13 * MIN)  # one of three said 1: below half
    await runtime.tick()
    assert (await batch(drive, 2)).state != "called"
    await runtime.reply(await Contact.get(household=await Household.get(room="303")), 1)
    clock.set(T0 + 14 * MIN)  # two of three
    await runtime.tick()
    assert (await batch(drive, 2)).called_at == T0 + 14 * MIN
    assert (await batch(drive, 1)).state == "done"


async def test_last_call_goes_to_the_silent_only_with_the_points_location(db: str) -> None:
    clock = FakeClock(T0)
    await small_estate(buildings=1, floors=1, per_floor=3)
    drive, _ = await start(clock, options(points=[("A", [1])], locations={"A": "东门"}))
    runtime = DriveRuntime(clock=clock)
    clock.set(T0 + 10 * MIN)
    await runtime.tick()
    [answered, marked, silent] = await Household.all().order_by("room")
    await runtime.reply(await Contact.get(household=answered), 1)
    await runtime.mark(drive.id, 1, marked.room, 3, "v" * 150)
    part = await DriveHousehold.get(household=marked)
    assert (part.reply, part.marked_by, part.door_reason) == (3, "v" * 100, "")
    assert not await runtime.awaiting(marked.id)
    clock.set(T0 + 15 * MIN)
    await runtime.tick()
    [last] = await sent("last_call")  # one last call: only the silent household
    assert await rooms_of([last]) == [f"1-{silent.room}"]
    assert "东门" in last.body["text"] and last.priority == Priority.CALLUP
    assert last.ref == f"drive:{drive.id}:last"
    assert (await DriveHousehold.get(household=silent)).last_call_at == T0 + 15 * MIN
    assert (await DriveHousehold.get(household=answered)).last_call_at is None
    await runtime.mark(drive.id, 1, silent.room, 2, "v")
    part = await DriveHousehold.get(household=silent)
    assert part.door_reason == "cannot"
    with pytest.raises(DriveError, match="not in drive"):
        await runtime.mark(drive.id, 1, "999", 1, "v")


async def test_the_silent_list_names_rooms_in_floor_order(db: str) -> None:
    clock = FakeClock(T0)
    await Staff.create(name="admin", role="admin", telegram_chat_id=5, language="en")
    drive, runtime = await one_building(clock, floors=2, per_floor=2)
    for minute in (10, 15, 20, 25):
        clock.set(T0 + minute * MIN)
        await runtime.tick()
    [told] = await OutboxMessage.filter(purpose="staff")
    assert told.body["text"] == text(
        DRIVE_TEXTS,
        "silent_list",
        "en",
        drive=drive.id,
        building=1,
        count=4,
        rooms="101、102、201、202",
    )
    assert told.idempotency_key == f"drive:{drive.id}:silent:1:A:s{(await Staff.get()).id}"
    assert await DriveHousehold.filter(silent=True).count() == 4
    assert not await runtime.awaiting((await Household.get(room="101")).id)


async def test_pace_commands_refuse_what_cannot_be_done(db: str) -> None:
    clock = FakeClock(T0)
    drive, runtime = await one_building(clock, floors=1, per_floor=1)
    assert await runtime.resume(drive.id, "A") == timedelta(0)  # not paused
    await runtime.pause(drive.id, "A")
    paused_at = (await DrivePoint.get(drive_id=drive.id)).paused_at
    clock.advance(60)
    await runtime.pause(drive.id, "A")  # pausing twice keeps the first time
    assert (await DrivePoint.get(drive_id=drive.id)).paused_at == paused_at
    with pytest.raises(DriveError, match="paused"):
        await runtime.call_next(drive.id, "A")
    assert await runtime.resume(drive.id, "A") == timedelta(seconds=60)
    assert (await batch(drive, 1)).call_at == T0 + 11 * MIN
    await runtime.call_next(drive.id, "A")
    await runtime.tick()
    with pytest.raises(DriveError, match="no batch left to call"):
        await runtime.call_next(drive.id, "A")
    with pytest.raises(DriveError, match="no batch left to skip"):
        await runtime.skip(drive.id, "A")
    with pytest.raises(DriveError, match="no point 'Z'"):
        await runtime.call_next(drive.id, "Z")
    with pytest.raises(DriveError, match="no drive 999"):
        await runtime.pause(999, "A")


async def test_pace_commands_name_the_drive_and_touch_only_their_point(db: str) -> None:
    clock = FakeClock(T0)
    await small_estate(buildings=2, floors=1, per_floor=1)
    drive, _ = await start(clock)
    runtime = DriveRuntime(clock=clock)
    with pytest.raises(DriveError) as refused:
        await runtime.pause(drive.id, "Z")
    assert refused.value.describe("en") == f"drive {drive.id} has no point 'Z' (points: A, B)"
    a_call_at = (await DriveBatch.get(drive_id=drive.id, point="A")).call_at
    called = await runtime.call_next(drive.id, "B")  # /next on B leaves A alone
    assert (called.point, called.building) == ("B", 2)
    assert (await DriveBatch.get(drive_id=drive.id, point="A")).call_at == a_call_at
    await Drive.filter(id=drive.id).update(status="done")
    with pytest.raises(DriveError) as refused:
        await runtime.pause(drive.id, "A")
    assert refused.value.describe("en") == f"drive {drive.id} is done"


async def test_skip_cancels_the_skipped_batchs_get_ready(db: str) -> None:
    clock = FakeClock(T0)
    drive, runtime = await one_building(clock, floors=2, per_floor=1)
    clock.set(T0 + 8 * MIN)
    await runtime.tick()
    household = await Household.get(room="201")
    assert await runtime.awaiting(household.id)
    skipped = await runtime.skip(drive.id, "A")
    assert skipped.seq == 1
    [ready] = await sent("ready")
    assert (ready.status, ready.error) == ("cancelled", "skipped")
    assert not await runtime.awaiting(household.id)
    assert (await batch(drive, 2)).call_at == T0 + 10 * MIN


async def test_a_restarted_runtime_knows_who_is_awaited_and_takes_sms_digits(db: str) -> None:
    clock = FakeClock(T0)
    _, runtime = await one_building(clock, floors=1, per_floor=2)
    clock.set(T0 + 10 * MIN)
    await runtime.tick()
    first, second = await Household.all().order_by("room")
    await runtime.reply(await Contact.get(household=first), 3)
    restarted = DriveRuntime(clock=clock)
    assert await restarted.awaiting(second.id) and not await restarted.awaiting(first.id)
    ack = await restarted.reply(await Contact.get(household=second), 1)
    assert ack is not None and ack.text == text(DRIVE_TEXTS, "ack_1", "zh-CN")
    assert await restarted.reply(await Contact.get(household=second), 2) is None  # answered


async def test_options_again_by_sms_spells_the_digits_and_by_chat_gives_buttons(db: str) -> None:
    clock = FakeClock(T0)
    _, runtime = await one_building(clock, floors=1, per_floor=1)
    clock.set(T0 + 10 * MIN)
    await runtime.tick()
    contact = await Contact.get()
    part = await DriveHousehold.get()
    sms = runtime.options_again(contact)
    assert sms.text == text(DRIVE_TEXTS, "again", "zh-CN") + text(
        DRIVE_TEXTS, "options_sms", "zh-CN"
    )
    assert not sms.buttons
    contact.channel = "telegram"
    chat = runtime.options_again(contact)
    assert [row[0].data for row in chat.buttons] == [
        f"{REPLY_PREFIX}{part.id}:{n}" for n in (1, 2, 3)
    ]
    call = runtime.resident_message("call", part, contact, location="")
    assert call.buttons and call.extra["alt"]["sms"]["text"].startswith("【楼长助手】")
    ready = runtime.resident_message("ready", part, contact, location="", minutes=2)
    assert not ready.buttons and "alt" in ready.extra


async def test_resident_message_per_channel(db: str) -> None:
    clock = FakeClock(T0)
    _, runtime = await one_building(clock, floors=1, per_floor=1)
    clock.set(T0 + 10 * MIN)
    await runtime.tick()
    contact = await Contact.get()
    part = await DriveHousehold.get()
    values = dict(building=part.building, room=part.room, point=part.point, location="East gate")
    sms_call = resident_text("call", "en", sms=True, minutes=0, **values)
    contact.language, contact.channel = "en", "sms"
    sms = runtime.resident_message("call", part, contact, location="East gate")
    assert (sms.text, sms.buttons, sms.extra) == (sms_call, (), {})
    contact.channel = "telegram"
    chat = runtime.resident_message("call", part, contact, location="East gate")
    assert chat.text == resident_text("call", "en", sms=False, minutes=0, **values) + "\n" + (
        text(DRIVE_TEXTS, "options_chat", "en")
    )
    assert [row[0].data for row in chat.buttons] == [
        f"{REPLY_PREFIX}{part.id}:{n}" for n in (1, 2, 3)
    ]
    assert [row[0].label for row in chat.buttons] == [
        text(DRIVE_TEXTS, f"button_{n}", "en") for n in (1, 2, 3)
    ]
    assert chat.extra["alt"]["sms"]["text"] == sms_call
    ready = runtime.resident_message("ready", part, contact, location="East gate", minutes=3)
    assert ready.text == resident_text("ready", "en", sms=False, minutes=3, **values)
    assert ready.extra["alt"]["sms"]["text"] == resident_text(
        "ready", "en", sms=True, minutes=3, **values
    )
    contact.channel = "voice"
    voice = runtime.resident_message("call", part, contact, location="East gate")
    assert voice.text == sms_call
    spec = dict(
        lang="en",
        part=part.id,
        building=part.building,
        floor=part.floor,
        room=part.room,
        point=part.point,
        location="East gate",
    )
    assert voice.extra["voice"] == callup_spec("call", **spec)  # type: ignore[arg-type]
    ready = runtime.resident_message("ready", part, contact, location="East gate", minutes=3)
    assert ready.extra["voice"] == callup_spec("ready", minutes=3, **spec)  # type: ignore[arg-type]
    contact.language = "zh-HK"  # no voice script in that language: Mandarin
    assert (
        runtime.resident_message("call", part, contact, location="").extra["voice"]["lang"]
        == "zh-CN"
    )


async def test_a_timer_of_a_finished_drive_is_cancelled(db: str) -> None:
    clock = FakeClock(T0)
    drive, runtime = await one_building(clock, floors=1, per_floor=1)
    clock.set(T0 + 10 * MIN)
    await runtime.tick()
    await Drive.filter(id=drive.id).update(status="done")
    clock.set(T0 + 15 * MIN)
    await runtime.tick()
    assert (await Timer.get(kind=LAST_CALL)).status == "cancelled"
    assert await sent("last_call") == []


async def test_a_reply_wakes_the_runtime_only_in_adaptive_pace_and_is_logged(
    db: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(T0)
    drive, runtime = await one_building(clock, floors=1, per_floor=2)
    clock.set(T0 + 10 * MIN)
    await runtime.tick()
    first, second = await Household.all().order_by("room")
    runtime._wake.clear()
    with caplog.at_level("INFO", logger="notifications.drives.runtime"):
        await runtime.reply(await Contact.get(household=first), 1)
    assert not runtime._wake.is_set()  # fixed pace: nothing to advance
    assert [r.getMessage() for r in caplog.records] == [
        f"drive {drive.id}: reply 1 from a household of building 1"
    ]
    await Drive.filter(id=drive.id).update(pace="adaptive")
    await runtime.reply(await Contact.get(household=second), 3)
    assert runtime._wake.is_set()


async def test_building_staff_lists_each_member_once_and_only_the_active(db: str) -> None:
    await small_estate(buildings=2, floors=1, per_floor=1)
    one, two = await Building.get(number=1), await Building.get(number=2)
    admin = await Staff.create(name="admin", role="admin")
    cadre = await Staff.create(name="cadre", role="cadre")
    await Staff.create(name="old", role="admin", active=False)
    await Staff.create(name="nopoint", role="point", point=None)
    for member in (admin, cadre):
        for building in (one, two):
            await StaffBuilding.create(staff=member, building=building)
    assert sorted(m.name for m in await building_staff(1)) == ["admin", "cadre"]
    assert sorted(m.name for m in await building_staff(2, "A")) == ["admin", "cadre"]
