"""One effect per provider message (notifications/seen.py).

Promises:
- the first request naming a message is told it is new; every repeat is not: a retry later,
  a duplicate arriving in the same moment, and a repeat after a restart (the mark is durable);
- marks asked for together are written in one transaction, and each is decided on its own;
  a request is answered at once (the batch waits only for the requests ready now); a burst
  that mixes repeats and new marks is written in one go (never one by one), with its moment;
- a forgotten mark (handling failed) lets the provider's retry be handled.
- forgetting a mark forgets only that provider's message: another provider's message with the
  same key, and the provider's other messages, stay seen;
- a key is told apart by its first 64 characters (the stored length), when marked and forgotten;
- a burst that mixes providers decides each provider's keys on their own;
- a mark another process writes between our look and our write is still a repeat, and the
  other marks of the burst are still written, with the moment they were seen;
- when the marks cannot be written, every request waiting on them fails (the provider
  retries), and later requests are handled again, also one made while the write was failing.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

import notifications.seen as seen_module
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


async def test_a_request_is_answered_at_once(db: str) -> None:
    marks = SeenMarks()
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert await marks.first_time("sms", "SM4", now=NOW) is True
    assert loop.time() - start < 0.9  # not a second's wait for a batch to fill


async def test_a_mark_outlives_a_restart(db: str) -> None:
    assert await SeenMarks().first_time("sms", "SM9", now=NOW) is True
    assert await SeenMarks().first_time("sms", "SM9", now=NOW) is False


async def test_a_forgotten_mark_lets_the_retry_be_handled(db: str) -> None:
    marks = SeenMarks()
    assert await marks.first_time("sms", "SM5", now=NOW) is True
    await marks.forget("sms", "SM5")
    assert await marks.first_time("sms", "SM5", now=NOW) is True


async def test_forgetting_a_mark_forgets_only_that_providers_message(db: str) -> None:
    marks = SeenMarks()
    for provider, key in [("sms", "K5"), ("telegram", "K5"), ("sms", "K6")]:
        assert await marks.first_time(provider, key, now=NOW) is True
    await marks.forget("sms", "K5")
    assert await marks.first_time("telegram", "K5", now=NOW) is False  # a shared key
    assert await marks.first_time("sms", "K6", now=NOW) is False
    assert await marks.first_time("sms", "K5", now=NOW) is True


async def test_a_mark_written_by_another_process_meanwhile_is_a_repeat(db: str) -> None:
    await InboundSeen.create(provider="sms", key="SM7", seen_at=NOW)  # e.g. another worker
    marks = SeenMarks()
    results = await asyncio.gather(
        marks.first_time("sms", "SM7", now=NOW), marks.first_time("sms", "SM8", now=NOW)
    )
    assert results == [False, True]


async def test_a_key_is_told_apart_by_its_first_64_characters(db: str) -> None:
    marks = SeenMarks()
    long_key = "u" * 64
    assert await marks.first_time("telegram", long_key + "1", now=NOW) is True
    assert await marks.first_time("telegram", long_key + "2", now=NOW) is False
    assert await marks.first_time("telegram", long_key[:63], now=NOW) is True
    await marks.forget("telegram", long_key + "3")
    assert await marks.first_time("telegram", long_key + "4", now=NOW) is True


async def test_a_burst_of_several_providers_is_decided_per_provider(db: str) -> None:
    marks = SeenMarks()
    assert await marks.first_time("sms", "K1", now=NOW) is True
    results = await asyncio.gather(
        marks.first_time("telegram", "K1", now=NOW),
        marks.first_time("sms", "K1", now=NOW),
        marks.first_time("sms", "K2", now=NOW),
        marks.first_time("telegram", "K2", now=NOW),
    )
    assert results == [True, False, True, True]


async def test_a_mark_written_between_our_look_and_our_write_is_a_repeat(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def looked_too_early(marks: object, conn: object) -> set[tuple[str, str]]:
        return set()  # another worker writes SM7 right after this look

    await InboundSeen.create(provider="sms", key="SM7", seen_at=NOW)
    monkeypatch.setattr(seen_module, "_existing", looked_too_early)
    marks = SeenMarks()
    results = await asyncio.gather(
        marks.first_time("sms", "SM7", now=NOW), marks.first_time("sms", "SM8", now=NOW)
    )
    assert results == [False, True]
    rows = await InboundSeen.filter(provider="sms").order_by("key")
    assert [(row.key, row.seen_at) for row in rows] == [("SM7", NOW), ("SM8", NOW)]


async def test_when_marks_cannot_be_written_the_waiting_requests_fail(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(marks: object, now: object) -> set[tuple[str, str]]:
        raise RuntimeError("database is gone")

    marks = SeenMarks()
    with monkeypatch.context() as patch:
        patch.setattr(seen_module, "_mark_new", broken)
        results = await asyncio.gather(
            marks.first_time("sms", "SM1", now=NOW),
            marks.first_time("sms", "SM1", now=NOW),
            marks.first_time("sms", "SM2", now=NOW),
            return_exceptions=True,
        )
    assert [str(r) for r in results] == ["database is gone"] * 3
    assert all(isinstance(r, RuntimeError) for r in results)
    assert await marks.first_time("sms", "SM1", now=NOW) is True


async def test_a_burst_of_repeats_and_new_marks_is_written_in_one_go(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    earlier = datetime(2026, 4, 9, 6, 0, tzinfo=UTC)
    await InboundSeen.create(provider="sms", key="K1", seen_at=earlier)

    async def one_by_one(**fields: object) -> None:
        raise AssertionError("written one by one")

    monkeypatch.setattr(InboundSeen, "create", one_by_one)
    marks = SeenMarks()
    results = await asyncio.gather(
        marks.first_time("sms", "K1", now=NOW),
        marks.first_time("sms", "K2", now=NOW),
        marks.first_time("telegram", "K1", now=NOW),
    )
    assert results == [False, True, True]
    rows = await InboundSeen.all().order_by("provider", "key")
    assert [(r.provider, r.key, r.seen_at) for r in rows] == [
        ("sms", "K1", earlier),
        ("sms", "K2", NOW),
        ("telegram", "K1", NOW),
    ]


async def test_a_request_made_while_a_write_fails_is_still_answered(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing, fail_now = asyncio.Event(), asyncio.Event()
    write = seen_module._mark_new

    async def fails_once(batch: list[tuple[str, str]], now: datetime) -> set[tuple[str, str]]:
        if not failing.is_set():
            failing.set()
            await fail_now.wait()  # the next request arrives while this write is failing
            raise RuntimeError("database is gone")
        return await write(batch, now)

    monkeypatch.setattr(seen_module, "_mark_new", fails_once)
    marks = SeenMarks()
    first = asyncio.create_task(marks.first_time("sms", "SM1", now=NOW))
    await failing.wait()
    second = asyncio.create_task(marks.first_time("sms", "SM2", now=NOW))
    await asyncio.sleep(0)  # a yield: the second request is made
    fail_now.set()
    with pytest.raises(RuntimeError):
        await first
    assert await asyncio.wait_for(second, 5) is True
