"""A survey is picked and listed by its title in the staff language, never by its slug."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient, TestServer
from markupsafe import escape

from bot.app import build_services
from bot.web.app import create_app
from config.clock import FakeClock
from estate.logins import create_login_link
from estate.staff import add_staff
from surveys.definition import load_builtin, localize
from tests.conftest import make_settings


async def test_the_open_round_form_and_the_round_list_show_titles(db: str) -> None:
    admin = await add_staff("boss", role="admin")
    clock = FakeClock()
    services = build_services(make_settings(database_url=db, secret_key="k" * 40), clock=clock)
    opened = await services.runtime.open_round("antigen")
    assert opened.round.id
    async with TestClient(TestServer(create_app(services, manage_services=False))) as client:
        link = await create_login_link(admin, settings=services.settings, clock=clock)
        await client.post("/login/" + link.rsplit("/", 1)[1])
        for lang in ("zh-CN", "en"):
            html = await (await client.get(f"/rounds?lang={lang}")).text()
            for slug in ("antigen", "medication"):
                title = str(escape(localize(load_builtin(slug).title, lang)))
                assert f'<option value="{slug}">{title}</option>' in html
            assert (
                "<td>" + str(escape(localize(load_builtin("antigen").title, lang))) + "</td>"
                in html
            )
            assert not re.search(r">\s*(antigen|medication)\s*<", html)
