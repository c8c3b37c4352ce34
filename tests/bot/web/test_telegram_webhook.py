"""``POST /telegram/webhook`` (bot/web/webhooks.py) on an aiohttp app with the real route and a
stand-in for python-telegram-bot's Application (its bot and update queue). Promises:

- with Telegram off the route answers 404 "telegram is off";
- without the configured secret in X-Telegram-Bot-Api-Secret-Token (missing, empty, wrong, or
  none configured: polling mode) the request gets 403 "bad secret token" and queues nothing;
- with it, the update is queued for the bot (its update_id, tied to the app's bot so that it can
  be answered) and the request gets 200;
- a body that is not JSON, or JSON that is no update, gets 400 "not a Telegram update" and
  queues nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, cast

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from telegram import Bot, Update
from telegram.ext import Application

from bot.web.keys import SETTINGS, TELEGRAM
from bot.web.webhooks import add_routes
from tests.conftest import make_settings

SECRET = "s3cret-Token_1"
HEADER = "X-Telegram-Bot-Api-Secret-Token"
UPDATE = {
    "update_id": 41,
    "message": {"message_id": 1, "date": 0, "chat": {"id": 7, "type": "private"}, "text": "hi"},
}


@dataclass
class StandIn:
    bot: Bot = field(default_factory=lambda: Bot("123456:" + "A" * 35))
    update_queue: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)

    def queued(self) -> list[Any]:
        return [self.update_queue.get_nowait() for _ in range(self.update_queue.qsize())]


@contextlib.asynccontextmanager
async def telegram(
    secret: str | None = SECRET, on: bool = True
) -> AsyncIterator[tuple[TestClient, StandIn]]:
    app = web.Application()
    app[SETTINGS] = make_settings(telegram_webhook_secret=secret)
    stand_in = StandIn()
    app[TELEGRAM] = cast(Application[Any, Any, Any, Any, Any, Any], stand_in) if on else None
    add_routes(app.router)
    async with TestClient(TestServer(app)) as client:
        yield client, stand_in


async def _post(client: TestClient, body: Any, secret: str | None = SECRET) -> tuple[int, str]:
    headers = {HEADER: secret} if secret is not None else {}
    kwargs: dict[str, Any] = {"data": body} if isinstance(body, bytes) else {"json": body}
    async with client.post("/telegram/webhook", headers=headers, **kwargs) as resp:
        return resp.status, await resp.text()


async def test_with_telegram_off_the_route_is_not_found() -> None:
    async with telegram(on=False) as (client, _):
        assert await _post(client, UPDATE) == (404, "telegram is off")


async def test_an_update_with_the_secret_is_queued_for_the_bot() -> None:
    async with telegram() as (client, stand_in):
        assert (await _post(client, UPDATE))[0] == 200
        [update] = stand_in.queued()
        assert isinstance(update, Update) and update.update_id == 41
        assert update.effective_message is not None and update.effective_message.text == "hi"
        assert update.get_bot() is stand_in.bot


async def test_without_the_right_secret_nothing_is_queued() -> None:
    async with telegram() as (client, stand_in):
        for given in (None, "", SECRET[:-1], SECRET + "x", SECRET.lower()):
            assert await _post(client, UPDATE, given) == (403, "bad secret token"), given
        assert stand_in.queued() == []
    async with telegram(secret="XXXX") as (client, stand_in):  # whatever the secret is
        assert await _post(client, UPDATE, None) == (403, "bad secret token")
        assert stand_in.queued() == []
    async with telegram(secret=None) as (client, stand_in):  # polling mode: no secret at all
        for given in (None, ""):
            assert await _post(client, UPDATE, given) == (403, "bad secret token")
        assert stand_in.queued() == []


async def test_a_body_that_is_no_update_is_refused() -> None:
    async with telegram() as (client, stand_in):
        for body in (b"not json {", b"null", [UPDATE], {"message": "no id"}):
            assert await _post(client, body) == (400, "not a Telegram update"), body
        assert stand_in.queued() == []
