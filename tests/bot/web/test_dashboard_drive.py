"""The drive page's buttons: the same rule, runtime call and audit entry as the Telegram pace
commands; a CSRF token on every press; a stopped drive offers no buttons and no next call."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import Services, build_services
from bot.web.app import create_app
from config.clock import FakeClock
from estate.logins import create_login_link
from estate.models import AuditEntry, Household, Staff
from estate.staff import add_staff
from notifications.drives.models import Drive, DriveBatch, DrivePoint
from tests.conftest import make_settings
from tests.notifications.drives.test_drives import MIN, T0, options, small_estate, start


@dataclass
class Scene:
    services: Services
    clock: FakeClock
    drive: int
    one: Staff  # cadre of building 1 (point A)
    two: Staff  # cadre of building 2 (point B)
    volunteer: Staff  # point B's volunteer


@pytest.fixture
async def scene(db: str) -> AsyncIterator[Scene]:
    await small_estate(buildings=2, floors=3, per_floor=1)
    positive = await Household.get(building__number=1, room="101")
    clock = FakeClock(T0)
    drive, _ = await start(clock, options(), positive={positive.id})
    one = await add_staff("one", role="cadre", buildings=[1])
    two = await add_staff("two", role="cadre", buildings=[2])
    volunteer = await add_staff("vol", role="point", point="B")
    services = build_services(make_settings(database_url=db, secret_key="k" * 40), clock=clock)
    clock.set(T0 + 10 * MIN)
    await services.drives.tick()  # floor 3 of both buildings is called
    yield Scene(services, clock, drive.id, one, two, volunteer)


async def login(client: TestClient, scene: Scene, staff: Staff) -> str:
    url = await create_login_link(staff, settings=scene.services.settings, clock=scene.clock)
    path = url.split("://", 1)[1].split("/", 1)[1]
    assert (await client.post("/" + path, allow_redirects=False)).status == 303
    page = await (await client.get(f"/drives/{scene.drive}?lang=en")).text()
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match
    return match.group(1)


async def press(
    client: TestClient, scene: Scene, csrf: str, verb: str, point: str = ""
) -> tuple[int, str]:
    response = await client.post(
        f"/drives/{scene.drive}/control",
        data={"csrf": csrf, "verb": verb, "point": point},
        allow_redirects=True,
    )
    return response.status, await response.text()


async def test_the_page_shows_floors_points_and_the_door_to_door_list(scene: Scene) -> None:
    app = create_app(scene.services, manage_services=False)
    async with TestClient(TestServer(app)) as client:
        await login(client, scene, scene.one)
        html = await (await client.get(f"/drives/{scene.drive}?lang=en")).text()
    # Only point A (building 1) for building 1's cadre; every floor numbered, not in a tooltip.
    assert 'data-point="A"' in html and 'data-point="B"' not in html
    for floor in (3, 2, 1):
        assert f'data-floor="{floor}"' in html and f">{floor}F<" in html
    assert 'data-floor="1" data-state="door"' in html  # its only household is positive
    assert "Calling: building 1, floor 3" in html
    assert "Next call 14:15: building 1, floor 2" in html  # Asia/Shanghai, T0 is 06:00 UTC
    assert "expected to finish about 14:20" in html and "UTC+08:00" in html
    assert "<th>Room</th>" in html and "positive, stays home" in html
    for verb in ("next", "skip", "pause"):
        assert f'data-verb="{verb}"' in html
    assert 'data-verb="cancel"' not in html  # point B is not theirs: no cancel button


async def test_buttons_steer_the_drive_with_the_rule_and_audit_of_telegram(scene: Scene) -> None:
    app = create_app(scene.services, manage_services=False)
    async with TestClient(TestServer(app)) as client:
        csrf = await login(client, scene, scene.one)
        # No CSRF token: refused, nothing paused.
        bad = await client.post(
            f"/drives/{scene.drive}/control", data={"verb": "pause", "point": "A"}
        )
        assert bad.status == 403
        assert (
            await DrivePoint.get(drive_id=scene.drive, name="A").values_list("paused_at", flat=True)
            is None
        )
        # Pause and resume point A: the page says so and shows the state.
        status, html = await press(client, scene, csrf, "pause", "A")
        assert status == 200 and "Point A is paused." in html
        assert 'data-role="paused"' in html and 'data-verb="resume"' in html
        # A paused point promises no time: its next floor waits for the resume.
        assert "After resume, next: building 1, floor 2" in html and "Next call" not in html
        status, html = await press(client, scene, csrf, "resume", "A")
        assert status == 200 and "Point A goes on." in html
        # Call the next floor now: floor 2 of building 1 is called at once.
        status, html = await press(client, scene, csrf, "next", "A")
        assert status == 200
        await scene.services.drives.tick()
        called = await DriveBatch.filter(drive_id=scene.drive, point="A", state="called")
        assert [b.floors for b in called] == [[2]]
        # Point B serves building 2 only: building 1's cadre may not touch it, nor cancel.
        status, _ = await press(client, scene, csrf, "skip", "B")
        assert status == 403
        status, _ = await press(client, scene, csrf, "cancel")
        assert status == 403
        assert (await Drive.get(id=scene.drive)).status == "running"
    entries = await AuditEntry.filter(staff_id=scene.one.id).order_by("id")
    seen = [(e.action, e.target, e.allowed) for e in entries if e.action.startswith("/")]
    assert seen == [
        ("/pause", f"drive {scene.drive} point A", True),
        ("/resume", f"drive {scene.drive} point A", True),
        ("/next", f"drive {scene.drive} point A", True),
        ("/skip", f"drive {scene.drive} point B", False),
        ("/drive cancel", f"drive {scene.drive}", False),
    ]
    assert entries[-1].detail["why"] == "not all its buildings are yours"


async def test_a_point_volunteer_steers_only_their_point(scene: Scene) -> None:
    app = create_app(scene.services, manage_services=False)
    async with TestClient(TestServer(app)) as client:
        csrf = await login(client, scene, scene.volunteer)
        status, _ = await press(client, scene, csrf, "pause", "A")
        assert status == 403
        status, html = await press(client, scene, csrf, "skip", "B")
        assert status == 200 and "Point B: the next batch is skipped." in html
    skipped = await DriveBatch.filter(drive_id=scene.drive, point="B", state="skipped")
    assert [b.floors for b in skipped] == [[2]]


async def test_a_cancelled_drive_offers_no_buttons_and_no_next_call(scene: Scene) -> None:
    admin = await add_staff("boss", role="admin")
    app = create_app(scene.services, manage_services=False)
    async with TestClient(TestServer(app)) as client:
        csrf = await login(client, scene, admin)
        status, html = await press(client, scene, csrf, "cancel")
        assert status == 200 and "The call-up is cancelled" in html
        assert (await Drive.get(id=scene.drive)).status == "cancelled"
        assert "Next call" not in html and "expected to finish" not in html
        assert "data-verb=" not in html
        # Pressing a stale button later changes nothing and says why.
        status, html = await press(client, scene, csrf, "next", "A")
        assert status == 200 and "Not done: drive" in html and "cancelled" in html
    audit = await AuditEntry.filter(staff_id=admin.id, action="/drive cancel").count()
    assert audit == 1
