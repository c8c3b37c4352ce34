"""python-telegram-bot inside our service: handlers turn updates into :class:`Inbound`.

Webhook mode: PTB runs without an Updater; our aiohttp route feeds ``update_queue``.
Polling mode: PTB's Updater long-polls ``getUpdates``. Either way the Bot talks to
``LOUZHANG_TELEGRAM_API_URL``.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.router import Router
from config.settings import Settings
from notifications.inbound import Inbound

log = logging.getLogger(__name__)


def build_application(settings: Settings, router: Router) -> Application:  # type: ignore[type-arg]
    api = settings.telegram_api_url.rstrip("/")
    builder = (
        Application.builder()
        .token(settings.telegram_token or "")
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .concurrent_updates(64)  # the router serialises each household itself
    )
    if settings.telegram_mode == "webhook":
        builder = builder.updater(None)
    app = builder.build()
    handlers = TelegramHandlers(router)
    app.add_handler(MessageHandler(filters.CONTACT, handlers.on_contact))
    app.add_handler(CallbackQueryHandler(handlers.on_button))
    app.add_handler(MessageHandler(filters.PHOTO, handlers.on_photo))
    app.add_handler(MessageHandler(filters.TEXT, handlers.on_text))
    app.add_error_handler(handlers.on_error)
    return app


class TelegramHandlers:
    def __init__(self, router: Router) -> None:
        self.router = router

    @staticmethod
    def _inbound(update: Update, **fields: Any) -> Inbound:
        chat = update.effective_chat
        user = update.effective_user
        return Inbound(
            channel="telegram",
            address=str(chat.id if chat else user.id if user else 0),
            language=user.language_code if user else None,
            id=f"u{update.update_id}",
            **fields,
        )

    async def on_contact(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or message.contact is None:
            return
        owner = update.effective_user
        shared = message.contact
        own = shared.user_id is not None and owner is not None and shared.user_id == owner.id
        await self.router.handle(
            self._inbound(update, phone=shared.phone_number, phone_owner_ok=own)
        )

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        message_id = query.message.message_id if query.message else None
        routed = await self.router.handle(
            self._inbound(update, choice=query.data or "", message_id=message_id)
        )
        try:
            await query.answer(routed.toast)
        except Exception as exc:  # an expired query must not lose the stored answer
            log.info("answerCallbackQuery failed: %s", type(exc).__name__)

    async def on_photo(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or not message.photo:
            return
        await self.router.handle(
            self._inbound(update, photo=message.photo[-1].file_id, text=message.caption)
        )

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or message.text is None:
            return
        await self.router.handle(
            self._inbound(update, text=message.text, message_id=message.message_id)
        )

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram handler error: %r", context.error, exc_info=context.error)
