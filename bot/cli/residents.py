"""`louzhang import residents FILE [--dry-run]`: the committee's list of residents."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.cli.args import cli_audit, plural
from bot.cli.errors import CliError
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
        raise CliError(f"nothing imported: {exc}") from None
    print(report.summary())
    if args.estate == DEMO_ESTATE:
        return
    if args.dry_run:
        if await demo_present():
            print(
                "note: this database holds the demo estate (fake residents); importing this "
                "file for real replaces it"
            )
        return
    await cli_audit("import residents", f"{Path(args.file).name} estate {args.estate}")
    removed = await replace_demo()
    if removed is not None:
        staff = ", ".join(removed.staff) or "none"
        print(
            f"the demo estate is gone ({plural(removed.households, 'fake household')}; demo staff: "
            f"{staff}): this database now holds your residents only"
        )
        await cli_audit("demo removed", f"{removed.households} households")


async def cmd_import_template(args: argparse.Namespace) -> None:
    from estate.importing.template import write_template

    path = Path(args.output)
    write_template(path)
    print(
        f"wrote a residents template to {path} (fill one row per person, then: "
        f"louzhang import residents {path} --dry-run)"
    )


def add_parsers(sub: Any, group: Callable[[str, str], Any]) -> None:
    """Add this command group to the top-level subparsers."""
    imp = group("import", "import data")
    p = imp.add_parser("residents", help="import residents from CSV or XLSX")
    p.add_argument("file")
    p.add_argument("--dry-run", action="store_true", help="check the file, write nothing")
    p.add_argument("--estate", default="default", help="estate name (default: %(default)s)")
    p.set_defaults(func=cmd_import_residents)
    p = imp.add_parser(
        "template", help="write an empty residents file (XLSX or CSV) with both header languages"
    )
    p.add_argument(
        "-o", "--output", default="residents-template.xlsx", help="(default: %(default)s)"
    )
    p.set_defaults(func=cmd_import_template)
