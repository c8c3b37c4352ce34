"""The drive runtime's tick over a whole drive: last calls, silent lists and the end (fake clock).

Promises:
- A silent list names its rooms floor by floor (floor 9 before floor 10), each floor's rooms in
  order, and goes to the drive estate's staff only (not a same-numbered building's elsewhere),
  and to the point's volunteers, not to other staff who work there.
- One building's silent list leaves the other buildings' last calls and silent lists to come;
  its households are no longer awaited, the others' still are (also after a restart).
- A building's last call comes a slot after its own last batch even when the point calls
  another building next; two buildings' silent lists due at once are both counted.
- A restarted runtime still lists the silent of a building whose batches are all done.
- A tick reports every message it enqueued: calls, last calls and silent lists together.
- A skipped batch's households get no last call; a household visited door to door gets none;
  when a building's last batch to call is skipped after an earlier one was called, the called
  households still get their last call (a slot after the skip) and the silent list follows;
  another drive's batches of the same point and building neither hold nor share the last call.
- When a drive ends, its households' digits are no longer taken as replies; another running
  drive is left running, and its timers do not hold this one; the drive's stored time of change
  is the end; the last call reads the location of its own drive's point.
- The next due moment is the earliest of every running drive's (another drive's paused point of
  the same name holds nothing here; other subsystems' timers do not count); a drive with
  nothing left is due at once, and the next tick finishes it.
- A restarted runtime takes replies from households called before the restart at its first
  tick; a drive ends although another drive still has batches to call.
- A point called late reads its whole schedule while another point's "get ready" still goes
  out, once; points called at once go in the points' order, whatever their batches' numbers.
- The runtime's loop ticks (the due batch is called) until it is stopped.
- A batch whose slot is over is done; a batch another drive is still calling (a longer slot)
  is not.
- A "get ready" says the lead in whole minutes (90 s: about 2; 30 s: about 1); a call-up names
  its point's location; a household that answered the "get ready" is not awaited after the
  call; a "get ready" already delivered stays delivered when its batch is called, a queued one
  is cancelled then; a call marks the drive changed; a tick counts every drive's calls and
  messages.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from config.clock import FakeClock
from config.i18n import text
from estate.models import Building, Contact, Estate, Household, Person, Staff, StaffBuilding
from notifications.drives.models import Drive, DriveBatch, DriveHousehold
from notifications.drives.runtime import DriveRuntime
from notifications.drives.texts import DRIVE_TEXTS
from notifications.message import Message
from notifications.models import OutboxMessage, Timer
from tests.notifications.drives.test_drives import (
    MIN,
    T0,
    options,
    rooms_of,
    sent,
    small_estate,
    start,
)


async def households(building: Building, rooms: list[tuple[int, str]]) -> None:
    """One SMS household per (floor, room), created in this order."""
    for floor, room in rooms:
        household = await Household.create(building=building, floor=floor, room=room)
        phone = f"+86138{building.id:03d}{household.id:05d}"
        person = await Person.create(household=household, name=room, phone=phone)
        await Contact.create(household=household, person=person, channel="sms", address=phone)


async def silent_list(drive: Drive, building: int, rooms: str, count: int) -> str:
    return text(
        DRIVE_TEXTS,
        "silent_list",
        "en",
        drive=drive.id,
        building=building,
        count=count,
        rooms=rooms,
    )


async def test_silent_lists_per_building_in_floor_order_to_the_estates_staff(db: str) -> None:
    estate = await Estate.create(name="here")
    elsewhere = await Estate.create(name="elsewhere")
    one = await Building.create(estate=estate, number=1, floors=10)
    two = await Building.create(estate=estate, number=2, floors=10)
    await households(one, [(9, "901"), (10, "1002"), (10, "1001")])
    await households(two, [(8, "801"), (9, "901"), (10, "1001")])
    other_one = await Building.create(estate=elsewhere, number=1, floors=10)
    admin = await Staff.create(name="admin", role="admin", telegram_chat_id=5, language="en")
    stranger = await Staff.create(name="c", role="cadre", telegram_chat_id=6, language="en")
    await StaffBuilding.create(staff=stranger, building=other_one)
    await Staff.create(name="l", role="logistics", point="A", telegram_chat_id=7)  # not a volunteer
    clock = FakeClock(T0)
    drive, _ = await start(clock, options(estate=estate.id))
    runtime = DriveRuntime(clock=clock)
    for minute in (10, 15):  # floors 10 and 9 of both buildings
        clock.set(T0 + minute * MIN)
        await runtime.tick()
    clock.set(T0 + 20 * MIN)  # building 2's floor 8 called; building 1's last call
    done = await runtime.tick()
    assert done.messages == 1 + 3 and len(await sent("last_call")) == 3
    clock.set(T0 + 25 * MIN)  # building 2's last call; building 1's silent list
    done = await runtime.tick()
    assert (done.messages, done.silent) == (3 + 1, 3)
    [told] = await OutboxMessage.filter(purpose="staff")
    assert told.address == str(admin.telegram_chat_id)
    assert told.body["text"] == await silent_list(drive, 1, "901、1001、1002", 3)
    assert told.ref == f"drive:{drive.id}:staff"
    [first] = await Household.filter(building=one, room="1001")
    [second] = await Household.filter(building=two, room="1001")
    assert not await runtime.awaiting(first.id) and await runtime.awaiting(second.id)
    restarted = DriveRuntime(clock=clock)  # the same from the rows
    assert not await restarted.awaiting(first.id) and await restarted.awaiting(second.id)
    clock.set(T0 + 30 * MIN)  # building 2's silent list, by a restarted runtime
    done = await DriveRuntime(clock=clock).tick()
    assert (done.silent, done.finished) == (3, [drive.id])
    await drive.refresh_from_db()
    assert drive.updated_at == drive.finished_at == T0 + 30 * MIN
    told_all = await OutboxMessage.filter(purpose="staff").order_by("id")
    assert [t.body["text"] for t in told_all] == [
        await silent_list(drive, 1, "901、1001、1002", 3),
        await silent_list(drive, 2, "801、901、1001", 3),
    ]
    assert await DriveHousehold.filter(drive_id=drive.id, silent=True).count() == 6


async def test_no_last_call_for_a_skipped_batch_or_door_to_door(db: str) -> None:
    await small_estate(buildings=1, floors=3, per_floor=2)
    at_home = await Household.get(room="301")
    clock = FakeClock(T0)
    drive, _ = await start(clock, options(points=[("A", [1])]), positive={at_home.id})
    # Another drive later, its own point A and more batches (one household each).
    await start(clock, options(points=[("A", [1])], start=T0 + 90 * MIN, capacity=1))
    runtime = DriveRuntime(clock=clock)
    clock.set(T0 + 10 * MIN)  # floor 3 (but 301: door to door); floor 2 is skipped
    await runtime.tick()
    assert (await runtime.skip(drive.id, "A")).floors == [2]
    for minute in (15, 20):  # floor 1 called, then the building's last call
        clock.set(T0 + minute * MIN)
        await runtime.tick()
    assert sorted(await rooms_of(await sent("last_call"))) == ["1-101", "1-102", "1-302"]


async def test_a_buildings_last_batch_skipped_after_a_call_still_brings_its_last_call(
    db: str,
) -> None:
    await small_estate(buildings=1, floors=2, per_floor=1)
    clock = FakeClock(T0)
    drive, _ = await start(clock, options(points=[("A", [1])]))
    runtime = DriveRuntime(clock=clock)
    clock.set(T0 + 10 * MIN)  # floor 2 called
    await runtime.tick()
    clock.set(T0 + 12 * MIN)  # floor 1, the building's last batch, skipped
    assert (await runtime.skip(drive.id, "A")).floors == [1]
    clock.set(T0 + 15 * MIN)  # floor 2's slot is over
    await runtime.tick()
    assert await sent("last_call") == []
    clock.set(T0 + 17 * MIN)  # the last call, a slot from the skip
    await runtime.tick()
    assert await rooms_of(await sent("last_call")) == ["1-201"]
    clock.set(T0 + 22 * MIN)  # then the silent list, and the drive is done
    done = await runtime.tick()
    assert (done.silent, done.finished) == (1, [drive.id])


async def test_the_end_of_a_drive_closes_its_replies_and_leaves_other_drives(db: str) -> None:
    await small_estate(buildings=2, floors=2, per_floor=1)
    clock = FakeClock(T0)
    drive, _ = await start(clock, options(points=[("A", [1])]))
    # Another drive, its building's last call and silent list still to come when this one ends.
    other, _ = await start(
        clock, options(points=[("B", [2])], start=T0 + 5 * MIN, interval=10 * MIN)
    )
    runtime = DriveRuntime(clock=clock)
    clock.set(T0 + 5 * MIN)  # the other drive's first batch
    await runtime.tick()
    clock.set(T0 + 10 * MIN)  # floor 2 called; floor 1, the building's last batch, skipped
    await runtime.tick()
    await runtime.skip(drive.id, "A")
    assert await runtime.next_due() == T0 + 13 * MIN  # the other's "get ready" before our slot
    called = await Household.get(room="201", building__number=1)
    assert await runtime.awaiting(called.id)
    finished: list[int] = []
    while not finished and clock.now() < T0 + 60 * MIN:
        clock.advance(5 * 60)
        finished = (await runtime.tick()).finished
    assert finished == [drive.id]
    await drive.refresh_from_db()
    assert drive.status == "done" and drive.updated_at == drive.finished_at == clock.now()
    assert not await runtime.awaiting(called.id)  # a digit now is not a reply
    await other.refresh_from_db()
    assert other.status == "running"


async def test_a_call_after_the_get_ready_in_two_drives_at_once(db: str) -> None:
    await small_estate(buildings=2, floors=1, per_floor=2)
    clock = FakeClock(T0)
    lead = timedelta(seconds=90)  # "in about 2 minutes"
    drive, _ = await start(clock, options(points=[("A", [1])], lead=lead, locations={"A": "东门"}))
    other, _ = await start(clock, options(points=[("B", [2])], lead=lead, interval=10 * MIN))
    runtime = DriveRuntime(clock=clock)
    clock.set(T0 + 10 * MIN - lead)
    await runtime.tick()
    ready = await sent("ready")
    assert len(ready) == 4 and all("约2分钟后" in r.body["text"] for r in ready)
    coming, waiting = await Household.filter(building__number=1).order_by("room")
    await runtime.reply(await Contact.get(household=coming), 1)  # "coming" to the get-ready
    gone = next(r for r in ready if r.household_id == waiting.id)  # type: ignore[attr-defined]
    await OutboxMessage.filter(id=gone.id).update(status="sent")  # already delivered
    clock.set(T0 + 10 * MIN)
    done = await runtime.tick()
    assert (done.called, done.messages) == (2, 4)
    calls = await sent("call")
    assert all("东门" in r.body["text"] for r in calls if r.ref.startswith(f"drive:{drive.id}:"))
    assert not await runtime.awaiting(coming.id) and await runtime.awaiting(waiting.id)
    rows = {r.id: r for r in await OutboxMessage.filter(id__in=[r.id for r in ready])}
    assert rows[gone.id].status == "sent"
    late = next(r for r in ready if r.household_id == coming.id)  # type: ignore[attr-defined]
    assert (rows[late.id].status, rows[late.id].updated_at) == ("cancelled", T0 + 10 * MIN)
    await drive.refresh_from_db()
    assert drive.updated_at == T0 + 10 * MIN
    clock.set(T0 + 15 * MIN)  # this drive's slot is over; the other's (10 minutes) is not
    await runtime.tick()
    states = dict(await DriveBatch.all().values_list("drive_id", "state"))
    assert states == {drive.id: "done", other.id: "called"}


async def test_each_building_of_a_point_gets_its_last_call_after_its_own_last_batch(
    db: str,
) -> None:
    await small_estate(buildings=3, floors=1, per_floor=1)
    clock = FakeClock(T0)
    await start(clock, options(points=[("A", [1, 2]), ("B", [3])]))
    runtime = DriveRuntime(clock=clock)
    clock.set(T0 + 10 * MIN)
    await runtime.tick()
    first = [row.building for row in await DriveBatch.filter(state="called", point="A")]
    clock.set(T0 + 15 * MIN)  # the point's next building is called; the first's last call
    done = await runtime.tick()
    assert sorted(await rooms_of(await sent("last_call"))) == [f"{first[0]}-101", "3-101"]
    assert done.messages == 1 + 2
    clock.set(T0 + 20 * MIN)  # silent lists of the first building and of building 3 at once
    done = await runtime.tick()
    assert done.silent == 2


async def test_a_get_ready_half_a_minute_ahead_says_about_one_minute(db: str) -> None:
    await small_estate(buildings=1, floors=1, per_floor=1)
    clock = FakeClock(T0)
    await start(clock, options(points=[("A", [1])], lead=timedelta(seconds=30)))
    clock.set(T0 + 10 * MIN - timedelta(seconds=30))
    await DriveRuntime(clock=clock).tick()
    [ready] = await sent("ready")
    assert "约1分钟后" in ready.body["text"]


async def test_two_drives_side_by_side_and_a_restart(db: str) -> None:
    await small_estate(buildings=2, floors=1, per_floor=1)
    clock = FakeClock(T0)
    drive, _ = await start(clock, options(points=[("A", [1])]))
    later, _ = await start(clock, options(points=[("A", [2])], start=T0 + 60 * MIN))
    await Timer.create(key="survey:1", kind="reminder", due_at=T0 + MIN)  # not a drive's
    runtime = DriveRuntime(clock=clock)
    assert await runtime.next_due() == T0 + 8 * MIN  # the first drive's "get ready"
    await runtime.pause(later.id, "A")  # the other drive's point A, not this one's
    assert await runtime.next_due() == T0 + 8 * MIN
    await runtime.resume(later.id, "A")
    clock.set(T0 + 10 * MIN)
    await runtime.tick()
    restarted = DriveRuntime(clock=clock)
    clock.set(T0 + 11 * MIN)
    await restarted.tick()
    contact = await Contact.get(household__building__number=1)
    assert await restarted.reply(contact, 1) == Message(text(DRIVE_TEXTS, "ack_1", "zh-CN"))
    finished = []
    for minute in (15, 20):  # the slot and the last call (to nobody); the silent list: over
        clock.set(T0 + minute * MIN)
        finished += (await restarted.tick()).finished
    assert finished == [drive.id]  # the other drive still has its batch to call


async def test_a_drive_with_nothing_left_is_due_now(db: str) -> None:
    await small_estate(buildings=1, floors=1, per_floor=1)
    clock = FakeClock(T0)
    drive, _ = await start(clock, options(points=[("A", [1])]))
    runtime = DriveRuntime(clock=clock)
    await runtime.skip(drive.id, "A")  # its only batch
    assert await runtime.next_due() == T0  # the next tick finishes it
    assert (await runtime.tick()).finished == [drive.id]


async def test_a_late_point_reads_its_schedule_and_the_other_point_still_gets_ready(
    db: str,
) -> None:
    await small_estate(buildings=2, floors=2, per_floor=1)
    clock = FakeClock(T0)
    drive, _ = await start(clock)  # points A (building 1) and B (building 2)
    runtime = DriveRuntime(clock=clock)
    await runtime.pause(drive.id, "B")
    clock.set(T0 + MIN)
    await runtime.resume(drive.id, "B")  # B a minute later: ready 06:09, called 06:11
    clock.set(T0 + 10 * MIN + timedelta(seconds=30))  # A half a minute late; B's "get ready"
    done = await runtime.tick()
    assert (done.called, done.messages) == (1, 2)
    assert await rooms_of(await sent("call")) == ["1-201"]
    assert await rooms_of(await sent("ready")) == ["2-201"]


async def test_points_called_at_once_go_in_the_points_order_whatever_their_seq(db: str) -> None:
    await small_estate(buildings=2, floors=2, per_floor=1)
    clock = FakeClock(T0)
    drive, _ = await start(clock)
    runtime = DriveRuntime(clock=clock)
    await runtime.skip(drive.id, "A")  # A's second batch takes the first slot
    clock.set(T0 + 10 * MIN)
    await runtime.tick()
    assert await rooms_of(await sent("call")) == ["1-101", "2-201"]


async def test_the_loop_ticks_until_stopped(db: str) -> None:
    await small_estate(buildings=1, floors=1, per_floor=1)
    clock = FakeClock(T0 + 10 * MIN)
    await start(clock, options(points=[("A", [1])], start=T0 + 10 * MIN))
    runtime = DriveRuntime(clock=clock)
    stop = asyncio.Event()
    called: list[int] = []
    runtime.on_tick.append(lambda result: (called.append(result.called), stop.set()))
    await asyncio.wait_for(runtime.run(stop), timeout=5)
    assert called == [1] and len(await sent("call")) == 1
