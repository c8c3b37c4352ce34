"""End to end over SMS: the real app on loopback, the real twilio client talking to FakeTwilio,
signed webhooks posted back. Covers the SMS-only elderly household answering `antigen` with
typed replies, keywords (STOP/START/HELP/返回), forged signatures, unknown numbers, send errors
(21610, 21211) and one household answering from Telegram and SMS. Delivery status callbacks are
in test_twilio_status.py (which reuses `running_app` and the helpers here)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.app import build_services
from bot.web.app import create_app
from estate.importing.residents import import_residents
from estate.models import Contact, Household
from notifications.models import OutboxMessage
from surveys.models import Response, Revision
from surveys.report import build_report
from tests.conftest import free_port, make_settings
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import FakeTwilio
from tests.waiting import wait_for

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "sms-e2e-auth-token"
SENDER = "+15005550006"

# One household per building so each test opens a round for exactly the households it needs.
CSV = (
    "\ufeffbuilding,floor,room,name,phone,birth_year,channel,language,home_bound,notes\r\n"
    "8,3,302,张伯,136 0013 6000,1940,sms,,yes,独居\r\n"
    "9,2,201,李婆婆,137 0013 7001,1942,SMS,,,\r\n"
    "10,4,401,陈伯,13700137002,1938,sms,,,\r\n"
    "10,4,402,周阿姨,13700137003,1941,sms,,,\r\n"
    "11,5,501,王芳,138 0013 8000,1980,telegram,,,\r\n"
)
ZHANG = "+8613600136000"  # written "136 0013 6000" in the file
LI = "+8613700137001"
CHEN = "+8613700137002"
ZHOU = "+8613700137003"
WANG = "+8613800138000"
STRANGER = "+8613999990000"
CHAT = 5551001


@contextlib.asynccontextmanager
async def running_app(
    db: str, tmp_path: Path, fake: dict[str, Any] | None = None, **overrides: Any
) -> AsyncIterator[dict[str, Any]]:
    """Residents imported, FakeTwilio + FakeTelegram, the real app on a free loopback port.

    Yields ``{"tw", "tg", "services", "base"}``; ``fake`` goes to FakeTwilio, ``overrides`` to
    the settings.
    """
    path = tmp_path / "residents.csv"
    path.write_bytes(CSV.encode("utf-8"))
    await import_residents(path)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with (
        FakeTwilio(account_sid=SID, auth_token=TOKEN, **(fake or {})) as tw,
        FakeTelegram(token="123:TEST") as tg,
    ):
        options: dict[str, Any] = {
            "database_url": db,
            "public_url": base,
            "twilio_account_sid": SID,
            "twilio_auth_token": TOKEN,
            "twilio_from": SENDER,
            "twilio_api_url": tw.url,
            "sms_segments_per_second": 100,
            "telegram_token": "123:TEST",
            "telegram_api_url": tg.url,
            "telegram_mode": "webhook",
        }
        services = build_services(make_settings(**{**options, **overrides}))
        runner = web.AppRunner(create_app(services))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            yield {"tw": tw, "tg": tg, "services": services, "base": base}
        finally:
            await quiet()  # nothing in flight when the app stops
            await runner.cleanup()


@pytest.fixture
async def live(db: str, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    async with running_app(db, tmp_path) as app:
        yield app


# ---- helpers --------------------------------------------------------------------------------
async def texts(tw: FakeTwilio, number: str, count: int) -> list[str]:
    """Wait until ``count`` SMS went to ``number``; return all their bodies."""
    return [m.body for m in await tw.wait_sent(number, count=count, timeout=5)]


async def sms(live: dict[str, Any], number: str, body: str, **kwargs: Any) -> tuple[int, str]:
    return await live["tw"].inbound(f"{live['base']}/twilio/sms", number, body, **kwargs)


async def reply(live: dict[str, Any], number: str, body: str, count: int) -> str:
    """Text ``body`` from ``number``; wait for the ``count``-th SMS to it and return it."""
    status, twiml = await sms(live, number, body)
    assert status == 200 and "<Message>" not in twiml  # answers go via the outbox
    return (await texts(live["tw"], number, count))[count - 1]


async def quiet() -> None:
    """Wait until the dispatcher has nothing due or in flight."""

    async def idle() -> bool:
        busy = await OutboxMessage.filter(status__in=["queued", "claimed", "sending"]).count()
        return busy == 0

    await wait_for(idle)


async def stored(sid: str) -> OutboxMessage:
    """The outbox row of provider message ``sid``, once the dispatcher has recorded it."""
    return await wait_for(lambda: OutboxMessage.get_or_none(provider_id=sid))


async def snapshot() -> dict[str, list[dict[str, Any]]]:
    return {
        "outbox": await OutboxMessage.all().order_by("id").values(),
        "survey_response": await Response.all().order_by("id").values(),
        "survey_revision": await Revision.all().order_by("id").values(),
        "contact": await Contact.all().order_by("id").values(),
    }


async def response_of(round_id: int, room: str) -> Response:
    return await Response.get(round_id=round_id, household__room=room)


def report_row(report: Any, room: str) -> dict[str, Any]:
    row = next(r for r in report.rows if r[2] == room)
    return dict(zip(report.columns, row, strict=True))


# ---- the SMS-only elderly household ---------------------------------------------------------
async def test_elderly_sms_household_answers_antigen_by_typed_replies(
    live: dict[str, Any],
) -> None:
    tw: FakeTwilio = live["tw"]
    services = live["services"]
    household = await Household.get(room="302")
    assert household.elderly and household.preferred_channel == "sms"
    assert await Contact.filter(household=household, channel="sms", address=ZHANG).exists()

    opened = await services.runtime.open_round("antigen", buildings=[8])
    assert opened.by_channel == {"sms": 1}
    first = (await texts(tw, ZHANG, 1))[0]
    assert first == "今天家里做抗原检测了吗？\n回复 1 = 是，2 = 否"
    message = tw.sent_to(ZHANG)[0]
    assert message.from_ == SENDER and message.num_segments == 1
    assert message.status_callback == f"{live['base']}/twilio/status"
    round_id = opened.round.id

    # Typos are re-asked with a hint; the third one flags the household for a call.
    again = await reply(live, ZHANG, "好的吧", 2)
    assert "是" in again and "回复 1 = 是，2 = 否" in again and again != first
    again = await reply(live, ZHANG, "不知道", 3)
    assert "回复 1 = 是，2 = 否" in again
    assert not (await response_of(round_id, "302")).needs_call
    called = await reply(live, ZHANG, "??", 4)
    assert "电话" in called
    assert (await response_of(round_id, "302")).needs_call

    # A full-width digit is a valid answer and moves on.
    tested = await reply(live, ZHANG, "１", 5)
    assert "几人" in tested
    response = await response_of(round_id, "302")
    assert response.answers == {"tested_today": "yes"}
    assert response.status == "in_progress" and response.answered_channel == "sms"

    # 返回 goes back one question; the answer there is kept until changed.
    back = await reply(live, ZHANG, "返回", 6)
    assert "抗原" in back and "回复 1 = 是，2 = 否" in back
    tested = await reply(live, ZHANG, "1", 7)
    assert "几人" in tested
    positive = await reply(live, ZHANG, " 3人。", 8)
    assert "阳性" in positive

    # HELP says what this number is and sends the current question again.
    status, _ = await sms(live, ZHANG, "HELP")
    assert status == 200
    help_, repeat = (await texts(tw, ZHANG, 10))[8:10]
    assert "楼长助手" in help_ and "信息员" in help_
    assert "阳性" in repeat

    # STOP: opted out; nothing more is sent or stored. (Twilio blocks the number and sends its
    # own confirmation; the app's confirmation is then refused by Twilio with 21610.)
    await sms(live, ZHANG, "STOP")
    contact = await Contact.get(channel="sms", address=ZHANG)
    assert contact.status == "opted_out"
    await quiet()
    after_stop = len(tw.sent_to(ZHANG))
    revisions = await Revision.filter(response_id=response.id).count()
    await sms(live, ZHANG, "2")  # ignored while opted out
    await quiet()
    assert len(tw.sent_to(ZHANG)) == after_stop
    assert await Revision.filter(response_id=response.id).count() == revisions
    assert (await response_of(round_id, "302")).answers.get("positive") is None

    # START resubscribes and resends the current question (how many positive?).
    await sms(live, ZHANG, "START")
    started, current = (await texts(tw, ZHANG, after_stop + 2))[after_stop:]
    assert "恢复" in started
    assert "阳性" in current
    assert (await Contact.get(channel="sms", address=ZHANG)).status == "active"

    # "0" is the number zero (a real answer), never "back".
    done = await reply(live, ZHANG, "0", after_stop + 3)
    assert "谢谢" in done
    response = await response_of(round_id, "302")
    assert response.status == "answered"
    assert response.answers == {"tested_today": "yes", "tested": 3, "positive": 0}
    assert response.needs_call
    paths = (
        await Revision.filter(response_id=response.id).order_by("id").values_list("path", "value")
    )
    assert paths == [
        ("tested_today", {"v": "yes"}),
        ("tested_today", {"v": "yes"}),
        ("tested", {"v": 3}),
        ("positive", {"v": 0}),
    ]

    # Delivery of the first message, then the report.
    await tw.deliver(message.sid, "sent")
    await tw.deliver(message.sid, "delivered")
    report = await build_report(round_id)
    row = report_row(report, "302")
    assert (row["status"], row["channel"], row["answered_channel"]) == ("answered", "sms", "sms")
    assert row["first_message"] == "delivered"
    assert row["needs_call"] == "yes"
    assert (row["tested"], row["positive"]) == (3, 0)


async def test_chinese_stop_keyword_opts_out_and_report_says_so(live: dict[str, Any]) -> None:
    tw: FakeTwilio = live["tw"]
    services = live["services"]
    opened = await services.runtime.open_round("antigen", buildings=[9])
    await texts(tw, LI, 1)
    # Twilio does not know 退订: the app opts the number out and confirms once.
    status, _ = await sms(live, LI, "退订")
    assert status == 200
    confirmation = (await texts(tw, LI, 2))[1]
    assert "退订" in confirmation
    contact = await Contact.get(channel="sms", address=LI)
    assert contact.status == "opted_out"
    await quiet()

    row = report_row(await build_report(opened.round.id), "201")
    assert row["status"] == "opted_out"

    # A new round skips the opted-out number entirely.
    second = await services.runtime.open_round("medication", buildings=[9])
    assert second.by_channel == {} and second.unreachable == 1
    await sms(live, LI, "1")
    await quiet()
    assert len(tw.sent_to(LI)) == 2


async def test_twilio_opt_out_words_are_mirrored(live: dict[str, Any]) -> None:
    """CANCEL is one of Twilio's own opt-out words: Twilio blocks the number (OptOutType=STOP),
    so the app must count it as opted out, not as "cancel the survey"."""
    tw: FakeTwilio = live["tw"]
    opened = await live["services"].runtime.open_round("antigen", buildings=[10])
    await tw.wait_sent(ZHOU)
    assert "几人" in await reply(live, ZHOU, "1", 2)  # begun: one answer given
    await sms(live, ZHOU, "CANCEL")
    assert ZHOU in tw.unsubscribed
    assert (await Contact.get(address=ZHOU)).status == "opted_out"
    await quiet()
    response = await response_of(opened.round.id, "402")
    assert response.stage == "active"  # the survey itself was not cancelled
    # Opted out wins over "in progress" in the report.
    assert report_row(await build_report(opened.round.id), "402")["status"] == "opted_out"
    assert len(tw.sent_to(ZHOU)) == 2
    # Twilio confirmed the opt-out itself: no confirmation of ours was tried (and refused).
    assert not await OutboxMessage.filter(address=ZHOU, status="failed").exists()


# ---- signatures and strangers ---------------------------------------------------------------
async def test_forged_and_missing_signatures_are_refused_and_change_nothing(
    live: dict[str, Any],
) -> None:
    tw: FakeTwilio = live["tw"]
    services = live["services"]
    base = live["base"]
    await services.runtime.open_round("antigen", buildings=[8])
    first = (await tw.wait_sent(ZHANG))[0]
    await stored(first.sid)
    await quiet()
    before = await snapshot()

    sms_url = f"{base}/twilio/sms"
    # Missing signature; a made-up one; a real signature of other params; one over another URL.
    assert (await tw.inbound(sms_url, ZHANG, "1", sign=False))[0] == 403
    assert (await tw.inbound(sms_url, ZHANG, "1", signature="bm90IGEgc2lnbmF0dXJl"))[0] == 403
    other = tw.sign(sms_url, {"From": ZHANG, "Body": "2"})
    assert (await tw.inbound(sms_url, ZHANG, "1", signature=other))[0] == 403
    evil = "https://evil.example/twilio/sms"
    assert (await tw.inbound(sms_url, ZHANG, "STOP", sign_url=evil))[0] == 403
    tw.resubscribe(ZHANG)  # the fake acted on the STOP keyword before posting it

    # Status callbacks: a forged "failed 21610" would opt the contact out; missing, the same.
    session = await tw.session()
    status_url = f"{base}/twilio/status"
    params = {
        "AccountSid": SID,
        "MessageSid": first.sid,
        "MessageStatus": "failed",
        "ErrorCode": "21610",
        "To": ZHANG,
        "From": SENDER,
    }
    async with session.post(status_url, data=params) as resp:
        assert resp.status == 403
    forged = tw.sign(status_url, {**params, "MessageStatus": "delivered"})
    async with session.post(
        status_url, data=params, headers={"X-Twilio-Signature": forged}
    ) as resp:
        assert resp.status == 403

    await quiet()  # anything a handler queued is in the outbox, and sent
    assert await snapshot() == before
    assert len(tw.sent_to(ZHANG)) == 1

    # The same requests, signed properly, do change things.
    assert (await tw.inbound(sms_url, ZHANG, "1"))[0] == 200
    assert await snapshot() != before


async def test_unregistered_number_gets_one_polite_reply_and_nothing_else(
    live: dict[str, Any],
) -> None:
    tw: FakeTwilio = live["tw"]
    services = live["services"]
    await services.runtime.open_round("antigen", buildings=[8])
    await tw.wait_sent(ZHANG)
    await quiet()
    before = await snapshot()

    status, twiml = await sms(live, STRANGER, "1")
    assert status == 200
    assert twiml.count("<Message>") == 1
    assert "未登记" in twiml and "居委会" in twiml
    assert "抗原" not in twiml and "302" not in twiml
    # Later texts (keywords too) get nothing: one reply, not a conversation.
    for body in ("HELP", "2", "STOP"):
        status, twiml = await sms(live, STRANGER, body)
        assert status == 200 and "<Message>" not in twiml
    await quiet()
    assert await snapshot() == before
    assert tw.sent_to(STRANGER) == []


# ---- send errors ----------------------------------------------------------------------------
async def test_twilio_send_errors_mark_contacts(live: dict[str, Any]) -> None:
    tw: FakeTwilio = live["tw"]
    services = live["services"]
    tw.unsubscribe(CHEN)  # texted STOP to Twilio earlier: 21610
    tw.invalid(ZHOU)  # 21211
    opened = await services.runtime.open_round("antigen", buildings=[10])
    assert opened.by_channel == {"sms": 2}

    async def settled() -> bool:
        states = set(
            await Contact.filter(address__in=[CHEN, ZHOU]).values_list("status", flat=True)
        )
        return "active" not in states

    await wait_for(settled)
    chen = await Contact.get(address=CHEN)
    zhou = await Contact.get(address=ZHOU)
    assert chen.status == "opted_out" and "21610" in chen.status_reason
    assert zhou.status == "unreachable" and "21211" in zhou.status_reason
    rows = await OutboxMessage.filter(address__in=[CHEN, ZHOU]).order_by("address")
    assert [(r.status, r.error_code, r.attempts) for r in rows] == [
        ("failed", "21610", 1),
        ("failed", "21211", 1),
    ]
    assert tw.messages == []  # nothing got through, and nothing was retried
    creates = [r for r in tw.requests if r[0] == "POST"]
    assert len(creates) == 2

    report = await build_report(opened.round.id)
    assert report_row(report, "401")["status"] == "opted_out"
    assert report_row(report, "402")["status"] == "not_delivered"
    assert report_row(report, "401")["first_message"] == "failed"


# ---- one household, two channels ------------------------------------------------------------
async def test_household_on_telegram_and_sms_answers_from_both(live: dict[str, Any]) -> None:
    tw: FakeTwilio = live["tw"]
    tg: FakeTelegram = live["tg"]
    services = live["services"]
    household = await Household.get(room="501")
    assert household.preferred_channel == "telegram"
    sms_contact = await Contact.get(household=household, channel="sms")
    assert sms_contact.address == WANG
    telegram_contact = await Contact.create(
        household=household,
        person_id=sms_contact.person_id,  # type: ignore[attr-defined]
        channel="telegram",
        address=str(CHAT),
        language="zh-CN",
    )
    tg.start_chat(CHAT)  # the resident started the bot when this contact was made

    opened = await services.runtime.open_round("antigen", buildings=[11])
    assert opened.by_channel == {"telegram": 1}
    await tg.wait_sent(CHAT, count=1, timeout=5)
    assert "抗原" in tg.sent_to(CHAT)[0]["text"]
    assert tw.sent_to(WANG) == []

    # Question 1 answered by SMS: the next question comes by SMS.
    tested = await reply(live, WANG, "是", 1)
    assert "几人" in tested
    # Question 2 answered in Telegram: the next question comes there.
    await tg.user_message(CHAT, "２")
    await tg.wait_sent(CHAT, count=2, timeout=5)
    assert "阳性" in tg.sent_to(CHAT)[1]["text"]
    # Question 3 by SMS again.
    done = await reply(live, WANG, "0", 2)
    assert "谢谢" in done

    response = await response_of(opened.round.id, "501")
    assert response.status == "answered"
    assert response.answers == {"tested_today": "yes", "tested": 2, "positive": 0}
    assert (response.channel, response.answered_channel) == ("telegram", "sms")
    by = (
        await Revision.filter(response_id=response.id)
        .order_by("id")
        .values_list("path", "contact_id")
    )
    assert by == [
        ("tested_today", sms_contact.id),
        ("tested", telegram_contact.id),
        ("positive", sms_contact.id),
    ]
    assert await Response.filter(household=household).count() == 1


async def test_blocked_telegram_chat_falls_back_to_sms_with_numbered_options(
    live: dict[str, Any],
) -> None:
    tw: FakeTwilio = live["tw"]
    tg: FakeTelegram = live["tg"]
    household = await Household.get(room="501")
    sms_contact = await Contact.get(household=household, channel="sms")
    chat = await Contact.create(
        household=household,
        person_id=sms_contact.person_id,  # type: ignore[attr-defined]
        channel="telegram",
        address=str(CHAT),
        language="zh-CN",
    )
    tg.block(CHAT)
    opened = await live["services"].runtime.open_round("antigen", buildings=[11])
    assert opened.by_channel == {"telegram": 1}
    first = (await texts(tw, WANG, 1))[0]
    assert "回复 1 = 是" in first  # the SMS rendering, not the button text
    await chat.refresh_from_db()
    assert chat.status == "unreachable"
    assert "几人" in await reply(live, WANG, "1", 2)  # and the household answers by SMS


# ---- Twilio's retries of an inbound webhook -----------------------------------------------------
async def test_a_retried_inbound_sms_has_one_effect(
    live: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twilio sends the webhook again (same MessageSid) when the answer is slow or failing."""
    tw: FakeTwilio = live["tw"]
    services = live["services"]
    opened = await services.runtime.open_round("antigen", buildings=[9])
    await texts(tw, LI, 1)
    router = services.router
    original = router.handle
    handled: list[str | None] = []
    release = asyncio.Event()

    async def slow(inbound: Any) -> Any:
        handled.append(inbound.text)
        if len(handled) == 1:
            await release.wait()  # still busy when Twilio gives up and sends it again
        return await original(inbound)

    monkeypatch.setattr(router, "handle", slow)
    status, _ = await sms(live, LI, "1", retries=1, timeout=0.3)
    assert status == 200
    attempts = [(a.attempt, a.status, a.error) for a in tw.webhook_attempts]
    assert attempts == [(1, None, "timeout"), (2, 200, None)]
    release.set()
    assert "几人" in (await texts(tw, LI, 2))[1]
    await quiet()
    assert handled == ["1"] and len(tw.sent_to(LI)) == 2
    response = await response_of(opened.round.id, "201")
    assert response.answers == {"tested_today": "yes"}
    assert await Revision.filter(response_id=response.id).count() == 1

    failures = [RuntimeError("the database went away")]

    async def failing(inbound: Any) -> Any:
        handled.append(inbound.text)
        if failures:
            raise failures.pop()
        return await original(inbound)

    monkeypatch.setattr(router, "handle", failing)
    status, _ = await sms(live, LI, "2", retries=1)
    assert status == 200
    assert [a.status for a in tw.webhook_attempts[2:]] == [500, 200]
    assert "阳性" in (await texts(tw, LI, 3))[2]  # the retry was handled, once
    await quiet()
    assert handled == ["1", "2", "2"] and len(tw.sent_to(LI)) == 3
    response = await response_of(opened.round.id, "201")
    assert response.answers == {"tested_today": "yes", "tested": 2}
