"""Polling for a condition in tests that run the service in real time (no long sleeps)."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

#: The longest pause between two looks.
POLL = 0.02


async def wait_for(predicate: Any, limit: float = 10.0) -> Any:
    """Poll ``predicate`` (sync or async) until it is truthy; return its value. The first looks
    come soon after each other (1 ms apart, the pause doubling up to every 20 ms): a condition
    met a moment later is seen a moment later, and a long wait polls no harder than before."""
    deadline = asyncio.get_running_loop().time() + limit
    pause = 0.001
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(pause)
        pause = min(2 * pause, POLL)
