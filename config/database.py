"""Tortoise configuration and start/stop helpers (SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.models import Model

from config.settings import get_settings

# The largest id an IntField holds on PostgreSQL (int4); a number above it (a forged button,
# a URL) names no row and must not reach a query: PostgreSQL and SQLite refuse it with an error.
MAX_ID = 2**31 - 1
MODEL_MODULES = [
    "estate.models",
    "surveys.models",
    "notifications.models",
    "notifications.drives.models",
    "surveys.pickups.models",
]
MIGRATIONS_MODULE = "config.migrations"


SCHEMES = ("sqlite", "postgres", "postgresql", "asyncpg", "psycopg")


class DatabaseUrlError(ValueError):
    """LOUZHANG_DATABASE_URL is not a database louzhang can open (the message says why)."""


def normalise_url(url: str) -> str:
    """Make a Tortoise URL usable.

    Accepts ``sqlite://relative/path``, ``sqlite:///absolute/path``, a plain file path (taken
    as SQLite) and ``postgres://`` / ``postgresql://`` URLs; anything else is a
    :class:`DatabaseUrlError` with a clear message. For SQLite: the folder is created, the file
    is created readable by its owner only (0600: it holds health data), WAL and a busy timeout
    are enabled.
    """
    url = url.strip()
    if "://" not in url:
        if not url or url.startswith(("postgres:", "postgresql:", "sqlite:")):
            raise DatabaseUrlError(_url_help(url))
        url = "sqlite://" + url  # a plain file path
    scheme = url.split("://", 1)[0].lower()
    if scheme not in SCHEMES:
        raise DatabaseUrlError(_url_help(url))
    if scheme == "sqlite" and url != "sqlite://:memory:":
        path = url[len("sqlite://") :].split("?", 1)[0]
        if not path:
            raise DatabaseUrlError(_url_help(url))
        folder = Path(path).parent
        if str(folder) not in ("", "."):
            folder.mkdir(parents=True, exist_ok=True)
        if not Path(path).exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        # Query parameters become PRAGMAs: WAL lets the CLI write while `louzhang run` reads;
        # a busy timeout makes a second writer wait instead of failing at once.
        for pragma, value in (
            ("journal_mode", "WAL"),
            ("busy_timeout", "15000"),
            ("synchronous", "NORMAL"),
        ):
            if pragma not in url:
                url += ("&" if "?" in url else "?") + f"{pragma}={value}"
    if url.startswith("postgresql://"):
        url = "postgres://" + url[len("postgresql://") :]
    return url


def _url_help(url: str) -> str:
    shown = url
    if "@" in url:  # never print a password
        scheme, _, rest = url.partition("://")
        shown = f"{scheme}://…@{rest.rsplit('@', 1)[-1]}" if rest else "…@" + url.rsplit("@", 1)[-1]
    return (
        f"LOUZHANG_DATABASE_URL {shown!r} is not a database louzhang can open: use a file path "
        "(data/louzhang.sqlite3), sqlite://relative/path, sqlite:///absolute/path or "
        "postgres://user:password@host:5432/dbname"
    )


def tortoise_config(url: str | None = None) -> dict[str, Any]:
    db_url = normalise_url(url or get_settings().database_url)
    return {
        "connections": {"default": db_url},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "migrations": MIGRATIONS_MODULE,
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def init_db(url: str | None = None, *, migrate: bool = True) -> None:
    """Initialise Tortoise (before any task or server starts) and apply pending migrations."""
    config = tortoise_config(url)
    if migrate:
        await upgrade(url)
    await Tortoise.init(config=config)


async def upgrade(url: str | None = None) -> None:
    from tortoise.migrations.api import migrate as migrate_api

    await migrate_api(config=tortoise_config(url))
    await Tortoise.close_connections()


async def close_db() -> None:
    await Tortoise.close_connections()
    # Tortoise caches each model's SQL by connection name, not by dialect: a process that opens
    # SQLite and then PostgreSQL under the name "default" (the tests) would reuse SQLite SQL.
    EXECUTOR_CACHE.clear()


@asynccontextmanager
async def database(url: str | None = None, *, migrate: bool = True) -> AsyncIterator[None]:
    await init_db(url, migrate=migrate)
    try:
        yield
    finally:
        await close_db()


async def update_many(
    model: type[Model],
    fields: Sequence[str],
    objects: Sequence[Model],
    *,
    only_from: tuple[str, Sequence[str]] | None = None,
    using_db: BaseDBAsyncClient | None = None,
) -> None:
    """Write ``fields`` of every object with one prepared UPDATE run as ``executemany``.
    Tortoise's ``bulk_update`` builds a CASE expression per row, which costs more than the
    write; its own single-row UPDATE (cached SQL, field conversions) is reused here.

    ``only_from=(column, values)`` guards the UPDATE: a row whose ``column`` no longer holds one
    of ``values`` (another writer moved it on meanwhile) is left as it is."""
    if not objects:
        return
    conn = using_db or model._meta.db
    sql = conn.executor_class(model=model, db=conn).get_update_sql(fields, None)
    guard: list[object] = []
    if only_from is not None:
        column, values = only_from
        guard = list(values)
        sql += f' AND "{model._meta.fields_map[column].source_field or column}" IN ('
        if "$" in sql:  # numbered placeholders (asyncpg): continue after the pk's
            first = len(fields) + 2
            sql += ",".join(f"${n}" for n in range(first, first + len(guard))) + ")"
        else:
            sql += ",".join("?" for _ in guard) + ")"
    columns = [model._meta.fields_map[name] for name in fields]
    pk = model._meta.pk
    rows = [
        [
            field.to_db_value(getattr(obj, name), obj)
            for name, field in zip(fields, columns, strict=True)
        ]
        + [pk.to_db_value(obj.pk, obj)]
        + guard
        for obj in objects
    ]
    await conn.execute_many(sql, rows)
