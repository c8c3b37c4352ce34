"""notifications/channels/twilio.py: one error table for sends and status callbacks, and the
webhook parameters parsed into neutral objects."""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException

from notifications.channels.base import PermanentFailure, RetryLater, Unreachable
from notifications.channels.twilio import classify_twilio_error, parse_inbound, parse_status
from notifications.inbound import ContactEffect


@pytest.mark.parametrize(
    ("code", "effect"),
    [
        ("21610", ContactEffect.OPTED_OUT),
        ("21211", ContactEffect.UNREACHABLE),
        ("21214", ContactEffect.UNREACHABLE),
        ("21408", ContactEffect.UNREACHABLE),
        ("21612", ContactEffect.UNREACHABLE),
        ("21614", ContactEffect.UNREACHABLE),
        ("30005", ContactEffect.UNREACHABLE),
        ("30006", ContactEffect.UNREACHABLE),
        ("30003", ContactEffect.NONE),  # handset off: try again later, the number is fine
        ("30008", ContactEffect.NONE),
        (None, ContactEffect.NONE),
    ],
)
def test_a_code_means_the_same_on_send_and_on_callback(
    code: str | None, effect: ContactEffect
) -> None:
    params = {"MessageSid": "SM1", "MessageStatus": "undelivered"}
    if code:
        params["ErrorCode"] = code
    update = parse_status(params)
    assert update is not None
    assert (update.provider_id, update.status, update.error_code) == ("SM1", "undelivered", code)
    assert update.effect is effect
    if code is None:
        return
    error = classify_twilio_error(TwilioRestException(400, "https://x", "msg", code=int(code)))
    if effect is ContactEffect.OPTED_OUT:
        assert isinstance(error, Unreachable) and error.opted_out
    elif effect is ContactEffect.UNREACHABLE:
        assert isinstance(error, Unreachable) and not error.opted_out
    else:
        assert not isinstance(error, Unreachable)


def test_send_errors_without_a_contact_meaning() -> None:
    def classify(status: int, code: int | None) -> Exception:
        return classify_twilio_error(TwilioRestException(status, "https://x", "m", code=code))

    assert isinstance(classify(429, 20429), RetryLater)
    assert isinstance(classify(503, None), RetryLater)
    assert isinstance(classify(400, 21602), PermanentFailure)  # body missing: this message only


def test_status_callbacks_without_a_message_or_a_known_status_are_ignored() -> None:
    assert parse_status({"MessageStatus": "delivered"}) is None
    assert parse_status({"MessageSid": "SM1", "MessageStatus": "teleported"}) is None
    update = parse_status({"SmsSid": "SM2", "SmsStatus": "Canceled"})
    assert update is not None and update.status == "cancelled"


def test_inbound_sms() -> None:
    inbound = parse_inbound({"From": "13812345678", "Body": "1"}, "CN")
    assert inbound is not None
    assert (inbound.channel, inbound.address, inbound.text) == ("sms", "+8613812345678", "1")
    assert not inbound.provider_opted_out
    stopped = parse_inbound({"From": "+8613812345678", "Body": "END", "OptOutType": "STOP"}, "CN")
    assert stopped is not None and stopped.text == "STOP" and stopped.provider_opted_out
    assert parse_inbound({"From": "not a number", "Body": "1"}, "CN") is None
