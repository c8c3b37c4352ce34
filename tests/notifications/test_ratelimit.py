"""Rate limiters on a fake clock: never over the limit, used to the full."""

from __future__ import annotations

from config.clock import FakeClock
from notifications.dispatch.ratelimit import PerKeySpacing, SlidingWindow, TokenBucket


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
