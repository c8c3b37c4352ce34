"""The Twilio SMS adapter against the fake Twilio (notifications/channels/twilio.py).

Promises:
- SMS cannot be switched on without the account, token and sender: the refusal says what to set;
- a send goes to the number from our sender number, with its text, and asks for status
  callbacks at the public URL (no callbacks without one); the result carries Twilio's message
  id, status and segment count;
- a message is counted in SMS segments for the rate limit, on the sender it is sent from;
- a network failure is retried later, named after the failure.
"""

from __future__ import annotations

from typing import Any

import pytest

from notifications.channels.base import RetryLater
from notifications.channels.twilio import TwilioSmsChannel
from notifications.message import Message
from tests.conftest import make_settings
from tests.fakes.twilio import FakeTwilio

SID = "AC" + "1" * 32
TO = "+8613812345678"


def settings_for(tw: FakeTwilio | None, **more: Any) -> Any:
    return make_settings(
        twilio_account_sid=SID,
        twilio_auth_token="tok",
        twilio_from=tw.service_number if tw else "+15005550006",
        twilio_api_url=f"{tw.url}/" if tw else "http://127.0.0.1:9/",
        **more,
    )


def test_sms_cannot_be_on_without_account_token_and_sender() -> None:
    with pytest.raises(ValueError) as refused:
        TwilioSmsChannel(make_settings(twilio_account_sid=SID, twilio_auth_token="tok"))
    assert str(refused.value) == (
        "SMS is off: set LOUZHANG_TWILIO_ACCOUNT_SID, _AUTH_TOKEN and _FROM"
    )


async def test_a_send_reaches_the_number_and_asks_for_callbacks() -> None:
    async with FakeTwilio(account_sid=SID, auth_token="tok") as tw:
        channel = TwilioSmsChannel(settings_for(tw, public_url="https://bot.example/"))
        try:
            result = await channel.send(TO, Message("你好 hello " * 10))
        finally:
            await channel.close()
        (message,) = tw.sent_to(TO)
    assert (message.from_, message.messaging_service_sid) == (tw.service_number, None)
    assert message.body == "你好 hello " * 10 and message.num_segments == 2
    assert message.status_callback == "https://bot.example/twilio/status"
    assert (result.provider_id, result.status, result.segments) == (
        message.sid,
        "queued",
        message.num_segments,
    )
    assert channel.sender_key() == f"sms:{tw.service_number}"
    assert channel.cost(Message("x" * 161)) == 2 and channel.cost(Message("x")) == 1


async def test_without_a_public_url_no_callbacks_are_asked_for() -> None:
    async with FakeTwilio(account_sid=SID, auth_token="tok") as tw:
        channel = TwilioSmsChannel(settings_for(tw, public_url=None))
        try:
            await channel.send(TO, Message("hi"))
        finally:
            await channel.close()
        (message,) = tw.sent_to(TO)
    assert message.status_callback is None


async def test_a_network_failure_is_retried_later() -> None:
    channel = TwilioSmsChannel(settings_for(None), timeout=2.0)
    try:
        with pytest.raises(RetryLater) as caught:
            await channel.send(TO, Message("hi"))
    finally:
        await channel.close()
    assert caught.value.code == "network"
    assert caught.value.reason == f"twilio network: {type(caught.value.__cause__).__name__}"
    assert isinstance(caught.value.__cause__, OSError)
