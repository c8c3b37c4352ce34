"""Twilio SMS gateway: a :class:`Message` becomes one Messages.create call.

The twilio library is told never to retry on its own (``max_retries=None``): a retried POST can
send an SMS twice, and retries belong to the outbox. Create the channel inside a running event
loop and ``await close()`` it on shutdown.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from config.settings import Settings
from notifications.channels.base import PermanentFailure, RetryLater, SendResult, Unreachable
from notifications.channels.limits import SMS_BODY, shorten
from notifications.message import Message
from notifications.segments import count_segments

OPTED_OUT_CODES = {21610}
UNREACHABLE_CODES = {21211, 21214, 21612, 21614, 21408}
RETRY_CODES = {20429, 20500, 20503, 30001, 30008}


def classify_twilio_error(exc: TwilioRestException) -> Exception:
    code = int(exc.code) if exc.code else None
    reason = f"twilio {code or exc.status}: {exc.msg}"[:300]
    if code in OPTED_OUT_CODES:
        return Unreachable(reason, str(code), opted_out=True)
    if code in UNREACHABLE_CODES:
        return Unreachable(reason, str(code))
    if code in RETRY_CODES or exc.status == 429 or exc.status >= 500:
        return RetryLater(reason, str(code or exc.status))
    return PermanentFailure(reason, str(code or exc.status))


class TwilioSmsChannel:
    name = "sms"

    def __init__(self, settings: Settings, *, timeout: float = 15.0) -> None:
        if not settings.sms_enabled:
            raise ValueError("SMS is off: set LOUZHANG_TWILIO_ACCOUNT_SID, _AUTH_TOKEN and _FROM")
        self.settings = settings
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
