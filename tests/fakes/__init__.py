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
from tests.fakes.twilio_voice import CallPlan, FakeCall

__all__ = [
    "Call",
    "CallPlan",
    "Callback",
    "Delivery",
    "FakeCall",
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
