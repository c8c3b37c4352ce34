"""Starting a drive: the estate as the planner sees it, a preview for staff, and the rows.

``load_buildings`` reads the registry into :class:`planner.BuildingSpec` (people per household,
home-bound flags, positives passed in by the caller: ``notifications`` does not read survey
answers). ``preview`` counts what staff confirm: households, batches, messages and SMS segments,
the finish time. ``create_drive`` writes the plan as rows in one transaction; the running
service's :class:`notifications.drives.runtime.DriveRuntime` carries it out.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

import notifications.drives.planner as planner
from estate.access import in_scope
from estate.contacts import pick_contact
from estate.models import Building, Contact, Household, Person
from notifications.drives.models import Drive, DriveBatch, DriveHousehold, DrivePoint
from notifications.drives.states import DriveState
from notifications.drives.texts import resident_text
from notifications.segments import count_segments
from notifications.voice_estimate import CallEstimate, estimate


@dataclass(frozen=True, slots=True)
class DriveOptions:
    """What staff chose; the same from the CLI and from Telegram."""

    points: list[tuple[str, list[int]]]
    start: datetime
    interval: timedelta
    lead: timedelta
    order: planner.Order = "top-down"
    batch: planner.BatchSize = planner.BatchSize.FLOOR
    points_spec: str = ""
    locations: dict[str, str] = field(default_factory=dict)
    capacity: int | None = None
    pace: str = "fixed"  # fixed | adaptive
    share: float = 0.8
    min_interval: timedelta = timedelta(0)
    max_interval: timedelta = timedelta(0)
    estate: int | None = None  # the estate the points' building numbers are in (None: any)

    def slot(self) -> timedelta:
        """The planned time between two batches of a point (adaptive: the longest wait)."""
        return self.max_interval if self.pace == "adaptive" else self.interval


@dataclass
class Preview:
    plan: planner.Plan
    households: int = 0  # called down
    door_to_door: int = 0
    batches: int = 0
    people: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)  # households called, by channel
    no_channel: int = 0  # called, but nobody to send to (their officer must phone)
    messages: int = 0
    sms_messages: int = 0
    sms_segments: int = 0
    voice_calls: int = 0  # calls placed if every one is answered at the first try
    finish_at: datetime | None = None

    @property
    def voice_minutes(self) -> int:
        """Minutes billed for the calls: a call-up call is under a minute, billed as one."""
        return estimate(self.voice_calls, 0.0).minutes

    def voice_estimate(self, price_per_minute: float) -> CallEstimate:
        """The calls, their minutes and cost (the same estimate as the round preview's)."""
        return estimate(self.voice_calls, price_per_minute)


async def load_buildings(
    numbers: Collection[int], *, positive: Collection[int] = (), estate: int | None = None
) -> dict[int, planner.BuildingSpec]:
    """The buildings with these numbers (of ``estate``, when given), as the planner sees them."""
    positives = set(positive)
    buildings = await Building.filter(number__in=list(numbers), **in_scope(estate, ""))
    households = await Household.filter(building_id__in=[b.id for b in buildings]).values(
        "id", "building_id", "floor", "room", "entrance", "home_bound"
    )
    counts, bound = await _members([h["id"] for h in households])
    number_of = {b.id: b.number for b in buildings}
    specs: dict[int, list[planner.HouseholdSpec]] = {b.number: [] for b in buildings}
    floors = {b.number: b.floors for b in buildings}
    for h in households:
        number = number_of[h["building_id"]]
        floors[number] = max(floors[number], h["floor"])
        # A household is visited at home when flagged, or when a member is home-bound: the
        # testers come to the door anyway, so the others are tested there too.
        specs[number].append(
            planner.HouseholdSpec(
                id=h["id"],
                building=number,
                floor=max(1, h["floor"]),
                room=h["room"],
                people=counts.get(h["id"], 0),
                home_bound=bool(h["home_bound"]) or h["id"] in bound,
                positive=h["id"] in positives,
                entrance=h["entrance"] or None,
            )
        )
    return {
        number: planner.BuildingSpec(number, max(1, floors[number]), tuple(specs[number]))
        for number in specs
    }


def plan_request(
    options: DriveOptions, buildings: dict[int, planner.BuildingSpec]
) -> planner.PlanRequest:
    points = [
        planner.PointSpec(
            name,
            tuple(numbers),
            capacity=options.capacity,
            location=options.locations.get(name, ""),
        )
        for name, numbers in options.points
    ]
    return planner.PlanRequest(
        points=points,
        buildings=buildings,
        start=options.start,
        interval=options.slot(),
        lead=options.lead,
        order=options.order,
        batch=options.batch,
    )


async def plan(options: DriveOptions, *, positive: Collection[int] = ()) -> planner.Plan:
    """Plan the drive (raises :class:`planner.PlanError` with a message for staff)."""
    numbers = {n for _, served in options.points for n in served}
    buildings = await load_buildings(numbers, positive=positive, estate=options.estate)
    missing = sorted(numbers - set(buildings))
    if missing:
        raise planner.PlanError(
            "no such building: " + ", ".join(str(n) for n in missing) + " (import residents first)"
        )
    return planner.plan_drive(plan_request(options, buildings))


async def contacts_for(household_ids: Sequence[int], enabled: set[str]) -> dict[int, Contact]:
    """The contact each household's call-up goes to (preferred channel first)."""
    households = await Household.filter(id__in=list(household_ids)).prefetch_related("contacts")
    out: dict[int, Contact] = {}
    for household in households:
        contact = pick_contact(household, household.contacts, enabled)
        if contact is not None:
            out[household.id] = contact
    return out


async def preview(
    options: DriveOptions, enabled: set[str], *, positive: Collection[int] = ()
) -> Preview:
    drive_plan = await plan(options, positive=positive)
    called = drive_plan.by_household()
    contacts = await contacts_for(list(called), enabled)
    result = Preview(
        plan=drive_plan,
        households=drive_plan.households_called,
        door_to_door=drive_plan.door_to_door_count,
        batches=drive_plan.batch_count,
        people=drive_plan.people_called,
        finish_at=drive_plan.finish_at,
    )
    minutes = max(1, round(options.lead.total_seconds() / 60))
    for household_id, batch in called.items():
        contact = contacts.get(household_id)
        if contact is None:
            result.no_channel += 1
            continue
        result.by_channel[contact.channel] = result.by_channel.get(contact.channel, 0) + 1
        kinds = ("ready", "call") if options.lead > timedelta(0) else ("call",)
        result.messages += len(kinds)
        if contact.channel == "voice":
            result.voice_calls += len(kinds)
        if contact.channel == "sms":
            for kind in kinds:
                body = resident_text(
                    kind,
                    contact.language,
                    sms=True,
                    building=batch.building,
                    room="0000",
                    point=batch.point,
                    location=options.locations.get(batch.point, ""),
                    minutes=minutes,
                )
                result.sms_messages += 1
                result.sms_segments += count_segments(body).segments
    return result


async def create_drive(
    options: DriveOptions,
    drive_plan: planner.Plan,
    *,
    now: datetime,
    created_by: str = "cli",
    round_id: int | None = None,
) -> Drive:
    """Write the plan as rows, in one transaction."""
    async with in_transaction() as conn:
        drive = await Drive.create(
            status=DriveState.RUNNING,
            created_at=now,
            updated_at=now,
            created_by=created_by,
            start_at=options.start,
            interval_s=options.interval.total_seconds(),
            lead_s=options.lead.total_seconds(),
            order=options.order,
            batch=str(options.batch),
            points_spec=(options.points_spec or _spec(options.points))[:300],
            pace=options.pace,
            share=options.share,
            min_interval_s=options.min_interval.total_seconds(),
            max_interval_s=options.max_interval.total_seconds(),
            round_id=round_id,
            estate_id=options.estate,
            using_db=conn,
        )
        await DrivePoint.bulk_create(
            [
                DrivePoint(
                    drive_id=drive.id,
                    name=point.name,
                    location=point.location,
                    buildings=list(point.buildings),
                    capacity=options.capacity,
                )
                for point in drive_plan.points
            ],
            using_db=conn,
        )
        await DriveBatch.bulk_create(
            [
                DriveBatch(
                    drive_id=drive.id,
                    point=batch.point,
                    seq=batch.seq,
                    building=batch.building,
                    floors=list(batch.floors),
                    part=batch.part,
                    parts=batch.parts,
                    households=len(batch.household_ids),
                    people=batch.people,
                    ready_at=batch.ready_at,
                    call_at=batch.call_at,
                )
                for batch in drive_plan.batches()
            ],
            batch_size=500,
            using_db=conn,
        )
        batch_ids = {
            (point, seq): batch_id
            for batch_id, point, seq in await DriveBatch.filter(drive_id=drive.id)
            .using_db(conn)
            .values_list("id", "point", "seq")
        }
        called = list(drive_plan.by_household())
        where = {
            household_id: (room, floor)
            for household_id, room, floor in await Household.filter(id__in=called)
            .using_db(conn)
            .values_list("id", "room", "floor")
        }
        rows: list[DriveHousehold] = []
        spec_people, _ = await _members(called)
        for batch in drive_plan.batches():
            for household_id in batch.household_ids:
                rows.append(
                    DriveHousehold(
                        drive_id=drive.id,
                        household_id=household_id,
                        batch_id=batch_ids[(batch.point, batch.seq)],
                        point=batch.point,
                        building=batch.building,
                        floor=where.get(household_id, ("", 0))[1],
                        room=where.get(household_id, ("", 0))[0],
                        people=spec_people.get(household_id, 0),
                    )
                )
        for point in drive_plan.points:
            for visit in point.door_to_door:
                rows.append(
                    DriveHousehold(
                        drive_id=drive.id,
                        household_id=visit.household_id,
                        point=point.name,
                        building=visit.building,
                        floor=visit.floor,
                        room=visit.room,
                        people=visit.people,
                        door_reason=visit.reason,
                    )
                )
        await DriveHousehold.bulk_create(rows, batch_size=500, using_db=conn)
    return drive


async def _members(household_ids: list[int]) -> tuple[dict[int, int], set[int]]:
    """People per household, and the households with a home-bound member."""
    counts: dict[int, int] = {}
    bound: set[int] = set()
    for household_id, home_bound in await Person.filter(household_id__in=household_ids).values_list(
        "household_id", "home_bound"
    ):
        counts[household_id] = counts.get(household_id, 0) + 1  # type: ignore[call-overload,index]
        if home_bound:
            bound.add(household_id)  # type: ignore[arg-type]
    return counts, bound


def _spec(points: list[tuple[str, list[int]]]) -> str:
    return ",".join(f"{name}:" + ",".join(str(n) for n in numbers) for name, numbers in points)
