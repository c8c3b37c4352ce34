"""Telegram gateway: a :class:`Message` becomes sendMessage / sendPhoto / sendDocument /
editMessageText.

A message over Telegram's limits was split when it was enqueued
(:func:`notifications.channels.limits.split_message`); what still does not fit here (an edit, a
row written before the split existed) is shortened with an ellipsis, never sent to be refused.
"""

from __future__ import annotations

from datetime import timedelta

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from notifications.channels.base import PermanentFailure, RetryLater, SendResult, Unreachable
from notifications.channels.limits import TELEGRAM_CAPTION, TELEGRAM_TEXT, shorten
from notifications.message import Message

ReplyMarkup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None

_UNREACHABLE_HINTS = (
    "chat not found",
    "user is deactivated",
    "bot can't initiate",
    "peer_id_invalid",
)


def reply_markup(message: Message) -> ReplyMarkup:
    if message.buttons:
        return InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(b.label, callback_data=b.data) for b in row]
                for row in message.buttons
            ]
        )
    if message.request_contact:
        return ReplyKeyboardMarkup(
            [[KeyboardButton(message.request_contact, request_contact=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    if message.remove_keyboard:
        return ReplyKeyboardRemove()
    return None


def _seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramChannel:
    name = "telegram"

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    def sender_key(self) -> str:
        return "telegram"

    def cost(self, message: Message) -> int:
        return 1

    async def send(self, address: str, message: Message) -> SendResult:
        chat_id = int(address)
        markup = reply_markup(message)
        edit_id = message.extra.get("edit_message_id")
        try:
            if edit_id is not None:
                result = await self.bot.edit_message_text(
                    shorten(message.text, TELEGRAM_TEXT),
                    chat_id=chat_id,
                    message_id=int(edit_id),
                    reply_markup=markup,  # type: ignore[arg-type]
                )
                sent_id = edit_id if isinstance(result, bool) else result.message_id
                return SendResult(provider_id=str(sent_id))
            document = message.document()
            if document is not None:
                name, content = document
                sent = await self.bot.send_document(
                    chat_id,
                    InputFile(content, filename=name),
                    caption=shorten(message.text, TELEGRAM_CAPTION) or None,
                    reply_markup=markup,
                )
            elif message.photo:
                sent = await self.bot.send_photo(
                    chat_id,
                    message.photo,
                    caption=shorten(message.text, TELEGRAM_CAPTION),
                    reply_markup=markup,
                )
            else:
                sent = await self.bot.send_message(
                    chat_id, shorten(message.text, TELEGRAM_TEXT), reply_markup=markup
                )
        except RetryAfter as exc:
            raise RetryLater(
                "telegram flood control", "429", after=_seconds(exc.retry_after)
            ) from exc
        except Forbidden as exc:
            raise Unreachable(f"telegram: {exc.message}", "403") from exc
        except ChatMigrated as exc:
            raise PermanentFailure(f"telegram: chat migrated to {exc.new_chat_id}", "400") from exc
        except BadRequest as exc:
            text = exc.message.lower()
            if edit_id is not None and "message is not modified" in text:
                return SendResult(provider_id=str(edit_id))
            if any(hint in text for hint in _UNREACHABLE_HINTS):
                raise Unreachable(f"telegram: {exc.message}", "400") from exc
            raise PermanentFailure(f"telegram: {exc.message}", "400") from exc
        except NetworkError as exc:  # includes TimedOut; BadRequest is handled above
            raise RetryLater(f"telegram network: {exc.message}", "network") from exc
        except TelegramError as exc:
            raise RetryLater(f"telegram: {exc.message}", "error") from exc
        return SendResult(provider_id=str(sent.message_id))
