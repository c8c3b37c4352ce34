"""Answers no survey expects: a 5,000-digit "number" by SMS or Telegram.

Promises (surveys/engine/answers.py, surveys/runtime.py):
- a number with more than 15 digits before or after the point is refused as too long / out of
  range, in the resident's language (zh-CN or en), and the question is asked again; nothing is
  stored and the resident never sees "something went wrong";
- the same for a 5,000-digit reply to a yes/no or choice question (asked again, no error);
- the refusal is logged with the rule that refused it (the constraint message), never with the
  answer's text or the resident's number;
- an answer that makes the engine fail is logged at WARNING with the exception's type.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

import surveys.engine.walk as walk
from bot.app import Services, build_services
from config.clock import FakeClock
from estate.models import Building, Contact, Estate, Household
from notifications.inbound import Inbound
from notifications.models import OutboxMessage
from surveys.engine.answers import parse_decimal, parse_integer
from surveys.models import Response
from tests.conftest import make_settings

PHONE = "+8613800138000"
CHAT = "7001"
HUGE = "9" * 5000


async def _setup(db: str, channel: str, address: str, language: str) -> tuple[Services, Contact]:
    estate = await Estate.create(name="t")
    building = await Building.create(estate=estate, number=1, floors=6)
    household = await Household.create(building=building, floor=3, room="301")
    contact = await Contact.create(
        household=household, channel=channel, address=address, language=language
    )
    services = build_services(make_settings(database_url=db), clock=FakeClock())
    await services.runtime.open_round("antigen", buildings=[1])
    return services, contact


async def _say(services: Services, channel: str, address: str, text: str) -> str:
    await services.router.handle(Inbound(channel=channel, address=address, text=text))
    last = await OutboxMessage.filter(address=address).order_by("-id").first()
    assert last is not None
    return str(last.body["text"])


def test_parsers_refuse_numbers_that_are_too_long() -> None:
    for text in (HUGE, "1" * 16, "9" * 400 + ".5", "1." + "1" * 16, "-" + HUGE):
        assert parse_integer(text).reason == "number_too_long", text[:20]
        assert parse_decimal(text).reason == "number_too_long", text[:20]
    assert parse_integer("0000" + "9" * 15).value == 10**15 - 1  # leading zeros do not count
    assert parse_decimal("1." + "5" * 15).ok


@pytest.mark.parametrize(
    ("channel", "address", "language", "words"),
    [
        ("sms", PHONE, "en", "too long"),
        ("telegram", CHAT, "zh-CN", "数字太长"),
    ],
)
async def test_a_5000_digit_answer_is_refused_clearly_and_logged_without_the_answer(
    db: str,
    caplog: pytest.LogCaptureFixture,
    channel: str,
    address: str,
    language: str,
    words: str,
) -> None:
    services, _ = await _setup(db, channel, address, language)
    # A 5,000-digit reply to the yes/no question: asked again, no error.
    again = await _say(services, channel, address, HUGE)
    assert "wrong" not in again and "出错" not in again
    await _say(services, channel, address, "1" if channel == "sms" else "是")
    before: dict[str, Any] = (await Response.get()).answers or {}
    with caplog.at_level(logging.INFO):
        reply = await _say(services, channel, address, HUGE)
    assert words in reply
    assert "wrong" not in reply and "出错" not in reply
    assert ((await Response.get()).answers or {}) == before  # nothing stored
    await _say(services, channel, address, "3")  # then an ordinary answer is taken
    assert (await Response.get()).answers["tested"] == 3
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "answer to tested refused: That number is too long" in logged
    assert "9" * 16 not in logged and PHONE not in logged and PHONE[-8:] not in logged


async def test_an_engine_failure_is_logged_with_its_type(
    db: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    services, _ = await _setup(db, "sms", PHONE, "en")

    def broken(*args: object, **kwargs: object) -> None:
        raise OverflowError("the answer 12345 was too much")

    monkeypatch.setattr(walk, "_handle_active", broken)
    with caplog.at_level(logging.INFO):
        reply = await _say(services, "sms", PHONE, "12345")
    assert "went wrong" in reply
    (record,) = [r for r in caplog.records if "survey engine failed" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert record.getMessage().endswith("(OverflowError)") and "12345" not in record.getMessage()
