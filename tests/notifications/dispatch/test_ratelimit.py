"""Rate limiters on a fake clock: never over the limit, used to the full.

Promises (each has a test below):
- Telegram: at most ``limit`` sends (30) in any window of a second plus the margin (10 ms).
- A send holds its slot from its start until it completes; the window counts from completion.
- While call-ups go (600 s after the last), ordinary traffic leaves ceil(20%) of the window free.
- Call-ups may use the whole window; the reserve ends after the urgent spell; an ordinary
  send (an acquire not marked urgent) never starts the reserve.
- SMS: a token bucket of ``rate`` segments a second (2% margin), burst capped at one second's
  worth (at least one); a long message runs it into debt; ordinary traffic leaves 20% of the
  burst for call-ups.
- One message per chat per second plus 20 ms: never released early; every deferred row of a
  chat gets the same time; old keys are forgotten only when there are many.
- A wait sleeps on the injected clock and stops within ABORT_CHECK when ``abort()`` is true.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from config.clock import FakeClock
from notifications.dispatch.ratelimit import (
    ABORT_CHECK,
    URGENT_SPELL,
    PerKeySpacing,
    SlidingWindow,
    TokenBucket,
)


def test_sliding_window_allows_the_limit_then_waits_for_the_oldest() -> None:
    clock = FakeClock()
    window = SlidingWindow(30, clock, margin=0.0)
    for _ in range(30):
        assert window.wait_time() == 0
        window.take()
    assert window.wait_time() == 1.0
    clock.advance(0.5)
    assert window.wait_time() == 0.5
    clock.advance(0.5)
    assert window.wait_time() == 0


def test_token_bucket_runs_into_debt_for_a_long_sms() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1.0, clock, margin=0.0)
    assert bucket.wait_time(3) == 0  # a full bucket lets a 3-segment message go
    bucket.take(3)
    assert bucket.wait_time(1) == 3.0  # ... and then the sender waits for the debt


def test_every_deferral_of_a_recipient_gets_the_same_time() -> None:
    clock = FakeClock()
    spacing = PerKeySpacing(1.0, clock, margin=0.0)
    assert spacing.busy_until("chat") is None
    spacing.take("chat")
    first = spacing.busy_until("chat")
    clock.advance(0.3)
    assert spacing.busy_until("chat") == first  # deferred rows come back together, in id order
    assert spacing.busy_until("other") is None
    clock.advance(0.7)
    assert spacing.busy_until("chat") is None


def test_ordinary_traffic_leaves_slots_free_for_call_ups() -> None:
    clock = FakeClock()
    window = SlidingWindow(30, clock, margin=0.0)
    assert window.reserved == 6
    for _ in range(30):  # no call-up lately: ordinary traffic uses the whole limit
        assert window.wait_time() == 0
        window.take()
    clock.advance(1.0)
    window.take()  # ... a call-up goes out
    window.note_urgent()
    clock.advance(1.0)
    for _ in range(24):
        assert window.wait_time(urgent=False) == 0
        window.take()
        clock.advance(0.01)
    assert window.wait_time(urgent=False) > 0  # a survey message now waits ...
    for _ in range(6):
        assert window.wait_time(urgent=True) == 0  # ... while call-ups go at once
        window.take()
    assert window.wait_time(urgent=True) > 0  # and the window's limit still holds


def test_token_bucket_keeps_a_reserve_for_call_ups() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10.0, clock, margin=0.0)
    bucket.take(8)
    assert bucket.wait_time(1, urgent=False) == 0  # no call-up lately
    bucket.note_urgent()
    assert bucket.wait_time(1, urgent=False) > 0
    assert bucket.wait_time(1, urgent=True) == 0


# ---- the promises, one by one ---------------------------------------------------------------


def test_token_bucket_burst_is_capped_however_long_it_was_idle() -> None:
    """No burst above one second's worth: an idle hour does not let 3,600 segments out at once."""
    clock = FakeClock()
    bucket = TokenBucket(10.0, clock, margin=0.0, reserve=0.0)
    assert bucket.burst == 10.0
    clock.advance(3600)
    assert bucket.wait_time(10) == 0
    bucket.take(10)
    assert bucket.wait_time(1) == pytest.approx(0.1)
    clock.advance(3600)
    bucket.take(3)
    assert bucket.wait_time(8) == pytest.approx(0.1)  # 7 left after the cap of 10


def test_token_bucket_rate_burst_and_margin() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1.0, clock)  # Twilio long code: 1 segment a second, 2% margin
    assert bucket.rate == pytest.approx(1.0 / 1.02)
    assert bucket.burst == 1.0 and bucket.reserved == 0.0  # a burst of one keeps no reserve
    bucket.take(1)
    assert bucket.wait_time(1) == pytest.approx(1.02)
    clock.advance(1.0)
    assert bucket.wait_time(1) == pytest.approx(0.02)
    clock.advance(0.02)
    assert bucket.wait_time(1) == 0
    small = TokenBucket(0.5, clock, margin=0.0)
    assert small.burst == 1.0  # at least one unit, even below one a second
    assert TokenBucket(2.0, clock, burst=7.0).burst == 7.0
    with pytest.raises(ValueError, match=r"^rate must be positive$"):
        TokenBucket(0, clock)


def test_token_bucket_reserve_is_a_fifth_of_the_burst_while_call_ups_go() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10.0, clock, margin=0.0)
    assert bucket.reserved == pytest.approx(2.0)
    assert TokenBucket(2.0, clock).reserved == pytest.approx(0.4)
    bucket.note_urgent()
    bucket.take(7)  # 3 left, 2 of them reserved
    assert bucket.wait_time(1) == 0
    bucket.take(1)
    assert bucket.wait_time(1) == pytest.approx(0.1)  # ordinary: 2 left, both reserved
    assert bucket.wait_time(2, urgent=True) == 0
    assert bucket.wait_time(3, urgent=True) == pytest.approx(0.1)
    # A message bigger than what ordinary traffic may use still goes once the rest is full.
    clock.advance(1.0)
    assert bucket.wait_time(9) == 0 and bucket.wait_time(12) == 0
    clock.advance(600)  # the spell is over: the reserve is free for anyone
    bucket.take(9)
    assert bucket.wait_time(1) == 0


async def test_token_bucket_acquire_waits_on_the_clock_and_charges_the_cost() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1.0, clock, margin=0.0)
    bucket.take(1)
    task = asyncio.create_task(bucket.acquire(2))
    await _settle()
    assert not task.done()
    clock.advance(0.99)
    await _settle()
    assert not task.done()
    clock.advance(0.01)
    done = await task
    assert done is not None and done() is None
    assert bucket.wait_time(1) == pytest.approx(2.0)  # in debt by one, refilled at 1/s
    assert await bucket.acquire(1, abort=lambda: True) is None
    urgent = asyncio.create_task(bucket.acquire(1, urgent=True))
    clock.advance(2.0)
    await _settle()
    assert await urgent is not None
    assert bucket._last_urgent == clock.monotonic()


def test_per_chat_spacing_is_a_full_second_plus_margin() -> None:
    """A chat's next message is never released early, not even by half a second."""
    clock = FakeClock()
    spacing = PerKeySpacing(1.0, clock)
    assert spacing.interval == timedelta(seconds=1.02)
    spacing.take("chat")
    for elapsed in (0.0, 0.5, 0.51, 0.99, 1.0, 1.01):
        clock.advance(elapsed - (clock.monotonic()))
        assert spacing.busy_until("chat") is not None, elapsed
    clock.advance(0.01)  # 1.02 s after the send
    assert spacing.busy_until("chat") is None
    spacing.take("chat")
    clock.advance(1.0)
    spacing.take("other")
    assert spacing.busy_until("other") == clock.now() + timedelta(seconds=1.02)


def test_per_chat_spacing_forgets_old_keys_only_when_large() -> None:
    clock = FakeClock()
    spacing = PerKeySpacing(1.0, clock, margin=0.0)
    for i in range(20_000):
        spacing.take(str(i))
    assert len(spacing._free_at) == 20_000
    clock.advance(2.0)
    spacing.take("a")
    spacing.take("b")  # 20,002 keys: the expired ones go, the busy ones stay
    assert set(spacing._free_at) == {"a", "b"}
    assert spacing.busy_until("a") is not None


def test_sliding_window_margin_reserve_and_limits() -> None:
    clock = FakeClock()
    window = SlidingWindow(30, clock)
    assert window.window == pytest.approx(1.01) and window.reserved == 6
    assert SlidingWindow(1, clock).reserved == 0  # a limit of one keeps no reserve
    assert SlidingWindow(2, clock).reserved == 1
    assert SlidingWindow(2, clock, reserve=0.6).reserved == 1  # never the whole limit
    assert SlidingWindow(10, clock, reserve=0.25).reserved == 3  # rounded up
    with pytest.raises(ValueError, match=r"^limit must be at least 1$"):
        SlidingWindow(0, clock)
    for _ in range(30):
        window.take()
    clock.advance(1.0)
    assert window.wait_time() == pytest.approx(0.01)  # the margin holds the slot a bit longer
    clock.advance(0.01)
    assert window.wait_time() == 0


def test_sliding_window_waits_for_the_right_slot_to_free() -> None:
    clock = FakeClock()
    window = SlidingWindow(3, clock, margin=0.0, reserve=0.0)
    for _ in range(3):
        window.take()
        clock.advance(0.1)
    assert window.wait_time() == pytest.approx(0.7)  # the oldest frees at 1.0
    window.note_urgent()
    window.reserved = 1
    assert window.wait_time() == pytest.approx(0.8)  # two must free: the second at 1.1
    assert window.wait_time(urgent=True) == pytest.approx(0.7)


def test_sliding_window_holds_a_slot_until_the_send_completes() -> None:
    clock = FakeClock()
    window = SlidingWindow(2, clock, margin=0.0, reserve=0.0)
    done = window.begin()
    window.begin()
    assert window.wait_time() == SlidingWindow.POLL == 0.005  # both in flight: look again soon
    clock.advance(5.0)
    assert window.wait_time() == SlidingWindow.POLL  # still in flight, however long
    done()
    done()  # a second call changes nothing
    assert window._in_flight == 1
    assert window.wait_time() == pytest.approx(1.0)  # counted from its completion
    clock.advance(1.0)
    assert window.wait_time() == 0


def test_the_reserve_ends_after_the_urgent_spell() -> None:
    clock = FakeClock()
    window = SlidingWindow(10, clock, margin=0.0)
    window.note_urgent()
    assert URGENT_SPELL == 600  # ten minutes after the last call-up
    clock.advance(599.5)
    for _ in range(8):
        window.take()
    assert window.wait_time() > 0
    clock.advance(0.5)  # 600 s after the last call-up, the 8 still in the window
    assert window.wait_time() == 0  # 8 in the window, the whole limit of 10 is open again
    for _ in range(8):
        window.take()
    clock.advance(1)
    assert window.wait_time() == 0
    for _ in range(9):
        window.take()
    assert window.wait_time() == 0  # the whole limit again: 9 of 10


async def test_sliding_window_acquire_returns_done_and_marks_urgent() -> None:
    clock = FakeClock()
    window = SlidingWindow(2, clock, margin=0.0, reserve=0.0)
    done = await window.acquire()
    assert done is not None and window._in_flight == 1
    done()
    assert window._in_flight == 0 and len(window._done) == 1
    clock.advance(3.0)
    assert await window.acquire(urgent=True) is not None
    assert window._last_urgent == 3.0
    assert await window.acquire(abort=lambda: True) is None
    assert window._in_flight == 1  # an aborted wait takes no slot


async def test_an_ordinary_send_does_not_start_the_call_up_reserve() -> None:
    clock = FakeClock()
    window = SlidingWindow(10, clock, margin=0.0)
    done = await window.acquire()
    assert done is not None
    done()
    for _ in range(8):
        window.take()
    assert window.wait_time() == 0  # 9 of 10: no call-up, so no reserve of 2


async def test_a_wait_is_aborted_within_the_check_interval() -> None:
    clock = FakeClock()
    window = SlidingWindow(1, clock, margin=0.0)
    window.take()
    stop = False
    task = asyncio.create_task(window.acquire(abort=lambda: stop))
    await _settle()
    assert ABORT_CHECK == 0.01
    clock.advance(0.005)
    await _settle()
    assert not task.done()
    stop = True
    clock.advance(0.005)  # the waiter looks again within 10 ms, long before the window frees
    await _settle()
    assert task.done() and task.result() is None


async def test_a_wait_without_abort_sleeps_until_the_slot_frees() -> None:
    clock = FakeClock()
    window = SlidingWindow(1, clock, margin=0.0)
    window.take()
    task = asyncio.create_task(window.acquire())
    await _settle()
    clock.advance(0.999)
    await _settle()
    assert not task.done()
    clock.advance(0.001)
    await _settle()
    assert task.done() and task.result() is not None


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_token_bucket_defaults_cost_one_unit() -> None:
    clock = FakeClock()
    bucket = TokenBucket(4.0, clock, margin=0.0, reserve=0.0)
    bucket.take()
    bucket.take()
    bucket.take()
    assert bucket.wait_time() == 0  # one unit left: a one-unit message goes
    assert bucket.wait_time(2) == pytest.approx(0.25)
    bucket.take()
    assert bucket.wait_time() == pytest.approx(0.25)


async def test_token_bucket_acquire_defaults_to_one_ordinary_unit() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10.0, clock, margin=0.0)
    done = await bucket.acquire()
    assert done is not None and bucket._tokens == pytest.approx(9.0)
    assert bucket._last_urgent == float("-inf")  # not a call-up: no reserve started


async def test_an_urgent_acquire_takes_the_reserve_at_once() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10.0, clock, margin=0.0)
    bucket.note_urgent()
    bucket.take(8)  # only the reserve is left
    assert await bucket.acquire(1, abort=lambda: True) is None  # ordinary: must wait
    done = await asyncio.wait_for(bucket.acquire(1, urgent=True), 1)
    assert done is not None and bucket._tokens == pytest.approx(1.0)


def test_the_token_bucket_reserve_ends_exactly_after_the_spell() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10.0, clock, margin=0.0)
    bucket.note_urgent()
    clock.advance(600)
    bucket.take(9)  # 1 left (refilled to the cap first)
    assert bucket.wait_time(1) == 0  # 600 s on: the reserve is free again


async def test_a_wait_is_for_the_whole_cost_of_the_message() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10.0, clock, margin=0.0, reserve=0.0)
    bucket.take(10)
    task = asyncio.create_task(bucket.acquire(5))  # a 5-segment SMS waits for 5 tokens
    await _settle()
    clock.advance(0.1)
    await _settle()
    clock.advance(0.3)
    await _settle()
    assert not task.done()
    clock.advance(0.1)
    await _settle()
    assert task.done() and task.result() is not None
