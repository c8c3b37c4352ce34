"""The composition root: every part of a running louzhang, built with what it needs passed in.

:func:`build_channels` makes the providers' adapters (used by ``louzhang run``, ``louzhang
worker`` and the benchmarks); :func:`build_services` builds the rest on top of them, inside the
event loop after Tortoise.init. Each service that runs in the background (the Telegram
application, the dispatcher, the drives loop, the staff timers) starts and stops in its own
aiohttp cleanup context (:meth:`Services.cleanup_contexts`). Only bot/cli (run, worker) and the
benchmarks import this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from telegram.ext import Application, ExtBot

from bot.router import Router
from bot.staff.base import StaffCommands, StaffContext
from bot.staff.registry import build_staff_commands
from bot.telegram.application import build_application
from bot.telegram.menus import StaffMenus
from bot.web.dashboard.auth import secret_key
from config.clock import Clock, SystemClock
from config.settings import Settings
from estate.logins import create_login_link
from notifications.calls import VoiceCalls
from notifications.channels.base import ChannelAdapter
from notifications.channels.local import LocalChannel, LocalHub
from notifications.channels.telegram import (
    TelegramChannel,
    download,
    make_bot,
    with_webhook_secret,
)
from notifications.channels.twilio import TwilioSmsChannel
from notifications.channels.voice import TwilioVoiceChannel
from notifications.dispatch.dispatcher import Dispatcher, Limits
from notifications.drives.runtime import DriveRuntime
from notifications.media import MediaStore, fetch_recording, signed_path
from surveys.alerts import StaffAlerts
from surveys.calls import CallIn, SurveyCalls
from surveys.questions.desk import QuestionDesk
from surveys.reminders import TimerLoop
from surveys.runtime import SurveyRuntime

log = logging.getLogger(__name__)

STOP_TIMEOUT = 30.0  # seconds a background loop gets to finish what it is doing
CleanupContext = Callable[[Any], AsyncIterator[None]]


# ---- channels --------------------------------------------------------------------------------
@dataclass
class Channels:
    """The outbox's channel adapters, by name, and what the providers' settings turned on."""

    adapters: dict[str, ChannelAdapter]
    hub: LocalHub  # the browser's chats (the simulator)
    simulated: frozenset[str]  # channels delivered to the browser, not a provider
    telegram_bot: ExtBot | None = None  # type: ignore[type-arg]
    sms: TwilioSmsChannel | None = None
    voice: TwilioVoiceChannel | None = None
    media: MediaStore | None = None  # audio played on the phone (staff voice notes)

    @property
    def reachable(self) -> set[str]:
        """The channels rounds and call-ups may pick a household's contact on. With a real
        provider on, never a simulator chat ("local"): it is a rehearsal, and must not stand
        in for a household's real phone."""
        real = set(self.adapters) - ({"local"} if not self.simulated else set())
        return real or {"telegram", "sms"}

    async def close(self) -> None:
        if self.sms is not None:
            await self.sms.close()
        if self.voice is not None:
            await self.voice.close()


def build_channels(settings: Settings, *, simulator: bool = True) -> Channels:
    """The providers the settings turn on (create inside a running loop: the Twilio client
    needs one). With ``simulator`` (``louzhang run``): the browser's own chats always, and
    when no provider is on at all (a fresh machine, a rehearsal) everything the outbox would
    send by Telegram, SMS or voice goes to the browser too."""
    adapters: dict[str, ChannelAdapter] = {}
    sms = TwilioSmsChannel(settings) if settings.sms_enabled else None
    if sms is not None:
        adapters["sms"] = sms
    voice = TwilioVoiceChannel(settings) if settings.voice_enabled else None
    if voice is not None:
        adapters["voice"] = voice
    bot = make_bot(settings) if settings.telegram_enabled else None
    media = MediaStore(settings.data_dir / "media")
    if bot is not None:
        adapters["telegram"] = TelegramChannel(bot, media)
    hub = LocalHub()
    simulated: frozenset[str] = frozenset()
    if simulator:
        simulated = frozenset({"telegram", "sms", "voice"}) if not adapters else frozenset()
        for name in ("local", *sorted(simulated)):
            adapters[name] = LocalChannel(name, hub)
    return Channels(adapters, hub, simulated, telegram_bot=bot, sms=sms, voice=voice, media=media)


def build_dispatcher(
    channels: Channels,
    settings: Settings,
    clock: Clock,
    *,
    limits_enabled: bool | None = None,
    **options: Any,
) -> Dispatcher:
    """The dispatcher over these channels (``options``: Dispatcher's tuning, e.g. poll_interval)."""
    dispatcher = Dispatcher(
        channels.adapters,
        clock=clock,
        settings=settings,
        limits_enabled=settings.rate_limits if limits_enabled is None else limits_enabled,
        **options,
    )
    for name in ("local", *channels.simulated):  # a browser has no rate limit to respect
        if name in dispatcher.limits:
            dispatcher.limits[name] = Limits(None, None)
    return dispatcher


def _voice_notes(channels: Channels) -> Callable[[str], Coroutine[Any, Any, str]] | None:
    """A staff voice note (Telegram file_id) downloaded and kept, playable on the phone."""
    bot, media = channels.telegram_bot, channels.media
    if bot is None or media is None:
        return None

    async def voice_note(file_id: str) -> str:
        return await media.add_audio(await download(bot, file_id))

    return voice_note


def _recording_audio(
    settings: Settings, channels: Channels
) -> Callable[[str], Coroutine[Any, Any, str]] | None:
    """A resident's recording at Twilio fetched and kept (for Telegram's sendAudio)."""
    media = channels.media
    if media is None or not settings.twilio_account_sid:
        return None

    async def recording_audio(url: str) -> str:
        return media.add_file(await fetch_recording(url, settings))

    return recording_audio


# ---- services --------------------------------------------------------------------------------
@dataclass
class Services:
    settings: Settings
    clock: Clock
    channels: Channels
    dispatcher: Dispatcher
    runtime: SurveyRuntime
    drives: DriveRuntime
    router: Router
    telegram: Application | None  # type: ignore[type-arg]
    staff_menus: StaffMenus | None = None
    timers: TimerLoop | None = None
    calls: VoiceCalls | None = None
    survey_calls: SurveyCalls | None = None  # keypad surveys on a call
    call_in: CallIn | None = None  # residents calling the committee's number
    _started: contextlib.AsyncExitStack | None = field(default=None, repr=False)

    @property
    def sms(self) -> TwilioSmsChannel | None:
        return self.channels.sms

    @property
    def sms_on(self) -> bool:
        return self.channels.sms is not None

    @property
    def hub(self) -> LocalHub:
        return self.channels.hub

    @property
    def simulated(self) -> frozenset[str]:
        return self.channels.simulated

    def channel_report(self) -> list[str]:
        lines = []
        if self.telegram is not None:
            lines.append(f"Telegram: on ({self.settings.telegram_mode})")
        else:
            lines.append("Telegram: off (set LOUZHANG_TELEGRAM_TOKEN to turn it on)")
        if self.channels.voice is not None:
            lines.append(f"Voice calls: on (Twilio, {self.settings.voice_calls_per_second:g}/s)")
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

    # ---- one cleanup context per service ------------------------------------------------------
    def cleanup_contexts(self) -> list[CleanupContext]:
        """In start order; aiohttp stops them in reverse (the loops, then Telegram, then the
        answer writer and the provider clients)."""
        contexts: list[CleanupContext] = [self._providers, self._answer_writer]
        if self.telegram is not None:
            contexts.append(self._telegram)
        contexts.append(self._loop("dispatcher", self.dispatcher.run))
        contexts.append(self._loop("drives", self.drives.run))
        if self.timers is not None:
            contexts.append(self._loop("staff timers", self.timers.run))
        return contexts

    async def _providers(self, app: Any = None) -> AsyncIterator[None]:
        yield
        await self.channels.close()

    async def _answer_writer(self, app: Any = None) -> AsyncIterator[None]:
        yield
        await self.runtime.writer.close()

    async def _telegram(self, app: Any = None) -> AsyncIterator[None]:
        telegram = self.telegram
        assert telegram is not None
        settings = self.settings
        await telegram.initialize()  # getMe
        self.router.bot_username = telegram.bot.username  # the t.me link for group chats
        await telegram.start()
        if settings.telegram_mode == "webhook":
            url = f"{(settings.public_url or '').rstrip('/')}/telegram/webhook"
            await telegram.bot.set_webhook(url, secret_token=settings.telegram_webhook_secret)
        elif telegram.updater is not None:
            await telegram.bot.delete_webhook()
            await telegram.updater.start_polling(timeout=20)
        if self.staff_menus is not None:
            await self.staff_menus.set_all_menus()
        yield
        try:
            if telegram.updater is not None and telegram.updater.running:
                await telegram.updater.stop()
            if telegram.running:
                await telegram.stop()
            await telegram.shutdown()
        except Exception as exc:  # the Bot API may be gone at shutdown; nothing is lost
            log.warning("telegram did not stop cleanly: %r", exc)

    @staticmethod
    def _loop(
        name: str, run: Callable[[asyncio.Event], Coroutine[Any, Any, None]]
    ) -> CleanupContext:
        async def context(app: Any = None) -> AsyncIterator[None]:
            stop = asyncio.Event()
            task = asyncio.create_task(run(stop), name=name)
            yield
            stop.set()
            try:
                await asyncio.wait_for(task, STOP_TIMEOUT)
            except TimeoutError:
                log.error("%s did not stop within %.0fs; cancelled", name, STOP_TIMEOUT)
            except asyncio.CancelledError:
                pass
            except Exception:
                log.exception("%s failed", name)
                raise

        return context


def build_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    limits_enabled: bool | None = None,
    channels: Channels | None = None,
) -> Services:
    """Build every part (call inside a running loop: the Twilio client needs one). In webhook
    mode the settings the service runs with always carry a webhook secret (made now if unset):
    setWebhook gets it and /telegram/webhook refuses every update without it."""
    settings = with_webhook_secret(settings)
    clock = clock or SystemClock()
    channels = channels or build_channels(settings)
    dispatcher = build_dispatcher(channels, settings, clock, limits_enabled=limits_enabled)
    runtime = SurveyRuntime(
        clock=clock, settings=settings, enabled_channels=channels.reachable, wake=dispatcher.notify
    )
    if "voice" in channels.simulated:  # the browser shows a voice household's questions
        runtime.no_surveys_by = frozenset()
    drives = DriveRuntime(
        clock=clock,
        enabled=channels.reachable,
        wake_dispatcher=lambda: dispatcher.notify(urgent=True),
        voice_lead=timedelta(seconds=settings.voice_ring_lead),
    )
    router = Router(
        runtime,
        clock=clock,
        settings=settings,
        wake=dispatcher.notify,
        drives=drives,
        staff_commands=StaffCommands(clock=clock),
    )
    bot = channels.telegram_bot
    telegram = build_application(settings, bot, router, clock=clock) if bot is not None else None
    services = Services(settings, clock, channels, dispatcher, runtime, drives, router, telegram)
    # The staff commands: the one call site (bot/staff/registry.py builds them).
    staff = StaffContext(
        settings=settings,
        clock=clock,
        runtime=runtime,
        drives=drives,
        send=router.send,
        wake=dispatcher.notify,
        desk=QuestionDesk(tz=runtime.tz),
        login_link=lambda member: create_login_link(member, settings=settings, clock=clock),
        voice_note=_voice_notes(channels),
        recording_audio=_recording_audio(settings, channels),
    )
    assert router.staff_commands is not None
    commands = build_staff_commands(staff, router.staff_commands)
    # Staff replies go through the router's send, so these two hooks are set once both exist.
    router.free_text = commands.free_text
    services.staff_menus = StaffMenus(commands, telegram)
    router.staff_linked = services.staff_menus.set_menu
    runtime.alert_hooks.append(StaffAlerts(clock, dispatcher.notify))
    services.timers = TimerLoop(runtime)
    services.calls = VoiceCalls(
        clock=clock, settings=settings, drives=drives, wake=lambda: dispatcher.notify("voice")
    )
    media_url = _media_url(settings, clock)
    services.calls.media_url = media_url
    services.survey_calls = SurveyCalls(runtime=runtime, clock=clock)
    services.call_in = CallIn(
        surveys=services.survey_calls,
        clock=clock,
        settings=settings,
        media_url=media_url,
        keep_recording=_recording_audio(settings, channels),
        wake=dispatcher.notify,
    )
    return services


def _media_url(settings: Settings, clock: Clock) -> Callable[[str], str]:
    """A media name -> the absolute URL <Play> fetches, signed and short-lived."""
    key = secret_key(settings)
    base = (settings.public_url or "").rstrip("/")

    def media_url(name: str) -> str:
        return base + signed_path(key, name, now=clock.now().timestamp())

    return media_url


# ---- without aiohttp (tests, tools) ----------------------------------------------------------
async def start_services(services: Services) -> None:
    """Start every service's context in order (what ``create_app`` leaves to aiohttp)."""
    stack = contextlib.AsyncExitStack()
    for context in services.cleanup_contexts():
        await stack.enter_async_context(contextlib.asynccontextmanager(context)(None))
    services._started = stack


async def stop_services(services: Services) -> None:
    if services._started is not None:
        stack, services._started = services._started, None
        await stack.aclose()
