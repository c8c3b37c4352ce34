"""While the demo estate is in the database every dashboard page says so plainly."""

from __future__ import annotations

import re
from datetime import date

from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_services
from bot.web.app import create_app
from config.clock import FakeClock
from estate.demo import seed_demo
from estate.first_start import remove_demo_estate
from estate.logins import create_login_link
from estate.staff import add_staff
from tests.conftest import make_settings

PAGES = ("/", "/rounds", "/drives", "/outbox", "/sim")


async def test_every_page_says_demo_data_until_the_demo_is_gone(db: str) -> None:
    await seed_demo(today=date(2022, 4, 10))
    admin = await add_staff("boss", role="admin")
    clock = FakeClock()
    services = build_services(make_settings(database_url=db, secret_key="k" * 40), clock=clock)
    async with TestClient(TestServer(create_app(services, manage_services=False))) as client:
        link = await create_login_link(admin, settings=services.settings, clock=clock)
        await client.post("/login/" + link.rsplit("/", 1)[1])
        for path in PAGES:
            zh = await (await client.get(path + "?lang=zh-CN")).text()
            assert 'id="demo-banner"' in zh and "演示数据" in zh, path
            en = await (await client.get(path + "?lang=en")).text()
            assert re.search(r'id="demo-banner"[^>]*>DEMO DATA', en), path
        await remove_demo_estate()
        for path in PAGES:
            page = await (await client.get(path)).text()
            assert "demo-banner" not in page, path
