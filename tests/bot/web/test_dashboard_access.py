"""Who reaches which web page: no session → login page or 401; another building's staff → 403;
one-time links work once; cookies are signed and expire; every POST needs the CSRF token."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from openpyxl import load_workbook

from bot.app import Services, build_services
from bot.web.app import create_app
from bot.web.dashboard.auth import COOKIE
from config.clock import FakeClock
from estate.logins import create_login_link
from estate.models import Building, Contact, Estate, Household, Staff
from estate.staff import add_staff
from notifications.drives import models as dm
from surveys.models import Round
from tests.conftest import make_settings

# Twilio's routes need no login: they are refused (403) without Twilio's signature.
TWILIO_VOICE = {"/twilio/voice", "/twilio/voice/gather", "/twilio/voice/status"}
PUBLIC = {"/healthz", "/telegram/webhook", "/twilio/sms", "/twilio/status", "/login"} | TWILIO_VOICE


@dataclass
class World:
    services: Services
    clock: FakeClock
    app: web.Application
    one: Staff  # cadre of building 1
    two: Staff  # cadre of building 2
    admin: Staff
    household1: int
    round1: int
    drive1: int


@pytest.fixture
async def world(db: str) -> AsyncIterator[World]:
    estate = await Estate.create(name="t")
    households = []
    for number in (1, 2):
        building = await Building.create(estate=estate, number=number, floors=6)
        household = await Household.create(building=building, floor=3, room="301")
        await Contact.create(household=household, channel="sms", address=f"+861380000000{number}")
        households.append(household)
    one = await add_staff("one", role="cadre", buildings=[1])
    two = await add_staff("two", role="cadre", buildings=[2])
    admin = await add_staff("boss", role="admin")
    clock = FakeClock()
    services = build_services(make_settings(database_url=db, secret_key="k" * 40), clock=clock)
    opened = await services.runtime.open_round("antigen", buildings=[1])
    drive1 = await _drive_on_building_1(clock)
    yield World(
        services,
        clock,
        create_app(services, manage_services=False),
        one,
        two,
        admin,
        households[0].id,
        opened.round.id,
        drive1,
    )


async def _drive_on_building_1(clock: FakeClock) -> int:
    now = clock.now()
    drive = await dm.Drive.create(
        created_at=now,
        start_at=now,
        interval_s=60,
        lead_s=30,
        points_spec="A:1",
        updated_at=now,
    )
    await dm.DrivePoint.create(drive=drive, name="A", buildings=[1])
    return int(drive.id)


async def login(client: TestClient, staff: Staff, world: World) -> str:
    """Log in with a one-time link; returns the page's CSRF token."""
    url = await create_login_link(staff, settings=world.services.settings, clock=world.clock)
    path = url.split("://", 1)[1].split("/", 1)[1]
    response = await client.post("/" + path, allow_redirects=False)
    assert response.status == 303
    page = await (await client.get("/rounds")).text()
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match
    return match.group(1)


def concrete(path: str, world: World) -> str:
    return (
        path.replace("{round_id}", str(world.round1))
        .replace("{household_id}", str(world.household1))
        .replace("{staff_id}", str(world.one.id))
        .replace("{drive_id}", str(world.drive1))
        .replace("{token}", "nope")
        .replace("{recording_id}", "1")
    )


def routes(app: web.Application) -> list[tuple[str, str]]:
    found = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or ""
        if route.method in ("GET", "POST") and path and not path.startswith("/static"):
            found.append((route.method, re.sub(r"\{(\w+):[^}]+\}", r"{\1}", path)))
    return found


async def test_every_page_and_api_needs_a_login(world: World) -> None:
    checked = 0
    async with TestClient(TestServer(world.app)) as client:
        for method, path in routes(world.app):
            if path in PUBLIC or path.startswith("/login/") or path == "/metrics":
                continue
            # Signed by Twilio, or a signed URL (tests/bot/web/test_media_route.py) instead.
            if path.startswith(("/media/", "/twilio/voice")):
                continue
            url = concrete(path, world)
            response = await client.request(method, url, allow_redirects=False)
            if method == "GET" and not url.endswith("/live"):
                assert response.status == 302, (method, url, response.status)
                assert response.headers["Location"] == "/login"
            else:
                assert response.status == 401, (method, url, response.status)
            checked += 1
        for path in sorted(TWILIO_VOICE):
            assert (await client.post(path, data={"CallSid": "CA1"})).status == 403, path
        login_page = await client.get("/login")
        assert login_page.status == 200
        assert "/login" in await login_page.text()
    assert checked >= 15  # the dashboard, its event streams, the simulator and its forms


async def test_another_buildings_staff_gets_403(world: World) -> None:
    forbidden = [
        f"/rounds/{world.round1}",
        f"/rounds/{world.round1}.xlsx",
        f"/rounds/{world.round1}/live",
        f"/sim/household/{world.household1}?view=sms",
        f"/sim/household/{world.household1}?view=chat",
        f"/sim/household/{world.household1}/live",
        "/sim?building=1",
        f"/sim/staff/{world.one.id}",
        f"/sim/staff/{world.one.id}/live",
    ]
    forbidden += [f"/drives/{world.drive1}", f"/drives/{world.drive1}/live"]
    async with TestClient(TestServer(world.app)) as client:
        csrf = await login(client, world.two, world)
        for url in forbidden:
            response = await client.get(url, allow_redirects=False)
            assert response.status == 403, (url, response.status)
        for url, data in (
            (f"/sim/household/{world.household1}/send", {"text": "1", "view": "sms"}),
            (f"/sim/staff/{world.one.id}/send", {"text": "/login"}),
            ("/rounds", {"slug": "antigen", "buildings": "1"}),
        ):
            response = await client.post(url, data={**data, "csrf": csrf}, allow_redirects=False)
            assert response.status == 403, (url, response.status)
        # Their own building and pages are fine, and lists leave building 1 out.
        overview = await (await client.get("/")).text()
        assert 'data-building="2"' in overview and 'data-building="1"' not in overview
        rounds = await (await client.get("/rounds")).text()
        assert f"/rounds/{world.round1}" not in rounds
        assert (await client.get("/sim?building=2")).status == 200
        assert (await client.get("/outbox")).status == 200
        assert (await client.get(f"/sim/staff/{world.two.id}")).status == 200
    async with TestClient(TestServer(world.app)) as client:
        await login(client, world.one, world)
        assert (await client.get(f"/rounds/{world.round1}")).status == 200
        xlsx = await client.get(f"/rounds/{world.round1}.xlsx")
        assert xlsx.status == 200 and "round-" in xlsx.headers["Content-Disposition"]
        sheet = load_workbook(io.BytesIO(await xlsx.read())).active
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][:4] == ("楼号", "楼层", "室号", "状态")  # for people: the page's language
        assert [r[:4] for r in rows[1:]] == [(1, 3, "301", "已发送，未回复")]  # building 1 only
        assert (await client.get(f"/sim/household/{world.household1}?view=sms")).status == 200
        assert (await client.get(f"/drives/{world.drive1}")).status == 200


async def test_a_login_link_works_once_and_expires(world: World) -> None:
    settings = world.services.settings
    async with TestClient(TestServer(world.app)) as client:
        url = await create_login_link(world.one, settings=settings, clock=world.clock)
        path = "/" + url.split("://", 1)[1].split("/", 1)[1]
        shown = await client.get(path)  # a link preview only looks: the link still works
        assert "one" in await shown.text()
        assert (await client.post(path, allow_redirects=False)).status == 303
        assert (await client.get("/", allow_redirects=False)).status == 200
    async with TestClient(TestServer(world.app)) as client:
        again = await client.post(path, allow_redirects=False)
        assert again.status == 200 and COOKIE not in again.cookies
        assert (await client.get("/", allow_redirects=False)).status == 302
        late = await create_login_link(world.one, settings=settings, clock=world.clock)
        world.clock.advance(settings.login_link_minutes * 60 + 1)
        late_path = "/" + late.split("://", 1)[1].split("/", 1)[1]
        assert (await client.post(late_path, allow_redirects=False)).status == 200
        assert (await client.get("/", allow_redirects=False)).status == 302


async def test_sessions_are_signed_and_expire(world: World) -> None:
    async with TestClient(TestServer(world.app)) as client:
        await login(client, world.one, world)
        assert (await client.get("/", allow_redirects=False)).status == 200
        cookie = next(c for c in client.session.cookie_jar if c.key == COOKIE)
        payload, mac = cookie.value.split(".")
        forged = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + mac
        client.session.cookie_jar.clear()
        client.session.cookie_jar.update_cookies({COOKIE: forged}, client.make_url("/"))
        assert (await client.get("/", allow_redirects=False)).status == 302
    async with TestClient(TestServer(world.app)) as client:
        await login(client, world.one, world)
        world.clock.advance(timedelta(hours=world.services.settings.session_hours).total_seconds())
        assert (await client.get("/", allow_redirects=False)).status == 302


async def test_every_form_needs_the_csrf_token(world: World) -> None:
    async with TestClient(TestServer(world.app)) as client:
        csrf = await login(client, world.admin, world)
        for data in ({}, {"csrf": "wrong"}):
            response = await client.post("/rounds", data={"slug": "antigen", **data})
            assert response.status == 403
        assert await Round.all().count() == 1  # nothing was opened
        form = {"slug": "antigen", "buildings": "2", "hours": "6", "csrf": csrf}
        preview = await client.post("/rounds", data=form)
        assert preview.status == 200 and await Round.all().count() == 1  # a preview only
        response = await client.post("/rounds", data={**form, "confirm": "1", "token": "t1"})
        assert response.status == 200 and await Round.all().count() == 2
        again = await client.post("/rounds", data={**form, "confirm": "1", "token": "t1"})
        assert again.status == 200 and await Round.all().count() == 2  # pressed twice: one round
        assert (await client.post("/logout", data={})).status == 403
        await client.post("/logout", data={"csrf": csrf})
        assert (await client.get("/", allow_redirects=False)).status == 302


async def test_metrics_needs_a_token_when_one_is_set(db: str) -> None:
    services = build_services(make_settings(database_url=db, metrics_token="s3cret"))
    async with TestClient(TestServer(create_app(services, manage_services=False))) as client:
        assert (await client.get("/metrics")).status == 401
        bad = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert bad.status == 401
        good = await client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
        assert good.status == 200 and "louzhang_outbox_messages" in await good.text()
        relayed = await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        assert relayed.status == 401
        assert (await client.get("/healthz")).status == 200


def test_every_page_text_is_in_chinese_and_english() -> None:
    from bot.staff.login import DESCRIPTION, TEXTS
    from bot.web.dashboard.texts import UI
    from config.i18n import check_catalog

    assert check_catalog(UI) == []
    assert check_catalog(TEXTS) == []
    assert set(DESCRIPTION) == {"zh-CN", "en"}


def test_access_log_lines_hide_login_tokens() -> None:
    import logging

    from bot.web.dashboard import _HideLoginTokens

    record = logging.LogRecord(
        "aiohttp.access", logging.INFO, "", 0, '"GET /login/abcDEF_123-x HTTP/1.1" 200', None, None
    )
    assert _HideLoginTokens().filter(record)
    assert record.getMessage() == '"GET /login/*** HTTP/1.1" 200'
