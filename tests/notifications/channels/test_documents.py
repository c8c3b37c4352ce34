"""A document (an XLSX report) through the Telegram gateway: sendDocument with its bytes, file
name and caption; the message survives the outbox's JSON; SMS would send the caption only."""

from __future__ import annotations

from telegram import Bot

from notifications.channels.telegram import TelegramChannel
from notifications.message import Message
from tests.fakes.telegram import FakeTelegram

TOKEN = "123:DOC"


def test_a_document_survives_the_outbox_json() -> None:
    message = Message.with_document("round 3", "round3.xlsx", b"PK\x03\x04 bytes")
    again = Message.from_json(message.to_json())
    assert again.document() == ("round3.xlsx", b"PK\x03\x04 bytes")
    assert again.text == "round 3"
    assert Message("plain").document() is None


async def test_telegram_sends_a_document_with_its_caption() -> None:
    # Contacts are made in the database: as if each chat had started the bot.
    async with FakeTelegram(token=TOKEN, strict_chats=False) as tg:
        bot = Bot(TOKEN, base_url=f"{tg.url}/bot", base_file_url=f"{tg.url}/file/bot")
        async with bot:
            channel = TelegramChannel(bot)
            content = b"PK\x03\x04" + bytes(range(256)) * 40
            result = await channel.send(
                "4242", Message.with_document("第3轮结果", "round3.xlsx", content)
            )
        (sent,) = tg.sent_to(4242)
        assert result.provider_id == str(sent["message_id"])
        assert sent["caption"] == "第3轮结果"
        assert sent["document"]["file_name"] == "round3.xlsx"
        assert tg.files[sent["document"]["file_id"]].content == content
