"""What every page shares: the language and the template context."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web

from bot.web.dashboard.texts import UI
from bot.web.keys import CLOCK, CSRF_KEY, DEMO_KEY, SETTINGS, STAFF_KEY
from config.clock import CLOCK_SECONDS, CLOCK_TIME, MINUTE, SECOND, SHORT, local_time, utc_offset
from config.i18n import normalise_language
from estate.access import audit
from estate.first_start import demo_present

LANG_COOKIE = "lz_lang"

ID_MAX = 2**31 - 1  # the largest id the database holds (an IntField on PostgreSQL)


class AuditedForbidden(web.HTTPForbidden):
    """A refusal its handler audited already, in the words of the same action elsewhere (the
    drive page's buttons write what Telegram writes): audited once, not twice."""


def path_id(request: web.Request, name: str) -> int:
    """The id in the path segment ``name``; 404 when it is no id the database could hold
    (``/rounds/99999999999999999999`` is a page that does not exist, not a server error)."""
    value = request.match_info.get(name, "")
    if not value.isdecimal() or len(value) > 10 or not 0 < int(value) <= ID_MAX:
        raise web.HTTPNotFound(text=f"no such {name.removesuffix('_id')}")
    return int(value)


def small_int(value: str) -> int | None:
    """A form or query number the database could hold, or None."""
    text = value.strip()
    if not text.isdecimal() or len(text) > 10 or int(text) > ID_MAX:
        return None
    return int(text)


def lang_of(request: web.Request) -> str:
    chosen = request.query.get("lang") or request.cookies.get(LANG_COOKIE)
    if chosen:
        return normalise_language(chosen, "zh-CN")
    staff = request.get(STAFF_KEY)
    if staff is not None:
        return normalise_language(staff.language, "zh-CN")
    return request.app[SETTINGS].language


def translate(lang: str) -> Any:
    def t(key: str, **values: Any) -> str:
        entry = UI[key]
        template = entry.get(lang) or entry["zh-CN"]
        return template.format(**values) if values else template

    return t


def page(request: web.Request, template: str, context: dict[str, Any]) -> web.Response:
    """Render a page; ``?lang=`` also sets the language cookie for the next pages."""
    lang = lang_of(request)
    ctx = {
        "t": translate(lang),
        "lang": lang,
        "other_lang": "en" if lang == "zh-CN" else "zh-CN",
        "staff": request.get(STAFF_KEY),
        "csrf": request.get(CSRF_KEY, ""),
        "demo": request.get(DEMO_KEY, False),
        "path": request.path,
        "lang_url": request.rel_url.update_query(lang="en" if lang == "zh-CN" else "zh-CN"),
        **context,
    }
    response = aiohttp_jinja2.render_template(template, request, ctx)
    if "lang" in request.query:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="Lax", path="/")
    return response


def fragment(request: web.Request, template: str, context: dict[str, Any]) -> str:
    """A template rendered to text (what an event stream sends to replace part of a page)."""
    lang = lang_of(request)
    env = aiohttp_jinja2.get_env(request.app)
    ctx = {"t": translate(lang), "lang": lang, "csrf": request.get(CSRF_KEY, ""), **context}
    return env.get_template(template).render(ctx)


def add_time_filters(env: Any, zone: str) -> None:
    """Every time a page shows is the committee's local time (``LOUZHANG_TIMEZONE``), through
    config.clock.local_time: ``|local`` (date and minute), ``|local_s`` (to the second),
    ``|short`` (month-day and minute), ``|clock`` (HH:MM), ``|clock_s`` (HH:MM:SS). The zone and
    its offset are said once per page (``tz_name``, ``tz_offset``)."""
    tz = ZoneInfo(zone)
    for name, fmt in (
        ("local", MINUTE),
        ("local_s", SECOND),
        ("short", SHORT),
        ("clock", CLOCK_TIME),
        ("clock_s", CLOCK_SECONDS),
    ):
        env.filters[name] = lambda moment, _fmt=fmt: local_time(moment, tz, _fmt)
    env.globals["tz_name"] = zone
    env.globals["tz_offset"] = utc_offset(tz)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def demo_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Pages (not event streams or posts) learn whether the demo estate is in the database, so
    every page can say so plainly."""
    if (
        request.method == "GET"
        and request.get(STAFF_KEY) is not None
        and not request.path.endswith("/live")
    ):
        request[DEMO_KEY] = await demo_present()
    return await handler(request)


@web.middleware
async def audit_refusals(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every page a signed-in staff member is refused (another building, round, drive, export,
    household or staff chat) is audited the same way: action ``web <method> <route>``, the
    path asked for, allowed=False and the reason. Runs inside the access middleware."""
    try:
        return await handler(request)
    except web.HTTPForbidden as refused:
        staff = request.get(STAFF_KEY)
        if staff is not None and not isinstance(refused, AuditedForbidden):
            route = request.match_info.route.resource
            name = route.canonical if route is not None else request.path
            await audit(
                now=request.app[CLOCK].now(),
                action=f"web {request.method} {name}",
                staff=staff,
                target=request.path_qs,
                allowed=False,
                detail={"why": refused.text or "forbidden"},
            )
        raise
