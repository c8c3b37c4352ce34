"""The browser simulator never touches real routing.

Promises:
- opening the staff simulator (and typing commands there) stores nothing on the real staff
  member: their alerts and deadline lists still go to their real Telegram chat, or by SMS when
  they have none, never to a simulator chat;
- a simulator chat of an earlier version stored on a staff member (a negative placeholder id) is
  never chosen for a real message;
- the simulator's staff chat is its own (``local``, ``s<staff id>``): the replies stay in the
  browser and nothing is sent to the staff member's real chat;
- with a real provider on (Telegram or Twilio configured), the household views only show: typing
  for a real household is refused (409, audited, nothing answered, no alert); the page says to
  use the staff command /answer (an audited proxy answer) instead.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import Services, build_services, start_services, stop_services
from bot.web.app import create_app
from estate.models import AuditEntry, Building, Contact, Estate, Household, Person, Staff
from estate.staff import add_staff
from notifications.message import Message
from notifications.models import OutboxMessage
from notifications.to_staff import staff_outgoing
from surveys.alerts import StaffAlerts
from surveys.engine.events import Alert
from surveys.models import Response, Revision
from tests.conftest import make_settings
from tests.security.dashboard import login
from tests.waiting import wait_for

CADRE_PHONE = "+8613900139002"


async def estate_with_one_household() -> Household:
    estate = await Estate.create(name="t")
    building = await Building.create(estate=estate, number=1, floors=10)
    home = await Household.create(building=building, floor=5, room="502")
    await Person.create(household=home, name="王芳", phone="+8613800138000")
    await Contact.create(household=home, channel="sms", address="+8613800138000")
    return home


@pytest.fixture
async def running(db: str) -> AsyncIterator[Services]:
    services = build_services(make_settings(database_url=db, secret_key="x" * 40))
    await start_services(services)
    try:
        yield services
    finally:
        await stop_services(services)


async def positive_alert(services: Services, home: Household) -> list[OutboxMessage]:
    """A positive antigen alert on ``home``'s response, as the runtime raises it."""
    await services.runtime.open_round("antigen", buildings=[1])
    response = await Response.get(household_id=home.id)
    alerts = StaffAlerts(services.clock, lambda: None)
    await alerts(response, Alert("positive_antigen", {"values": {"positive": 1}}))
    return list(await OutboxMessage.filter(purpose="alert"))


async def test_opening_the_staff_simulator_leaves_the_real_staff_member_alone(
    running: Services,
) -> None:
    home = await estate_with_one_household()
    cadre = await add_staff("cadre", role="cadre", phone=CADRE_PHONE, buildings=[1])
    boss = await add_staff("boss", role="admin", phone="+8613900139000")
    async with TestClient(TestServer(create_app(running, manage_services=False))) as client:
        csrf = await login(client, boss, running)
        page = await client.get(f"/sim/staff/{cadre.id}")
        assert page.status == 200
        assert "your real Telegram chat is untouched" in await page.text() or "真实 Telegram" in (
            await page.text()
        )
        await client.post(f"/sim/staff/{cadre.id}/send", data={"csrf": csrf, "text": "/login"})

        async def replied() -> bool:
            return "/login/" in await (await client.get(f"/sim/staff/{cadre.id}")).text()

        await wait_for(replied)  # the command ran as the cadre, the reply is in the browser
    assert (await Staff.get(id=cadre.id)).telegram_chat_id is None
    # Their positive alert still reaches them: by SMS, as they have no Telegram chat.
    alerts = await positive_alert(running, home)
    to_cadre = [a for a in alerts if a.address == CADRE_PHONE]
    assert [(a.channel, a.address) for a in to_cadre] == [("sms", CADRE_PHONE)]
    assert not [a for a in alerts if a.channel in ("telegram", "local") and "-" in a.address]


async def test_a_linked_staff_members_real_chat_gets_nothing_from_the_simulator(
    running: Services,
) -> None:
    await estate_with_one_household()
    cadre = await add_staff("cadre", role="cadre", phone=CADRE_PHONE, buildings=[1])
    await Staff.filter(id=cadre.id).update(telegram_chat_id=555001)
    async with TestClient(TestServer(create_app(running, manage_services=False))) as client:
        csrf = await login(client, cadre, running)
        await client.post(f"/sim/staff/{cadre.id}/send", data={"csrf": csrf, "text": "/login"})

        async def replied() -> bool:
            return "/login/" in await (await client.get(f"/sim/staff/{cadre.id}")).text()

        await wait_for(replied)
    assert (await Staff.get(id=cadre.id)).telegram_chat_id == 555001
    assert not await OutboxMessage.filter(address="555001").exists()
    assert await OutboxMessage.filter(channel="local", address=f"s{cadre.id}").exists()


async def test_an_old_simulator_placeholder_is_never_chosen_for_a_real_message(db: str) -> None:
    await estate_with_one_household()
    cadre = await add_staff("cadre", role="cadre", phone=CADRE_PHONE, buildings=[1])
    await Staff.filter(id=cadre.id).update(telegram_chat_id=-(10**12 + cadre.id))
    item = staff_outgoing(await Staff.get(id=cadre.id), Message("名单"), key="k")
    assert item is not None and (item.channel, item.address) == ("sms", CADRE_PHONE)


@pytest.fixture
async def live_provider(db: str) -> AsyncIterator[Services]:
    services = build_services(
        make_settings(
            database_url=db,
            secret_key="x" * 40,
            twilio_account_sid="AC" + "0" * 32,
            twilio_auth_token="t",
            twilio_from="+15005550006",
            twilio_api_url="http://127.0.0.1:9",  # never reached: nothing may be sent
        )
    )
    try:
        yield services
    finally:
        if services.sms is not None:
            await services.sms.close()


async def test_with_a_real_provider_the_household_simulator_refuses_to_answer(
    live_provider: Services,
) -> None:
    home = await estate_with_one_household()
    await live_provider.runtime.open_round("antigen", buildings=[1])
    boss = await add_staff("boss", role="admin", phone="+8613900139000")
    app = create_app(live_provider, manage_services=False)
    async with TestClient(TestServer(app)) as client:
        csrf = await login(client, boss, live_provider)
        index = await (await client.get("/sim?lang=en")).text()
        assert "/answer" in index  # the page says what to do instead
        for view in ("chat", "sms"):
            shown = await client.get(f"/sim/household/{home.id}?view={view}")
            assert shown.status == 200
            text = await shown.text()
            assert 'id="compose"' not in text
        assert "/answer" in text
        for body in ("/start", "是", "3"):
            refused = await client.post(
                f"/sim/household/{home.id}/send",
                data={"csrf": csrf, "view": "chat", "text": body},
                allow_redirects=False,
            )
            assert refused.status == 409
            assert "/answer" in await refused.text()
    assert not await Revision.exists()
    assert (await Response.get(household_id=home.id)).status != "answered"
    assert not await Contact.filter(channel="local").exists()
    assert not await OutboxMessage.filter(purpose="alert").exists()
    entries = await AuditEntry.filter(action="simulate_household", allowed=False)
    assert len(entries) == 3 and all(e.staff_id == boss.id for e in entries)  # type: ignore[attr-defined]
    assert re.fullmatch(rf"household {home.id}", entries[0].target)
