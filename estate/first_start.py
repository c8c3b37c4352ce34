"""A fresh machine: with an empty SQLite database and no provider token, ``louzhang run`` seeds
the demo estate and two demo staff members, so the dashboard and the simulator work at once
(never on PostgreSQL: that is a production database waiting for its real residents)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tortoise.transactions import in_transaction

from estate.demo import SeedReport, seed_demo
from estate.models import Estate, Household, Staff
from estate.staff import DEMO, add_staff

DEMO_STAFF = (
    # name, role, phone, buildings
    ("demo-admin", "admin", "+86 139 0000 0001", ()),
    ("王主任", "cadre", "+86 139 0000 0002", (1, 2, 3, 4, 5)),
)


@dataclass
class FirstStart:
    report: SeedReport
    admin: Staff


async def seed_if_empty(today: date) -> FirstStart | None:
    """Seed the demo estate and staff if the database holds no estate at all."""
    if await Estate.exists():
        return None
    report = await seed_demo(today=today)
    admin: Staff | None = None
    for name, role, phone, buildings in DEMO_STAFF:
        staff = await Staff.filter(name=name).first()
        if staff is None:
            staff = await add_staff(name, role=role, phone=phone, buildings=buildings)
        if role == "admin":
            admin = staff
    assert admin is not None
    return FirstStart(report, admin)


DEMO_ESTATE = DEMO  # the one name (estate.staff needs it too)


@dataclass
class RemovedDemo:
    households: int
    staff: list[str]


async def demo_present() -> bool:
    """Whether this database holds the demo estate (fake residents)."""
    return await Estate.filter(name=DEMO_ESTATE).exists()


async def real_residents_present() -> bool:
    """Whether any estate other than the demo holds households (a committee's real list)."""
    return (
        await Estate.filter(buildings__households__id__isnull=False)
        .exclude(name=DEMO_ESTATE)
        .exists()
    )


async def remove_demo_estate() -> RemovedDemo:
    """Delete the demo estate (its buildings, households, people and contacts go with it, and
    with them their responses, call-up parts and queued messages) and the demo staff."""
    estate = await Estate.filter(name=DEMO_ESTATE).first()
    if estate is None:
        return RemovedDemo(0, [])
    households = await Household.filter(building__estate_id=estate.id).count()
    names = [name for name, *_ in DEMO_STAFF]
    demo_staff = [s.name for s in await Staff.filter(name__in=names)]
    async with in_transaction():
        await Staff.filter(name__in=names).delete()
        await estate.delete()
    return RemovedDemo(households, demo_staff)


async def database_ok() -> bool:
    """The database answers a query (the estate table is there): what ``/healthz`` reports."""
    try:
        await Estate.all().count()
    except Exception:
        return False
    return True
