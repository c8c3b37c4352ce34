"""Table tests for the drive planner: small hand-made estates with exact batches and times.

Promises of notifications/planner.py (each has a table test here; invariants over random
estates are in test_planner_properties.py):
- Batch k of a point is called at start + (k-1) x interval and readied `lead` earlier; points
  run in parallel and serve their buildings in the order given.
- Floors in the drive's order (top-down by default, or bottom-up), grouped one floor, half a
  building (lower half 1..ceil(F/2)) or N floors; groups and floors with nobody to call make
  no batch and leave no gap.
- Within a floor: by entrance, then natural room order ("902" < "1201", "1202" < "1202A"),
  then id; the input order does not matter.
- Capacity splits a batch into parts in calling order, households whole; a household above
  capacity gets a part of its own; parts are numbered.
- Home-bound and positive households are never called; they go door to door at the point
  serving their building, "positive" winning as the reason.
- /next refuses a naive time or one whose zone has no offset; a plan without points says so.
- Bad requests raise PlanError (naive start or one whose zone has no offset, interval <= 0, negative lead, unknown order, no
  point, unnamed or twice-named point, capacity < 1, no buildings, a building twice or unknown
  or misfiled, floors < 1, a household twice, off its building or floor, negative people).
- Times are elapsed time, also across a DST change and across time zones.
- shift_point moves the batches after a seq and keeps their spacing and lead; it refuses to
  call a batch at or before the last kept one; reschedule_from (/next) and skip_batch (/skip)
  are built on it; the helpers (point, batch, by_household, finish_at, counts) are exact.
- parse_points and parse_batch read the CLI forms (full-width too) and refuse bad ones.
- Each refusal (a bad request, pace, batch size, shift or unknown point/batch) says exactly what
  is wrong, naming the point, building, household or value.
- A refused --points or --batch says exactly what was wrong and how to write it (a bare
  number after a point hints at joining it to the last point named with +).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest

from notifications.drives.parse import parse_batch, parse_points
from notifications.drives.planner import (
    Batch,
    BatchSize,
    BuildingSpec,
    DoorToDoor,
    HouseholdSpec,
    Order,
    Plan,
    PlanError,
    PlanRequest,
    PointSpec,
    plan_drive,
    reschedule_from,
    shift_point,
    skip_batch,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2022, 4, 10, 14, 0, tzinfo=SHANGHAI)
MIN = timedelta(minutes=1)


class _NoOffset(tzinfo):
    """A time zone that does not know its offset: the time is as good as naive."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None


def at(hour: int, minute: int, second: int = 0) -> datetime:
    """A time on the drive's day in Shanghai."""
    return datetime(2022, 4, 10, hour, minute, second, tzinfo=SHANGHAI)


def hh(
    hid: int,
    building: int,
    floor: int,
    people: int = 2,
    *,
    room: str | None = None,
    home_bound: bool = False,
    positive: bool = False,
    entrance: str | None = None,
) -> HouseholdSpec:
    """A household; its room defaults to ``<floor>0<last digit of id>``."""
    return HouseholdSpec(
        id=hid,
        building=building,
        floor=floor,
        room=room if room is not None else f"{floor}0{hid % 10}",
        people=people,
        home_bound=home_bound,
        positive=positive,
        entrance=entrance,
    )


def estate(*buildings: tuple[int, int, list[HouseholdSpec]]) -> dict[int, BuildingSpec]:
    """Buildings by number from ``(number, floors, households)`` triples."""
    return {n: BuildingSpec(n, floors, tuple(households)) for n, floors, households in buildings}


def request(
    points: list[PointSpec],
    buildings: dict[int, BuildingSpec],
    *,
    order: Order = "top-down",
    batch: BatchSize = BatchSize.FLOOR,
    interval: timedelta = 5 * MIN,
    lead: timedelta = 10 * MIN,
    start: datetime = START,
) -> PlanRequest:
    return PlanRequest(
        points=points,
        buildings=buildings,
        start=start,
        interval=interval,
        lead=lead,
        order=order,
        batch=batch,
    )


def shape(plan: Plan) -> list[tuple[str, int, int, tuple[int, ...], tuple[int, ...], str]]:
    """(point, seq, building, floors, households, HH:MM call time) of every batch."""
    return [
        (b.point, b.seq, b.building, b.floors, b.household_ids, f"{b.call_at:%H:%M}")
        for b in plan.batches()
    ]


# --------------------------------------------------------------------------------------------
# Batches and times
# --------------------------------------------------------------------------------------------


def test_one_building_top_down_exact_batches() -> None:
    buildings = estate((1, 3, [hh(11, 1, 1, 3), hh(21, 1, 2, 1), hh(31, 1, 3, 2)]))
    plan = plan_drive(request([PointSpec("A", (1,))], buildings))
    assert plan.batches() == [
        Batch("A", 1, 1, (3,), (31,), 2, at(13, 50), at(14, 0)),
        Batch("A", 2, 1, (2,), (21,), 1, at(13, 55), at(14, 5)),
        Batch("A", 3, 1, (1,), (11,), 3, at(14, 0), at(14, 10)),
    ]
    assert plan.finish_at == at(14, 15)
    assert (plan.households_called, plan.people_called, plan.batch_count) == (3, 6, 3)


def test_bottom_up_reverses_floors() -> None:
    buildings = estate((1, 3, [hh(11, 1, 1), hh(21, 1, 2), hh(31, 1, 3)]))
    plan = plan_drive(request([PointSpec("A", (1,))], buildings, order="bottom-up"))
    assert [b.floors for b in plan.batches()] == [(1,), (2,), (3,)]


def test_points_run_in_parallel_and_serve_buildings_in_given_order() -> None:
    buildings = estate(
        (1, 2, [hh(11, 1, 1), hh(21, 1, 2)]),
        (2, 2, [hh(12, 2, 1), hh(22, 2, 2)]),
        (3, 1, [hh(13, 3, 1)]),
    )
    points = [PointSpec("A", (2, 1)), PointSpec("B", (3,))]
    plan = plan_drive(request(points, buildings))
    assert shape(plan) == [
        ("A", 1, 2, (2,), (22,), "14:00"),
        ("A", 2, 2, (1,), (12,), "14:05"),
        ("A", 3, 1, (2,), (21,), "14:10"),
        ("A", 4, 1, (1,), (11,), "14:15"),
        ("B", 1, 3, (1,), (13,), "14:00"),
    ]
    assert [(b.point, b.seq) for b in plan.batches_by_time()] == [
        ("A", 1),
        ("B", 1),
        ("A", 2),
        ("A", 3),
        ("A", 4),
    ]
    assert plan.finish_at == at(14, 20)


def test_floors_without_callable_households_make_no_batch_and_no_gap() -> None:
    buildings = estate(
        (1, 6, [hh(61, 1, 6), hh(41, 1, 4, home_bound=True), hh(21, 1, 2)]),
        (2, 4, []),
    )
    plan = plan_drive(request([PointSpec("A", (1, 2))], buildings))
    assert shape(plan) == [
        ("A", 1, 1, (6,), (61,), "14:00"),
        ("A", 2, 1, (2,), (21,), "14:05"),
    ]


def test_households_within_a_floor_by_entrance_then_natural_room_order() -> None:
    buildings = estate(
        (
            1,
            12,
            [
                hh(1, 1, 12, room="1210"),
                hh(2, 1, 12, room="1202"),
                hh(7, 1, 12, room="1202A"),
                hh(3, 1, 12, room="12B"),
                hh(4, 1, 12, room="12A"),
                hh(5, 1, 12, room="1201", entrance="2"),
                hh(6, 1, 12, room="1209", entrance="1"),
            ],
        )
    )
    plan = plan_drive(request([PointSpec("A", (1,))], buildings))
    assert plan.batches()[0].household_ids == (4, 3, 2, 7, 1, 6, 5)


def test_input_order_does_not_matter() -> None:
    households = [hh(i, 1, 1 + i % 5, 1 + i % 3) for i in range(1, 30)]
    forward = estate((1, 5, households))
    backward = estate((1, 5, households[::-1]))
    points = [PointSpec("A", (1,), capacity=4)]
    assert plan_drive(request(points, forward)) == plan_drive(request(points, backward))


# --------------------------------------------------------------------------------------------
# Capacity
# --------------------------------------------------------------------------------------------


def test_floor_over_capacity_is_split_keeping_households_whole() -> None:
    floor = [hh(1, 1, 2, 3), hh(2, 1, 2, 2), hh(3, 1, 2, 4), hh(4, 1, 2, 1)]
    buildings = estate((1, 2, [*floor, hh(9, 1, 1, 2)]))
    plan = plan_drive(request([PointSpec("A", (1,), capacity=5)], buildings))
    assert [
        (b.household_ids, b.people, b.part, b.parts, f"{b.call_at:%H:%M}") for b in plan.batches()
    ] == [
        ((1, 2), 5, 1, 2, "14:00"),
        ((3, 4), 5, 2, 2, "14:05"),
        ((9,), 2, 1, 1, "14:10"),
    ]


def test_household_bigger_than_capacity_gets_its_own_part() -> None:
    buildings = estate((1, 1, [hh(1, 1, 1, 2), hh(2, 1, 1, 7), hh(3, 1, 1, 2)]))
    plan = plan_drive(request([PointSpec("A", (1,), capacity=4)], buildings))
    assert [(b.household_ids, b.people, b.part, b.parts) for b in plan.batches()] == [
        ((1,), 2, 1, 3),
        ((2,), 7, 2, 3),
        ((3,), 2, 3, 3),
    ]


def test_capacity_splits_a_multi_floor_batch_in_calling_order() -> None:
    households = [hh(f * 10 + r, 1, f, 2) for f in range(1, 5) for r in range(2)]
    buildings = estate((1, 4, households))
    plan = plan_drive(
        request([PointSpec("A", (1,), capacity=6)], buildings, batch=BatchSize.of_floors(4))
    )
    assert [(b.floors, b.household_ids, b.part) for b in plan.batches()] == [
        ((4, 3), (40, 41, 30), 1),
        ((3, 2), (31, 20, 21), 2),
        ((1,), (10, 11), 3),
    ]


# --------------------------------------------------------------------------------------------
# Batch sizes
# --------------------------------------------------------------------------------------------

FIVE_FLOORS = estate((1, 5, [hh(f * 10, 1, f) for f in range(1, 6)]))


@pytest.mark.parametrize(
    ("order", "size", "expected"),
    [
        ("top-down", BatchSize.HALF, [(5, 4), (3, 2, 1)]),
        ("bottom-up", BatchSize.HALF, [(1, 2, 3), (4, 5)]),
        ("top-down", BatchSize.of_floors(2), [(5, 4), (3, 2), (1,)]),
        ("bottom-up", BatchSize.of_floors(2), [(1, 2), (3, 4), (5,)]),
        ("top-down", BatchSize.of_floors(3), [(5, 4, 3), (2, 1)]),
        ("top-down", BatchSize.of_floors(9), [(5, 4, 3, 2, 1)]),
        ("bottom-up", BatchSize.FLOOR, [(1,), (2,), (3,), (4,), (5,)]),
    ],
)
def test_batch_sizes_group_floors(
    order: Order, size: BatchSize, expected: list[tuple[int, ...]]
) -> None:
    plan = plan_drive(request([PointSpec("A", (1,))], FIVE_FLOORS, order=order, batch=size))
    assert [b.floors for b in plan.batches()] == expected


def test_half_building_groups_are_fixed_by_floor_number_not_by_occupancy() -> None:
    # 6 floors: lower half 1-3, upper half 4-6; only floors 6, 3 and 1 are occupied.
    buildings = estate((1, 6, [hh(60, 1, 6), hh(30, 1, 3), hh(10, 1, 1)]))
    plan = plan_drive(request([PointSpec("A", (1,))], buildings, batch=BatchSize.HALF))
    assert [b.floors for b in plan.batches()] == [(6,), (3, 1)]


def test_n_floor_groups_skip_empty_groups() -> None:
    buildings = estate((1, 6, [hh(60, 1, 6), hh(10, 1, 1)]))
    plan = plan_drive(request([PointSpec("A", (1,))], buildings, batch=BatchSize.of_floors(2)))
    assert [(b.seq, b.floors, f"{b.call_at:%H:%M}") for b in plan.batches()] == [
        (1, (6,), "14:00"),
        (2, (1,), "14:05"),
    ]


# --------------------------------------------------------------------------------------------
# Door to door
# --------------------------------------------------------------------------------------------


def test_home_bound_and_positive_go_door_to_door_of_their_point() -> None:
    buildings = estate(
        (1, 3, [hh(31, 1, 3, 1, home_bound=True), hh(32, 1, 3), hh(11, 1, 1, 3, positive=True)]),
        (2, 2, [hh(22, 2, 2, 2, home_bound=True, positive=True), hh(21, 2, 1)]),
    )
    plan = plan_drive(request([PointSpec("A", (1,)), PointSpec("B", (2,))], buildings))
    assert plan.point("A").door_to_door == (
        DoorToDoor(31, 1, 3, "301", 1, "home_bound"),
        DoorToDoor(11, 1, 1, "101", 3, "positive"),
    )
    assert plan.point("B").door_to_door == (DoorToDoor(22, 2, 2, "202", 2, "positive"),)
    assert set(plan.by_household()) == {32, 21}
    assert plan.door_to_door_count == 3
    assert [v.household_id for v in plan.door_to_door()] == [31, 11, 22]


def test_building_not_served_by_any_point_is_ignored() -> None:
    buildings = estate((1, 1, [hh(1, 1, 1)]), (2, 1, [hh(2, 2, 1)]))
    plan = plan_drive(request([PointSpec("A", (2,))], buildings))
    assert set(plan.by_household()) == {2}


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------

TWO = estate((1, 2, [hh(1, 1, 1)]), (2, 2, [hh(2, 2, 1)]))


@pytest.mark.parametrize(
    ("points", "buildings", "message"),
    [
        (
            [PointSpec("A", (1,)), PointSpec("B", (2, 1))],
            TWO,
            "building 1 is listed under both point 'A' and point 'B'",
        ),
        ([PointSpec("A", (1, 1))], TWO, "point 'A' lists building 1 twice"),
        ([PointSpec("A", (3,))], TWO, "point 'A' names building 3, which is not in the estate"),
        ([PointSpec("A", (1,)), PointSpec("A", (2,))], TWO, "point 'A' is named twice"),
        ([PointSpec("A", ())], TWO, "point 'A' serves no buildings"),
        ([PointSpec(" ", (1,))], TWO, "a sampling point needs a name"),
        (
            [PointSpec("A", (1,), capacity=0)],
            TWO,
            "point 'A' has capacity 0; it must be at least 1",
        ),
        ([], TWO, "a drive needs at least one sampling point"),
        (
            [PointSpec("A", (1,))],
            {1: BuildingSpec(2, 2, ())},
            "building 2 is filed under number 1 in the estate",
        ),
        ([PointSpec("A", (1,))], estate((1, 0, [])), "building 1 has 0 floors"),
        (
            [PointSpec("A", (1,))],
            estate((1, 2, [hh(1, 1, 3)])),
            "household 1 (building 1 room 301) is on floor 3, but building 1 has floors 1 to 2",
        ),
        (
            [PointSpec("A", (1,))],
            estate((1, 2, [hh(1, 1, 0)])),
            "household 1 (building 1 room 001) is on floor 0, but building 1 has floors 1 to 2",
        ),
        (
            [PointSpec("A", (1,))],
            estate((1, 2, [hh(1, 2, 1)])),
            "household 1 (room 101) says building 2 but is listed in building 1",
        ),
        ([PointSpec("A", (1,))], estate((1, 2, [hh(1, 1, 1, -1)])), "household 1 has -1 people"),
        (
            [PointSpec("A", (1, 2))],
            estate((1, 2, [hh(7, 1, 1)]), (2, 2, [hh(7, 2, 1)])),
            "household 7 appears twice",
        ),
    ],
)
def test_bad_requests_raise_plan_error(
    points: list[PointSpec], buildings: dict[int, BuildingSpec], message: str
) -> None:
    with pytest.raises(PlanError, match=f"^{re.escape(message)}$"):
        plan_drive(request(points, buildings))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"start": datetime(2022, 4, 10, 14, 0)}, "the start time must be timezone-aware"),
        (
            {"start": datetime(2022, 4, 10, 14, 0, tzinfo=_NoOffset())},
            "the start time must be timezone-aware",
        ),
        ({"interval": timedelta(0)}, "the interval between batches must be longer than zero"),
        ({"lead": -MIN}, "the lead time cannot be negative"),
        ({"order": "sideways"}, "unknown order 'sideways'; use top-down or bottom-up"),
    ],
)
def test_bad_pace_raises_plan_error(changes: dict[str, object], message: str) -> None:
    base = request([PointSpec("A", (1,))], TWO)
    bad = PlanRequest(**{**{f: getattr(base, f) for f in base.__slots__}, **changes})  # type: ignore[arg-type]
    with pytest.raises(PlanError, match=f"^{re.escape(message)}$"):
        plan_drive(bad)


def test_plan_error_is_a_value_error() -> None:
    assert issubclass(PlanError, ValueError)


def test_zero_people_household_is_still_called_and_lead_may_be_zero() -> None:
    buildings = estate((1, 1, [hh(1, 1, 1, 0)]))
    plan = plan_drive(request([PointSpec("A", (1,), capacity=1)], buildings, lead=timedelta(0)))
    (batch,) = plan.batches()
    assert (batch.people, batch.ready_at, batch.call_at) == (0, START, START)


# --------------------------------------------------------------------------------------------
# Time arithmetic
# --------------------------------------------------------------------------------------------


def test_times_are_elapsed_time_across_a_dst_change() -> None:
    london = ZoneInfo("Europe/London")
    start = datetime(2022, 3, 27, 0, 30, tzinfo=london)  # clocks go 01:00 -> 02:00 GMT->BST
    buildings = estate((1, 3, [hh(f, 1, f) for f in (1, 2, 3)]))
    plan = plan_drive(
        request([PointSpec("A", (1,))], buildings, start=start, interval=30 * MIN, lead=MIN)
    )
    utc = [b.call_at.astimezone(UTC) for b in plan.batches()]
    assert utc == [datetime(2022, 3, 27, 0, 30, tzinfo=UTC) + k * 30 * MIN for k in range(3)]
    assert [f"{b.call_at:%H:%M}" for b in plan.batches()] == ["00:30", "02:00", "02:30"]
    assert plan.finish_at.astimezone(UTC) == datetime(2022, 3, 27, 2, 0, tzinfo=UTC)


def test_skip_across_a_dst_change_moves_by_elapsed_time() -> None:
    """Found by hypothesis: /skip subtracted wall-clock times, an hour off across the change."""
    london = ZoneInfo("Europe/London")
    start = datetime(2022, 3, 27, 0, 30, tzinfo=london)
    buildings = estate((1, 3, [hh(f, 1, f) for f in (1, 2, 3)]))
    plan = plan_drive(
        request([PointSpec("A", (1,))], buildings, start=start, interval=30 * MIN, lead=MIN)
    )
    skipped = skip_batch(plan, "A", 1).point("A").batches
    utc = [b.call_at.astimezone(UTC) for b in skipped]
    assert utc == [datetime(2022, 3, 27, 0, 30, tzinfo=UTC) + k * 30 * MIN for k in range(2)]


# --------------------------------------------------------------------------------------------
# Plan helpers
# --------------------------------------------------------------------------------------------


def test_plan_helpers() -> None:
    buildings = estate((1, 2, [hh(11, 1, 1, 3), hh(21, 1, 2, 2)]), (2, 1, []))
    plan = plan_drive(
        request([PointSpec("A", (1,), location="East gate"), PointSpec("B", (2,))], buildings)
    )
    assert plan.point("A").location == "East gate"
    assert plan.point("A").buildings == (1,)
    assert plan.point("A").people == 5
    assert plan.point("A").batch(2).household_ids == (11,)
    assert plan.by_household()[21].seq == 1
    assert plan.point("B").batches == ()
    with pytest.raises(PlanError, match="no point 'C'"):
        plan.point("C")
    with pytest.raises(PlanError, match="has no batch 3"):
        plan.point("A").batch(3)


def test_a_plan_without_points_says_so() -> None:
    plan = Plan((), START, MIN, MIN)
    with pytest.raises(PlanError, match=r"^no point 'A' in this drive \(points: none\)$"):
        plan.point("A")


def test_empty_plan_finishes_at_start() -> None:
    plan = plan_drive(request([PointSpec("A", (1,))], estate((1, 3, []))))
    assert plan.finish_at == START
    assert (plan.households_called, plan.people_called, plan.batch_count) == (0, 0, 0)


# --------------------------------------------------------------------------------------------
# Changing the schedule
# --------------------------------------------------------------------------------------------

FOUR_FLOORS = estate((1, 4, [hh(f, 1, f) for f in range(1, 5)]), (2, 1, [hh(9, 2, 1)]))


def four_floor_plan() -> Plan:
    return plan_drive(request([PointSpec("A", (1,)), PointSpec("B", (2,))], FOUR_FLOORS))


def call_times(plan: Plan, point: str = "A") -> list[tuple[int, str]]:
    return [(b.seq, f"{b.call_at:%H:%M}") for b in plan.point(point).batches]


def test_pause_and_resume_shift_the_rest_later() -> None:
    plan = four_floor_plan()
    # Batch 2 was called at 14:05; paused at 14:07, resumed at 14:19: 12 minutes later.
    shifted = shift_point(plan, "A", 2, at(14, 19) - at(14, 7))
    assert call_times(shifted) == [(1, "14:00"), (2, "14:05"), (3, "14:22"), (4, "14:27")]
    assert shifted.point("A").batch(3).ready_at == at(14, 12)
    assert shifted.point("B") == plan.point("B")
    assert plan.point("A").batch(3).call_at == at(14, 10)  # the original is untouched


def test_a_shifted_batch_keeps_its_households_in_a_fixed_offset_zone_too() -> None:
    start = datetime(2022, 4, 10, 6, 0, tzinfo=UTC)
    floor = [hh(1, 1, 2, 3), hh(2, 1, 2, 2), hh(3, 1, 2, 4), hh(4, 1, 2, 1)]
    buildings = estate((1, 2, [*floor, hh(9, 1, 1, 2)]))
    plan = plan_drive(request([PointSpec("A", (1,), capacity=5)], buildings, start=start))
    before = plan.point("A").batch(2)  # part 2 of 2 of floor 2
    after = shift_point(plan, "A", 1, 12 * MIN).point("A").batch(2)
    assert after == Batch(
        "A",
        2,
        1,
        before.floors,
        (3, 4),
        5,
        before.ready_at + 12 * MIN,
        before.call_at + 12 * MIN,
        2,
        2,
    )
    assert after.call_at == datetime(2022, 4, 10, 6, 17, tzinfo=UTC)


def test_next_calls_the_next_batch_now_and_pulls_the_rest_forward() -> None:
    plan = four_floor_plan()
    pulled = reschedule_from(plan, "A", 2, at(14, 2))
    assert call_times(pulled) == [(1, "14:00"), (2, "14:02"), (3, "14:07"), (4, "14:12")]
    assert pulled.finish_at == at(14, 17)


def test_next_cannot_call_at_or_before_the_previous_batch() -> None:
    with pytest.raises(PlanError, match="batch 2 would be called at 14:00:00, not after batch 1"):
        reschedule_from(four_floor_plan(), "A", 2, at(14, 0))


def test_shift_zero_after_everything_and_whole_point() -> None:
    plan = four_floor_plan()
    assert shift_point(plan, "A", 1, timedelta(0)) is plan
    assert shift_point(plan, "A", 4, 5 * MIN) == plan
    early = shift_point(plan, "A", 0, -30 * MIN)
    assert call_times(early) == [(1, "13:30"), (2, "13:35"), (3, "13:40"), (4, "13:45")]


@pytest.mark.parametrize("zone", [None, _NoOffset()])
def test_next_needs_an_aware_time(zone: tzinfo | None) -> None:
    with pytest.raises(PlanError, match=r"^the new call time must be timezone-aware$"):
        reschedule_from(four_floor_plan(), "A", 2, datetime(2022, 4, 10, 14, 2, tzinfo=zone))


def test_next_across_time_zones_uses_the_instant() -> None:
    pulled = reschedule_from(four_floor_plan(), "A", 2, datetime(2022, 4, 10, 6, 2, tzinfo=UTC))
    assert call_times(pulled)[1] == (2, "14:02")


def test_shift_errors() -> None:
    plan = four_floor_plan()
    with pytest.raises(PlanError, match=r"^no point 'Z' in this drive \(points: 'A', 'B'\)$"):
        shift_point(plan, "Z", 0, MIN)
    with pytest.raises(PlanError, match=r"^after_seq must be 0 or more, not -1$"):
        shift_point(plan, "A", -1, MIN)
    with pytest.raises(
        PlanError,
        match=r"^point 'A': batch 3 would be called at 14:05:00, not after batch 2 \(14:05:00\)$",
    ):
        shift_point(plan, "A", 2, -5 * MIN)


def test_skip_moves_the_following_batches_into_the_slot() -> None:
    plan = four_floor_plan()
    skipped = skip_batch(plan, "A", 2)
    assert call_times(skipped) == [(1, "14:00"), (3, "14:05"), (4, "14:10")]
    assert 3 not in skipped.by_household()  # floor 3 was batch 2
    assert skip_batch(skipped, "A", 4).point("A").batches[-1].seq == 3
    with pytest.raises(PlanError, match=r"^point 'A' has no batch 2$"):
        skip_batch(skipped, "A", 2)
    # after a skip, /next still finds the previous batch across the gap
    assert call_times(reschedule_from(skipped, "A", 3, at(14, 1))) == [
        (1, "14:00"),
        (3, "14:01"),
        (4, "14:06"),
    ]


# --------------------------------------------------------------------------------------------
# --points and --batch
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("A:1-4,B:5-8", [("A", [1, 2, 3, 4]), ("B", [5, 6, 7, 8])]),
        ("A:1-3+7+9", [("A", [1, 2, 3, 7, 9])]),
        (" A : 1 - 2 + 5 , B:3 ", [("A", [1, 2, 5]), ("B", [3])]),
        ("A：1-2，B：3", [("A", [1, 2]), ("B", [3])]),
        ("A:１－２＋４、B:３", [("A", [1, 2, 4]), ("B", [3])]),
        ("A:1~3;B:4～5", [("A", [1, 2, 3]), ("B", [4, 5])]),
        ("A:8-5", [("A", [8, 7, 6, 5])]),
        ("东门:1-2,西门:3", [("东门", [1, 2]), ("西门", [3])]),
        ("A:1-2,", [("A", [1, 2])]),
        ("Point 1:4", [("Point 1", [4])]),
        ("A:1,,B:2", [("A", [1]), ("B", [2])]),
        ("A:3-3", [("A", [3])]),
    ],
)
def test_parse_points(spec: str, expected: list[tuple[str, list[int]]]) -> None:
    assert parse_points(spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("A1-4", "^'A1-4' is not NAME:BUILDINGS, e.g. A:1-4$"),
        ("5", "^'5' is not NAME:BUILDINGS, e.g. A:1-4$"),
        ("A:1:2", "point 'A': '1:2' is not a building number"),
        ("A:1-3+2", "point 'A' lists building 2 twice"),
        ("A:1-3,B:3-4", "building 3 is listed under both point 'A' and point 'B'"),
        ("A:1,A:2", "point 'A' is named twice"),
        ("A:1-3,B:5,6", "'6' is not NAME:BUILDINGS.*join with \\+"),
        ("A:1,B:2,C:3,4", "'4' is not NAME:BUILDINGS.*to add to point 'C', join with \\+"),
        ("A:", "point 'A' lists no buildings"),
        (":1-3", "':1-3' is not NAME:BUILDINGS"),
        ("A:1-x", "'1-x' is not a building number or range"),
        ("A:1++2", "'' is not a building number"),
        ("A:0-2", "building numbers start at 1"),
        ("", "^no sampling points given; write e.g. A:1-4,B:5-8$"),
        (" , ", "no sampling points given"),
    ],
)
def test_parse_points_errors(spec: str, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        parse_points(spec)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("floor", BatchSize.FLOOR),
        (" Floor ", BatchSize.FLOOR),
        ("1floor", BatchSize.FLOOR),
        ("half", BatchSize.HALF),
        ("HALF", BatchSize.HALF),
        ("halfbuilding", BatchSize.HALF),
        ("Half Building", BatchSize.HALF),
        ("half-building", BatchSize.HALF),
        ("2floors", BatchSize.of_floors(2)),
        ("3 floors", BatchSize.of_floors(3)),
        ("３floors", BatchSize.of_floors(3)),
    ],
)
def test_parse_batch(text: str, expected: BatchSize) -> None:
    assert parse_batch(text) == expected
    assert parse_batch(str(expected)) == expected


@pytest.mark.parametrize("text", ["", "floors", "0floors", "two floors", "quarter", "-1floors"])
def test_parse_batch_errors(text: str) -> None:
    with pytest.raises(PlanError):
        parse_batch(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (" quarter ", "^'quarter' is not a batch size; use floor, half or Nfloors"),
        ("0floors", "^a batch must hold at least one floor$"),
    ],
)
def test_parse_batch_error_messages(text: str, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        parse_batch(text)


def test_batch_size_validation_and_str() -> None:
    assert [str(s) for s in (BatchSize.FLOOR, BatchSize.HALF, BatchSize.of_floors(4))] == [
        "floor",
        "half",
        "4floors",
    ]
    with pytest.raises(PlanError, match=r"^a batch must hold at least one floor, not 0$"):
        BatchSize.of_floors(0)
    with pytest.raises(PlanError, match=r"^a half-building batch takes no floor count$"):
        BatchSize("half", 2)
    with pytest.raises(PlanError, match=r"^unknown batch kind 'rooms'; use 'floors' or 'half'$"):
        BatchSize("rooms")  # type: ignore[arg-type]
