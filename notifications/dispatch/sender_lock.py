"""One owner per sender across processes, so a per-sender rate limit holds on PostgreSQL.

Why an owner rather than a shared token bucket: a sender's limit (Telegram 30/s per bot, SMS
segments/s per number) is small, and one process easily sends at it; an owner keeps the limiter
in memory with no database round trip per message and no clock skew between processes. Other
processes stand by and take over within seconds when the owner dies, because a PostgreSQL
session advisory lock is released when its connection closes. Claiming rows stays
``FOR UPDATE SKIP LOCKED``, so with limits off (or for senders without a limit) every process
drains the queue together.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from typing import Any

log = logging.getLogger(__name__)


def lock_key(sender: str) -> int:
    """A stable signed 64-bit key for pg_try_advisory_lock."""
    return zlib.crc32(f"louzhang-sender:{sender}".encode()) - 2**31


class SenderOwnership:
    """Holds PostgreSQL advisory locks for senders on one dedicated connection."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url.replace("postgres://", "postgresql://", 1)
        self._conn: Any = None  # an asyncpg.Connection once connected
        self._held: set[str] = set()
        self._lock = asyncio.Lock()  # one asyncpg connection: one query at a time

    async def owns(self, sender: str) -> bool:
        """True if this process owns ``sender`` (taking it if nobody does)."""
        async with self._lock:
            return await self._owns(sender)

    async def _owns(self, sender: str) -> bool:
        if sender in self._held and self._conn is not None and not self._conn.is_closed():
            return True
        self._held.discard(sender)
        try:
            if self._conn is None or self._conn.is_closed():
                import asyncpg

                self._conn = await asyncpg.connect(self.url)
                self._held.clear()
            got = await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", lock_key(sender))
        except Exception as exc:  # the database is away: send nothing rather than double
            log.warning("sender ownership check failed: %s", type(exc).__name__)
            await self.close()
            return False
        if got:
            self._held.add(sender)
            log.info("this process now sends for %s", sender.split(":")[0])
        return bool(got)

    async def close(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()
        self._conn = None
        self._held.clear()
