"""GET /media/{name}: the audio Twilio's <Play> fetches. No login (Twilio has none), so only a
signed URL that has not expired gets the file; anything else is 403, and a well-signed URL of
a file that is not there is 404."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_services
from bot.web.app import create_app
from bot.web.keys import MEDIA, SESSION_KEY
from config.clock import FakeClock
from notifications.media import signed_path
from tests.audio import voice_note
from tests.conftest import make_settings


@pytest.fixture
async def served(db: str) -> AsyncIterator[tuple[TestClient, FakeClock, str, Path]]:  # type: ignore[type-arg]
    clock = FakeClock()
    services = build_services(make_settings(database_url=db, secret_key="m" * 40), clock=clock)
    app = create_app(services, manage_services=False)
    name = await app[MEDIA].add_audio(voice_note(1.0))
    path = app[MEDIA].path(name)
    assert path is not None
    async with TestClient(TestServer(app)) as client:
        yield client, clock, name, path


async def test_a_signed_url_plays_until_it_expires(served) -> None:  # type: ignore[no-untyped-def]
    client, clock, name, path = served
    app = client.app
    assert app is not None
    url = signed_path(app[SESSION_KEY], name, now=clock.now().timestamp(), ttl=600)
    response = await client.get(url)
    assert response.status == 200
    assert response.headers["Content-Type"] == "audio/mpeg"
    assert await response.read() == path.read_bytes()
    clock.advance(601)
    assert (await client.get(url)).status == 403  # expired


async def test_a_bad_signature_gets_403_and_nothing(served) -> None:  # type: ignore[no-untyped-def]
    client, clock, name, _ = served
    app = client.app
    assert app is not None
    good = signed_path(app[SESSION_KEY], name, now=clock.now().timestamp())
    exp = good.split("exp=")[1].split("&")[0]
    for url in (
        f"/media/{name}",
        f"/media/{name}?exp={exp}&sig=deadbeef",
        good.replace(f"exp={exp}", f"exp={int(exp) + 3600}"),  # a longer life, same signature
        signed_path(b"another key", name, now=clock.now().timestamp()),
    ):
        response = await client.get(url)
        assert response.status == 403, url
        assert b"ID3" not in await response.read()
    missing = "f" * 32 + ".mp3"
    gone = signed_path(app[SESSION_KEY], missing, now=clock.now().timestamp())
    assert (await client.get(gone)).status == 404
