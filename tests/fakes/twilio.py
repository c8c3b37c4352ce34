"""A fake Twilio REST API (2010-04-01 Messages) on loopback that the real twilio library talks to.

Usage::

    async with FakeTwilio(account_sid=SID, auth_token=TOKEN) as tw:
        http = AsyncTwilioHttpClient()             # create inside the running loop
        client = Client(SID, TOKEN, http_client=http)
        client.api.base_url = tw.url               # the Api domain; every api.* URL follows it
        msg = await client.messages.create_async(to="+8613800138000", from_="+15005550006",
                                                 body="hi", status_callback=app_url)
        await tw.deliver(msg.sid)                  # POST a signed status callback to the app
        await http.close()

Request checks and response shapes follow Twilio's OpenAPI description of the 2010 API
(``api.v2010.account.message``, copied below as :data:`MESSAGE_PROPERTIES`,
:data:`MESSAGE_STATUSES` and :data:`CREATE_PARAMS` so tests do not need the spec file); the error
codes are Twilio's. Calls (create, fetch) are the Voice half, in tests/fakes/twilio_voice.py.
Anything else (Recordings, Queues, ...) answers Twilio's 404 JSON (20404).

Status callbacks: :meth:`FakeTwilio.progress` (and ``auto_callbacks``) post them in Twilio's
order, queued -> sent -> delivered / undelivered, or queued -> failed, each signed with
``X-Twilio-Signature``. :meth:`FakeTwilio.deliver` posts one status as asked, so a test can make
callbacks arrive out of order as they can over the network.

Inbound webhooks are retried like Twilio's connection overrides (``#rc``/``#rp=all``) when
``webhook_retries`` is set: an answer slower than ``webhook_timeout``, a 5xx or a connection
error is followed by the same request (same MessageSid, same ``X-Twilio-Signature``, same
``I-Twilio-Idempotency-Token``).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import aiohttp
from aiohttp import BasicAuth, web
from twilio.request_validator import RequestValidator

from tests.fakes._server import Clock, LoopbackServer
from tests.fakes.twilio_voice import VoiceApi

JSON = dict[str, Any]
API_VERSION = "2010-04-01"

E164_RE = re.compile(r"^\+[1-9]\d{1,14}$")
ACCOUNT_SID_RE = re.compile(r"^AC[0-9a-fA-F]{32}$")
SERVICE_SID_RE = re.compile(r"^MG[0-9a-fA-F]{32}$")
# Alphanumeric sender ids (1-11 chars, at least one letter) and short codes are valid From too.
ALPHA_SENDER_RE = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
SHORT_CODE_RE = re.compile(r"^\d{3,8}$")

MAX_BODY_CHARS = 1600
#: ``api.v2010.account.message`` properties, from Twilio's OpenAPI description (2010 API).
MESSAGE_PROPERTIES = (
    "body num_segments direction from to date_updated price error_message uri account_sid "
    "num_media status messaging_service_sid sid date_sent date_created error_code price_unit "
    "api_version subresource_uris"
).split()
#: ``message_enum_status``.
MESSAGE_STATUSES = frozenset(
    (
        "queued sending sent failed delivered undelivered receiving received accepted scheduled "
        "read partially_delivered canceled"
    ).split()
)
#: Form parameters of ``POST /Accounts/{AccountSid}/Messages.json`` (only ``To`` is required).
CREATE_PARAMS = frozenset(
    (
        "To StatusCallback ApplicationSid MaxPrice ProvideFeedback Attempt ValidityPeriod "
        "ForceDelivery ContentRetention AddressRetention SmartEncoded PersistentAction "
        "TrafficType ShortenUrls ScheduleType SendAt SendAsMms ContentVariables RiskCheck From "
        "FallbackFrom MessagingServiceSid Body MediaUrl ContentSid"
    ).split()
)
#: Status callbacks Twilio posts for an outbound SMS, in order, per final outcome.
CALLBACK_SEQUENCES = {
    "sent": ("queued", "sent"),
    "delivered": ("queued", "sent", "delivered"),
    "undelivered": ("queued", "sent", "undelivered"),
    "failed": ("queued", "failed"),
}
#: Final statuses: ``advance_all`` leaves these alone.
FINAL_STATUSES = frozenset({"delivered", "undelivered", "failed", "read", "canceled", "received"})
#: Twilio's default opt-out / opt-in keywords (Advanced Opt-Out off).
OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})

# GSM 03.38 basic character set and its extension table (two septets each).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")

_ERROR_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21211: "The 'To' number {to} is not a valid phone number.",
    21609: "Invalid StatusCallback url",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21606: "The From phone number {from_} is not a valid, SMS-capable inbound phone number or "
    "short code for your account.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
    21701: "The Messaging Service Sid {service} is invalid.",
}


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def inbound_params(*, account_sid: str, from_: str, to: str, body: str, sid: str) -> dict[str, str]:
    """The form fields Twilio posts to a messaging webhook for an inbound SMS."""
    return {
        "ToCountry": "US",
        "ToState": "",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": "CN" if from_.startswith("+86") else "US",
        "To": to,
        "ToZip": "",
        "NumSegments": str(count_segments(body)),
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": from_,
        "ApiVersion": API_VERSION,
    }


def sms_encoding(body: str) -> str:
    """``"GSM-7"`` when every character is in the GSM 03.38 alphabet, else ``"UCS-2"``."""
    return "GSM-7" if all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in body) else "UCS-2"


def count_segments(body: str) -> int:
    """SMS segments Twilio bills for ``body``.

    GSM-7: 160 septets in one segment, 153 per segment when split (extension characters such as
    ``€ [ ] { }`` take two). UCS-2 (any other character, e.g. Chinese): 70 UTF-16 code units in
    one segment, 67 per segment when split (emoji take two units).
    """
    if not body:
        return 1
    if sms_encoding(body) == "GSM-7":
        units = sum(2 if c in GSM7_EXTENDED else 1 for c in body)
        single, multi = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, multi = 70, 67
    return 1 if units <= single else math.ceil(units / multi)


def _rfc2822(when: datetime) -> str:
    return format_datetime(when.astimezone(UTC)).replace("-0000", "+0000")


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


class TwilioApiError(Exception):
    """Raised inside the fake to answer with Twilio's error JSON."""

    def __init__(self, status: int, code: int, message: str | None = None, **fmt: Any) -> None:
        template = _ERROR_MESSAGES.get(code, "Error")
        text = message or template.format_map(_Blank(fmt))
        super().__init__(text)
        self.status, self.code, self.message = status, code, text

    def body(self) -> JSON:
        """``{"code", "message", "more_info", "status"}`` like Twilio."""
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }


@dataclass
class FakeMessage:
    """One Message resource created through the fake (or an inbound SMS)."""

    sid: str
    account_sid: str
    to: str
    from_: str | None
    body: str
    messaging_service_sid: str | None
    status_callback: str | None
    num_segments: int
    encoding: str
    status: str
    #: ``clock()`` time of creation.
    created: float
    date_created: datetime
    direction: str = "outbound-api"
    error_code: int | None = None
    date_sent: datetime | None = None
    date_updated: datetime | None = None
    #: Every status it went through, in order.
    history: list[str] = field(default_factory=list)
    #: Statuses a callback was posted for, in order.
    posted: list[str] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)

    @property
    def sender(self) -> str:
        """The sender key throughput is counted on: MessagingServiceSid or From."""
        return self.messaging_service_sid or self.from_ or ""

    def resource(self, assigned_from: str | None = None) -> JSON:
        """The Message resource JSON (``api.v2010.account.message``)."""
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}.json"
        updated = self.date_updated or self.date_created
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": _rfc2822(self.date_created),
            "date_sent": _rfc2822(self.date_sent) if self.date_sent else None,
            "date_updated": _rfc2822(updated),
            "direction": self.direction,
            "error_code": self.error_code,
            "error_message": None,
            "from": self.from_ if self.from_ else assigned_from,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": "0",
            "num_segments": str(self.num_segments),
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {"media": uri.removesuffix(".json") + "/Media.json"},
            "to": self.to,
            "uri": uri,
        }


@dataclass
class Callback:
    """One status callback the fake POSTed."""

    sid: str
    url: str
    params: dict[str, str]
    signature: str
    status: int
    body: str


@dataclass
class WebhookAttempt:
    """One POST of an inbound webhook (retries are further attempts with the same ``sid``)."""

    sid: str
    url: str
    attempt: int
    signature: str | None
    #: HTTP status answered, ``None`` after a timeout or a connection error (see ``error``).
    status: int | None
    error: str | None = None


@dataclass
class _Failure:
    status: int
    code: int
    message: str | None
    remaining: int


class FakeTwilio(VoiceApi, LoopbackServer):
    """Fake Twilio REST server for ``Messages`` (create, fetch, list).

    Args:
        account_sid: ``"AC" + 32 hex``; requests must authenticate with it and ``auth_token``.
        auth_token: also the key status callbacks and inbound webhooks are signed with.
        clock: monotonic clock for :attr:`FakeMessage.created` and throughput.
        enforce_limits: reject (429, code 20429) a create when its sender is over
            ``segments_per_second`` (token bucket per From / MessagingServiceSid, burst = one
            second's worth; a message larger than the burst passes when the bucket is full).
        senders: the account's own numbers, the only From values accepted (others get
            21606); default ``{service_number}``. A From of ``MG...`` means a Messaging Service.
        services: if given, the only Messaging Service SIDs accepted (others get 21701).
        auto_callbacks: after each create with a StatusCallback, post queued, sent and
            delivered in the background (after ``callback_delay`` seconds); :meth:`outcome`
            makes a number end undelivered or failed instead.
        service_number: the From a Messaging Service "assigns" (callbacks, fetch).
        opt_out_keywords: inbound STOP/START keywords (un)subscribe the sender like Twilio.
        webhook_retries: how many times an inbound webhook is sent again after a 5xx, a
            connection error or no answer within ``webhook_timeout`` seconds (Twilio's
            ``#rc=`` with ``#rp=all``; 0 = no retries).
    """

    def __init__(
        self,
        account_sid: str = "AC" + "0" * 32,
        auth_token: str = "test-auth-token",
        clock: Clock | None = None,
        *,
        enforce_limits: bool = False,
        segments_per_second: float = 1.0,
        senders: set[str] | None = None,
        services: set[str] | None = None,
        auto_callbacks: bool = False,
        callback_delay: float = 0.01,
        service_number: str = "+15005550006",
        opt_out_keywords: bool = True,
        webhook_retries: int = 0,
        webhook_timeout: float = 15.0,
        calls_per_second: float = 1.0,
        max_concurrent_calls: int | None = None,
        call_step_delay: float = 0.005,
        talk_seconds: float = 0.0,
    ) -> None:
        super().__init__(clock)
        self._init_voice(
            calls_per_second=calls_per_second,
            max_concurrent_calls=max_concurrent_calls,
            call_step_delay=call_step_delay,
            talk_seconds=talk_seconds,
        )
        if not ACCOUNT_SID_RE.match(account_sid):
            raise ValueError(f"account_sid must be AC + 32 hex digits, got {account_sid!r}")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.validator = RequestValidator(auth_token)
        self.enforce_limits = enforce_limits
        self.segments_per_second = segments_per_second
        self.senders = set(senders) if senders is not None else {service_number}
        self.services = set(services) if services is not None else None
        self.auto_callbacks = auto_callbacks
        self.callback_delay = callback_delay
        self.service_number = service_number
        self.opt_out_keywords = opt_out_keywords
        self.webhook_retries = webhook_retries
        self.webhook_timeout = webhook_timeout

        #: Outbound messages created, in order.
        self.messages: list[FakeMessage] = []
        #: Inbound SMS posted with :meth:`inbound`.
        self.inbound_messages: list[FakeMessage] = []
        #: Status callbacks posted, in order.
        self.callbacks: list[Callback] = []
        #: Every HTTP request: (method, path, form params, HTTP status answered).
        self.requests: list[tuple[str, str, dict[str, str], int]] = []
        #: Number of 429 answers produced by ``enforce_limits``.
        self.rate_limit_violations = 0
        self.unsubscribed: set[str] = set()
        #: Every POST of an inbound webhook, retries included.
        self.webhook_attempts: list[WebhookAttempt] = []

        self._invalid: set[str] = set()
        self._landlines: set[str] = set()
        self._outcomes: dict[str, tuple[str, int | None]] = {}
        self._failures: list[_Failure] = []
        self._buckets: dict[str, tuple[float, float]] = {}
        self._by_sid: dict[str, FakeMessage] = {}
        self._by_to: dict[str, list[FakeMessage]] = {}  # sent_to without a scan of all messages
        self._created_event: asyncio.Event | None = None
        self._seq = itertools.count(1)

    # =========================================================================================
    # Inspection helpers
    # =========================================================================================
    def sent_to(self, number: str) -> list[FakeMessage]:
        """Outbound messages created for ``number`` (E.164), in order."""
        return list(self._by_to.get(number, ()))

    def last_message(self, number: str) -> FakeMessage | None:
        """The last outbound message to ``number`` or ``None``."""
        sent = self.sent_to(number)
        return sent[-1] if sent else None

    def get(self, sid: str) -> FakeMessage:
        """The message with ``sid`` (KeyError if unknown)."""
        return self._by_sid[sid]

    async def wait_sent(
        self,
        number: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[FakeMessage]:
        """Wait until at least ``count`` messages were created for ``number``; return them."""
        async with asyncio.timeout(timeout):
            while len(self.sent_to(number)) < count:
                event = self._created_event = self._created_event or asyncio.Event()
                await event.wait()
        return self.sent_to(number)

    # =========================================================================================
    # Failure injection
    # =========================================================================================
    def unsubscribe(self, number: str) -> None:
        """The recipient texted STOP: creates to it answer 400 code 21610."""
        self.unsubscribed.add(number)

    def resubscribe(self, number: str) -> None:
        """Undo :meth:`unsubscribe` (the recipient texted START)."""
        self.unsubscribed.discard(number)

    def invalid(self, number: str) -> None:
        """Creates to ``number`` answer 400 code 21211 (not a valid phone number)."""
        self._invalid.add(number)

    def landline(self, number: str) -> None:
        """Creates to ``number`` answer 400 code 21614 (not a mobile number)."""
        self._landlines.add(number)

    def outcome(self, number: str, status: str, error_code: int | None = None) -> None:
        """``auto_callbacks`` end messages to ``number`` in ``status`` (e.g. ``undelivered``)."""
        if status not in CALLBACK_SEQUENCES:
            raise ValueError(f"not a final SMS status: {status!r}")
        self._outcomes[number] = (status, error_code)

    def fail_next(
        self,
        status: int = 500,
        code: int | None = None,
        times: int = 1,
        message: str | None = None,
    ) -> None:
        """Make the next ``times`` Messages creates fail with ``status`` and Twilio ``code``.

        ``code`` defaults to 20429 for 429, 20503 for 503, else 20500 for 5xx, 20404 for 404.
        """
        if code is None:
            code = {429: 20429, 503: 20503, 404: 20404, 401: 20003}.get(status, 20500)
        self._failures.append(_Failure(status, code, message, times))

    # =========================================================================================
    # Callbacks and inbound
    # =========================================================================================
    def sign(self, url: str, params: dict[str, str]) -> str:
        """``X-Twilio-Signature`` for a form POST of ``params`` to ``url``."""
        return str(self.validator.compute_signature(url, params))

    async def deliver(
        self, sid: str, status: str = "delivered", error_code: int | None = None
    ) -> int | None:
        """Move message ``sid`` to ``status`` and POST the signed status callback.

        ``failed`` / ``undelivered`` default to error code 30003 (unreachable handset). Returns
        the HTTP status the app answered, or ``None`` if the message has no StatusCallback.
        """
        if status not in MESSAGE_STATUSES:
            raise ValueError(f"not a Twilio message status: {status!r}")
        message = self._by_sid[sid]
        if status in ("failed", "undelivered") and error_code is None:
            error_code = 30003
        now = datetime.now(UTC)
        message.status = status
        message.history.append(status)
        message.error_code = error_code
        message.date_updated = now
        if status in ("sending", "sent", "delivered", "undelivered", "read"):
            message.date_sent = message.date_sent or now
        if not message.status_callback:
            return None
        message.posted.append(status)
        params = {
            "AccountSid": message.account_sid,
            "ApiVersion": API_VERSION,
            "From": message.from_ or self.service_number,
            "MessageSid": message.sid,
            "MessageStatus": status,
            "SmsSid": message.sid,
            "SmsStatus": status,
            "To": message.to,
        }
        if message.messaging_service_sid:
            params["MessagingServiceSid"] = message.messaging_service_sid
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        url = message.status_callback
        signature = self.sign(url, params)
        session = await self.session()
        async with session.post(
            url, data=params, headers={"X-Twilio-Signature": signature}
        ) as resp:
            body = await resp.text()
            self.callbacks.append(Callback(sid, url, params, signature, resp.status, body))
            return resp.status

    async def advance_all(
        self, status: str = "sent", error_code: int | None = None
    ) -> list[int | None]:
        """:meth:`deliver` ``status`` for every outbound message not yet in a final status."""
        await self.drain()
        pending = [m for m in self.messages if m.status not in FINAL_STATUSES]
        return [await self.deliver(m.sid, status, error_code) for m in pending]

    async def progress(
        self, sid: str, final: str = "delivered", error_code: int | None = None
    ) -> list[int | None]:
        """Post the status callbacks Twilio would, in Twilio's order, up to ``final``.

        ``delivered`` posts queued, sent, delivered; ``undelivered`` queued, sent,
        undelivered; ``failed`` queued, failed (``error_code`` defaults to 30003 for the last
        two). Statuses already posted for the message are skipped. Returns the app's answers.
        """
        if final not in CALLBACK_SEQUENCES:
            raise ValueError(f"not a final SMS status: {final!r}")
        message = self._by_sid[sid]
        if message.status in FINAL_STATUSES:
            raise ValueError(f"{sid} is {message.status} already")
        answers = []
        for status in CALLBACK_SEQUENCES[final]:
            if status in message.posted:
                continue
            code = error_code if status == final else None
            answers.append(await self.deliver(sid, status, code))
        return answers

    async def _auto_callbacks(self, sid: str) -> None:
        await asyncio.sleep(self.callback_delay)
        final, code = self._outcomes.get(self._by_sid[sid].to, ("delivered", None))
        await self.progress(sid, final, code)

    async def inbound(
        self,
        app_url: str,
        from_: str,
        body: str,
        to: str | None = None,
        sign: bool = True,
        signature: str | None = None,
        *,
        sign_url: str | None = None,
        extra: dict[str, str] | None = None,
        retries: int | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> tuple[int, str]:
        """POST an inbound-SMS webhook (form-encoded like Twilio) to ``app_url``.

        The signature is computed over ``sign_url`` (default ``app_url``): pass the app's
        public URL there when it differs from the loopback URL. ``signature`` overrides the
        header value; ``sign=False`` omits it. STOP/START keywords (un)subscribe ``from_``
        first, as Twilio does, and add ``OptOutType``. Returns ``(status, response text)`` of
        the last attempt.

        ``retries`` / ``timeout`` override ``webhook_retries`` / ``webhook_timeout``: a 5xx, a
        connection error or no answer within ``timeout`` seconds is retried with the very same
        request (see :attr:`webhook_attempts`). When every attempt timed out or failed to
        connect, the last error is raised.
        """
        to = to or self.service_number
        sid = _sid("SM")
        params = inbound_params(
            account_sid=self.account_sid, from_=from_, to=to, body=body, sid=sid
        )
        keyword = body.strip().upper()
        if self.opt_out_keywords and keyword in OPT_OUT_KEYWORDS:
            self.unsubscribe(from_)
            params["OptOutType"] = "STOP"
        elif self.opt_out_keywords and keyword in OPT_IN_KEYWORDS:
            self.resubscribe(from_)
            params["OptOutType"] = "START"
        params.update(extra or {})
        now = datetime.now(UTC)
        self.inbound_messages.append(
            FakeMessage(
                sid=sid,
                account_sid=self.account_sid,
                to=to,
                from_=from_,
                body=body,
                messaging_service_sid=None,
                status_callback=None,
                num_segments=count_segments(body),
                encoding=sms_encoding(body),
                status="received",
                created=self.clock(),
                date_created=now,
                direction="inbound",
                params=params,
            )
        )
        headers = {"I-Twilio-Idempotency-Token": secrets.token_hex(16)}
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        elif sign:
            headers["X-Twilio-Signature"] = self.sign(sign_url or app_url, params)
        attempts = 1 + (self.webhook_retries if retries is None else retries)
        limit = self.webhook_timeout if timeout is None else timeout
        return await self._post_webhook(sid, app_url, params, headers, attempts, limit)

    async def _post_webhook(
        self,
        sid: str,
        url: str,
        params: dict[str, str],
        headers: dict[str, str],
        attempts: int,
        timeout: float,  # noqa: ASYNC109
    ) -> tuple[int, str]:
        session = await self.session()
        signature = headers.get("X-Twilio-Signature")
        error: BaseException | None = None
        answer: tuple[int, str] | None = None
        for attempt in range(1, attempts + 1):
            try:
                async with asyncio.timeout(timeout):
                    async with session.post(url, data=params, headers=headers) as resp:
                        answer = resp.status, await resp.text()
            except (TimeoutError, aiohttp.ClientError) as exc:
                error, answer = exc, None
                name = "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
                self.webhook_attempts.append(
                    WebhookAttempt(sid, url, attempt, signature, None, name)
                )
                continue
            self.webhook_attempts.append(WebhookAttempt(sid, url, attempt, signature, answer[0]))
            if answer[0] < 500:
                break
        if answer is None:
            assert error is not None
            raise error
        return answer

    # =========================================================================================
    # HTTP plumbing
    # =========================================================================================
    def _routes(self, app: web.Application) -> None:
        base = f"/{API_VERSION}/Accounts/{{account}}"
        app.router.add_post(f"{base}/Messages.json", self._create)
        app.router.add_get(f"{base}/Messages.json", self._list)
        app.router.add_get(f"{base}/Messages/{{sid}}.json", self._fetch)
        self._voice_routes(app, base)
        app.router.add_route("*", "/{tail:.*}", self._not_found)

    def _error(self, exc: TwilioApiError) -> web.Response:
        return web.json_response(exc.body(), status=exc.status)

    def _authenticate(self, request: web.Request) -> None:
        header = request.headers.get("Authorization", "")
        try:
            auth = BasicAuth.decode(header)
        except ValueError:
            raise TwilioApiError(401, 20003) from None
        if auth.login != self.account_sid or auth.password != self.auth_token:
            raise TwilioApiError(401, 20003)
        if request.match_info.get("account") not in (None, self.account_sid):
            raise TwilioApiError(404, 20404, f"The requested resource {request.path} was not found")

    async def _not_found(self, request: web.Request) -> web.Response:
        """Anything the fake does not implement (Queues, ...): Twilio's 404, after the auth check."""
        try:
            self._authenticate(request)
            raise TwilioApiError(404, 20404, f"The requested resource {request.path} was not found")
        except TwilioApiError as exc:
            self.requests.append((request.method, request.path, {}, exc.status))
            return self._error(exc)

    async def _fetch(self, request: web.Request) -> web.Response:
        try:
            self._authenticate(request)
            message = self._by_sid.get(request.match_info["sid"])
            if message is None:
                raise TwilioApiError(
                    404, 20404, f"The requested resource {request.path} was not found"
                )
        except TwilioApiError as exc:
            self.requests.append((request.method, request.path, {}, exc.status))
            return self._error(exc)
        self.requests.append((request.method, request.path, {}, 200))
        return web.json_response(message.resource(self.service_number))

    async def _list(self, request: web.Request) -> web.Response:
        try:
            self._authenticate(request)
        except TwilioApiError as exc:
            self.requests.append((request.method, request.path, {}, exc.status))
            return self._error(exc)
        query = dict(request.query)
        self.requests.append((request.method, request.path, query, 200))
        found = [
            m
            for m in reversed(self.messages + self.inbound_messages)
            if (not query.get("To") or m.to == query["To"])
            and (not query.get("From") or m.from_ == query["From"])
        ]
        page_size = int(query.get("PageSize") or 50)
        uri = (
            f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json?PageSize={page_size}&Page=0"
        )
        page = found[:page_size]
        return web.json_response(
            {
                "messages": [m.resource(self.service_number) for m in page],
                "end": max(len(page) - 1, 0),
                "first_page_uri": uri,
                "next_page_uri": None,
                "page": 0,
                "page_size": page_size,
                "previous_page_uri": None,
                "start": 0,
                "uri": uri,
            }
        )

    async def _create(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        try:
            self._authenticate(request)
            message = self._create_message(form)
        except TwilioApiError as exc:
            self.requests.append((request.method, request.path, form, exc.status))
            return self._error(exc)
        self.requests.append((request.method, request.path, form, 201))
        if self._created_event is not None:
            self._created_event.set()
            self._created_event = None
        if self.auto_callbacks and message.status_callback:
            self._spawn(self._auto_callbacks(message.sid))
        return web.json_response(
            message.resource(),
            status=201,
            headers={"Twilio-Request-Id": _sid("RQ")},
        )

    def _create_message(self, form: dict[str, str]) -> FakeMessage:
        for failure in self._failures:
            if failure.remaining > 0:
                failure.remaining -= 1
                self._failures = [f for f in self._failures if f.remaining > 0]
                raise TwilioApiError(failure.status, failure.code, failure.message)
        to = form.get("To", "").strip()
        from_ = form.get("From", "").strip() or None
        service = form.get("MessagingServiceSid", "").strip() or None
        body = form.get("Body", "")
        if not to:
            raise TwilioApiError(400, 21604)
        if not E164_RE.match(to) or to in self._invalid:
            raise TwilioApiError(400, 21211, to=to)
        if to in self._landlines:
            raise TwilioApiError(400, 21614)
        if from_ is None and service is None:
            raise TwilioApiError(400, 21603)
        if from_ is not None and from_.startswith("MG") and service is None:
            service, from_ = from_, None  # Twilio takes a Messaging Service SID as From too
        if service is not None and not (
            SERVICE_SID_RE.match(service) and (self.services is None or service in self.services)
        ):
            raise TwilioApiError(400, 21701, service=service)
        if from_ is not None:
            valid_from = bool(
                E164_RE.match(from_) or ALPHA_SENDER_RE.match(from_) or SHORT_CODE_RE.match(from_)
            )
            if not valid_from or from_ not in self.senders:
                raise TwilioApiError(400, 21606, from_=from_)
        callback = form.get("StatusCallback")
        if callback and not re.match(r"^https?://[A-Za-z0-9.-]+(:\d+)?(/|$)", callback):
            raise TwilioApiError(400, 21609)
        if not body and not form.get("MediaUrl") and not form.get("ContentSid"):
            raise TwilioApiError(400, 21602)
        if len(body) > MAX_BODY_CHARS:
            raise TwilioApiError(400, 21617)
        if to in self.unsubscribed:
            raise TwilioApiError(400, 21610)
        segments = count_segments(body)
        sender = service or from_ or ""
        self._take_tokens(sender, segments)
        status = "accepted" if service else "queued"
        message = FakeMessage(
            sid=_sid("SM"),
            account_sid=self.account_sid,
            to=to,
            from_=from_,
            body=body,
            messaging_service_sid=service,
            status_callback=form.get("StatusCallback") or None,
            num_segments=segments,
            encoding=sms_encoding(body),
            status=status,
            created=self.clock(),
            date_created=datetime.now(UTC),
            history=[status],
            params=form,
        )
        self.messages.append(message)
        self._by_sid[message.sid] = message
        self._by_to.setdefault(message.to, []).append(message)
        return message

    def _take_tokens(self, sender: str, segments: int) -> None:
        if not self.enforce_limits:
            return
        capacity = max(self.segments_per_second, 1e-9)
        now = self.clock()
        tokens, last = self._buckets.get(sender, (capacity, now))
        tokens = min(capacity, tokens + (now - last) * self.segments_per_second)
        if tokens < min(segments, capacity) - 1e-9:
            self._buckets[sender] = (tokens, now)
            self.rate_limit_violations += 1
            raise TwilioApiError(429, 20429)
        self._buckets[sender] = (tokens - segments, now)
