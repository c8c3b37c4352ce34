"""Staff steer drives from Telegram (the guided /drive, pace commands, status) and residents
answer the call-up; scopes are enforced and every action audited. Real PTB, fake Bot API and
fake Twilio; the drive's clock is a fake one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.app import build_services
from bot.web.app import create_app
from config.clock import FakeClock
from estate.importing.residents import import_residents
from estate.models import AuditEntry, Building, Staff, StaffBuilding
from notifications.drives.models import Drive, DriveBatch, DriveHousehold
from tests.conftest import free_port, make_settings
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import FakeTwilio
from tests.waiting import wait_for

SID = "AC" + "0123456789abcdef" * 2
AUTH = "drive-commands-auth"
CADRE_7 = 6100001  # cadre of buildings 7 and 8
CADRE_9 = 6100002  # cadre of building 9 only
POINT_B = 6100003  # point volunteer at point B
RESIDENT = 6100004  # a resident's chat (7-1203)
T0 = datetime(2022, 4, 10, 6, 0, tzinfo=UTC)

CSV = (
    "\ufeffbuilding,floor,room,name,phone,birth_year,channel,language,home_bound,notes\r\n"
    "7,,1203室,王芳,138 0013 8000,1980,telegram,zh-CN,,\r\n"
    "7,,1103,李强,13900139000,1950,sms,,,\r\n"
    "7,,1003,张伯,13600136000,1940,sms,,yes,\r\n"
    "8,,502,Anna Smith,+86 137 0013 7000,1990,sms,en,,\r\n"
    "9,,301,陈伯,13700137002,1938,sms,,,\r\n"
)
LI = "+8613900139000"
ANNA = "+8613700137000"


@pytest.fixture
async def live(db: str, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    path = tmp_path / "residents.csv"
    path.write_bytes(CSV.encode("utf-8"))
    await import_residents(path)
    b7, b8, b9 = [await Building.get(number=n) for n in (7, 8, 9)]
    cadre = await Staff.create(name="cadre7", role="cadre", telegram_chat_id=CADRE_7, language="en")
    other = await Staff.create(name="cadre9", role="cadre", telegram_chat_id=CADRE_9, language="en")
    point = await Staff.create(
        name="volunteer", role="point", point="B", telegram_chat_id=POINT_B, language="en"
    )
    for staff, building in ((cadre, b7), (cadre, b8), (other, b9), (point, b8)):
        await StaffBuilding.create(staff=staff, building=building)
    clock = FakeClock(T0)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with (
        # The app runs with its rate limits off on a fake clock: so does the fake. Chats of
        # residents and staff are made in the database, as if each had started the bot.
        FakeTelegram(token="123:DRV", enforce_limits=False, strict_chats=False) as tg,
        FakeTwilio(account_sid=SID, auth_token=AUTH) as tw,
    ):
        settings = make_settings(
            database_url=db,
            telegram_token="123:DRV",
            telegram_api_url=tg.url,
            telegram_mode="webhook",
            public_url=base,
            twilio_account_sid=SID,
            twilio_auth_token=AUTH,
            twilio_from="+15005550006",
            twilio_api_url=tw.url,
            timezone="UTC",
        )
        services = build_services(settings, clock=clock, limits_enabled=False)
        runner = web.AppRunner(create_app(services))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await tg.user_contact(RESIDENT, "8613800138000")
        await tg.wait_sent(RESIDENT, count=1, timeout=10)
        try:
            yield {"tg": tg, "tw": tw, "services": services, "clock": clock, "base": base}
        finally:
            await runner.cleanup()


def buttons(message: dict[str, Any]) -> dict[str, str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row}


async def last(tg: FakeTelegram, chat: int, count: int) -> dict[str, Any]:
    await tg.wait_sent(chat, count=count, timeout=10)
    return tg.sent_to(chat)[count - 1]


async def test_guided_drive_then_replies_pace_and_status(live: dict[str, Any]) -> None:
    tg: FakeTelegram = live["tg"]
    tw: FakeTwilio = live["tw"]
    services, clock = live["services"], live["clock"]

    await tg.user_command(CADRE_7, "/drive")
    ask = await last(tg, CADRE_7, 1)
    assert "Sampling points" in ask["text"]
    await tg.user_message(CADRE_7, "A:7,B:8")  # typed instead of a button
    n = 2
    for choice in ("Now", "5m", "No warning", "Top floor first", "One floor"):
        step = await last(tg, CADRE_7, n)
        await tg.user_press(CADRE_7, step["message_id"], buttons(step)[choice])
        n += 1
    confirm = await last(tg, CADRE_7, n)
    # 7-1003 is home-bound: door to door. Two SMS households, one Telegram.
    assert "3 households" in confirm["text"] and "1 door-to-door" in confirm["text"]
    assert "3 batches" in confirm["text"] and "SMS: 2 messages" in confirm["text"]
    assert "expected finish 06:10" in confirm["text"]
    assert await Drive.all().count() == 0  # nothing before the confirmation
    await tg.user_press(CADRE_7, confirm["message_id"], buttons(confirm)["Start"])
    drive = await wait_for(lambda: Drive.get_or_none(status="running"))
    assert drive.created_by == "cadre7"

    # Start now: the top batches are called (7-1203 by Telegram, 8-502 by SMS in English).
    await services.drives.tick()
    called = await wait_for(
        lambda: [m for m in tg.sent_to(RESIDENT) if "现在请" in m.get("text", "")]
    )
    await tw.wait_sent(ANNA, count=1, timeout=10)
    assert "come down now" in tw.sent_to(ANNA)[0].body and "Reply 1" in tw.sent_to(ANNA)[0].body
    # Anything but 1/2/3 gets the options again; then "2": door to door.
    await tw.inbound(f"{live['base']}/twilio/sms", ANNA, "what?")
    await tw.wait_sent(ANNA, count=2, timeout=10)
    assert "Reply 1" in tw.sent_to(ANNA)[1].body
    await tw.inbound(f"{live['base']}/twilio/sms", ANNA, "2")
    await tw.wait_sent(ANNA, count=3, timeout=10)
    assert "come to your door" in tw.sent_to(ANNA)[2].body
    # The Telegram household answers with the button.
    await tg.user_press(RESIDENT, called[0]["message_id"], buttons(called[0])["1 已下楼/已做"])
    part = await wait_for(
        lambda: DriveHousehold.get_or_none(drive_id=drive.id, room="1203", reply=1)
    )
    assert part.replied_at is not None

    # The point B volunteer may not steer point A; the cadre of building 9 nothing here.
    before = await tg.wait_sent(POINT_B, count=0, timeout=1)
    await tg.user_command(POINT_B, "/next A")
    refused = await last(tg, POINT_B, len(before) + 1)
    assert "Not allowed" in refused["text"]
    await tg.user_command(CADRE_9, "/pause A")
    assert "Not allowed" in (await last(tg, CADRE_9, 1))["text"]
    refusals = await AuditEntry.filter(allowed=False).values_list("actor", "action")
    assert ("volunteer", "/next") in refusals and ("cadre9", "/pause") in refusals
    # A resident cannot run staff commands.
    count = len(tg.sent_to(RESIDENT))
    await tg.user_command(RESIDENT, "/next A")
    assert (
        "Unknown" in (await last(tg, RESIDENT, count + 1))["text"]
        or "不认识" in (await last(tg, RESIDENT, count + 1))["text"]
    )
    assert (await DriveBatch.get(drive_id=drive.id, point="A", seq=2)).state == "waiting"

    # /next by the cadre calls 7-1103's floor now, two minutes in.
    clock.set(T0 + timedelta(minutes=2))
    await tg.user_command(CADRE_7, "/next A")
    await wait_for(lambda: any("called now" in t for t in tg.texts(CADRE_7)))
    await services.drives.tick()
    second = await DriveBatch.get(drive_id=drive.id, point="A", seq=2)
    assert second.state == "called" and second.called_at == T0 + timedelta(minutes=2)
    await tw.wait_sent(LI, count=1, timeout=10)

    # /drive status: the cadre sees both buildings, the other cadre is refused.
    await tg.user_command(CADRE_7, "/drive status")
    status = await wait_for(
        lambda: next((t for t in tg.texts(CADRE_7) if t.startswith("Drive ")), None)
    )
    assert "Building 7" in status and "Building 8" in status and "Door-to-door (2)" in status
    await tg.user_command(CADRE_9, "/drive status")
    await wait_for(lambda: len(tg.sent_to(CADRE_9)) == 2)
    assert "Point" not in tg.texts(CADRE_9)[-1]
    actions = await AuditEntry.filter(actor="cadre7").values_list("action", flat=True)
    assert {"/drive start", "/next", "/drive status"} <= set(actions)


async def test_drive_outside_the_cadres_buildings_is_refused(live: dict[str, Any]) -> None:
    tg: FakeTelegram = live["tg"]
    await tg.user_command(CADRE_9, "/drive")
    await last(tg, CADRE_9, 1)
    await tg.user_message(CADRE_9, "A:7,B:9")
    refused = await last(tg, CADRE_9, 2)
    assert "Not allowed" in refused["text"] and "7" in refused["text"]
    assert await Drive.all().count() == 0
    assert await AuditEntry.filter(actor="cadre9", action="/drive", allowed=False).exists()
