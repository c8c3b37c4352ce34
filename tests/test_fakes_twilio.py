"""The real twilio library (9.x, async client) against tests/fakes/twilio.py."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.fakes.recorder import Recorder
from tests.fakes.twilio import (
    CREATE_PARAMS,
    MESSAGE_PROPERTIES,
    MESSAGE_STATUSES,
    FakeTwilio,
    count_segments,
    sms_encoding,
)

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "fake-auth-token"
FROM = "+15005550006"
SERVICE = "MG" + "fedcba9876543210" * 2
RESIDENT = "+8613800138000"


class FakeClock:
    """A settable monotonic clock."""

    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def tw() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio(account_sid=SID, auth_token=TOKEN) as fake:
        yield fake


@pytest.fixture
async def app() -> AsyncIterator[Recorder]:
    async with Recorder() as recorder:
        yield recorder


async def make_client(
    tw: FakeTwilio, token: str = TOKEN, max_retries: int | None = None
) -> tuple[Client, AsyncTwilioHttpClient]:
    http = AsyncTwilioHttpClient(max_retries=max_retries)  # inside the running loop
    client = Client(SID, token, http_client=http)
    client.api.base_url = tw.url  # redirects every client.api.* / client.messages request
    return client, http


@pytest.fixture
async def client(tw: FakeTwilio) -> AsyncIterator[Client]:
    c, http = await make_client(tw)
    try:
        yield c
    finally:
        await http.close()


async def test_create_message_returns_twilio_resource(
    tw: FakeTwilio, client: Client, app: Recorder
) -> None:
    callback = f"{app.url}/twilio/status"
    message = await client.messages.create_async(
        to=RESIDENT, from_=FROM, body="3号楼12层 请下楼核酸", status_callback=callback
    )

    assert re.fullmatch(r"SM[0-9a-f]{32}", message.sid or "")
    assert message.status == "queued"
    assert message.num_segments == "1"  # a string, like Twilio
    assert message.price is None and message.error_code is None
    assert message.api_version == "2010-04-01"
    assert message.direction == "outbound-api"
    assert message.account_sid == SID and message.from_ == FROM and message.to == RESIDENT
    assert isinstance(message.date_created, datetime) and message.date_created.tzinfo
    assert message.uri == f"/2010-04-01/Accounts/{SID}/Messages/{message.sid}.json"

    (recorded,) = tw.sent_to(RESIDENT)
    assert recorded.sid == message.sid and recorded.body == "3号楼12层 请下楼核酸"
    assert recorded.from_ == FROM and recorded.status_callback == callback
    assert recorded.encoding == "UCS-2" and recorded.num_segments == 1
    assert tw.last_message(RESIDENT) is recorded and tw.get(message.sid) is recorded
    method, path, form, status = tw.requests[-1]
    assert (method, path, status) == ("POST", f"/2010-04-01/Accounts/{SID}/Messages.json", 201)
    assert form["To"] == RESIDENT and form["StatusCallback"] == callback

    fetched = await client.messages(message.sid).fetch_async()
    assert fetched.sid == message.sid and fetched.body == message.body
    listed = await client.messages.list_async(to=RESIDENT)
    assert [m.sid for m in listed] == [message.sid]


async def test_messaging_service_is_accepted(tw: FakeTwilio, client: Client) -> None:
    message = await client.messages.create_async(
        to=RESIDENT, messaging_service_sid=SERVICE, body="hi"
    )
    assert message.status == "accepted" and message.from_ is None
    assert message.messaging_service_sid == SERVICE
    assert tw.messages[-1].sender == SERVICE


async def test_bad_credentials_get_20003(tw: FakeTwilio) -> None:
    client, http = await make_client(tw, token="wrong")
    try:
        with pytest.raises(TwilioRestException) as err:
            await client.messages.create_async(to=RESIDENT, from_=FROM, body="x")
    finally:
        await http.close()
    assert err.value.status == 401 and err.value.code == 20003
    assert tw.messages == []


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"to": "13800138000", "from_": FROM, "body": "x"}, 400, 21211),  # not E.164
        ({"to": RESIDENT, "from_": FROM}, 400, 21602),  # no Body
        ({"to": RESIDENT, "body": "x"}, 400, 21603),  # no From / MessagingServiceSid
        ({"to": RESIDENT, "from_": "not a number!", "body": "x"}, 400, 21606),
        ({"to": RESIDENT, "messaging_service_sid": "MG123", "body": "x"}, 400, 21701),
        ({"to": RESIDENT, "from_": FROM, "body": "x" * 1601}, 400, 21617),
    ],
)
async def test_request_validation_codes(
    tw: FakeTwilio, client: Client, kwargs: dict[str, str], status: int, code: int
) -> None:
    with pytest.raises(TwilioRestException) as err:
        await client.messages.create_async(**kwargs)
    assert (err.value.status, err.value.code) == (status, code)
    assert tw.messages == []


async def test_unsubscribed_invalid_and_landline(tw: FakeTwilio, client: Client) -> None:
    tw.unsubscribe(RESIDENT)
    with pytest.raises(TwilioRestException) as err:
        await client.messages.create_async(to=RESIDENT, from_=FROM, body="x")
    assert err.value.code == 21610 and "unsubscribed recipient" in err.value.msg

    tw.invalid("+8613900000000")
    with pytest.raises(TwilioRestException) as err:
        await client.messages.create_async(to="+8613900000000", from_=FROM, body="x")
    assert err.value.code == 21211 and "+8613900000000" in err.value.msg

    tw.landline("+862155550000")
    with pytest.raises(TwilioRestException) as err:
        await client.messages.create_async(to="+862155550000", from_=FROM, body="x")
    assert err.value.code == 21614

    tw.resubscribe(RESIDENT)
    await client.messages.create_async(to=RESIDENT, from_=FROM, body="x")
    assert len(tw.messages) == 1


async def test_fail_next_server_errors_and_429(tw: FakeTwilio, client: Client) -> None:
    tw.fail_next(status=500)
    with pytest.raises(TwilioRestException) as err:
        await client.messages.create_async(to=RESIDENT, from_=FROM, body="x")
    assert (err.value.status, err.value.code) == (500, 20500)

    tw.fail_next(status=429, code=20429, times=2)
    for _ in range(2):
        with pytest.raises(TwilioRestException) as err:
            await client.messages.create_async(to=RESIDENT, from_=FROM, body="x")
        assert (err.value.status, err.value.code) == (429, 20429)
    await client.messages.create_async(to=RESIDENT, from_=FROM, body="x")
    assert len(tw.messages) == 1


async def test_max_retries_quirks_of_async_client(tw: FakeTwilio) -> None:
    """max_retries=N means N attempts in all; 0 retries 5xx POSTs until one succeeds."""
    client, http = await make_client(tw, max_retries=1)
    try:
        tw.fail_next(status=500)
        with pytest.raises(TwilioRestException):
            await client.messages.create_async(to=RESIDENT, from_=FROM, body="x")
        assert len(tw.requests) == 1
    finally:
        await http.close()

    client, http = await make_client(tw, max_retries=0)
    try:
        tw.fail_next(status=500, times=1)
        await client.messages.create_async(to=RESIDENT, from_=FROM, body="x")
        assert [r[3] for r in tw.requests[1:]] == [500, 201]  # the POST was sent again
    finally:
        await http.close()


@pytest.mark.parametrize(
    ("body", "encoding", "segments"),
    [
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("€" * 80, "GSM-7", 1),  # extension characters take two septets
        ("€" * 81, "GSM-7", 2),
        ("楼" * 70, "UCS-2", 1),
        ("楼" * 71, "UCS-2", 2),
        ("楼" * 134, "UCS-2", 2),
        ("楼" * 135, "UCS-2", 3),
        ("a" * 69 + "😀", "UCS-2", 2),  # an emoji is two UTF-16 units
        ("Test 3-12: go down now", "GSM-7", 1),
    ],
)
def test_segment_counting(body: str, encoding: str, segments: int) -> None:
    assert sms_encoding(body) == encoding
    assert count_segments(body) == segments


async def test_throughput_token_bucket_with_fake_clock() -> None:
    clock = FakeClock()
    async with FakeTwilio(SID, TOKEN, clock=clock, enforce_limits=True) as tw:
        client, http = await make_client(tw)
        try:
            await client.messages.create_async(to=RESIDENT, from_=FROM, body="1")
            with pytest.raises(TwilioRestException) as err:
                await client.messages.create_async(to=RESIDENT, from_=FROM, body="2")
            assert (err.value.status, err.value.code) == (429, 20429)
            # another sender has its own bucket
            await client.messages.create_async(to=RESIDENT, messaging_service_sid=SERVICE, body="x")
            clock.now += 1.0
            await client.messages.create_async(to=RESIDENT, from_=FROM, body="楼" * 135)  # 3 seg
            clock.now += 2.0
            with pytest.raises(TwilioRestException):
                await client.messages.create_async(to=RESIDENT, from_=FROM, body="x")
            clock.now += 1.0
            await client.messages.create_async(to=RESIDENT, from_=FROM, body="x")
        finally:
            await http.close()
        assert tw.rate_limit_violations == 2
        assert len(tw.messages) == 4


async def test_signed_status_callbacks(tw: FakeTwilio, client: Client, app: Recorder) -> None:
    url = f"{app.url}/twilio/status"
    first = await client.messages.create_async(
        to=RESIDENT, from_=FROM, body="a", status_callback=url
    )
    second = await client.messages.create_async(
        to="+8613800138001", messaging_service_sid=SERVICE, body="b", status_callback=url
    )
    no_callback = await client.messages.create_async(to=RESIDENT, from_=FROM, body="c")

    assert await tw.advance_all("sent") == [200, 200, None]
    assert await tw.deliver(first.sid or "") == 200
    assert await tw.deliver(second.sid or "", "undelivered", error_code=30005) == 200
    assert tw.get(no_callback.sid or "").status == "sent"

    validator = RequestValidator(TOKEN)
    for request in app.requests:
        assert request.path == "/twilio/status"
        assert validator.validate(url, request.form, request.headers["X-Twilio-Signature"])
        assert not validator.validate(
            url + "x", request.form, request.headers["X-Twilio-Signature"]
        )
    statuses = [(r.form["MessageSid"], r.form["MessageStatus"]) for r in app.requests]
    assert statuses == [
        (first.sid, "sent"),
        (second.sid, "sent"),
        (first.sid, "delivered"),
        (second.sid, "undelivered"),
    ]
    last = app.requests[-1].form
    assert last["ErrorCode"] == "30005" and last["MessagingServiceSid"] == SERVICE
    assert last["SmsStatus"] == "undelivered" and last["AccountSid"] == SID
    assert last["From"] == tw.service_number and last["ApiVersion"] == "2010-04-01"
    assert "ErrorCode" not in app.requests[0].form
    assert tw.get(first.sid or "").history == ["queued", "sent", "delivered"]
    assert (await client.messages(second.sid).fetch_async()).status == "undelivered"


async def test_auto_callbacks(app: Recorder) -> None:
    async with FakeTwilio(SID, TOKEN, auto_callbacks=True, callback_delay=0) as tw:
        client, http = await make_client(tw)
        try:
            url = f"{app.url}/twilio/status"
            message = await client.messages.create_async(
                to=RESIDENT, from_=FROM, body="x", status_callback=url
            )
            await tw.drain()
        finally:
            await http.close()
        assert [r.form["MessageStatus"] for r in app.requests] == ["queued", "sent", "delivered"]
        assert tw.get(message.sid or "").status == "delivered"
        assert len(tw.callbacks) == 3 and tw.callbacks[0].status == 200


async def test_inbound_sms_signed_over_public_url(tw: FakeTwilio, app: Recorder) -> None:
    public = "https://louzhang.example.org/twilio/sms"
    status, _text = await tw.inbound(f"{app.url}/twilio/sms", RESIDENT, "1", sign_url=public)
    assert status == 200
    request = app.requests[-1]
    form = request.form
    assert form["From"] == RESIDENT and form["Body"] == "1" and form["To"] == tw.service_number
    assert form["NumMedia"] == "0" and form["NumSegments"] == "1"
    assert form["AccountSid"] == SID and form["MessageSid"] == form["SmsSid"]
    assert form["SmsStatus"] == "received" and form["ApiVersion"] == "2010-04-01"
    validator = RequestValidator(TOKEN)
    assert validator.validate(public, form, request.headers["X-Twilio-Signature"])
    assert not validator.validate(
        f"{app.url}/twilio/sms", form, request.headers["X-Twilio-Signature"]
    )

    await tw.inbound(f"{app.url}/twilio/sms", RESIDENT, "2", signature="bogus")
    assert app.requests[-1].headers["X-Twilio-Signature"] == "bogus"
    await tw.inbound(f"{app.url}/twilio/sms", RESIDENT, "3", sign=False)
    assert "X-Twilio-Signature" not in app.requests[-1].headers
    assert [m.body for m in tw.inbound_messages] == ["1", "2", "3"]


async def test_inbound_stop_unsubscribes(tw: FakeTwilio, client: Client, app: Recorder) -> None:
    await tw.inbound(f"{app.url}/twilio/sms", RESIDENT, "stop")
    assert app.requests[-1].form["OptOutType"] == "STOP"
    with pytest.raises(TwilioRestException) as err:
        await client.messages.create_async(to=RESIDENT, from_=FROM, body="x")
    assert err.value.code == 21610
    await tw.inbound(f"{app.url}/twilio/sms", RESIDENT, "START")
    await client.messages.create_async(to=RESIDENT, from_=FROM, body="x")


async def test_unknown_resource_and_wait_sent(tw: FakeTwilio, client: Client) -> None:
    with pytest.raises(TwilioRestException) as err:
        await client.messages("SM" + "0" * 32).fetch_async()
    assert (err.value.status, err.value.code) == (404, 20404)
    await client.messages.create_async(to=RESIDENT, from_=FROM, body="x")
    assert [m.body for m in await tw.wait_sent(RESIDENT, 1, timeout=1)] == ["x"]


# ---- one test per rule of the real Messages API --------------------------------------------------
async def create_error(client: Client, **kwargs: str) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as err:
        await client.messages.create_async(**kwargs)
    return err.value


async def raw_post(tw: FakeTwilio, path: str, form: dict[str, str]) -> tuple[int, object]:
    """A form POST with the account's credentials, without the twilio library."""
    async with (
        aiohttp.ClientSession(
            headers={"Authorization": aiohttp.encode_basic_auth(SID, TOKEN)}
        ) as http,
        http.post(f"{tw.url}/2010-04-01/Accounts/{SID}/{path}", data=form) as resp,
    ):
        return resp.status, await resp.json()


async def test_rule_body_over_1600_characters_is_21617(tw: FakeTwilio, client: Client) -> None:
    err = await create_error(client, to=RESIDENT, from_=FROM, body="楼" * 1601)
    assert (err.status, err.code) == (400, 21617)
    assert await raw_post(
        tw, "Messages.json", {"To": RESIDENT, "From": FROM, "Body": "x" * 1601}
    ) == (
        400,
        {
            "code": 21617,
            "message": "The concatenated message body exceeds the 1600 character limit.",
            "more_info": "https://www.twilio.com/docs/errors/21617",
            "status": 400,
        },
    )
    await client.messages.create_async(to=RESIDENT, from_=FROM, body="楼" * 1600)
    assert tw.messages[-1].num_segments == 24


async def test_rule_unsubscribed_recipient_is_21610(tw: FakeTwilio, client: Client) -> None:
    tw.unsubscribe(RESIDENT)
    err = await create_error(client, to=RESIDENT, from_=FROM, body="x")
    assert (err.status, err.code) == (400, 21610)
    assert err.msg.endswith("Attempt to send to unsubscribed recipient")
    assert tw.messages == []


async def test_rule_invalid_number_is_21211(tw: FakeTwilio, client: Client) -> None:
    for number in ("13800138000", "+86 138 0013 8000", "+0123"):
        err = await create_error(client, to=number, from_=FROM, body="x")
        assert (err.status, err.code) == (400, 21211)
    tw.invalid("+8613900000000")  # well formed, but no such number
    err = await create_error(client, to="+8613900000000", from_=FROM, body="x")
    assert err.msg.endswith("The 'To' number +8613900000000 is not a valid phone number.")


async def test_rule_landline_is_21614(tw: FakeTwilio, client: Client) -> None:
    tw.landline("+862155550000")
    err = await create_error(client, to="+862155550000", from_=FROM, body="x")
    assert (err.status, err.code) == (400, 21614)
    assert "not a valid mobile number" in err.msg


async def test_rule_requests_are_authenticated(tw: FakeTwilio) -> None:
    for token in ("wrong", ""):
        client, http = await make_client(tw, token=token)
        try:
            err = await create_error(client, to=RESIDENT, from_=FROM, body="x")
            assert (err.status, err.code) == (401, 20003)
            with pytest.raises(TwilioRestException) as fetch:
                await client.messages("SM" + "0" * 32).fetch_async()
            assert (fetch.value.status, fetch.value.code) == (401, 20003)
        finally:
            await http.close()
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{tw.url}/2010-04-01/Accounts/{SID}/Messages.json", data={}) as resp,
    ):
        assert resp.status == 401 and (await resp.json())["code"] == 20003
    assert tw.messages == []


async def test_rule_from_is_an_own_number_or_a_messaging_service(
    tw: FakeTwilio, client: Client
) -> None:
    err = await create_error(client, to=RESIDENT, from_="+15005550001", body="x")
    assert (err.status, err.code) == (400, 21606)
    assert "+15005550001" in err.msg
    await client.messages.create_async(to=RESIDENT, from_=FROM, body="own number")
    by_from = await client.messages.create_async(to=RESIDENT, from_=SERVICE, body="service")
    assert by_from.status == "accepted" and by_from.messaging_service_sid == SERVICE
    err = await create_error(client, to=RESIDENT, messaging_service_sid="MG1", body="x")
    assert (err.status, err.code) == (400, 21701)
    async with FakeTwilio(SID, TOKEN, services={SERVICE}) as strict:
        other, http = await make_client(strict)
        try:
            err = await create_error(
                other, to=RESIDENT, messaging_service_sid="MG" + "1" * 32, body="x"
            )
            assert err.code == 21701
            await other.messages.create_async(to=RESIDENT, messaging_service_sid=SERVICE, body="x")
        finally:
            await http.close()


async def test_rule_status_callback_must_be_a_url(tw: FakeTwilio, client: Client) -> None:
    err = await create_error(
        client, to=RESIDENT, from_=FROM, body="x", status_callback="http://bad_host/status"
    )
    assert (err.status, err.code) == (400, 21609)


async def test_rule_status_callbacks_in_twilios_order_and_signed(app: Recorder) -> None:
    url = f"{app.url}/twilio/status"
    async with FakeTwilio(SID, TOKEN, auto_callbacks=True, callback_delay=0) as tw:
        tw.outcome("+8613800138001", "undelivered", 30005)
        tw.outcome("+8613800138002", "failed", 30007)
        client, http = await make_client(tw)
        try:
            sids = {}
            for number in (RESIDENT, "+8613800138001", "+8613800138002"):
                created = await client.messages.create_async(
                    to=number, from_=FROM, body="x", status_callback=url
                )
                sids[created.sid] = number
                await tw.drain()
        finally:
            await http.close()
    validator = RequestValidator(TOKEN)
    seen: dict[str, list[tuple[str, str | None]]] = {}
    for request in app.requests:
        assert validator.validate(url, request.form, request.headers["X-Twilio-Signature"])
        form = request.form
        seen.setdefault(sids[form["MessageSid"]], []).append(
            (form["MessageStatus"], form.get("ErrorCode"))
        )
    assert seen == {
        RESIDENT: [("queued", None), ("sent", None), ("delivered", None)],
        "+8613800138001": [("queued", None), ("sent", None), ("undelivered", "30005")],
        "+8613800138002": [("queued", None), ("failed", "30007")],
    }


async def test_rule_progress_skips_what_was_posted(
    tw: FakeTwilio, client: Client, app: Recorder
) -> None:
    url = f"{app.url}/twilio/status"
    message = await client.messages.create_async(
        to=RESIDENT, from_=FROM, body="x", status_callback=url
    )
    assert await tw.deliver(message.sid or "", "queued") == 200
    assert await tw.progress(message.sid or "", "failed") == [200]
    assert [r.form["MessageStatus"] for r in app.requests] == ["queued", "failed"]
    assert app.requests[-1].form["ErrorCode"] == "30003"
    with pytest.raises(ValueError, match="failed already"):
        await tw.progress(message.sid or "")
    with pytest.raises(ValueError, match="not a Twilio message status"):
        await tw.deliver(message.sid or "", "lost")


class SlowThenFine:
    """A stand-in app: the first webhook hangs until the retry arrives (or answers 500)."""

    def __init__(self, first_status: int | None) -> None:
        self.first_status = first_status  # None: hang
        self.requests: list[tuple[dict[str, str], dict[str, str]]] = []
        self.retried = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.requests.append((form, dict(request.headers)))
        if len(self.requests) == 1:
            if self.first_status is None:
                await self.retried.wait()  # slower than the fake's timeout
                return web.Response(status=200)
            return web.Response(status=self.first_status)
        self.retried.set()
        return web.Response(text="<Response/>", content_type="application/xml")


@pytest.mark.parametrize("first_status", [None, 500, 503])
async def test_rule_inbound_webhook_retried_when_slow_or_failing(
    first_status: int | None,
) -> None:
    stand_in = SlowThenFine(first_status)
    web_app = web.Application()
    web_app.router.add_post("/twilio/sms", stand_in.handle)
    async with FakeTwilio(SID, TOKEN, webhook_retries=1, webhook_timeout=0.3) as tw:
        runner = web.AppRunner(web_app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        url = f"http://127.0.0.1:{port}/twilio/sms"
        try:
            status, text = await tw.inbound(url, RESIDENT, "1")
        finally:
            stand_in.retried.set()
            await runner.cleanup()
    assert (status, text) == (200, "<Response/>")
    (first, first_headers), (second, second_headers) = stand_in.requests
    assert first == second and first["MessageSid"] == tw.inbound_messages[0].sid
    for name in ("X-Twilio-Signature", "I-Twilio-Idempotency-Token"):
        assert first_headers[name] == second_headers[name]
    assert RequestValidator(TOKEN).validate(url, second, second_headers["X-Twilio-Signature"])
    attempts = [(a.attempt, a.status, a.error) for a in tw.webhook_attempts]
    expected_first = (1, None, "timeout") if first_status is None else (1, first_status, None)
    assert attempts == [expected_first, (2, 200, None)]


async def test_rule_inbound_webhook_not_retried_by_default(tw: FakeTwilio) -> None:
    async with Recorder(status=500) as failing:
        assert await tw.inbound(f"{failing.url}/twilio/sms", RESIDENT, "1") == (500, "")
        assert len(failing.requests) == 1
        assert await tw.inbound(f"{failing.url}/twilio/sms", RESIDENT, "1", retries=2) == (500, "")
        assert len(failing.requests) == 4
    with pytest.raises(aiohttp.ClientConnectionError):  # nobody listens any more
        await tw.inbound(f"{failing.url}/twilio/sms", RESIDENT, "1", retries=1)
    assert [(a.status, a.error is not None) for a in tw.webhook_attempts[-2:]] == [(None, True)] * 2


async def test_rule_unimplemented_resources_are_twilio_404(tw: FakeTwilio, client: Client) -> None:
    with pytest.raises(TwilioRestException) as err:
        await client.queues.create_async(friendly_name="q")
    assert (err.value.status, err.value.code) == (404, 20404)
    path = f"/2010-04-01/Accounts/{SID}/Queues.json"
    assert await raw_post(tw, "Queues.json", {"FriendlyName": "q"}) == (
        404,
        {
            "code": 20404,
            "message": f"The requested resource {path} was not found",
            "more_info": "https://www.twilio.com/docs/errors/20404",
            "status": 404,
        },
    )
    async with (
        aiohttp.ClientSession(
            headers={"Authorization": aiohttp.encode_basic_auth(SID, TOKEN)}
        ) as http,
        http.delete(f"{tw.url}/2010-04-01/Accounts/{SID}/Messages.json") as resp,
    ):
        assert resp.status == 404 and (await resp.json())["code"] == 20404
    assert ("POST", path, {}, 404) in tw.requests
    async with aiohttp.ClientSession() as http, http.post(f"{tw.url}{path}") as resp:
        assert resp.status == 401 and (await resp.json())["code"] == 20003  # auth comes first


async def test_message_resource_has_the_spec_shape(tw: FakeTwilio, client: Client) -> None:
    created = await client.messages.create_async(to=RESIDENT, from_=FROM, body="x")
    status, listed = await raw_post(
        tw, "Messages.json", {"To": RESIDENT, "From": FROM, "Body": "y"}
    )
    assert status == 201 and isinstance(listed, dict)
    assert sorted(listed) == sorted(MESSAGE_PROPERTIES)
    assert created.status in MESSAGE_STATUSES


def test_copied_spec_matches_twilios_openapi_description() -> None:
    """The fake carries its own copy; compare it with the spec when the spec is around."""
    spec = Path("/work/shared/specs/twilio_api_v2010.json")
    if not spec.exists():
        pytest.skip("Twilio's OpenAPI description is not on this machine")
    document = json.loads(spec.read_text())
    schemas = document["components"]["schemas"]
    assert list(schemas["api.v2010.account.message"]["properties"]) == MESSAGE_PROPERTIES
    assert set(schemas["message_enum_status"]["enum"]) == MESSAGE_STATUSES
    create = document["paths"]["/2010-04-01/Accounts/{AccountSid}/Messages.json"]["post"]
    form = create["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert set(form["properties"]) == CREATE_PARAMS
