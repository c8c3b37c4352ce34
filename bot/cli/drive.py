"""`louzhang drive start|status|next|pause|resume|skip|cancel`: testing call-ups."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from bot.cli.args import demo_note, enabled_channels
from bot.cli.errors import CliError
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
    for line in preview_lines(result, settings):
        print(line)
    if result.households == 0:
        print(
            "warning: nobody to call in those buildings (import residents first)", file=sys.stderr
        )
    if args.dry_run:
        print("dry run: nothing was started")
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
        raise CliError("no drive yet (start one with louzhang drive start)")
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
        raise CliError(f"no drive {drive_id}")
    print(render_status(status, settings.language, ZoneInfo(settings.timezone), limit=args.limit))


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
            print(f"drive {drive_id} cancelled; {dropped} queued messages dropped")
        elif args.verb == "next":
            batch = await runtime.call_next(drive_id, args.point)
            print(
                f"point {args.point}: batch {batch.seq} (building {batch.building}) is called now"
            )
        elif args.verb == "pause":
            await runtime.pause(drive_id, args.point)
            print(f"point {args.point} paused")
        elif args.verb == "resume":
            paused = await runtime.resume(drive_id, args.point)
            print(
                f"point {args.point} resumed; its schedule moved {int(paused.total_seconds())}s later"
            )
        elif args.verb == "skip":
            batch = await runtime.skip(drive_id, args.point)
            print(f"point {args.point}: batch {batch.seq} (building {batch.building}) skipped")
    except DriveError as exc:
        raise CliError(str(exc)) from None
    await audit(now=clock.now(), action=f"drive {args.verb}", actor="cli",
                target=f"drive {drive_id} {getattr(args, 'point', '') or ''}".strip())  # fmt: skip


def add_parsers(sub: Any, group: Callable[[str, str], Any]) -> None:
    """Add this command group to the top-level subparsers."""
    drive = group("drive", "testing call-ups, floor by floor")
    p = drive.add_parser("start", help="start a floor-by-floor call-up")
    p.add_argument("--points", required=True, help='points and their buildings, e.g. "A:1-4,B:5-8"')
    p.add_argument("--start", required=True, help="now, HH:MM or ISO-8601")
    p.add_argument("--interval", required=True, help="time between batches, e.g. 5m")
    p.add_argument("--lead", required=True, help='"get ready" this long before, e.g. 10m')
    p.add_argument("--order", default="top-down", choices=["top-down", "bottom-up"])
    p.add_argument("--batch", default="floor", help="floor, half or Nfloors (default: floor)")
    p.add_argument("--locations", help='where each point is, e.g. "A=东门广场,B=北门"')
    p.add_argument("--capacity", type=int, help="most people per batch at a point")
    p.add_argument("--pace", default="fixed", choices=["fixed", "adaptive"])
    p.add_argument(
        "--share", type=float, default=0.8, help="adaptive: share of 1-replies to advance"
    )
    p.add_argument("--min-interval", help="adaptive: never sooner (default: interval/2)")
    p.add_argument("--max-interval", help="adaptive: never later (default: interval*2)")
    p.add_argument("--dry-run", action="store_true", help="show the preview, start nothing")
    p.set_defaults(func=cmd_drive_start)
    p = drive.add_parser("status", help="floors done/called/ready/waiting, replies, door-to-door")
    p.add_argument("drive", type=int, nargs="?", help="drive id (default: the latest running)")
    p.add_argument("--limit", type=int, default=200, help="most households listed per list")
    p.set_defaults(func=cmd_drive_status)
    for verb, help_text in (
        ("next", "call a point's next batch now; the rest of its schedule moves up"),
        ("pause", "call nothing new at a point until resume"),
        ("resume", "resume a point; its schedule moves later by the pause"),
        ("skip", "do not call a point's next batch"),
    ):
        p = drive.add_parser(verb, help=help_text)
        p.add_argument("point")
        p.add_argument("--drive", type=int, help="drive id (default: the latest running)")
        p.set_defaults(func=cmd_drive_pace)
    p = drive.add_parser("cancel", help="stop a drive; queued call-ups are dropped")
    p.add_argument("--drive", type=int, help="drive id (default: the latest running)")
    p.set_defaults(func=cmd_drive_pace)
