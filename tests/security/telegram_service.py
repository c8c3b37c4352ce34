"""louzhang running against the fake Telegram (tests/fakes/), for the security tests: the real
python-telegram-bot, the real /telegram/webhook route and the real dispatcher."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.app import Services, build_services
from bot.web.app import create_app
from estate.importing.residents import import_residents
from notifications.models import OutboxMessage
from notifications.states import OutboxStatus
from tests.conftest import free_port, make_settings
from tests.fakes.telegram import FakeTelegram
from tests.waiting import wait_for

TOKEN = "123:TEST"
CSV = (
    "building,floor,room,name,phone,birth_year,channel,language,home_bound,notes\r\n"
    "7,,1203室,王芳,138 0013 8000,1980,telegram,zh-CN,,\r\n"
    "7,12,1204,Anna Smith,+86 137 0013 7000,1990,telegram,en,,\r\n"
    "8,3,302,张伯,136 0013 6000,1940,sms,,yes,独居\r\n"
)
CHAT = 5550001  # 王芳's private chat (7-1203)
CHAT_EN = 5550002  # Anna Smith's (7-1204)
PHONE = "8613800138000"  # as Telegram clients share it
PHONE_EN = "8613700137000"
SMS_PHONE = "+8613600136000"  # 张伯, 8-302, by SMS only
GROUP = -1001234567890  # a supergroup of the building's neighbours
_UNFINISHED = (OutboxStatus.QUEUED, OutboxStatus.CLAIMED, OutboxStatus.SENDING)


async def import_households(tmp_path: Path) -> None:
    path = tmp_path / "residents.csv"
    path.write_text(CSV, encoding="utf-8")
    await import_residents(path)


@contextlib.asynccontextmanager
async def running(
    db: str,
    tg: FakeTelegram,
    *,
    secret: str | None = None,
    mode: str = "webhook",
    **overrides: Any,
) -> AsyncIterator[Services]:
    """``louzhang run`` on ``db`` (webhook mode by default), stopped on leaving; ``overrides``
    go to the settings (e.g. Twilio's). The dispatcher keeps the fake's per-chat pace (1/s by
    default; tests/pace.py)."""
    port = free_port()
    overrides.setdefault("telegram_rate_per_chat", 1.0 / tg.per_chat_interval)
    settings = make_settings(
        database_url=db,
        telegram_token=TOKEN,
        telegram_api_url=tg.url,
        telegram_mode=mode,
        telegram_webhook_secret=secret,
        public_url=f"http://127.0.0.1:{port}",
        **overrides,
    )
    services = build_services(settings)
    runner = web.AppRunner(create_app(services))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield services
    finally:
        await runner.cleanup()


async def idle(services: Services) -> None:
    """Every update handed over so far is handled and every message it queued is sent."""
    assert services.telegram is not None
    await asyncio.wait_for(services.telegram.update_queue.join(), 10)
    await wait_for(_all_sent)


async def _all_sent() -> bool:
    return not await OutboxMessage.filter(status__in=_UNFINISHED).exists()


async def next_message(tg: FakeTelegram, chat: int, count: int) -> dict[str, Any]:
    await tg.wait_sent(chat, count=count, timeout=10)
    return tg.sent_to(chat)[count - 1]


def buttons(message: dict[str, Any]) -> dict[str, str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row}


async def enrol(tg: FakeTelegram, chat: int = CHAT, phone: str = PHONE) -> None:
    """The resident shares their number in their private chat (one "linked" message)."""
    before = len(tg.sent_to(chat))
    await tg.user_contact(chat, phone)
    await next_message(tg, chat, before + 1)


async def at_how_many_tested(tg: FakeTelegram, services: Services) -> Any:
    """7-1203 enrolled, `antigen` open, "tested?" answered yes: asked how many were tested."""
    await enrol(tg)
    opened = await services.runtime.open_round("antigen", buildings=[7])
    first = await next_message(tg, CHAT, 2)
    await tg.user_press(CHAT, first["message_id"], buttons(first)["是"])
    asked = await next_message(tg, CHAT, 3)
    assert "几人" in asked["text"]
    return opened
