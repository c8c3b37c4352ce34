"""``GET /healthz``: the database answers, and which providers are on."""

from __future__ import annotations

from aiohttp import web

from bot.web.keys import SMS_ON, TELEGRAM
from estate.first_start import database_ok


async def healthz(request: web.Request) -> web.Response:
    db = await database_ok()
    body = {
        "status": "ok" if db else "degraded",
        "database": db,
        "telegram": request.app[TELEGRAM] is not None,
        "sms": request.app[SMS_ON],
    }
    return web.json_response(body, status=200 if db else 503)
