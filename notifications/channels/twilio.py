"""Twilio, the SMS provider: one protocol file.

* **send**: a :class:`Message` becomes one Messages.create call. The twilio library is told never
  to retry on its own (``max_retries=None``): a retried POST can send an SMS twice, and retries
  belong to the outbox. Create the channel inside a running event loop and ``await close()`` it
  on shutdown.
* **parse**: an inbound SMS webhook becomes an :class:`Inbound`, a status callback a
  :class:`DeliveryUpdate`; :func:`signature_ok` checks either request.
* **ONE error table** (:data:`ERRORS`) serves both the send path and the status callback, so a
  number is unreachable or opted out the same way whichever reports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from config.settings import Settings
from estate.phones import PhoneError, normalise_phone
from notifications.channels.base import PermanentFailure, RetryLater, SendResult, Unreachable
from notifications.channels.limits import SMS_BODY, shorten
from notifications.inbound import ContactEffect, DeliveryUpdate, Inbound, clean_text
from notifications.message import Message
from notifications.segments import count_segments


class ErrorKind(Enum):
    OPTED_OUT = "opted_out"  # the recipient unsubscribed (STOP)
    UNREACHABLE = "unreachable"  # the number cannot get SMS
    RETRY = "retry"  # the provider is busy or failing: try again later


ERRORS: dict[int, ErrorKind] = {
    21610: ErrorKind.OPTED_OUT,  # attempt to send to an unsubscribed recipient
    21211: ErrorKind.UNREACHABLE,  # invalid 'To' number
    21214: ErrorKind.UNREACHABLE,  # 'To' number cannot be reached
    21408: ErrorKind.UNREACHABLE,  # sending to this region is not enabled
    21612: ErrorKind.UNREACHABLE,  # 'To' number not reachable by SMS
    21614: ErrorKind.UNREACHABLE,  # 'To' number is not a mobile number
    30005: ErrorKind.UNREACHABLE,  # unknown destination handset
    30006: ErrorKind.UNREACHABLE,  # landline or unreachable carrier
    20429: ErrorKind.RETRY,  # too many requests
    20500: ErrorKind.RETRY,  # internal server error
    20503: ErrorKind.RETRY,  # service unavailable
    30001: ErrorKind.RETRY,  # queue overflow
    30008: ErrorKind.RETRY,  # unknown error
}

STATUSES = {  # Twilio's MessageStatus -> the outbox's status
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


def error_kind(code: object) -> ErrorKind | None:
    try:
        return ERRORS.get(int(str(code)))
    except ValueError:
        return None


def classify_twilio_error(exc: TwilioRestException) -> Exception:
    code = int(exc.code) if exc.code else None
    reason = f"twilio {code or exc.status}: {exc.msg}"[:300]
    kind = ERRORS.get(code) if code is not None else None
    if kind is ErrorKind.OPTED_OUT:
        return Unreachable(reason, str(code), opted_out=True)
    if kind is ErrorKind.UNREACHABLE:
        return Unreachable(reason, str(code))
    if kind is ErrorKind.RETRY or exc.status == 429 or exc.status >= 500:
        return RetryLater(reason, str(code or exc.status))
    return PermanentFailure(reason, str(code or exc.status))


# ---- parsing webhooks ----------------------------------------------------------------------
def signature_ok(
    auth_token: str | None, url: str, params: Mapping[str, str], signature: str
) -> bool:
    """Twilio's signature over the full request URL and the POSTed parameters."""
    if not signature or not auth_token:
        return False
    return bool(RequestValidator(auth_token).validate(url, dict(params), signature))


def parse_inbound(params: Mapping[str, str], default_region: str) -> Inbound | None:
    """An inbound SMS webhook; None when the sender's number is not a valid phone number."""
    try:
        sender = normalise_phone(params.get("From", ""), default_region)
    except PhoneError:
        return None
    body = clean_text(params.get("Body", "")) or ""
    provider_opted_out = params.get("OptOutType", "").upper() == "STOP"
    if provider_opted_out:
        # Twilio has already blocked this number and confirmed it (its opt-out words include
        # CANCEL, END, QUIT … which mean something else to us): mirror the opt-out so staff
        # see it, and send no confirmation of our own (Twilio would refuse it with 21610).
        body = "STOP"
    return Inbound(
        channel="sms",
        address=sender,
        text=body,
        provider_opted_out=provider_opted_out,
        id=params.get("MessageSid") or params.get("SmsSid") or None,
    )


def parse_status(params: Mapping[str, str]) -> DeliveryUpdate | None:
    """A status callback; None when it names no message or a status we do not track."""
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    status = STATUSES.get((params.get("MessageStatus") or params.get("SmsStatus") or "").lower())
    if not sid or status is None:
        return None
    code = params.get("ErrorCode") or None
    kind = error_kind(code) if code else None
    effect = {
        ErrorKind.OPTED_OUT: ContactEffect.OPTED_OUT,
        ErrorKind.UNREACHABLE: ContactEffect.UNREACHABLE,
    }.get(kind, ContactEffect.NONE)  # type: ignore[arg-type]
    return DeliveryUpdate(provider_id=sid, status=status, error_code=code, effect=effect)


# ---- sending -------------------------------------------------------------------------------
class TwilioSmsChannel:
    name = "sms"

    def __init__(self, settings: Settings, *, timeout: float = 15.0) -> None:
        if not settings.sms_enabled:
            raise ValueError("SMS is off: set LOUZHANG_TWILIO_ACCOUNT_SID, _AUTH_TOKEN and _FROM")
        self.http = AsyncTwilioHttpClient(timeout=timeout)  # max_retries=None: no retries
        self.client = Client(
            settings.twilio_account_sid, settings.twilio_auth_token, http_client=self.http
        )
        self.client.api.base_url = settings.twilio_api_url.rstrip("/")
        self.sender = settings.twilio_from or ""
        public = (settings.public_url or "").rstrip("/")
        self.status_callback = f"{public}/twilio/status" if public else None

    def sender_key(self) -> str:
        return f"sms:{self.sender}"

    def cost(self, message: Message) -> int:
        return count_segments(message.text).segments

    async def send(self, address: str, message: Message) -> SendResult:
        # Over 1600 characters Twilio refuses the body (21617): the outbox split the message
        # when it was enqueued; a row from before that is shortened rather than refused.
        kwargs: dict[str, Any] = {"to": address, "body": shorten(message.text, SMS_BODY)}
        if self.sender.startswith("MG"):
            kwargs["messaging_service_sid"] = self.sender
        else:
            kwargs["from_"] = self.sender
        if self.status_callback:
            kwargs["status_callback"] = self.status_callback
        try:
            created = await self.client.messages.create_async(**kwargs)
        except TwilioRestException as exc:
            raise classify_twilio_error(exc) from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise RetryLater(f"twilio network: {type(exc).__name__}", "network") from exc
        return SendResult(
            provider_id=created.sid,
            status=str(created.status or "queued"),
            segments=int(created.num_segments or 1),
        )

    async def close(self) -> None:
        await self.http.close()
