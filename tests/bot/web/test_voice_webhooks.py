"""The voice webhooks (bot/web/webhooks.py): the thin handlers on an aiohttp app with the real
routes and typed keys, and stub runtimes for the outbox calls (VOICE), the keypad surveys
(SURVEY_CALLS) and calling in (CALL_IN) that say which of them answered. Promises:

- every voice route refuses a bad or missing signature with 403 and reaches no runtime;
- ``/twilio/voice?o=<id>`` is answered by the outbox call of that id (an id that is not a number
  is no id); without ``o`` it is a resident calling in (when calling in is on), else an outbox
  call without an id; with voice calls off the call is hung up;
- a keypad step goes to the runtime of its route with the ids of its query (``o`` and ``step``
  for a call-up; ``c``, ``r``, ``s`` for a survey; ``none=1`` for "no recording"); an id that is
  missing or not a number is no id; a route whose runtime is off, or no route at all, hangs up;
- a status callback is handed to the outbox call of its ``o`` and acknowledged with 204, also
  when voice calls are off;
- the TwiML is XML whose relative actions are made absolute with LOUZHANG_PUBLIC_URL (its
  trailing "/" dropped, a path prefix kept), and stay relative without one; a request to a
  public URL with a path prefix is signed over that prefix.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from twilio.request_validator import RequestValidator

from bot.web.keys import CALL_IN, SETTINGS, SURVEY_CALLS, VOICE
from bot.web.webhooks import add_routes, run_step
from notifications.calls import VoiceCalls
from notifications.voice_script import Gather, Hangup, Say, Script
from surveys.calls import CallIn, SurveyCalls
from tests.conftest import make_settings

TOKEN = "f" * 32
PUBLIC = "https://lz.example.org"
PARAMS = {"CallSid": "CA0001", "Digits": "1", "From": "+8613800138000"}


@dataclass
class Runtime:
    """A stub runtime: each call is recorded, and its script says who answered."""

    name: str
    calls: list[tuple[Any, ...]] = field(default_factory=list)

    def _said(self, method: str, *args: Any) -> Script:
        self.calls.append((method, *args))
        return (Say(f"{self.name}.{method}"), Gather(action=f"/next/{self.name}"))

    async def answer(self, *args: Any) -> Script:
        return self._said("answer", *args)

    async def gather(self, *args: Any) -> Script:
        return self._said("gather", *args)

    async def status(self, *args: Any) -> bool:
        self.calls.append(("status", *args))
        return True

    async def ask(self, contact: int | None) -> Script:
        return self._said("ask", contact)

    async def keys(self, *args: Any) -> Script:
        return self._said("keys", *args)

    async def record(self, *args: Any, none: bool) -> Script:
        return self._said("record", *args, none)

    async def menu(self, *args: Any) -> Script:
        return self._said("menu", *args)

    async def message(self, *args: Any) -> Script:
        return self._said("message", *args)


@dataclass
class Phone:
    client: TestClient
    runtimes: dict[str, Runtime]

    def heard(self) -> list[tuple[str, tuple[Any, ...]]]:
        return [(name, call) for name, rt in self.runtimes.items() for call in rt.calls]

    async def post(
        self, path_qs: str, *, signature: str | None = None, public: str = PUBLIC
    ) -> tuple[int, str, str]:
        if signature is None:
            signature = RequestValidator(TOKEN).compute_signature(public + path_qs, PARAMS)
        headers = {"X-Twilio-Signature": signature} if signature else {}
        async with self.client.post(path_qs, data=PARAMS, headers=headers) as resp:
            return resp.status, resp.content_type, await resp.text()


def _app(on: tuple[str, ...], public_url: str | None) -> tuple[web.Application, dict[str, Runtime]]:
    app = web.Application()
    app[SETTINGS] = make_settings(twilio_auth_token=TOKEN, public_url=public_url)
    runtimes = {name: Runtime(name) for name in on}
    app[VOICE] = cast(VoiceCalls, runtimes.get("voice"))
    app[SURVEY_CALLS] = cast(SurveyCalls, runtimes.get("surveys"))
    app[CALL_IN] = cast(CallIn, runtimes.get("callin"))
    return app, runtimes


@contextlib.asynccontextmanager
async def phone(
    on: tuple[str, ...] = ("voice", "surveys", "callin"), public_url: str | None = PUBLIC
) -> AsyncIterator[Phone]:
    app, runtimes = _app(on, public_url)
    add_routes(app.router)
    async with TestClient(TestServer(app)) as client:
        yield Phone(client, runtimes)


def _says(body: str) -> str | None:
    """Who answered, from the TwiML's first Say; None for a hang-up."""
    if "<Hangup" in body:
        return None
    return body.split("<Say", 1)[1].split(">", 1)[1].split("<", 1)[0]


ROUTES = [
    "/twilio/voice?o=1",
    "/twilio/voice",
    "/twilio/voice/gather?o=1&step=ready",
    "/twilio/voice/status?o=1",
    "/twilio/voice/survey?c=1",
    "/twilio/voice/survey/keys?c=1&r=2&s=3",
    "/twilio/voice/survey/rec?c=1&r=2&s=3",
    "/twilio/voice/callin?c=1",
    "/twilio/voice/callin/message?c=1",
]


async def test_every_voice_route_refuses_a_bad_or_missing_signature() -> None:
    async with phone() as p:
        for route in ROUTES:
            for signature in ("", "bm90IGEgc2lnbmF0dXJl"):
                status, _, text = await p.post(route, signature=signature)
                assert (status, text) == (403, "invalid signature"), route
        assert p.heard() == []


@pytest.mark.parametrize(
    ("on", "route", "says", "heard"),
    [
        (("voice", "callin"), "/twilio/voice?o=12", "voice.answer", ("voice", ("answer", 12))),
        (("voice",), "/twilio/voice?o=x1", "voice.answer", ("voice", ("answer", None))),
        (("voice", "callin"), "/twilio/voice", "callin.answer", ("callin", ("answer",))),
        (("voice",), "/twilio/voice", "voice.answer", ("voice", ("answer", None))),
        (("callin",), "/twilio/voice?o=12", None, None),
        ((), "/twilio/voice", None, None),
    ],
)
async def test_a_call_is_answered_by_its_outbox_call_or_as_a_call_in(
    on: tuple[str, ...], route: str, says: str | None, heard: tuple[Any, ...] | None
) -> None:
    async with phone(on) as p:
        status, content_type, body = await p.post(route)
        assert (status, content_type) == (200, "application/xml")
        assert _says(body) == says
        assert p.heard() == ([] if heard is None else [(heard[0], (*heard[1], PARAMS))])


STEPS = [
    ("/twilio/voice/gather?o=7&step=ready", "voice", ("gather", 7, "ready")),
    ("/twilio/voice/gather?o=7", "voice", ("gather", 7, "")),
    ("/twilio/voice/gather?o=seven&step=call", "voice", ("gather", None, "call")),
    ("/twilio/voice/survey?c=3", "surveys", ("ask", 3)),
    ("/twilio/voice/survey", "surveys", ("ask", None)),
    ("/twilio/voice/survey/keys?c=3&r=4&s=5", "surveys", ("keys", 3, 4, 5)),
    ("/twilio/voice/survey/keys?c=3&r=four&s=5", "surveys", ("keys", 3, None, 5)),
    ("/twilio/voice/survey/rec?c=3&r=4&s=5", "surveys", ("record", 3, 4, 5)),
    ("/twilio/voice/survey/rec?c=3&r=4&s=5&none=1", "surveys", ("record", 3, 4, 5)),
    ("/twilio/voice/survey/rec?c=3&r=4&none=0", "surveys", ("record", 3, 4, None)),
    ("/twilio/voice/callin?c=9", "callin", ("menu", 9)),
    ("/twilio/voice/callin/message?c=9", "callin", ("message", 9)),
    ("/twilio/voice/callin/message", "callin", ("message", None)),
]


@pytest.mark.parametrize(("route", "runtime", "call"), STEPS)
async def test_a_keypad_step_goes_to_the_runtime_of_its_route(
    route: str, runtime: str, call: tuple[Any, ...]
) -> None:
    async with phone() as p:
        status, content_type, body = await p.post(route)
        assert (status, content_type) == (200, "application/xml")
        assert _says(body) == f"{runtime}.{call[0]}"
        expected: tuple[Any, ...] = call if call[0] == "ask" else (*call, PARAMS)
        if call[0] == "record":
            expected = (*expected, "none=1" in route)
        assert p.heard() == [(runtime, expected)]


@pytest.mark.parametrize(("route", "runtime", "call"), STEPS)
async def test_a_step_whose_runtime_is_off_hangs_up(
    route: str, runtime: str, call: tuple[Any, ...]
) -> None:
    async with phone(tuple(n for n in ("voice", "surveys", "callin") if n != runtime)) as p:
        status, content_type, body = await p.post(route)
        assert (status, content_type, _says(body)) == (200, "application/xml", None)
        assert p.heard() == []


async def test_a_path_that_is_no_step_hangs_up() -> None:
    app, runtimes = _app(("voice", "surveys", "callin"), PUBLIC)
    for path in ("/twilio/voice", "/twilio/voice/other", "/twilio/voice/survey/", "/twilio/sms"):
        assert await run_step(app, path, {"o": "1", "c": "1"}, PARAMS) == (Hangup(),)
    assert all(rt.calls == [] for rt in runtimes.values())


async def test_a_status_callback_goes_to_the_outbox_call_and_is_acknowledged() -> None:
    async with phone() as p:
        assert (await p.post("/twilio/voice/status?o=5"))[0] == 204
        assert (await p.post("/twilio/voice/status?o=five"))[0] == 204
        assert p.heard() == [("voice", ("status", 5, PARAMS)), ("voice", ("status", None, PARAMS))]
    async with phone(("surveys", "callin")) as p:
        assert (await p.post("/twilio/voice/status?o=5"))[0] == 204
        assert p.heard() == []


@pytest.mark.parametrize(
    ("public_url", "action"),
    [
        (PUBLIC + "/", PUBLIC + "/next/voice"),
        (PUBLIC, PUBLIC + "/next/voice"),
        (PUBLIC + "/X/", PUBLIC + "/X/next/voice"),  # a path prefix is kept, whatever its end
        ("", "/next/voice"),
    ],
)
async def test_twiml_actions_are_made_absolute_with_the_public_url(
    public_url: str, action: str
) -> None:
    async with phone(public_url=public_url or None) as p:
        signed_over = public_url.rstrip("/") or str(p.client.make_url("")).rstrip("/")
        status, content_type, body = await p.post("/twilio/voice?o=1", public=signed_over)
        assert (status, content_type) == (200, "application/xml")
        assert f'action="{action}"' in body
