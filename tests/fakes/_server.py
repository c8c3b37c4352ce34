"""A tiny base for fake provider servers: an aiohttp app bound to 127.0.0.1 on a free port."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Self

import aiohttp
from aiohttp import web

Clock = Callable[[], float]

#: Uploads (PTB sends photos and documents as multipart) may be large.
MAX_BODY = 64 * 1024 * 1024


class LoopbackServer:
    """Runs an :class:`aiohttp.web.Application` on ``127.0.0.1`` port 0.

    Subclasses fill the app in :meth:`_routes`. Use as ``async with Sub(...) as srv:``
    or call :meth:`start` / :meth:`close`. :attr:`url` is ``http://127.0.0.1:<port>``.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or time.monotonic
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._port: int | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def _routes(self, app: web.Application) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    async def _on_close(self) -> None:
        """Hook run before the HTTP server stops (wake long polls, ...)."""

    async def start(self) -> Self:
        """Start listening on a free loopback port; returns ``self``."""
        if self._runner is not None:
            return self
        app = web.Application(client_max_size=MAX_BODY)
        self._routes(app)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        address = runner.addresses[0]
        self._port = int(address[1])
        return self

    async def close(self) -> None:
        """Wait for background tasks (callbacks), then stop the server and the client session.

        Errors of background tasks are not raised here; call :meth:`drain` to see them.
        """
        await self.drain(raise_errors=False)
        await self._on_close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- helpers -----------------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The TCP port the server listens on (only after :meth:`start`)."""
        if self._port is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._port

    @property
    def url(self) -> str:
        """Base URL, ``http://127.0.0.1:<port>`` without a trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    async def session(self) -> aiohttp.ClientSession:
        """A client session the fake uses to call the app (webhooks, callbacks)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self._session

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self, *, raise_errors: bool = True) -> None:
        """Wait until every background task the fake started (e.g. callbacks) has finished.

        With ``raise_errors`` the first exception raised by one of those tasks is re-raised.
        """
        errors: list[BaseException] = []
        while self._tasks:
            results = await asyncio.gather(*list(self._tasks), return_exceptions=True)
            errors.extend(
                r
                for r in results
                if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError)
            )
        if errors and raise_errors:
            raise errors[0]
