"""Each provider message has at most one effect: an inbound SMS per ``MessageSid``
(bot/web/webhooks.py, provider ``sms``) and a Telegram update per ``update_id``
(bot/telegram/application.py, provider ``telegram``; the key adds the chat and message, see
:func:`notifications.channels.telegram.update_key`), whatever the provider's retries or our
restarts. The router also marks what it answers once only: a group chat's "write to me
privately" (``telegram-chat``) and the note on an edited message (``telegram-edit``).

:meth:`SeenMarks.first_time` marks a message as being handled and says whether it is new. The
mark is a row with a unique key, so it outlives restarts. Marks asked for in the same moment
(a burst of answers after a round goes out) are written in one transaction, as the answers
themselves are (surveys/writer.py): the durable mark costs the inbound path one write per burst,
not one per message. When handling fails, :meth:`SeenMarks.forget` removes the mark so the
provider's retry is handled.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from notifications.models import InboundSeen

KEY_LENGTH = 64
MAX_BATCH = 500
Mark = tuple[str, str]  # (provider, key)


class SeenMarks:
    """Group commit of "seen" marks (one instance per running app, i.e. per event loop)."""

    def __init__(self) -> None:
        self._waiting: dict[Mark, list[asyncio.Future[bool]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._now: datetime | None = None

    async def first_time(self, provider: str, key: str, *, now: datetime) -> bool:
        """True for the first request that names this message; False for every repeat
        (a retry, a concurrent duplicate, a message handled before a restart)."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault((provider, key[:KEY_LENGTH]), []).append(future)
        self._now = now
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        return await future

    async def forget(self, provider: str, key: str) -> None:
        """Handling failed: let the provider's retry be handled."""
        await InboundSeen.filter(provider=provider, key=key[:KEY_LENGTH]).delete()

    async def _run(self) -> None:
        while self._waiting:
            await asyncio.sleep(0)  # let every request that is ready now ask too
            marks = list(self._waiting)[:MAX_BATCH]
            batch = {mark: self._waiting.pop(mark) for mark in marks}
            now = self._now
            assert now is not None
            try:
                new = await _mark_new(marks, now)
            except Exception as exc:  # the requests fail; Twilio retries them
                for futures in batch.values():
                    for future in futures:
                        if not future.done():
                            future.set_exception(exc)
                continue
            for mark, futures in batch.items():
                for index, future in enumerate(futures):
                    if not future.done():
                        future.set_result(mark in new and index == 0)


async def _mark_new(marks: list[Mark], now: datetime) -> set[Mark]:
    """Write the marks not written before, in one transaction; return those."""
    try:
        async with in_transaction() as conn:
            new = set(marks) - await _existing(marks, conn)
            if new:
                await InboundSeen.bulk_create(
                    [InboundSeen(provider=p, key=k, seen_at=now) for p, k in sorted(new)],
                    using_db=conn,
                )
            return new
    except IntegrityError:
        # Another process wrote one of them meanwhile (several workers on PostgreSQL): one by
        # one, so each mark is decided on its own.
        fresh: set[Mark] = set()
        for provider, key in marks:
            try:
                await InboundSeen.create(provider=provider, key=key, seen_at=now)
            except IntegrityError:
                continue
            fresh.add((provider, key))
        return fresh


async def _existing(marks: list[Mark], conn: object) -> set[Mark]:
    by_provider: dict[str, list[str]] = defaultdict(list)
    for provider, key in marks:
        by_provider[provider].append(key)
    found: set[Mark] = set()
    for provider, keys in by_provider.items():
        rows = (
            await InboundSeen.filter(provider=provider, key__in=keys)
            .using_db(conn)  # type: ignore[arg-type]
            .values_list("key", flat=True)
        )
        found.update((provider, str(key)) for key in rows)
    return found
