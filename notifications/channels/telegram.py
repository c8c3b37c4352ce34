"""Telegram, one protocol file.

* **the bot**: :func:`make_bot` builds the one Bot API client (``LOUZHANG_TELEGRAM_API_URL``) the
  outbox sends with and python-telegram-bot's Application receives with.
* **send**: a :class:`Message` becomes sendMessage / sendPhoto / sendDocument / sendVoice
  (``extra["audio"]``: the voice note by its file_id, else sendAudio with the media file) /
  editMessageText;
  the error table (:func:`classify_telegram_error`) maps Bot API errors to retry later /
  permanent failure / unreachable.
* **parse**: an Update (a text, a photo, a voice note, a shared contact, a button) becomes an
  :class:`Inbound`, marked edited (an edited message) and private or not (a group, supergroup
  or channel); an update without a chat, or with a chat id that is not a number, becomes
  nothing; NUL characters are stripped from the text. :func:`update_key` names an update for
  the once-per-update mark; :func:`download` fetches a file a user sent (getFile, then the
  file URL). Telegram has no delivery receipts.
* **the webhook secret**: :func:`with_webhook_secret` makes one at start in webhook mode.

A message over Telegram's limits was split when it was enqueued
(:func:`notifications.channels.limits.split_message`); what still does not fit here (an edit, a
row written before the split existed) is shortened with an ellipsis, never sent to be refused.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatType
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from config.settings import Settings
from notifications.channels.base import PermanentFailure, RetryLater, SendResult, Unreachable
from notifications.channels.limits import TELEGRAM_CAPTION, TELEGRAM_TEXT, shorten
from notifications.inbound import Inbound, clean_text
from notifications.media import MediaStore, audio_of
from notifications.message import Message

ReplyMarkup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None

_UNREACHABLE_HINTS = (
    "chat not found",
    "user is deactivated",
    "bot can't initiate",
    "peer_id_invalid",
)


def make_bot(settings: Settings) -> ExtBot:  # type: ignore[type-arg]
    """The Bot API client, with the request pools python-telegram-bot's ApplicationBuilder
    gives its own bot (256 connections for calls, one for getUpdates)."""
    api = settings.telegram_api_url.rstrip("/")
    return ExtBot(
        settings.telegram_token or "",
        base_url=f"{api}/bot",
        base_file_url=f"{api}/file/bot",
        request=HTTPXRequest(connection_pool_size=256),
        get_updates_request=HTTPXRequest(connection_pool_size=1),
    )


# ---- parsing updates -----------------------------------------------------------------------
def _chat_id(update: Update) -> int | None:
    """The chat an update came from; None without one or with an id that is not a number (a
    forged or unusual update: nothing can be answered there)."""
    chat = update.effective_chat
    chat_id = chat.id if chat is not None else None
    if isinstance(chat_id, bool) or not isinstance(chat_id, int):
        return None
    return chat_id


def _inbound(update: Update, **fields: Any) -> Inbound | None:
    chat_id = _chat_id(update)
    if chat_id is None:
        return None
    chat = update.effective_chat
    user = update.effective_user
    for name in ("text", "choice", "phone", "photo"):
        if name in fields:
            fields[name] = clean_text(fields[name])
    return Inbound(
        channel="telegram",
        address=str(chat_id),
        language=user.language_code if user else None,
        id=f"u{update.update_id}",
        private=chat is not None and chat.type == ChatType.PRIVATE,
        edited=update.edited_message is not None or update.edited_channel_post is not None,
        **fields,
    )


def update_key(update: Update) -> str:
    """What makes an update the same update when Telegram delivers it again (a webhook retry,
    getUpdates after a restart): its update_id, with the chat and message (or button press) it
    carries, because Telegram may restart update_ids at random after a quiet week."""
    chat = update.effective_chat
    message = update.effective_message
    query = update.callback_query
    item = query.id if query is not None else message.message_id if message is not None else ""
    return f"{update.update_id}:{chat.id if chat else ''}:{item}"[:64]


def new_webhook_secret() -> str:
    """A secret for setWebhook's ``secret_token`` (Telegram allows A-Z, a-z, 0-9, _ and -)."""
    return secrets.token_urlsafe(32)


def with_webhook_secret(settings: Settings) -> Settings:
    """The settings the service runs with: in webhook mode always with a webhook secret (one
    made now when LOUZHANG_TELEGRAM_WEBHOOK_SECRET is unset), so that /telegram/webhook never
    takes an update from anyone but Telegram."""
    if settings.telegram_mode != "webhook" or settings.telegram_webhook_secret:
        return settings
    return settings.model_copy(update={"telegram_webhook_secret": new_webhook_secret()})


def parse_contact(update: Update) -> Inbound | None:
    """A shared contact (the "share my phone number" button), marked as the sender's own or not."""
    message = update.effective_message
    if message is None or message.contact is None:
        return None
    owner = update.effective_user
    shared = message.contact
    own = shared.user_id is not None and owner is not None and shared.user_id == owner.id
    return _inbound(update, phone=shared.phone_number, phone_owner_ok=own)


def parse_button(update: Update) -> Inbound | None:
    query = update.callback_query
    if query is None:
        return None
    message_id = query.message.message_id if query.message else None
    return _inbound(update, choice=query.data or "", message_id=message_id)


def parse_photo(update: Update) -> Inbound | None:
    message = update.effective_message
    if message is None or not message.photo:
        return None
    return _inbound(
        update, photo=message.photo[-1].file_id, text=message.caption, message_id=message.message_id
    )


def parse_voice(update: Update) -> Inbound | None:
    """A voice note (or an audio file), with its caption as the text (``/notice 3 ...``)."""
    message = update.effective_message
    if message is None or (message.voice is None and message.audio is None):
        return None
    sent = message.voice or message.audio
    assert sent is not None
    return _inbound(update, voice=sent.file_id, text=message.caption, message_id=message.message_id)


async def download(bot: Bot, file_id: str) -> bytes:
    """The bytes of a file a user sent (getFile, then the file's download URL)."""
    try:
        found = await bot.get_file(file_id)
        return bytes(await found.download_as_bytearray())
    except TelegramError as exc:
        raise classify_telegram_error(exc) from exc


def parse_text(update: Update) -> Inbound | None:
    message = update.effective_message
    if message is None or message.text is None:
        return None
    return _inbound(update, text=message.text, message_id=message.message_id)


# ---- sending -------------------------------------------------------------------------------
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

    def __init__(self, bot: Bot, media: MediaStore | None = None) -> None:
        self.bot = bot
        self.media = media  # where extra["audio"] files are, when they have no file_id

    def sender_key(self) -> str:
        return "telegram"

    def cost(self, message: Message) -> int:
        return 1

    async def send(self, address: str, message: Message) -> SendResult:
        try:
            chat_id = int(address)
        except ValueError:
            raise PermanentFailure(f"telegram: {address!r} is not a chat id", "400") from None
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
            audio = audio_of(message.extra)
            stored = self.media.read(audio["name"]) if audio and self.media else None
            if audio is not None and audio.get("file_id"):
                sent = await self.bot.send_voice(
                    chat_id,
                    audio["file_id"],
                    caption=shorten(message.text, TELEGRAM_CAPTION) or None,
                    reply_markup=markup,
                )
            elif audio is not None and stored is not None:
                sent = await self.bot.send_audio(
                    chat_id,
                    InputFile(stored, filename=audio["name"]),
                    caption=shorten(message.text, TELEGRAM_CAPTION) or None,
                    reply_markup=markup,
                )
            elif document is not None:
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
        except BadRequest as exc:
            if edit_id is not None and "message is not modified" in exc.message.lower():
                return SendResult(provider_id=str(edit_id))
            raise classify_telegram_error(exc) from exc
        except TelegramError as exc:
            raise classify_telegram_error(exc) from exc
        return SendResult(provider_id=str(sent.message_id))


def classify_telegram_error(exc: TelegramError) -> Exception:
    """The one error table: a Bot API error as retry later, permanent failure or unreachable."""
    if isinstance(exc, RetryAfter):
        return RetryLater("telegram flood control", "429", after=_seconds(exc.retry_after))
    if isinstance(exc, Forbidden):
        return Unreachable(f"telegram: {exc.message}", "403")
    if isinstance(exc, ChatMigrated):
        return PermanentFailure(f"telegram: chat migrated to {exc.new_chat_id}", "400")
    if isinstance(exc, BadRequest):
        if any(hint in exc.message.lower() for hint in _UNREACHABLE_HINTS):
            return Unreachable(f"telegram: {exc.message}", "400")
        return PermanentFailure(f"telegram: {exc.message}", "400")
    if isinstance(exc, NetworkError):  # includes TimedOut; BadRequest is handled above
        return RetryLater(f"telegram network: {exc.message}", "network")
    return RetryLater(f"telegram: {exc.message}", "error")
