"""Measure the drive planner: planning time and peak memory. Prints figures, never asserts.

Two synthetic estates, generated here with a fixed seed (``random.Random(7)``):

* the demo estate's shape: 25 buildings of 18-33 floors, ~1,800 households, ~5,000 people,
  6 sampling points;
* a district of 2,000 buildings (the same shape x80) with 60 sampling points.

Planning time is the median of several runs of :func:`notifications.drives.planner.plan_drive`
(``time.perf_counter``; building the input is not timed). Peak memory is measured in a
separate run under ``tracemalloc`` (which slows Python down, so it is not timed) and covers
what planning allocates on top of its input. The schedule-change functions are timed too.

Run: ``.venv/bin/python benchmarks/bench_planner.py`` (or ``make bench``).
"""

from __future__ import annotations

import gc
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from notifications.drives.planner import (
    BatchSize,
    BuildingSpec,
    HouseholdSpec,
    Plan,
    PlanRequest,
    PointSpec,
    plan_drive,
    reschedule_from,
    shift_point,
    skip_batch,
)

SEED = 7
START = datetime(2022, 4, 10, 14, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
# People per household, weighted to give ~2.8 on average (5,000 people in ~1,800 households).
PEOPLE = (1, 2, 3, 4, 5, 6)
PEOPLE_WEIGHTS = (14, 30, 28, 16, 8, 4)


def make_estate(
    rng: random.Random, building_count: int, first_id: int = 1
) -> dict[int, BuildingSpec]:
    """``building_count`` buildings of 18-33 floors, 2-4 households a floor, ~2.8 people each.

    About 4 % of households are home-bound and 1 % positive.
    """
    buildings: dict[int, BuildingSpec] = {}
    next_id = first_id
    for number in range(1, building_count + 1):
        floors = rng.randint(18, 33)
        households: list[HouseholdSpec] = []
        for floor in range(1, floors + 1):
            for door in range(1, rng.choice((2, 2, 3, 3, 3, 4)) + 1):
                roll = rng.random()
                households.append(
                    HouseholdSpec(
                        id=next_id,
                        building=number,
                        floor=floor,
                        room=f"{floor}{door:02d}",
                        people=rng.choices(PEOPLE, PEOPLE_WEIGHTS)[0],
                        home_bound=roll < 0.04,
                        positive=0.04 <= roll < 0.05,
                    )
                )
                next_id += 1
        rng.shuffle(households)  # registry order is not calling order
        buildings[number] = BuildingSpec(number, floors, tuple(households))
    return buildings


def split_points(building_count: int, point_count: int, capacity: int | None) -> list[PointSpec]:
    """Consecutive runs of buildings, one run per point (as the estate's six points)."""
    per_point, extra = divmod(building_count, point_count)
    points: list[PointSpec] = []
    first = 1
    for index in range(point_count):
        size = per_point + (1 if index < extra else 0)
        points.append(
            PointSpec(
                name=f"P{index + 1}",
                buildings=tuple(range(first, first + size)),
                capacity=capacity,
            )
        )
        first += size
    return points


def make_request(
    buildings: dict[int, BuildingSpec], point_count: int, capacity: int | None
) -> PlanRequest:
    return PlanRequest(
        points=split_points(len(buildings), point_count, capacity),
        buildings=buildings,
        start=START,
        interval=timedelta(minutes=5),
        lead=timedelta(minutes=10),
        order="top-down",
        batch=BatchSize.FLOOR,
    )


def median_seconds(action: Callable[[], object], runs: int) -> float:
    """Median wall time of ``runs`` calls (after one warm-up call), GC enabled as in service."""
    action()
    times: list[float] = []
    for _ in range(runs):
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def peak_bytes(action: Callable[[], object]) -> int:
    """Peak memory ``action`` allocates, by tracemalloc (its result kept alive until the end)."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    result = action()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    return peak


def pace_changes(plan: Plan) -> Plan:
    """A /next, a /pause+/resume and a /skip on every point."""
    for point in plan.points:
        if len(point.batches) < 4:
            continue
        first, second, third = point.batches[0], point.batches[1], point.batches[2]
        plan = reschedule_from(plan, point.name, second.seq, first.call_at + timedelta(minutes=1))
        plan = shift_point(plan, point.name, second.seq, timedelta(minutes=7))
        plan = skip_batch(plan, point.name, third.seq)
    return plan


def report(label: str, request: PlanRequest, runs: int, target_ms: float) -> None:
    buildings = request.buildings.values()
    households = sum(len(b.households) for b in buildings)
    people = sum(h.people for b in buildings for h in b.households)
    floors = sum(b.floors for b in buildings)
    plan = plan_drive(request)
    seconds = median_seconds(lambda: plan_drive(request), runs)
    peak = peak_bytes(lambda: plan_drive(request))
    change_seconds = median_seconds(lambda: pace_changes(plan), runs)
    verdict = "meets" if seconds * 1000 < target_ms else "MISSES"
    print(f"-- {label}")
    print(
        f"   input: {len(request.buildings):,} buildings, {floors:,} floors, "
        f"{households:,} households, {people:,} people, {len(request.points)} points, "
        f"capacity {request.points[0].capacity or 'unlimited'}"
    )
    print(
        f"   plan:  {plan.batch_count:,} batches, {plan.households_called:,} households "
        f"({plan.people_called:,} people) called, {plan.door_to_door_count:,} door-to-door, "
        f"finishes {plan.finish_at:%Y-%m-%d %H:%M}"
    )
    print(
        f"   planning time: {seconds * 1000:9.2f} ms  (median of {runs}; target < "
        f"{target_ms:,.0f} ms: {verdict})"
    )
    print(f"   peak memory:   {peak / 1_048_576:9.2f} MiB (tracemalloc, planning only)")
    print(
        f"   pace changes:  {change_seconds * 1000:9.2f} ms  (/next + /pause-/resume + /skip "
        f"on each of {len(plan.points)} points, median of {runs})"
    )


def main() -> None:
    rng = random.Random(SEED)
    demo = make_estate(rng, 25)
    district = make_estate(rng, 25 * 80)
    print(f"bench_planner (Python {sys.version.split()[0]}, seed {SEED})")
    report(
        "demo estate: 25 buildings, 6 points, one floor per batch",
        make_request(demo, 6, None),
        21,
        50,
    )
    report("demo estate, capacity 8 per batch", make_request(demo, 6, 8), 21, 50)
    report(
        "district: 2,000 buildings, 60 points, one floor per batch",
        make_request(district, 60, None),
        5,
        1000,
    )


if __name__ == "__main__":
    main()
