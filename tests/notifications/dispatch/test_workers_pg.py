"""Several worker processes on one PostgreSQL outbox."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from notifications.models import OutboxMessage
from tests.fakes.telegram import FakeTelegram
from tests.waiting import wait_for
from tests.workers import TOKEN, fill_outbox, start_worker, stop_worker


def sent_by(output: str) -> int:
    return int(re.search(r"worker stopped: (\d+) sent", output).group(1))  # type: ignore[union-attr]


async def all_sent(count: int) -> bool:
    return await OutboxMessage.filter(status="sent").count() == count


async def test_two_workers_drain_one_queue_exactly_once(pg_db: str, tmp_path: Path) -> None:
    texts = await fill_outbox(2_000)
    # Limits off in the workers, so in the fake too; contacts are as if they had started the bot.
    async with FakeTelegram(token=TOKEN, strict_chats=False, enforce_limits=False) as tg:
        workers = [
            start_worker(tmp_path, pg_db, tg.url, limits=False, name=f"w{i}") for i in range(2)
        ]
        try:
            await wait_for(lambda: all_sent(len(texts)), limit=120)
        finally:
            outputs = [stop_worker(w, tmp_path, f"w{i}") for i, w in enumerate(workers)]
    received = Counter(call.params["text"] for call in tg.calls_to("sendMessage"))
    assert received == Counter(texts)  # every message exactly once
    assert all(sent_by(out) > 0 for out in outputs), outputs  # both really drained it


async def test_a_rate_limited_sender_has_one_owner(pg_db: str, tmp_path: Path) -> None:
    texts = await fill_outbox(60, first_chat=50_000)
    async with FakeTelegram(token=TOKEN, strict_chats=False) as tg:
        workers = [
            start_worker(tmp_path, pg_db, tg.url, limits=True, name=f"l{i}") for i in range(2)
        ]
        try:
            await wait_for(lambda: all_sent(len(texts)), limit=60)
        finally:
            outputs = [stop_worker(w, tmp_path, f"l{i}") for i, w in enumerate(workers)]
    assert tg.rate_limit_violations == 0  # 30/s held across both processes
    assert sorted(sent_by(out) for out in outputs) == [0, 60]  # one owner sent them all
    assert Counter(call.params["text"] for call in tg.calls_to("sendMessage")) == Counter(texts)
