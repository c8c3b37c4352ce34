"""One effect per provider message (notifications/seen.py).

Promises:
- the first request naming a message is told it is new; every repeat is not: a retry later,
  a duplicate arriving in the same moment, and a repeat after a restart (the mark is durable);
- marks asked for together are written in one transaction, and each is decided on its own;
- a forgotten mark (handling failed) lets the provider's retry be handled.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from notifications.models import InboundSeen
from notifications.seen import SeenMarks

NOW = datetime(2026, 4, 10, 6, 0, tzinfo=UTC)


async def test_the_first_request_is_new_and_every_repeat_is_not(db: str) -> None:
    marks = SeenMarks()
    assert await marks.first_time("sms", "SM1", now=NOW) is True
    assert await marks.first_time("sms", "SM1", now=NOW) is False
    assert await marks.first_time("telegram", "SM1", now=NOW) is True  # another provider


async def test_duplicates_in_the_same_moment_get_one_effect(db: str) -> None:
    marks = SeenMarks()
    keys = ["SM1", "SM2", "SM1", "SM3", "SM2", "SM1"]
    results = await asyncio.gather(*(marks.first_time("sms", k, now=NOW) for k in keys))
    assert results == [True, True, False, True, False, False]
    assert await InboundSeen.filter(provider="sms").count() == 3


async def test_a_mark_outlives_a_restart(db: str) -> None:
    assert await SeenMarks().first_time("sms", "SM9", now=NOW) is True
    assert await SeenMarks().first_time("sms", "SM9", now=NOW) is False


async def test_a_forgotten_mark_lets_the_retry_be_handled(db: str) -> None:
    marks = SeenMarks()
    assert await marks.first_time("sms", "SM5", now=NOW) is True
    await marks.forget("sms", "SM5")
    assert await marks.first_time("sms", "SM5", now=NOW) is True


async def test_a_mark_written_by_another_process_meanwhile_is_a_repeat(db: str) -> None:
    await InboundSeen.create(provider="sms", key="SM7", seen_at=NOW)  # e.g. another worker
    marks = SeenMarks()
    results = await asyncio.gather(
        marks.first_time("sms", "SM7", now=NOW), marks.first_time("sms", "SM8", now=NOW)
    )
    assert results == [False, True]
