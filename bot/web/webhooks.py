"""Twilio webhooks: inbound SMS (``POST /twilio/sms``) and delivery status (``POST /twilio/status``).

Both are checked with twilio's RequestValidator over ``LOUZHANG_PUBLIC_URL + path``; a bad or
missing signature gets 403 and changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from aiohttp import web
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from bot.router import Router
from config.settings import Settings
from estate.models import Contact
from estate.phones import PhoneError, mask_phone, normalise_phone
from notifications.inbound import Inbound
from notifications.models import OutboxMessage
from notifications.states import STATUS_ORDER

log = logging.getLogger(__name__)

TWILIO_STATUSES = {
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
EARLY_CALLBACK_RETRIES = (0.05, 0.2, 0.5)
OPTED_OUT_ERRORS = {"21610"}
UNREACHABLE_ERRORS = {"30005", "30006", "21211", "21614"}


def signature_ok(settings: Settings, request: web.Request, params: Mapping[str, str]) -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not settings.twilio_auth_token:
        return False
    base = (settings.public_url or f"{request.scheme}://{request.host}").rstrip("/")
    url = base + request.path_qs
    return bool(RequestValidator(settings.twilio_auth_token).validate(url, dict(params), signature))


def twiml(reply: str | None = None) -> web.Response:
    response = MessagingResponse()
    if reply:
        response.message(reply)
    return web.Response(text=str(response), content_type="application/xml")


class TwilioWebhooks:
    def __init__(self, settings: Settings, router: Router) -> None:
        self.settings = settings
        self.router = router

    async def sms(self, request: web.Request) -> web.Response:
        params = {k: str(v) for k, v in (await request.post()).items()}
        if not signature_ok(self.settings, request, params):
            log.warning("twilio inbound with a bad or missing signature refused")
            return web.Response(status=403, text="invalid signature")
        raw_from = params.get("From", "")
        try:
            sender = normalise_phone(raw_from, self.settings.default_region)
        except PhoneError:
            log.info("inbound sms from an invalid number ignored")
            return twiml()
        body = params.get("Body", "")
        provider_opted_out = params.get("OptOutType", "").upper() == "STOP"
        if provider_opted_out:
            # Twilio has already blocked this number and confirmed it (its opt-out words include
            # CANCEL, END, QUIT … which mean something else to us): mirror the opt-out so staff
            # see it, and send no confirmation of our own (Twilio would refuse it with 21610).
            body = "STOP"
        routed = await self.router.handle(
            Inbound(
                channel="sms",
                address=sender,
                text=body,
                provider_opted_out=provider_opted_out,
                id=params.get("MessageSid") or None,
            )
        )
        log.debug("sms from %s routed", mask_phone(sender))
        return twiml(routed.direct_reply)

    async def _message(self, sid: str) -> OutboxMessage | None:
        """The outbox row of a Twilio message. A callback can beat the dispatcher's record of
        the sid it was just given (the record is written right after the API call returns), so
        an unknown sid is looked up again briefly before the callback is dropped."""
        for delay in EARLY_CALLBACK_RETRIES:
            row = await OutboxMessage.get_or_none(provider_id=sid)
            if row is not None:
                return row
            await asyncio.sleep(delay)
        return await OutboxMessage.get_or_none(provider_id=sid)

    async def status(self, request: web.Request) -> web.Response:
        params = {k: str(v) for k, v in (await request.post()).items()}
        if not signature_ok(self.settings, request, params):
            log.warning("twilio status callback with a bad or missing signature refused")
            return web.Response(status=403, text="invalid signature")
        sid = params.get("MessageSid") or params.get("SmsSid") or ""
        status = TWILIO_STATUSES.get(
            (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
        )
        row = await self._message(sid) if sid else None
        if row is None or status is None:
            return web.Response(status=204)
        error_code = params.get("ErrorCode") or None
        rank = STATUS_ORDER.get(status, 0)
        if rank > STATUS_ORDER.get(row.status, 0):
            # A status only moves forwards; late or repeated callbacks change nothing. The
            # condition is checked by the UPDATE itself: callbacks for one message arrive
            # concurrently (sent and delivered close together) and the later one must not be
            # dropped because the earlier one changed the row since it was read.
            earlier = [name for name, order in STATUS_ORDER.items() if order < rank]
            changes: dict[str, object] = {"status": status, "updated_at": self.router.clock.now()}
            if error_code:
                changes["error_code"] = error_code
            updated = await OutboxMessage.filter(id=row.id, status__in=earlier).update(**changes)
            contact_id: int | None = row.contact_id  # type: ignore[attr-defined]
            if updated and error_code and contact_id:
                if error_code in OPTED_OUT_ERRORS:
                    await Contact.filter(id=contact_id).update(
                        status="opted_out", status_reason=error_code
                    )
                elif error_code in UNREACHABLE_ERRORS:
                    await Contact.filter(id=contact_id).update(
                        status="unreachable", status_reason=error_code
                    )
        return web.Response(status=204)
