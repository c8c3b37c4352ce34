"""Open live pages cannot slow the webhooks (bot/web/dashboard/live.py). Not timings (those are
in benchmarks/bench_live_pages.py): the two rules that bound the work.

Promises:
- a session keeps at most MAX_STREAMS_PER_SESSION open event streams: opening one more closes
  its oldest, which is told so (``event: closed``, the page stops reconnecting); other sessions
  are not touched;
- logging out closes the session's open streams; a session ended elsewhere (the CLI changed the
  staff member) closes them at the next heartbeat;
- streams showing the same thing to people who see the same share the work: one change to a
  round builds its report once, whether 1 or 8 streams (in several sessions) show it, and every
  stream gets the new fragment.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientResponse

import bot.web.dashboard.pages as pages
from bot.web.dashboard.live import LIVE, MAX_STREAMS_PER_SESSION, LiveHub
from estate.models import Building, Contact, Household, Staff
from estate.staff import add_staff, change_staff
from surveys.models import Response
from tests.security.test_sessions import Browser, Site, site  # noqa: F401 (the fixture)

WAIT = 10.0  # seconds: a bound on waiting for an event, never a sleep


async def _event(resp: ClientResponse) -> tuple[str, Any]:
    """The next event of a stream: (name, data); ("eof", None) when the stream ended."""
    name, data = "message", None
    while True:
        line = await asyncio.wait_for(resp.content.readline(), WAIT)
        if not line:
            return "eof", None
        text = line.decode().rstrip("\n")
        if text.startswith(":"):
            continue  # a heartbeat
        if text.startswith("event: "):
            name = text[len("event: ") :]
        elif text.startswith("data: "):
            data = json.loads(text[len("data: ") :])
        elif text == "" and data is not None:
            return name, data


async def _open(browser: Browser, path: str) -> ClientResponse:
    resp = await browser.client.get(path)
    assert resp.status == 200 and resp.content_type == "text/event-stream"
    name, data = await _event(resp)
    assert name == "message" and "html" in data
    return resp


def _hub(made: Site) -> LiveHub:
    hub: LiveHub = made.app[LIVE]  # type: ignore[index]
    hub.every = 0.02  # poll often: the test waits for events, not for time
    hub.debounce = 0.01
    hub.min_gap = 0.0
    return hub


@pytest.fixture
async def admin(site: Site) -> AsyncIterator[Staff]:  # noqa: F811
    yield await add_staff("boss", role="admin")


async def test_a_session_keeps_at_most_a_few_streams_the_oldest_are_closed(
    site: Site,  # noqa: F811
    admin: Staff,
) -> None:
    hub = _hub(site)
    mine = await site.browser(admin)
    other = await site.browser(admin)  # the same person's second session
    theirs = await _open(other, "/outbox/live")
    opened = [await _open(mine, "/outbox/live") for _ in range(MAX_STREAMS_PER_SESSION + 2)]
    for old in opened[:2]:
        assert await _event(old) == ("closed", {})
        assert await _event(old) == ("eof", None)
    assert hub.open_streams(mine.csrf) == MAX_STREAMS_PER_SESSION
    assert hub.open_streams(other.csrf) == 1 and not theirs.content.at_eof()
    for resp in [*opened, theirs]:
        resp.close()


async def test_logging_out_closes_the_sessions_streams(site: Site, admin: Staff) -> None:  # noqa: F811
    hub = _hub(site)
    browser = await site.browser(admin)
    resp = await _open(browser, "/outbox/live")
    out = await browser.client.post("/logout", data={"csrf": browser.csrf}, allow_redirects=False)
    assert out.status == 303
    assert await _event(resp) == ("closed", {})
    assert hub.open_streams(browser.csrf) == 0


@pytest.mark.parametrize("streams", [1, 8])
async def test_one_change_builds_the_report_once_however_many_streams(
    site: Site,  # noqa: F811
    admin: Staff,
    monkeypatch: pytest.MonkeyPatch,
    streams: int,
) -> None:
    hub = _hub(site)
    building = await Building.get(number=1)
    household = await Household.create(building=building, floor=3, room="301")
    await Contact.create(household=household, channel="sms", address="+8613800138001")
    services = site.world.services  # type: ignore[attr-defined]
    opened = await services.runtime.open_round("antigen", buildings=[1])
    builds: list[int] = []
    real = pages.build_report

    async def counted(*args: Any, **kwargs: Any) -> Any:
        builds.append(1)
        return await real(*args, **kwargs)

    monkeypatch.setattr(pages, "build_report", counted)
    browsers = [await site.browser(admin) for _ in range(-(-streams // MAX_STREAMS_PER_SESSION))]
    path = f"/rounds/{opened.round.id}/live"
    resps = [await _open(browsers[n % len(browsers)], path) for n in range(streams)]
    assert hub.open_streams() == streams
    before = len(builds)
    assert before == 1  # the first stream built it; the others got the same fragment
    await Response.filter(round_id=opened.round.id).update(status="answered")
    for resp in resps:
        name, data = await _event(resp)
        assert name == "message" and data["html"]
    assert len(builds) - before == 1
    for resp in resps:
        resp.close()


async def test_a_revoked_session_stream_ends_at_its_next_heartbeat(
    site: Site,  # noqa: F811
    admin: Staff,
) -> None:
    hub = _hub(site)
    hub.heartbeat = 0.05
    browser = await site.browser(admin)
    resp = await _open(browser, "/outbox/live")
    await change_staff("boss", role="cadre", buildings=[1])  # e.g. from the CLI: ends sessions
    assert await _event(resp) == ("closed", {})
    assert hub.open_streams(browser.csrf) == 0
