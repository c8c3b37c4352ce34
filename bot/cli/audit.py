"""`louzhang audit`: the audit log of staff actions."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from config.database import init_db


async def cmd_audit(args: argparse.Namespace) -> None:
    from zoneinfo import ZoneInfo

    from config.clock import utc_offset
    from config.settings import get_settings
    from estate.audit_log import audit_lines

    zone = get_settings().timezone
    await init_db()
    lines = await audit_lines(staff=args.staff, limit=args.limit, tz=ZoneInfo(zone))
    if lines:
        print(f"# {zone} ({utc_offset(ZoneInfo(zone))})")
    for line in lines:
        print(line)


def add_parsers(sub: Any, group: Callable[[str, str], Any]) -> None:
    """Add this command group to the top-level subparsers."""
    from bot.cli.texts import say

    p = sub.add_parser("audit", help=say("h_audit"), description=say("h_audit"))
    p.add_argument("--staff", help=say("h_audit_staff"))
    p.add_argument("--limit", type=int, default=50, help=say("h_limit"))
    p.set_defaults(func=cmd_audit)
