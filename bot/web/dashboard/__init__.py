"""The web side of louzhang: staff dashboard and resident simulator.

:func:`setup_dashboard` adds the pages, the login, the access middleware and the templates to
the aiohttp app built by :func:`bot.web.app.create_app`.
"""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.web.dashboard import drives, pages, simulator
from bot.web.dashboard.auth import COOKIE, access_middleware, secret_key, set_session
from bot.web.dashboard.context import add_time_filters, audit_refusals, demo_middleware, page
from bot.web.dashboard.live import CLOSING, LIVE, LiveHub
from bot.web.keys import CLOCK, CSRF_KEY, SESSION_KEY, SETTINGS, STAFF_KEY
from estate.access import audit
from estate.logins import end_session, peek_token, spend_token
from surveys.definition import survey_title

STATIC = Path(__file__).parent / "static"
_TOKEN_IN_PATH = re.compile(r"/login/[\w-]+")


class _HideLoginTokens(logging.Filter):
    """Access-log lines show /login/*** instead of a login link's token."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "/login/" in record.msg:
            record.msg = _TOKEN_IN_PATH.sub("/login/***", record.msg)
        return True


def _hide_tokens_in_access_log() -> None:
    access = logging.getLogger("aiohttp.access")
    if not any(isinstance(f, _HideLoginTokens) for f in access.filters):
        access.addFilter(_HideLoginTokens())


async def login_help(request: web.Request) -> web.Response:
    return page(request, "login.html", {})


async def login_link(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    staff = await peek_token(token, request.app[CLOCK].now())
    return page(request, "login.html", {"token": token, "who": staff.name if staff else None})


async def login_spend(request: web.Request) -> web.StreamResponse:
    token = request.match_info["token"]
    staff = await spend_token(token, request.app[CLOCK].now())
    if staff is None:
        return page(request, "login.html", {"token": token, "who": None})
    response = web.HTTPSeeOther("/")
    await set_session(response, request, staff)
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    await end_session(request[CSRF_KEY])  # the old cookie never works again
    request.app[LIVE].close_session(request[CSRF_KEY])  # nor do its open live pages
    await audit(now=request.app[CLOCK].now(), action="logout", staff=request[STAFF_KEY])
    response = web.HTTPSeeOther("/login")
    response.del_cookie(COOKIE, path="/")
    raise response


def setup_dashboard(app: web.Application) -> None:
    """Needs the app's SETTINGS, CLOCK, ROUTER, RUNTIME, DISPATCHER, HUB and SIMULATED keys."""
    _hide_tokens_in_access_log()
    app[SESSION_KEY] = secret_key(app[SETTINGS])
    app[CLOSING] = asyncio.Event()
    app[pages.CONFIRMED] = set()  # confirmed round previews (one round per preview)
    app[LIVE] = LiveHub()  # the open live pages: bounded per session, one build per change

    async def closing(app: web.Application) -> None:
        app[CLOSING].set()
        app[LIVE].close_all()

    app.on_shutdown.append(closing)
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("bot.web.dashboard", "templates"),
        autoescape=jinja2.select_autoescape(["html"], default=True),
    )
    add_time_filters(env, app[SETTINGS].timezone)
    env.globals["survey_title"] = survey_title  # pickers and lists name a survey by its title
    app.middlewares.append(access_middleware)
    app.middlewares.append(demo_middleware)
    app.middlewares.append(audit_refusals)  # inside: the staff member is known
    r = app.router
    r.add_static("/static/", STATIC)
    r.add_get("/login", login_help)
    r.add_get("/login/{token}", login_link)
    r.add_post("/login/{token}", login_spend)
    r.add_post("/logout", logout)
    r.add_get("/", pages.overview)
    r.add_get("/rounds", pages.rounds)
    r.add_post("/rounds", pages.open_round)
    r.add_get(r"/rounds/{round_id:\d+}", pages.round_page)
    r.add_get(r"/rounds/{round_id:\d+}/live", pages.round_live)
    r.add_get(r"/rounds/{round_id:\d+}.xlsx", pages.round_xlsx)
    r.add_get(r"/rounds/{round_id:\d+}/recordings/{recording_id:\d+}.mp3", pages.round_recording)
    r.add_get(r"/recordings/{recording_id:\d+}.mp3", pages.recording_audio)
    r.add_get("/outbox", pages.outbox)
    r.add_get("/outbox/live", pages.outbox_live)
    r.add_get("/sim", simulator.index)
    r.add_get(r"/sim/household/{household_id:\d+}", simulator.household_page)
    r.add_post(r"/sim/household/{household_id:\d+}/send", simulator.household_send)
    r.add_get(r"/sim/household/{household_id:\d+}/live", simulator.household_live)
    r.add_post(r"/sim/household/{household_id:\d+}/call", simulator.household_call)
    r.add_get(r"/sim/staff/{staff_id:\d+}", simulator.staff_page)
    r.add_post(r"/sim/staff/{staff_id:\d+}/send", simulator.staff_send)
    r.add_get(r"/sim/staff/{staff_id:\d+}/live", simulator.staff_live)
    drives.add_routes(r)
