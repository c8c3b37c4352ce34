"""Shared fixtures: a fresh SQLite database per test, settings without the environment."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from config.database import close_db, init_db
from config.settings import Settings, get_settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's .env or LOUZHANG_* variables."""
    import os

    for key in list(os.environ):
        if key.startswith("LOUZHANG_") or key in ("TWILIO_REGION", "TWILIO_EDGE"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("LOUZHANG_DATABASE_URL", f"sqlite://{tmp_path}/louzhang.sqlite3")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite://{tmp_path}/louzhang.sqlite3"


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[str]:
    await init_db(db_url)
    try:
        yield db_url
    finally:
        await close_db()


def make_settings(**overrides: object) -> Settings:
    return Settings(_env_file=None, **overrides)  # type: ignore[call-arg]
