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

from config.clock import Clock


class SlidingWindow:
    def __init__(self, limit: int, clock: Clock, window: float = 1.0, margin: float = 0.02) -> None:
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
    def __init__(self, interval: float, clock: Clock, margin: float = 0.02) -> None:
        self.interval = interval + margin
        self._clock = clock
        self._last: dict[str, float] = {}

    def wait_time(self, key: str) -> float:
        last = self._last.get(key)
        if last is None:
            return 0.0
        return max(0.0, last + self.interval - self._clock.monotonic())

    def take(self, key: str) -> None:
        now = self._clock.monotonic()
        self._last[key] = now
        if len(self._last) > 20_000:
            self._last = {k: t for k, t in self._last.items() if t > now - self.interval}
