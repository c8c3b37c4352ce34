"""`louzhang outbox status`: the queue of outbound messages."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from bot.cli.args import demo_note
from config.database import init_db


async def cmd_outbox_status(args: argparse.Namespace) -> None:
    from zoneinfo import ZoneInfo

    from config.clock import SystemClock
    from config.settings import get_settings
    from notifications.status import outbox_summary

    await init_db()
    await demo_note()
    summary = await outbox_summary(SystemClock().now())
    print("\n".join(summary.lines(ZoneInfo(get_settings().timezone))))


def add_parsers(sub: Any, group: Callable[[str, str], Any]) -> None:
    """Add this command group to the top-level subparsers."""
    from bot.cli.texts import say

    outbox = group("outbox", say("g_outbox"))
    outbox.add_parser("status", help=say("h_outbox_status")).set_defaults(func=cmd_outbox_status)
