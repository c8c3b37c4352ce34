"""notifications/channels/voice.py: calls placed with the real twilio client on FakeTwilio, the
TwiML rendering, the call status table, the error table; and the fake's own strictness."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from notifications.calls import next_try
from notifications.channels.base import PermanentFailure, RetryLater, Unreachable
from notifications.channels.voice import (
    TwilioVoiceChannel,
    classify_call_error,
    parse_call_status,
    render_twiml,
    voices_of,
)
from notifications.message import Message
from notifications.voice_script import Gather, Hangup, Pause, Say, Voice
from tests.conftest import make_settings
from tests.fakes.recorder import Recorder
from tests.fakes.twilio import FakeTwilio
from tests.fakes.twilio_voice import CALL_PROPERTIES, CALL_STATUSES

SID = "AC" + "ab" * 16
TOKEN = "voice-protocol-token"
FROM = "+15005550006"
RESIDENT = "+862162345678"
VOICES = {"zh-CN": Voice("Polly.Zhiyu", "cmn-CN"), "en": Voice("Polly.Joanna", "en-US")}


@pytest.fixture
async def tw() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio(account_sid=SID, auth_token=TOKEN) as fake:
        yield fake


@pytest.fixture
async def app() -> AsyncIterator[Recorder]:
    async with Recorder(
        reply="<Response><Say voice='a' language='b'>hi</Say><Hangup/></Response>"
    ) as rec:
        yield rec


def channel(tw: FakeTwilio, public_url: str, **overrides: object) -> TwilioVoiceChannel:
    settings = make_settings(
        twilio_account_sid=SID,
        twilio_auth_token=TOKEN,
        twilio_from="MG" + "0" * 32,  # SMS by a Messaging Service: calls need a number
        twilio_voice_from=FROM,
        twilio_api_url=tw.url,
        public_url=public_url,
        **overrides,
    )
    return TwilioVoiceChannel(settings)


async def test_a_call_is_placed_with_its_routes_and_played_in_twilios_order(
    tw: FakeTwilio, app: Recorder
) -> None:
    voice = channel(tw, app.url)
    try:
        result = await voice.send(RESIDENT, Message("hi", extra={"outbox_id": 17}))
    finally:
        await voice.close()
    (call,) = await tw.wait_calls(RESIDENT)
    assert result.provider_id == call.sid and result.status == "accepted"
    assert call.from_ == FROM and call.machine_detection
    assert call.url == f"{app.url}/twilio/voice?o=17"
    assert call.status_callback == f"{app.url}/twilio/voice/status?o=17"
    assert call.events == {"initiated", "ringing", "answered", "completed"}
    assert [s for s, _ in call.callbacks] == ["initiated", "ringing", "in-progress", "completed"]
    assert call.said == ["hi"] and tw.twiml_errors == []
    paths = [r.path for r in app.requests]
    assert paths.index("/twilio/voice?o=17") == 3  # TwiML fetched once answered
    validator = RequestValidator(TOKEN)
    for request in app.requests:  # every request signed over the URL with its query
        url = app.url + request.path
        assert validator.validate(url, request.form, request.headers["X-Twilio-Signature"])
    final = app.requests[-1].form
    assert final["CallStatus"] == "completed" and int(final["CallDuration"]) > 0
    assert final["AnsweredBy"] == "human"


@pytest.mark.parametrize(
    ("plan", "statuses"),
    [
        ("busy", ["initiated", "busy"]),
        ("failed", ["initiated", "failed"]),
        ("no-answer", ["initiated", "ringing", "no-answer"]),
    ],
)
async def test_unanswered_calls(
    tw: FakeTwilio, app: Recorder, plan: str, statuses: list[str]
) -> None:
    tw.plan_call(RESIDENT, plan)
    voice = channel(tw, app.url)
    try:
        await voice.send(RESIDENT, Message("hi", extra={"outbox_id": 1}))
    finally:
        await voice.close()
    (call,) = await tw.wait_calls(RESIDENT)
    assert [s for s, _ in call.callbacks] == statuses
    assert call.twiml == []  # nobody answered: no TwiML fetched


async def test_the_fake_refuses_what_twilio_refuses(tw: FakeTwilio, app: Recorder) -> None:
    voice = channel(tw, app.url)
    try:
        with pytest.raises(Unreachable) as bad_to:
            await voice.send("021 6234 5678", Message("x", extra={"outbox_id": 1}))
        assert bad_to.value.code == "21211"
        voice.sender = "+15005550009"  # not one of the account's numbers
        with pytest.raises(PermanentFailure) as bad_from:
            await voice.send(RESIDENT, Message("x", extra={"outbox_id": 1}))
        assert bad_from.value.code == "21210"
        voice.sender = FROM
        tw.fail_next(503)
        with pytest.raises(RetryLater):
            await voice.send(RESIDENT, Message("x", extra={"outbox_id": 1}))
        with pytest.raises(PermanentFailure):  # no outbox id: no routes to give Twilio
            await voice.send(RESIDENT, Message("x"))
        async with (
            aiohttp.ClientSession(
                headers={"Authorization": aiohttp.encode_basic_auth(SID, TOKEN)}
            ) as http,
            http.post(
                f"{tw.url}/2010-04-01/Accounts/{SID}/Calls.json",
                data={"To": RESIDENT, "From": FROM, "Url": f"{app.url}/twilio/voice"},
            ) as resp,
        ):
            assert resp.status == 201
            resource = await resp.json()
        assert sorted(resource) == sorted(CALL_PROPERTIES)
        fetched = await voice.client.calls(resource["sid"]).fetch_async()
        assert fetched.sid == resource["sid"] and fetched.status in CALL_STATUSES
        with pytest.raises(TwilioRestException) as bad_event:
            await voice.client.calls.create_async(
                to=RESIDENT, from_=FROM, url=app.url, status_callback_event=["hung-up"]
            )
        assert bad_event.value.code == 21626
    finally:
        await voice.close()
    assert len(tw.calls) == 1


async def test_the_fake_counts_cps_and_same_number_breaches(app: Recorder) -> None:
    async with FakeTwilio(
        account_sid=SID,
        auth_token=TOKEN,
        calls_per_second=1,
        max_concurrent_calls=1,
        talk_seconds=0.2,
    ) as tw:
        voice = channel(tw, app.url)
        try:
            await voice.send(RESIDENT, Message("x", extra={"outbox_id": 1}))
            await voice.send(RESIDENT, Message("x", extra={"outbox_id": 2}))
        finally:
            await voice.close()
        assert tw.cps_breaches == 1
        assert tw.same_number_breaches == 1 and tw.concurrency_breaches == 1


def test_render_twiml() -> None:
    script = (
        Say("你好", "zh-CN"),
        Say("5号楼", "zh-CN", slow=True),
        Pause(1),
        Gather("/twilio/voice/gather?o=1&step=drive", prompt=(Say("Press 1", "en"),)),
        Hangup(),
    )
    xml = render_twiml(script, VOICES, "https://lz.example")
    assert xml == (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        '<Say language="cmn-CN" voice="Polly.Zhiyu">你好</Say>'
        '<Say language="cmn-CN" voice="Polly.Zhiyu"><prosody rate="slow">5号楼</prosody></Say>'
        '<Pause length="1" />'
        '<Gather action="https://lz.example/twilio/voice/gather?o=1&amp;step=drive" '
        'finishOnKey="" input="dtmf" method="POST" numDigits="1" timeout="6">'
        '<Say language="en-US" voice="Polly.Joanna">Press 1</Say></Gather>'
        "<Hangup /></Response>"
    )
    assert voices_of(make_settings(voice_tts="Google.cmn-CN-Wavenet-A"))["zh-CN"] == Voice(
        "Google.cmn-CN-Wavenet-A", "cmn-CN"
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"CallStatus": "initiated"}, ("accepted", "", False)),
        ({"CallStatus": "ringing"}, ("accepted", "", False)),
        ({"CallStatus": "in-progress"}, ("sent", "", False)),
        ({"CallStatus": "completed", "AnsweredBy": "human"}, ("delivered", "answered", True)),
        ({"CallStatus": "completed"}, ("delivered", "answered", True)),
        (
            {"CallStatus": "completed", "AnsweredBy": "machine_start"},
            ("undelivered", "machine", True),
        ),
        ({"CallStatus": "busy"}, ("undelivered", "busy", True)),
        ({"CallStatus": "no-answer"}, ("undelivered", "no-answer", True)),
        ({"CallStatus": "failed"}, ("failed", "failed", True)),
        ({"CallStatus": "canceled"}, ("undelivered", "canceled", True)),
    ],
)
def test_call_statuses(params: dict[str, str], expected: tuple[str, str, bool]) -> None:
    update = parse_call_status({"CallSid": "CA1", **params})
    assert update is not None
    assert (update.status, update.outcome, update.final) == expected


def test_callbacks_naming_no_call_or_an_unknown_status_are_ignored() -> None:
    assert parse_call_status({"CallStatus": "completed"}) is None
    assert parse_call_status({"CallSid": "CA1", "CallStatus": "exploded"}) is None


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, 21211, Unreachable),
        (400, 21217, Unreachable),
        (400, 21216, Unreachable),
        (400, 21215, PermanentFailure),  # the region is not enabled: our set-up, not the number
        (400, 21210, PermanentFailure),
        (429, 20429, RetryLater),
        (503, None, RetryLater),
        (400, 99999, PermanentFailure),
    ],
)
def test_call_errors(status: int, code: int | None, kind: type) -> None:
    error = classify_call_error(TwilioRestException(status, "https://x", "m", code=code))
    assert isinstance(error, kind)


@pytest.mark.parametrize(
    ("outcomes", "again"),
    [
        (["busy"], True),
        (["busy", "no-answer"], True),
        (["busy", "no-answer", "failed"], False),  # three tries with retries=2
        (["machine"], True),
        (["machine", "machine"], False),  # a machine gets one more try
        (["busy", "machine"], True),
        (["answered"], False),
        (["canceled"], False),
    ],
)
def test_next_try(outcomes: list[str], again: bool) -> None:
    assert next_try(outcomes, 2) is again
