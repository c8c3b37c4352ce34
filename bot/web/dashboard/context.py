"""What every page shares: the language and the template context."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bot.web.dashboard.texts import UI
from bot.web.keys import CSRF_KEY, SETTINGS, STAFF_KEY
from config.i18n import normalise_language

LANG_COOKIE = "lz_lang"


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
