"""In webhook mode a secret always protects /telegram/webhook (made at start when unset).

With ``LOUZHANG_TELEGRAM_MODE=webhook`` and no ``LOUZHANG_TELEGRAM_WEBHOOK_SECRET``, louzhang
makes a secret at start and gives it to setWebhook (``secret_token``): Telegram sends it back in
``X-Telegram-Bot-Api-Secret-Token``, and any POST without it gets 403 and changes nothing (a
forged shared contact links no household, a forged ``/notice`` sends nothing). In polling mode
the route takes nothing at all."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import Services
from estate.models import Contact
from notifications.models import InboundSeen, OutboxMessage
from tests.fakes.telegram import FakeTelegram
from tests.pace import FAKE_PACE
from tests.security.telegram_service import CHAT, PHONE, TOKEN, idle, import_households, running


async def post(services: Services, update: dict[str, Any], secret: str | None = None) -> int:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    url = f"{services.settings.public_url}/telegram/webhook"
    async with aiohttp.ClientSession() as http, http.post(url, json=update, headers=headers) as r:
        return r.status


async def test_a_secret_is_made_at_start_and_updates_without_it_are_refused(
    db: str, tmp_path: Path
) -> None:
    await import_households(tmp_path)
    async with FakeTelegram(token=TOKEN, **FAKE_PACE) as tg:
        async with running(db, tg, secret=None) as services:
            made = tg.webhook_secret  # what setWebhook received
            assert made and re.fullmatch(r"[A-Za-z0-9_-]{32,256}", made)
            forged = tg.make_contact_update(CHAT, PHONE)
            assert await post(services, forged) == 403  # no header
            assert await post(services, forged, "") == 403
            assert await post(services, forged, made[:-1]) == 403  # a wrong secret
            await idle(services)
            assert not await Contact.filter(channel="telegram").exists()
            assert not await OutboxMessage.all().exists()
            assert not await InboundSeen.all().exists()

            assert await tg.deliver(forged) == 200  # Telegram itself sends the secret
            await tg.wait_sent(CHAT, count=1, timeout=10)
            assert await Contact.filter(channel="telegram", address=str(CHAT)).exists()

        async with running(db, tg, secret=None):  # a new start makes a new secret
            assert tg.webhook_secret and tg.webhook_secret != made


async def test_a_configured_secret_is_used_as_it_is(db: str) -> None:
    async with (
        FakeTelegram(token=TOKEN, **FAKE_PACE) as tg,
        running(db, tg, secret="operator-Secret_1"),
    ):
        assert tg.webhook_secret == "operator-Secret_1"


@pytest.mark.parametrize("secret", [None, "s3cret"])
async def test_in_polling_mode_the_route_takes_nothing_without_the_secret(
    db: str, tmp_path: Path, secret: str | None
) -> None:
    await import_households(tmp_path)
    async with FakeTelegram(token=TOKEN, **FAKE_PACE) as tg:
        async with running(db, tg, secret=secret, mode="polling") as services:
            assert tg.webhook_url is None
            forged = tg.make_contact_update(CHAT, PHONE)
            assert await post(services, forged) == 403
            await idle(services)
    assert not await Contact.filter(channel="telegram").exists()
