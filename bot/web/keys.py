"""Typed aiohttp application keys: one per thing the web handlers need, set by
:func:`bot.web.app.create_app`."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from telegram.ext import Application

from bot.router import Router
from config.clock import Clock
from config.settings import Settings
from notifications.calls import VoiceCalls
from notifications.channels.local import LocalHub
from notifications.dispatch.dispatcher import Dispatcher
from notifications.media import MediaStore
from notifications.seen import SeenMarks
from surveys.calls import CallIn, SurveyCalls
from surveys.runtime import SurveyRuntime

SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
ROUTER: web.AppKey[Router] = web.AppKey("router", Router)
RUNTIME: web.AppKey[SurveyRuntime] = web.AppKey("survey_runtime", SurveyRuntime)
DISPATCHER: web.AppKey[Dispatcher] = web.AppKey("dispatcher", Dispatcher)
HUB: web.AppKey[LocalHub] = web.AppKey("local_hub", LocalHub)  # the simulator's chats
# Channels delivered to the browser instead of a provider (no provider token is set).
SIMULATED: web.AppKey[frozenset[str]] = web.AppKey("simulated", frozenset[str])
TELEGRAM: web.AppKey[Application | None] = web.AppKey("telegram")  # type: ignore[type-arg]
SMS_ON: web.AppKey[bool] = web.AppKey("sms_on", bool)
# Provider messages already handled (one effect each), written in group commits.
SEEN: web.AppKey[SeenMarks] = web.AppKey("seen_marks", SeenMarks)
# Voice calls (None: voice is off): what a call says, its keypad replies, its status.
VOICE: web.AppKey[VoiceCalls | None] = web.AppKey("voice_calls")
# Audio played on the phone (GET /media/{name}, signed).
MEDIA: web.AppKey[MediaStore] = web.AppKey("media", MediaStore)

# Keypad surveys on a call, and residents calling in (None: not built, e.g. a bare test app).
SURVEY_CALLS: web.AppKey[SurveyCalls | None] = web.AppKey("survey_calls")
CALL_IN: web.AppKey[CallIn | None] = web.AppKey("call_in")

# ---- the dashboard -----------------------------------------------------------------------------
SESSION_KEY: web.AppKey[bytes] = web.AppKey("dashboard_session_key", bytes)  # signs the cookie
# Per-request state: typed keys where aiohttp has them (3.14+), plain names before.
_RequestKey: Any = getattr(web, "RequestKey", None)
STAFF_KEY: Any = _RequestKey("lz_staff", object) if _RequestKey else "lz_staff"
SCOPE_KEY: Any = _RequestKey("lz_scope", object) if _RequestKey else "lz_scope"
CSRF_KEY: Any = _RequestKey("lz_csrf", str) if _RequestKey else "lz_csrf"
DEMO_KEY: Any = _RequestKey("lz_demo", bool) if _RequestKey else "lz_demo"  # demo data here
