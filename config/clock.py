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


#: How people read times: minutes on a page (the day too when it is not obvious), seconds where a
#: call-up moves fast. Machines (CSV, APIs) keep ISO-8601 with the offset instead.
MINUTE = "%Y-%m-%d %H:%M"
SECOND = "%Y-%m-%d %H:%M:%S"
SHORT = "%m-%d %H:%M"
CLOCK_TIME = "%H:%M"
CLOCK_SECONDS = "%H:%M:%S"


def local_time(
    moment: datetime | None,
    tz: tzinfo,
    fmt: str = MINUTE,
    *,
    offset: bool = False,
    empty: str = "-",
) -> str:
    """``moment`` as a person reads it: in the committee's zone (``LOUZHANG_TIMEZONE``), no
    microseconds, with the UTC offset only when asked (say it once per screen, not per time).
    A naive ``moment`` is taken as UTC (what the database hands back)."""
    if moment is None:
        return empty
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(tz)
    shown = local.strftime(fmt)
    return f"{shown} ({utc_offset(tz, moment)})" if offset else shown


def utc_offset(tz: tzinfo, at: datetime | None = None) -> str:
    """The zone's offset as people write it: ``UTC+08:00`` (``UTC`` for zero)."""
    moment = at or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment.astimezone(tz).utcoffset() or timedelta(0)
    if not delta:
        return "UTC"
    minutes = int(delta.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def machine_time(moment: datetime | None, tz: tzinfo) -> str:
    """ISO-8601 in the committee's zone with its offset, to the second (CSV and other files
    read by programs)."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz).isoformat(timespec="seconds")


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
