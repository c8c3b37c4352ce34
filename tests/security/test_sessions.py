"""Web sessions can be ended on the server (estate/logins.py, bot/web/dashboard/auth.py).

Promises, each checked by presenting the OLD cookie again after the event:
- logout ends that browser's session (a copied cookie no longer works), and is audited; the same
  staff member's other browsers stay signed in;
- removing a staff member (``louzhang staff remove``) ends all their sessions, also when a new
  staff member later gets the same id;
- changing a staff member's role or buildings (``louzhang staff change``, estate.staff.change_staff)
  ends all their sessions; so does a change made by any other path (the session remembers the
  grants it was opened with);
- only the SHA-256 of a session's key is stored.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_services
from bot.web.app import create_app
from bot.web.dashboard.auth import COOKIE
from config.clock import FakeClock
from estate.models import AuditEntry, Building, Estate, Staff, StaffBuilding, WebSession
from estate.staff import add_staff, change_staff, remove_staff
from tests.bot.web.test_dashboard_access import login
from tests.conftest import make_settings


@dataclass
class Browser:
    client: TestClient
    csrf: str
    cookie: str  # the session cookie's value right after login

    def present(self, cookie: str | None = None) -> None:
        """Put a cookie value (by default the one from login) back into the browser."""
        jar = self.client.session.cookie_jar
        jar.clear()
        jar.update_cookies({COOKIE: cookie or self.cookie}, self.client.make_url("/"))

    async def signed_in(self) -> bool:
        response = await self.client.get("/rounds", allow_redirects=False)
        assert response.status in (200, 302), response.status
        return response.status == 200


@dataclass
class Site:
    db: str
    app: object
    world: object
    clock: FakeClock

    async def browser(self, staff: Staff) -> Browser:
        client = TestClient(TestServer(self.app))  # type: ignore[arg-type]
        await client.start_server()
        csrf = await login(client, staff, self.world)  # type: ignore[arg-type]
        cookie = next(c.value for c in client.session.cookie_jar if c.key == COOKIE)
        return Browser(client, csrf, cookie)


@dataclass
class _World:  # what tests.bot.web.test_dashboard_access.login needs
    services: object
    clock: FakeClock


@pytest.fixture
async def site(db: str) -> AsyncIterator[Site]:
    estate = await Estate.create(name="t")
    for number in (1, 2):
        await Building.create(estate=estate, number=number, floors=6)
    clock = FakeClock()
    services = build_services(make_settings(database_url=db, secret_key="k" * 40), clock=clock)
    made = Site(db, create_app(services, manage_services=False), _World(services, clock), clock)
    browsers: list[Browser] = []
    original = made.browser

    async def tracked(staff: Staff) -> Browser:
        browser = await original(staff)
        browsers.append(browser)
        return browser

    made.browser = tracked  # type: ignore[method-assign]
    yield made
    for browser in browsers:
        await browser.client.close()


async def test_logout_ends_the_session_and_a_copied_cookie_no_longer_works(site: Site) -> None:
    wang = await add_staff("wang", role="cadre", buildings=[1])
    laptop = await site.browser(wang)
    phone = await site.browser(wang)  # the same person, signed in on a second device
    assert await laptop.signed_in() and await phone.signed_in()
    response = await laptop.client.post(
        "/logout", data={"csrf": laptop.csrf}, allow_redirects=False
    )
    assert response.status == 303
    laptop.present()  # the cookie as it was before logout (copied, or a cached tab)
    assert not await laptop.signed_in()
    assert (await laptop.client.get("/outbox/live")).status == 401
    assert await phone.signed_in()  # logging out one browser leaves the other
    entry = await AuditEntry.get(action="logout")
    assert entry.staff_id == wang.id  # type: ignore[attr-defined]


async def test_removing_a_staff_member_ends_their_sessions(site: Site) -> None:
    gone = await add_staff("gone", role="admin")
    browser = await site.browser(gone)
    assert await browser.signed_in()
    assert await remove_staff("gone")
    browser.present()
    assert not await browser.signed_in()
    assert await WebSession.all().count() == 0
    # A new staff member that gets the freed id is not reached by the old cookie.
    newcomer = await Staff.create(id=gone.id, name="new", role="admin")
    assert newcomer.id == gone.id
    browser.present()
    assert not await browser.signed_in()


@pytest.mark.parametrize(
    "change",
    [
        {"role": "admin"},  # more power: they must log in again to get it
        {"role": "logistics"},
        {"buildings": [2]},  # another building
        {"buildings": [1, 2]},
        {"buildings": []},
    ],
    ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()),
)
async def test_changing_a_role_or_buildings_ends_their_sessions(
    site: Site, change: dict[str, object]
) -> None:
    li = await add_staff("li", role="cadre", buildings=[1])
    other = await add_staff("other", role="cadre", buildings=[1])
    browser = await site.browser(li)
    bystander = await site.browser(other)
    await change_staff("li", **change)  # type: ignore[arg-type]
    browser.present()
    assert not await browser.signed_in()
    assert await bystander.signed_in()  # someone else's change leaves them alone
    fresh = await site.browser(await Staff.get(name="li"))
    assert await fresh.signed_in()  # a new login has the new grants


async def test_a_change_made_by_any_other_path_ends_the_session_too(site: Site) -> None:
    li = await add_staff("li", role="cadre", buildings=[1])
    browser = await site.browser(li)
    building = await Building.get(number=2)
    await StaffBuilding.create(staff=li, building=building)  # not through change_staff
    assert not await browser.signed_in()
    browser.present()
    assert not await browser.signed_in()
    assert await WebSession.filter(staff_id=li.id).count() == 0


async def test_only_the_hash_of_a_sessions_key_is_stored(site: Site) -> None:
    wang = await add_staff("wang", role="admin")
    browser = await site.browser(wang)
    (row,) = await WebSession.all()
    assert browser.csrf not in row.key_hash and len(row.key_hash) == 64
    assert browser.csrf not in browser.cookie.split(".", 1)[1]  # the MAC part


def _cli(db: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOUZHANG_")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env={**env, "LOUZHANG_DATABASE_URL": db, "LOUZHANG_LANGUAGE": "en"},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_the_staff_cli_change_and_remove_end_sessions(site: Site, tmp_path: Path) -> None:
    zhao = await add_staff("zhao", role="cadre", buildings=[1])
    browser = await site.browser(zhao)
    changed = _cli(site.db, tmp_path, "staff", "change", "zhao", "--buildings", "2")
    assert changed.returncode == 0, changed.stderr
    assert "web sessions were ended" in changed.stdout
    browser.present()
    assert not await browser.signed_in()
    browser = await site.browser(await Staff.get(name="zhao"))
    removed = _cli(site.db, tmp_path, "staff", "remove", "zhao")
    assert removed.returncode == 0, removed.stderr
    browser.present()
    assert not await browser.signed_in()
    wrong = _cli(site.db, tmp_path, "staff", "change", "nobody", "--role", "admin")
    assert wrong.returncode != 0 and "no staff member named 'nobody'" in wrong.stderr
