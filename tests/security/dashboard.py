"""Signing in to the dashboard in a test: a one-time link spent, then the page's CSRF token."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from bot.app import Services
from estate.logins import create_login_link
from estate.models import Staff


async def login(client: TestClient, staff: Staff, services: Services) -> str:
    """Log ``staff`` in on ``client``; returns the CSRF token of their pages."""
    url = await create_login_link(staff, settings=services.settings, clock=services.clock)
    path = url.split("://", 1)[1].split("/", 1)[1]
    response = await client.post("/" + path, allow_redirects=False)
    assert response.status == 303
    page = await (await client.get("/rounds")).text()
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match
    return match.group(1)
