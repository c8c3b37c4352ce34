"""Twilio webhooks. The thin handlers (bot/web/webhooks.py) run on an aiohttp app with the real
routes and typed keys (bot/web/keys.py) and a stub router; signature_ok and the status table
(notifications/channels/twilio.py) are tested as pure functions; the forward-only update, the
contact marks and the early-callback look-ups (outbox.record_delivery, notifications/outbox.py)
are called directly with what parse_status makes of the callback, and once over HTTP. Promises:

- a request is accepted only with a valid X-Twilio-Signature over LOUZHANG_PUBLIC_URL + path +
  query (trailing "/" of the URL ignored; without a public URL, the request's scheme and host);
- with no auth token configured every request is refused (403), even one signed with an empty
  key; a bad or missing signature gets 403 and changes nothing;
- inbound SMS: the sender is normalised with the default region and routed as channel "sms";
  an invalid sender is answered with empty TwiML and not routed; the router's direct reply is
  sent as TwiML (application/xml), none gives an empty <Response/>;
- an inbound SMS is handled once per MessageSid (or the older SmsSid): a repeat gets empty TwiML
  and is not routed again; one without a sid is handled each time; when handling fails (500),
  Twilio's retry with the same sid is handled;
- Twilio's own opt-out (OptOutType STOP, any case) is routed as "STOP" with provider_opted_out;
- every Twilio status maps to our status (queued/accepted/scheduled/sending → accepted, sent,
  delivered/read → delivered, undelivered, failed, canceled → cancelled), case-insensitive,
  from MessageSid/MessageStatus or the older SmsSid/SmsStatus; unknown ones change nothing;
- a status only moves forwards: late, repeated or out-of-order callbacks change nothing, and
  write nothing; a callback that read the row before a concurrent one updated it cannot move it
  back or sideways (the guard is in the UPDATE itself);
- a forward move records the error code (when given) and the update time (the app's CLOCK);
- only a callback that moved the status marks its contact: 21610 → opted_out, 30005, 30006,
  21211 and 21614 (landline / not SMS-capable) → unreachable, with the code as the reason;
  other codes (30003, 30007) leave the contact active; a stale callback marks nothing;
- an unknown sid is looked up again after 0.05, 0.2 and 0.5 s (a callback can beat the
  dispatcher's record of the sid), then acknowledged (204) and ignored; a callback naming no
  message or an unknown status is acknowledged at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from twilio.request_validator import RequestValidator

import notifications.outbox as outbox
from bot.router import Router
from bot.web.keys import CLOCK, ROUTER, SEEN, SETTINGS
from bot.web.webhooks import add_routes
from config.clock import FakeClock
from config.settings import Settings
from estate.models import Building, Contact, Estate, Household
from notifications.channels import twilio
from notifications.channels.twilio import signature_ok
from notifications.inbound import Inbound
from notifications.models import OutboxMessage
from notifications.seen import SeenMarks
from tests.conftest import make_settings

TOKEN = "f" * 32
PUBLIC = "https://lz.example.org"
PHONE = "+8613800138000"
EARLY = datetime(2022, 4, 10, 5, 0, tzinfo=UTC)


@dataclass
class StubRouter:
    reply: str | None = None
    seen: list[Inbound] = field(default_factory=list)
    fail: int = 0  # how many of the next messages fail

    async def handle(self, inbound: Inbound) -> Any:
        if self.fail:
            self.fail -= 1
            raise RuntimeError("the router failed")
        self.seen.append(inbound)

        @dataclass
        class Routed:
            direct_reply: str | None

        return Routed(self.reply)


@dataclass
class Hook:
    client: TestClient
    router: StubRouter
    settings: Settings
    clock: FakeClock

    async def post(
        self,
        path: str,
        params: dict[str, str],
        *,
        sign_url: str | None = None,
        key: str = TOKEN,
        signature: str | None = None,
    ) -> tuple[int, str]:
        url = sign_url if sign_url is not None else PUBLIC + path
        if signature is None:
            signature = RequestValidator(key).compute_signature(url, params)
        headers = {"X-Twilio-Signature": signature} if signature else {}
        async with self.client.post(path, data=params, headers=headers) as resp:
            return resp.status, await resp.text()

    async def status(self, sid: str, status: str, error: str | None = None) -> int:
        params = {"MessageSid": sid, "MessageStatus": status}
        if error is not None:
            params["ErrorCode"] = error
        code, _ = await self.post("/twilio/status", params)
        return code


@contextlib.asynccontextmanager
async def serve(**overrides: object) -> AsyncIterator[Hook]:
    settings = make_settings(
        **{"twilio_auth_token": TOKEN, "public_url": PUBLIC, "default_region": "CN", **overrides}
    )
    router = StubRouter()
    clock = FakeClock()
    app = web.Application()
    app[SETTINGS] = settings
    app[CLOCK] = clock
    app[ROUTER] = cast(Router, router)  # the stub answers handle() like the real one
    app[SEEN] = SeenMarks()
    add_routes(app.router)
    async with TestClient(TestServer(app)) as client:
        yield Hook(client, router, settings, clock)


@pytest.fixture
async def hook(db: str) -> AsyncIterator[Hook]:
    async with serve() as served:
        yield served


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The early-callback waits, recorded instead of slept."""
    waited: list[float] = []

    async def fake_sleep(delay: float) -> None:
        waited.append(delay)

    monkeypatch.setattr(outbox.asyncio, "sleep", fake_sleep)
    return waited


async def contact(address: str = PHONE) -> Contact:
    estate = await Estate.get_or_none(name="t") or await Estate.create(name="t")
    building = await Building.get_or_none(number=8) or await Building.create(
        estate=estate, number=8, floors=30
    )
    household = await Household.create(building=building, floor=3, room=f"30{address[-1]}")
    return await Contact.create(household=household, channel="sms", address=address)


_sids = iter(range(10_000))


async def message(status: str = "accepted", *, to: Contact | None = None) -> OutboxMessage:
    n = next(_sids)
    return await OutboxMessage.create(
        created_at=EARLY,
        contact=to,
        address=to.address if to else PHONE,
        channel="sms",
        body={"text": "hi"},
        idempotency_key=f"k{n}",
        status=status,
        next_attempt_at=EARLY,
        updated_at=EARLY,
        provider_id=f"SM{n:032d}",
    )


async def fresh(row: OutboxMessage) -> OutboxMessage:
    return await OutboxMessage.get(id=row.id)


# ---- signatures ------------------------------------------------------------------------------


def _sign(url: str, params: dict[str, str], key: str = TOKEN) -> str:
    return str(RequestValidator(key).compute_signature(url, params))


def test_a_signature_is_checked_with_the_key_over_the_url_and_params() -> None:
    params = {"From": PHONE, "Body": "1"}
    url = PUBLIC + "/twilio/sms?x=1"
    assert signature_ok(TOKEN, url, params, _sign(url, params))
    # Not over another URL (the path without its query), with another key or other params.
    assert not signature_ok(TOKEN, url, params, _sign(PUBLIC + "/twilio/sms", params))
    assert not signature_ok(TOKEN, url, params, _sign(url, params, key="e" * 32))
    assert not signature_ok(TOKEN, url, {**params, "Body": "2"}, _sign(url, params))


def test_a_missing_signature_is_refused() -> None:
    url = PUBLIC + "/twilio/sms"
    assert not signature_ok(TOKEN, url, {}, "")
    assert signature_ok(TOKEN, url, {}, _sign(url, {}))  # the same request, signed


@pytest.mark.parametrize("token", [None, ""])
def test_with_no_auth_token_configured_empty_key_signatures_are_refused(
    token: str | None,
) -> None:
    params = {"From": PHONE}
    url = PUBLIC + "/twilio/sms"
    empty_key = _sign(url, params, key="")
    assert RequestValidator("").validate(url, params, empty_key)  # what a bare check would take
    assert not signature_ok(token, url, params, empty_key)


# ---- the URL the handlers check the signature over -------------------------------------------


async def _signed_over(served: Hook, path: str, url: str, host: str | None = None) -> int:
    """The status of an inbound SMS (no MessageSid: nothing stored) signed over ``url``."""
    params = {"From": PHONE, "Body": "1"}
    headers = {"X-Twilio-Signature": _sign(url, params)}
    if host is not None:
        headers["Host"] = host
    async with served.client.post(path, data=params, headers=headers) as resp:
        return resp.status


async def test_signature_is_checked_over_the_public_url_path_and_query() -> None:
    async with serve(public_url=PUBLIC + "/") as served:
        path = "/twilio/sms?x=1"
        assert await _signed_over(served, path, PUBLIC + path) == 200
        # Not over the path without its query, nor over the request's own host.
        assert await _signed_over(served, path, PUBLIC + "/twilio/sms") == 403
        local = f"http://{served.client.host}:{served.client.port}{path}"
        assert await _signed_over(served, path, local) == 403
        assert await _signed_over(served, path, "http://example.com" + path, "example.com") == 403
    assert len(served.router.seen) == 1


async def test_a_public_url_with_a_path_prefix_keeps_it() -> None:
    async with serve(public_url="https://example.org/LZX/") as served:
        good = "https://example.org/LZX/twilio/sms"
        assert await _signed_over(served, "/twilio/sms", good) == 200
        assert await _signed_over(served, "/twilio/sms", "https://example.org/twilio/sms") == 403


async def test_without_a_public_url_the_request_scheme_and_host_are_signed() -> None:
    async with serve(public_url=None) as served:
        good = "http://example.com/twilio/sms"
        assert await _signed_over(served, "/twilio/sms", good, "example.com") == 200
        assert await _signed_over(served, "/twilio/sms", good, "evil.com") == 403
        assert (
            await _signed_over(
                served, "/twilio/sms", "https://example.com/twilio/sms", "example.com"
            )
            == 403
        )
    assert [i.address for i in served.router.seen] == [PHONE]


async def test_with_no_auth_token_configured_webhooks_answer_403(db: str) -> None:
    async with serve(twilio_auth_token=None) as served:
        row = await message("sent", to=await contact())
        for path, params in (
            ("/twilio/sms", {"From": PHONE, "Body": "STOP"}),
            ("/twilio/status", {"MessageSid": row.provider_id or "", "MessageStatus": "failed"}),
        ):
            status, text = await served.post(path, params, key="")
            assert (status, text) == (403, "invalid signature")
        assert served.router.seen == []
        assert (await fresh(row)).status == "sent"


async def test_bad_or_missing_signatures_get_403_and_change_nothing(hook: Hook) -> None:
    person = await contact()
    row = await message("sent", to=person)
    params = {"MessageSid": row.provider_id or "", "MessageStatus": "failed", "ErrorCode": "21610"}
    for signature in ("", "bm9wZQ=="):
        assert (await hook.post("/twilio/status", params, signature=signature))[0] == 403
        assert (await hook.post("/twilio/sms", {"From": PHONE}, signature=signature))[0] == 403
    assert hook.router.seen == []
    assert (await fresh(row)).status == "sent"
    assert (await Contact.get(id=person.id)).status == "active"


# ---- inbound SMS -----------------------------------------------------------------------------


async def test_inbound_sms_is_routed_from_the_normalised_sender(hook: Hook) -> None:
    hook.router.reply = "谢谢 thanks"
    status, body = await hook.post("/twilio/sms", {"From": "138 0013 8000", "Body": "1"})
    assert status == 200
    assert hook.router.seen == [Inbound(channel="sms", address=PHONE, text="1")]
    assert "<Message>谢谢 thanks</Message>" in body
    hook.router.reply = None
    async with hook.client.post(
        "/twilio/sms",
        data={"From": PHONE},
        headers={"X-Twilio-Signature": _sign(PUBLIC + "/twilio/sms", {"From": PHONE})},
    ) as resp:
        assert resp.status == 200
        assert resp.content_type == "application/xml"
        text = await resp.text()
    assert "<Message" not in text and "<Response" in text
    assert hook.router.seen[-1] == Inbound(channel="sms", address=PHONE, text="")


async def test_the_default_region_reads_national_numbers(db: str) -> None:
    async with serve(default_region="HK") as served:
        assert (await served.post("/twilio/sms", {"From": "6123 4567", "Body": "x"}))[0] == 200
        assert [i.address for i in served.router.seen] == ["+85261234567"]


async def test_an_invalid_sender_gets_empty_twiml_and_is_not_routed(hook: Hook) -> None:
    hook.router.reply = "never"
    for params in ({"From": "not a number", "Body": "1"}, {"Body": "1"}):
        status, body = await hook.post("/twilio/sms", params)
        assert status == 200 and "<Response" in body and "<Message" not in body
    assert hook.router.seen == []


@pytest.mark.parametrize("sid_field", ["MessageSid", "SmsSid"])
async def test_an_inbound_sms_is_handled_once_per_message_sid(hook: Hook, sid_field: str) -> None:
    hook.router.reply = "收到 got it"
    first = {sid_field: "SM0001", "From": PHONE, "Body": "1"}
    other = {sid_field: "SM0002", "From": PHONE, "Body": "2"}
    assert "<Message>收到 got it</Message>" in (await hook.post("/twilio/sms", first))[1]
    status, again = await hook.post("/twilio/sms", first)
    assert status == 200 and "<Response" in again and "<Message" not in again
    assert "<Message>" in (await hook.post("/twilio/sms", other))[1]
    assert [i.text for i in hook.router.seen] == ["1", "2"]
    no_sid = {"From": PHONE, "Body": "3"}
    for _ in range(2):
        assert "<Message>" in (await hook.post("/twilio/sms", no_sid))[1]
    assert [i.text for i in hook.router.seen] == ["1", "2", "3", "3"]


async def test_a_failed_sms_is_handled_on_twilios_retry(hook: Hook) -> None:
    hook.router.reply = "收到 got it"
    params = {"MessageSid": "SM0003", "From": PHONE, "Body": "1"}
    hook.router.fail = 1
    assert (await hook.post("/twilio/sms", params))[0] == 500
    assert hook.router.seen == []
    status, body = await hook.post("/twilio/sms", params)
    assert status == 200 and "<Message>收到 got it</Message>" in body
    assert (await hook.post("/twilio/sms", params))[1].count("<Message") == 0
    assert len(hook.router.seen) == 1


async def test_twilio_opt_out_is_routed_as_stop(hook: Hook) -> None:
    for kind in ("STOP", "stop"):
        params = {"From": PHONE, "Body": "CANCEL", "OptOutType": kind}
        assert (await hook.post("/twilio/sms", params))[0] == 200
    other = {"From": PHONE, "Body": "START", "OptOutType": "START"}
    assert (await hook.post("/twilio/sms", other))[0] == 200
    stop = Inbound(channel="sms", address=PHONE, text="STOP", provider_opted_out=True)
    assert hook.router.seen == [stop, stop, Inbound(channel="sms", address=PHONE, text="START")]


# ---- delivery status -------------------------------------------------------------------------

TWILIO_TO_OURS = {
    "queued": "accepted",
    "accepted": "accepted",
    "scheduled": "accepted",
    "sending": "accepted",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "cancelled",
}


async def test_every_twilio_status_maps_to_ours(hook: Hook) -> None:
    assert twilio.STATUSES == TWILIO_TO_OURS
    for theirs, ours in TWILIO_TO_OURS.items():
        row = await message("sending")
        assert await hook.status(row.provider_id or "", theirs.upper()) == 204
        assert (await fresh(row)).status == ours, theirs


async def test_older_sms_sid_and_status_fields_are_read(hook: Hook) -> None:
    row = await message()
    params = {"SmsSid": row.provider_id or "", "SmsStatus": "sent"}
    assert (await hook.post("/twilio/status", params))[0] == 204
    assert (await fresh(row)).status == "sent"
    other = await message()
    params = {"MessageSid": other.provider_id or "", "SmsSid": row.provider_id or ""}
    params |= {"MessageStatus": "delivered", "SmsStatus": "failed"}
    assert (await hook.post("/twilio/status", params))[0] == 204
    assert (await fresh(other)).status == "delivered"
    assert (await fresh(row)).status == "sent"


async def test_a_forward_move_records_the_error_code_and_time(hook: Hook) -> None:
    row = await message()
    assert await hook.status(row.provider_id or "", "sent") == 204
    moved = await fresh(row)
    assert (moved.status, moved.error_code) == ("sent", None)
    assert moved.updated_at == hook.clock.now()
    hook.clock.advance(60)
    assert await hook.status(row.provider_id or "", "failed", "30007") == 204
    failed = await fresh(row)
    assert (failed.status, failed.error_code) == ("failed", "30007")
    assert failed.updated_at == hook.clock.now()
    empty = await message()
    assert await hook.status(empty.provider_id or "", "sent", "") == 204
    assert (await fresh(empty)).error_code is None


# ---- the outbox's record of a callback (outbox.record_delivery, no HTTP) ------------------------

LATER = EARLY + timedelta(hours=1)


async def callback(sid: str, status: str, error: str | None = None, now: datetime = LATER) -> bool:
    """A status callback as the handler records it: parsed, then handed to the outbox."""
    params = {"MessageSid": sid, "MessageStatus": status}
    if error is not None:
        params["ErrorCode"] = error
    update = twilio.parse_status(params)
    assert update is not None, params
    return await outbox.record_delivery(update, now=now)


async def test_status_only_moves_forwards(db: str) -> None:
    person = await contact()
    row = await message("accepted", to=person)
    sid = row.provider_id or ""
    for status in ("sent", "delivered"):
        assert await callback(sid, status) is True
    written = (await fresh(row)).updated_at
    for status, error in (("sent", None), ("queued", None), ("delivered", None)):
        assert await callback(sid, status, error, LATER + timedelta(minutes=1)) is False
    # A same-rank final status after another one: a stale callback.
    assert await callback(sid, "undelivered", "30005", LATER + timedelta(minutes=1)) is False
    assert await callback(sid, "failed", "21610", LATER + timedelta(minutes=1)) is False
    final = await fresh(row)
    assert (final.status, final.error_code, final.updated_at) == ("delivered", None, written)


async def test_a_stale_callback_marks_no_contact_unreachable(db: str) -> None:
    person = await contact()
    row = await message("accepted", to=person)
    sid = row.provider_id or ""
    assert await callback(sid, "delivered") is True
    for error in ("30005", "21614", "21610"):
        assert await callback(sid, "undelivered", error) is False
    assert (await Contact.get(id=person.id)).status == "active"
    assert (await fresh(row)).status == "delivered"


async def test_late_callbacks_write_nothing(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The forward-only guard is checked before writing: a burst of late callbacks costs reads."""
    row = await message("delivered")
    writes: list[dict[str, object]] = []
    original = OutboxMessage.filter

    def spy(*args: Any, **kwargs: Any) -> Any:
        writes.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(OutboxMessage, "filter", spy)
    for status in ("sent", "delivered", "failed"):
        assert await callback(row.provider_id or "", status, "30005") is False
    assert writes == []


async def test_a_callback_read_before_a_concurrent_update_cannot_move_the_status_back(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The forward-only guard is in the UPDATE: a row read as 'sent' that a concurrent callback
    has since made 'undelivered' is neither overwritten nor used to mark the contact."""
    person = await contact()
    row = await message("undelivered", to=person)
    stale = await fresh(row)
    stale.status = "sent"

    async def read_stale(provider_id: str) -> OutboxMessage:
        assert provider_id == row.provider_id
        return stale

    monkeypatch.setattr(outbox, "_row_of", read_stale)
    assert await callback(row.provider_id or "", "failed", "21614") is False
    assert await callback(row.provider_id or "", "delivered", "21610") is False
    after = await fresh(row)
    assert (after.status, after.error_code, after.updated_at) == ("undelivered", None, EARLY)
    assert (await Contact.get(id=person.id)).status == "active"
    # Read as 'accepted' while the row is 'sent': a later status still goes through.
    stale.status = "accepted"
    await OutboxMessage.filter(id=row.id).update(status="sent")
    assert await callback(row.provider_id or "", "delivered") is True
    assert (await fresh(row)).status == "delivered"


@pytest.mark.parametrize(
    ("error", "status"),
    [
        ("21610", "opted_out"),
        ("30005", "unreachable"),
        ("30006", "unreachable"),
        ("21211", "unreachable"),
        ("21614", "unreachable"),  # a landline: not SMS-capable
        ("30003", "active"),
        ("30007", "active"),
    ],
)
async def test_error_codes_mark_the_contact(db: str, error: str, status: str) -> None:
    person = await contact()
    bystander = await contact("+8613900139001")
    row = await message("sent", to=person)
    assert await callback(row.provider_id or "", "failed", error) is True
    marked = await Contact.get(id=person.id)
    reason = error if status != "active" else ""
    assert (marked.status, marked.status_reason) == (status, reason)
    assert (await Contact.get(id=bystander.id)).status == "active"


async def test_error_21614_over_http_marks_the_number_unreachable(hook: Hook) -> None:
    """The whole way: the signed callback, the one error table, the outbox's mark."""
    person = await contact()
    row = await message("sent", to=person)
    assert await hook.status(row.provider_id or "", "undelivered", "21614") == 204
    marked = await Contact.get(id=person.id)
    assert (marked.status, marked.status_reason) == ("unreachable", "21614")
    assert (await fresh(row)).status == "undelivered"


async def test_a_message_without_a_contact_marks_nothing(db: str) -> None:
    person = await contact()
    row = await message("sent")
    assert await callback(row.provider_id or "", "failed", "21614") is True
    assert (await fresh(row)).status == "failed"
    assert (await Contact.get(id=person.id)).status == "active"


async def test_unknown_statuses_and_callbacks_without_a_sid_are_acknowledged_and_ignored(
    hook: Hook, sleeps: list[float]
) -> None:
    row = await message("sent")
    assert await hook.status(row.provider_id or "", "exploded") == 204
    assert await hook.status(row.provider_id or "", "") == 204
    assert (await hook.post("/twilio/status", {"MessageStatus": "delivered"}))[0] == 204
    assert sleeps == []
    assert (await fresh(row)).status == "sent"
    # An unknown sid is acknowledged after the early-callback waits.
    assert await hook.status("SM" + "9" * 32, "delivered") == 204
    assert sleeps == [0.05, 0.2, 0.5]
    assert (await fresh(row)).status == "sent"


async def test_an_unknown_sid_is_looked_up_again_then_ignored(db: str, sleeps: list[float]) -> None:
    row = await message("sent")
    assert await callback("SM" + "9" * 32, "delivered") is False
    assert sleeps == [0.05, 0.2, 0.5]
    assert (await fresh(row)).status == "sent"


async def test_an_early_callback_waits_for_the_dispatchers_record(
    db: str, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    row = await message("accepted")
    sid = row.provider_id or ""
    await OutboxMessage.filter(id=row.id).update(provider_id=None)

    async def record_late(delay: float) -> None:
        sleeps.append(delay)
        if len(sleeps) == 2:  # the dispatcher writes the sid during the second wait
            await OutboxMessage.filter(id=row.id).update(provider_id=sid)

    monkeypatch.setattr(outbox.asyncio, "sleep", record_late)
    assert await callback(sid, "delivered") is True
    assert sleeps == [0.05, 0.2]
    assert (await fresh(row)).status == "delivered"

    # Recorded only after the last wait: the final look-up still finds it.
    late = await message("accepted")
    late_sid = late.provider_id or ""
    await OutboxMessage.filter(id=late.id).update(provider_id=None)
    sleeps.clear()

    async def record_last(delay: float) -> None:
        sleeps.append(delay)
        if len(sleeps) == 3:
            await OutboxMessage.filter(id=late.id).update(provider_id=late_sid)

    monkeypatch.setattr(outbox.asyncio, "sleep", record_last)
    assert await callback(late_sid, "sent") is True
    assert sleeps == [0.05, 0.2, 0.5]
    assert (await fresh(late)).status == "sent"


def test_early_callback_waits_add_up_to_under_a_second() -> None:
    assert sum(outbox.EARLY_CALLBACK_RETRIES) < timedelta(seconds=1).total_seconds()
