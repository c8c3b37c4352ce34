"""Shared fixtures: a fresh SQLite database per test, settings without the environment."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

from config.database import close_db, init_db
from config.settings import Settings, get_settings
from tests import mutation_order

if TYPE_CHECKING:
    import asyncpg

# Read before any fixture clears LOUZHANG_* from the environment. .ci/run sets it.
POSTGRES_URL = os.environ.get("LOUZHANG_TEST_POSTGRES")

# Tests that need what a developer's machine may lack. Locally they are skipped and named in one
# line at the end of the run; under CI (`CI` set) they fail instead. `.ci/run` provides both.
NEEDS = {
    "postgres": "on PostgreSQL (LOUZHANG_TEST_POSTGRES unset)",
    "browser": "in the browser (/usr/bin/chromium or playwright missing)",
    "ffmpeg": "converting audio (ffmpeg missing)",
}
_NEED_REASON = re.compile(r"needs (\w+):")


def require(need: str, missing: str) -> NoReturn:
    """Skip the test for lack of ``need`` (a key of NEEDS); under CI, fail it."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the {need} tests: {missing}")
    pytest.skip(f"needs {need}: {missing}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line naming what was skipped for lack of PostgreSQL or a browser, and how to run it."""
    counts: Counter[str] = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        found = _NEED_REASON.search(reason)
        counts[found[1] if found and found[1] in NEEDS else "other"] += 1
    if not counts:
        return
    parts = [f"{counts[need]} tests {NEEDS[need]}" for need in NEEDS if counts[need]]
    if counts["other"]:
        parts.append(f"{counts['other']} for other reasons (-rs lists them)")
    terminalreporter.write_line(
        "SKIPPED "
        + ", ".join(parts)
        + ". To run them: `sudo .ci/run` (installs chromium and ffmpeg,"
        " starts a throwaway PostgreSQL, sets LOUZHANG_TEST_POSTGRES, runs make test).",
        yellow=True,
        bold=True,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _migrate(url: str) -> None:
    """Apply every migration to the database at ``url``, in a process of its own (so this one
    keeps no connection or SQL cache of it)."""
    code = (
        "import asyncio, sys\n"
        "from config.database import close_db, init_db\n"
        "async def main():\n"
        "    await init_db(sys.argv[1])\n"
        "    await close_db()\n"
        "asyncio.run(main())\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOUZHANG_")}
    subprocess.run([sys.executable, "-c", code, url], check=True, env=env, cwd=Path.cwd())


_sqlite_template: Path | None = None


def sqlite_template() -> Path:
    """An empty SQLite database with every migration applied, made once per process (not per
    pytest session; `make mutation` makes it before it forks a child per mutant): each test's
    database starts as a copy (migrating a new file costs ~0.8 s; a copy ~1 ms)."""
    global _sqlite_template
    if _sqlite_template is None or not _sqlite_template.exists():
        folder = Path(tempfile.mkdtemp(prefix="louzhang-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _migrate(f"sqlite://{folder / 'louzhang.sqlite3'}")
        _sqlite_template = folder / "louzhang.sqlite3"
    return _sqlite_template


@pytest.fixture(scope="session")
def _migrated_template() -> Path:
    return sqlite_template()


@pytest.fixture(autouse=True)
def _isolated_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, _migrated_template: Path
) -> None:
    """No test reads the developer's .env or LOUZHANG_* variables; the test's database (the
    default URL) starts empty with the schema in place."""
    for key in list(os.environ):
        if key.startswith("LOUZHANG_") or key in ("TWILIO_REGION", "TWILIO_EDGE"):
            monkeypatch.delenv(key, raising=False)
    shutil.copy(_migrated_template, tmp_path / "louzhang.sqlite3")
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


_pg_template: str | None = None


def _pg_admin_url() -> str:
    assert POSTGRES_URL
    return POSTGRES_URL.replace("postgres://", "postgresql://", 1)


def _drop_pg_template(name: str) -> None:
    import asyncpg

    async def drop() -> None:
        admin = await asyncpg.connect(_pg_admin_url())
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    with contextlib.suppress(OSError):  # the server may be gone already; CI's is thrown away
        asyncio.run(drop())


async def _pg_template_name(admin: asyncpg.Connection) -> str:
    """A PostgreSQL database with every migration applied, made once per test process: each
    test's database is created from it (migrating costs ~1.5 s; a copy ~0.1 s)."""
    global _pg_template
    if _pg_template is None:
        assert POSTGRES_URL
        name = f"louzhang_template_{uuid.uuid4().hex[:12]}"
        await admin.execute(f'CREATE DATABASE "{name}"')
        _migrate(POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}")
        atexit.register(_drop_pg_template, name)
        _pg_template = name
    return _pg_template


@contextlib.asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A new PostgreSQL database on the test server, with the schema in place; dropped afterwards."""
    if not POSTGRES_URL:
        require("postgres", "no PostgreSQL server (set LOUZHANG_TEST_POSTGRES; .ci/run does)")
    import asyncpg

    name = f"louzhang_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_pg_admin_url())
    template = await _pg_template_name(admin)
    await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def any_db(request: pytest.FixtureRequest, db_url: str) -> AsyncIterator[str]:
    """A fresh database on SQLite, then on PostgreSQL (a new database per test)."""
    async with contextlib.AsyncExitStack() as stack:
        url = db_url
        if request.param == "postgres":
            url = await stack.enter_async_context(postgres_database())
        await init_db(url)
        try:
            yield url
        finally:
            await close_db()


@pytest.fixture
async def pg_db() -> AsyncIterator[str]:
    async with postgres_database() as url:
        await init_db(url)
        try:
            yield url
        finally:
            await close_db()


LONG_FIRST = (
    "tests/e2e/",
    "tests/notifications/dispatch/test_crash.py",
    "tests/bot/cli/",
    "tests/bot/staff/test_staff_tools.py",
)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under `make mutation`, mutmut's parent reads the test groups and timings once (in its
    clean-test pass), so that its forked children (one per mutant) need not."""
    if mutation_order.under_mutmut():
        mutation_order.preload(Path(str(session.config.rootpath)))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The run's order. Under `make mutation`, a mutant is judged by its module's own tests,
    earlier killers of its function first, then fastest first (tests/mutation_order.py), so that
    the usual mutant stops at its first, cheap failure."""
    mutant = mutation_order.mutant_under_test()
    module = mutation_order.module_of(mutant) if mutant else None
    if mutant is None or module is None:
        # The longest tests start first, so that with `-n` (make test) no core waits alone for
        # a whole-estate test at the end; the order is the same in every worker (xdist checks).
        items.sort(key=lambda item: not item.nodeid.startswith(LONG_FIRST))
        return
    root = Path(str(config.rootpath))
    judges = mutation_order.judges(root, module)
    if judges is not None:
        dropped = [item for item in items if not item.nodeid.startswith(judges)]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = [item for item in items if item.nodeid.startswith(judges)]
    ordered = mutation_order.order(mutant, [item.nodeid for item in items])
    rank = {nodeid: i for i, nodeid in enumerate(ordered)}
    items.sort(key=lambda item: rank[item.nodeid])


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Under `make mutation`, a test that fails kills the mutant: remember it for the next
    mutants of the same function."""
    mutant = mutation_order.mutant_under_test()
    if mutant and report.failed:
        mutation_order.record_kill(mutant, report.nodeid)
