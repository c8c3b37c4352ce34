"""What the dashboard refuses, it refuses cleanly and on the record.

Promises:
- an id too big for the database in a page's path (round, drive, household, staff chat) is a
  404 page, and a building number too big in a query is a 400: never a server error (500);
- every refusal of a signed-in staff member is audited the same way (allowed=False, who, the
  path asked for, why): a building wholly outside their scope (``buildings=7``) exactly like a
  partly outside one (``buildings=1,7``), another building's round, its export, a drive, a
  household or another staff member's chat.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import Services, build_services
from bot.web.app import create_app
from config.clock import FakeClock
from estate.models import AuditEntry, Building, Contact, Estate, Household, Staff
from estate.staff import add_staff
from notifications.drives import models as dm
from tests.conftest import make_settings
from tests.security.dashboard import login

HUGE = "99999999999999999999"


@dataclass
class World:
    services: Services
    one: Staff  # cadre of building 1
    boss: Staff
    household2: int
    round2: int
    drive2: int


@pytest.fixture
async def world(db: str) -> AsyncIterator[World]:
    estate = await Estate.create(name="t")
    homes = []
    for number in (1, 2):
        building = await Building.create(estate=estate, number=number, floors=6)
        home = await Household.create(building=building, floor=3, room="301")
        await Contact.create(household=home, channel="sms", address=f"+861380000000{number}")
        homes.append(home)
    one = await add_staff("one", role="cadre", buildings=[1])
    boss = await add_staff("boss", role="admin")
    clock = FakeClock()
    services = build_services(make_settings(database_url=db, secret_key="k" * 40), clock=clock)
    opened = await services.runtime.open_round("antigen", buildings=[2])
    now = clock.now()
    drive = await dm.Drive.create(
        created_at=now, start_at=now, interval_s=60, lead_s=30, points_spec="A:2", updated_at=now
    )
    await dm.DrivePoint.create(drive=drive, name="A", buildings=[2])
    yield World(services, one, boss, homes[1].id, opened.round.id, int(drive.id))


async def test_ids_too_big_for_the_database_are_404_or_400_never_500(world: World) -> None:
    app = create_app(world.services, manage_services=False)
    async with TestClient(TestServer(app)) as client:
        csrf = await login(client, world.boss, world.services)
        for path in (
            f"/rounds/{HUGE}",
            f"/rounds/{HUGE}.xlsx",
            f"/rounds/{HUGE}/live",
            f"/drives/{HUGE}",
            f"/drives/{HUGE}/live",
            f"/sim/household/{HUGE}",
            f"/sim/household/{HUGE}/live",
            f"/sim/staff/{HUGE}",
            f"/sim/staff/{HUGE}/live",
            "/rounds/2147483648",  # one past the largest id
        ):
            response = await client.get(path, allow_redirects=False)
            assert response.status == 404, (path, response.status)
        for path in (f"/sim/household/{HUGE}/send", f"/sim/staff/{HUGE}/send"):
            response = await client.post(path, data={"csrf": csrf, "text": "hi"})
            assert response.status == 404, (path, response.status)
        response = await client.get(f"/sim?building={HUGE}")
        assert response.status == 400
        # A message id too big for the database in the simulator's form is ignored, not a 500.
        response = await client.post(
            f"/sim/household/{world.household2}/send",
            data={"csrf": csrf, "view": "chat", "text": "hi", "message_id": HUGE},
            allow_redirects=False,
        )
        assert response.status == 303


async def refusals() -> list[AuditEntry]:
    return list(await AuditEntry.filter(allowed=False).order_by("id"))


async def test_every_dashboard_refusal_is_audited_the_same_way(world: World) -> None:
    app = create_app(world.services, manage_services=False)
    async with TestClient(TestServer(app)) as client:
        csrf = await login(client, world.one, world.services)
        for buildings in ("1,2", "2"):  # partly outside, wholly outside: both refused
            response = await client.post(
                "/rounds", data={"csrf": csrf, "slug": "antigen", "buildings": buildings}
            )
            assert response.status == 403
        entries = await refusals()
        assert len(entries) == 2
        for entry in entries:
            assert entry.staff_id == world.one.id  # type: ignore[attr-defined]
            assert entry.action == "web POST /rounds"
            assert entry.target == "/rounds" and entry.detail["why"]
        for path in (
            f"/rounds/{world.round2}",
            f"/rounds/{world.round2}.xlsx",  # the export
            f"/drives/{world.drive2}",
            f"/sim/household/{world.household2}",
            "/sim?building=2",
            f"/sim/staff/{world.boss.id}",
        ):
            before = len(await refusals())
            response = await client.get(path, allow_redirects=False)
            assert response.status == 403, path
            after = await refusals()
            assert len(after) == before + 1, path
            assert after[-1].target == path
            assert after[-1].staff_id == world.one.id  # type: ignore[attr-defined]
            assert after[-1].action.startswith("web GET /")
            assert after[-1].detail["why"]
