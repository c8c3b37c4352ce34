# ruff: noqa: F811  (the fixtures imported from test_dashboard_browser.py)
"""The simulator's call view in Debian's Chromium (Playwright): a voice household answers its
survey call on a phone-sized screen, hears it through the browser's own speech synthesis and
presses the keypad. Screenshot: test-artifacts/simulator-call-phone.png."""

from __future__ import annotations

from estate.models import Building, Contact, Household, Person
from tests.bot.web.test_dashboard_browser import (  # noqa: F401  (fixtures)
    ARTIFACTS,
    PHONE,
    Site,
    browser,
    logged_in_page,
    site,
)

# Records what is spoken (headless Chromium has no voices to play it with).
SPEECH_STUB = """
window.__spoken = [];
window.speechSynthesis.speak = function (u) { window.__spoken.push({text: u.text, lang: u.lang}); };
"""


async def test_a_voice_household_answers_its_call_with_the_keypad_on_a_phone(
    browser: object,
    site: Site,
) -> None:
    building = await Building.get(number=1)
    home = await Household.create(
        building=building, floor=1, room="109", language="zh-CN", preferred_channel="voice"
    )
    person = await Person.create(household=home, name="李爷爷", phone="+862161000109")
    await Contact.create(household=home, person=person, channel="voice", address=person.phone)
    page = await logged_in_page(browser, site, phone=True)
    await page.add_init_script(SPEECH_STUB)  # type: ignore[attr-defined]
    await page.goto(f"{site.url}/sim?building=1")  # type: ignore[attr-defined]
    await page.click(f'a.sim-call[href="/sim/household/{home.id}?view=call"]')  # type: ignore[attr-defined]
    assert await page.locator(".call-answer").count() == 0  # type: ignore[attr-defined]
    # A round opens while the page is open: its call rings in without a reload.
    await site.services.runtime.open_round("antigen", buildings=[1])
    site.services.dispatcher.notify()
    await page.wait_for_selector(".call-answer", timeout=20000)  # type: ignore[attr-defined]
    await page.click(".call-answer")  # type: ignore[attr-defined]
    await page.wait_for_selector("#keypad")  # type: ignore[attr-defined]
    latest = await page.inner_text("#call-lines")  # type: ignore[attr-defined]
    assert "今天家里做抗原检测了吗" in latest
    assert await page.locator("#keypad button").count() == 12  # type: ignore[attr-defined]
    await page.click("#call-speak")  # type: ignore[attr-defined]
    spoken = await page.evaluate("window.__spoken")  # type: ignore[attr-defined]
    assert spoken and {s["lang"] for s in spoken} == {"zh-CN"}
    assert any("抗原" in s["text"] for s in spoken)
    await page.click('#keypad button[data-key="1"]')  # type: ignore[attr-defined]
    await page.wait_for_selector("text=家里有几人做了检测")  # type: ignore[attr-defined]
    width = await page.evaluate("document.documentElement.scrollWidth")  # type: ignore[attr-defined]
    assert width <= PHONE["width"] + 1
    await page.screenshot(path=str(ARTIFACTS / "simulator-call-phone.png"), full_page=True)  # type: ignore[attr-defined]
