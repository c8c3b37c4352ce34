"""``louzhang pickup list ROUND [--building N] [-o FILE]``: a medication round's pickup lists
as text (stdout) or XLSX; audited as a CLI action."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


async def cmd_pickup_list(args: argparse.Namespace) -> None:
    from zoneinfo import ZoneInfo

    from bot.cli.errors import CliError
    from bot.cli.texts import say
    from config.clock import SystemClock
    from config.database import init_db
    from config.settings import get_settings
    from estate.access import audit
    from surveys.models import Round
    from surveys.pickups.lists import (
        XLSX_COLUMNS,
        render_list,
        shift_hours,
        shift_on_duty,
        table_rows,
    )
    from surveys.pickups.store import load_lists, on_duty_names
    from surveys.pickups.texts import TEXTS
    from surveys.report import write_xlsx

    settings = get_settings()
    await init_db()
    round_ = await Round.get_or_none(id=args.round)
    if round_ is None:
        raise CliError(say("no_round", id=args.round))
    if round_.survey != "medication":
        raise CliError(say("not_medication_round", id=args.round, survey=round_.survey))
    buildings = args.building or None
    lists = await load_lists(round_.id, buildings)
    now = SystemClock().now()
    await audit(
        now=now,
        action="pickup list",
        actor="cli",
        target=f"round {round_.id} buildings {','.join(map(str, buildings or [])) or 'all'}",
    )
    if args.output:
        write_xlsx(Path(args.output), XLSX_COLUMNS, table_rows(lists), f"round {round_.id}")
        items = sum(p.items for p in lists)
        print(say("pickup_written", items=items, buildings=len(lists), path=args.output))
        return
    shift = shift_on_duty(now.astimezone(ZoneInfo(settings.timezone)), settings.shift_a_start)
    names = await on_duty_names([p.building for p in lists], shift)
    lang = settings.language
    for plist in lists:
        header = TEXTS["pk_header"][lang].format(
            round=round_.id,
            shift=shift,
            hours=shift_hours(shift, settings.shift_a_start),
            names=(" " + "、".join(names[plist.building])) if plist.building in names else "",
        )
        for message in render_list(plist, TEXTS, lang, header=header, buttons=False):
            print(message.text)
        print()


def add_pickup_parsers(sub: Any, buildings: Any) -> None:
    """Add ``pickup list`` to the CLI (``sub``: the top-level subparsers; ``buildings``: the
    CLI's building-range parser)."""
    from bot.cli.texts import say

    group = sub.add_parser("pickup", help=say("g_pickup"), description=say("g_pickup"))
    verbs = group.add_subparsers(dest="verb", required=True, metavar="VERB")
    p = verbs.add_parser("list", help=say("h_pickup_list"))
    p.add_argument("round", type=int, help=say("h_round"))
    p.add_argument("--building", type=buildings, help=say("h_pickup_building"))
    p.add_argument("-o", "--output", help=say("h_xlsx_output"))
    p.set_defaults(func=cmd_pickup_list)
