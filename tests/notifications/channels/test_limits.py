"""Messages over a channel's length limit are split when enqueued, never sent to be refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram import Bot

from config.clock import SystemClock
from estate.models import Building, Contact, Estate, Household
from notifications.channels.limits import (
    SMS_BODY,
    TELEGRAM_CAPTION,
    TELEGRAM_TEXT,
    cut,
    shorten,
    split_message,
    split_text,
    units,
)
from notifications.channels.telegram import TelegramChannel
from notifications.channels.twilio import TwilioSmsChannel
from notifications.dispatch.dispatcher import Dispatcher
from notifications.message import Button, Message
from notifications.models import OutboxMessage
from notifications.outbox import Outgoing, enqueue, part_key
from tests.conftest import make_settings
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import FakeTwilio

TOKEN = "42:LIMITS"
SID = "AC" + "3" * 32
PHONE = "+8613800138000"
CHAT = 4321


# ---- splitting ----------------------------------------------------------------------------------
def test_cut_prefers_paragraphs_then_lines_then_sentences() -> None:
    text = "a" * 60 + "\n\n" + "b" * 30 + "\n" + "c" * 30
    assert cut(text, 100) == ("a" * 60, "b" * 30 + "\n" + "c" * 30)
    far = "a" * 20 + "\n\n" + "b" * 60 + "\n" + "c" * 30  # the paragraph is too far back
    assert cut(far, 100) == ("a" * 20 + "\n\n" + "b" * 60, "c" * 30)
    assert cut("第一句。第二句很长很长", 8) == ("第一句。", "第二句很长很长")
    assert cut("word " * 3, 100) == ("word " * 3, "")


def test_cut_inside_a_word_only_when_no_break_is_near() -> None:
    assert cut("x" * 10 + " " + "y" * 100, 50) == ("x" * 10 + " " + "y" * 39, "y" * 61)


def test_a_cut_never_splits_a_surrogate_pair() -> None:
    head, rest = cut("😀" * 5, 5)  # each emoji is two UTF-16 units
    assert head == "😀" * 2 and rest == "😀" * 3
    with pytest.raises(ValueError, match="at least 1"):
        cut("x", 0)


@given(st.text(alphabet=st.sampled_from("ab 楼\n。😀"), max_size=400), st.integers(4, 60))
def test_split_text_parts_fit_and_keep_every_word(text: str, limit: int) -> None:
    parts = split_text(text, limit)
    assert all(units(p) <= limit for p in parts)
    assert all(p.strip() for p in parts[1:])  # no empty continuation
    squeeze = "".join(text.split())
    assert "".join("".join(parts).split()) == squeeze


def test_shorten_ends_with_an_ellipsis() -> None:
    assert shorten("short", 10) == "short"
    assert shorten("one two three four", 10) == "one two…"
    assert units(shorten("楼" * 5000, TELEGRAM_TEXT)) == TELEGRAM_TEXT


def test_split_message_for_telegram_keeps_the_keyboard_on_the_last_part() -> None:
    keyboard = ((Button("是", "y"),),)
    long = "第一段。" * 700 + "\n\n" + "第二段。" * 700  # 2800 + 2 + 2800 characters
    parts = split_message("telegram", Message(long, keyboard, extra={"alt": {"sms": {}}}))
    assert [len(p.text) for p in parts] == [2800, 2800]
    assert [p.buttons for p in parts] == [(), keyboard]
    assert parts[0].extra == {"alt": {"sms": {}}} and parts[1].extra == {"part": 2}
    fits = Message("短", keyboard)
    assert split_message("telegram", fits) == [fits]
    edit = Message("楼" * 5000, extra={"edit_message_id": 7})
    assert split_message("telegram", edit) == [edit]  # shortened by the adapter instead
    assert split_message("voice", Message("x" * 5000)) == [Message("x" * 5000)]


def test_split_message_puts_an_attachment_first_with_a_caption() -> None:
    document = Message.with_document("说明 " * 600, "r.xlsx", b"xlsx")  # 1800 characters
    first, second = split_message("telegram", document)
    assert units(first.text) <= TELEGRAM_CAPTION and first.document() == ("r.xlsx", b"xlsx")
    assert second.document() is None and second.extra == {"part": 2}
    assert first.extra["whole_text"] == document.text
    photo = Message("图 " * 600, photo="file-id", request_contact="分享号码")
    first, second = split_message("telegram", photo)
    assert (first.photo, second.photo) == ("file-id", None)
    assert (first.request_contact, second.request_contact) == (None, "分享号码")


def test_split_message_for_sms() -> None:
    parts = split_message("sms", Message("请下楼做核酸。" * 300))  # 2100 characters
    assert [len(p.text) for p in parts] == [1596, 504]
    assert all(units(p.text) <= SMS_BODY for p in parts)


def test_part_keys() -> None:
    assert part_key("k", 1) == "k" and part_key("k", 2) == "k|part2"
    assert len(part_key("x" * 300, 12)) == 190 and part_key("x" * 300, 12).endswith("|part12")


# ---- against the fakes, through the outbox and the dispatcher ----------------------------------
async def contact(channel: str, address: str) -> Contact:
    estate = await Estate.create(name="e")
    building = await Building.create(estate=estate, number=1, floors=10)
    household = await Household.create(building=building, floor=1, room="101")
    return await Contact.create(household=household, channel=channel, address=address)


async def run_until_sent(dispatcher: Dispatcher, limit: float = 10.0) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    try:
        async with asyncio.timeout(limit):
            waiting = ["queued", "claimed", "sending"]
            while await OutboxMessage.filter(status__in=waiting).exists():  # noqa: ASYNC110
                await asyncio.sleep(0.02)
    finally:
        stop.set()
        await task


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN, known_chats={CHAT}) as fake:  # strict limits
        yield fake


async def test_a_long_telegram_message_arrives_in_parts(db: str, tg: FakeTelegram) -> None:
    keyboard = ((Button("收到", "ack"),),)
    text = "\n".join(f"{n}号楼 12层 请下楼" for n in range(400))  # 5,000+ characters
    assert units(text) > TELEGRAM_TEXT
    to = await contact("telegram", str(CHAT))
    await enqueue(Outgoing(to, Message(text, keyboard), key="long"), now=SystemClock().now())
    bot = Bot(TOKEN, base_url=f"{tg.url}/bot")
    dispatcher = Dispatcher(
        {"telegram": TelegramChannel(bot)},
        clock=SystemClock(),
        settings=make_settings(database_url=db),
        poll_interval=0.05,
    )
    await run_until_sent(dispatcher)
    sent = tg.sent_to(CHAT)
    assert len(sent) == 2 and tg.rate_limit_violations == 0  # one a second in this chat
    assert "\n".join(m["text"] for m in sent) == text
    assert "reply_markup" not in sent[0] and sent[1]["reply_markup"]["inline_keyboard"]
    rows = await OutboxMessage.all().order_by("id")
    assert [(r.idempotency_key, r.status) for r in rows] == [
        ("long", "sent"),
        ("long|part2", "sent"),
    ]
    assert [c.status for c in tg.calls_to("sendMessage")] == [200, 200]


async def test_a_long_sms_arrives_in_parts(db: str) -> None:
    text = "请3号楼12层的居民下楼做核酸，带好身份证。" * 80  # 1,760 characters
    to = await contact("sms", PHONE)
    await enqueue(Outgoing(to, Message(text), key="sms-long"), now=SystemClock().now())
    async with FakeTwilio(account_sid=SID, auth_token="tok") as tw:
        settings: dict[str, Any] = {
            "database_url": db,
            "twilio_account_sid": SID,
            "twilio_auth_token": "tok",
            "twilio_from": tw.service_number,
            "twilio_api_url": tw.url,
            "sms_segments_per_second": 100,
        }
        channel = TwilioSmsChannel(make_settings(**settings))
        dispatcher = Dispatcher(
            {"sms": channel}, clock=SystemClock(), settings=make_settings(**settings)
        )
        try:
            await run_until_sent(dispatcher)
        finally:
            await channel.close()
    bodies = sorted((m.body for m in tw.sent_to(PHONE)), key=len, reverse=True)
    assert len(bodies) == 2 and all(len(b) <= SMS_BODY for b in bodies)
    assert sorted("".join(bodies)) == sorted(text)
    assert [r.status for r in await OutboxMessage.all()] == ["accepted", "accepted"]


async def test_what_cannot_be_split_is_shortened_by_the_adapter(tg: FakeTelegram) -> None:
    async with Bot(TOKEN, base_url=f"{tg.url}/bot") as bot:
        channel = TelegramChannel(bot)
        sent = await channel.send(str(CHAT), Message("楼" * 5000))  # a row from before splitting
        edit = Message("改" * 5000, extra={"edit_message_id": int(sent.provider_id or 0)})
        await channel.send(str(CHAT), edit)
    (message,) = tg.sent_to(CHAT)
    assert message["text"] == "改" * 4095 + "…"
    assert [(c.method, c.status) for c in tg.calls if c.method != "getMe"] == [
        ("sendMessage", 200),
        ("editMessageText", 200),
    ]


async def test_a_split_message_falls_back_to_sms_once_and_whole(db: str, tg: FakeTelegram) -> None:
    """The Telegram chat is blocked: the first part's fallback carries the whole text by SMS
    (split again for SMS); the second part has no fallback of its own."""
    chat = await contact("telegram", str(CHAT))
    household_id = chat.household_id  # type: ignore[attr-defined]
    sms = await Contact.create(household_id=household_id, channel="sms", address=PHONE)
    tg.block(CHAT)
    lines = [f"{n}号楼 12层 请下楼" for n in range(400)]
    text = "\n".join(lines)
    await enqueue(Outgoing(chat, Message(text), key="fb-long"), now=SystemClock().now())
    assert await OutboxMessage.all().count() == 2
    async with FakeTwilio(account_sid=SID, auth_token="tok") as tw:
        settings = make_settings(
            database_url=db,
            twilio_account_sid=SID,
            twilio_auth_token="tok",
            twilio_from=tw.service_number,
            twilio_api_url=tw.url,
            sms_segments_per_second=100,
        )
        sms_channel = TwilioSmsChannel(settings)
        bot = Bot(TOKEN, base_url=f"{tg.url}/bot")
        dispatcher = Dispatcher(
            {"telegram": TelegramChannel(bot), "sms": sms_channel},
            clock=SystemClock(),
            settings=settings,
            poll_interval=0.05,
        )
        try:
            await run_until_sent(dispatcher)
        finally:
            await sms_channel.close()
    bodies = [m.body for m in tw.sent_to(PHONE)]
    assert len(bodies) == 4 and all(len(b) <= SMS_BODY for b in bodies)
    assert sorted("\n".join(bodies).split("\n")) == sorted(lines)
    keys = await OutboxMessage.filter(channel="sms").values_list("idempotency_key", flat=True)
    first = f"fb-long|fb{sms.id}"
    assert sorted(keys) == [first, f"{first}|part2", f"{first}|part3", f"{first}|part4"]
