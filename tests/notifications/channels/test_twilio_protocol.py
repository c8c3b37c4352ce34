"""notifications/channels/twilio.py: one error table for sends and status callbacks, and the
webhook parameters parsed into neutral objects.

Promises:
- a code means the same on a send and on a status callback (opted out, unreachable, or not
  about the contact);
- a send error says what failed: "twilio <code or HTTP status>: <Twilio's message>", at most
  300 characters, with that code; Twilio's busy codes, 429 and 5xx are retried, other errors
  fail this message only;
- every Twilio message status maps to the outbox's status, whatever its case; callbacks
  without a message id or with an unknown status are ignored;
- an inbound SMS keeps its sender (read in the estate's region), text and MessageSid (SmsSid of older callbacks); a
  provider opt-out (any case) is recorded as STOP;
- a request is genuine only with a signature over its URL and parameters by our auth token.
"""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from notifications.channels.base import PermanentFailure, RetryLater, Unreachable
from notifications.channels.twilio import (
    classify_twilio_error,
    parse_inbound,
    parse_status,
    signature_ok,
)
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


def classify(status: int, code: int | None, msg: str = "m") -> Exception:
    return classify_twilio_error(TwilioRestException(status, "https://x", msg, code=code))


@pytest.mark.parametrize(
    ("status", "code", "kind", "reason", "error_code"),
    [
        (400, 21610, Unreachable, "twilio 21610: m", "21610"),
        (400, 21211, Unreachable, "twilio 21211: m", "21211"),
        (400, 20429, RetryLater, "twilio 20429: m", "20429"),
        (400, 20500, RetryLater, "twilio 20500: m", "20500"),
        (400, 20503, RetryLater, "twilio 20503: m", "20503"),
        (400, 30001, RetryLater, "twilio 30001: m", "30001"),
        (400, 30008, RetryLater, "twilio 30008: m", "30008"),
        (429, None, RetryLater, "twilio 429: m", "429"),
        (500, None, RetryLater, "twilio 500: m", "500"),
        (499, None, PermanentFailure, "twilio 499: m", "499"),
        (428, None, PermanentFailure, "twilio 428: m", "428"),
        (430, None, PermanentFailure, "twilio 430: m", "430"),
        (400, 21602, PermanentFailure, "twilio 21602: m", "21602"),
    ],
)
def test_a_send_error_says_what_failed(
    status: int, code: int | None, kind: type, reason: str, error_code: str
) -> None:
    error = classify(status, code)
    assert type(error) is kind
    assert (error.reason, error.code) == (reason, error_code)  # type: ignore[attr-defined]
    assert str(error) == reason


def test_a_long_error_message_is_cut_to_300_characters() -> None:
    error = classify(400, 21602, "x" * 400)
    assert error.reason == ("twilio 21602: " + "x" * 400)[:300]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("twilio", "ours"),
    [
        ("queued", "accepted"),
        ("accepted", "accepted"),
        ("scheduled", "accepted"),
        ("sending", "accepted"),
        ("sent", "sent"),
        ("delivered", "delivered"),
        ("read", "delivered"),
        ("undelivered", "undelivered"),
        ("failed", "failed"),
        ("canceled", "cancelled"),
        ("DELIVERED", "delivered"),
    ],
)
def test_every_twilio_status_maps_to_the_outbox(twilio: str, ours: str) -> None:
    update = parse_status({"MessageSid": "SM1", "MessageStatus": twilio})
    assert update is not None
    assert (update.provider_id, update.status, update.error_code) == ("SM1", ours, None)
    assert update.effect is ContactEffect.NONE
    older = parse_status({"SmsSid": "SM2", "SmsStatus": twilio, "ErrorCode": ""})
    assert older is not None and (older.provider_id, older.status) == ("SM2", ours)
    assert older.error_code is None


def test_a_callback_with_an_unreadable_error_code_has_no_contact_effect() -> None:
    update = parse_status({"MessageSid": "SM1", "MessageStatus": "failed", "ErrorCode": "x1"})
    assert update is not None and update.error_code == "x1"
    assert update.effect is ContactEffect.NONE
    assert parse_status({"MessageSid": "", "MessageStatus": "sent"}) is None
    assert parse_status({"MessageSid": "SM1"}) is None


def test_an_inbound_sms_keeps_its_id_and_text() -> None:
    inbound = parse_inbound({"From": "+8613812345678", "Body": "a\x00b", "MessageSid": "SM7"}, "CN")
    assert inbound is not None and (inbound.text, inbound.id) == ("ab", "SM7")
    older = parse_inbound({"From": "+8613812345678", "SmsSid": "SM8"}, "CN")
    assert older is not None and (older.text, older.id) == ("", "SM8")
    assert not older.provider_opted_out
    bare = parse_inbound({"From": "+8613812345678", "Body": "hi"}, "CN")
    assert bare is not None and bare.id is None
    stopped = parse_inbound({"From": "+8613812345678", "Body": "quit", "OptOutType": "stop"}, "CN")
    assert stopped is not None and (stopped.text, stopped.provider_opted_out) == ("STOP", True)
    started = parse_inbound({"From": "+8613812345678", "Body": "1", "OptOutType": "START"}, "CN")
    assert started is not None and (started.text, started.provider_opted_out) == ("1", False)
    assert parse_inbound({"Body": "1"}, "CN") is None
    local = parse_inbound({"From": "2025550123", "Body": "1"}, "US")  # the estate's region
    assert local is not None and local.address == "+12025550123"


def test_only_a_request_signed_with_our_token_is_genuine() -> None:
    url, params = "https://bot.example/twilio/sms", {"From": "+8613812345678", "Body": "1"}
    good = RequestValidator("token").compute_signature(url, params)
    assert signature_ok("token", url, params, good) is True
    assert signature_ok("other", url, params, good) is False
    assert signature_ok("token", url, {**params, "Body": "2"}, good) is False
    assert signature_ok("token", url, params, "") is False
    assert signature_ok(None, url, params, good) is False
    assert signature_ok("", url, params, good) is False
