"""Secrets at rest: what a copy of the database or the data folder gives away.

Promises:
- a one-time login link asked for with ``/login`` is in the outbox only until it has left: once
  sent (or given up: failed, expired) the row's text is replaced, and the link itself still
  works for the person who got it; a link is not sent after it has expired;
- the SQLite database (and its WAL files) and the ``secret_key`` file are created readable by
  their owner only (0600).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bot.app import Services, build_services
from bot.web.dashboard.auth import secret_key
from config.clock import FakeClock
from config.database import close_db, init_db
from estate.logins import spend_token
from estate.models import Staff
from notifications.channels.base import PermanentFailure
from notifications.inbound import Inbound
from notifications.models import OutboxMessage
from tests.conftest import make_settings
from tests.notifications.dispatch.test_dispatcher_promises import FakeChannel, make, one_pass

CHAT = 424242


async def _ask_for_a_link(db: str) -> tuple[Services, FakeClock, OutboxMessage]:
    await Staff.create(name="wang", role="admin", telegram_chat_id=CHAT)
    clock = FakeClock()
    services = build_services(make_settings(database_url=db), clock=clock)
    await services.router.handle(Inbound(channel="telegram", address=str(CHAT), text="/login"))
    (row,) = await OutboxMessage.filter(address=str(CHAT))
    assert "/login/" in row.body["text"]  # queued: the text is needed to send it
    return services, clock, row


def _token(text: str) -> str:
    return text.split("/login/", 1)[1].split()[0]


async def test_a_sent_login_link_is_not_kept_in_the_outbox(db: str) -> None:
    _, clock, row = await _ask_for_a_link(db)
    channel = FakeChannel("telegram")
    await one_pass(make(db, clock, channel))
    ((address, sent),) = channel.sent
    assert address == str(CHAT) and "/login/" in sent
    fresh = await OutboxMessage.get(id=row.id)
    assert fresh.status == "sent"
    assert "/login/" not in fresh.body["text"] and _token(sent) not in str(fresh.body)
    assert "login link removed" in fresh.body["text"]
    assert await spend_token(_token(sent), clock.now()) is not None  # the link still works


async def test_a_login_link_that_could_not_be_sent_is_not_kept_either(db: str) -> None:
    _, clock, row = await _ask_for_a_link(db)
    channel = FakeChannel("telegram", [PermanentFailure("chat not found", code="400")])
    await one_pass(make(db, clock, channel))
    fresh = await OutboxMessage.get(id=row.id)
    assert fresh.status == "failed" and "/login/" not in fresh.body["text"]


async def test_an_expired_login_link_is_not_sent_and_not_kept(db: str) -> None:
    services, clock, row = await _ask_for_a_link(db)
    clock.advance(services.settings.login_link_minutes * 60)
    channel = FakeChannel("telegram")
    await one_pass(make(db, clock, channel))
    assert channel.sent == []
    fresh = await OutboxMessage.get(id=row.id)
    assert fresh.status == "expired" and "/login/" not in fresh.body["text"]


async def test_other_messages_keep_their_text(db: str) -> None:
    await Staff.create(name="wang", role="admin", telegram_chat_id=CHAT)
    clock = FakeClock()
    services = build_services(make_settings(database_url=db), clock=clock)
    await services.router.handle(Inbound(channel="telegram", address=str(CHAT), text="/nothing"))
    await one_pass(make(db, clock, FakeChannel("telegram")))
    rows = await OutboxMessage.filter(address=str(CHAT))
    assert rows and all("login link removed" not in r.body["text"] for r in rows)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o002])
async def test_the_database_and_the_key_are_private_files(tmp_path: Path, umask: int) -> None:

    old = os.umask(umask)
    try:
        folder = tmp_path / "fresh"
        url = f"sqlite://{folder}/louzhang.sqlite3"
        await init_db(url)
        try:
            await Staff.create(name="x", role="admin")  # writes: the WAL file exists now
            files = sorted(folder.glob("louzhang.sqlite3*"))
            assert folder / "louzhang.sqlite3" in files
            for path in files:
                assert _mode(path) == 0o600, path.name
        finally:
            await close_db()
        secret_key(make_settings(database_url=url))
        assert _mode(folder / "secret_key") == 0o600
    finally:
        os.umask(old)


async def test_in_the_simulator_the_link_is_shown_from_memory_not_the_database(db: str) -> None:
    services, _, row = await _ask_for_a_link(db)  # no Telegram token: delivered to the browser
    await one_pass(services.dispatcher)
    fresh = await OutboxMessage.get(id=row.id)
    assert fresh.status == "sent" and "/login/" not in fresh.body["text"]
    hub = services.channels.hub
    assert "/login/" in hub.secrets[fresh.provider_id or ""]
