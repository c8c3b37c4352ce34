"""The ``louzhang`` command line (also ``python -m bot``).

Commands that change things write to the database and return at once; a running
``louzhang run`` on the same database carries out what they queued.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import bot.cli.audit as audit
import bot.cli.db as db
import bot.cli.demo as demo
import bot.cli.drive as drive
import bot.cli.outbox as outbox
import bot.cli.pickup as pickup
import bot.cli.residents as residents
import bot.cli.service as service
import bot.cli.staff as staff
import bot.cli.survey as survey
from bot.cli.args import buildings_arg
from bot.cli.errors import CliError
from config.database import DatabaseUrlError, close_db
from config.logging import setup_logging

GROUPS = (db, residents, demo, staff, survey, audit, outbox, drive)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="louzhang", description="楼长 louzhang: estate surveys and call-ups"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def group(name: str, help_text: str) -> Any:
        p = sub.add_parser(name, help=help_text, description=help_text)
        return p.add_subparsers(dest="verb", required=True, metavar="VERB")

    for module in GROUPS:
        module.add_parsers(sub, group)
    pickup.add_pickup_parsers(sub, buildings_arg)
    service.add_parsers(sub, group)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging()
    func: Callable[[argparse.Namespace], Awaitable[None]] = args.func

    async def runner() -> None:
        try:
            await func(args)
        finally:
            await close_db()

    try:
        asyncio.run(runner())
    except (CliError, DatabaseUrlError) as exc:
        print(f"louzhang: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `louzhang audit | head`: the reader left; that is not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a clear message, not a traceback, for operational errors
        print(f"louzhang: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


__all__ = ["build_parser", "main"]
