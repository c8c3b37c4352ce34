"""What every page shares: the language and the template context."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bot.web.dashboard.texts import UI
from bot.web.keys import CLOCK, CSRF_KEY, SETTINGS, STAFF_KEY
from config.i18n import normalise_language
from estate.access import audit

LANG_COOKIE = "lz_lang"
ID_MAX = 2**31 - 1  # the largest id the database holds (an IntField on PostgreSQL)


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
        if staff is not None:
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
