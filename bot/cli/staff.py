"""`louzhang staff add|list|login|change|remove`: committee staff."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from bot.cli.args import buildings_arg, cli_audit, demo_note
from bot.cli.errors import CliError
from config.database import init_db
from config.settings import get_settings
from estate.staff import ROLES

ROLES_HELP = """Roles:
  admin      every building; adds staff, sees everything
  cadre      committee cadre for --buildings (e.g. 1-5): surveys, reports, notices, call-ups
  officer    the information officer of ONE building (--buildings 7): surveys, proxy answers
  logistics  logistics volunteer (--shift A or B) for --buildings: medicine pickups, deliveries
  point      sampling-point volunteer (--point B): paces and marks that point's call-up
Every action is limited to the staff member's buildings and written to the audit log."""


async def cmd_staff_add(args: argparse.Namespace) -> None:
    from estate.staff import add_staff

    await init_db()
    try:
        staff = await add_staff(
            args.name,
            role=args.role,
            phone=args.phone,
            buildings=args.buildings or [],
            shift=args.shift,
            point=args.point,
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
    await cli_audit("staff add", f"{staff.name} {staff.role} {_buildings_label(args.buildings)}")
    print(f"staff {staff.id}: {staff.name} ({staff.role})")


def _buildings_label(buildings: list[int] | None) -> str:
    return "buildings " + ",".join(map(str, buildings)) if buildings else "no buildings"


async def cmd_staff_list(args: argparse.Namespace) -> None:
    from estate.staff import list_staff

    await init_db()
    await demo_note()
    for line in await list_staff():
        print(line)


async def cmd_staff_remove(args: argparse.Namespace) -> None:
    from estate.staff import remove_staff

    await init_db()
    if not await remove_staff(args.name):
        raise CliError(f"no staff member named {args.name!r}")
    await cli_audit("staff remove", args.name)
    print(f"removed {args.name}")


async def cmd_staff_change(args: argparse.Namespace) -> None:
    from estate.staff import change_staff

    await init_db()
    try:
        staff = await change_staff(
            args.name,
            role=args.role,
            buildings=args.buildings,
            shift=args.shift,
            point=args.point,
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
    label = _buildings_label(args.buildings) if args.buildings is not None else "same buildings"
    await cli_audit("staff change", f"{staff.name} {staff.role} {label}")
    print(f"staff {staff.id}: {staff.name} ({staff.role}); their web sessions were ended")


async def cmd_staff_login(args: argparse.Namespace) -> None:
    from config.clock import SystemClock
    from estate.logins import create_login_link
    from estate.models import Staff

    settings = get_settings()
    await init_db()
    staff = await Staff.filter(name=args.name, active=True).first()
    if staff is None:
        raise CliError(f"no active staff member named {args.name!r}")
    url = await create_login_link(staff, settings=settings, clock=SystemClock())
    print(
        f"one-time login link for {staff.name}, valid {settings.login_link_minutes:g} minutes:",
        file=sys.stderr,
    )
    print(url)


def add_parsers(sub: Any, group: Callable[[str, str], Any]) -> None:
    """Add this command group to the top-level subparsers."""
    staff = group("staff", "committee staff")
    p = staff.add_parser(
        "add",
        help="add a staff member",
        description="Add a staff member. " + ROLES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=ROLES, help="see the roles above")
    p.add_argument("--phone")
    p.add_argument("--buildings", type=buildings_arg, help="e.g. 1-5,7")
    p.add_argument("--shift", choices=["A", "B"])
    p.add_argument("--point")
    p.set_defaults(func=cmd_staff_add)
    staff.add_parser("list", help="list staff").set_defaults(func=cmd_staff_list)
    p = staff.add_parser("login", help="print a one-time login link to the web dashboard")
    p.add_argument("name")
    p.set_defaults(func=cmd_staff_login)
    p = staff.add_parser(
        "change",
        help="change a staff member's role or buildings (ends their web sessions)",
        description="Change a staff member's role, buildings, shift or point; what is not "
        "given stays. Their web sessions end: they log in again. " + ROLES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("name")
    p.add_argument("--role", choices=ROLES)
    p.add_argument("--buildings", type=buildings_arg, help="e.g. 1-5,7 (replaces the list)")
    p.add_argument("--shift", choices=["A", "B"])
    p.add_argument("--point")
    p.set_defaults(func=cmd_staff_change)
    p = staff.add_parser("remove", help="remove a staff member (ends their web sessions)")
    p.add_argument("name")
    p.set_defaults(func=cmd_staff_remove)
