"""Batch loading: lookups asked for in the same moment by many tasks become one query.

The inbound path looks up a sender and a household's response for every answer; when hundreds
of answers arrive together (a survey just sent to the whole estate), a :class:`BatchLoader`
turns those lookups into one ``IN (...)`` query per event-loop tick.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BatchLoader(Generic[K, V]):
    def __init__(
        self, fetch: Callable[[list[K]], Awaitable[Mapping[K, V]]], *, max_batch: int = 500
    ) -> None:
        self._fetch = fetch
        self._max_batch = max_batch
        self._waiting: dict[K, list[asyncio.Future[V | None]]] = {}
        self._task: asyncio.Task[None] | None = None

    async def load(self, key: K) -> V | None:
        future: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(future)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        while self._waiting:
            await asyncio.sleep(0)  # let every task that is ready now ask too
            keys = list(self._waiting)[: self._max_batch]
            futures = {key: self._waiting.pop(key) for key in keys}
            try:
                found = await self._fetch(keys)
            except Exception as exc:
                _fail(futures.values(), exc)
                continue
            for key, waiting in futures.items():
                for future in waiting:
                    if not future.done():
                        future.set_result(found.get(key))


def _fail(groups: Iterable[list[asyncio.Future[V | None]]], exc: Exception) -> None:
    for waiting in groups:
        for future in waiting:
            if not future.done():
                future.set_exception(exc)
