# ruff: noqa: F811  (the fixtures imported from test_dashboard_browser.py)
"""Issue 14 in the browser (Debian Chromium + Playwright, the fixtures of
test_dashboard_browser.py): opening a round is preview -> confirm; the round page lists the
positive households first; the overview's alerts panel shows every alert with who was told
(SMS included); the staff simulator shows what staff receive by SMS. Screenshots go to
test-artifacts/."""

from __future__ import annotations

from estate.models import AuditEntry, Contact, Household, Person
from estate.staff import add_staff
from notifications.inbound import Inbound
from notifications.models import OutboxMessage
from surveys.models import Round
from tests.bot.web.test_dashboard_browser import (  # noqa: F401  (fixtures)
    ARTIFACTS,
    PHONE,
    Site,
    browser,
    logged_in_page,
    site,
)
from tests.waiting import wait_for


async def test_open_a_round_preview_then_confirm(browser: object, site: Site) -> None:
    older = await site.services.runtime.open_round("antigen", buildings=[7])
    rounds_before = await Round.all().count()
    page = await logged_in_page(browser, site)
    await page.goto(f"{site.url}/rounds")  # type: ignore[attr-defined]
    await page.select_option("#open-round select[name=slug]", "medication")  # type: ignore[attr-defined]
    await page.select_option("#open-round select[name=hours]", "6")  # type: ignore[attr-defined]
    # The buildings box left empty: the preview says plainly that it means every building.
    await page.click("#open-round button[type=submit]")  # type: ignore[attr-defined]
    await page.wait_for_selector("#round-preview")  # type: ignore[attr-defined]
    assert "全部楼栋（共 25 栋）" in await page.inner_text("#preview-buildings")  # type: ignore[attr-defined]
    assert await Round.all().count() == rounds_before  # nothing opened, nothing sent
    await page.screenshot(path=str(ARTIFACTS / "round-preview-every-building.png"), full_page=True)  # type: ignore[attr-defined]

    await page.goto(f"{site.url}/rounds")  # type: ignore[attr-defined]
    await page.select_option("#open-round select[name=slug]", "medication")  # type: ignore[attr-defined]
    await page.fill("#open-round input[name=buildings]", "7")  # type: ignore[attr-defined]
    await page.click("#open-round button[type=submit]")  # type: ignore[attr-defined]
    await page.wait_for_selector("#round-preview")  # type: ignore[attr-defined]
    households = await Household.filter(building__number=7).count()
    assert await page.inner_text("#preview-households") == str(households)  # type: ignore[attr-defined]
    assert await page.inner_text("#preview-buildings") == "7"  # type: ignore[attr-defined]
    channels = await page.inner_text("#preview-channels")  # type: ignore[attr-defined]
    assert "短信" in channels
    waiting = await page.inner_text("#preview-waiting")  # type: ignore[attr-defined]
    assert f"第 {older.round.id} 轮尚未开始填写的" in waiting  # untouched: they get this first
    assert "条计费段" in await page.inner_text("#preview-sms")  # type: ignore[attr-defined]
    # 6 h from now in Shanghai (the fake clock starts at 06:00 UTC = 14:00 local): 20:00, with
    # reminders 2 h and 30 min before.
    assert await page.inner_text("#preview-deadline") == "04-10 20:00"  # type: ignore[attr-defined]
    assert await page.inner_text("#preview-reminders") == "04-10 18:00, 04-10 19:30"  # type: ignore[attr-defined]
    await page.screenshot(path=str(ARTIFACTS / "round-preview.png"), full_page=True)  # type: ignore[attr-defined]
    await page.set_viewport_size(PHONE)  # type: ignore[attr-defined]
    await page.screenshot(path=str(ARTIFACTS / "round-preview-phone.png"), full_page=True)  # type: ignore[attr-defined]

    await page.click("#confirm-round button[type=submit]")  # type: ignore[attr-defined]
    await page.wait_for_selector("#round-total")  # type: ignore[attr-defined]
    opened = await Round.all().order_by("-id").first()
    assert opened is not None and opened.survey == "medication" and opened.buildings == [7]
    assert opened.closes_at is not None and opened.reminders == [7200, 1800]
    assert page.url.endswith(f"/rounds/{opened.id}")  # type: ignore[attr-defined]
    assert await AuditEntry.filter(action="open_round", target=f"round {opened.id}").exists()
    # Going back and confirming the same preview again opens nothing more.
    await page.go_back()  # type: ignore[attr-defined]
    await page.wait_for_selector("#confirm-round")  # type: ignore[attr-defined]
    await page.click("#confirm-round button[type=submit]")  # type: ignore[attr-defined]
    await page.wait_for_load_state()  # type: ignore[attr-defined]
    assert await Round.all().count() == rounds_before + 1


async def test_positives_first_alerts_panel_and_staff_sms(browser: object, site: Site) -> None:
    services = site.services
    # A cadre of building 7 without Telegram: alerts reach them by SMS.
    cadre = await add_staff("王主任", role="cadre", buildings=[7], phone="+8613911112222")
    opened = await services.runtime.open_round("antigen", buildings=[7])
    household = await (
        Household.filter(building__number=7, preferred_channel="sms")
        .filter(contacts__channel="sms", contacts__status="active")
        .order_by("floor", "room")
        .first()
    )
    assert household is not None
    contact = await Contact.filter(household_id=household.id, channel="sms").first()
    assert contact is not None
    person = await Person.filter(household_id=household.id).order_by("id").first()
    for reply in ("1", "2", "1"):  # tested, 2 people, 1 positive
        await services.router.handle(Inbound("sms", contact.address, text=reply))
    await wait_for(
        lambda: OutboxMessage.filter(
            purpose="alert", channel="sms", address=cadre.phone, status="sent"
        ).exists()
    )

    page = await logged_in_page(browser, site)
    panel = await page.inner_text("#alerts")  # type: ignore[attr-defined]
    address = f"7-{household.room}"
    assert address in panel and "王主任 · 短信" in panel and "阳性" in panel
    await page.screenshot(path=str(ARTIFACTS / "overview-alerts.png"), full_page=True)  # type: ignore[attr-defined]

    await page.goto(f"{site.url}/rounds/{opened.round.id}")  # type: ignore[attr-defined]
    first = page.locator("#positives tr.positive").first  # type: ignore[attr-defined]
    cells = await first.locator("td").all_inner_texts()
    assert cells[0] == address and cells[1] == "1"
    assert person is not None and cells[3] == person.name and cells[4] == "否"
    assert cells[2].startswith("04-10 ")
    # The positives come before the counts on the page.
    # (read in one go: the live page may swap its fragment between two separate reads)
    above = await page.evaluate(  # type: ignore[attr-defined]
        "document.querySelector('#positives').getBoundingClientRect().top"
        " < document.querySelector('#completion').getBoundingClientRect().top"
    )
    assert above
    await page.screenshot(path=str(ARTIFACTS / "round-positives.png"), full_page=True)  # type: ignore[attr-defined]

    await page.goto(f"{site.url}/sim/staff/{cadre.id}")  # type: ignore[attr-defined]
    sms = await page.inner_text("#staff-sms")  # type: ignore[attr-defined]
    assert address in sms and "阳性" in sms
    await page.screenshot(path=str(ARTIFACTS / "simulator-staff-sms.png"), full_page=True)  # type: ignore[attr-defined]
