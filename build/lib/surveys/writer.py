"""Group commit for answers: many households' writes in one short transaction.

Each answer's write set (the response's new state, its revisions, its outbound messages) is
queued; one flusher task writes everything queued so far in a single transaction, then tells
each writer it is stored. A writer holds its household's lock while it waits, so a household's
answers are still stored in order, and an answer is acknowledged only once it is committed.
The flush runs in its own task: a cancelled writer never leaves a transaction half-open.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from tortoise.transactions import in_transaction

from config.database import update_many
from notifications.outbox import Outgoing, enqueue_many
from surveys.models import Response, Revision

log = logging.getLogger(__name__)

RESPONSE_FIELDS = (
    "status",
    "stage",
    "state",
    "answers",
    "channel",
    "answered_channel",
    "proxy",
    "needs_call",
    "updated_at",
    "completed_at",
)
MAX_BATCH = 500


@dataclass
class WriteSet:
    response: Response
    revisions: Sequence[Revision] = ()
    outgoing: Sequence[Outgoing] = ()
    now: datetime | None = None
    done: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class AnswerWriter:
    def __init__(self) -> None:
        self._pending: list[WriteSet] = []
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.writes = 0

    async def write(self, item: WriteSet) -> None:
        """Store ``item`` (with the others queued now) and return once it is committed."""
        self._pending.append(item)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        await item.done

    async def close(self) -> None:
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def _drain(self) -> None:
        while self._pending:
            await asyncio.sleep(0)  # let the writers that are ready now join this batch
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                await self._flush(batch)
            except Exception:
                log.exception(
                    "group commit of %d answers failed; storing them one by one", len(batch)
                )
                for item in batch:
                    try:
                        await self._flush([item])
                    except Exception as exc:
                        _settle(item, exc)
                        continue
            for item in batch:
                _settle(item, None)

    async def _flush(self, batch: list[WriteSet]) -> None:
        revisions = [r for item in batch for r in item.revisions]
        outgoing = [o for item in batch for o in item.outgoing]
        now = max((item.now for item in batch if item.now), default=None)
        async with in_transaction() as conn:
            await update_many(Response, RESPONSE_FIELDS, [i.response for i in batch], using_db=conn)
            if revisions:
                await Revision.bulk_create(revisions, using_db=conn)
            if outgoing and now is not None:
                await enqueue_many(outgoing, now=now, using_db=conn)
        self.batches += 1
        self.writes += len(batch)


def _settle(item: WriteSet, exc: BaseException | None) -> None:
    if item.done.done():
        return
    if exc is None:
        item.done.set_result(None)
    else:
        item.done.set_exception(exc)
