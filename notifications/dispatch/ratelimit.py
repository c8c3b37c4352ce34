"""Rate limiters on an injected clock.

- :class:`SlidingWindow`: at most ``limit`` units in any window of ``window`` seconds (Telegram's
  30 messages a second per bot). Used to the full: a backlog drains at the limit.
- :class:`TokenBucket`: ``rate`` units a second with a burst of one second's worth; a message
  larger than the burst runs the bucket into debt (Twilio's segments per second per sender).
- :class:`PerKeySpacing`: one unit per key every ``interval`` seconds (1 message a second per chat).

A small ``margin`` widens each window so that network jitter between our clock and the
provider's never makes a legal send look early to the provider.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from datetime import datetime, timedelta

from config.clock import Clock

#: After an urgent send, ordinary traffic leaves the reserve free for this many seconds.
URGENT_SPELL = 600.0


class SlidingWindow:
    """At most ``limit`` sends in any ``window`` seconds, counted as the provider counts them.

    The provider counts a request when it *arrives*, which is some time after we start it (a
    cold connection, a GC pause, a busy loop). So a send holds its slot from the moment it
    starts until it *completes* (:meth:`acquire` returns the ``done`` callback): a new send may
    start only when fewer than ``limit`` sends completed within the last window and none of
    the ones it would displace is still in flight. Then the arrival of send *k* is at least a
    window after the arrival of send *k - limit*, whatever the latencies were.

    While call-ups are going out (an urgent send in the last :data:`URGENT_SPELL` seconds),
    ``reserve`` of each window is kept for them: ordinary traffic may fill only
    ``limit - reserved``, so the next call-up behind a survey broadcast finds a free slot at once
    instead of waiting for the window to roll. Otherwise ordinary traffic uses the whole limit.
    """

    POLL = 0.005  # seconds between looks while the window is held by sends in flight

    def __init__(
        self,
        limit: int,
        clock: Clock,
        window: float = 1.0,
        margin: float = 0.01,
        reserve: float = 0.2,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.reserved = min(limit - 1, math.ceil(limit * reserve)) if limit > 1 else 0
        self.window = window + margin
        self._clock = clock
        self._done: list[float] = []  # completion times (a heap)
        self._in_flight = 0
        self._last_urgent = -math.inf

    def wait_time(self, cost: float = 1.0, *, urgent: bool = False) -> float:
        now = self._clock.monotonic()
        while self._done and self._done[0] <= now - self.window:
            heapq.heappop(self._done)
        reserving = not urgent and now - self._last_urgent < URGENT_SPELL
        allowed = self.limit - self.reserved if reserving else self.limit
        held = len(self._done) + self._in_flight
        if held < allowed:
            return 0.0
        expire = held - allowed + 1  # how many held slots must free up
        if expire > len(self._done):
            return self.POLL  # waiting for sends in flight to complete
        return heapq.nsmallest(expire, self._done)[-1] + self.window - now

    def note_urgent(self) -> None:
        """Call-ups are coming: from now on ordinary traffic leaves the reserve free."""
        self._last_urgent = self._clock.monotonic()

    def take(self, cost: float = 1.0) -> None:
        """Count a send that started and completed now."""
        heapq.heappush(self._done, self._clock.monotonic())

    def begin(self) -> Callable[[], None]:
        """Count a send that starts now; call the result when it has completed."""
        self._in_flight += 1
        finished = False

        def done() -> None:
            nonlocal finished
            if not finished:
                finished = True
                self._in_flight -= 1
                self.take()

        return done

    async def acquire(
        self,
        cost: float = 1.0,
        *,
        urgent: bool = False,
        abort: Callable[[], bool] | None = None,
    ) -> Callable[[], None] | None:
        """Wait for a slot; returns the ``done`` callback, or None if ``abort()`` said stop."""
        if not await _wait(self, self._clock, cost, urgent, abort):
            return None
        if urgent:
            self._last_urgent = self._clock.monotonic()
        return self.begin()


class TokenBucket:
    """``rate`` units per second with bursts up to ``burst``; ordinary sends leave ``reserve``
    of the burst for urgent ones (see :class:`SlidingWindow`)."""

    def __init__(
        self,
        rate: float,
        clock: Clock,
        burst: float | None = None,
        margin: float = 0.02,
        reserve: float = 0.2,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate / (1.0 + margin)
        self.burst = burst if burst is not None else max(1.0, rate)
        self.reserved = self.burst * reserve if self.burst >= 2 else 0.0
        self._clock = clock
        self._tokens = self.burst
        self._stamp = clock.monotonic()
        self._last_urgent = -math.inf

    def _refill(self) -> None:
        now = self._clock.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def wait_time(self, cost: float = 1.0, *, urgent: bool = False) -> float:
        self._refill()
        reserving = not urgent and self._stamp - self._last_urgent < URGENT_SPELL
        keep = self.reserved if reserving else 0.0
        need = min(cost, self.burst - keep) + keep - self._tokens
        return 0.0 if need <= 1e-9 else need / self.rate

    def note_urgent(self) -> None:
        """Call-ups are coming: from now on ordinary traffic leaves the reserve free."""
        self._last_urgent = self._clock.monotonic()

    def take(self, cost: float = 1.0) -> None:
        self._refill()
        self._tokens -= cost

    async def acquire(
        self,
        cost: float = 1.0,
        *,
        urgent: bool = False,
        abort: Callable[[], bool] | None = None,
    ) -> Callable[[], None] | None:
        """Wait for the tokens; returns a no-op ``done``, or None if ``abort()`` said stop."""
        if not await _wait(self, self._clock, cost, urgent, abort):
            return None
        if urgent:
            self._last_urgent = self._clock.monotonic()
        self.take(cost)
        return _nothing


def _nothing() -> None:
    return None


ABORT_CHECK = 0.01  # seconds between looks at ``abort`` while waiting


async def _wait(
    limiter: SlidingWindow | TokenBucket,
    clock: Clock,
    cost: float,
    urgent: bool,
    abort: Callable[[], bool] | None,
) -> bool:
    """Sleep until ``limiter`` has room; False as soon as ``abort()`` is true."""
    while (delay := limiter.wait_time(cost, urgent=urgent)) > 0:
        if abort is not None:
            if abort():
                return False
            delay = min(delay, ABORT_CHECK)
        await clock.sleep(delay)
    return not (abort is not None and abort())


class PerKeySpacing:
    """Wall-clock spacing per key. Every message deferred for a key gets the same ``free_at``
    time, so a recipient's queued messages come back together and go out in order."""

    def __init__(self, interval: float, clock: Clock, margin: float = 0.02) -> None:
        self.interval = timedelta(seconds=interval + margin)
        self._clock = clock
        self._free_at: dict[str, datetime] = {}

    def busy_until(self, key: str) -> datetime | None:
        """When ``key`` may get its next message, or None if it may now."""
        free_at = self._free_at.get(key)
        return free_at if free_at is not None and free_at > self._clock.now() else None

    def take(self, key: str) -> None:
        now = self._clock.now()
        self._free_at[key] = now + self.interval
        if len(self._free_at) > 20_000:
            self._free_at = {k: t for k, t in self._free_at.items() if t > now}
