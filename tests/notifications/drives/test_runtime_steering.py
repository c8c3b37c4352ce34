"""Staff steering a running drive (/next, /pause, /resume, /skip, /cancel, a volunteer's mark)
and a resident's 1/2/3, on a fake clock against the database.

Promises checked here:
- A refusal names what cannot be done in English and, for the staff member, in their language.
- The 1/2/3 buttons are labelled in the resident's language and carry their own part; a
  household not awaited gets buttons that name no part.
- A voice note added to a message keeps its text, buttons and other extras.
- A reply stores the digit and the time; only 2 asks for a door visit, a changed mind clears
  it; the acknowledgement is in the resident's language.
- A press for a batch not yet told to get ready, or a skipped one, records nothing and says so.
- A volunteer's mark stores the value, the time and who marked (cut to 100 characters) on the
  named building's room, in this drive only; 2 asks for a door visit, another value keeps an
  earlier reason; the household is no longer awaited.
- /cancel drops only this drive's queued messages and pending timers ("drive cancelled"),
  leaves sent messages and fired timers as they are, and stamps the drive's end.
- /skip cancels the skipped batch's queued "get ready" and call-up call, not other batches'.
- /pause stamps the pause once; /next and /skip wake the runtime and return the batch.
- /drive voice keeps only the note's name and Telegram id and stamps the drive; a note for
  another building keeps the first; it reaches every queued call-up call of its buildings and
  only those of this drive, counts only this drive's waiting batches of those buildings, and is
  logged (also when several batches are readied at once); for a drive that is not running
  nothing is attached.
- The staff of a building of one estate are not those of the same number in another estate,
  and never staff without a looking-after role.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from config.clock import FakeClock
from config.i18n import text
from estate.models import Building, Contact, Estate, Household, Staff, StaffBuilding
from notifications.drives.models import Drive, DriveBatch, DriveHousehold, DrivePoint
from notifications.drives.runtime import (
    REPLY_PREFIX,
    AttachedAudio,
    DriveError,
    DriveRuntime,
    building_staff,
    with_audio,
)
from notifications.drives.texts import DRIVE_TEXTS
from notifications.message import Button, Message
from notifications.models import OutboxMessage, Timer
from tests.notifications.drives.test_drives import MIN, T0, options, small_estate, start

# ---- pure -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "values", "en", "zh"),
    [
        (
            "paused",
            {"point": "A"},
            "point A is paused; /resume first",
            "采样点 A 已暂停；请先恢复（/resume）",
        ),
        (
            "not_running",
            {"drive": 3, "status": "cancelled"},
            "drive 3 is cancelled",
            "第 3 次叫号已经取消",
        ),
        (
            "not_in_drive",
            {"building": 2, "room": "301", "drive": 4},
            "2-301 is not in drive 4",
            "2-301 不在第 4 次叫号里",
        ),
    ],
)
def test_a_refusal_is_english_and_in_the_staff_members_language(
    kind: str, values: dict[str, object], en: str, zh: str
) -> None:
    error = DriveError(kind, **values)
    assert str(error) == en
    assert error.describe("en") == en
    assert error.describe("zh-CN") == zh


def test_a_voice_note_keeps_the_messages_text_buttons_and_extras() -> None:
    buttons = ((Button("1", "x:1"),),)
    message = Message("come down", buttons, extra={"voice": {"step": "call"}})
    noted = with_audio(message, {"name": "n.mp3"})
    assert (noted.text, noted.buttons) == ("come down", buttons)
    assert noted.extra == {"voice": {"step": "call"}, "audio": {"name": "n.mp3"}}
    plain = with_audio(Message("hi"), {"name": "n.mp3", "file_id": "f"})
    assert plain.extra == {"audio": {"name": "n.mp3", "file_id": "f"}}


# ---- with a database ------------------------------------------------------------------------


async def one_building(clock: FakeClock, floors: int = 2, per_floor: int = 1, **opts: object):  # type: ignore[no-untyped-def]
    await small_estate(buildings=1, floors=floors, per_floor=per_floor)
    drive, _ = await start(clock, options(points=[("A", [1])], **opts))
    return drive, DriveRuntime(clock=clock)


async def contact_of(room: str, language: str = "zh-CN") -> Contact:
    contact = await Contact.get(household__room=room)
    contact.language = language
    await contact.save()
    return contact


async def test_options_again_label_the_buttons_in_the_residents_language(db: str) -> None:
    clock = FakeClock(T0)
    _, runtime = await one_building(clock, floors=1)
    clock.set(T0 + 10 * MIN)
    await runtime.tick()
    contact = await contact_of("101", "en")
    part = await DriveHousehold.get()
    sms = runtime.options_again(contact)
    assert sms.text == text(DRIVE_TEXTS, "again", "en") + text(DRIVE_TEXTS, "options_sms", "en")
    contact.channel = "telegram"
    chat = runtime.options_again(contact)
    assert chat.text == text(DRIVE_TEXTS, "again", "en") + text(DRIVE_TEXTS, "options_chat", "en")
    assert [(row[0].label, row[0].data) for row in chat.buttons] == [
        (text(DRIVE_TEXTS, f"button_{n}", "en"), f"{REPLY_PREFIX}{part.id}:{n}") for n in (1, 2, 3)
    ]
    await runtime.reply(contact, 1)  # answered: no part is awaited any more
    again = runtime.options_again(contact)
    assert [row[0].data for row in again.buttons] == [f"{REPLY_PREFIX}0:{n}" for n in (1, 2, 3)]


async def test_a_reply_stores_the_digit_and_a_changed_mind_clears_the_door_visit(
    db: str,
) -> None:
    clock = FakeClock(T0)
    _, runtime = await one_building(clock, floors=1)
    clock.set(T0 + 10 * MIN)
    await runtime.tick()
    contact = await contact_of("101", "en")
    part = await DriveHousehold.get()
    for value in (2, 3, 1):
        clock.advance(60)
        ack = await runtime.reply(contact, value, part_id=part.id)
        assert ack is not None and ack.text == text(DRIVE_TEXTS, f"ack_{value}", "en")
        await part.refresh_from_db()
        assert (part.reply, part.replied_at) == (value, clock.now())
        assert part.door_reason == ("cannot" if value == 2 else "")
    await Drive.all().update(status="cancelled")
    ack = await runtime.reply(contact, 1, part_id=part.id)
    assert ack is not None and ack.text == text(DRIVE_TEXTS, "closed", "en")


async def test_a_press_for_a_batch_not_called_or_skipped_records_nothing(db: str) -> None:
    clock = FakeClock(T0)
    drive, runtime = await one_building(clock)  # floor 2 first, then floor 1
    clock.set(T0 + 10 * MIN)
    await runtime.tick()
    later = await DriveHousehold.get(room="101")  # its batch is not even readied
    contact = await contact_of("101", "en")
    ack = await runtime.reply(contact, 1, part_id=later.id)
    assert ack is not None and ack.text == text(DRIVE_TEXTS, "not_called", "en")
    clock.set(T0 + 13 * MIN)  # floor 1 readied, then skipped
    await runtime.tick()
    await runtime.skip(drive.id, "A")
    assert await runtime.reply(contact, 1) is None  # no longer awaited
    ack = await runtime.reply(contact, 1, part_id=later.id)
    assert ack is not None and ack.text == text(DRIVE_TEXTS, "not_called", "en")
    await later.refresh_from_db()
    assert (later.reply, later.replied_at) == (None, None)


async def test_a_volunteers_mark_stores_who_marked_and_keeps_an_earlier_reason(db: str) -> None:
    clock = FakeClock(T0)
    drive, runtime = await one_building(clock)
    other, _ = await start(clock, options(points=[("A", [1])]))  # the same rooms, later
    clock.set(T0 + 10 * MIN)
    await runtime.tick()
    household = await Household.get(room="201")
    assert await runtime.awaiting(household.id)
    runtime._wake.clear()
    volunteer = "v" * 150
    marked = await runtime.mark(drive.id, 1, "201", 2, volunteer)
    assert marked.household_id == household.id  # type: ignore[attr-defined]
    assert runtime._wake.is_set()
    assert not await runtime.awaiting(household.id)
    part = await DriveHousehold.get(drive_id=drive.id, room="201")
    assert (part.reply, part.replied_at) == (2, T0 + 10 * MIN)
    assert (part.marked_by, part.door_reason) == ("v" * 100, "cannot")
    clock.advance(60)
    await runtime.mark(drive.id, 1, "201", 1, "point")
    part = await DriveHousehold.get(drive_id=drive.id, room="201")
    assert (part.reply, part.replied_at, part.marked_by) == (1, clock.now(), "point")
    assert part.door_reason == "cannot"  # a mark does not clear an earlier reason
    await runtime.mark(drive.id, 1, "101", 3, "point")
    assert (await DriveHousehold.get(drive_id=drive.id, room="101")).door_reason == ""
    with pytest.raises(DriveError, match="1-999 is not in drive") as refused:
        await runtime.mark(drive.id, 1, "999", 1, "point")
    assert refused.value.describe("zh-CN") == f"1-999 不在第 {drive.id} 次叫号里"
    theirs = await DriveHousehold.filter(drive_id=other.id).values_list("reply", "marked_by")
    assert set(theirs) == {(None, None)}


async def test_a_mark_lands_on_the_named_buildings_room(db: str) -> None:
    clock = FakeClock(T0)
    await small_estate(buildings=2, floors=1, per_floor=1)  # room 101 in both buildings
    drive, _ = await start(clock)
    runtime = DriveRuntime(clock=clock)
    await runtime.mark(drive.id, 2, "101", 3, "point")
    marked = await DriveHousehold.filter(drive_id=drive.id).values_list("building", "reply")
    assert sorted(marked) == [(1, None), (2, 3)]


async def test_cancel_drops_only_this_drives_queued_messages_and_timers(db: str) -> None:
    clock = FakeClock(T0)
    await small_estate(buildings=2, floors=2, per_floor=1)
    drive, _ = await start(clock, options(points=[("A", [1])]))
    other, _ = await start(clock, options(points=[("B", [2])]))
    runtime = DriveRuntime(clock=clock)
    for minute in (10, 15, 20):  # both floors called, the last call made, the silent timer set
        clock.set(T0 + minute * MIN)
        await runtime.tick()
    queued = await OutboxMessage.filter(status="queued", ref__startswith=f"drive:{drive.id}:")
    assert queued
    await OutboxMessage.filter(id=queued[0].id).update(status="sent")
    clock.advance(30)
    assert await runtime.cancel(drive.id) == len(queued) - 1
    await drive.refresh_from_db()
    assert (drive.status, drive.finished_at, drive.updated_at) == (
        "cancelled",
        clock.now(),
        clock.now(),
    )
    mine = await OutboxMessage.filter(id__in=[m.id for m in queued]).order_by("id")
    assert mine[0].status == "sent"
    assert {(m.status, m.error, m.updated_at) for m in mine[1:]} == {
        ("cancelled", "drive cancelled", clock.now())
    }
    theirs = await OutboxMessage.filter(ref__startswith=f"drive:{other.id}:")
    assert theirs and {m.status for m in theirs} == {"queued"}
    timers = await Timer.filter(key__startswith=f"drive:{drive.id}:").order_by("id")
    assert [t.status for t in timers] == ["done", "cancelled"]  # a fired timer stays fired
    other_timers = await Timer.filter(key__startswith=f"drive:{other.id}:")
    assert other_timers and "cancelled" not in {t.status for t in other_timers}
    assert (await Drive.get(id=other.id)).status == "running"


async def voice_drive(clock: FakeClock):  # type: ignore[no-untyped-def]
    await small_estate(buildings=1, floors=3, per_floor=1)
    await Contact.all().update(channel="voice")
    await Household.all().update(preferred_channel="voice")
    drive, _ = await start(clock, options(points=[("A", [1])]))
    return drive, DriveRuntime(clock=clock, enabled={"telegram", "sms", "voice"})


async def test_skip_cancels_the_skipped_batchs_queued_calls_only(db: str) -> None:
    clock = FakeClock(T0)
    drive, runtime = await voice_drive(clock)
    for minute in (8, 10, 13):  # batch 1 called, batch 2 readied (its call-up call queued)
        clock.set(T0 + minute * MIN)
        await runtime.tick()
    first, second = [await DriveBatch.get(drive_id=drive.id, seq=n) for n in (1, 2)]
    ready = f"drive:{drive.id}:b{second.id}:ready"
    await OutboxMessage.filter(ref=ready).update(status="sent")  # already rang
    clock.advance(5)
    runtime._wake.clear()
    skipped = await runtime.skip(drive.id, "A")
    assert skipped.id == second.id and runtime._wake.is_set()
    assert (await DriveBatch.get(id=second.id)).state == "skipped"
    assert (await DriveBatch.get(drive_id=drive.id, seq=3)).state == "waiting"
    [rang] = await OutboxMessage.filter(ref=ready)
    assert rang.status == "sent"
    [call] = await OutboxMessage.filter(ref=f"drive:{drive.id}:b{second.id}:call")
    assert (call.status, call.error, call.updated_at) == ("cancelled", "skipped", clock.now())
    [untouched] = await OutboxMessage.filter(ref=f"drive:{drive.id}:b{first.id}:call")
    assert untouched.status == "queued"


async def test_pause_and_next_wake_the_runtime(db: str) -> None:
    clock = FakeClock(T0)
    drive, runtime = await one_building(clock, floors=3)
    clock.set(T0 + 10 * MIN)
    await runtime.tick()
    runtime._wake.clear()
    called = await runtime.call_next(drive.id, "A")
    assert called.seq == 2 and runtime._wake.is_set()
    await runtime.tick()
    runtime._wake.clear()
    await runtime.pause(drive.id, "A")
    assert runtime._wake.is_set()
    assert (await DrivePoint.get(drive_id=drive.id)).paused_at == T0 + 10 * MIN
    runtime._wake.clear()
    clock.advance(120)
    assert await runtime.resume(drive.id, "A") == timedelta(seconds=120)
    assert runtime._wake.is_set()
    assert (await DrivePoint.get(drive_id=drive.id)).paused_at is None


async def test_the_voice_note_keeps_only_its_name_and_telegram_id(db: str) -> None:
    clock = FakeClock(T0)
    drive, runtime = await voice_drive(clock)
    clock.advance(42)
    note = {"name": "n.mp3", "file_id": "tg-1", "path": "/tmp/secret"}
    attached = await runtime.attach_audio(drive.id, [1], note)
    assert attached.running and attached.batches == 3
    stored = await Drive.get(id=drive.id)
    assert stored.audio == {"1": {"name": "n.mp3", "file_id": "tg-1"}}
    assert stored.updated_at == clock.now()


async def test_building_staff_of_one_estate_only(db: str) -> None:
    await small_estate(buildings=1, floors=1, per_floor=1)
    other = await Estate.create(name="other")
    here = await Building.get(number=1)
    there = await Building.create(estate=other, number=1, floors=1)
    for name, role, building in (
        ("here", "officer", here),
        ("there", "officer", there),
        ("logistics", "logistics", here),
    ):
        member = await Staff.create(name=name, role=role)
        await StaffBuilding.create(staff=member, building=building)
    await Staff.create(name="volunteer", role="point", point="A")
    mine = await building_staff(1, "A", estate=here.estate_id)  # type: ignore[attr-defined]
    assert sorted(m.name for m in mine) == ["here", "volunteer"]
    assert sorted(m.name for m in await building_staff(1)) == ["here", "there"]


async def two_drives_with_voice_households(clock: FakeClock):  # type: ignore[no-untyped-def]
    """Buildings 1 (point A) and 2 (point B), two voice households a floor, in two drives."""
    await small_estate(buildings=2, floors=2, per_floor=2)
    await Contact.all().update(channel="voice")
    await Household.all().update(preferred_channel="voice")
    drive, _ = await start(clock, options())
    other, _ = await start(clock, options())
    runtime = DriveRuntime(clock=clock, enabled={"telegram", "sms", "voice"})
    clock.set(T0 + 8 * MIN)  # batch 1 of each point readied: its call-up calls queued
    await runtime.tick()
    return drive, other, runtime


async def noted(drive_id: int, building: int) -> list[bool]:
    rows = await OutboxMessage.filter(
        ref__startswith=f"drive:{drive_id}:b", ref__endswith=":call"
    ).order_by("id")
    return [
        "audio" in r.body["extra"] for r in rows if r.body["extra"]["voice"]["building"] == building
    ]


async def test_a_voice_note_reaches_every_queued_call_of_its_building_in_this_drive_only(
    db: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(T0)
    drive, other, runtime = await two_drives_with_voice_households(clock)
    first = {"name": "one.mp3", "file_id": "tg-1"}
    second = {"name": "two.mp3", "file_id": "tg-2"}
    with caplog.at_level("INFO", logger="notifications.drives.runtime"):
        one = await runtime.attach_audio(drive.id, [1], first)
        two = await runtime.attach_audio(drive.id, [2], second)
    assert one == two == AttachedAudio(running=True, queued_calls=2, batches=2)
    assert [r.getMessage() for r in caplog.records] == [
        f"drive {drive.id}: voice note for buildings [1] (2 queued calls)",
        f"drive {drive.id}: voice note for buildings [2] (2 queued calls)",
    ]
    assert (await Drive.get(id=drive.id)).audio == {"1": first, "2": second}
    assert await noted(drive.id, 1) == await noted(drive.id, 2) == [True, True]
    assert await noted(other.id, 1) == await noted(other.id, 2) == [False, False]
    assert (await Drive.get(id=other.id)).audio in (None, {})
    await runtime.cancel(drive.id)
    assert await runtime.attach_audio(drive.id, [1], first) == AttachedAudio(running=False)


async def test_next_and_skip_move_the_queued_voice_calls_with_their_batch(db: str) -> None:
    clock = FakeClock(T0)
    await small_estate(buildings=1, floors=3, per_floor=1)
    await Contact.all().update(channel="voice")
    await Household.all().update(preferred_channel="voice")
    drive, _ = await start(clock, options(points=[("A", [1])], lead=6 * MIN))
    runtime = DriveRuntime(clock=clock, enabled={"telegram", "sms", "voice"})
    for minute in (4, 9):  # batches 1 and 2 readied: both call-up calls queued
        clock.set(T0 + minute * MIN)
        await runtime.tick()
    second = await DriveBatch.get(drive_id=drive.id, seq=2)
    [call] = await OutboxMessage.filter(ref=f"drive:{drive.id}:b{second.id}:call")
    await runtime.skip(drive.id, "A")  # batch 1 skipped: batch 2 takes its time
    await call.refresh_from_db()
    second = await DriveBatch.get(id=second.id)
    assert call.next_attempt_at == second.call_at - timedelta(seconds=30) < T0 + 15 * MIN
    await runtime.call_next(drive.id, "A")  # /next: batch 2 now, its call placed at once
    await call.refresh_from_db()
    assert call.next_attempt_at == clock.now() - timedelta(seconds=30)


async def test_refusals_name_the_point(db: str) -> None:
    clock = FakeClock(T0)
    drive, runtime = await one_building(clock, floors=1)
    await runtime.pause(drive.id, "A")
    with pytest.raises(DriveError) as paused:
        await runtime.call_next(drive.id, "A")
    assert str(paused.value) == "point A is paused; /resume first"
    await runtime.resume(drive.id, "A")
    await runtime.skip(drive.id, "A")
    for command, kind in ((runtime.call_next, "call"), (runtime.skip, "skip")):
        with pytest.raises(DriveError) as refused:
            await command(drive.id, "A")
        assert str(refused.value) == f"point A has no batch left to {kind}"


async def test_a_voice_note_reaches_the_calls_of_every_readied_batch(db: str) -> None:
    clock = FakeClock(T0)
    await small_estate(buildings=1, floors=3, per_floor=1)
    await Contact.all().update(channel="voice")
    await Household.all().update(preferred_channel="voice")
    drive, _ = await start(clock, options(points=[("A", [1])], lead=6 * MIN))
    runtime = DriveRuntime(clock=clock, enabled={"telegram", "sms", "voice"})
    for minute in (4, 9):  # batches 1 and 2 readied: "get ready" and call-up calls queued
        clock.set(T0 + minute * MIN)
        await runtime.tick()
    attached = await runtime.attach_audio(drive.id, [1], {"name": "n.mp3"})
    assert attached.queued_calls == 2
