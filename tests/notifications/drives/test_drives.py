"""The drive runtime on a fake clock, against the database (the outbox rows are what it sends).

Promises of notifications/drives.py (tests here and in test_drive_runtime.py):
- Batches are readied at ready_at and called at call_at, floor by floor, in the plan's order;
  points called at once are interleaved; a repeated tick or a restart sends nothing twice.
- "Get ready" has reply priority and expires at the call; one still queued when its batch is
  called is cancelled, and a batch called before its "get ready" went never gets one.
- A batch more than a second overdue is called now and the rest of its point keep their spacing.
- Pace: /next calls now and pulls the rest forward, /pause holds the point, /resume shifts it by
  the pause, /skip drops the next batch (and its queued "get ready"); impossible ones refuse.
- A pace command for a point the drive lacks is refused naming the drive and its points; one
  for a finished drive says it is done; /next on one point leaves the other points' times alone.
- Adaptive pace: the next batch goes once `share` replied 1, never before min_interval; with
  too few replies at max_interval; the last call comes max_interval after the last batch.
- A called batch is done after its slot; the building's last call goes a slot after its last
  batch to the silent only; one slot later the still silent are flagged and listed.
- The silent list goes only to the building's cadres and officers, the point's volunteers and
  the admins, never to other buildings' staff.
- A reply lands only on the replying household's own part, only while the drive runs; a
  cancelled drive answers "closed" and records nothing; an answered household is not awaited.
- Home-bound and positive households are never called; they are visited door to door.
- A call-up reads per channel: SMS gets the short text; chat the long text, the reply buttons
  (the call, labelled in the contact's language) and the SMS text as its fallback (the "get
  ready" too); voice the SMS text and a script in the contact's language (Mandarin when there
  is no script in it) naming the room, point, location and, to get ready, the minutes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from config.clock import FakeClock
from config.i18n import text
from estate.models import Building, Contact, Estate, Household, Person, Staff, StaffBuilding
from notifications.drives import planner
from notifications.drives.models import DriveBatch, DriveHousehold
from notifications.drives.parse import parse_reply
from notifications.drives.runtime import LAST_CALL, DriveError, DriveRuntime, building_staff
from notifications.drives.setup import DriveOptions, create_drive, preview
from notifications.drives.status import load_status, render_status
from notifications.drives.texts import DRIVE_TEXTS
from notifications.models import OutboxMessage, Priority, Timer

T0 = datetime(2022, 4, 10, 6, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


async def small_estate(*, floors: int = 4, per_floor: int = 2, buildings: int = 2) -> None:
    """Buildings 1..n, `per_floor` households per floor, one person and one SMS contact each."""
    estate = await Estate.create(name="test")
    phone = 13800000000
    for number in range(1, buildings + 1):
        building = await Building.create(estate=estate, number=number, floors=floors)
        for floor in range(1, floors + 1):
            for unit in range(1, per_floor + 1):
                household = await Household.create(
                    building=building, floor=floor, room=f"{floor}{unit:02d}"
                )
                phone += 1
                person = await Person.create(
                    household=household, name=f"p{phone}", phone=f"+86{phone}"
                )
                await Contact.create(
                    household=household, person=person, channel="sms", address=f"+86{phone}"
                )


def options(**overrides: object) -> DriveOptions:
    values: dict[str, object] = dict(
        points=[("A", [1]), ("B", [2])],
        start=T0 + 10 * MIN,
        interval=5 * MIN,
        lead=2 * MIN,
    )
    values.update(overrides)
    return DriveOptions(**values)  # type: ignore[arg-type]


async def start(clock: FakeClock, opts: DriveOptions | None = None, positive: set[int] = set()):  # type: ignore[no-untyped-def]  # noqa: B006
    opts = opts or options()
    result = await preview(opts, {"sms", "telegram"}, positive=positive)
    drive = await create_drive(opts, result.plan, now=clock.now())
    return drive, result


async def sent(kind: str | None = None) -> list[OutboxMessage]:
    rows = await OutboxMessage.filter(purpose="callup").order_by("id")
    return [r for r in rows if kind is None or f":{kind}:" in r.idempotency_key]


async def rooms_of(rows: list[OutboxMessage]) -> list[str]:
    out = []
    for row in rows:
        household = await Household.get(id=row.household_id).select_related("building")  # type: ignore[attr-defined]
        out.append(f"{household.building.number}-{household.room}")
    return out


async def test_a_drive_calls_floor_by_floor_top_down_with_get_ready_first(db: str) -> None:
    await small_estate()
    clock = FakeClock(T0)
    drive, result = await start(clock)
    assert (result.households, result.batches, result.sms_messages) == (16, 8, 32)
    runtime = DriveRuntime(clock=clock)

    await runtime.tick()
    assert await sent() == []  # nothing before 06:08
    assert await runtime.next_due() == T0 + 8 * MIN

    clock.set(T0 + 8 * MIN)  # first batches' "get ready"
    await runtime.tick()
    ready = await sent("ready")
    assert sorted(await rooms_of(ready)) == ["1-401", "1-402", "2-401", "2-402"]
    assert all(r.priority == Priority.REPLY for r in ready)  # after "come down now", before surveys
    assert all(r.expires_at == T0 + 10 * MIN for r in ready)  # never sent late
    assert "4层" not in ready[0].body["text"] and "401" in ready[0].body["text"]

    clock.set(T0 + 10 * MIN)
    await runtime.tick()
    calls = await sent("call")
    assert all(r.priority == Priority.CALLUP for r in calls)
    # Two points called at once: their first messages come first (interleaved).
    assert await rooms_of(calls) == ["1-401", "2-401", "1-402", "2-402"]
    assert "回复1" in calls[0].body["text"]
    batches = await DriveBatch.filter(drive_id=drive.id, state="called")
    assert sorted((b.point, b.floors) for b in batches) == [("A", [4]), ("B", [4])]

    # The next batches: floor 3 readied at 06:13, called at 06:15; floor 4 done then.
    clock.set(T0 + 15 * MIN)
    await runtime.tick()
    assert sorted(await rooms_of(await sent("call")))[:4] == ["1-301", "1-302", "1-401", "1-402"]
    states = {(b.point, b.floors[0]): b.state for b in await DriveBatch.filter(drive_id=drive.id)}
    assert states[("A", 4)] == "done" and states[("A", 3)] == "called"
    assert states[("A", 2)] == "waiting"

    # A tick repeated (or a restarted runtime) sends nothing twice.
    before = await OutboxMessage.all().count()
    await DriveRuntime(clock=clock).tick()
    await runtime.tick()
    assert await OutboxMessage.all().count() == before


async def test_a_late_get_ready_is_dropped_and_an_overdue_batch_moves_the_rest(db: str) -> None:
    await small_estate(buildings=1)
    clock = FakeClock(T0)
    drive, _ = await start(clock, options(points=[("A", [1])]))
    runtime = DriveRuntime(clock=clock)
    # The service was down from before the first "get ready" until after the call time.
    clock.set(T0 + 12 * MIN)
    await runtime.tick()
    assert await sent("ready") == []  # its batch is called: no late "get ready"
    first = await DriveBatch.get(drive_id=drive.id, seq=1)
    assert first.state == "called" and first.ready_dropped
    assert first.called_at == T0 + 12 * MIN
    second = await DriveBatch.get(drive_id=drive.id, seq=2)
    assert second.call_at == T0 + 17 * MIN  # the rest keeps its spacing after the delay
    assert second.ready_at == T0 + 15 * MIN


async def test_replies_next_pause_resume_skip(db: str) -> None:
    await small_estate(buildings=1)
    clock = FakeClock(T0)
    drive, _ = await start(clock, options(points=[("A", [1])]))
    runtime = DriveRuntime(clock=clock)
    clock.set(T0 + 10 * MIN)
    await runtime.tick()
    household = await Household.get(room="401")
    contact = await Contact.get(household=household)
    assert await runtime.awaiting(household.id)
    ack = await runtime.reply(contact, 2)
    assert ack is not None and "上门" in ack.text
    part = await DriveHousehold.get(household=household)
    assert part.reply == 2 and part.door_reason == "cannot"
    assert not await runtime.awaiting(household.id)

    # /next at 06:11: floor 3 is called now, floors 2 and 1 follow 5 minutes apart.
    clock.set(T0 + 11 * MIN)
    await runtime.call_next(drive.id, "A")
    await runtime.tick()
    by_seq = {b.seq: b for b in await DriveBatch.filter(drive_id=drive.id)}
    assert by_seq[2].state == "called" and by_seq[2].called_at == T0 + 11 * MIN
    assert by_seq[3].call_at == T0 + 16 * MIN and by_seq[1].state == "done"

    # /pause for 4 minutes: nothing is called at 06:16; after /resume floor 2 is due 06:20.
    await runtime.pause(drive.id, "A")
    clock.set(T0 + 16 * MIN)
    await runtime.tick()
    assert (await DriveBatch.get(drive_id=drive.id, seq=3)).state != "called"
    clock.set(T0 + 15 * MIN + 4 * MIN)
    paused = await runtime.resume(drive.id, "A")
    assert paused == 8 * MIN  # paused at 06:11, resumed at 06:19
    assert (await DriveBatch.get(drive_id=drive.id, seq=3)).call_at == T0 + 24 * MIN

    # /skip: floor 2 is not called; floor 1 takes its slot.
    skipped = await runtime.skip(drive.id, "A")
    assert skipped.floors == [2]
    assert (await DriveBatch.get(drive_id=drive.id, seq=4)).call_at == T0 + 24 * MIN
    assert all(p.skipped for p in await DriveHousehold.filter(batch_id=skipped.id))
    with pytest.raises(DriveError):
        await runtime.pause(drive.id, "Z")


async def test_last_call_then_silent_list_then_done(db: str) -> None:
    await small_estate(buildings=1, floors=2, per_floor=2)
    # An admin without Telegram gets the silent list by SMS; an inactive one gets nothing.
    await Staff.create(name="admin", role="admin", phone="+8613911112222")
    await Staff.create(name="gone", role="admin", phone="+8613911113333", active=False)
    clock = FakeClock(T0)
    drive, _ = await start(clock, options(points=[("A", [1])]))
    runtime = DriveRuntime(clock=clock)
    clock.set(T0 + 10 * MIN)
    await runtime.tick()
    answered = await Household.get(room="201")
    await runtime.reply(await Contact.get(household=answered), 1)
    clock.set(T0 + 15 * MIN)  # floor 1 called: the building's last batch
    await runtime.tick()
    await runtime.mark(drive.id, 1, "101", 1, "point volunteer")
    clock.set(T0 + 20 * MIN)  # one slot later: the last call to the two silent households
    await runtime.tick()
    assert sorted(await rooms_of(await sent("last_call"))) == ["1-102", "1-202"]
    assert "最后通知" in (await sent("last_call"))[0].body["text"]
    await runtime.reply(await Contact.get(household=await Household.get(room="102")), 3)
    clock.set(T0 + 25 * MIN)
    await runtime.tick()
    silent = await DriveHousehold.filter(silent=True).values_list("room", flat=True)
    assert silent == ["202"]
    told = await OutboxMessage.filter(purpose="staff").values_list("channel", "address", "body")
    assert [(c, a) for c, a, _ in told] == [("sms", "+8613911112222")]
    assert "202" in told[0][2]["text"]
    status = await load_status(drive.id)
    assert status is not None and [v.room for v in status.silent] == ["202"]
    await runtime.tick()
    await drive.refresh_from_db()
    assert drive.status == "done"


async def test_home_bound_and_positive_go_door_to_door_and_status(db: str) -> None:
    await small_estate(buildings=1, floors=2, per_floor=2)
    bound = await Household.get(room="102")
    bound.home_bound = True
    await bound.save()
    positive = await Household.get(room="201")
    clock = FakeClock(T0)
    drive, result = await start(clock, options(points=[("A", [1])]), positive={positive.id})
    assert result.door_to_door == 2 and result.households == 2
    runtime = DriveRuntime(clock=clock)
    for minute in range(0, 40):
        clock.set(T0 + minute * MIN)
        await runtime.tick()
    called = await rooms_of(await sent("call"))
    assert "1-102" not in called and "1-201" not in called
    status = await load_status(drive.id)
    assert status is not None
    assert sorted((v.room, v.reason) for v in status.door_to_door) == [
        ("102", "home_bound"),
        ("201", "positive"),
    ]
    text = render_status(status, "en", UTC)
    assert "Door-to-door (2)" in text and "positive" in text
    # Staff of another building see nothing of it.
    mine = await load_status(drive.id, buildings={2})
    assert mine is not None and mine.points == [] and mine.door_to_door == []


async def test_adaptive_pace_advances_when_enough_replied_but_not_before_the_minimum(
    db: str,
) -> None:
    await small_estate(buildings=1, floors=3, per_floor=2)
    clock = FakeClock(T0)
    opts = options(
        points=[("A", [1])],
        pace="adaptive",
        share=0.5,
        min_interval=2 * MIN,
        max_interval=10 * MIN,
    )
    drive, _ = await start(clock, opts)
    runtime = DriveRuntime(clock=clock)
    clock.set(T0 + 10 * MIN)
    await runtime.tick()
    await runtime.reply(await Contact.get(household=await Household.get(room="301")), 1)
    clock.set(T0 + 11 * MIN)  # half replied 1, but the minimum is 2 minutes
    await runtime.tick()
    assert (await DriveBatch.get(drive_id=drive.id, seq=2)).state != "called"
    clock.set(T0 + 12 * MIN)
    await runtime.tick()
    second = await DriveBatch.get(drive_id=drive.id, seq=2)
    assert second.state == "called" and second.called_at == T0 + 12 * MIN
    # Nobody replies to the second: it still moves on at the maximum, not at the minimum.
    assert (await DriveBatch.get(drive_id=drive.id, seq=3)).call_at == T0 + 22 * MIN
    clock.set(T0 + 14 * MIN)
    await runtime.tick()
    assert (await DriveBatch.get(drive_id=drive.id, seq=3)).state != "called"
    clock.set(T0 + 22 * MIN)
    await runtime.tick()
    assert (await DriveBatch.get(drive_id=drive.id, seq=3)).state == "called"
    # The building's last call comes the maximum after its last batch.
    assert (await Timer.get(kind=LAST_CALL)).due_at == T0 + 32 * MIN
    assert await runtime.next_due() == T0 + 32 * MIN


@pytest.mark.parametrize(
    ("body", "value"),
    [
        ("1", 1),
        (" 2 ", 2),
        ("３", 3),
        ("1。", 1),
        ("2!", 2),
        ("1X", None),
        ("4", None),
        ("yes", None),
        ("12", None),
    ],
)
def test_parse_reply(body: str, value: int | None) -> None:
    assert parse_reply(body) == value


async def test_an_unknown_building_is_a_clear_error(db: str) -> None:
    await small_estate(buildings=1)
    with pytest.raises(planner.PlanError, match="no such building: 9"):
        await preview(options(points=[("A", [1, 9])]), {"sms"})


async def called_drive(clock: FakeClock):  # type: ignore[no-untyped-def]
    """Building 1 at point A, floors 4..1; the top floor called at 06:10."""
    await small_estate(buildings=1)
    drive, _ = await start(clock, options(points=[("A", [1])]))
    runtime = DriveRuntime(clock=clock)
    clock.set(T0 + 10 * MIN)
    await runtime.tick()
    return drive, runtime


async def test_a_reply_never_lands_on_another_households_part(db: str) -> None:
    clock = FakeClock(T0)
    _, runtime = await called_drive(clock)
    mine = await Household.get(room="401")
    theirs = await Household.get(room="402")
    their_part = await DriveHousehold.get(household=theirs)
    contact = await Contact.get(household=mine)
    # A button of another household's message (forwarded, or forged) is refused.
    assert await runtime.reply(contact, 1, part_id=their_part.id) is None
    await their_part.refresh_from_db()
    assert their_part.reply is None and their_part.replied_at is None
    my_part = await DriveHousehold.get(household=mine)
    assert my_part.reply is None
    assert await runtime.awaiting(mine.id) and await runtime.awaiting(theirs.id)
    # Its own button is taken, on its own part only.
    ack = await runtime.reply(contact, 1, part_id=my_part.id)
    assert ack is not None
    await my_part.refresh_from_db()
    await their_part.refresh_from_db()
    assert (my_part.reply, my_part.replied_at, their_part.reply) == (1, T0 + 10 * MIN, None)
    assert not await runtime.awaiting(mine.id) and await runtime.awaiting(theirs.id)
    # A household not in the drive has nothing to reply to.
    outsider = await Contact.get(household=await Household.get(room="101"))
    assert await runtime.reply(outsider, 1) is None


async def test_no_reply_is_recorded_on_a_cancelled_drive(db: str) -> None:
    clock = FakeClock(T0)
    drive, runtime = await called_drive(clock)
    household = await Household.get(room="401")
    contact = await Contact.get(household=household)
    part = await DriveHousehold.get(household=household)
    queued = await OutboxMessage.filter(status="queued", purpose="callup").count()
    assert await runtime.cancel(drive.id) == queued > 0
    for part_id in (None, part.id):  # by SMS digit or by the message's button
        ack = await runtime.reply(contact, 1, part_id=part_id)
        assert ack is not None and ack.text == text(DRIVE_TEXTS, "closed", contact.language)
    await part.refresh_from_db()
    assert part.reply is None and part.replied_at is None
    assert not await runtime.awaiting(household.id)
    assert not await OutboxMessage.filter(status="queued", ref__startswith="drive:").exists()
    with pytest.raises(DriveError, match="cancelled"):
        await runtime.cancel(drive.id)


async def test_the_silent_list_goes_only_to_that_buildings_staff(db: str) -> None:
    """Cadres and officers of the building, the point's volunteers and the admins; not the
    cadres of other buildings, nor other points' volunteers, nor logistics."""
    await small_estate(buildings=2, floors=1, per_floor=1)
    one = await Building.get(number=1)
    two = await Building.get(number=2)
    names = {}
    for name, role, building, point in [
        ("cadre1", "cadre", one, None),
        ("officer1", "officer", one, None),
        ("cadre2", "cadre", two, None),
        ("officer2", "officer", two, None),
        ("logistics1", "logistics", one, None),
        ("pointA", "point", None, "A"),
        ("pointB", "point", None, "B"),
        ("admin", "admin", None, None),
    ]:
        member = await Staff.create(
            name=name, role=role, point=point, telegram_chat_id=1000 + len(names)
        )
        names[str(member.telegram_chat_id)] = name
        if building is not None:
            await StaffBuilding.create(staff=member, building=building)
    assert sorted(m.name for m in await building_staff(1, "A")) == [
        "admin",
        "cadre1",
        "officer1",
        "pointA",
    ]
    assert sorted(m.name for m in await building_staff(2)) == ["admin", "cadre2", "officer2"]
    clock = FakeClock(T0)
    await start(clock)
    runtime = DriveRuntime(clock=clock)
    for minute in (10, 15, 20):  # called, last call, silent list
        clock.set(T0 + minute * MIN)
        await runtime.tick()
    told = await OutboxMessage.filter(purpose="staff").values_list(
        "address", "idempotency_key", "body"
    )
    lists = sorted((int(key.split(":")[3]), names[address]) for address, key, _ in told)
    assert lists == [
        (1, "admin"),
        (1, "cadre1"),
        (1, "officer1"),
        (1, "pointA"),
        (2, "admin"),
        (2, "cadre2"),
        (2, "officer2"),
        (2, "pointB"),
    ]
    for address, key, body in told:
        building = key.split(":")[3]
        assert f"{building}号楼" in body["text"] and "101" in body["text"], names[address]


async def test_status_numbers_every_floor_and_a_positive_only_floor_is_a_door_to_door_floor(
    db: str,
) -> None:
    # Building 1: floors 1-3, one household each; the only household of floor 1 is positive.
    await small_estate(buildings=1, floors=3, per_floor=1)
    positive = await Household.get(room="101")
    clock = FakeClock(T0)
    drive, _ = await start(clock, options(points=[("A", [1])]), positive={positive.id})
    runtime = DriveRuntime(clock=clock)
    clock.set(T0 + 10 * MIN)  # floor 3 is called
    await runtime.tick()
    await runtime.reply(await Contact.get(household=await Household.get(room="301")), 1)
    status = await load_status(drive.id)
    assert status is not None
    column = status.points[0].buildings[0].column()
    assert [f.number for f in column] == [3, 2, 1]  # every floor, top down
    assert [f.state for f in column] == ["called", "waiting", "door"]
    assert column[0].replies == {"1": 1, "2": 0, "3": 0, "none": 0}
    assert (column[2].households, column[2].door) == (1, 1)
    point = status.points[0]
    assert point.current is not None and point.current.floors == [3]
    assert point.next_batch is not None and point.next_batch.floors == [2]
    assert point.next_call_at == T0 + 15 * MIN and status.finish_at == T0 + 20 * MIN


async def test_a_cancelled_drive_has_no_next_call_and_no_finish(db: str) -> None:
    await small_estate(buildings=1, floors=3, per_floor=1)
    clock = FakeClock(T0)
    drive, _ = await start(clock, options(points=[("A", [1])]))
    runtime = DriveRuntime(clock=clock)
    clock.set(T0 + 10 * MIN)
    await runtime.tick()
    before = render_status(await load_status(drive.id), "en", UTC)  # type: ignore[arg-type]
    assert "next call 06:15:00" in before and "expected finish" in before
    await runtime.pause(drive.id, "A")
    paused = render_status(await load_status(drive.id), "en", UTC)  # type: ignore[arg-type]
    assert "PAUSED" in paused and "next call" not in paused  # no time is promised while paused
    await runtime.cancel(drive.id)
    status = await load_status(drive.id)
    assert status is not None and not status.running
    assert status.finish_at is None
    assert all(p.next_call_at is None and p.current is None for p in status.points)
    for lang, word in (("en", "cancelled"), ("zh-CN", "已取消")):
        text_ = render_status(status, lang, UTC)
        assert word in text_
        assert "next call" not in text_ and "下一批" not in text_
        assert "expected finish" not in text_ and "预计结束" not in text_
