"""Fixtures for the registry tests: a fresh SQLite database file per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from config.database import database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[None]:
    async with database(f"sqlite://{tmp_path}/t.sqlite3"):
        yield
