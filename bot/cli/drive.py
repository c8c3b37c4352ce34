"""`louzhang drive start|status|next|pause|resume|skip|cancel`: testing call-ups."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from bot.cli.args import demo_note, enabled_channels
from bot.cli.errors import CliError
from bot.cli.texts import cli_language, say
from config.database import init_db
from config.settings import get_settings


async def cmd_drive_start(args: argparse.Namespace) -> None:
    from bot.staff.drive_launch import build_options, launch, make_preview, preview_lines
    from config.clock import SystemClock
    from estate.access import audit

    settings = get_settings()
    now = SystemClock().now()
    try:
        options = build_options(
            points=args.points,
            start=args.start,
            interval=args.interval,
            lead=args.lead,
            now=now,
            settings=settings,
            order=args.order,
            batch=args.batch,
            locations=args.locations,
            capacity=args.capacity,
            pace=args.pace,
            share=args.share,
            min_interval=args.min_interval,
            max_interval=args.max_interval,
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
    await init_db()
    await demo_note()
    try:
        round_id, result = await make_preview(options, enabled_channels(settings))
    except ValueError as exc:
        raise CliError(str(exc)) from None
    for line in preview_lines(result, settings, cli_language()):
        print(line)
    if result.households == 0:
        print(say("nobody_to_call"), file=sys.stderr)
    if args.dry_run:
        print(say("drive_dry_run"))
        return
    drive = await launch(options, result, round_id, now=now, created_by="cli")
    await audit(now=now, action="drive start", actor="cli", target=f"drive {drive.id}",
                detail={"points": args.points})  # fmt: skip
    print(f"drive {drive.id}")


async def _drive_id(value: int | None) -> int:
    from notifications.drives.models import Drive

    if value is not None:
        return value
    latest = await Drive.filter(status="running").order_by("-id").first()
    latest = latest or await Drive.all().order_by("-id").first()
    if latest is None:
        raise CliError(say("no_drive_yet"))
    return latest.id


async def cmd_drive_status(args: argparse.Namespace) -> None:
    from zoneinfo import ZoneInfo

    from notifications.drives.status import load_status, render_status

    settings = get_settings()
    await init_db()
    await demo_note()
    drive_id = await _drive_id(args.drive)
    status = await load_status(drive_id)
    if status is None:
        raise CliError(say("no_drive", id=drive_id))
    print(render_status(status, cli_language(), ZoneInfo(settings.timezone), limit=args.limit))


async def cmd_drive_pace(args: argparse.Namespace) -> None:
    from config.clock import SystemClock
    from estate.access import audit
    from notifications.drives.runtime import DriveError, DriveRuntime

    await init_db()
    clock = SystemClock()
    drive_id = await _drive_id(args.drive)
    runtime = DriveRuntime(clock=clock)
    try:
        if args.verb == "cancel":
            dropped = await runtime.cancel(drive_id)
            print(say("drive_cancelled", id=drive_id, dropped=dropped))
        elif args.verb == "next":
            batch = await runtime.call_next(drive_id, args.point)
            print(say("point_nexted", point=args.point, seq=batch.seq, building=batch.building))
        elif args.verb == "pause":
            await runtime.pause(drive_id, args.point)
            print(say("point_paused", point=args.point))
        elif args.verb == "resume":
            paused = await runtime.resume(drive_id, args.point)
            print(say("point_resumed", point=args.point, seconds=int(paused.total_seconds())))
        elif args.verb == "skip":
            batch = await runtime.skip(drive_id, args.point)
            print(say("point_skipped", point=args.point, seq=batch.seq, building=batch.building))
    except DriveError as exc:
        raise CliError(exc.describe(cli_language())) from None
    await audit(now=clock.now(), action=f"drive {args.verb}", actor="cli",
                target=f"drive {drive_id} {getattr(args, 'point', '') or ''}".strip())  # fmt: skip


def add_parsers(sub: Any, group: Callable[[str, str], Any]) -> None:
    """Add this command group to the top-level subparsers."""
    drive = group("drive", say("g_drive"))
    p = drive.add_parser("start", help=say("h_drive_start"))
    p.add_argument("--points", required=True, help=say("h_points"))
    p.add_argument("--start", required=True, help=say("h_start"))
    p.add_argument("--interval", required=True, help=say("h_interval"))
    p.add_argument("--lead", required=True, help=say("h_lead"))
    p.add_argument("--order", default="top-down", choices=["top-down", "bottom-up"])
    p.add_argument("--batch", default="floor", help=say("h_batch"))
    p.add_argument("--locations", help=say("h_locations"))
    p.add_argument("--capacity", type=int, help=say("h_capacity"))
    p.add_argument("--pace", default="fixed", choices=["fixed", "adaptive"])
    p.add_argument("--share", type=float, default=0.8, help=say("h_share"))
    p.add_argument("--min-interval", help=say("h_min_interval"))
    p.add_argument("--max-interval", help=say("h_max_interval"))
    p.add_argument("--dry-run", action="store_true", help=say("h_dry_run_drive"))
    p.set_defaults(func=cmd_drive_start)
    p = drive.add_parser("status", help=say("h_drive_status"))
    p.add_argument("drive", type=int, nargs="?", help=say("h_drive_id"))
    p.add_argument("--limit", type=int, default=200, help=say("h_drive_limit"))
    p.set_defaults(func=cmd_drive_status)
    for verb in ("next", "pause", "resume", "skip"):
        p = drive.add_parser(verb, help=say(f"h_{verb}"))
        p.add_argument("point", help=say("h_point"))
        p.add_argument("--drive", type=int, help=say("h_drive_id"))
        p.set_defaults(func=cmd_drive_pace)
    p = drive.add_parser("cancel", help=say("h_cancel"))
    p.add_argument("--drive", type=int, help=say("h_drive_id"))
    p.set_defaults(func=cmd_drive_pace)
