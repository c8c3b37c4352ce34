"""`louzhang staff add|list|login|change|remove`: committee staff."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from bot.cli.args import cli_audit, demo_note, estate_buildings_arg
from bot.cli.errors import CliError
from bot.cli.texts import cli_language, say
from config.database import init_db
from config.settings import get_settings
from estate.staff import ROLES


async def cmd_staff_add(args: argparse.Namespace) -> None:
    from estate.staff import add_staff

    await init_db()
    estate, buildings = args.buildings or (None, [])
    try:
        staff = await add_staff(
            args.name,
            role=args.role,
            phone=args.phone,
            buildings=buildings,
            shift=args.shift,
            point=args.point,
            estate=estate,
        )
    except ValueError as exc:
        raise CliError(_staff_error(exc)) from None
    label = (f"{estate}:" if estate else "") + _buildings_label(buildings)
    await cli_audit("staff add", f"{staff.name} {staff.role} {label}")
    print(say("staff_added", id=staff.id, name=staff.name, role=staff.role))


def _staff_error(exc: ValueError) -> str:
    """Why ``staff add``/``staff change`` refused, in the staff language."""
    from estate.importing.texts import reason_text
    from estate.staff import StaffError

    lang = cli_language()
    if isinstance(exc, StaffError):
        return exc.describe(lang)
    return reason_text(str(exc), lang)  # a phone number's reason


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
        raise CliError(say("no_staff_named", name=args.name))
    await cli_audit("staff remove", args.name)
    print(say("staff_removed", name=args.name))


async def cmd_staff_change(args: argparse.Namespace) -> None:
    from estate.staff import change_staff

    await init_db()
    estate, buildings = args.buildings if args.buildings is not None else (None, None)
    try:
        staff = await change_staff(
            args.name,
            role=args.role,
            buildings=buildings,
            shift=args.shift,
            point=args.point,
            estate=estate,
        )
    except ValueError as exc:
        raise CliError(_staff_error(exc)) from None
    label = (
        (f"{estate}:" if estate else "") + _buildings_label(buildings)
        if buildings is not None
        else "same buildings"
    )
    await cli_audit("staff change", f"{staff.name} {staff.role} {label}")
    print(say("staff_changed", id=staff.id, name=staff.name, role=staff.role))


async def cmd_staff_login(args: argparse.Namespace) -> None:
    from config.clock import SystemClock
    from estate.logins import create_login_link
    from estate.models import Staff

    settings = get_settings()
    await init_db()
    staff = await Staff.filter(name=args.name, active=True).first()
    if staff is None:
        raise CliError(say("no_active_staff_named", name=args.name))
    url = await create_login_link(staff, settings=settings, clock=SystemClock())
    print(
        say("login_link_for", name=staff.name, minutes=settings.login_link_minutes),
        file=sys.stderr,
    )
    print(url)


def add_parsers(sub: Any, group: Callable[[str, str], Any]) -> None:
    """Add this command group to the top-level subparsers."""
    staff = group("staff", say("g_staff"))
    p = staff.add_parser(
        "add",
        help=say("h_staff_add"),
        description=say("d_staff_add"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=ROLES, help=say("h_role"))
    p.add_argument("--phone", help=say("h_phone"))
    p.add_argument("--buildings", type=estate_buildings_arg, help=say("h_buildings"))
    p.add_argument("--shift", choices=["A", "B"], help=say("h_shift"))
    p.add_argument("--point", help=say("h_staff_point"))
    p.set_defaults(func=cmd_staff_add)
    staff.add_parser("list", help=say("h_staff_list")).set_defaults(func=cmd_staff_list)
    p = staff.add_parser("login", help=say("h_staff_login"))
    p.add_argument("name")
    p.set_defaults(func=cmd_staff_login)
    p = staff.add_parser(
        "change",
        help=say("h_staff_change"),
        description=say("d_staff_change") + "\n\n" + say("d_staff_add"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("name")
    p.add_argument("--role", choices=ROLES, help=say("h_role"))
    p.add_argument("--buildings", type=estate_buildings_arg, help=say("h_buildings_change"))
    p.add_argument("--shift", choices=["A", "B"], help=say("h_shift"))
    p.add_argument("--point", help=say("h_staff_point"))
    p.set_defaults(func=cmd_staff_change)
    p = staff.add_parser("remove", help=say("h_staff_remove"))
    p.add_argument("name")
    p.set_defaults(func=cmd_staff_remove)
