"""The drive planner: turns an estate, sampling points and a pace into timed batches (pure).

A *drive* calls residents down to their sampling point one floor (or half a building, or N
floors) at a time. This module is the pure engine behind it: no database, no network, no clock
reads — the start time is passed in. The runtime stores the :class:`Plan` it returns and
sends each batch's "get ready" at :attr:`Batch.ready_at` and "come down now" at
:attr:`Batch.call_at`.

Rules (see DESIGN.md):

* Points run in parallel, each starting at ``start``. Within a point batches are consecutive:
  batch *k* is called at ``start + (k - 1) * interval`` and readied ``lead`` earlier.
* A point serves its buildings in the order given, each building's floors in the drive's order
  (``top-down`` or ``bottom-up``), grouped by the :class:`BatchSize`.
* Floors with nobody to call produce no batch. A batch with more people than the point's
  capacity is split into parts, keeping households whole, in calling order; a household larger
  than the capacity gets a part of its own.
* Home-bound and positive households are never called: they go on the door-to-door list of the
  point serving their building (``positive`` wins as the reason).
* A building served by two points, a point naming an unknown building and inconsistent
  household data raise :class:`PlanError`.

Schedule changes while a drive runs are pure functions returning a new plan:
:func:`shift_point` (the primitive, used for ``/pause`` + ``/resume``), :func:`reschedule_from`
(``/next``: call a batch now and pull the rest forward) and :func:`skip_batch` (``/skip``).
Reading ``--points`` and ``--batch`` is in :mod:`notifications.drives.parse`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import ClassVar, Literal, TypeAlias

from notifications.drives.states import PENDING, BatchState

__all__ = [
    "ORDERS",
    "RESCHEDULE_OVER",
    "Action",
    "Batch",
    "BatchSize",
    "BatchView",
    "BuildingSpec",
    "Call",
    "DoorToDoor",
    "Finish",
    "HouseholdSpec",
    "LoadSchedule",
    "Move",
    "Order",
    "Pace",
    "Plan",
    "PlanError",
    "PlanRequest",
    "PointPlan",
    "PointSpec",
    "Ready",
    "Reason",
    "due_actions",
    "plan_drive",
    "reschedule_from",
    "shift_point",
    "skip_batch",
]

Order: TypeAlias = Literal["top-down", "bottom-up"]
Reason: TypeAlias = Literal["home_bound", "positive"]

#: The calling orders a drive accepts, the default first.
ORDERS: tuple[Order, ...] = ("top-down", "bottom-up")


class PlanError(ValueError):
    """A drive cannot be planned or changed as asked; the message is meant for staff."""


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HouseholdSpec:
    """One household as the planner sees it.

    Attributes:
        id: the household's registry id (unique across the request).
        building: building number; must equal the :class:`BuildingSpec` that holds it.
        floor: floor number, ``1 .. BuildingSpec.floors``.
        room: room as written on the door (``"1203"``); used to order a floor's households.
        people: how many people come down (0 is allowed: the household is still called).
        home_bound: cannot come down (elderly, bedridden): goes door-to-door.
        positive: positive antigen answer in the current round: goes door-to-door.
        entrance: lift lobby for buildings with several; households are ordered by it first.
    """

    id: int
    building: int
    floor: int
    room: str
    people: int
    home_bound: bool = False
    positive: bool = False
    entrance: str | None = None


@dataclass(frozen=True, slots=True)
class BuildingSpec:
    """A building: its number, its number of floors and its households (in any order)."""

    number: int
    floors: int
    households: tuple[HouseholdSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class PointSpec:
    """A sampling point.

    Attributes:
        name: short name staff use (``"A"``, ``"东门"``); unique within a drive.
        buildings: the buildings it serves, in the order it serves them.
        capacity: most people per batch; ``None`` means unlimited.
        location: where it is, for the "come down now to point B (where)" message.
    """

    name: str
    buildings: tuple[int, ...]
    capacity: int | None = None
    location: str = ""


@dataclass(frozen=True, slots=True)
class BatchSize:
    """How many floors one batch calls: ``floor`` (one), ``half`` (half a building) or N floors.

    Use the constants :attr:`FLOOR` and :attr:`HALF`, :meth:`of_floors` or :func:`parse_batch`.
    ``str(size)`` gives the form :func:`parse_batch` reads back (``floor``, ``half``,
    ``3floors``), convenient for storing.

    For ``half``, a building of *F* floors is split by floor number into a lower half
    ``1 .. ceil(F/2)`` and an upper half ``ceil(F/2)+1 .. F``; top-down calls the upper half
    first. For N floors, groups of N consecutive floor numbers are formed starting from the
    first floor in calling order (the top floor for top-down, floor 1 for bottom-up).
    """

    kind: Literal["floors", "half"] = "floors"
    count: int = 1

    FLOOR: ClassVar[BatchSize]
    HALF: ClassVar[BatchSize]

    def __post_init__(self) -> None:
        if self.kind not in ("floors", "half"):
            raise PlanError(f"unknown batch kind {self.kind!r}; use 'floors' or 'half'")
        if self.kind == "floors" and self.count < 1:
            raise PlanError(f"a batch must hold at least one floor, not {self.count}")
        if self.kind == "half" and self.count != 1:
            raise PlanError("a half-building batch takes no floor count")

    @classmethod
    def of_floors(cls, count: int) -> BatchSize:
        """A batch of ``count`` consecutive floors."""
        return cls("floors", count)

    def __str__(self) -> str:
        if self.kind == "half":
            return "half"
        return "floor" if self.count == 1 else f"{self.count}floors"


BatchSize.FLOOR = BatchSize()
BatchSize.HALF = BatchSize("half")


@dataclass(frozen=True, slots=True)
class PlanRequest:
    """Everything :func:`plan_drive` needs.

    Attributes:
        points: the sampling points, each with its buildings in serving order.
        buildings: the estate's buildings by number (may hold buildings no point serves).
        start: when each point calls its first batch (aware datetime).
        interval: time between two batches of one point (> 0).
        lead: how long before its call a batch gets "get ready" (>= 0).
        order: ``top-down`` (default) or ``bottom-up``.
        batch: how many floors one batch calls (default one floor).
    """

    points: Sequence[PointSpec]
    buildings: Mapping[int, BuildingSpec]
    start: datetime
    interval: timedelta
    lead: timedelta
    order: Order = "top-down"
    batch: BatchSize = BatchSize.FLOOR


# --------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------


def _add(moment: datetime, delta: timedelta) -> datetime:
    """``moment + delta`` in elapsed time (UTC), kept in ``moment``'s time zone.

    Plain ``+`` on an aware datetime is wall-clock arithmetic, which is wrong across a DST
    change; Asia/Shanghai has none, but the planner must not depend on that.
    """
    zone = moment.tzinfo
    if isinstance(zone, timezone):  # fixed offset (UTC included): wall clock is elapsed time
        return moment + delta
    return (moment.astimezone(UTC) + delta).astimezone(zone)


def _utc(moment: datetime) -> datetime:
    """The instant in UTC: aware datetimes sharing a tzinfo compare by wall clock otherwise."""
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Batch:
    """One step of a drive: some households of one building called to one point at one time.

    Attributes:
        point: the point's name.
        seq: 1-based position within the point; a stable identity (after :func:`skip_batch`
            the remaining seqs keep their numbers, so there may be a gap).
        building: the building called.
        floors: the floors that have households in this batch, in calling order.
        household_ids: the households called, in calling order (floor, entrance, room).
        people: total people of those households.
        ready_at: when "get ready" goes out (``call_at - lead``).
        call_at: when "come down now" goes out (the planned time).
        part: 1-based part when a floor group was split for capacity, else 1.
        parts: how many parts that floor group was split into (1 when not split).
    """

    point: str
    seq: int
    building: int
    floors: tuple[int, ...]
    household_ids: tuple[int, ...]
    people: int
    ready_at: datetime
    call_at: datetime
    part: int = 1
    parts: int = 1

    def shifted(self, delta: timedelta) -> Batch:
        """This batch moved ``delta`` later (earlier if negative), in elapsed time."""
        return Batch(
            self.point,
            self.seq,
            self.building,
            self.floors,
            self.household_ids,
            self.people,
            _add(self.ready_at, delta),
            _add(self.call_at, delta),
            self.part,
            self.parts,
        )


@dataclass(frozen=True, slots=True)
class DoorToDoor:
    """A household that must not come down and is tested at home instead."""

    household_id: int
    building: int
    floor: int
    room: str
    people: int
    reason: Reason


@dataclass(frozen=True, slots=True)
class PointPlan:
    """The schedule of one point: its batches by seq and its door-to-door list.

    ``buildings`` and ``location`` repeat the :class:`PointSpec` for the runtime's messages.
    """

    name: str
    batches: tuple[Batch, ...]
    door_to_door: tuple[DoorToDoor, ...]
    buildings: tuple[int, ...] = ()
    location: str = ""

    def batch(self, seq: int) -> Batch:
        """The batch with this seq.

        Raises:
            PlanError: if the point has no such batch.
        """
        for batch in self.batches:
            if batch.seq == seq:
                return batch
        raise PlanError(f"point {self.name!r} has no batch {seq}")

    @property
    def people(self) -> int:
        """People called by this point."""
        return sum(batch.people for batch in self.batches)


@dataclass(frozen=True, slots=True)
class Plan:
    """A planned drive: one :class:`PointPlan` per point, in the request's order.

    Attributes:
        points: the points' schedules.
        start: the request's start time.
        interval: the request's interval (the length of one batch's slot).
        lead: the request's lead time.
    """

    points: tuple[PointPlan, ...]
    start: datetime
    interval: timedelta
    lead: timedelta

    def point(self, name: str) -> PointPlan:
        """The plan of the point named ``name``.

        Raises:
            PlanError: if the plan has no such point.
        """
        for point in self.points:
            if point.name == name:
                return point
        known = ", ".join(repr(p.name) for p in self.points) or "none"
        raise PlanError(f"no point {name!r} in this drive (points: {known})")

    def batches(self) -> list[Batch]:
        """All batches, point by point (each point's in seq order)."""
        return [batch for point in self.points for batch in point.batches]

    def batches_by_time(self) -> list[Batch]:
        """All batches ordered by call time (ties: the points' order)."""
        order = {point.name: index for index, point in enumerate(self.points)}
        return sorted(self.batches(), key=lambda b: (_utc(b.call_at), order[b.point], b.seq))

    def door_to_door(self) -> list[DoorToDoor]:
        """The door-to-door lists of all points, point by point."""
        return [visit for point in self.points for visit in point.door_to_door]

    def by_household(self) -> dict[int, Batch]:
        """The batch that calls each called household, by household id."""
        return {hid: batch for batch in self.batches() for hid in batch.household_ids}

    @property
    def finish_at(self) -> datetime:
        """When the last slot ends: the latest ``call_at + interval``; ``start`` if none."""
        lasts = [point.batches[-1].call_at for point in self.points if point.batches]
        return _add(max(lasts, key=_utc), self.interval) if lasts else self.start

    @property
    def households_called(self) -> int:
        """How many households are called (door-to-door ones excluded)."""
        return sum(len(batch.household_ids) for batch in self.batches())

    @property
    def people_called(self) -> int:
        """How many people are called down."""
        return sum(batch.people for batch in self.batches())

    @property
    def batch_count(self) -> int:
        """How many batches the drive has."""
        return sum(len(point.batches) for point in self.points)

    @property
    def door_to_door_count(self) -> int:
        """How many households are visited door to door."""
        return sum(len(point.door_to_door) for point in self.points)


# --------------------------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------------------------

_DIGITS_OR_NOT = re.compile(r"\d+|\D+")


def _room_key(room: str) -> tuple[tuple[int, int | str], ...]:
    """Natural sort key for a room: ``"902" < "1201"``, ``"12A" < "12B"``."""
    if room.isdigit():
        return ((0, int(room)),)
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part.casefold())
        for part in _DIGITS_OR_NOT.findall(room)
    )


def _household_key(household: HouseholdSpec) -> tuple[str, tuple[tuple[int, int | str], ...], int]:
    return (household.entrance or "", _room_key(household.room), household.id)


def _floor_groups(floors: int, order: Order, size: BatchSize) -> list[list[int]]:
    """The building's floor numbers grouped into batches, in calling order."""
    top_down = order == "top-down"
    if size.kind == "half":
        middle = (floors + 1) // 2
        lower, upper = list(range(1, middle + 1)), list(range(middle + 1, floors + 1))
        groups = [upper[::-1], lower[::-1]] if top_down else [lower, upper]
        return [group for group in groups if group]
    sequence = list(range(floors, 0, -1)) if top_down else list(range(1, floors + 1))
    return [sequence[i : i + size.count] for i in range(0, len(sequence), size.count)]


def _split(households: list[HouseholdSpec], capacity: int | None) -> list[list[HouseholdSpec]]:
    """Cut a batch's households into parts of at most ``capacity`` people, keeping order.

    A household bigger than the capacity gets a part of its own.
    """
    if capacity is None:
        return [households]
    parts: list[list[HouseholdSpec]] = []
    current: list[HouseholdSpec] = []
    people = 0
    for household in households:
        if current and people + household.people > capacity:
            parts.append(current)
            current, people = [], 0
        current.append(household)
        people += household.people
    if current:
        parts.append(current)
    return parts


def _check_request(request: PlanRequest) -> None:
    """Check the request's scalars and the point/building assignment."""
    if request.start.tzinfo is None or request.start.utcoffset() is None:
        raise PlanError("the start time must be timezone-aware")
    if request.interval <= timedelta(0):
        raise PlanError("the interval between batches must be longer than zero")
    if request.lead < timedelta(0):
        raise PlanError("the lead time cannot be negative")
    if request.order not in ORDERS:
        raise PlanError(f"unknown order {request.order!r}; use top-down or bottom-up")
    if not request.points:
        raise PlanError("a drive needs at least one sampling point")
    names: set[str] = set()
    served_by: dict[int, str] = {}
    for point in request.points:
        if not point.name.strip():
            raise PlanError("a sampling point needs a name")
        if point.name in names:
            raise PlanError(f"point {point.name!r} is named twice")
        names.add(point.name)
        if point.capacity is not None and point.capacity < 1:
            raise PlanError(
                f"point {point.name!r} has capacity {point.capacity}; it must be at least 1"
            )
        if not point.buildings:
            raise PlanError(f"point {point.name!r} serves no buildings")
        for number in point.buildings:
            if number in served_by:
                other = served_by[number]
                if other == point.name:
                    raise PlanError(f"point {point.name!r} lists building {number} twice")
                raise PlanError(
                    f"building {number} is listed under both point {other!r} "
                    f"and point {point.name!r}"
                )
            building = request.buildings.get(number)
            if building is None:
                raise PlanError(
                    f"point {point.name!r} names building {number}, which is not in the estate"
                )
            if building.number != number:
                raise PlanError(
                    f"building {building.number} is filed under number {number} in the estate"
                )
            if building.floors < 1:
                raise PlanError(f"building {number} has {building.floors} floors")
            served_by[number] = point.name


def _sorted_floors(
    building: BuildingSpec, seen: set[int]
) -> tuple[dict[int, list[HouseholdSpec]], dict[int, list[HouseholdSpec]]]:
    """Check a building's households; return callable and door-to-door ones by floor, sorted."""
    callable_by_floor: dict[int, list[HouseholdSpec]] = {}
    home_by_floor: dict[int, list[HouseholdSpec]] = {}
    number, floors = building.number, building.floors
    for household in building.households:
        hid = household.id
        if hid in seen:
            raise PlanError(f"household {hid} appears twice")
        seen.add(hid)
        if household.building != number:
            raise PlanError(
                f"household {hid} (room {household.room}) says building "
                f"{household.building} but is listed in building {number}"
            )
        if not 1 <= household.floor <= floors:
            raise PlanError(
                f"household {hid} (building {number} room {household.room}) is on floor "
                f"{household.floor}, but building {number} has floors 1 to {floors}"
            )
        if household.people < 0:
            raise PlanError(f"household {hid} has {household.people} people")
        target = home_by_floor if household.home_bound or household.positive else callable_by_floor
        bucket = target.get(household.floor)
        if bucket is None:
            target[household.floor] = [household]
        else:
            bucket.append(household)
    for bucket in (*callable_by_floor.values(), *home_by_floor.values()):
        bucket.sort(key=_household_key)
    return callable_by_floor, home_by_floor


def plan_drive(request: PlanRequest) -> Plan:
    """Plan a drive: the batches and door-to-door list of every point, with planned times.

    The result depends only on the request (households' order in the input does not matter).

    Raises:
        PlanError: on a building served twice or unknown, a household whose building or floor
            does not match, duplicate household ids, negative people, a naive start, a
            non-positive interval, a negative lead, a capacity below 1, or duplicate point names.
    """
    _check_request(request)
    start, interval, lead = request.start, request.interval, request.lead
    zone = start.tzinfo
    start_utc = start.astimezone(UTC)
    seen: set[int] = set()
    point_plans: list[PointPlan] = []
    for point in request.points:
        batches: list[Batch] = []
        visits: list[DoorToDoor] = []
        seq = 0
        for number in point.buildings:
            building = request.buildings[number]
            callable_by_floor, home_by_floor = _sorted_floors(building, seen)
            for group in _floor_groups(building.floors, request.order, request.batch):
                for floor in group:
                    for household in home_by_floor.get(floor, ()):
                        visits.append(
                            DoorToDoor(
                                household_id=household.id,
                                building=number,
                                floor=floor,
                                room=household.room,
                                people=household.people,
                                reason="positive" if household.positive else "home_bound",
                            )
                        )
                if not callable_by_floor:
                    continue
                members = [h for floor in group for h in callable_by_floor.get(floor, ())]
                if not members:
                    continue
                parts = _split(members, point.capacity)
                for index, part in enumerate(parts, start=1):
                    moment = start_utc + interval * seq
                    call_at = moment.astimezone(zone)
                    ready_at = (moment - lead).astimezone(zone)
                    seq += 1
                    # the floors of the part that have someone to call, in calling order
                    floors = tuple(dict.fromkeys(h.floor for h in part))
                    batches.append(
                        Batch(
                            point=point.name,
                            seq=seq,
                            building=number,
                            floors=floors,
                            household_ids=tuple(h.id for h in part),
                            people=sum(h.people for h in part),
                            ready_at=ready_at,
                            call_at=call_at,
                            part=index,
                            parts=len(parts),
                        )
                    )
        point_plans.append(
            PointPlan(
                name=point.name,
                batches=tuple(batches),
                door_to_door=tuple(visits),
                buildings=tuple(point.buildings),
                location=point.location,
            )
        )
    return Plan(points=tuple(point_plans), start=start, interval=interval, lead=lead)


# --------------------------------------------------------------------------------------------
# Changing the schedule of a running drive
# --------------------------------------------------------------------------------------------


def _with_point(plan: Plan, updated: PointPlan) -> Plan:
    points = tuple(updated if point.name == updated.name else point for point in plan.points)
    return replace(plan, points=points)


def shift_point(plan: Plan, point: str, after_seq: int, delta: timedelta) -> Plan:
    """Move every batch of ``point`` with a seq above ``after_seq`` by ``delta``.

    The primitive behind every pace change: positive ``delta`` pushes the rest of the schedule
    later (``/pause`` then ``/resume``: shift by the pause's length after the last batch
    called), negative pulls it forward. Batches up to ``after_seq`` and other points are
    untouched; the shifted batches keep their spacing, and ``ready_at - call_at`` stays
    ``-lead``. ``after_seq=0`` shifts the whole point.

    Raises:
        PlanError: on an unknown point, or if the first shifted batch would be called at or
            before the last unshifted one (two batches at once, or out of order).
    """
    current = plan.point(point)
    if after_seq < 0:
        raise PlanError(f"after_seq must be 0 or more, not {after_seq}")
    if not delta:
        return plan
    kept = [batch for batch in current.batches if batch.seq <= after_seq]
    moved = [batch.shifted(delta) for batch in current.batches if batch.seq > after_seq]
    if kept and moved and _utc(moved[0].call_at) <= _utc(kept[-1].call_at):
        raise PlanError(
            f"point {point!r}: batch {moved[0].seq} would be called at "
            f"{moved[0].call_at:%H:%M:%S}, not after batch {kept[-1].seq} "
            f"({kept[-1].call_at:%H:%M:%S})"
        )
    return _with_point(plan, replace(current, batches=tuple(kept + moved)))


def reschedule_from(plan: Plan, point: str, seq: int, at: datetime) -> Plan:
    """Call batch ``seq`` of ``point`` at ``at``; the batches after it follow at their spacing.

    This is ``/next``: ``reschedule_from(plan, "A", next_seq, now)`` calls the next batch now
    and pulls the rest of the point's schedule forward. A later ``at`` pushes it back.

    Raises:
        PlanError: on an unknown point or seq, a naive ``at``, or if ``at`` is not after the
            previous batch's call time.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise PlanError("the new call time must be timezone-aware")
    current = plan.point(point)
    batch = current.batch(seq)
    previous = [b.seq for b in current.batches if b.seq < seq]
    after = previous[-1] if previous else 0
    return shift_point(plan, point, after, _utc(at) - _utc(batch.call_at))


def skip_batch(plan: Plan, point: str, seq: int) -> Plan:
    """Drop batch ``seq`` of ``point``; the batches after it move up into its slot.

    This is ``/skip``: the skipped households are not called (the runtime records them);
    the next batch takes the skipped one's call time and the rest keep their spacing. The
    remaining batches keep their seq numbers, so the point's seqs then have a gap.

    Raises:
        PlanError: on an unknown point or seq.
    """
    current = plan.point(point)
    skipped = current.batch(seq)
    before = [b for b in current.batches if b.seq < seq]
    after = [b for b in current.batches if b.seq > seq]
    if after:
        delta = _utc(skipped.call_at) - _utc(after[0].call_at)  # elapsed, not wall clock
        after = [b.shifted(delta) for b in after]
    return _with_point(plan, replace(current, batches=tuple(before + after)))


# --------------------------------------------------------------------------------------------
# What is due now in a running drive (the decision half of a runtime tick)
# --------------------------------------------------------------------------------------------

#: A batch called further than this from its planned time moves the rest of its point.
RESCHEDULE_OVER = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class Pace:
    """How a drive moves on: its slot (the interval, or ``max_interval`` when adaptive), its
    lead time and, when adaptive, the share of replies and the shortest interval."""

    slot: timedelta
    lead: timedelta = timedelta(0)
    adaptive: bool = False
    share: float = 0.8
    min_interval: timedelta = timedelta(0)


@dataclass(frozen=True, slots=True)
class BatchView:
    """One stored batch as :func:`due_actions` sees it. ``coming`` counts its households that
    replied 1 (read for the called batch of an adaptive drive); ``paused`` is its point's."""

    id: int
    point: str
    seq: int
    state: str
    ready_at: datetime
    call_at: datetime
    called_at: datetime | None = None
    households: int = 0
    coming: int = 0
    paused: bool = False


@dataclass(frozen=True, slots=True)
class Call:
    """Call the batch now (state -> called) at these (possibly moved) times; ``drop_ready``:
    its "get ready" never went out."""

    batch_id: int
    ready_at: datetime
    call_at: datetime
    drop_ready: bool


@dataclass(frozen=True, slots=True)
class Ready:
    """Send the batch's "get ready" (state -> ready)."""

    batch_id: int


@dataclass(frozen=True, slots=True)
class Finish:
    """The called batch's slot is over (state -> done)."""

    batch_id: int


@dataclass(frozen=True, slots=True)
class Move:
    """New times for a batch not called yet (its point's schedule moved)."""

    batch_id: int
    ready_at: datetime
    call_at: datetime


@dataclass(frozen=True, slots=True)
class LoadSchedule:
    """The decision needs every batch of ``point`` not called yet: ask again with them all
    (and the point in ``complete``)."""

    point: str


Action = Call | Ready | Finish | Move | LoadSchedule


def _share_reached(current: BatchView, now: datetime, pace: Pace) -> bool:
    if current.called_at is None or now < current.called_at + pace.min_interval:
        return False
    return current.coming >= pace.share * current.households  # an empty batch: at once


def _point_actions(
    batches: list[BatchView], now: datetime, pace: Pace, complete: bool
) -> list[Action]:
    current = next((b for b in batches if b.state == BatchState.CALLED), None)
    pending = [b for b in batches if b.state in PENDING]
    due = bool(pending) and pending[0].call_at <= now
    if not due and current is not None and pace.adaptive and _share_reached(current, now, pace):
        if not complete:
            return [LoadSchedule(current.point)]
        due = bool(pending)
    actions: list[Action] = []
    times = {b.id: (b.ready_at, b.call_at) for b in pending}
    if due:
        nxt = pending[0]
        delta = _utc(now) - _utc(nxt.call_at)
        if abs(delta) > RESCHEDULE_OVER:
            if not complete:
                return [LoadSchedule(nxt.point)]
            # reschedule_from: called now, the rest keeps its spacing
            times = {b.id: (_add(b.ready_at, delta), _add(b.call_at, delta)) for b in pending}
            actions = [Move(b.id, *times[b.id]) for b in pending[1:]]
        drop = nxt.state == BatchState.WAITING and pace.lead > timedelta(0)
        actions.append(Call(nxt.id, *times[nxt.id], drop_ready=drop))
        pending = pending[1:]
    for batch in pending:
        ready_at, call_at = times[batch.id]
        if batch.state == BatchState.WAITING and ready_at <= now < call_at:
            actions.append(Ready(batch.id))
    if current is not None and (due or _slot_over(current, now, pace)):
        actions.append(Finish(current.id))
    return actions


def _slot_over(current: BatchView, now: datetime, pace: Pace) -> bool:
    return current.called_at is not None and current.called_at + pace.slot <= now


def due_actions(
    batches: Sequence[BatchView],
    now: datetime,
    pace: Pace,
    *,
    complete: Collection[str] = (),
) -> list[Action]:
    """What a drive must do at ``now``, point by point (in the order the points first appear).

    ``batches``: the point's called batch and its batches not called yet that are due to be
    readied or called (or, for a point in ``complete``, every batch not called yet), in seq
    order. Per point, paused points doing nothing:

    * the first batch not called yet is called once its call time has come, or, adaptive,
      once ``share`` of the called batch's households replied 1 and ``min_interval`` has
      passed since its call; the called batch is then finished. A batch called more than
      :data:`RESCHEDULE_OVER` from its planned time is called now and the rest of its point
      keeps its spacing (:func:`reschedule_from`): this needs the whole schedule, so without
      it the answer is :class:`LoadSchedule`;
    * a waiting batch whose ready time has come and whose call time has not gets its
      "get ready";
    * a called batch whose slot is over is finished.
    """
    by_point: dict[str, list[BatchView]] = {}
    for batch in batches:
        by_point.setdefault(batch.point, []).append(batch)
    actions: list[Action] = []
    for point, rows in by_point.items():
        if any(b.paused for b in rows):
            continue
        rows.sort(key=lambda b: b.seq)
        actions += _point_actions(rows, now, pace, point in complete)
    return actions
