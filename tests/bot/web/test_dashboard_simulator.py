"""The simulator and the local channel: what a person chatting in the browser sees."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from http.cookiejar import CookieJar
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import Services, build_services, start_services, stop_services
from bot.web.app import create_app
from estate.logins import create_login_link
from estate.models import Building, Contact, Estate, Household, LoginToken, Person
from estate.staff import add_staff
from notifications.models import OutboxMessage
from tests.conftest import free_port, make_settings
from tests.waiting import wait_for
from tests.workers import die_with_parent


async def household(number: int = 1, *, language: str = "zh-CN") -> Household:
    estate = await Estate.get_or_create(name="t")
    building = await Building.create(estate=estate[0], number=number, floors=10)
    home = await Household.create(building=building, floor=5, room="502", language=language)
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


async def client_for(services: Services, name: str = "boss") -> tuple[TestClient, str]:
    staff = await add_staff(name, role="admin", phone="+8613900139000")
    client = TestClient(TestServer(create_app(services, manage_services=False)))
    await client.start_server()
    link = await create_login_link(staff, settings=services.settings, clock=services.clock)
    await client.post("/login/" + link.rsplit("/", 1)[1])
    page = await (await client.get("/rounds")).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf
    return client, csrf.group(1)


async def test_no_token_means_every_channel_is_delivered_to_the_browser(db: str) -> None:
    services = build_services(make_settings(database_url=db))
    assert services.simulated == {"telegram", "sms", "voice"}
    assert set(services.dispatcher.channels) == {"local", "telegram", "sms", "voice"}
    assert "delivered to the browser" in "\n".join(services.channel_report())
    assert "local" in services.runtime.enabled
    live = build_services(
        make_settings(
            database_url=db,
            twilio_account_sid="AC" + "0" * 32,
            twilio_auth_token="t",
            twilio_from="+15005550006",
        )
    )
    try:
        assert live.simulated == frozenset()  # a real provider: nothing is faked
        assert live.dispatcher.channels["sms"].name == "sms"
        assert "local" in live.dispatcher.channels  # the browser's own chats stay
        assert "local" not in live.runtime.enabled  # but no round or call-up picks them
    finally:
        assert live.sms is not None
        await live.sms.close()


async def test_telegram_view_shows_buttons_and_a_press_answers(running: Services) -> None:
    home = await household()
    await running.runtime.open_round("antigen")
    client, csrf = await client_for(running)
    try:
        base = f"/sim/household/{home.id}"
        await client.post(f"{base}/send", data={"csrf": csrf, "view": "chat", "text": "/start"})

        async def has_buttons() -> bool:
            return 'name="choice"' in await (await client.get(f"{base}?view=chat")).text()

        await wait_for(has_buttons)
        page = await (await client.get(f"{base}?view=chat")).text()
        assert "今天家里做抗原检测了吗" in page
        choice = re.search(
            r'name="choice" value="([^"]+)"><input type="hidden" name="label" value="是"', page
        )
        message_id = re.search(r'name="message_id" value="(\d+)"', page)
        assert choice and message_id
        await client.post(
            f"{base}/send",
            data={
                "csrf": csrf,
                "view": "chat",
                "choice": choice.group(1),
                "label": "是",
                "message_id": message_id.group(1),
            },
        )

        async def next_question() -> bool:
            return "家里有几人做了检测" in await (await client.get(f"{base}?view=chat")).text()

        await wait_for(next_question)
        # The SMS contact was left alone: the browser chat is a contact of its own.
        chat = await Contact.get(household_id=home.id, channel="local")
        assert chat.address == f"h{home.id}"
    finally:
        await client.close()


async def test_sms_view_poses_as_the_households_number(running: Services) -> None:
    home = await household()
    client, csrf = await client_for(running)
    try:
        base = f"/sim/household/{home.id}"
        await client.post(f"{base}/send", data={"csrf": csrf, "view": "sms", "text": "HELP"})

        async def replied() -> bool:
            return await OutboxMessage.filter(
                channel="sms", address="+8613800138000", status__in=("sending", "sent")
            ).exists()

        await wait_for(replied)
        page = await (await client.get(f"{base}?view=sms")).text()
        assert "HELP" in page and "UCS-2" in page  # typed text, and the reply's segments
        # The bubbles' times are the committee's local time (Asia/Shanghai), said once.
        local_now = datetime.now(ZoneInfo("Asia/Shanghai"))
        near = {(local_now - timedelta(minutes=m)).strftime("%H:%M") for m in (0, 1, 2)}
        shown = re.findall(r'class="meta">(\d\d:\d\d):\d\d', page)
        assert shown and set(shown) <= near, (shown, near)
        assert "时间均为Asia/Shanghai（UTC+08:00）" in page
        await client.post(f"{base}/send", data={"csrf": csrf, "view": "sms", "text": "STOP"})
        contact = await Contact.get(household_id=home.id, channel="sms")
        assert contact.status == "opted_out"  # the real SMS rules ran
        health = await (await client.get("/outbox?lang=en")).text()
        sent = re.search(r'id="rate">(\d+) in the last minute', health)
        assert sent is not None and int(sent.group(1)) >= 1
        assert "reply" in health  # the queue by priority
    finally:
        await client.close()


async def test_staff_get_a_login_link_from_the_bot(running: Services) -> None:
    client, csrf = await client_for(running)
    try:
        staff_id = (await LoginToken.first()).staff_id  # type: ignore[union-attr,attr-defined]
        await client.post(f"/sim/staff/{staff_id}/send", data={"csrf": csrf, "text": "/login"})

        async def linked() -> bool:
            return "/login/" in await (await client.get(f"/sim/staff/{staff_id}")).text()

        await wait_for(linked)
        page = await (await client.get(f"/sim/staff/{staff_id}")).text()
        link = re.search(r"http://[^\s<]+/login/([\w-]+)", page)
        assert link is not None
    finally:
        await client.close()
    async with TestClient(TestServer(create_app(running, manage_services=False))) as fresh:
        assert (await fresh.post(f"/login/{link.group(1)}", allow_redirects=False)).status == 303
        assert (await fresh.get("/", allow_redirects=False)).status == 200


def test_fresh_run_seeds_the_demo_and_prints_a_login_link(tmp_path: Path) -> None:
    port = free_port()
    env_db = f"sqlite://{tmp_path}/run.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env={
            "PATH": "/usr/bin:/bin",
            "LOUZHANG_DATABASE_URL": env_db,
            "LOUZHANG_HTTP_PORT": str(port),
            "LOUZHANG_LANGUAGE": "en",  # this test reads the English lines
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=die_with_parent,
    )
    try:
        assert proc.stdout is not None
        link = None
        deadline = time.monotonic() + 90
        while link is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, "louzhang run stopped"
            found = re.search(r"dashboard: open (\S+)", line)
            link = found.group(1) if found else None
        assert link is not None
        assert (tmp_path / "secret_key").exists()  # made once, kept beside the database
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        with opener.open(urllib.request.Request(link, data=b"", method="POST")) as resp:
            overview = resp.read().decode()
        assert overview.count("data-building=") == 25
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    cli = subprocess.run(
        [sys.executable, "-m", "bot", "staff", "login", "王主任"],
        cwd=tmp_path,
        env={
            "PATH": "/usr/bin:/bin",
            "LOUZHANG_DATABASE_URL": env_db,
            "LOUZHANG_HTTP_PORT": str(port),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 0, cli.stderr
    assert re.fullmatch(rf"http://127\.0\.0\.1:{port}/login/[\w-]+", cli.stdout.strip())
    missing = subprocess.run(
        [sys.executable, "-m", "bot", "staff", "login", "nobody"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "LOUZHANG_DATABASE_URL": env_db},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2 and "nobody" in missing.stderr
