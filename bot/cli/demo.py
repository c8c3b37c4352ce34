"""`louzhang demo seed`: a realistic demo estate."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from bot.cli.errors import CliError
from bot.cli.texts import say
from config.database import init_db
from estate.importing.residents import local_day


async def cmd_demo_seed(args: argparse.Namespace) -> None:
    from estate.demo import seed_demo
    from estate.first_start import real_residents_present

    await init_db()
    if await real_residents_present():
        raise CliError(say("demo_beside_real"))
    report = await seed_demo(seed=args.seed, today=local_day())
    print(demo_summary(report))


def demo_summary(report: Any) -> str:
    """What the demo seed made (an :class:`estate.demo.SeedReport`), in the staff language."""
    from dataclasses import asdict

    from estate.models import ELDERLY_AGE

    state = say("demo_state_already" if report.already_seeded else "demo_state_seeded")
    values = {k: v for k, v in asdict(report).items() if k not in ("seed", "already_seeded")}
    return say("demo_seeded", state=state, age=ELDERLY_AGE, **values)


def add_parsers(sub: Any, group: Callable[[str, str], Any]) -> None:
    """Add this command group to the top-level subparsers."""
    demo = group("demo", say("g_demo"))
    p = demo.add_parser("seed", help=say("h_demo_seed"))
    p.add_argument("--seed", type=int, default=7, help=say("h_seed"))
    p.set_defaults(func=cmd_demo_seed)
