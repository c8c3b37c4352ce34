"""The real python-telegram-bot against tests/fakes/telegram.py."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from tests.fakes.recorder import Recorder
from tests.fakes.telegram import FakeTelegram
from tests.waiting import wait_for

TOKEN = "123:ABC"
CHAT = 4242


class FakeClock:
    """A settable monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_bot(tg: FakeTelegram, token: str = TOKEN) -> Bot:
    return Bot(token, base_url=f"{tg.url}/bot", base_file_url=f"{tg.url}/file/bot")


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d.upper(), callback_data=d) for d in data]])


def seconds(value: int | dtm.timedelta) -> float:
    """PTB 22 returns int (deprecated) or timedelta (PTB_TIMEDELTA=1) for retry_after."""
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    """A lenient fake for the feature tests: no rate limits, any chat may be written to.

    The strict defaults (limits, chats that never started the bot) have their own tests below.
    """
    async with FakeTelegram(token=TOKEN, enforce_limits=False, strict_chats=False) as fake:
        yield fake


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    async with make_bot(tg) as b:
        yield b


async def test_get_me_and_wrong_token(tg: FakeTelegram, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 123 and me.is_bot and me.username == "louzhang_test_bot"
    assert tg.url.startswith("http://127.0.0.1:")

    with pytest.raises(InvalidToken):
        async with make_bot(tg, token="123:WRONG") as wrong:
            await wrong.get_me()
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{tg.url}/bot999:NOPE/getMe") as resp:
            assert resp.status == 401
            assert await resp.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }


async def test_send_message_with_inline_keyboard_is_recorded_and_echoed(
    tg: FakeTelegram, bot: Bot
) -> None:
    message = await bot.send_message(
        CHAT, "第1题：家里有人需要药吗？", reply_markup=keyboard("yes", "no")
    )

    assert message.message_id == 1
    assert message.chat.id == CHAT and message.chat.type == "private"
    assert message.from_user is not None and message.from_user.id == 123
    assert message.reply_markup == keyboard("yes", "no")
    call = tg.calls[-1]
    assert call.method == "sendMessage"
    assert call.content_type == "application/x-www-form-urlencoded"  # PTB 22 sends a form
    assert call.params["chat_id"] == CHAT  # decoded from the form string
    assert call.params["reply_markup"]["inline_keyboard"][0][1]["callback_data"] == "no"
    assert [m["text"] for m in tg.sent_to(CHAT)] == ["第1题：家里有人需要药吗？"]
    assert tg.last_message(CHAT) == tg.sent_to(CHAT)[-1]
    assert tg.texts(CHAT) == ["第1题：家里有人需要药吗？"]
    assert tg.last_message(999) is None


async def test_reply_keyboard_is_accepted_but_not_echoed(tg: FakeTelegram, bot: Bot) -> None:
    markup = ReplyKeyboardMarkup([[KeyboardButton("分享手机号", request_contact=True)]])
    message = await bot.send_message(CHAT, "请分享手机号", reply_markup=markup)
    assert message.reply_markup is None  # Telegram only echoes inline keyboards
    assert tg.calls[-1].params["reply_markup"]["keyboard"][0][0]["request_contact"] is True


async def test_edit_message_text_and_markup(tg: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(CHAT, "Q1", reply_markup=keyboard("a", "b"))

    edited = await bot.edit_message_text("Q1: a ✓", chat_id=CHAT, message_id=sent.message_id)
    assert isinstance(edited, type(sent)) and edited.text == "Q1: a ✓"
    assert edited.edit_date is not None
    # Like Telegram: editMessageText without reply_markup removes the inline keyboard.
    assert edited.reply_markup is None
    assert "reply_markup" not in tg.sent_to(CHAT)[-1]

    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_text("Q1: a ✓", chat_id=CHAT, message_id=sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)to edit not found"):
        await bot.edit_message_text("x", chat_id=CHAT, message_id=999)

    again = await bot.edit_message_reply_markup(
        chat_id=CHAT, message_id=sent.message_id, reply_markup=keyboard("c")
    )
    assert isinstance(again, type(sent)) and again.reply_markup == keyboard("c")


async def test_callback_press_via_get_updates_and_answer(tg: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(CHAT, "Q1", reply_markup=keyboard("yes", "no"))
    query_id = await tg.user_press(CHAT, sent.message_id, "yes")

    updates = await bot.get_updates(timeout=0)
    assert len(updates) == 1
    query = updates[0].callback_query
    assert query is not None and query.id == query_id and query.data == "yes"
    assert query.message is not None and query.message.message_id == sent.message_id
    assert query.from_user.id == CHAT

    assert await bot.answer_callback_query(query_id, text="已记录")
    assert tg.callback_answers[query_id]["text"] == "已记录"
    with pytest.raises(BadRequest, match=r"(?i)query id is invalid"):
        await bot.answer_callback_query(query_id)  # answered twice
    with pytest.raises(BadRequest, match=r"(?i)query id is invalid"):
        await bot.answer_callback_query("nope")


async def test_contact_update_and_offset_confirmation(tg: FakeTelegram, bot: Bot) -> None:
    assert await tg.user_contact(CHAT, "8613800138000") is None  # queued (no webhook)
    await tg.user_message(CHAT, "你好", first_name="王阿姨")

    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == sorted(u.update_id for u in updates)
    contact = updates[0].message.contact  # type: ignore[union-attr]
    assert contact is not None
    assert contact.phone_number == "8613800138000" and contact.user_id == CHAT
    assert updates[1].message.text == "你好"  # type: ignore[union-attr]
    assert updates[1].message.from_user.first_name == "王阿姨"  # type: ignore[union-attr]

    # Same offset -> same updates; offset = last + 1 confirms them.
    assert len(await bot.get_updates(offset=updates[0].update_id, timeout=0)) == 2
    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0) == ()
    assert tg.pending_updates == []


async def test_command_update_has_bot_command_entity(tg: FakeTelegram, bot: Bot) -> None:
    await tg.user_command(CHAT, "/start 3-1203")
    (update,) = await bot.get_updates(timeout=0)
    assert update.message is not None
    assert update.message.text == "/start 3-1203"
    assert update.message.parse_entities(["bot_command"]) and update.message.entities[0].length == 6


async def test_long_poll_returns_promptly_when_update_is_pushed(tg: FakeTelegram, bot: Bot) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await wait_for(lambda: tg.calls_to("getUpdates"))  # the poll is at the server, waiting
    assert not poll.done()
    await tg.user_message(CHAT, "1")
    updates = await asyncio.wait_for(poll, 2)
    assert [u.message.text for u in updates] == ["1"]  # type: ignore[union-attr]
    assert time.monotonic() - started < 1.5


async def test_long_poll_times_out_empty(tg: FakeTelegram, bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 <= time.monotonic() - started < 2.5


async def test_photo_upload_download_and_document(tg: FakeTelegram, bot: Bot) -> None:
    jpeg = b"\xff\xd8\xff\xe0 antigen result \xff\xd9"
    message = await bot.send_photo(CHAT, jpeg, caption="阴性")
    assert message.caption == "阴性" and len(message.photo) == 3
    largest = message.photo[-1]
    assert largest.file_size == len(jpeg) and largest.width > message.photo[0].width
    assert tg.calls[-1].content_type == "multipart/form-data"
    assert tg.calls[-1].files["photo"].content == jpeg

    file = await bot.get_file(largest.file_id)
    assert file.file_path is not None and file.file_path.startswith(f"{tg.url}/file/bot{TOKEN}/")
    assert bytes(await file.download_as_bytearray()) == jpeg

    again = await bot.send_photo(CHAT + 1, largest.file_id)  # resend by file_id
    assert again.photo[-1].file_id == largest.file_id

    doc = await bot.send_document(CHAT, b"building,floor\n3,12\n", filename="report.csv")
    assert doc.document is not None and doc.document.file_name == "report.csv"
    assert [m.get("document", {}).get("file_name") for m in tg.sent_to(CHAT)] == [
        None,
        "report.csv",
    ]
    with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
        await bot.get_file("does-not-exist")


async def test_user_photo_is_downloadable(tg: FakeTelegram, bot: Bot) -> None:
    await tg.user_photo(CHAT, "user-photo-1", content=b"PNGDATA", caption="抗原")
    (update,) = await bot.get_updates(timeout=0)
    assert update.message is not None and update.message.caption == "抗原"
    photo = update.message.photo[-1]
    assert photo.file_id == "user-photo-1"
    file = await bot.get_file(photo.file_id)
    assert bytes(await file.download_as_bytearray()) == b"PNGDATA"


async def test_errors_map_to_ptb_exceptions(tg: FakeTelegram, bot: Bot) -> None:
    tg.fail_next("sendMessage", status=429, retry_after=3)
    with pytest.raises(RetryAfter) as retry:
        await bot.send_message(CHAT, "x")
    assert seconds(retry.value.retry_after) == 3
    assert tg.calls[-1].status == 429
    await bot.send_message(CHAT, "x")  # only the next one failed

    tg.block(CHAT)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(CHAT, "x")
    tg.unblock(CHAT)

    tg.chat_not_found(777)
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(777, "x")

    tg.fail_next(None, status=500, times=2)
    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.get_me()
    assert (await bot.get_me()).id == 123


async def test_request_validation_like_telegram(tg: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(CHAT, "x" * 4097)
    await bot.send_message(CHAT, "楼" * 4096)
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(CHAT, "q", reply_markup=keyboard("x" * 65))
    with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
        await bot.send_photo(CHAT, b"x", caption="c" * 1025)
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(CHAT, "1 < 2", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)can't find end tag"):
        await bot.send_message(CHAT, "<b>bold", parse_mode=ParseMode.HTML)
    html_message = await bot.send_message(CHAT, "<b>3号楼</b> 1 &lt; 2", parse_mode="HTML")
    assert html_message.text == "3号楼 1 < 2"  # Telegram returns the parsed plain text
    assert tg.calls[-1].params["parse_mode"] == "HTML"
    with pytest.raises(BadRequest, match=r"(?i)character '\.' is reserved"):
        await bot.send_message(CHAT, "第3.5层", parse_mode=ParseMode.MARKDOWN_V2)
    await bot.send_message(CHAT, r"*第3\.5层* [链接](http://x.y/a-b)", parse_mode="MarkdownV2")

    async with aiohttp.ClientSession() as http:
        base = f"{tg.url}/bot{TOKEN}"
        async with http.post(f"{base}/sendMessage", json={"chat_id": CHAT}) as resp:
            body = await resp.json()
            assert (
                resp.status == 400 and body["description"] == "Bad Request: message text is empty"
            )
        async with http.post(f"{base}/sendMessage", data={"text": "x"}) as resp:
            assert (await resp.json())["description"] == "Bad Request: chat_id is empty"
        async with http.post(f"{base}/sendMessage", json={"chat_id": CHAT, "text": "json"}) as resp:
            assert resp.status == 200 and (await resp.json())["result"]["text"] == "json"
        async with http.get(f"{base}/sendMessage", params={"chat_id": CHAT, "text": "q"}) as resp:
            assert resp.status == 200
        async with http.post(f"{base}/noSuchMethod") as resp:
            assert resp.status == 404
            assert await resp.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }


async def test_rate_limits_with_fake_clock() -> None:
    clock = FakeClock()
    async with FakeTelegram(TOKEN, clock=clock, strict_chats=False) as tg, make_bot(tg) as bot:
        await bot.send_message(1, "a")
        with pytest.raises(RetryAfter) as retry:
            await bot.send_message(1, "b")  # same chat within 1 s
        assert seconds(retry.value.retry_after) == 1
        clock.now += 1.0
        await bot.send_message(1, "b")

        for chat in range(100, 129):  # 29 more in the same second -> 30 total
            await bot.send_message(chat, "x")
        with pytest.raises(RetryAfter):
            await bot.send_message(200, "x")  # 31st in the window
        clock.now += 0.5
        with pytest.raises(RetryAfter):
            await bot.send_message(201, "x")
        clock.now += 0.6
        await bot.send_message(201, "x")
        assert tg.rate_limit_violations == 3
        assert [c.status for c in tg.calls_to("sendMessage")].count(429) == 3


async def test_webhook_delivery_with_secret(tg: FakeTelegram, bot: Bot) -> None:
    async with Recorder(status=200) as app:
        await tg.user_message(CHAT, "queued before the webhook")
        assert await bot.set_webhook(f"{app.url}/telegram/webhook", secret_token="s3cr3t")
        await tg.drain()  # the queued update is flushed to the new webhook
        assert await tg.user_message(CHAT, "hello") == 200

        assert [json.loads(r.body)["message"]["text"] for r in app.requests] == [
            "queued before the webhook",
            "hello",
        ]
        request = app.requests[-1]
        assert request.path == "/telegram/webhook"
        assert request.headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cr3t"
        posted = Update.de_json(json.loads(request.body), bot)
        assert posted.message is not None and posted.message.text == "hello"

        info = await bot.get_webhook_info()
        assert info.url == f"{app.url}/telegram/webhook" and info.pending_update_count == 0
        with pytest.raises(Conflict):
            await bot.get_updates(timeout=0)

        app.status = 500
        assert await tg.user_message(CHAT, "boom") == 500
        assert "500" in ((await bot.get_webhook_info()).last_error_message or "")

        assert await bot.delete_webhook()
        assert await tg.user_message(CHAT, "polling again") is None
        assert len(await bot.get_updates(timeout=0)) == 1


async def test_allowed_updates_filter(tg: FakeTelegram, bot: Bot) -> None:
    await bot.get_updates(timeout=0, allowed_updates=["message"])
    await tg.user_press(CHAT, 1, "x")
    await tg.user_message(CHAT, "m")
    assert tg.deliveries[0].filtered
    updates = await bot.get_updates(timeout=0)
    assert [u.message.text for u in updates if u.message] == ["m"]


async def test_commands(tg: FakeTelegram, bot: Bot) -> None:
    commands = [BotCommand("start", "开始"), BotCommand("survey", "问卷")]
    assert await bot.set_my_commands(commands)
    assert [c.command for c in await bot.get_my_commands()] == ["start", "survey"]
    assert await bot.get_my_commands(language_code="en") == ()
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand("Bad-Command", "x")])
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()


async def test_make_update_json_does_not_deliver(tg: FakeTelegram, bot: Bot) -> None:
    update = tg.make_update_json("message", CHAT, "1203")
    press = tg.make_update_json("callback", CHAT, 5, "opt:1")
    assert tg.pending_updates == [] and tg.deliveries == []
    assert Update.de_json(update, bot).message.text == "1203"  # type: ignore[union-attr]
    assert Update.de_json(press, bot).callback_query.data == "opt:1"  # type: ignore[union-attr]
    assert press["update_id"] == update["update_id"] + 1


async def test_ptb_application_polling_end_to_end(tg: FakeTelegram) -> None:
    app = (
        Application.builder()
        .token(TOKEN)
        .base_url(f"{tg.url}/bot")
        .base_file_url(f"{tg.url}/file/bot")
        .build()
    )

    async def start(update: Update, context: object) -> None:
        assert update.message is not None
        await update.message.reply_text("欢迎", reply_markup=keyboard("ok"))

    async def pressed(update: Update, context: object) -> None:
        query = update.callback_query
        assert query is not None and query.message is not None
        await query.answer()
        await query.edit_message_text(f"选了 {query.data}")

    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=10)
    try:
        await tg.user_command(CHAT, "/start")
        (welcome,) = await tg.wait_sent(CHAT, 1, timeout=5)
        query_id = await tg.user_press(CHAT, welcome["message_id"], "ok")
        await wait_for(lambda: (tg.last_message(CHAT) or {}).get("text") == "选了 ok")
        assert query_id in tg.callback_answers
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert [c.method for c in tg.calls[:2]] == ["getMe", "deleteWebhook"]


# ---- one test per rule of the real Bot API, with the strict defaults ---------------------------
@pytest.fixture
async def strict() -> AsyncIterator[tuple[FakeTelegram, Bot, FakeClock]]:
    """The fake as shipped (limits on, unknown chats refused) on a settable clock."""
    clock = FakeClock()
    async with FakeTelegram(TOKEN, clock=clock) as fake, make_bot(fake) as b:
        yield fake, b, clock


async def raw_send(
    tg: FakeTelegram, method: str, **params: object
) -> tuple[int, dict[str, object]]:
    """POST a Bot API method without PTB; the HTTP status and the JSON answer."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{tg.url}/bot{TOKEN}/{method}", json=params) as resp,
    ):
        return resp.status, await resp.json()


async def test_rule_30_messages_per_second_per_bot(
    strict: tuple[FakeTelegram, Bot, FakeClock],
) -> None:
    tg, bot, clock = strict
    tg.start_chat(*range(1, 32))
    for chat in range(1, 31):
        await bot.send_message(chat, "x")
    with pytest.raises(RetryAfter) as retry:
        await bot.send_message(31, "x")
    assert seconds(retry.value.retry_after) == 1
    assert await raw_send(tg, "sendMessage", chat_id=31, text="x") == (
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        },
    )
    clock.now += 1.0
    await bot.send_message(31, "x")


async def test_rule_one_message_per_second_per_chat(
    strict: tuple[FakeTelegram, Bot, FakeClock],
) -> None:
    tg, bot, clock = strict
    tg.start_chat(CHAT, CHAT + 1)
    await bot.send_message(CHAT, "a")
    await bot.send_message(CHAT + 1, "another chat is not held up")
    clock.now += 0.4
    with pytest.raises(RetryAfter) as retry:
        await bot.send_message(CHAT, "b")
    assert seconds(retry.value.retry_after) == 1
    clock.now += 0.6
    await bot.send_message(CHAT, "b")
    assert tg.texts(CHAT) == ["a", "b"] and tg.rate_limit_violations == 1


async def test_rule_callback_data_at_most_64_bytes(
    strict: tuple[FakeTelegram, Bot, FakeClock],
) -> None:
    tg, bot, _clock = strict
    tg.start_chat(CHAT)
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(CHAT, "q", reply_markup=keyboard("楼" * 22))  # 66 bytes, 22 chars
    assert tg.calls[-1].status == 400 and tg.calls[-1].error == "Bad Request: BUTTON_DATA_INVALID"
    await bot.send_message(CHAT, "q", reply_markup=keyboard("楼" * 21))  # 63 bytes


async def test_rule_text_at_most_4096_characters(
    strict: tuple[FakeTelegram, Bot, FakeClock],
) -> None:
    tg, bot, _clock = strict
    tg.start_chat(CHAT)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(CHAT, "楼" * 4097)
    status, body = await raw_send(tg, "sendMessage", chat_id=CHAT, text="x" * 4097)
    assert (status, body["description"]) == (400, "Bad Request: message is too long")
    await bot.send_message(CHAT, "楼" * 4096)  # characters, not bytes


async def test_rule_caption_at_most_1024_characters(
    strict: tuple[FakeTelegram, Bot, FakeClock],
) -> None:
    tg, bot, _clock = strict
    tg.start_chat(CHAT)
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_photo(CHAT, b"jpeg", caption="c" * 1025)
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_document(CHAT, b"xlsx", filename="r.xlsx", caption="c" * 1025)
    await bot.send_document(CHAT, b"xlsx", filename="r.xlsx", caption="楼" * 1024)


async def test_rule_blocked_user_is_403(strict: tuple[FakeTelegram, Bot, FakeClock]) -> None:
    tg, bot, _clock = strict
    tg.start_chat(CHAT)
    tg.block(CHAT)
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(CHAT, "x")
    status, body = await raw_send(tg, "sendMessage", chat_id=CHAT, text="x")
    assert status == 403 and body == {
        "ok": False,
        "error_code": 403,
        "description": "Forbidden: bot was blocked by the user",
    }


async def test_rule_user_who_never_started_the_bot_is_403(
    strict: tuple[FakeTelegram, Bot, FakeClock],
) -> None:
    tg, bot, _clock = strict
    with pytest.raises(Forbidden, match=r"(?i)bot can't initiate conversation with a user"):
        await bot.send_message(CHAT, "x")
    await tg.user_command(CHAT, "/start")  # writing to the bot opens the chat
    await bot.send_message(CHAT, "welcome")
    with pytest.raises(Forbidden):
        await bot.send_message(CHAT + 1, "x")
    await bot.send_message(-100, "groups are not private chats")


async def test_rule_edit_that_changes_nothing_is_not_modified(
    strict: tuple[FakeTelegram, Bot, FakeClock],
) -> None:
    tg, bot, _clock = strict
    tg.start_chat(CHAT)
    sent = await bot.send_message(CHAT, "Q1", reply_markup=keyboard("a"))
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text(
            "Q1", chat_id=CHAT, message_id=sent.message_id, reply_markup=keyboard("a")
        )
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=CHAT, message_id=sent.message_id, reply_markup=keyboard("a")
        )
    # the same text without the keyboard is a change (Telegram drops the keyboard)
    await bot.edit_message_text("Q1", chat_id=CHAT, message_id=sent.message_id)


async def test_rule_callback_query_answered_late_or_twice(
    strict: tuple[FakeTelegram, Bot, FakeClock],
) -> None:
    tg, bot, clock = strict
    tg.start_chat(CHAT)
    sent = await bot.send_message(CHAT, "Q1", reply_markup=keyboard("a"))
    on_time = await tg.user_press(CHAT, sent.message_id, "a")
    late = await tg.user_press(CHAT, sent.message_id, "a")
    clock.now += 15.0
    assert await bot.answer_callback_query(on_time)
    with pytest.raises(BadRequest, match=r"(?i)query is too old and response timeout expired"):
        await bot.answer_callback_query(on_time)  # twice
    clock.now += 0.1
    with pytest.raises(BadRequest, match=r"(?i)query is too old and response timeout expired"):
        await bot.answer_callback_query(late)  # over 15 s after the press
    assert tg.calls[-1].error == (
        "Bad Request: query is too old and response timeout expired or query ID is invalid"
    )
