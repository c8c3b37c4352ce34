"""Polling for a condition in tests that run the service in real time (no long sleeps)."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any


async def wait_for(predicate: Any, limit: float = 10.0) -> Any:
    """Poll ``predicate`` (sync or async) every 20 ms until it is truthy; return its value."""
    deadline = asyncio.get_running_loop().time() + limit
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
