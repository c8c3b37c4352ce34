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

from collections import deque
from datetime import datetime, timedelta

from config.clock import Clock


class SlidingWindow:
    def __init__(
        self, limit: int, clock: Clock, window: float = 1.0, margin: float = 0.025
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.window = window + margin
        self._clock = clock
        self._stamps: deque[float] = deque()

    def wait_time(self, cost: float = 1.0) -> float:
        now = self._clock.monotonic()
        while self._stamps and self._stamps[0] <= now - self.window:
            self._stamps.popleft()
        if len(self._stamps) < self.limit:
            return 0.0
        return self._stamps[0] + self.window - now

    def take(self, cost: float = 1.0) -> None:
        self._stamps.append(self._clock.monotonic())

    async def acquire(self, cost: float = 1.0) -> None:
        while (delay := self.wait_time(cost)) > 0:
            await self._clock.sleep(delay)
        self.take(cost)


class TokenBucket:
    def __init__(
        self, rate: float, clock: Clock, burst: float | None = None, margin: float = 0.02
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate / (1.0 + margin)
        self.burst = burst if burst is not None else max(1.0, rate)
        self._clock = clock
        self._tokens = self.burst
        self._stamp = clock.monotonic()

    def _refill(self) -> None:
        now = self._clock.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def wait_time(self, cost: float = 1.0) -> float:
        self._refill()
        need = min(cost, self.burst) - self._tokens
        return 0.0 if need <= 1e-9 else need / self.rate

    def take(self, cost: float = 1.0) -> None:
        self._refill()
        self._tokens -= cost

    async def acquire(self, cost: float = 1.0) -> None:
        while (delay := self.wait_time(cost)) > 0:
            await self._clock.sleep(delay)
        self.take(cost)


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
