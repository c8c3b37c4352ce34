"""The outbox dispatcher against the fake Telegram and Twilio servers (real clients).

The dispatcher's promises are listed in test_dispatcher_promises.py (fake clock, fake channel).
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from telegram import Bot

from config.clock import SystemClock
from estate.models import Building, Contact, Estate, Household
from notifications.channels.telegram import TelegramChannel
from notifications.channels.twilio import TwilioSmsChannel
from notifications.dispatch.dispatcher import Dispatcher
from notifications.message import Button, Message
from notifications.models import OutboxMessage, Priority
from notifications.outbox import Outgoing, enqueue, enqueue_many
from tests.conftest import make_settings
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import FakeTwilio
from tests.waiting import wait_for
from tests.workers import fill_outbox

TOKEN = "42:DISPATCH"


async def make_household(n: int = 1) -> list[Household]:
    estate = await Estate.create(name=f"e{n}")
    building = await Building.create(estate=estate, number=1, floors=30)
    return [
        await Household.create(building=building, floor=1 + i // 4, room=f"{100 + i}")
        for i in range(n)
    ]


async def tg_contact(household: Household, chat: int) -> Contact:
    return await Contact.create(household=household, channel="telegram", address=str(chat))


@pytest.fixture(autouse=True)
def _frozen_gc() -> Iterator[None]:
    """As `louzhang run` does once started: long GC pauses would delay sends past the margin."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    # Contacts are made in the database: as if each chat had started the bot.
    async with FakeTelegram(token=TOKEN, strict_chats=False) as fake:
        yield fake


def telegram_dispatcher(tg: FakeTelegram, **settings: Any) -> tuple[Dispatcher, Bot]:
    bot = Bot(TOKEN, base_url=f"{tg.url}/bot", base_file_url=f"{tg.url}/file/bot")
    dispatcher = Dispatcher(
        {"telegram": TelegramChannel(bot)},
        clock=SystemClock(),
        settings=make_settings(**settings),
        poll_interval=0.05,
    )
    return dispatcher, bot


async def run_until(dispatcher: Dispatcher, done: Any, limit: float = 15.0) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    try:
        deadline = asyncio.get_running_loop().time() + limit
        while not await done():
            assert asyncio.get_running_loop().time() < deadline, "dispatcher did not finish in time"
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await task


async def all_sent() -> bool:
    return not await OutboxMessage.filter(status__in=["queued", "claimed", "sending"]).exists()


async def test_backlog_drains_at_the_limit_without_429(any_db: str, tg: FakeTelegram) -> None:
    households = await make_household(45)
    now = SystemClock().now()
    items = [
        Outgoing(contact=await tg_contact(h, 1000 + i), message=Message(f"hello {i}"), key=f"k{i}")
        for i, h in enumerate(households)
    ]
    await enqueue_many(items, now=now)
    dispatcher, _ = telegram_dispatcher(tg, database_url=any_db)
    started = asyncio.get_running_loop().time()
    await run_until(dispatcher, all_sent)
    elapsed = asyncio.get_running_loop().time() - started
    assert tg.rate_limit_violations == 0
    assert len(tg.calls_to("sendMessage")) == 45
    assert await OutboxMessage.filter(status="sent").count() == 45
    assert elapsed >= 0.9  # 45 messages at 30/s cannot go out in less than a second


async def test_one_chat_gets_one_message_a_second(any_db: str, tg: FakeTelegram) -> None:
    [household] = await make_household(1)
    contact = await tg_contact(household, 777)
    now = SystemClock().now()
    await enqueue_many(
        [Outgoing(contact=contact, message=Message(f"m{i}"), key=f"c{i}") for i in range(3)],
        now=now,
    )
    dispatcher, _ = telegram_dispatcher(tg, database_url=any_db)
    await run_until(dispatcher, all_sent)
    assert tg.rate_limit_violations == 0
    assert [m["text"] for m in tg.sent_to(777)] == ["m0", "m1", "m2"]  # order kept
    stamps = [c.at for c in tg.calls_to("sendMessage")]
    assert stamps[2] - stamps[0] >= 2.0


async def test_callup_jumps_the_survey_backlog(any_db: str, tg: FakeTelegram) -> None:
    """A call-up enqueued behind 5,000 survey messages, while they drain at 30/s, goes out
    within the next second's worth of sends (30 calls)."""
    await fill_outbox(5_000)
    [household] = await make_household(1)
    callup_contact = await tg_contact(household, 99)
    dispatcher, _ = telegram_dispatcher(tg, database_url=any_db)
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    try:
        await wait_for(lambda: len(tg.calls_to("sendMessage")) >= 20)  # mid-backlog now
        before = len(tg.calls_to("sendMessage"))
        await enqueue(
            Outgoing(
                contact=callup_contact,
                message=Message("come down now"),
                key="callup",
                priority=Priority.CALLUP,
            ),
            now=SystemClock().now(),
        )
        dispatcher.notify()
        await wait_for(lambda: tg.sent_to(99))
    finally:
        stop.set()
        await task
    texts = [c.params["text"] for c in tg.calls_to("sendMessage")]
    assert texts.index("come down now") - before < 30
    assert tg.rate_limit_violations == 0


async def _count_calls(tg: FakeTelegram, n: int) -> bool:
    return len(tg.calls_to("sendMessage")) >= n


async def test_retry_after_server_errors_and_429(any_db: str, tg: FakeTelegram) -> None:
    [household] = await make_household(1)
    contact = await tg_contact(household, 31)
    tg.fail_next("sendMessage", status=500)
    tg.fail_next("sendMessage", status=429, retry_after=1)
    await enqueue(
        Outgoing(contact=contact, message=Message("x"), key="r1"), now=SystemClock().now()
    )
    dispatcher, _ = telegram_dispatcher(tg, database_url=any_db)
    # Backoff is jittered; shorten it for the test by allowing more attempts quickly.
    import notifications.dispatch.dispatcher as module

    original = module.backoff
    module.backoff = lambda attempts, **_: 0.05  # type: ignore[assignment]
    try:
        await run_until(dispatcher, all_sent)
    finally:
        module.backoff = original
    row = await OutboxMessage.get(idempotency_key="r1")
    assert row.status == "sent" and row.attempts == 3
    assert len(tg.sent_to(31)) == 1


async def test_blocked_chat_falls_back_to_sms(any_db: str, tg: FakeTelegram) -> None:
    [household] = await make_household(1)
    chat = await tg_contact(household, 55)
    sms = await Contact.create(household=household, channel="sms", address="+8613800138000")
    tg.block(55)
    alt = Message("SMS version: 回复 1 = 是").to_json()
    message = Message(
        "Telegram version", buttons=((Button("是", "a:1:1:y"),),), extra={"alt": {"sms": alt}}
    )
    await enqueue(Outgoing(contact=chat, message=message, key="fb"), now=SystemClock().now())
    async with FakeTwilio(account_sid="AC" + "1" * 32, auth_token="tok") as tw:
        settings = make_settings(
            database_url=any_db,
            twilio_account_sid="AC" + "1" * 32,
            twilio_auth_token="tok",
            twilio_from="+15005550006",
            twilio_api_url=tw.url,
            sms_segments_per_second=50,
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
            await run_until(dispatcher, all_sent)
        finally:
            await sms_channel.close()
        assert [m.body for m in tw.sent_to("+8613800138000")] == ["SMS version: 回复 1 = 是"]
    await chat.refresh_from_db()
    await sms.refresh_from_db()
    assert chat.status == "unreachable" and sms.status == "active"


async def test_sms_unsubscribed_marks_contact_opted_out(any_db: str) -> None:
    [household] = await make_household(1)
    contact = await Contact.create(household=household, channel="sms", address="+8613900139000")
    async with FakeTwilio(account_sid="AC" + "2" * 32, auth_token="tok") as tw:
        tw.unsubscribe("+8613900139000")
        settings = make_settings(
            database_url=any_db,
            twilio_account_sid="AC" + "2" * 32,
            twilio_auth_token="tok",
            twilio_from="+15005550006",
            twilio_api_url=tw.url,
        )
        channel = TwilioSmsChannel(settings)
        dispatcher = Dispatcher(
            {"sms": channel}, clock=SystemClock(), settings=settings, poll_interval=0.05
        )
        await enqueue(
            Outgoing(contact=contact, message=Message("hi"), key="u"), now=SystemClock().now()
        )
        try:
            await run_until(dispatcher, all_sent)
        finally:
            await channel.close()
    await contact.refresh_from_db()
    row = await OutboxMessage.get(idempotency_key="u")
    assert contact.status == "opted_out" and row.status == "failed" and row.error_code == "21610"


async def test_same_key_enqueued_twice_is_one_message(any_db: str) -> None:
    [household] = await make_household(1)
    contact = await tg_contact(household, 9)
    now = SystemClock().now()
    item = Outgoing(contact=contact, message=Message("once"), key="drive1/batch7/hh9/go")
    await enqueue(item, now=now)
    await enqueue(item, now=now)
    assert await OutboxMessage.filter(idempotency_key="drive1/batch7/hh9/go").count() == 1


async def test_recovery_requeues_in_flight_rows_and_counts_them(
    any_db: str, tg: FakeTelegram
) -> None:
    [household] = await make_household(1)
    contact = await tg_contact(household, 12)
    now = SystemClock().now()
    await enqueue_many(
        [Outgoing(contact=contact, message=Message(f"r{i}"), key=f"rec{i}") for i in range(2)],
        now=now,
    )
    await OutboxMessage.filter(idempotency_key="rec0").update(status="sending", attempts=1)
    await OutboxMessage.filter(idempotency_key="rec1").update(status="claimed")
    dispatcher, _ = telegram_dispatcher(tg, database_url=any_db)
    assert await dispatcher.recover() == 1
    assert await OutboxMessage.filter(status="queued").count() == 2
