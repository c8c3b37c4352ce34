"""Fake Telegram Bot API and Twilio REST servers on loopback (see DESIGN.md, "Tests")."""

from tests.fakes.recorder import Recorded, Recorder
from tests.fakes.telegram import Call, Delivery, FakeTelegram, TelegramApiError
from tests.fakes.twilio import (
    Callback,
    FakeMessage,
    FakeTwilio,
    TwilioApiError,
    count_segments,
    sms_encoding,
)

__all__ = [
    "Call",
    "Callback",
    "Delivery",
    "FakeMessage",
    "FakeTelegram",
    "FakeTwilio",
    "Recorded",
    "Recorder",
    "TelegramApiError",
    "TwilioApiError",
    "count_segments",
    "sms_encoding",
]
