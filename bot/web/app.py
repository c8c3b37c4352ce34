"""The aiohttp application: health, metrics, the Telegram and Twilio webhooks, the dashboard.

:func:`create_app` takes the running parts (what :func:`bot.app.build_services` built) and puts
each one the handlers need under its own typed key (bot/web/keys.py); with ``manage_services``
each service's start and stop is one aiohttp cleanup context.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Protocol

from aiohttp import web
from telegram.ext import Application

from bot.router import Router
from bot.web import media, webhooks
from bot.web.dashboard import setup_dashboard
from bot.web.health import healthz
from bot.web.keys import (
    CALL_IN,
    CLOCK,
    DISPATCHER,
    HUB,
    MEDIA,
    ROUTER,
    RUNTIME,
    SEEN,
    SETTINGS,
    SIMULATED,
    SMS_ON,
    SURVEY_CALLS,
    TELEGRAM,
    VOICE,
)
from bot.web.metrics import metrics
from config.clock import Clock
from config.settings import Settings
from notifications.channels.local import LocalHub
from notifications.dispatch.dispatcher import Dispatcher
from notifications.media import MediaStore
from notifications.seen import SeenMarks
from surveys.runtime import SurveyRuntime

CleanupContext = Callable[[web.Application], AsyncIterator[None]]


class WebServices(Protocol):
    """What the web side needs of the running service (bot.app.Services has it)."""

    settings: Settings
    clock: Clock
    router: Router
    runtime: SurveyRuntime
    dispatcher: Dispatcher
    telegram: Application | None  # type: ignore[type-arg]

    @property
    def sms_on(self) -> bool: ...

    @property
    def hub(self) -> LocalHub: ...

    @property
    def simulated(self) -> frozenset[str]: ...

    def cleanup_contexts(self) -> Sequence[CleanupContext]: ...


def create_app(services: WebServices, *, manage_services: bool = True) -> web.Application:
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app[SETTINGS] = services.settings
    app[CLOCK] = services.clock
    app[ROUTER] = services.router
    app[RUNTIME] = services.runtime
    app[DISPATCHER] = services.dispatcher
    app[HUB] = services.hub
    app[SIMULATED] = services.simulated
    app[TELEGRAM] = services.telegram
    app[SMS_ON] = services.sms_on
    app[SEEN] = SeenMarks()
    calls = getattr(services, "calls", None)
    if calls is not None:
        calls.seen = app[SEEN]  # one group commit of "seen" marks for every provider
    app[VOICE] = calls
    survey_calls = getattr(services, "survey_calls", None)
    call_in = getattr(services, "call_in", None)
    for steps in (survey_calls, call_in):
        if steps is not None:
            steps.seen = app[SEEN]
    app[SURVEY_CALLS] = survey_calls
    app[CALL_IN] = call_in
    app[MEDIA] = MediaStore(services.settings.data_dir / "media")
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    webhooks.add_routes(app.router)
    media.add_routes(app.router)
    setup_dashboard(app)  # staff pages and the simulator; needs a login
    if manage_services:
        contexts: list[Any] = list(services.cleanup_contexts())
        app.cleanup_ctx.extend(contexts)
    return app
