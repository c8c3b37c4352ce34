"""The dispatcher's channel loops and its stop, run for real (`Dispatcher.run`) with fake channels.

Promises:
- A standby process (another process owns the rate-limited sender) sends nothing, asks again
  every STANDBY_RETRY seconds, and sends once it owns the sender; with PostgreSQL away it
  sends nothing on a rate-limited sender (with the limits off, every process sends).
- A row due again soon (a retry) is sent when it is due, not at the next poll.
- A wake-up that comes while a pass finds nothing (here: the stop) is not lost.
- A call waiting for a free line is placed by the next poll once a live call ended; while
  every line is busy the loop waits for that poll, it does not spin.
- The loop never spins: idle, or after an error (a claim that failed), it looks again only
  after the poll interval.
- A cancelled run (Ctrl-C) still stops its loops cooperatively, at once.
- A loop stuck at the stop is cancelled after stop_timeout; what it had claimed goes back to
  the queue (lease cleared), and another process's claims are left alone; a message sent but
  not recorded stays in flight through the stop, for the next start to count.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import pytest

import notifications.dispatch.dispatcher as dispatcher_module
from config.clock import FakeClock
from estate.models import Contact
from notifications.dispatch.dispatcher import Dispatcher
from notifications.message import Message
from notifications.models import OutboxMessage
from notifications.outbox import Outgoing, enqueue, enqueue_many
from tests.conftest import make_settings
from tests.notifications.dispatch.test_dispatcher_promises import FakeChannel, household, row
from tests.notifications.dispatch.test_voice_dispatch import StubCalls, end_calls, voice_contacts
from tests.waiting import wait_for


def dispatcher(db: str, clock: FakeClock, *channels: Any, **kwargs: Any) -> Dispatcher:
    return Dispatcher(
        {c.name: c for c in channels},
        clock=clock,
        settings=make_settings(database_url=db, voice_calls_per_second=1000),
        **kwargs,
    )


async def two_notices_one_line(
    *, poll_interval: float
) -> tuple[list[Contact], StubCalls, Dispatcher]:
    """Two voice households with a notice each, and a dispatcher with one line to call on."""
    contacts = await voice_contacts(2)
    clock = FakeClock()
    await enqueue_many(
        [Outgoing(contact=c, message=Message("n"), key=f"n{c.id}") for c in contacts],
        now=clock.now(),
    )
    stub = StubCalls()
    d = Dispatcher(
        {"voice": stub},  # type: ignore[dict-item]
        clock=clock,
        settings=make_settings(voice_calls_per_second=1000, voice_max_concurrent=1),
        poll_interval=poll_interval,
    )
    return contacts, stub, d


async def queued(clock: FakeClock, *texts: str, after: float = 0.0) -> None:
    """Messages to the chats named by their texts, due ``after`` seconds from now."""
    await enqueue_many(
        [
            Outgoing(contact=None, message=Message(t), key=t, channel="telegram", address=t)
            for t in texts
        ],
        now=clock.now(),
    )
    if after:
        await OutboxMessage.filter(idempotency_key__in=list(texts)).update(
            next_attempt_at=clock.now() + timedelta(seconds=after)
        )


async def stopped(stop: asyncio.Event, task: asyncio.Task[None]) -> None:
    stop.set()
    await asyncio.wait_for(task, 5)


# ---- standing by ------------------------------------------------------------------------------


class OtherProcessOwns:
    """The sender ownership of a standby process: another process owns the sender until
    ``free_after`` asks have been answered no."""

    def __init__(self, free_after: int) -> None:
        self.free_after = free_after
        self.asked = 0

    async def owns(self, sender: str) -> bool:
        self.asked += 1
        return self.asked > self.free_after

    async def close(self) -> None:
        return None


async def test_a_standby_process_sends_once_it_owns_the_sender(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dispatcher_module, "STANDBY_RETRY", 0.001)
    clock = FakeClock()
    await queued(clock, "1")
    ownership = OtherProcessOwns(free_after=2)
    asked_at_send: list[int] = []

    class Channel(FakeChannel):
        async def send(self, address: str, message: Message) -> Any:
            asked_at_send.append(ownership.asked)
            return await super().send(address, message)

    channel = Channel()
    d = dispatcher(db, clock, channel, limits_enabled=True, poll_interval=60.0)
    d._ownership = ownership  # type: ignore[assignment]  # as on PostgreSQL
    stop = asyncio.Event()
    task = asyncio.create_task(d.run(stop))
    await wait_for(lambda: channel.sent, limit=1.0)
    await stopped(stop, task)
    assert channel.sent == [("1", "1")]
    assert asked_at_send[0] >= 3  # two noes, then the sender was ours (asked again since)


async def test_with_postgresql_away_a_rate_limited_sender_sends_nothing(db: str) -> None:
    """Several processes on PostgreSQL: a rate-limited sender is sent only by the process that
    owns it. If ownership cannot be checked (the database is away), this process does not send
    rather than risk doubling the rate; with the rate limits off every process sends."""
    settings = make_settings(database_url="postgres://louzhang@127.0.0.1:1/louzhang")
    clock = FakeClock()
    limited = Dispatcher({"telegram": FakeChannel()}, clock=clock, settings=settings)
    assert await limited._may_send("telegram") is False
    unlimited = Dispatcher(
        {"telegram": FakeChannel()}, clock=clock, settings=settings, limits_enabled=False
    )
    assert await unlimited._may_send("telegram") is True


# ---- when the loop looks again ------------------------------------------------------------------


async def test_a_row_due_again_soon_is_sent_when_due_not_at_the_next_poll(db: str) -> None:
    clock = FakeClock()
    await queued(clock, "1", after=0.05)
    channel = FakeChannel()
    d = dispatcher(db, clock, channel, poll_interval=60.0)
    looked: list[float] = []
    next_due_in = d.next_due_in

    async def noting(channel: str) -> float | None:
        due_in = await next_due_in(channel)
        looked.append(due_in or 0.0)
        return due_in

    d.next_due_in = noting  # type: ignore[method-assign]
    stop = asyncio.Event()
    task = asyncio.create_task(d.run(stop))
    await wait_for(lambda: looked, limit=1.0)
    clock.advance(0.05)  # the retry is due now; the loop looks again within 0.05 s
    await wait_for(lambda: channel.sent, limit=1.0)
    await stopped(stop, task)
    assert looked[0] == pytest.approx(0.05) and channel.sent == [("1", "1")]


async def test_a_stop_that_comes_while_a_pass_finds_nothing_ends_the_run_at_once(
    db: str,
) -> None:
    """The stop comes (and wakes the loop) after the pass looked and found nothing due: the
    wake-up is not lost, the loop does not wait out its poll interval."""
    clock = FakeClock()
    d = dispatcher(db, clock, FakeChannel(), poll_interval=60.0)
    stop = asyncio.Event()
    claim = d.claim

    async def then_stopped(*args: Any, **kwargs: Any) -> list[OutboxMessage]:
        rows = await claim(*args, **kwargs)
        stop.set()
        for _ in range(3):
            await asyncio.sleep(0)  # run() sees the stop and wakes the loops meanwhile
        return rows

    d.claim = then_stopped  # type: ignore[method-assign]
    task = asyncio.create_task(d.run(stop))
    await asyncio.wait_for(task, 1.0)


async def test_a_call_waiting_for_a_line_is_placed_once_a_live_call_ended(db: str) -> None:
    """Nothing wakes the loop when Twilio's final status is recorded elsewhere: its next poll
    finds the free line."""
    (c0, c1), stub, d = await two_notices_one_line(poll_interval=0.01)
    stop = asyncio.Event()
    task = asyncio.create_task(d.run(stop))
    await wait_for(lambda: stub.placed)
    await end_calls([stub.placed[0][1]])
    await wait_for(lambda: len(stub.placed) == 2, limit=1.0)
    await stopped(stop, task)
    assert [a for a, _ in stub.placed] == [c0.address, c1.address]


async def test_the_loop_never_spins_idle_or_after_an_error(
    db: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The claim fails (the database is away): the error is logged, and the loop looks again
    only after the poll interval (one second), not at once and over and over."""
    clock = FakeClock()
    d = dispatcher(db, clock, FakeChannel(), poll_interval=1.0)
    claims: list[int] = []

    async def database_away(*args: Any, **kwargs: Any) -> list[OutboxMessage]:
        claims.append(1)
        await asyncio.sleep(0)
        raise ConnectionError("database away")

    d.claim = database_away  # type: ignore[method-assign]
    stop = asyncio.Event()
    with caplog.at_level(logging.ERROR, logger=dispatcher_module.__name__):
        task = asyncio.create_task(d.run(stop))
        await wait_for(lambda: claims)
        await asyncio.sleep(0.05)  # a spinning loop claims again many times meanwhile
        await stopped(stop, task)
    assert len(claims) == 1
    errors = [r.getMessage() for r in caplog.records if r.name == dispatcher_module.__name__]
    assert errors == ["dispatcher loop error on telegram"]


async def test_a_voice_loop_with_every_line_busy_waits_for_the_poll(db: str) -> None:
    """Every line is on a call and a notice waits: the loop looks again after its poll interval
    (or when a call's final status wakes it), it does not spin on the waiting notice."""
    _, stub, d = await two_notices_one_line(poll_interval=1.0)
    passes: list[int] = []
    run_once = d.run_once

    async def counted(channel: str) -> int:
        passes.append(await run_once(channel))
        return passes[-1]

    d.run_once = counted  # type: ignore[method-assign]
    stop = asyncio.Event()
    task = asyncio.create_task(d.run(stop))
    await wait_for(lambda: len(passes) >= 2)
    await asyncio.sleep(0.05)  # a spinning loop passes again many times meanwhile
    await stopped(stop, task)
    assert passes == [1, 0] and len(stub.placed) == 1


# ---- stopping -----------------------------------------------------------------------------------


async def test_a_cancelled_run_still_stops_its_loops_at_once(
    db: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    await queued(clock, "1")
    channel = FakeChannel()
    d = dispatcher(db, clock, channel, poll_interval=0.01)
    task = asyncio.create_task(d.run(asyncio.Event(), stop_timeout=5.0))
    await wait_for(lambda: channel.sent)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=1.0)
    assert done == {task}
    assert "did not stop in time" not in caplog.text


async def test_a_stuck_loop_is_cancelled_and_its_claims_go_back(db: str) -> None:
    """The loop is stuck in a hook (told of a message to an opted-out contact) when the stop
    comes: after stop_timeout it is cancelled, and the rest of its claim is queued again,
    unleased. Another process's claim is not touched."""
    clock = FakeClock()
    gone = await Contact.create(
        household=await household(), channel="telegram", address="5", status="opted_out"
    )
    await enqueue(Outgoing(contact=gone, message=Message("x"), key="x"), now=clock.now())
    await queued(clock, "1")
    stuck = asyncio.Event()

    async def hook(message: OutboxMessage, target: Contact | None) -> None:
        stuck.set()
        await asyncio.Event().wait()  # never returns

    channel = FakeChannel()
    d = dispatcher(db, clock, channel, poll_interval=60.0)
    d.on_unreachable.append(hook)
    stop = asyncio.Event()
    task = asyncio.create_task(d.run(stop, stop_timeout=0.01))
    await stuck.wait()
    await queued(clock, "2")
    await OutboxMessage.filter(idempotency_key="2").update(status="claimed", lease_owner="other")
    stop.set()
    await asyncio.wait_for(task, 1.0)
    assert channel.sent == []
    back = await row("1")
    assert (back.status, back.lease_owner, back.lease_until) == ("queued", None, None)
    other = await row("2")
    assert (other.status, other.lease_owner) == ("claimed", "other")


async def test_a_message_sent_but_not_recorded_is_counted_in_flight_at_the_next_start(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writing "sent" failed (the database was away): the row stays "sending" through the stop,
    so the next start counts it as in flight (it may reach the recipient twice)."""

    async def database_away(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("database away")

    monkeypatch.setattr(dispatcher_module, "update_many", database_away)
    clock = FakeClock()
    await queued(clock, "1")
    channel = FakeChannel()
    d = dispatcher(db, clock, channel, poll_interval=60.0)
    stop = asyncio.Event()
    task = asyncio.create_task(d.run(stop))
    await wait_for(lambda: channel.sent)
    await stopped(stop, task)
    assert (await row("1")).status == "sending"
    assert await dispatcher(db, clock, FakeChannel()).recover() == 1
