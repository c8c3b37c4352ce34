"""Clocks. Every component takes one; tests use :class:`FakeClock` instead of sleeping."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a monotonic scale, for rate limits and timeouts."""
        ...

    async def sleep(self, seconds: float) -> None: ...


def local_today(clock: Clock, tz: tzinfo) -> date:
    """The day it is at ``clock.now()`` in ``tz`` (the committee's local day)."""
    return clock.now().astimezone(tz).date()


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class FakeClock:
    """A clock that only moves when told to. ``sleep`` waits until ``advance`` passes its time."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2022, 4, 10, 6, 0, tzinfo=UTC)
        self._mono = 0.0
        self._waiters: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (self._mono + seconds, next(self._seq), fut))
        await fut

    def set(self, when: datetime) -> None:
        self.advance((when - self._now).total_seconds())

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose time has come."""
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        self._now += timedelta(seconds=seconds)
        self._mono += seconds
        while self._waiters and self._waiters[0][0] <= self._mono:
            _, _, fut = heapq.heappop(self._waiters)
            if not fut.done():
                fut.set_result(None)
