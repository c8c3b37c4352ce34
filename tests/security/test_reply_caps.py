"""Two auto-responders cannot ping-pong with us forever (bot/router.py, notifications/reply_cap.py).

Promises, on a fake clock:
- an SMS number gets at most 5 automatic replies in any hour: questions asked again with an
  error, "nothing is open", HELP, a call-up's options again, an acknowledged free question;
- beyond the cap its messages are still handled (an answer still counts) and the survey's own
  next question still goes; only the automatic answers stop;
- when the cap hits, one WARNING names the number masked, never in full;
- an hour later the number is answered again; other numbers are never affected.
"""

from __future__ import annotations

import logging

import pytest

from bot.app import Services, build_services
from config.clock import FakeClock
from estate.models import Building, Contact, Estate, Household
from notifications.inbound import Inbound
from notifications.models import OutboxMessage
from notifications.reply_cap import AUTO_REPLIES, WINDOW, ReplyCap
from surveys.models import Response
from tests.conftest import make_settings

PHONE = "+8613800138000"
OTHER = "+8613800138001"
DRIVING = "I'm driving right now - I'll get back to you later."


async def _setup(db: str, *, survey: bool = True) -> tuple[Services, FakeClock]:
    estate = await Estate.create(name="t")
    building = await Building.create(estate=estate, number=1, floors=6)
    for n, phone in enumerate((PHONE, OTHER)):
        household = await Household.create(building=building, floor=3, room=f"30{n}")
        await Contact.create(household=household, channel="sms", address=phone, language="en")
    clock = FakeClock()
    services = build_services(make_settings(database_url=db), clock=clock)
    if survey:
        await services.runtime.open_round("antigen", buildings=[1])
    return services, clock


async def _texts(phone: str) -> list[str]:
    rows = await OutboxMessage.filter(address=phone).order_by("id")
    return [str(r.body["text"]) for r in rows]


async def _sms(services: Services, phone: str, text: str) -> None:
    await services.router.handle(Inbound(channel="sms", address=phone, text=text))


def test_the_cap_counts_a_sliding_window() -> None:
    cap = ReplyCap(limit=2, window=60)
    assert cap.allowed("a", 0) and not cap.spend("a", 0)
    assert cap.spend("a", 10)  # the second one uses the window up
    assert not cap.allowed("a", 59) and cap.allowed("b", 59)
    assert not cap.allowed("a", 60 - 1e-9)
    assert cap.allowed("a", 60)  # the first one left the window
    assert (AUTO_REPLIES, WINDOW) == (5, 3600.0)


async def test_an_auto_responder_gets_at_most_five_replies_an_hour(
    db: str, caplog: pytest.LogCaptureFixture
) -> None:
    services, clock = await _setup(db, survey=False)
    with caplog.at_level(logging.INFO):
        for _ in range(40):  # their phone answers every message we send; ours would too
            await _sms(services, PHONE, DRIVING)
            clock.advance(5)
    assert len(await _texts(PHONE)) == AUTO_REPLIES
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "+86 138****8000" in warnings[0].getMessage()
    assert PHONE not in caplog.text and DRIVING not in caplog.text
    # Another number is answered as usual.
    await _sms(services, OTHER, DRIVING)
    assert len(await _texts(OTHER)) == 1
    # An hour after the first automatic reply, the number is answered again.
    clock.advance(WINDOW - 40 * 5)
    await _sms(services, PHONE, DRIVING)
    assert len(await _texts(PHONE)) == AUTO_REPLIES + 1


async def test_when_capped_an_answer_still_counts_and_gets_the_next_question(db: str) -> None:
    services, clock = await _setup(db)
    assert len(await _texts(PHONE)) == 1  # the survey's first question
    for _ in range(AUTO_REPLIES + 3):
        await _sms(services, PHONE, "HELP")
        clock.advance(5)
    before = await _texts(PHONE)
    await _sms(services, PHONE, DRIVING)  # refused, and not answered any more
    assert await _texts(PHONE) == before
    await _sms(services, PHONE, "1")  # yes, tested today: taken, and the next question goes
    response = await Response.get(household__contacts__address=PHONE)
    assert response.answers == {"tested_today": "yes"}
    after = await _texts(PHONE)
    assert len(after) == len(before) + 1 and "How many" in after[-1]


async def test_outside_a_survey_nothing_open_and_help_are_capped_too(db: str) -> None:
    services, clock = await _setup(db, survey=False)
    for n in range(30):
        await _sms(services, PHONE, "HELP" if n % 2 else DRIVING)
        clock.advance(1)
    assert len(await _texts(PHONE)) == AUTO_REPLIES
    await _sms(services, PHONE, "STOP")  # an opt-out is always confirmed
    texts = await _texts(PHONE)
    assert len(texts) == AUTO_REPLIES + 1
