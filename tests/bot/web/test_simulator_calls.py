"""The simulator plays a voice household's calls (no provider on): the call view shows the
words the call says, a keypad whose keys run the very steps Twilio's requests run, and a
rehearsed drive (started as ``louzhang drive start`` starts one) calls voice households too."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient

from bot.app import Services, build_services, start_services, stop_services
from bot.cli.args import enabled_channels
from config.clock import FakeClock
from estate.access import AuditEntry
from estate.models import Building, Contact, Estate, Household, Person
from notifications.drives.models import DriveHousehold
from notifications.drives.setup import DriveOptions, create_drive, preview
from notifications.drives.status import load_status
from notifications.models import OutboxMessage
from surveys.models import Response
from tests.bot.web.test_dashboard_simulator import client_for
from tests.conftest import make_settings
from tests.waiting import wait_for

T0 = datetime(2022, 4, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
MIN = timedelta(minutes=1)
LANDLINE = "+862161000101"


async def voice_household() -> Household:
    estate, _ = await Estate.get_or_create(name="t")
    building = await Building.create(estate=estate, number=1, floors=6)
    home = await Household.create(
        building=building, floor=5, room="502", language="zh-CN", preferred_channel="voice"
    )
    person = await Person.create(household=home, name="王奶奶", phone=LANDLINE)
    await Contact.create(household=home, person=person, channel="voice", address=LANDLINE)
    return home


@pytest.fixture
async def running(db: str) -> AsyncIterator[Services]:
    clock = FakeClock(T0)
    settings = make_settings(database_url=db, secret_key="x" * 40)
    services = build_services(settings, clock=clock, limits_enabled=False)
    await start_services(services)
    try:
        yield services
    finally:
        await stop_services(services)


async def delivered_calls(services: Services, **filters: object) -> list[OutboxMessage]:
    services.dispatcher.notify()

    async def done() -> list[OutboxMessage]:
        rows = await OutboxMessage.filter(channel="voice", **filters).order_by("id")
        return [r for r in rows if r.status in ("sent", "delivered")]  # in the browser

    result: list[OutboxMessage] = await wait_for(done)
    return result


async def press(client: TestClient, base: str, csrf: str, key: str) -> str:
    response = await client.post(f"{base}/call", data={"csrf": csrf, "do": "key", "key": key})
    assert response.status == 200, await response.text()
    return await response.text()


def latest(page: str) -> str:
    """What the call says now (the lines of its latest step)."""
    return " ".join(re.findall(r'class="call-line in latest" data-lang="[^"]+">([^<]*)<', page))


async def test_keypad_2_on_a_rehearsed_call_up_puts_the_household_on_the_door_list(
    running: Services,
) -> None:
    home = await voice_household()
    clock = running.clock
    assert isinstance(clock, FakeClock)
    # The rehearsal: a drive started as the command line starts one with no provider on.
    opts = DriveOptions(points=[("A", [1])], start=T0 + 10 * MIN, interval=5 * MIN, lead=2 * MIN)
    result = await preview(opts, enabled_channels(running.settings))
    assert result.no_channel == 0 and result.by_channel == {"voice": 1}
    drive = await create_drive(opts, result.plan, now=clock.now())
    clock.set(T0 + 10 * MIN)
    await running.drives.tick()
    rows = await delivered_calls(running, purpose="callup")
    [call] = [r for r in rows if r.body["extra"]["voice"]["step"] == "call"]
    client, csrf = await client_for(running)
    try:
        base = f"/sim/household/{home.id}"
        index = await (await client.get("/sim?building=1")).text()
        assert f'{base}?view=call" class="sim-call"' in index
        page = await (await client.get(f"{base}?view=call")).text()
        assert f'name="o" value="{call.id}"' in page and 'id="keypad"' not in page
        response = await client.post(
            f"{base}/call", data={"csrf": csrf, "do": "answer", "o": str(call.id)}
        )
        page = await response.text()
        said = latest(page)
        assert "现在请下楼做核酸检测" in said and "五层" not in said
        assert "1号楼，5层，五零二室" in said and "请按2" in said
        assert 'id="keypad"' in page and 'data-key="#"' in page and 'id="call-speak"' in page
        assert 'data-lang="zh-CN"' in page
        page = await press(client, base, csrf, "2")
        part = await DriveHousehold.get(drive_id=drive.id, household_id=home.id)
        assert (part.reply, part.door_reason) == (2, "cannot")
        status = await load_status(drive.id)
        assert status is not None and [v.room for v in status.door_to_door] == ["502"]
        assert "再见" in latest(page) and 'id="keypad"' not in page  # said goodbye, hung up
        assert await AuditEntry.filter(action="simulate_call").count() == 2
        # A key with no call waiting changes nothing.
        refused = await client.post(f"{base}/call", data={"csrf": csrf, "do": "key", "key": "1"})
        assert refused.status == 409
        await part.refresh_from_db()
        assert part.reply == 2
        # Without the CSRF token nothing is played.
        forged = await client.post(f"{base}/call", data={"do": "answer", "o": str(call.id)})
        assert forged.status == 403
    finally:
        await client.close()


async def test_a_keypad_survey_completes_in_the_call_view(running: Services) -> None:
    home = await voice_household()
    await running.runtime.open_round("antigen")
    [row] = await delivered_calls(running, purpose="survey")
    assert row.body["extra"]["voice"]["kind"] == "survey"
    client, csrf = await client_for(running)
    try:
        base = f"/sim/household/{home.id}"
        response = await client.post(
            f"{base}/call", data={"csrf": csrf, "do": "answer", "o": str(row.id)}
        )
        page = await response.text()
        assert "今天家里做抗原检测了吗" in latest(page)
        page = await press(client, base, csrf, "9")  # hear it again
        assert "今天家里做抗原检测了吗" in latest(page)
        page = await press(client, base, csrf, "1")  # yes
        assert "几人" in latest(page)
        page = await press(client, base, csrf, "1")  # a number: digits, then #
        typed = re.search(r'id="call-typed">([^<]*)<', page)
        assert typed and typed.group(1).endswith("1")  # still listening: nothing sent yet
        page = await press(client, base, csrf, "#")
        page = await press(client, base, csrf, "0")
        page = await press(client, base, csrf, "#")
        assert "再见" in latest(page) and 'id="keypad"' not in page
        response = await Response.get(household_id=home.id)
        assert (response.stage, response.answered_channel) == ("done", "voice")
    finally:
        await client.close()


async def test_with_twilio_on_the_call_view_only_shows_and_a_key_is_refused(db: str) -> None:
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
        home = await voice_household()
        client, csrf = await client_for(services)
        try:
            base = f"/sim/household/{home.id}"
            page = await (await client.get(f"{base}?view=call&lang=en")).text()
            assert "/answer" in page and 'id="call-in"' not in page and "call-answer" not in page
            for do in ("callin", "key"):
                refused = await client.post(
                    f"{base}/call", data={"csrf": csrf, "do": do, "key": "2"}
                )
                assert refused.status == 409
            assert not services.hub.calls  # no call was played
            entries = await AuditEntry.filter(action="simulate_household", allowed=False)
            assert len(entries) == 2
        finally:
            await client.close()
    finally:
        for channel in (services.sms, services.channels.voice):
            if channel is not None:
                await channel.close()


async def test_calling_the_committee_in_from_the_call_view(running: Services) -> None:
    home = await voice_household()
    client, csrf = await client_for(running)
    try:
        base = f"/sim/household/{home.id}"
        response = await client.post(f"{base}/call", data={"csrf": csrf, "do": "callin"})
        page = await response.text()
        assert "回答今天的问题，请按1" in latest(page) and 'id="keypad"' in page
        page = await press(client, base, csrf, "2")  # the latest notice: none yet, the menu again
        assert "最近没有新的通知" in latest(page) and "请按1" in latest(page)
        page = await press(client, base, csrf, "1")  # today's questions: none open
        assert "今天没有需要您回答的问题" in latest(page) and 'id="keypad"' not in page
        hung_up = await client.post(f"{base}/call", data={"csrf": csrf, "do": "hangup"})
        assert hung_up.status == 200 and 'id="call-panel"' not in await hung_up.text()
    finally:
        await client.close()
