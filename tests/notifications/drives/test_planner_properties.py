"""Hypothesis properties of the drive planner on random estates, points and paces.

Estates have up to 8 buildings of up to 33 floors; points get random subsets of buildings in
random order, random capacities; orders, batch sizes, intervals, leads and start times (in
three time zones, one with DST) are random too. The schedule-changing functions are checked to
keep the same invariants.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from notifications.drives.planner import (
    ORDERS,
    Batch,
    BatchSize,
    BuildingSpec,
    HouseholdSpec,
    Plan,
    PlanError,
    PlanRequest,
    PointSpec,
    plan_drive,
    reschedule_from,
    shift_point,
    skip_batch,
)

SETTINGS = settings(deadline=None, max_examples=150)
ZONES = [ZoneInfo("Asia/Shanghai"), UTC, ZoneInfo("Europe/London")]
# (home_bound, positive), mostly callable.
FLAGS = [(False, False)] * 6 + [(True, False), (False, True), (True, True)]


@st.composite
def estates(draw: st.DrawFn) -> dict[int, BuildingSpec]:
    """Up to 8 buildings of up to 33 floors with up to 80 households each."""
    numbers = draw(st.lists(st.integers(1, 40), min_size=1, max_size=8, unique=True))
    ids = itertools.count(1)
    buildings: dict[int, BuildingSpec] = {}
    for number in numbers:
        floors = draw(st.integers(1, 33))
        rows = draw(
            st.lists(
                st.tuples(
                    st.integers(1, floors),
                    st.integers(0, 7),
                    st.sampled_from(FLAGS),
                    st.integers(1, 12),
                ),
                max_size=80,
            )
        )
        households = tuple(
            HouseholdSpec(
                id=next(ids),
                building=number,
                floor=floor,
                room=f"{floor}{door:02d}",
                people=people,
                home_bound=home_bound,
                positive=positive,
            )
            for floor, people, (home_bound, positive), door in rows
        )
        buildings[number] = BuildingSpec(number, floors, households)
    return buildings


@st.composite
def requests(draw: st.DrawFn) -> PlanRequest:
    """A valid request: served buildings split among 1-4 points, the rest left out."""
    buildings = draw(estates())
    served = draw(st.permutations(sorted(buildings)))
    served = served[: draw(st.integers(1, len(served)))]
    point_count = draw(st.integers(1, min(4, len(served))))
    cuts = sorted(
        draw(
            st.lists(
                st.integers(1, len(served) - 1),
                min_size=point_count - 1,
                max_size=point_count - 1,
                unique=True,
            )
        )
        if len(served) > 1
        else []
    )
    bounds = [0, *cuts, len(served)]
    points = [
        PointSpec(
            name=f"P{index}",
            buildings=tuple(served[bounds[index] : bounds[index + 1]]),
            capacity=draw(st.none() | st.integers(1, 15)),
        )
        for index in range(len(bounds) - 1)
    ]
    start = draw(
        st.datetimes(
            min_value=datetime(2020, 1, 1),
            max_value=datetime(2030, 1, 1),
            timezones=st.sampled_from(ZONES),
            allow_imaginary=False,
        )
    )
    return PlanRequest(
        points=points,
        buildings=buildings,
        start=start,
        interval=timedelta(seconds=draw(st.integers(1, 3600))),
        lead=timedelta(seconds=draw(st.integers(0, 7200))),
        order=draw(st.sampled_from(ORDERS)),
        batch=draw(
            st.sampled_from([BatchSize.FLOOR, BatchSize.HALF])
            | st.integers(1, 6).map(BatchSize.of_floors)
        ),
    )


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def group_of(floor: int, floors: int, request: PlanRequest) -> int:
    """Which floor group of its building a floor falls in (as documented on BatchSize)."""
    if request.batch.kind == "half":
        return 0 if floor <= (floors + 1) // 2 else 1
    if request.order == "top-down":
        return (floors - floor) // request.batch.count
    return (floor - 1) // request.batch.count


def check_plan(
    request: PlanRequest, plan: Plan, *, skipped: frozenset[int] = frozenset(), exact: bool
) -> None:
    """Every invariant of a plan. ``exact``: no shift applied, so times are start + k·interval.

    ``skipped`` are households of batches dropped by :func:`skip_batch`.
    """
    households = {h.id: h for b in request.buildings.values() for h in b.households}
    point_of = {n: p.name for p in request.points for n in p.buildings}
    capacity = {p.name: p.capacity for p in request.points}

    # Every household that can come down is called exactly once; nobody else is called.
    callable_ids = {
        h.id
        for h in households.values()
        if h.building in point_of and not (h.home_bound or h.positive)
    }
    called = Counter(hid for batch in plan.batches() for hid in batch.household_ids)
    assert all(count == 1 for count in called.values())
    assert set(called) == callable_ids - skipped
    assert plan.households_called == len(called)

    # Home-bound and positive households: never called, listed once at the right point.
    expected_visits = {
        (h.id, point_of[h.building], "positive" if h.positive else "home_bound")
        for h in households.values()
        if h.building in point_of and (h.home_bound or h.positive)
    }
    visits = [(v.household_id, p.name, v.reason) for p in plan.points for v in p.door_to_door]
    assert len(visits) == len(set(visits)) == plan.door_to_door_count
    assert set(visits) == expected_visits
    for point in plan.points:
        for visit in point.door_to_door:
            h = households[visit.household_id]
            assert (visit.building, visit.floor, visit.room, visit.people) == (
                h.building,
                h.floor,
                h.room,
                h.people,
            )

    assert [p.name for p in plan.points] == [p.name for p in request.points]
    for spec, point in zip(request.points, plan.points, strict=True):
        batches = point.batches
        assert all(b.point == spec.name for b in batches)
        seqs = [b.seq for b in batches]
        assert seqs == sorted(set(seqs)) and all(s >= 1 for s in seqs)
        times = [utc(b.call_at) for b in batches]
        # No two batches at once; call times strictly increase.
        assert all(a < b for a, b in itertools.pairwise(times))
        if exact:
            assert seqs == list(range(1, len(batches) + 1))
            assert times == [utc(request.start) + k * request.interval for k in range(len(times))]
        for batch in batches:
            assert utc(batch.ready_at) == utc(batch.call_at) - request.lead
            assert batch.call_at.tzinfo is batch.ready_at.tzinfo is request.start.tzinfo
            members = [households[hid] for hid in batch.household_ids]
            assert members, "no empty batches"
            assert batch.people == sum(h.people for h in members)
            assert all(h.building == batch.building for h in members)
            assert batch.floors == tuple(dict.fromkeys(h.floor for h in members))
            cap = capacity[spec.name]
            assert cap is None or batch.people <= cap or len(members) == 1
            floors = request.buildings[batch.building].floors
            assert len({group_of(f, floors, request) for f in batch.floors}) == 1
            assert 1 <= batch.part <= batch.parts

        # Buildings are served in the point's order, each building's batches together.
        runs = [b for b, _ in itertools.groupby(b.building for b in batches)]
        assert runs == [n for n in spec.buildings if n in runs]
        # Floors in the drive's order within each building.
        for _, group in itertools.groupby(batches, key=lambda b: b.building):
            group_batches = list(group)
            floors_in_order = [
                households[hid].floor for b in group_batches for hid in b.household_ids
            ]
            expected = sorted(floors_in_order, reverse=request.order == "top-down")
            assert floors_in_order == expected
            if not skipped:
                check_parts(group_batches, households, cap=capacity[spec.name])


def check_parts(
    batches: list[Batch], households: dict[int, HouseholdSpec], cap: int | None
) -> None:
    """Parts of one floor group are numbered 1..parts and filled greedily up to capacity."""
    index = 0
    while index < len(batches):
        first = batches[index]
        parts = batches[index : index + first.parts]
        assert [b.part for b in parts] == list(range(1, first.parts + 1))
        assert all(b.parts == first.parts for b in parts)
        if cap is None:
            assert first.parts == 1
        for current, following in itertools.pairwise(parts):
            next_people = households[following.household_ids[0]].people
            assert current.people + next_people > cap  # type: ignore[operator]
        index += first.parts


@SETTINGS
@given(requests())
def test_plan_invariants(request: PlanRequest) -> None:
    plan = plan_drive(request)
    check_plan(request, plan, exact=True)
    last = max((utc(b.call_at) for b in plan.batches()), default=None)
    expected_finish = last + request.interval if last else utc(request.start)
    assert utc(plan.finish_at) == expected_finish
    assert plan.people_called == sum(b.people for b in plan.batches())
    assert set(plan.by_household()) == {h for b in plan.batches() for h in b.household_ids}


@SETTINGS
@given(requests(), st.randoms(use_true_random=False))
def test_plan_does_not_depend_on_input_order(request: PlanRequest, rnd: random.Random) -> None:
    shuffled = {}
    for number in reversed(list(request.buildings)):
        building = request.buildings[number]
        households = list(building.households)
        rnd.shuffle(households)
        shuffled[number] = replace(building, households=tuple(households))
    assert plan_drive(replace(request, buildings=shuffled)) == plan_drive(request)


@SETTINGS
@given(requests(), st.data())
def test_shift_point_keeps_invariants(request: PlanRequest, data: st.DataObject) -> None:
    plan = plan_drive(request)
    point = data.draw(st.sampled_from(plan.points))
    after = data.draw(st.integers(0, len(point.batches) + 1))
    kept = [b for b in point.batches if b.seq <= after]
    moved = [b for b in point.batches if b.seq > after]
    edge: bool = data.draw(st.booleans())
    if kept and moved and edge:
        # Right at the edge: the first moved batch lands on the last kept one, or just after.
        gap = utc(moved[0].call_at) - utc(kept[-1].call_at)
        delta = -gap + timedelta(seconds=data.draw(st.integers(0, 1)))
    else:
        delta = timedelta(seconds=data.draw(st.integers(-2 * 3600, 2 * 3600)))
    invalid = bool(kept and moved and utc(moved[0].call_at) + delta <= utc(kept[-1].call_at))
    if invalid:
        try:
            shift_point(plan, point.name, after, delta)
        except PlanError:
            return
        raise AssertionError("an impossible shift was accepted")
    shifted = shift_point(plan, point.name, after, delta)
    check_plan(request, shifted, exact=not delta or not moved)
    new = shifted.point(point.name)
    assert new.batches[: len(kept)] == tuple(kept)
    for old, changed in zip(moved, new.batches[len(kept) :], strict=True):
        assert utc(changed.call_at) == utc(old.call_at) + delta
        assert replace(changed, call_at=old.call_at, ready_at=old.ready_at) == old
    assert [p for p in shifted.points if p.name != point.name] == [
        p for p in plan.points if p.name != point.name
    ]


@SETTINGS
@given(requests(), st.data())
def test_pace_commands_in_sequence_keep_invariants(
    request: PlanRequest, data: st.DataObject
) -> None:
    """Random /next, /pause+/resume and /skip sequences on random points."""
    plan = plan_drive(request)
    skipped: set[int] = set()
    for _ in range(data.draw(st.integers(1, 6))):
        point = data.draw(st.sampled_from(plan.points))
        if not point.batches:
            continue
        batch = data.draw(st.sampled_from(point.batches))
        previous = [b for b in point.batches if b.seq < batch.seq]
        command = data.draw(st.sampled_from(["next", "resume", "skip"]))
        if command == "next":
            floor = (
                utc(previous[-1].call_at) if previous else utc(batch.call_at) - timedelta(hours=1)
            )
            now = floor + timedelta(seconds=data.draw(st.integers(1, 3600)))
            plan = reschedule_from(plan, point.name, batch.seq, now)
            assert utc(plan.point(point.name).batch(batch.seq).call_at) == now
        elif command == "resume":
            pause = timedelta(seconds=data.draw(st.integers(1, 3600)))
            plan = shift_point(plan, point.name, batch.seq, pause)
        else:
            following = [b for b in point.batches if b.seq > batch.seq]
            plan = skip_batch(plan, point.name, batch.seq)
            skipped.update(batch.household_ids)
            if following:
                assert plan.point(point.name).batch(following[0].seq).call_at == batch.call_at
        check_plan(request, plan, skipped=frozenset(skipped), exact=False)
