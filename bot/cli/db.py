"""`louzhang db upgrade|makemigrations`: the database schema."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.cli.texts import say
from config.database import upgrade
from config.settings import get_settings


async def cmd_db_upgrade(args: argparse.Namespace) -> None:
    await upgrade()
    print(say("db_up_to_date"))


async def cmd_db_makemigrations(args: argparse.Namespace) -> None:
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "louzhang_tortoise_cfg.py"
        cfg.write_text(
            "from config.database import tortoise_config\n"
            f"TORTOISE_ORM = tortoise_config({get_settings().database_url!r})\n"
        )
        env_path = f"{tmp}:{Path.cwd()}"
        import os

        env = {**os.environ, "PYTHONPATH": env_path}
        subprocess.run(  # noqa: ASYNC221 - a developer tool, nothing else runs
            [
                sys.executable,
                "-m",
                "tortoise",
                "-c",
                "louzhang_tortoise_cfg.TORTOISE_ORM",
                "makemigrations",
            ],
            check=True,
            env=env,
        )


def add_parsers(sub: Any, group: Callable[[str, str], Any]) -> None:
    """Add this command group to the top-level subparsers."""
    db = group("db", say("g_db"))
    db.add_parser("upgrade", help=say("h_db_upgrade")).set_defaults(func=cmd_db_upgrade)
    db.add_parser("makemigrations", help=say("h_db_makemigrations")).set_defaults(
        func=cmd_db_makemigrations
    )
