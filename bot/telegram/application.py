"""python-telegram-bot inside our service: updates become :class:`Inbound` and go to the router.

Webhook mode: PTB runs without an Updater; our aiohttp route feeds ``update_queue``.
Polling mode: PTB's Updater long-polls ``getUpdates``. Either way the Bot (built by
:func:`notifications.channels.telegram.make_bot`, shared with the outbox) talks to
``LOUZHANG_TELEGRAM_API_URL``. notifications/channels/telegram.py parses the updates.

Each update has at most one effect: before any handler, the update is marked as seen
(notifications/seen.py, kept in the database); an update Telegram delivers again (a webhook
retry, getUpdates after a restart) stops there. Handling that fails removes the mark.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.router import Router
from bot.texts import TEXTS
from config.clock import Clock
from config.i18n import text
from config.settings import Settings
from notifications.channels.telegram import (
    parse_button,
    parse_contact,
    parse_photo,
    parse_text,
    parse_voice,
    update_key,
)
from notifications.inbound import Inbound
from notifications.seen import SeenMarks

PROVIDER = "telegram"  # the seen marks' provider name

log = logging.getLogger(__name__)


def application_builder(settings: Settings, bot: ExtBot) -> ApplicationBuilder:  # type: ignore[type-arg]
    """The builder options of our Application (also the benchmark's bare PTB baseline)."""
    builder = Application.builder().bot(bot).concurrent_updates(64)  # the router serialises
    if settings.telegram_mode == "webhook":  # each household itself
        builder = builder.updater(None)
    return builder


def build_application(
    settings: Settings,
    bot: ExtBot,  # type: ignore[type-arg]
    router: Router,
    *,
    seen: SeenMarks | None = None,
    clock: Clock | None = None,
) -> Application:  # type: ignore[type-arg]
    app = application_builder(settings, bot).build()
    handlers = TelegramHandlers(router, seen or SeenMarks(), clock or router.clock)
    app.add_handler(TypeHandler(Update, handlers.once), group=-1)  # before every handler
    app.add_handler(MessageHandler(filters.CONTACT, handlers.on_contact))
    app.add_handler(CallbackQueryHandler(handlers.on_button))
    app.add_handler(MessageHandler(filters.PHOTO, handlers.on_photo))
    app.add_handler(MessageHandler(filters.VOICE | filters.AUDIO, handlers.on_voice))
    app.add_handler(MessageHandler(filters.TEXT, handlers.on_text))
    app.add_error_handler(handlers.on_error)
    return app


Parser = Callable[[Update], Inbound | None]


class TelegramHandlers:
    def __init__(self, router: Router, seen: SeenMarks, clock: Clock) -> None:
        self.router = router
        self.seen = seen
        self.clock = clock

    async def once(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Let an update through the first time only (retries and restarts included)."""
        if not await self.seen.first_time(PROVIDER, update_key(update), now=self.clock.now()):
            log.info("telegram update %s again: handled already", update.update_id)
            raise ApplicationHandlerStop

    async def _route(self, update: Update, parse: Parser) -> None:
        inbound = parse(update)
        if inbound is not None:
            await self.router.handle(inbound)

    async def on_contact(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._route(update, parse_contact)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        inbound = parse_button(update)
        if inbound is None or update.callback_query is None:
            return
        try:
            routed = await self.router.handle(inbound)
        except Exception:  # the button does not spin forever; the error handler logs it
            await self._answer(update, text(TEXTS, "system_error", self.router.lang(inbound)))
            raise
        await self._answer(update, routed.toast)

    async def _answer(self, update: Update, toast: str | None) -> None:
        assert update.callback_query is not None
        try:
            await update.callback_query.answer(toast)
        except Exception as exc:  # an expired query must not lose the stored answer
            log.info("answerCallbackQuery failed: %s", type(exc).__name__)

    async def on_photo(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._route(update, parse_photo)

    async def on_voice(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._route(update, parse_voice)

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._route(update, parse_text)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram handler error: %r", context.error, exc_info=context.error)
        if isinstance(update, Update):  # a delivery again may be handled
            await self.seen.forget(PROVIDER, update_key(update))
