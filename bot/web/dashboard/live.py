"""Server-sent events: a part of a page re-rendered on the server and pushed when it changes.

Each stream renders its fragment at once, then again whenever it is woken (a local delivery to
the chat it shows) or every ``every`` seconds, and sends it only when the HTML changed. Polling
the database once a second per open page is cheap for a committee of a few staff, and it sees
changes made by any process: a ``louzhang drive start`` in a shell, a second worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable

from aiohttp import web

CLOSING = web.AppKey("dashboard_closing", asyncio.Event)
HEARTBEAT = 15.0


async def stream(
    request: web.Request,
    render: Callable[[], Awaitable[str]],
    *,
    wake: asyncio.Event | None = None,
    every: float = 1.0,
    signature: Callable[[], Awaitable[object]] | None = None,
) -> web.StreamResponse:
    """``signature``: a cheap query whose result changes when the fragment may have; when
    given, the fragment is rendered again only after it changed."""
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    closing = request.app[CLOSING]
    last: str | None = None
    seen: object = object()
    quiet = 0.0
    with contextlib.suppress(ConnectionResetError, asyncio.CancelledError, RuntimeError):
        while not closing.is_set():
            html = last
            current = await signature() if signature is not None else None
            if signature is None or current != seen:
                html = await render()
                seen = current
            if html != last:
                await response.write(f"data: {json.dumps({'html': html})}\n\n".encode())
                last, quiet = html, 0.0
            elif quiet >= HEARTBEAT:
                await response.write(b": keep-alive\n\n")
                quiet = 0.0
            waiters = [asyncio.ensure_future(closing.wait())]
            if wake is not None:
                waiters.append(asyncio.ensure_future(wake.wait()))
            _, pending = await asyncio.wait(waiters, timeout=every, return_when="FIRST_COMPLETED")
            for task in pending:
                task.cancel()
            if wake is not None:
                wake.clear()
            quiet += every
    return response
