"""The aiohttp application: health, Telegram webhook, Twilio webhooks."""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from telegram import Update

from bot.app import Services, start_services, stop_services
from bot.web.dashboard import setup_dashboard
from bot.web.keys import SERVICES
from bot.web.metrics import metrics
from bot.web.webhooks import TwilioWebhooks
from estate.models import Estate

log = logging.getLogger(__name__)


async def healthz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    try:
        await Estate.all().count()
        db = True
    except Exception:
        db = False
    body = {
        "status": "ok" if db else "degraded",
        "database": db,
        "telegram": services.telegram is not None,
        "sms": services.sms is not None,
    }
    return web.json_response(body, status=200 if db else 503)


async def telegram_webhook(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    app = services.telegram
    if app is None:
        return web.Response(status=404, text="telegram is off")
    secret = services.settings.telegram_webhook_secret
    if secret:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return web.Response(status=403, text="bad secret token")
    try:
        data = await request.json()
        update = Update.de_json(data, app.bot)
    except Exception:
        return web.Response(status=400, text="not a Telegram update")
    if update is None:
        return web.Response(status=400, text="not a Telegram update")
    await app.update_queue.put(update)
    return web.Response(status=200)


def create_app(services: Services, *, manage_services: bool = True) -> web.Application:
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app[SERVICES] = services
    twilio = TwilioWebhooks(services.settings, services.router)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_post("/telegram/webhook", telegram_webhook)
    app.router.add_post("/twilio/sms", twilio.sms)
    app.router.add_post("/twilio/status", twilio.status)
    setup_dashboard(app, services)  # staff pages and the simulator; needs a login
    if manage_services:

        async def lifecycle(app: web.Application) -> AsyncIterator[None]:
            await start_services(services)
            yield
            await stop_services(services)

        app.cleanup_ctx.append(lifecycle)
    return app
