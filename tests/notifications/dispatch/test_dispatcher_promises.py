"""The dispatcher's promises, one pass (`run_once`) at a time on a fake clock with a fake channel.

Promises of notifications/dispatcher.py (each has a test here or in test_dispatcher.py):
- Never sends to a contact who opted out (STOP) or is unreachable: the row fails, no call.
- Never sends an expired message (a "get ready" whose batch was called): status expired.
- Claims due rows only, most urgent priority first, then in id order, on its own channel,
  in batches of a quarter second at the channel's rate, under a lease that names the process
  (host:pid) unless a worker id is given.
- Records the attempt (with its time) before the call; a success is sent/accepted with the
  provider's id.
- Telegram: at most 30 a second and one a second per chat; a chat's later rows are given back
  (the attempt not spent), all due at the same time so they stay in order.
- Call-ups cut in: an ordinary message waiting for a slot is given back when call-ups arrive,
  and call-ups use the reserved slots at once.
- RetryLater: requeued no sooner than the server's wait or the jittered backoff, until
  max_send_attempts; an adapter bug is a retry, never a lost message.
- The backoff waits between half and all of 2 s doubled per attempt, never over 10 minutes.
- Unreachable: the contact is marked (opted_out or unreachable), the household's next contact
  (another channel first, with the channel's own text) gets a copy with the same priority,
  ref and expiry, and the hooks are told; PermanentFailure fails the message only.
- A message to a contact found opted out or unreachable at the claim also goes to the
  household's next contact (the hooks are told); a contact deleted meanwhile stops nothing else.
- One message's retry or failure never touches another row: a message still being sent is not
  sent twice or failed; a message already reported delivered is neither retried nor failed.
- A failure is recorded at the moment of the provider's answer, its reason cut to 300
  characters (100 for the contact's status reason).
- /metrics counts every message sent, retried, failed and unreachable.
- The copy goes only to the same household, on a channel this process sends, and a running
  dispatcher sends it at once (its channel's loop is woken).
- At most 64 sends are in flight at once; the next waits for one to complete.
- Recovery: claimed and in-flight rows of a previous run are requeued, the in-flight counted;
  with one process (SQLite) also those whose lease has not run out, the lease cleared.
- The limits: Telegram 30/s and 1/s per chat (+20 ms), SMS segments/s; none when disabled.
- Calls: at most the account's calls per second (one per 1/cps s when under one a second), at
  most voice_max_concurrent live, also when the rate limits are off; no reserve for call-ups.
- A login link is forgotten once sent (the row keeps a placeholder text).
- A message reaches a channel that places no calls exactly as enqueued.
- An SMS is charged its segments against the sender's rate.
- A late message expires, a message goes back, at the time of the pass; neither over a
  delivery report that came meanwhile.
- A call-up waiting for a slot keeps its place when more call-ups are announced.
- A chat's later message goes back at the time of the pass; giving the rest of a pass back
  leaves a message still being sent alone (never sent twice).
- Call-ups announced before a claim hold nothing back in it; announced during a pass, the
  call-ups claimed still go out and the ordinary messages behind them go back unspent.
- A copy never goes to a contact of the household who opted out, even on a channel being sent.
- The recovered in-flight and expired figures add up (every recovery, every pass).
- Waiting for the sends (drain) returns once every finished send is written as sent, and also
  when recording a send's outcome failed.

No HTTP and no sleeping: each test enqueues rows, runs one claim-and-send pass, waits for the
sends it started and reads the rows back. The end-to-end tests against the fake Telegram and
Twilio servers are in test_dispatcher.py.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
from datetime import timedelta
from typing import Any

import pytest

import notifications.dispatch.dispatcher as dispatcher_module
from bot.web.metrics import render_metrics
from config.clock import FakeClock
from estate.models import Building, Contact, Estate, Household
from notifications.channels.base import (
    PermanentFailure,
    RetryLater,
    SendResult,
    Unreachable,
)
from notifications.dispatch.dispatcher import (
    LEASE,
    Dispatcher,
    DispatchStats,
    backoff,
    build_limits,
)
from notifications.dispatch.ratelimit import PerKeySpacing, SlidingWindow, TokenBucket
from notifications.message import Message
from notifications.models import OutboxMessage, Priority
from notifications.outbox import FORGOTTEN, Outgoing, enqueue, enqueue_many
from tests.conftest import make_settings
from tests.waiting import wait_for


class FakeChannel:
    """Records what it was asked to send; answers with the queued outcomes, then success."""

    def __init__(self, name: str = "telegram", outcomes: list[object] | None = None) -> None:
        self.name = name
        self.sent: list[tuple[str, str]] = []
        self.outcomes = list(outcomes or [])

    def sender_key(self) -> str:
        return f"{self.name}:fake"

    def cost(self, message: Message) -> int:
        return 1

    async def send(self, address: str, message: Message) -> SendResult:
        self.sent.append((address, message.text))
        if self.outcomes:
            outcome = self.outcomes.pop(0)
            if isinstance(outcome, BaseException):
                raise outcome
            assert isinstance(outcome, SendResult)
            return outcome
        return SendResult(provider_id=f"p{len(self.sent)}")


async def household(n: int = 0) -> Household:
    estate = await Estate.get_or_none(name="e") or await Estate.create(name="e")
    building = await Building.get_or_none(estate=estate, number=1) or await Building.create(
        estate=estate, number=1, floors=30
    )
    return await Household.create(building=building, floor=1, room=f"10{n}")


def make(
    db: str,
    clock: FakeClock,
    *channels: FakeChannel,
    limits: bool = False,
    **settings: object,
) -> Dispatcher:
    return Dispatcher(
        {c.name: c for c in channels or (FakeChannel(),)},
        clock=clock,
        settings=make_settings(database_url=db, **settings),
        limits_enabled=limits,
    )


async def one_pass(dispatcher: Dispatcher, channel: str = "telegram") -> int:
    handled = await dispatcher.run_once(channel)
    await dispatcher.drain_in_flight()
    return handled


def window_of(dispatcher: Dispatcher) -> SlidingWindow:
    """The Telegram sender's sliding window (a dispatcher made with its limits on)."""
    sender = dispatcher.limits["telegram"].sender
    assert isinstance(sender, SlidingWindow)
    return sender


def call_up(text: str, address: str, key: str = "c") -> Outgoing:
    """A call-up to a bare Telegram chat."""
    return Outgoing(
        contact=None,
        message=Message(text),
        key=key,
        channel="telegram",
        address=address,
        priority=Priority.CALLUP,
    )


async def row(key: str) -> OutboxMessage:
    return await OutboxMessage.get(idempotency_key=key)


# ---- who is never sent to -----------------------------------------------------------------


@pytest.mark.parametrize("status", ["opted_out", "unreachable"])
async def test_never_sends_to_a_contact_who_opted_out_or_is_unreachable(
    db: str, status: str
) -> None:
    clock = FakeClock()
    home = await household()
    gone = await Contact.create(household=home, channel="telegram", address="5", status=status)
    await enqueue(Outgoing(contact=gone, message=Message("x"), key="k"), now=clock.now())
    channel = FakeChannel()
    dispatcher = make(db, clock, channel)
    assert await one_pass(dispatcher) == 1
    assert channel.sent == []
    failed = await row("k")
    assert (failed.status, failed.error_code, failed.error) == (
        "failed",
        status,
        "contact not active",
    )
    assert failed.lease_owner is None and failed.attempts == 0
    await gone.refresh_from_db()
    assert gone.status == status


async def test_a_message_without_a_contact_goes_to_its_address(db: str) -> None:
    clock = FakeClock()
    await enqueue(
        Outgoing(contact=None, message=Message("x"), key="k", channel="telegram", address="77"),
        now=clock.now(),
    )
    channel = FakeChannel()
    await one_pass(make(db, clock, channel))
    assert channel.sent == [("77", "x")]
    assert (await row("k")).status == "sent"


# ---- what is too late is never sent -------------------------------------------------------


async def test_an_expired_message_is_never_sent(db: str) -> None:
    """A "get ready" whose batch was already called (expires_at = the call time) is dropped;
    one that is still in time goes out."""
    clock = FakeClock()
    home = await household()
    contact = await Contact.create(household=home, channel="telegram", address="5")
    other = await Contact.create(household=await household(1), channel="telegram", address="6")
    now = clock.now()
    await enqueue(
        Outgoing(contact=contact, message=Message("late"), key="late", expires_at=now),
        now=now,
    )
    await enqueue(
        Outgoing(
            contact=other,
            message=Message("in time"),
            key="ok",
            expires_at=now + timedelta(seconds=1),
        ),
        now=now,
    )
    channel = FakeChannel()
    dispatcher = make(db, clock, channel)
    assert await one_pass(dispatcher) == 2
    assert channel.sent == [("6", "in time")]
    late = await row("late")
    assert (late.status, late.error, late.lease_owner) == ("expired", "not sent: too late", None)
    assert late.updated_at == now
    assert dispatcher.stats.expired == 1
    assert (await row("ok")).status == "sent"


# ---- order, claiming, recording -----------------------------------------------------------


async def test_most_urgent_first_then_in_order_and_only_due_rows(db: str) -> None:
    clock = FakeClock()
    now = clock.now()
    items = [
        Outgoing(contact=None, message=Message("survey"), key="s", channel="telegram", address="1"),
        Outgoing(
            contact=None,
            message=Message("later"),
            key="l",
            channel="telegram",
            address="2",
            not_before=now + timedelta(seconds=5),
        ),
        call_up("call", "3"),
        Outgoing(
            contact=None, message=Message("sms"), key="m", channel="sms", address="+8613800000000"
        ),
    ]
    await enqueue_many(items, now=now)
    channel = FakeChannel()
    dispatcher = make(db, clock, channel, FakeChannel("sms"))
    assert await one_pass(dispatcher) == 2
    assert [t for _, t in channel.sent] == ["call", "survey"]
    assert (await row("l")).status == "queued" and (await row("m")).status == "queued"
    sent = await row("c")
    assert (sent.status, sent.provider_id, sent.sent_at, sent.attempts) == ("sent", "p1", now, 1)
    assert sent.lease_owner is None and sent.error is None
    assert await dispatcher.next_due_in("telegram") == 5.0
    assert await dispatcher.next_due_in("sms") == 0.0
    clock.advance(5)
    assert await one_pass(dispatcher) == 1
    assert channel.sent[-1] == ("2", "later")
    assert await dispatcher.next_due_in("telegram") is None
    assert await one_pass(dispatcher) == 0


async def test_claim_takes_a_batch_leases_it_and_skips_claimed_rows(db: str) -> None:
    clock = FakeClock()
    now = clock.now()
    await enqueue_many(
        [
            Outgoing(
                contact=None, message=Message(f"{i}"), key=f"k{i}", channel="telegram", address="1"
            )
            for i in range(5)
        ],
        now=now,
    )
    dispatcher = make(db, clock)
    dispatcher.worker_id = "me"
    rows = await dispatcher.claim("telegram", 3)
    assert [r.idempotency_key for r in rows] == ["k0", "k1", "k2"]
    claimed = await OutboxMessage.filter(status="claimed").order_by("id")
    assert [r.idempotency_key for r in claimed] == ["k0", "k1", "k2"]
    assert all(r.lease_owner == "me" and r.lease_until == now + LEASE for r in claimed)
    assert [r.idempotency_key for r in await dispatcher.claim("telegram", 10)] == ["k3", "k4"]
    assert await dispatcher.claim("telegram", 10) == []


async def test_a_claim_names_this_process_by_default(db: str) -> None:
    clock = FakeClock()
    await enqueue(
        Outgoing(contact=None, message=Message("x"), key="k", channel="telegram", address="1"),
        now=clock.now(),
    )
    await make(db, clock).claim("telegram", 1)
    assert (await row("k")).lease_owner == f"{socket.gethostname()}:{os.getpid()}"


def test_claim_size_is_a_quarter_second_at_the_channel_rate() -> None:
    clock = FakeClock()
    settings = make_settings(sms_segments_per_second=10)
    dispatcher = Dispatcher(
        {"telegram": FakeChannel(), "sms": FakeChannel("sms"), "local": FakeChannel("local")},
        clock=clock,
        settings=settings,
    )
    assert dispatcher._claim_size("telegram") == 7
    assert dispatcher._claim_size("sms") == 2
    assert dispatcher._claim_size("local") == 100
    slow = Dispatcher(
        {"telegram": FakeChannel(), "sms": FakeChannel("sms")},
        clock=clock,
        settings=make_settings(telegram_rate_per_second=2, sms_segments_per_second=1),
    )
    assert slow._claim_size("telegram") == 1 and slow._claim_size("sms") == 1


def test_limits_are_telegram_30_a_second_and_1_a_chat_and_sms_segments() -> None:
    clock = FakeClock()
    settings = make_settings(sms_segments_per_second=5)
    telegram = build_limits("telegram", settings, clock)
    assert isinstance(telegram.sender, SlidingWindow) and telegram.sender.limit == 30
    assert isinstance(telegram.per_recipient, PerKeySpacing)
    assert telegram.per_recipient.interval == timedelta(seconds=1.02)
    sms = build_limits("sms", settings, clock)
    assert isinstance(sms.sender, TokenBucket) and sms.per_recipient is None
    assert sms.sender.burst == 5
    local = build_limits("local", settings, clock)
    assert local.sender is None and local.per_recipient is None
    off = build_limits("telegram", settings, clock, enabled=False)
    assert off.sender is None and off.per_recipient is None
    assert off.live is None and telegram.live is None and sms.live is None


def test_calls_are_limited_to_the_accounts_cps_and_the_live_cap() -> None:
    clock = FakeClock()
    fast = build_limits(
        "voice", make_settings(voice_calls_per_second=4, voice_max_concurrent=3), clock
    )
    assert isinstance(fast.sender, SlidingWindow) and fast.per_recipient is None
    assert (fast.sender.limit, fast.sender.reserved, fast.live) == (4, 0, 3)
    assert fast.sender.window == pytest.approx(1.01)
    slow = build_limits("voice", make_settings(voice_calls_per_second=0.5), clock)
    assert isinstance(slow.sender, SlidingWindow) and slow.sender.limit == 1
    assert slow.sender.window == pytest.approx(2.01)  # one call per two seconds
    off = build_limits("voice", make_settings(voice_max_concurrent=2), clock, enabled=False)
    assert (off.sender, off.per_recipient, off.live) == (None, None, 2)


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap() -> None:
    for attempts, top in [(0, 2.0), (1, 2.0), (2, 4.0), (3, 8.0), (20, 600.0)]:
        for _ in range(20):
            assert top * 0.5 <= backoff(attempts) <= top
    assert backoff(3, base=1.0, cap=3.0) <= 3.0


def test_backoff_waits_between_half_and_all_of_its_step(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    assert [backoff(n) for n in (0, 1, 2, 3, 20)] == [2.0, 2.0, 4.0, 8.0, 600.0]
    monkeypatch.setattr(random, "uniform", lambda low, high: low)
    assert [backoff(n) for n in (0, 1, 2, 3, 20)] == [1.0, 1.0, 2.0, 4.0, 300.0]


# ---- the per-chat limit -------------------------------------------------------------------


async def test_a_chat_gets_one_message_a_second_the_rest_wait_in_order(db: str) -> None:
    clock = FakeClock()
    home = await household()
    chat = await Contact.create(household=home, channel="telegram", address="5")
    other = await Contact.create(household=await household(1), channel="telegram", address="6")
    now = clock.now()
    await enqueue_many(
        [Outgoing(contact=chat, message=Message(f"m{i}"), key=f"m{i}") for i in range(3)]
        + [Outgoing(contact=other, message=Message("o"), key="o")],
        now=now,
    )
    channel = FakeChannel()
    dispatcher = make(db, clock, channel, limits=True)
    assert await one_pass(dispatcher) == 4
    assert channel.sent == [("5", "m0"), ("6", "o")]
    free_at = now + timedelta(seconds=1.02)
    for due in (now, free_at):  # first the pass gives them back, then the next defers them
        waiting = await OutboxMessage.filter(idempotency_key__in=["m1", "m2"]).order_by("id")
        for deferred in waiting:  # the attempt not spent; both due at once, kept in order
            assert (deferred.status, deferred.attempts, deferred.lease_owner) == (
                "queued",
                0,
                None,
            )
            assert deferred.next_attempt_at == due
        if due == now:
            assert await one_pass(dispatcher) == 2
    assert dispatcher.stats.deferred == 4
    assert len(channel.sent) == 2
    clock.advance(1.0)
    assert await one_pass(dispatcher) == 0  # not yet due
    clock.advance(0.02)
    await one_pass(dispatcher)
    assert channel.sent[2:] == [("5", "m1")]
    clock.advance(1.02)
    await one_pass(dispatcher)
    assert channel.sent[3:] == [("5", "m2")]


# ---- outcomes -----------------------------------------------------------------------------


async def test_success_records_sent_or_accepted_with_the_provider_id(db: str) -> None:
    clock = FakeClock()
    await enqueue_many(
        [
            Outgoing(contact=None, message=Message("a"), key="a", channel="sms", address="+1"),
            Outgoing(contact=None, message=Message("b"), key="b", channel="sms", address="+2"),
        ],
        now=clock.now(),
    )
    channel = FakeChannel(
        "sms", [SendResult("SM1", status="queued"), SendResult("SM2", status="delivered")]
    )
    dispatcher = make(db, clock, channel)
    await one_pass(dispatcher, "sms")
    a, b = await row("a"), await row("b")
    assert (a.status, a.provider_id) == ("accepted", "SM1")
    assert (b.status, b.provider_id) == ("sent", "SM2")
    assert dispatcher.stats.sent == 2


class ReportingFirst(FakeChannel):
    """A provider whose delivery report is recorded before the dispatcher writes "sent"."""

    async def send(self, address: str, message: Message) -> SendResult:
        result = await super().send(address, message)
        await OutboxMessage.filter(idempotency_key=message.text).update(
            status="delivered", provider_id=result.provider_id
        )
        return result


async def test_a_delivery_recorded_before_the_sent_write_is_never_moved_back(
    any_db: str,
) -> None:
    clock = FakeClock()
    await enqueue(
        Outgoing(contact=None, message=Message("k"), key="k", channel="sms", address="+1"),
        now=clock.now(),
    )
    dispatcher = make(any_db, clock, ReportingFirst("sms"))
    await one_pass(dispatcher, "sms")
    assert (await row("k")).status == "delivered"
    assert dispatcher.stats.sent == 1


async def test_retry_later_requeues_with_backoff_until_the_attempts_run_out(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dispatcher_module, "backoff", lambda attempts, **_: 3.0)
    clock = FakeClock()
    home = await household()
    contact = await Contact.create(household=home, channel="telegram", address="5")
    await enqueue(Outgoing(contact=contact, message=Message("x"), key="k"), now=clock.now())
    channel = FakeChannel(
        outcomes=[
            RetryLater("busy", "429", after=10.0),
            RetryLater("down", "500"),
            RetryLater("down", "500"),
        ]
    )
    dispatcher = make(db, clock, channel, max_send_attempts=3)
    await one_pass(dispatcher)
    first = await row("k")
    assert (first.status, first.attempts, first.error, first.error_code) == (
        "queued",
        1,
        "busy",
        "429",
    )
    assert first.next_attempt_at == clock.now() + timedelta(seconds=10)  # the server's wait
    assert first.lease_owner is None
    clock.advance(10)
    await one_pass(dispatcher)
    assert (await row("k")).next_attempt_at == clock.now() + timedelta(seconds=3)  # backoff
    assert dispatcher.stats.retried == 2
    clock.advance(3)
    await one_pass(dispatcher)
    last = await row("k")
    assert (last.status, last.attempts, last.error_code) == ("failed", 3, "500")
    assert dispatcher.stats.failed == 1 and len(channel.sent) == 3
    await contact.refresh_from_db()
    assert contact.status == "active"  # a server error says nothing about the contact
    assert dispatcher.stats.last_errors[-1] == "telegram 500 down"


async def test_an_adapter_bug_is_retried_not_lost(db: str) -> None:
    clock = FakeClock()
    await enqueue(
        Outgoing(contact=None, message=Message("x"), key="k", channel="telegram", address="1"),
        now=clock.now(),
    )
    dispatcher = make(db, clock, FakeChannel(outcomes=[KeyError("oops")]))
    await one_pass(dispatcher)
    kept = await row("k")
    assert (kept.status, kept.error) == ("queued", "internal: KeyError")


async def test_a_permanent_failure_fails_the_message_but_not_the_contact(db: str) -> None:
    clock = FakeClock()
    home = await household()
    contact = await Contact.create(household=home, channel="telegram", address="5")
    sms = await Contact.create(household=home, channel="sms", address="+8613800000001")
    await enqueue(Outgoing(contact=contact, message=Message("x"), key="k"), now=clock.now())
    dispatcher = make(db, clock, FakeChannel(outcomes=[PermanentFailure("bad", "400")]))
    dispatcher.channels["sms"] = FakeChannel("sms")
    await one_pass(dispatcher)
    failed = await row("k")
    assert (failed.status, failed.error, failed.error_code) == ("failed", "bad", "400")
    await contact.refresh_from_db()
    assert contact.status == "active" and dispatcher.stats.failed == 1
    assert not await OutboxMessage.filter(contact_id=sms.id).exists()  # no fallback copy


@pytest.mark.parametrize(("opted_out", "status"), [(True, "opted_out"), (False, "unreachable")])
async def test_an_unreachable_contact_is_marked_and_the_household_reached_elsewhere(
    db: str, opted_out: bool, status: str
) -> None:
    clock = FakeClock()
    home = await household()
    chat = await Contact.create(household=home, channel="telegram", address="5")
    second_chat = await Contact.create(household=home, channel="telegram", address="8")
    sms = await Contact.create(household=home, channel="sms", address="+8613800000001")
    await Contact.create(household=await household(1), channel="sms", address="+8613800000002")
    alt = Message("短信版").to_json()
    now = clock.now()
    await enqueue(
        Outgoing(
            contact=chat,
            message=Message("chat version", extra={"alt": {"sms": alt}}),
            key="k",
            priority=Priority.CALLUP,
            purpose="callup",
            ref="drive:1:b1:call",
            expires_at=now + timedelta(minutes=5),
        ),
        now=now,
    )
    seen: list[tuple[int, int | None]] = []

    async def hook(message: OutboxMessage, target: Contact | None) -> None:
        seen.append((message.id, target.id if target else None))

    channel = FakeChannel(outcomes=[Unreachable("blocked", "403", opted_out=opted_out)])
    dispatcher = make(db, clock, channel, FakeChannel("sms"))
    dispatcher.on_unreachable.append(hook)
    await one_pass(dispatcher)
    failed = await row("k")
    assert (failed.status, failed.error_code) == ("failed", "403")
    await chat.refresh_from_db()
    assert (chat.status, chat.status_reason) == (status, "blocked")
    assert dispatcher.stats.unreachable == 1
    copy = await OutboxMessage.get(idempotency_key=f"k|fb{sms.id}")  # SMS before a 2nd chat
    assert (copy.channel, copy.address, copy.body["text"]) == ("sms", sms.address, "短信版")
    assert (copy.priority, copy.purpose, copy.ref) == (Priority.CALLUP, "callup", failed.ref)
    assert copy.expires_at == now + timedelta(minutes=5) and copy.status == "queued"
    assert seen == [(failed.id, sms.id)]
    assert not await OutboxMessage.filter(contact_id=second_chat.id).exists()


async def test_the_fallback_copy_without_an_alt_is_the_plain_text(db: str) -> None:
    clock = FakeClock()
    home = await household()
    chat = await Contact.create(household=home, channel="telegram", address="5")
    other_chat = await Contact.create(household=home, channel="telegram", address="8")
    await Contact.create(household=home, channel="sms", address="+86138", status="opted_out")
    await enqueue(Outgoing(contact=chat, message=Message("hi"), key="k"), now=clock.now())
    channel = FakeChannel(outcomes=[Unreachable("blocked", "403")])
    # SMS is sent by this process, but the household's number opted out: never its copy.
    await one_pass(make(db, clock, channel, FakeChannel("sms")))
    copy = await OutboxMessage.get(idempotency_key=f"k|fb{other_chat.id}")
    assert (copy.channel, copy.body["text"]) == ("telegram", "hi")  # same channel, last resort
    assert await OutboxMessage.all().count() == 2  # the message and its one copy


async def test_no_fallback_for_an_edit_or_when_nobody_else_is_reachable(db: str) -> None:
    clock = FakeClock()
    home = await household()
    chat = await Contact.create(household=home, channel="telegram", address="5")
    await Contact.create(household=home, channel="sms", address="+8613800000001")
    await enqueue(
        Outgoing(contact=chat, message=Message("e", extra={"edit_message_id": 3}), key="k"),
        now=clock.now(),
    )
    targets: list[Contact | None] = []

    async def hook(message: OutboxMessage, target: Contact | None) -> None:
        targets.append(target)

    dispatcher = make(
        db, clock, FakeChannel(outcomes=[Unreachable("blocked", "403")]), FakeChannel("sms")
    )
    dispatcher.on_unreachable.append(hook)
    await one_pass(dispatcher)
    assert await OutboxMessage.all().count() == 1 and targets == [None]


# ---- call-ups cut in ----------------------------------------------------------------------


async def test_ordinary_messages_give_way_when_call_ups_are_announced(db: str) -> None:
    clock = FakeClock()
    await enqueue_many(
        [
            Outgoing(
                contact=None,
                message=Message(f"s{i}"),
                key=f"s{i}",
                channel="telegram",
                address=f"{i}",
            )
            for i in range(3)
        ],
        now=clock.now(),
    )
    channel = FakeChannel()
    dispatcher = make(db, clock, channel, limits=True)
    sender = window_of(dispatcher)
    dispatcher.notify("telegram", urgent=True)
    assert "telegram" in dispatcher._urgent and sender._last_urgent == clock.monotonic()
    for _ in range(sender.limit - sender.reserved):  # ordinary traffic has used its share
        sender.take()
    task = asyncio.create_task(dispatcher.run_once("telegram"))
    await wait_for(lambda: OutboxMessage.filter(status="sending").exists())
    for _ in range(20):
        await asyncio.sleep(0)
    assert not task.done()  # the survey message waits for a slot ...
    dispatcher.notify("telegram", urgent=True)  # ... until call-ups are enqueued
    clock.advance(0.01)
    assert await asyncio.wait_for(task, 1.0) == 3
    await dispatcher.drain_in_flight()
    assert channel.sent == []
    rows = await OutboxMessage.all()
    assert all(r.status == "queued" and r.attempts == 0 for r in rows)  # attempt not spent


async def test_a_call_up_takes_the_reserved_slot_at_once(db: str) -> None:
    clock = FakeClock()
    await enqueue(call_up("come down", "1"), now=clock.now())
    channel = FakeChannel()
    dispatcher = make(db, clock, channel, limits=True)
    sender = window_of(dispatcher)
    sender.note_urgent()
    for _ in range(sender.limit - sender.reserved):
        sender.take()
    dispatcher.notify("telegram", urgent=True)
    assert await one_pass(dispatcher) == 1
    assert channel.sent == [("1", "come down")]


# ---- recovery -----------------------------------------------------------------------------


async def test_recovery_requeues_what_a_previous_run_left(db: str) -> None:
    clock = FakeClock()
    now = clock.now()
    await enqueue_many(
        [
            Outgoing(
                contact=None, message=Message(f"{i}"), key=f"k{i}", channel="telegram", address="1"
            )
            for i in range(4)
        ],
        now=now,
    )
    await OutboxMessage.filter(idempotency_key="k0").update(status="sending", lease_owner="x")
    await OutboxMessage.filter(idempotency_key="k1").update(status="claimed", lease_owner="x")
    await OutboxMessage.filter(idempotency_key="k2").update(status="sent")
    clock.advance(1)
    dispatcher = make(db, clock)
    assert await dispatcher.recover() == 1
    assert dispatcher.stats.recovered_in_flight == 1
    for key in ("k0", "k1"):
        back = await row(key)
        assert (back.status, back.lease_owner, back.updated_at) == ("queued", None, clock.now())
    assert (await row("k2")).status == "sent"


async def test_one_process_recovers_even_leases_not_yet_run_out(db: str) -> None:
    """On SQLite (one process) a restart within the lease still requeues the rows the previous
    run left, their lease cleared."""
    clock = FakeClock()
    now = clock.now()
    await enqueue_many(
        [
            Outgoing(contact=None, message=Message(k), key=k, channel="telegram", address="1")
            for k in ("a", "b")
        ],
        now=now,
    )
    lease = now + timedelta(seconds=30)
    await OutboxMessage.filter(idempotency_key="a").update(status="sending", lease_until=lease)
    await OutboxMessage.filter(idempotency_key="b").update(status="claimed", lease_until=lease)
    assert await make(db, clock).recover() == 1
    rows = await OutboxMessage.all().order_by("id")
    assert [(r.status, r.lease_until) for r in rows] == [("queued", None)] * 2


async def test_run_stops_and_gives_back_what_it_claimed(db: str) -> None:
    clock = FakeClock()
    await enqueue(
        Outgoing(contact=None, message=Message("x"), key="k", channel="telegram", address="1"),
        now=clock.now(),
    )
    channel = FakeChannel()
    dispatcher = make(db, clock, channel)
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    await wait_for(lambda: channel.sent)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert channel.sent == [("1", "x")]
    assert (await row("k")).status == "sent"


# ---- more of the life cycle -----------------------------------------------------------------


def test_notify_wakes_the_named_channel_and_only_urgent_marks_it(db: str) -> None:
    clock = FakeClock()
    dispatcher = make(db, clock, FakeChannel(), FakeChannel("sms"), limits=True)
    dispatcher.notify("sms")
    assert dispatcher._wake["sms"].is_set() and not dispatcher._wake["telegram"].is_set()
    assert dispatcher._urgent == set()
    sms = dispatcher.limits["sms"].sender
    assert isinstance(sms, TokenBucket) and sms._last_urgent < 0
    clock.advance(7)
    dispatcher.notify(urgent=True)
    assert dispatcher._wake["telegram"].is_set()
    assert dispatcher._urgent == {"telegram", "sms"} and sms._last_urgent == 7


def test_errors_keep_the_last_ten() -> None:
    stats = DispatchStats()
    for i in range(12):
        stats.note_error(str(i))
    assert stats.last_errors == [str(i) for i in range(2, 12)]


async def test_a_stopping_dispatcher_gives_its_batch_back_unspent(db: str) -> None:
    clock = FakeClock()
    await enqueue_many(
        [call_up(f"{i}", f"{i}", key=f"k{i}") for i in range(2)],
        now=clock.now(),
    )
    channel = FakeChannel()
    dispatcher = make(db, clock, channel)
    dispatcher._stopping = True
    assert await one_pass(dispatcher) == 2
    assert channel.sent == []
    rows = await OutboxMessage.all()
    assert [(r.status, r.attempts, r.lease_owner) for r in rows] == [("queued", 0, None)] * 2


async def test_the_rate_slot_is_held_until_the_call_completes(db: str) -> None:
    clock = FakeClock()
    await enqueue(
        Outgoing(contact=None, message=Message("x"), key="k", channel="telegram", address="1"),
        now=clock.now(),
    )
    gate = asyncio.Event()

    class SlowChannel(FakeChannel):
        async def send(self, address: str, message: Message) -> SendResult:
            await gate.wait()
            return await super().send(address, message)

    dispatcher = make(db, clock, SlowChannel(), limits=True)
    sender = window_of(dispatcher)
    await dispatcher.run_once("telegram")
    assert sender._in_flight == 1 and sender._done == []
    gate.set()
    await dispatcher.drain_in_flight()
    assert sender._in_flight == 0 and sender._done == [clock.monotonic()]


async def test_with_several_workers_only_expired_leases_are_recovered(db: str) -> None:
    """On PostgreSQL another worker may hold a live lease: its rows are left alone."""
    clock = FakeClock()
    now = clock.now()
    await enqueue_many(
        [
            Outgoing(
                contact=None, message=Message(f"{i}"), key=f"k{i}", channel="telegram", address="1"
            )
            for i in range(4)
        ],
        now=now,
    )
    live, stale = now + timedelta(seconds=30), now - timedelta(seconds=1)
    await OutboxMessage.filter(idempotency_key="k0").update(status="sending", lease_until=live)
    await OutboxMessage.filter(idempotency_key="k1").update(status="sending", lease_until=stale)
    await OutboxMessage.filter(idempotency_key="k2").update(status="claimed", lease_until=live)
    await OutboxMessage.filter(idempotency_key="k3").update(status="claimed", lease_until=None)
    dispatcher = Dispatcher(
        {"telegram": FakeChannel()},
        clock=clock,
        settings=make_settings(database_url="postgres://u:p@nowhere/db"),
        limits_enabled=False,
    )
    assert not dispatcher._single_process()
    assert await dispatcher.recover() == 1
    status = dict(await OutboxMessage.all().values_list("idempotency_key", "status"))
    assert status == {"k0": "sending", "k1": "queued", "k2": "claimed", "k3": "queued"}


# ---- one message's outcome leaves the others alone ----------------------------------------


class Scripted(FakeChannel):
    """Each text has its outcome: "retry" and "refused" fail at once, "slow" waits for
    ``gate``, anything else succeeds."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def send(self, address: str, message: Message) -> SendResult:
        self.sent.append((address, message.text))
        if message.text == "retry":
            raise RetryLater("busy")
        if message.text == "refused":
            raise PermanentFailure("bad request", "400")
        if message.text == "slow":
            await self.gate.wait()
        return SendResult(provider_id=f"p-{message.text}")


async def test_a_retry_or_a_failure_leaves_a_message_still_being_sent_alone(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The slow call is never sent a second time, nor failed, because another message of its
    batch was retried or refused meanwhile."""
    monkeypatch.setattr(dispatcher_module, "backoff", lambda attempts, **_: 3.0)
    clock = FakeClock()
    await enqueue_many(
        [
            Outgoing(contact=None, message=Message(t), key=t, channel="telegram", address=a)
            for t, a in [("retry", "1"), ("slow", "2"), ("refused", "3")]
        ],
        now=clock.now(),
    )
    channel = Scripted()
    dispatcher = make(db, clock, channel)
    assert await dispatcher.run_once("telegram") == 3
    await wait_for(lambda: len(dispatcher._tasks) == 1)  # only the slow call is left
    statuses = dict(await OutboxMessage.all().values_list("idempotency_key", "status"))
    assert statuses == {"retry": "queued", "slow": "sending", "refused": "failed"}
    clock.advance(3)
    assert await dispatcher.run_once("telegram") == 1  # the retried one, not the slow call
    channel.gate.set()
    await dispatcher.drain_in_flight()
    assert sorted(channel.sent) == [("1", "retry"), ("1", "retry"), ("2", "slow"), ("3", "refused")]
    slow = await row("slow")
    assert (slow.status, slow.attempts, slow.provider_id) == ("sent", 1, "p-slow")
    assert (await row("refused")).status == "failed"


class DeliveredThen(FakeChannel):
    """The provider delivered the message, and its report reached us before its API answer,
    which is an error (a timeout after the provider had it, a confused gateway)."""

    async def send(self, address: str, message: Message) -> SendResult:
        self.sent.append((address, message.text))
        await OutboxMessage.filter(idempotency_key=message.text).update(status="delivered")
        if message.text == "retry":
            raise RetryLater("timeout")
        raise PermanentFailure("bad gateway answer", "400")


async def test_a_message_reported_delivered_is_neither_retried_nor_failed(db: str) -> None:
    clock = FakeClock()
    await enqueue_many(
        [
            Outgoing(contact=None, message=Message(t), key=t, channel="telegram", address=a)
            for t, a in [("retry", "1"), ("refused", "2")]
        ],
        now=clock.now(),
    )
    channel = DeliveredThen()
    dispatcher = make(db, clock, channel)
    await one_pass(dispatcher)
    clock.advance(700)
    assert await one_pass(dispatcher) == 0  # nothing is sent twice
    assert len(channel.sent) == 2
    for key in ("retry", "refused"):
        assert (await row(key)).status == "delivered"


# ---- what /metrics shows ------------------------------------------------------------------


def metric(text: str, outcome: str) -> float:
    line = f'louzhang_dispatcher_messages{{outcome="{outcome}"}} '
    return float(next(x for x in text.splitlines() if x.startswith(line))[len(line) :])


async def test_metrics_count_every_outcome_of_the_pass(db: str) -> None:
    clock = FakeClock()
    homes = [await household(n) for n in range(2)]
    chats = [
        await Contact.create(household=home, channel="telegram", address=f"5{n}")
        for n, home in enumerate(homes)
    ]
    await enqueue_many(
        [Outgoing(contact=c, message=Message("u"), key=f"u{c.id}") for c in chats]
        + [
            Outgoing(contact=None, message=Message(k), key=k, channel="telegram", address=k)
            for k in ("f1", "f2", "r1", "r2", "ok")
        ],
        now=clock.now(),
    )
    channel = FakeChannel(
        outcomes=[
            Unreachable("blocked", "403"),
            Unreachable("blocked", "403"),
            PermanentFailure("bad", "400"),
            PermanentFailure("bad", "400"),
            RetryLater("busy"),
            RetryLater("busy"),
        ]
    )
    dispatcher = make(db, clock, channel)
    await one_pass(dispatcher)
    text = (await render_metrics(clock, dispatcher)).decode()
    counts = {o: metric(text, o) for o in ("sent", "retried", "failed", "unreachable")}
    assert counts == {"sent": 1, "retried": 2, "failed": 2, "unreachable": 2}
    assert dispatcher.stats.last_errors[-1].split() == ["telegram", "busy"]  # no code shown


# ---- a contact no longer active ---------------------------------------------------------------


async def test_a_message_to_an_opted_out_contact_goes_to_the_households_next_contact(
    db: str,
) -> None:
    clock = FakeClock()
    home = await household()
    gone = await Contact.create(household=home, channel="telegram", address="5", status="opted_out")
    sms = await Contact.create(household=home, channel="sms", address="+8613800000001")
    await enqueue(Outgoing(contact=gone, message=Message("x"), key="k"), now=clock.now())
    told: list[int | None] = []

    async def hook(message: OutboxMessage, target: Contact | None) -> None:
        told.append(target.id if target else None)

    channel = FakeChannel()
    dispatcher = make(db, clock, channel, FakeChannel("sms"))
    dispatcher.on_unreachable.append(hook)
    await one_pass(dispatcher)
    assert channel.sent == [] and told == [sms.id]
    copy = await OutboxMessage.get(idempotency_key=f"k|fb{sms.id}")
    assert (copy.channel, copy.address, copy.status) == ("sms", sms.address, "queued")


async def test_a_contact_deleted_while_its_message_was_claimed_stops_nothing_else(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Staff removed a contact between the claim and the send (its messages go with it): the
    rest of the batch is still sent."""
    clock = FakeClock()
    home = await household()
    leaving = await Contact.create(household=home, channel="telegram", address="5")
    staying = await Contact.create(household=await household(1), channel="telegram", address="6")
    await enqueue_many(
        [
            Outgoing(contact=leaving, message=Message("a"), key="a"),
            Outgoing(contact=staying, message=Message("b"), key="b"),
        ],
        now=clock.now(),
    )
    channel = FakeChannel()
    dispatcher = make(db, clock, channel)
    claim = dispatcher.claim

    async def claim_then_delete(*args: object, **kwargs: object) -> list[OutboxMessage]:
        rows = await claim(*args, **kwargs)  # type: ignore[arg-type]
        await leaving.delete()
        return rows

    monkeypatch.setattr(dispatcher, "claim", claim_then_delete)
    assert await one_pass(dispatcher) == 2
    assert channel.sent == [("6", "b")]
    assert (await row("b")).status == "sent"
    assert await OutboxMessage.filter(idempotency_key="a").count() == 0


# ---- what is recorded of a failure ------------------------------------------------------------


class SlowAnswer(FakeChannel):
    """A provider that takes two seconds to answer."""

    def __init__(self, clock: FakeClock, outcomes: list[object]) -> None:
        super().__init__(outcomes=outcomes)
        self.clock = clock

    async def send(self, address: str, message: Message) -> SendResult:
        self.clock.advance(2)
        return await super().send(address, message)


async def test_a_failure_is_recorded_when_the_answer_came_with_the_reason_cut_to_fit(
    db: str,
) -> None:
    clock = FakeClock()
    home = await household()
    chat = await Contact.create(household=home, channel="telegram", address="5")
    await enqueue_many(
        [
            Outgoing(contact=None, message=Message("r"), key="r", channel="telegram", address="1"),
            Outgoing(contact=None, message=Message("f"), key="f", channel="telegram", address="2"),
            Outgoing(contact=chat, message=Message("u"), key="u"),
        ],
        now=clock.now(),
    )
    long = "x" * 400
    dispatcher = make(
        db,
        clock,
        SlowAnswer(
            clock,
            [RetryLater(long, "500"), PermanentFailure("bad", "400"), Unreachable(long, "403")],
        ),
    )
    start = clock.now()
    await one_pass(dispatcher)
    retried, failed, unreachable = await row("r"), await row("f"), await row("u")
    assert (retried.status, retried.error) == ("queued", "x" * 300)
    assert retried.updated_at == start + timedelta(seconds=2)
    assert (failed.status, failed.updated_at) == ("failed", start + timedelta(seconds=4))
    assert unreachable.error == "x" * 300
    await chat.refresh_from_db()
    assert (chat.status, chat.status_reason) == ("unreachable", "x" * 100)
    assert chat.updated_at == start + timedelta(seconds=6)


# ---- who gets the copy ------------------------------------------------------------------------


async def test_the_copy_goes_to_the_same_household_on_a_channel_being_sent(db: str) -> None:
    """A neighbour on a better channel is never chosen; a contact on a channel this process
    does not send (SMS off) is passed over for the household's second chat."""
    clock = FakeClock()
    home = await household()
    chat = await Contact.create(household=home, channel="telegram", address="5")
    second_chat = await Contact.create(household=home, channel="telegram", address="8")
    await Contact.create(household=home, channel="sms", address="+8613800000001")
    await Contact.create(household=await household(1), channel="local", address="n1")
    await enqueue(Outgoing(contact=chat, message=Message("hi"), key="k"), now=clock.now())
    channel = FakeChannel(outcomes=[Unreachable("blocked", "403")])
    await one_pass(make(db, clock, channel, FakeChannel("local")))
    copies = await OutboxMessage.exclude(idempotency_key="k").values_list("contact_id", "channel")
    assert copies == [(second_chat.id, "telegram")]


async def test_the_copy_is_sent_at_once_by_a_running_dispatcher(db: str) -> None:
    clock = FakeClock()
    home = await household()
    chat = await Contact.create(household=home, channel="telegram", address="5")
    await Contact.create(household=home, channel="sms", address="+8613800000001")
    sms = FakeChannel("sms")
    dispatcher = Dispatcher(
        {"telegram": FakeChannel(outcomes=[Unreachable("blocked", "403")]), "sms": sms},
        clock=clock,
        settings=make_settings(database_url=db),
        limits_enabled=False,
        poll_interval=60.0,  # an idle loop looks again only after a minute unless woken
    )
    stop = asyncio.Event()
    await enqueue(Outgoing(contact=chat, message=Message("hi"), key="k"), now=clock.now())
    task = asyncio.create_task(dispatcher.run(stop))
    await wait_for(lambda: sms.sent, limit=3.0)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert sms.sent == [("+8613800000001", "hi")]


async def test_at_most_64_sends_are_in_flight_at_once(db: str) -> None:
    clock = FakeClock()
    await enqueue_many(
        [
            Outgoing(
                contact=None, message=Message("slow"), key=f"k{i}", channel="local", address=f"{i}"
            )
            for i in range(66)
        ],
        now=clock.now(),
    )
    channel = Scripted()
    channel.name = "local"
    dispatcher = make(db, clock, channel)
    task = asyncio.create_task(dispatcher.run_once("local"))
    await wait_for(lambda: len(channel.sent) >= 64)
    for _ in range(20):
        await asyncio.sleep(0)  # yields: a 65th send would start now
    assert len(channel.sent) == 64 and not task.done()
    channel.gate.set()
    assert await task == 66
    await dispatcher.drain_in_flight()
    assert len(channel.sent) == 66


# ---- more promises of a pass ------------------------------------------------------------------


async def test_a_login_link_is_forgotten_once_sent(db: str) -> None:
    clock = FakeClock()
    await enqueue(
        Outgoing(
            contact=None,
            message=Message("https://x/login/secret"),
            key="k",
            purpose="login",
            channel="telegram",
            address="1",
        ),
        now=clock.now(),
    )
    channel = FakeChannel()
    await one_pass(make(db, clock, channel))
    assert channel.sent == [("1", "https://x/login/secret")]
    sent = await row("k")
    assert sent.status == "sent" and sent.body["text"] == FORGOTTEN.text


async def test_an_announcement_holds_ordinary_messages_back_only_until_the_next_claim(
    db: str,
) -> None:
    """Call-ups announced before a claim are claimed first by it; the ordinary messages of that
    claim (and of the next ones) are then sent as usual."""
    clock = FakeClock()
    await enqueue(
        Outgoing(contact=None, message=Message("s"), key="s", channel="telegram", address="1"),
        now=clock.now(),
    )
    channel = FakeChannel()
    dispatcher = make(db, clock, channel)
    dispatcher.notify("telegram", urgent=True)
    assert await one_pass(dispatcher) == 1
    assert channel.sent == [("1", "s")]


async def _call_ups_announced_mid_pass(
    db: str, clock: FakeClock, channel: Any, callup: str
) -> Dispatcher:
    """Three rows on one claim: one to an opted-out contact, a call-up (``callup``) and an
    ordinary message; failing the first announces call-ups (an urgent notify), as a drive does."""
    gone = await Contact.create(
        household=await household(), channel="telegram", address="5", status="opted_out"
    )
    await enqueue_many(
        [
            Outgoing(contact=gone, message=Message("x"), key="x"),
            call_up(callup, "6"),
            Outgoing(contact=None, message=Message("s"), key="s", channel="telegram", address="7"),
        ],
        now=clock.now(),
    )
    dispatcher = make(db, clock, channel)

    async def drive_enqueued(message: OutboxMessage, target: Contact | None) -> None:
        dispatcher.notify("telegram", urgent=True)

    dispatcher.on_unreachable.append(drive_enqueued)
    return dispatcher


async def test_call_ups_announced_during_a_pass_still_go_out_the_rest_waits(db: str) -> None:
    """A drive enqueues call-ups while a pass is under way (here: while it fails a message to
    an opted-out contact): the call-ups already claimed go out, the ordinary messages behind
    them go back unspent, for the next claim to take the new call-ups first."""
    clock = FakeClock()
    channel = FakeChannel()
    dispatcher = await _call_ups_announced_mid_pass(db, clock, channel, "come down")
    assert await one_pass(dispatcher) == 3
    assert channel.sent == [("6", "come down")]
    waiting = await row("s")
    assert (waiting.status, waiting.attempts, waiting.lease_owner) == ("queued", 0, None)
    assert (await row("c")).status == "sent"  # given back: only the rows not sent


async def test_the_recovered_figure_adds_up_every_recovery(db: str) -> None:
    clock = FakeClock()
    dispatcher = make(db, clock)
    for key in ("a", "b"):
        await enqueue(
            Outgoing(contact=None, message=Message(key), key=key, channel="telegram", address="1"),
            now=clock.now(),
        )
        await OutboxMessage.filter(idempotency_key=key).update(status="sending")
        assert await dispatcher.recover() == 1
    assert dispatcher.stats.recovered_in_flight == 2


async def test_a_send_whose_outcome_could_not_be_recorded_does_not_break_the_drain(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database fails in the middle of recording a refusal: waiting for the sends still
    returns (the error stays with its send), so the dispatcher can stop."""
    clock = FakeClock()
    await enqueue(
        Outgoing(contact=None, message=Message("x"), key="k", channel="telegram", address="1"),
        now=clock.now(),
    )

    async def database_away(rows: object) -> int:
        raise ConnectionError("database away")

    monkeypatch.setattr(dispatcher_module, "forget_secrets", database_away)
    dispatcher = make(db, clock, FakeChannel(outcomes=[PermanentFailure("bad", "400")]))
    await dispatcher.run_once("telegram")
    await dispatcher.drain_in_flight()  # does not raise
    assert (await row("k")).status == "failed"


async def test_waiting_for_the_sends_waits_until_they_are_recorded(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When drain_in_flight returns (a stopping worker is about to exit), every finished send is
    written as sent: none is left "sending" for the next start to send again."""
    clock = FakeClock()
    await enqueue(
        Outgoing(contact=None, message=Message("x"), key="k", channel="telegram", address="1"),
        now=clock.now(),
    )
    written: list[int] = []
    update_many = dispatcher_module.update_many

    async def recording(*args: Any, **kwargs: Any) -> None:
        await update_many(*args, **kwargs)
        written.append(len(args[2]))

    monkeypatch.setattr(dispatcher_module, "update_many", recording)
    dispatcher = make(db, clock)
    await dispatcher.run_once("telegram")
    await dispatcher.drain_in_flight()
    assert written == [1]  # already, with no await in between


async def test_the_attempt_is_recorded_at_its_own_time(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim took two seconds: the row in flight says when its attempt began, not when it
    was claimed."""
    clock = FakeClock()
    await enqueue(
        Outgoing(contact=None, message=Message("slow"), key="k", channel="telegram", address="1"),
        now=clock.now(),
    )
    channel = Scripted()
    dispatcher = make(db, clock, channel)
    claim = dispatcher.claim

    async def slow_claim(*args: Any, **kwargs: Any) -> list[OutboxMessage]:
        rows = await claim(*args, **kwargs)
        clock.advance(2)
        return rows

    monkeypatch.setattr(dispatcher, "claim", slow_claim)
    await dispatcher.run_once("telegram")
    in_flight = await row("k")
    assert (in_flight.status, in_flight.attempts) == ("sending", 1)
    assert in_flight.updated_at == clock.now()
    channel.gate.set()
    await dispatcher.drain_in_flight()


async def test_a_message_reaches_its_channel_as_it_was_enqueued(db: str) -> None:
    """Only a channel placing calls gets the outbox row's id with the message (its status
    routes name the row); any other channel gets the message as enqueued, nothing added."""
    clock = FakeClock()
    message = Message("x", extra={"reply_to": 7})
    await enqueue(
        Outgoing(contact=None, message=message, key="k", channel="telegram", address="1"),
        now=clock.now(),
    )
    got: list[Message] = []

    class Recording(FakeChannel):
        async def send(self, address: str, message: Message) -> SendResult:
            got.append(message)
            return await super().send(address, message)

    await one_pass(make(db, clock, Recording()))
    assert got == [message]


async def test_an_sms_is_charged_its_segments(db: str) -> None:
    """A four-segment SMS uses four seconds' worth of a 4-segments-a-second sender: the next
    SMS waits until the bucket has refilled."""
    clock = FakeClock()
    await enqueue_many(
        [
            Outgoing(contact=None, message=Message(t), key=t, channel="sms", address=a)
            for t, a in (("long", "+1"), ("short", "+2"))
        ],
        now=clock.now(),
    )

    class Segments(FakeChannel):
        def cost(self, message: Message) -> int:
            return 4 if message.text == "long" else 1

    channel = Segments("sms")
    dispatcher = make(db, clock, channel, limits=True, sms_segments_per_second=4)
    assert await one_pass(dispatcher, "sms") == 1
    task = asyncio.create_task(dispatcher.run_once("sms"))
    await wait_for(lambda: OutboxMessage.filter(idempotency_key="short", status="sending").exists())
    for _ in range(20):
        await asyncio.sleep(0)
    assert channel.sent == [("+1", "long")] and not task.done()
    clock.advance(1.0)
    assert await asyncio.wait_for(task, 1.0) == 1
    await dispatcher.drain_in_flight()
    assert channel.sent == [("+1", "long"), ("+2", "short")]


async def test_a_pass_records_at_its_own_time_and_never_over_a_report(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim took two seconds; meanwhile call-ups were announced (the ordinary messages go
    back) and the delivery reports of earlier attempts of two rows came. A late message expires
    and a message goes back, each at the time of the pass; the reported rows stay delivered."""
    clock = FakeClock()
    late = clock.now() - timedelta(seconds=1)
    await enqueue_many(
        [
            Outgoing(
                contact=None,
                message=Message(k),
                key=k,
                channel="telegram",
                address=str(i),
                expires_at=late if k.startswith("late") else None,
            )
            for i, k in enumerate(("late", "late reported", "back", "back reported"))
        ],
        now=clock.now(),
    )
    channel = FakeChannel()
    dispatcher = make(db, clock, channel)
    claim = dispatcher.claim

    async def slow_claim(*args: Any, **kwargs: Any) -> list[OutboxMessage]:
        rows = await claim(*args, **kwargs)
        clock.advance(2)
        dispatcher.notify("telegram", urgent=True)
        await OutboxMessage.filter(idempotency_key__endswith="reported").update(status="delivered")
        return rows

    monkeypatch.setattr(dispatcher, "claim", slow_claim)
    assert await one_pass(dispatcher) == 4
    assert channel.sent == []
    expired, back = await row("late"), await row("back")
    assert (expired.status, expired.updated_at) == ("expired", clock.now())
    assert (back.status, back.updated_at, back.next_attempt_at) == (
        "queued",
        clock.now(),
        clock.now(),
    )
    for key in ("late reported", "back reported"):
        assert (await row(key)).status == "delivered"


async def test_a_call_up_waiting_for_a_slot_keeps_its_place_when_more_are_announced(
    db: str,
) -> None:
    clock = FakeClock()
    await enqueue(call_up("come down", "1"), now=clock.now())
    channel = FakeChannel()
    dispatcher = make(db, clock, channel, limits=True)
    sender = window_of(dispatcher)
    for _ in range(sender.limit):  # every slot, the reserve too, is taken
        sender.take()
    task = asyncio.create_task(dispatcher.run_once("telegram"))
    await wait_for(lambda: OutboxMessage.filter(status="sending").exists())
    dispatcher.notify("telegram", urgent=True)  # more call-ups enqueued
    clock.advance(sender.window)
    assert await asyncio.wait_for(task, 1.0) == 1
    await dispatcher.drain_in_flight()
    assert channel.sent == [("1", "come down")]


async def test_the_expired_figure_adds_up_over_passes(db: str) -> None:
    clock = FakeClock()
    dispatcher = make(db, clock)
    for key in ("a", "b"):
        await enqueue(
            Outgoing(
                contact=None,
                message=Message(key),
                key=key,
                channel="telegram",
                address=key,
                expires_at=clock.now(),
            ),
            now=clock.now(),
        )
        assert await one_pass(dispatcher) == 1
    assert dispatcher.stats.expired == 2


async def test_a_chats_later_message_goes_back_at_the_time_of_the_pass(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    await enqueue_many(
        [
            Outgoing(contact=None, message=Message(k), key=k, channel="telegram", address="1")
            for k in ("a", "b")
        ],
        now=clock.now(),
    )
    dispatcher = make(db, clock, limits=True)
    claim = dispatcher.claim

    async def slow_claim(*args: Any, **kwargs: Any) -> list[OutboxMessage]:
        rows = await claim(*args, **kwargs)
        clock.advance(2)
        return rows

    monkeypatch.setattr(dispatcher, "claim", slow_claim)
    await one_pass(dispatcher)
    waiting = await row("b")
    assert (waiting.status, waiting.updated_at) == ("queued", clock.now())


async def test_giving_the_rest_of_a_pass_back_leaves_a_message_being_sent_alone(
    db: str,
) -> None:
    """Call-ups are announced during a pass whose call-up is still being sent: the ordinary
    message behind it goes back, the call-up in flight does not (it is never sent twice)."""
    clock = FakeClock()
    channel = Scripted()
    dispatcher = await _call_ups_announced_mid_pass(db, clock, channel, "slow")
    assert await dispatcher.run_once("telegram") == 3
    assert await dispatcher.run_once("telegram") == 1  # the ordinary message, given back
    channel.gate.set()
    await dispatcher.drain_in_flight()
    assert sorted(channel.sent) == [("6", "slow"), ("7", "s")]
