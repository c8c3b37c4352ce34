"""Answers recorded on the phone, in the dashboard: the round page lists them with an <audio>
player; the audio route fetches the recording from Twilio (with the account's credentials,
only from Twilio's API host) for staff whose buildings include the household, and refuses
(403, audited) anyone else."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_services
from bot.web.app import create_app
from config.clock import FakeClock
from estate.models import AuditEntry, Building, Contact, Estate, Household, Staff
from estate.staff import add_staff
from surveys.models import Response
from surveys.recordings import attach_answer
from tests.bot.web.test_dashboard_access import login
from tests.conftest import make_settings
from tests.fakes._server import LoopbackServer

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "recordings-token"
MP3 = b"ID3\x04\x00fake-mp3-of-a-drug-name"


class Recordings(LoopbackServer):
    """Twilio's recording media: GET .../Recordings/{sid}.mp3 with the account's Basic auth."""

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, bytes] = {}
        self.fetched: list[str] = []

    def _routes(self, app: web.Application) -> None:
        app.router.add_get(f"/2010-04-01/Accounts/{SID}/Recordings/{{name}}", self._get)

    async def _get(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        if auth != "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode():
            return web.json_response({"code": 20003, "status": 401}, status=401)
        name = request.match_info["name"]
        self.fetched.append(name)
        content = self.files.get(name.removesuffix(".mp3")) if name.endswith(".mp3") else None
        if content is None:
            return web.json_response({"code": 20404, "status": 404}, status=404)
        return web.Response(body=content, content_type="audio/mpeg")


@dataclass
class World:
    client: TestClient  # type: ignore[type-arg]
    twilio: Recordings
    services: object
    clock: FakeClock
    one: Staff
    two: Staff
    round_id: int
    recording_id: int


@pytest.fixture
async def world(db: str) -> AsyncIterator[World]:
    async with Recordings() as twilio:
        estate = await Estate.create(name="t")
        for number in (1, 2):
            building = await Building.create(estate=estate, number=number, floors=6)
            household = await Household.create(building=building, floor=12, room="1204")
            await Contact.create(household=household, channel="voice", address=f"+86138000{number}")
        one = await add_staff("one", role="cadre", buildings=[1])
        two = await add_staff("two", role="cadre", buildings=[2])
        clock = FakeClock()
        settings = make_settings(
            database_url=db,
            secret_key="k" * 40,
            twilio_account_sid=SID,
            twilio_auth_token=TOKEN,
            twilio_api_url=twilio.url,
        )
        services = build_services(settings, clock=clock)
        opened = await services.runtime.open_round("medication", buildings=[1])
        response = await Response.get(round_id=opened.round.id)
        twilio.files["RE1"] = MP3
        recording = await attach_answer(
            response_id=response.id,
            household_id=response.household_id,  # type: ignore[attr-defined]
            path="medicines.1.drug",
            call_sid="CA1",
            sid="RE1",
            url=f"{twilio.url}/2010-04-01/Accounts/{SID}/Recordings/RE1",
            duration=9,
            now=clock.now(),
        )
        app = create_app(services, manage_services=False)
        async with TestClient(TestServer(app)) as client:
            yield World(client, twilio, services, clock, one, two, opened.round.id, recording.id)


async def test_the_round_page_plays_a_recorded_drug_name(world: World) -> None:
    await login(world.client, world.one, world)  # type: ignore[arg-type]
    page = await (await world.client.get(f"/rounds/{world.round_id}")).text()
    src = f"/rounds/{world.round_id}/recordings/{world.recording_id}.mp3"
    assert f'<audio controls preload="none" src="{src}">' in page
    assert "药品名称是什么？" in page and "第1项" in page and "9秒" in page
    response = await world.client.get(src)
    assert response.status == 200
    assert response.headers["Content-Type"] == "audio/mpeg"
    assert await response.read() == MP3
    assert world.twilio.fetched == ["RE1.mp3"]
    entry = await AuditEntry.get(action="play_recording")
    assert entry.allowed and entry.target == f"recording {world.recording_id}"


async def test_another_buildings_staff_cannot_play_it(world: World) -> None:
    await login(world.client, world.two, world)  # type: ignore[arg-type]
    src = f"/rounds/{world.round_id}/recordings/{world.recording_id}.mp3"
    response = await world.client.get(src)
    assert response.status == 403
    assert world.twilio.fetched == []


async def test_a_recording_of_another_round_or_gone_at_twilio(world: World) -> None:
    await login(world.client, world.one, world)  # type: ignore[arg-type]
    services = world.services
    other = await services.runtime.open_round("antigen", buildings=[1])  # type: ignore[attr-defined]
    wrong = f"/rounds/{other.round.id}/recordings/{world.recording_id}.mp3"
    assert (await world.client.get(wrong)).status == 404
    world.twilio.files.clear()
    src = f"/rounds/{world.round_id}/recordings/{world.recording_id}.mp3"
    assert (await world.client.get(src)).status == 502


async def test_the_credentials_go_only_to_twilio(world: World) -> None:
    """A recording URL that is not under LOUZHANG_TWILIO_API_URL is never fetched."""
    from surveys.models import Recording

    await Recording.filter(id=world.recording_id).update(url="http://127.0.0.1:9/steal")
    await login(world.client, world.one, world)  # type: ignore[arg-type]
    src = f"/rounds/{world.round_id}/recordings/{world.recording_id}.mp3"
    assert (await world.client.get(src)).status == 502
