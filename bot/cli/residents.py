"""`louzhang import residents FILE [--dry-run]`: the committee's list of residents."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.cli.args import cli_audit
from bot.cli.errors import CliError
from bot.cli.texts import cli_language, count, say
from config.database import init_db
from config.settings import get_settings


async def cmd_import_residents(args: argparse.Namespace) -> None:
    from estate.first_start import DEMO_ESTATE, demo_present
    from estate.importing.residents import ImportProblems, import_residents
    from surveys.demo import replace_demo

    settings = get_settings()
    await init_db()
    try:
        report = await import_residents(
            Path(args.file),
            estate_name=args.estate,
            dry_run=args.dry_run,
            region=settings.default_region,
        )
    except ImportProblems as exc:
        raise CliError(say("nothing_imported", why=exc.describe(cli_language()))) from None
    print(report.summary(cli_language()))
    if args.estate == DEMO_ESTATE:
        return
    if args.dry_run:
        if await demo_present():
            print(say("import_dry_demo"))
        return
    await cli_audit("import residents", f"{Path(args.file).name} estate {args.estate}")
    removed = await replace_demo()
    if removed is not None:
        staff = ", ".join(removed.staff) or say("none")
        print(say("demo_gone", households=count(removed.households, "fake household"), staff=staff))
        await cli_audit("demo removed", f"{removed.households} households")


async def cmd_import_template(args: argparse.Namespace) -> None:
    from estate.importing.template import write_template

    path = Path(args.output)
    write_template(path)
    print(say("template_written", path=path))


def add_parsers(sub: Any, group: Callable[[str, str], Any]) -> None:
    """Add this command group to the top-level subparsers."""
    imp = group("import", say("g_import"))
    p = imp.add_parser("residents", help=say("h_import_residents"))
    p.add_argument("file", help=say("h_file"))
    p.add_argument("--dry-run", action="store_true", help=say("h_dry_run_import"))
    p.add_argument("--estate", default="default", help=say("h_estate"))
    p.set_defaults(func=cmd_import_residents)
    p = imp.add_parser("template", help=say("h_import_template"))
    p.add_argument("-o", "--output", default="residents-template.xlsx", help=say("h_default"))
    p.set_defaults(func=cmd_import_template)
