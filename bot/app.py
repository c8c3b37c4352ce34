"""Wiring: the parts of a running louzhang, built inside the event loop after Tortoise.init."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from telegram.ext import Application

from bot.router import Router
from bot.staff.drive import register_drive_commands
from bot.staff.login import register_login
from bot.staff.registry import StaffTools, register_staff_tools
from bot.telegram.application import build_application
from config.clock import Clock, SystemClock
from config.settings import Settings
from notifications.channels.base import ChannelAdapter
from notifications.channels.local import LocalChannel, LocalHub
from notifications.channels.telegram import TelegramChannel
from notifications.channels.twilio import TwilioSmsChannel
from notifications.dispatch.dispatcher import Dispatcher, Limits
from notifications.drives.runtime import DriveRuntime
from surveys.runtime import SurveyRuntime

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    clock: Clock
    dispatcher: Dispatcher
    runtime: SurveyRuntime
    router: Router
    drives: DriveRuntime
    telegram: Application | None = None  # type: ignore[type-arg]
    sms: TwilioSmsChannel | None = None
    staff_tools: StaffTools | None = None
    background: list[asyncio.Task[Any]] = field(default_factory=list)
    hub: LocalHub = field(default_factory=LocalHub)  # the browser's channel (simulator)
    simulated: frozenset[str] = frozenset()  # channels delivered to the browser, not a provider
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def channel_report(self) -> list[str]:
        lines = []
        if self.telegram is not None:
            lines.append(f"Telegram: on ({self.settings.telegram_mode})")
        else:
            lines.append("Telegram: off (set LOUZHANG_TELEGRAM_TOKEN to turn it on)")
        if self.sms is not None:
            lines.append("SMS: on (Twilio)")
        else:
            lines.append(
                "SMS: off (set LOUZHANG_TWILIO_ACCOUNT_SID, LOUZHANG_TWILIO_AUTH_TOKEN and "
                "LOUZHANG_TWILIO_FROM to turn it on)"
            )
        if self.simulated:
            lines.append(
                "Simulator: messages by "
                + ", ".join(sorted(self.simulated))
                + " are delivered to the browser (no provider token is set)"
            )
        return lines


def build_services(
    settings: Settings, *, clock: Clock | None = None, limits_enabled: bool | None = None
) -> Services:
    """Build every part (call inside a running loop: the Twilio client needs one)."""
    clock = clock or SystemClock()
    channels: dict[str, ChannelAdapter] = {}
    sms = TwilioSmsChannel(settings) if settings.sms_enabled else None
    if sms is not None:
        channels["sms"] = sms
    # Telegram's adapter needs the Application's bot; it is added once the router exists.
    dispatcher_channels = channels
    runtime = SurveyRuntime(clock=clock, settings=settings)
    router = Router(runtime, clock=clock, settings=settings)
    telegram = build_application(settings, router) if settings.telegram_enabled else None
    if telegram is not None:
        dispatcher_channels["telegram"] = TelegramChannel(telegram.bot)
    # The browser's own chats always; and when no provider is on at all (a fresh machine, a
    # rehearsal), everything the outbox would send by Telegram, SMS or voice goes there too.
    hub = LocalHub()
    simulated = frozenset({"telegram", "sms", "voice"}) if not dispatcher_channels else frozenset()
    for name in ("local", *sorted(simulated)):
        dispatcher_channels[name] = LocalChannel(name, hub)
    from bot.staff.care import register_care_commands  # pickups and questions

    register_care_commands(router)
    dispatcher = Dispatcher(
        dispatcher_channels,
        clock=clock,
        settings=settings,
        limits_enabled=settings.rate_limits if limits_enabled is None else limits_enabled,
    )
    for name in ("local", *simulated):  # a browser has no rate limit to respect
        dispatcher.limits[name] = Limits(None, None)
    # With a real provider on, rounds and call-ups never pick a simulator chat ("local"): it is
    # a rehearsal, and must not stand in for a household's real phone.
    real = set(dispatcher_channels) - ({"local"} if not simulated else set())
    runtime.enabled = real or {"telegram", "sms"}
    runtime.wake = dispatcher.notify
    router.wake = dispatcher.notify
    drives = DriveRuntime(
        clock=clock,
        enabled=runtime.enabled,
        wake_dispatcher=lambda: dispatcher.notify(urgent=True),
    )
    router.drives = drives
    register_drive_commands(router.staff_commands, router, drives)
    register_login(
        router.staff_commands, settings=settings, clock=clock, wake=lambda: router.wake()
    )
    services = Services(
        settings,
        clock,
        dispatcher,
        runtime,
        router,
        drives,
        telegram,
        sms,
        hub=hub,
        simulated=simulated,
    )
    services.staff_tools = register_staff_tools(services)
    return services


async def start_services(services: Services) -> None:
    settings = services.settings
    if services.telegram is not None:
        app = services.telegram
        await app.initialize()  # getMe
        await app.start()
        if settings.telegram_mode == "webhook":
            url = f"{(settings.public_url or '').rstrip('/')}/telegram/webhook"
            await app.bot.set_webhook(url, secret_token=settings.telegram_webhook_secret)
        elif app.updater is not None:
            await app.bot.delete_webhook()
            await app.updater.start_polling(timeout=20)
        if services.staff_tools is not None:
            await services.staff_tools.set_all_menus()
    services.background.append(asyncio.create_task(services.dispatcher.run(services.stop)))
    services.background.append(asyncio.create_task(services.drives.run(services.stop)))
    if services.staff_tools is not None and services.staff_tools.timers is not None:
        timers = services.staff_tools.timers.run(services.stop)
        services.background.append(asyncio.create_task(timers))


async def stop_services(services: Services) -> None:
    services.stop.set()
    await services.runtime.writer.close()
    for task in services.background:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, 30)
    if services.telegram is not None:
        app = services.telegram
        with contextlib.suppress(Exception):
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
            await app.shutdown()
    if services.sms is not None:
        await services.sms.close()
