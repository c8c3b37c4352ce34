"""The web side as staff use it, in Debian's Chromium driven by Playwright (no browser download).

The service runs in the test's event loop on the demo estate with no provider token (so every
message is delivered to the browser) and a fake clock the test moves on. Screenshots go to
test-artifacts/ at the repository root.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from aiohttp import web

from bot.app import Services, build_services
from bot.web.app import create_app
from config.clock import FakeClock
from estate.demo import seed_demo
from estate.logins import create_login_link
from estate.models import Contact, Household, Staff
from estate.staff import add_staff
from tests.conftest import free_port, make_settings, require

CHROMIUM = Path("/usr/bin/chromium")
HAVE_CHROMIUM = CHROMIUM.exists()
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}

try:
    from playwright import async_api
except ImportError:  # a developer's machine without the dev extras: skipped (failed under CI)
    async_api = None  # type: ignore[assignment]


@dataclass
class Site:
    services: Services
    clock: FakeClock
    url: str
    admin: Staff


@pytest.fixture
async def site(db: str) -> AsyncIterator[Site]:
    await seed_demo(today=date(2022, 4, 10))
    admin = await add_staff("demo-admin", role="admin")
    clock = FakeClock()
    port = free_port()
    settings = make_settings(database_url=db, http_port=port, secret_key="s" * 40)
    services = build_services(settings, clock=clock)
    runner = web.AppRunner(create_app(services), shutdown_timeout=2)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield Site(services, clock, f"http://127.0.0.1:{port}", admin)
    finally:
        await runner.cleanup()


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    if not HAVE_CHROMIUM:
        require("browser", f"no {CHROMIUM} (apt-get install chromium; .ci/run does)")
    if async_api is None:
        require("browser", "playwright is not installed (pip install -e '.[dev]')")
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_api.async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


async def logged_in_page(browser: object, site: Site, *, phone: bool = False) -> object:
    context = await browser.new_context(  # type: ignore[attr-defined]
        viewport=PHONE if phone else {"width": 1280, "height": 900},
        is_mobile=phone,
        locale="zh-CN",
    )
    page = await context.new_page()
    link = await create_login_link(site.admin, settings=site.services.settings, clock=site.clock)
    await page.goto(link)
    await page.click("#login-button")
    await page.wait_for_url(site.url + "/")
    return page


async def test_log_in_with_a_one_time_link_on_a_phone(browser: object, site: Site) -> None:
    page = await logged_in_page(browser, site, phone=True)
    assert "demo-admin" in await page.inner_text("main")  # type: ignore[attr-defined]
    rows = await page.locator("#reach tr[data-building]").count()  # type: ignore[attr-defined]
    assert rows == 25
    # Nothing wider than the phone's screen but the scrollable table card.
    width = await page.evaluate("document.documentElement.scrollWidth")  # type: ignore[attr-defined]
    assert width <= PHONE["width"] + 1
    await page.screenshot(path=str(ARTIFACTS / "overview-phone-zh.png"), full_page=False)  # type: ignore[attr-defined]
    await page.click("#lang-switch")  # type: ignore[attr-defined]
    await page.wait_for_selector("text=How each building can be reached")  # type: ignore[attr-defined]
    await page.screenshot(path=str(ARTIFACTS / "overview-phone-en.png"))  # type: ignore[attr-defined]
    # A stranger without the link is sent to the login page.
    stranger = await browser.new_page()  # type: ignore[attr-defined]
    await stranger.goto(site.url + "/rounds")
    assert stranger.url.endswith("/login")


async def test_a_login_link_works_once(browser: object, site: Site) -> None:
    link = await create_login_link(site.admin, settings=site.services.settings, clock=site.clock)
    first = await browser.new_page()  # type: ignore[attr-defined]
    await first.goto(link)
    await first.click("#login-button")
    await first.wait_for_url(site.url + "/")
    second = await browser.new_page()  # type: ignore[attr-defined]
    await second.goto(link)
    assert await second.locator("#login-button").count() == 0
    assert "已失效" in await second.inner_text("main")


async def test_drive_floor_map_moves_with_the_clock(browser: object, site: Site) -> None:
    from bot.staff.drive_launch import build_options, launch, make_preview

    services, clock = site.services, site.clock
    options = build_options(
        points="A:1,B:2",
        start="now",
        interval="5m",
        lead="2m",
        now=clock.now(),
        settings=services.settings,
    )
    round_id, preview = await make_preview(options, services.runtime.enabled)
    drive = await launch(options, preview, round_id, now=clock.now(), created_by="test")
    services.drives.notify()
    page = await logged_in_page(browser, site)
    await page.goto(f"{site.url}/drives/{drive.id}")  # type: ignore[attr-defined]
    floors = page.locator("#floor-map .floor[data-state]")  # type: ignore[attr-defined]
    await page.wait_for_selector('#floor-map .floor[data-state="called"]')  # type: ignore[attr-defined]
    await page.screenshot(path=str(ARTIFACTS / "drive-start.png"), full_page=True)  # type: ignore[attr-defined]

    async def count(state: str) -> int:
        return int(await page.locator(f'#floor-map .floor[data-state="{state}"]').count())  # type: ignore[attr-defined]

    done_before = await count("done")
    assert await floors.count() > 0
    # Half an hour passes, five minutes at a time, the drive acting at each step; the page is
    # not reloaded, the server pushes the new floor map.
    for _ in range(6):
        clock.advance(300)
        await services.drives.tick()
    await page.wait_for_function(  # type: ignore[attr-defined]
        f"document.querySelectorAll('#floor-map .floor[data-state=\"done\"]').length >= {done_before + 4}",
        timeout=15000,
    )
    assert await count("done") >= done_before + 4
    updates = await page.get_attribute("#drive-live", "data-updates")  # type: ignore[attr-defined]
    assert updates is not None and int(updates) >= 1
    await page.screenshot(path=str(ARTIFACTS / "drive-later.png"), full_page=True)  # type: ignore[attr-defined]
    await page.set_viewport_size(PHONE)  # type: ignore[attr-defined]
    await page.screenshot(path=str(ARTIFACTS / "drive-phone.png"))  # type: ignore[attr-defined]


async def test_answer_a_survey_as_an_sms_household(browser: object, site: Site) -> None:
    page = await logged_in_page(browser, site)
    await page.goto(f"{site.url}/rounds")  # type: ignore[attr-defined]
    await page.select_option("#open-round select[name=slug]", "antigen")  # type: ignore[attr-defined]
    await page.fill("#open-round input[name=buildings]", "7")  # type: ignore[attr-defined]
    await page.click("#open-round button[type=submit]")  # type: ignore[attr-defined]
    await page.click("#confirm-round button[type=submit]")  # type: ignore[attr-defined]
    await page.wait_for_selector("#round-total")  # type: ignore[attr-defined]
    round_url = page.url  # type: ignore[attr-defined]
    assert "/rounds/" in round_url
    answered = page.locator("#round-total .n-answered")  # type: ignore[attr-defined]
    before = int(await answered.inner_text())

    household = await (
        Household.filter(building__number=7, preferred_channel="sms")
        .filter(contacts__channel="sms", contacts__status="active")
        .order_by("floor", "room")
        .first()
    )
    assert household is not None
    sms_number = (
        await Contact.filter(household_id=household.id, channel="sms")
        .first()
        .values_list("address", flat=True)
    )
    sim = await page.context.new_page()  # type: ignore[attr-defined]
    await sim.goto(f"{site.url}/sim/household/{household.id}?view=sms")
    await sim.wait_for_selector(".msg.in >> text=回复 1 = 是")
    assert "UCS-2" in await sim.inner_text(".msg.in .segments")
    for reply in ("1", "1", "0"):
        await sim.fill("#compose input[name=text]", reply)
        await sim.click("#compose button[type=submit]")
        await sim.wait_for_load_state()
    await sim.wait_for_selector(".msg.in >> nth=3")
    await sim.screenshot(path=str(ARTIFACTS / "simulator-sms.png"), full_page=True)
    # The household really answered through the SMS path: its own number, the SMS rendering.
    from notifications.models import OutboxMessage

    assert await OutboxMessage.filter(channel="sms", address=sms_number, status="sent").count() >= 4
    # The round page, open all along, shows it without a reload.
    await page.bring_to_front()  # type: ignore[attr-defined]
    await page.wait_for_function(  # type: ignore[attr-defined]
        f"Number(document.querySelector('#round-total .n-answered').innerText) > {before}",
        timeout=15000,
    )
    assert page.url == round_url  # type: ignore[attr-defined]
    answers = await page.inner_text("#answers")  # type: ignore[attr-defined]
    assert "今天家里做抗原检测了吗" in answers and "是" in answers  # labels, not keys
    await page.screenshot(path=str(ARTIFACTS / "round-live.png"), full_page=True)  # type: ignore[attr-defined]
    await page.set_viewport_size(PHONE)  # type: ignore[attr-defined]
    width = await page.evaluate("document.documentElement.scrollWidth")  # type: ignore[attr-defined]
    assert width <= PHONE["width"] + 1
    await page.screenshot(path=str(ARTIFACTS / "round-phone.png"))  # type: ignore[attr-defined]


async def test_telegram_view_answers_with_buttons(browser: object, site: Site) -> None:
    await site.services.runtime.open_round("antigen", buildings=[9])
    household = await Household.filter(building__number=9).order_by("floor", "room").first()
    assert household is not None
    page = await logged_in_page(browser, site, phone=True)
    await page.goto(f"{site.url}/sim/household/{household.id}?view=chat")  # type: ignore[attr-defined]
    await page.fill("#compose input[name=text]", "/start")  # type: ignore[attr-defined]
    await page.click("#compose button[type=submit]")  # type: ignore[attr-defined]
    yes = page.locator(".buttons button", has_text="是").last  # type: ignore[attr-defined]
    await yes.wait_for()
    await yes.click()
    await page.wait_for_selector("text=家里有几人做了检测")  # type: ignore[attr-defined]
    await page.screenshot(path=str(ARTIFACTS / "simulator-telegram-phone.png"), full_page=True)  # type: ignore[attr-defined]


async def test_drive_page_on_a_phone_numbers_floors_and_steers_the_drive(
    browser: object, site: Site
) -> None:
    """A volunteer downstairs: every floor numbered with its state and replies, the floor being
    called and the next call per point, and the buttons, on a 390x844 screen."""
    from bot.staff.drive_launch import build_options, launch
    from estate.models import AuditEntry
    from notifications.drives.models import DriveBatch, DrivePoint
    from notifications.drives.setup import preview

    services, clock = site.services, site.clock
    options = build_options(
        points="A:1,B:2",
        start="now",
        interval="5m",
        lead="2m",
        now=clock.now(),
        settings=services.settings,
    )
    # Everybody on the first floor of building 1 is positive: that floor is visited at home.
    first_floor = await Household.filter(building__number=1, floor=1).values_list("id", flat=True)
    result = await preview(options, services.runtime.enabled, positive=set(first_floor))  # type: ignore[arg-type]
    drive = await launch(options, result, None, now=clock.now(), created_by="test")
    await services.drives.tick()
    page = await logged_in_page(browser, site, phone=True)
    await page.goto(f"{site.url}/drives/{drive.id}")  # type: ignore[attr-defined]
    point_a = page.locator('section.point[data-point="A"]')  # type: ignore[attr-defined]
    await point_a.locator('.floor[data-state="called"]').first.wait_for()
    # Floors are numbered on the cells themselves (a phone shows no tooltips).
    first = point_a.locator('.floor[data-floor="1"]')
    assert await first.get_attribute("data-state") == "door"
    assert (await first.inner_text()).startswith("1层")
    assert "上门" in await first.inner_text()
    top = point_a.locator(".floor").first
    assert "已叫号" in await top.inner_text() and "0/0/0" in await top.inner_text()
    head = await point_a.inner_text()
    assert "正在叫：1号楼" in head and "下一批" in head
    assert "预计" in await page.inner_text("#drive-head")  # type: ignore[attr-defined]
    headers = await page.locator("#door-to-door th").all_inner_texts()  # type: ignore[attr-defined]
    assert headers == ["楼", "层", "室", "人数", "原因"]
    assert "阳性居家" in await page.inner_text("#door-to-door")  # type: ignore[attr-defined]
    # Readable on the phone: nothing wider than the screen (the floor rows scroll in their card).
    width = await page.evaluate("document.documentElement.scrollWidth")  # type: ignore[attr-defined]
    assert width <= PHONE["width"] + 1
    box = await first.bounding_box()
    assert box is not None and box["height"] >= 20  # a floor is a row to read, not a sliver
    await page.screenshot(path=str(ARTIFACTS / "drive-phone-floors.png"), full_page=True)  # type: ignore[attr-defined]

    # Pause point A from the page: the point shows it, the runtime holds it, the audit says so.
    await point_a.locator('button[data-verb="pause"]').click()
    await page.wait_for_selector("#drive-said")  # type: ignore[attr-defined]
    point_a = page.locator('section.point[data-point="A"]')  # type: ignore[attr-defined]
    await point_a.locator('[data-role="paused"]').wait_for()
    spot = await DrivePoint.get(drive_id=drive.id, name="A")
    assert spot.paused_at is not None
    assert "恢复后再叫下一批" in await point_a.locator('[data-role="next"]').inner_text()
    await page.screenshot(path=str(ARTIFACTS / "drive-phone-paused.png"))  # type: ignore[attr-defined]
    await point_a.locator('button[data-verb="resume"]').click()
    await page.wait_for_selector("#drive-said >> text=采样点 A 已恢复")  # type: ignore[attr-defined]
    # Call the next floor now: the page, without a reload, shows it called.
    called_before = await DriveBatch.filter(drive_id=drive.id, point="A", state="called").first()
    assert called_before is not None
    await page.locator('section.point[data-point="A"] button[data-verb="next"]').click()  # type: ignore[attr-defined]
    await page.wait_for_selector("#drive-said")  # type: ignore[attr-defined]
    await services.drives.tick()
    below = min(called_before.floors) - 1
    await page.wait_for_selector(  # type: ignore[attr-defined]
        f'section.point[data-point="A"] .building[data-building="1"] '
        f'.floor[data-floor="{below}"][data-state="called"]',
        timeout=15000,
    )
    await page.screenshot(path=str(ARTIFACTS / "drive-phone-next.png"), full_page=True)  # type: ignore[attr-defined]
    # Cancel (the admin may): confirm the dialog; no buttons and no next call remain.
    page.on("dialog", lambda dialog: dialog.accept())  # type: ignore[attr-defined]
    await page.locator('#drive-head button[data-verb="cancel"]').click()  # type: ignore[attr-defined]
    await page.wait_for_selector('#drive-status[data-status="cancelled"]')  # type: ignore[attr-defined]
    assert await page.locator("button[data-verb]").count() == 0  # type: ignore[attr-defined]
    assert await page.locator('[data-role="next"]').count() == 0  # type: ignore[attr-defined]
    await page.screenshot(path=str(ARTIFACTS / "drive-phone-cancelled.png"), full_page=True)  # type: ignore[attr-defined]
    actions = await AuditEntry.filter(staff_id=site.admin.id, allowed=True).values_list(
        "action", flat=True
    )
    assert [a for a in actions if a.startswith("/")] == [
        "/pause",
        "/resume",
        "/next",
        "/drive cancel",
    ]
