"""Bodies no provider sends: a Twilio webhook whose form body is not UTF-8.

Promises (bot/web/webhooks.py):
- a body that is not UTF-8 on ``/twilio/sms`` or ``/twilio/status`` never reaches a 500: it is
  refused with 403 when the signature does not match it, and with 400 when it does (only Twilio
  could have signed it), and the refusal says which ("invalid signature" / "the body is not
  UTF-8 form data");
- the signature of such a body is checked over every parameter as sent: blank ones included,
  and escapes that are not UTF-8 read leniently like the raw bytes;
- either way nothing is routed, marked as seen or recorded.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from twilio.request_validator import RequestValidator

from notifications.models import InboundSeen, OutboxMessage
from tests.bot.web.test_twilio_webhooks import PUBLIC, TOKEN, contact, message, serve

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _bodies(sid: str) -> dict[str, bytes]:
    return {
        "/twilio/sms": b"MessageSid=SMbad1&From=%2B8613800138000&To=&Body=\xff\xfe%FF\xb0\xa1",
        "/twilio/status": f"MessageSid={sid}&MessageStatus=failed&ErrorCode=\xff".encode("latin-1"),
    }


def _signature(path: str, body: bytes) -> str:
    """What the sender would sign: the parameters as they read when decoded leniently."""
    text = body.decode("utf-8", errors="replace")
    params = dict(parse_qsl(text, keep_blank_values=True, errors="replace"))
    return str(RequestValidator(TOKEN).compute_signature(PUBLIC + path, params))


@pytest.mark.parametrize("path", ["/twilio/sms", "/twilio/status"])
async def test_a_body_that_is_not_utf8_is_refused_cleanly_and_changes_nothing(
    db: str, path: str
) -> None:
    row = await message("sent", to=await contact())
    body = _bodies(row.provider_id or "")[path]
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    async with serve() as served:
        for signature, expected in (
            ("", (403, "invalid signature")),
            ("bm90IGEgc2lnbmF0dXJl", (403, "invalid signature")),
            (_signature(path, body), (400, "the body is not UTF-8 form data")),
        ):
            headers = {**FORM, "X-Twilio-Signature": signature} if signature else FORM
            async with served.client.post(path, data=body, headers=headers) as resp:
                assert (resp.status, await resp.text()) == expected, signature
        # A well-formed request on the same app is still handled (nothing got stuck).
        good = {"From": "+8613800138000", "Body": "1"}
        status, _ = await served.post("/twilio/sms", good)
        assert status == 200
    assert len(served.router.seen) == 1  # only the good one
    assert await InboundSeen.all().count() == 0
    fresh = await OutboxMessage.get(id=row.id)
    assert (fresh.status, fresh.error_code) == ("sent", None)
