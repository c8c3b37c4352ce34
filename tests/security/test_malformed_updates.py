"""What the gateways hand on is something the rest can store and answer.

- A Telegram update without a chat, or with a chat id that is not a number (a forged or unusual
  update), is dropped at the gateway: no outbox row that could only fail and be retried, no
  traceback in the log.
- NUL characters in inbound text (Telegram and SMS) are stripped at the gateways: PostgreSQL
  refuses them in text and JSON columns, so a resident's "\\x00" would otherwise lose the
  message with a database error. Checked on SQLite and on PostgreSQL."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest

from notifications.models import OutboxMessage
from surveys.pickups.models import Question
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import FakeTwilio
from tests.pace import FAKE_PACE
from tests.security.telegram_service import (
    CHAT,
    SMS_PHONE,
    TOKEN,
    enrol,
    idle,
    import_households,
    running,
)

SID = "AC" + "0123456789abcdef" * 2
AUTH = "security-auth-token"


def no_chat(tg: FakeTelegram) -> dict[str, Any]:
    update = tg.make_message_update(CHAT, "/start")
    del update["message"]["chat"]
    return update


def word_chat(tg: FakeTelegram) -> dict[str, Any]:
    update = tg.make_message_update(CHAT, "/start")
    update["message"]["chat"]["id"] = "@someone"
    return update


def inline_press(tg: FakeTelegram) -> dict[str, Any]:
    """A button on an inline-mode message: the press carries no message and no chat."""
    update = tg.make_callback_update(CHAT, 1, "a:1:1:y")
    query = update["callback_query"]
    del query["message"]
    query["inline_message_id"] = "AAAAAgAAAB"
    return update


def no_user_no_chat(tg: FakeTelegram) -> dict[str, Any]:
    return {
        "update_id": 900_000_001,
        "message": {"message_id": 1, "date": int(time.time()), "text": "hello"},
    }


@pytest.mark.parametrize("build", [no_chat, word_chat, inline_press, no_user_no_chat])
async def test_an_update_without_a_usable_chat_is_ignored(
    db: str, build: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeTelegram(token=TOKEN, **FAKE_PACE) as tg:
        async with running(db, tg) as services:
            with caplog.at_level(logging.WARNING):
                assert await tg.deliver(build(tg)) in (200, 400)
                await idle(services)
    assert not await OutboxMessage.all().exists()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_nul_in_a_telegram_message_is_stripped(any_db: str, tmp_path: Path) -> None:
    await import_households(tmp_path)
    async with FakeTelegram(token=TOKEN, **FAKE_PACE) as tg:
        async with running(any_db, tg) as services:
            await enrol(tg)
            await tg.user_message(CHAT, "楼道\x00灯坏了")  # a question, outside any survey
            await tg.wait_sent(CHAT, count=2, timeout=10)
            await idle(services)
    (question,) = await Question.all()
    assert question.text == "楼道灯坏了"


async def test_nul_in_an_sms_is_stripped(any_db: str, tmp_path: Path) -> None:
    await import_households(tmp_path)
    async with (
        FakeTelegram(token=TOKEN, **FAKE_PACE) as tg,
        FakeTwilio(account_sid=SID, auth_token=AUTH) as tw,
    ):
        sms = {
            "twilio_account_sid": SID,
            "twilio_auth_token": AUTH,
            "twilio_from": "+15005550006",
            "twilio_api_url": tw.url,
        }
        async with running(any_db, tg, **sms) as services:
            base = services.settings.public_url
            status, _ = await tw.inbound(f"{base}/twilio/sms", SMS_PHONE, "水管\x00漏水", retries=0)
            assert status == 200
            await idle(services)
    (question,) = await Question.all()
    assert question.text == "水管漏水"
