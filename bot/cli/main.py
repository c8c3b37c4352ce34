"""The ``louzhang`` command line (also ``python -m bot``).

Commands that change things write to the database and return at once; a running
``louzhang run`` on the same database carries out what they queued.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot.cli.errors import CliError
from config.database import close_db, init_db, tortoise_config, upgrade
from config.logging import setup_logging
from config.settings import get_settings
from estate.importing.residents import local_day
from estate.staff import ROLES


def _durations(text: str) -> Any:
    from notifications.durations import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _buildings(text: str) -> list[int]:
    from estate.addresses import parse_building_ranges

    try:
        return parse_building_ranges(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# ---- commands ----------------------------------------------------------------------------------
async def cmd_db_upgrade(args: argparse.Namespace) -> None:
    await upgrade()
    print("database is up to date")


async def cmd_db_makemigrations(args: argparse.Namespace) -> None:
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "louzhang_tortoise_cfg.py"
        cfg.write_text(
            "from config.database import tortoise_config\n"
            f"TORTOISE_ORM = tortoise_config({get_settings().database_url!r})\n"
        )
        env_path = f"{tmp}:{Path.cwd()}"
        import os

        env = {**os.environ, "PYTHONPATH": env_path}
        subprocess.run(  # noqa: ASYNC221 - a developer tool, nothing else runs
            [
                sys.executable,
                "-m",
                "tortoise",
                "-c",
                "louzhang_tortoise_cfg.TORTOISE_ORM",
                "makemigrations",
            ],
            check=True,
            env=env,
        )


async def cmd_import_residents(args: argparse.Namespace) -> None:
    from estate.importing.residents import ImportProblems, import_residents

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


async def cmd_demo_seed(args: argparse.Namespace) -> None:
    from estate.demo import seed_demo

    await init_db()
    report = await seed_demo(seed=args.seed, today=local_day())
    print(report.summary() if hasattr(report, "summary") else report)


async def cmd_survey_open(args: argparse.Namespace) -> None:
    from config.clock import SystemClock
    from surveys.definition import DefinitionError
    from surveys.runtime import SurveyRuntime

    settings = get_settings()
    await init_db()
    runtime = SurveyRuntime(
        clock=SystemClock(), settings=settings, enabled_channels=_enabled(settings)
    )
    if args.remind is not None and args.closes_in is None:
        raise CliError("--remind needs --closes-in (reminders are counted back from the deadline)")
    try:
        opened = await runtime.open_round(
            args.slug, buildings=args.buildings, closes_in=args.closes_in, created_by="cli"
        )
    except DefinitionError as exc:
        raise CliError(str(exc)) from None
    if not (settings.telegram_enabled or settings.sms_enabled):
        print(
            "warning: Telegram and SMS are both off; the messages wait in the outbox until "
            "a channel is turned on",
            file=sys.stderr,
        )
    if opened.households == 0:
        print("warning: no households in those buildings (import residents first)", file=sys.stderr)
    channels = ", ".join(f"{n} by {c}" for c, n in sorted(opened.by_channel.items())) or "none"
    print(f"{opened.households} households: {channels}")
    if opened.sms_segments:
        cost = opened.sms_segments * settings.sms_cost_per_segment
        print(f"SMS: {opened.sms_segments} segments, about ${cost:.2f}")
    if opened.waiting:
        print(f"{opened.waiting} households are answering another round and get this one next")
    if opened.unreachable:
        print(f"{opened.unreachable} households have no reachable contact (see the report)")
    if args.closes_in is not None:
        from surveys.reminders import schedule_round

        await schedule_round(opened.round, args.remind, now=SystemClock().now())
        offsets = ", ".join(_format_offsets(opened.round.reminders)) or "none"
        print(f"reminders before the deadline: {offsets}")
    print(f"round {opened.round.id}")


def _format_offsets(seconds: list[int]) -> list[str]:
    from datetime import timedelta

    from notifications.durations import format_duration

    return [format_duration(timedelta(seconds=s)) for s in seconds]


def _reminders(text: str) -> list[int]:
    return [int(_durations(part).total_seconds()) for part in text.split(",") if part.strip()]


def _enabled(settings: Any) -> set[str]:
    enabled = set()
    if settings.telegram_enabled:
        enabled.add("telegram")
    if settings.sms_enabled:
        enabled.add("sms")
    return enabled or {"telegram", "sms"}


async def cmd_survey_report(args: argparse.Namespace) -> None:
    from surveys.report import build_report, to_csv, write_csv, write_xlsx

    await init_db()
    try:
        report = await build_report(args.round)
    except LookupError as exc:
        raise CliError(str(exc)) from None
    fmt = args.format or ("xlsx" if args.output and args.output.endswith(".xlsx") else "csv")
    if fmt == "xlsx":
        if not args.output:
            raise CliError("--format xlsx needs -o FILE")
        write_xlsx(Path(args.output), report.columns, report.rows, f"round {args.round}")
    elif args.output:
        write_csv(Path(args.output), report.columns, report.rows)
    else:
        sys.stdout.write(to_csv(report.columns, report.rows))
    if args.output:
        print(f"wrote {len(report.rows)} rows to {args.output}")


async def cmd_survey_list(args: argparse.Namespace) -> None:
    from surveys.definition import builtin_slugs
    from surveys.models import Round

    await init_db()
    print("surveys: " + ", ".join(builtin_slugs()))
    for r in await Round.all().order_by("id"):
        print(f"round {r.id}: {r.survey} {r.status} opened {r.opened_at:%Y-%m-%d %H:%M} UTC")


async def cmd_survey_close(args: argparse.Namespace) -> None:
    from config.clock import SystemClock
    from notifications.outbox import cancel
    from surveys.models import Response, Round

    await init_db()
    updated = await Round.filter(id=args.round, status="open").update(status="closed")
    if not updated:
        raise CliError(f"no open round {args.round}")
    ids = await Response.filter(round_id=args.round).values_list("id", flat=True)
    dropped = await cancel(
        [f"response:{i}" for i in ids], now=SystemClock().now(), reason="round closed"
    )
    print(f"round {args.round} closed; {dropped} unsent messages dropped")


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
    print(f"staff {staff.id}: {staff.name} ({staff.role})")


async def cmd_staff_list(args: argparse.Namespace) -> None:
    from estate.staff import list_staff

    await init_db()
    for line in await list_staff():
        print(line)


async def cmd_staff_remove(args: argparse.Namespace) -> None:
    from estate.staff import remove_staff

    await init_db()
    if not await remove_staff(args.name):
        raise CliError(f"no staff member named {args.name!r}")
    print(f"removed {args.name}")


async def cmd_audit(args: argparse.Namespace) -> None:
    from estate.audit_log import audit_lines

    await init_db()
    for line in await audit_lines(staff=args.staff, limit=args.limit):
        print(line)


async def cmd_staff_login(args: argparse.Namespace) -> None:
    from bot.web.dashboard.auth import create_login_link
    from config.clock import SystemClock
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


async def cmd_outbox_status(args: argparse.Namespace) -> None:
    from config.clock import SystemClock
    from notifications.status import outbox_summary

    await init_db()
    summary = await outbox_summary(SystemClock().now())
    print("\n".join(summary.lines()))


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
    try:
        round_id, result = await make_preview(options, _enabled(settings))
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
    drive_id = await _drive_id(args.drive)
    status = await load_status(drive_id)
    if status is None:
        raise CliError(f"no drive {drive_id}")
    print(render_status(status, "en", ZoneInfo(settings.timezone), limit=args.limit))


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


def _stop_on_signals() -> asyncio.Event:
    """An event set by Ctrl-C or SIGTERM. Installed first thing, so a signal during start-up
    (seeding, the web site opening) stops the service cleanly instead of interrupting it."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _until_signalled(stop: asyncio.Event) -> None:
    # Everything loaded at start-up lives as long as the process: keep it out of the garbage
    # collector's way, so its pauses stay short (a long pause between taking a rate-limit slot
    # and the request reaching Telegram is what makes a 429).
    gc.collect()
    gc.freeze()
    await stop.wait()


async def cmd_worker(args: argparse.Namespace) -> None:
    """The dispatcher alone: several workers may share one PostgreSQL outbox."""
    from telegram import Bot

    from config.clock import SystemClock
    from notifications.channels.base import ChannelAdapter
    from notifications.channels.telegram import TelegramChannel
    from notifications.channels.twilio import TwilioSmsChannel
    from notifications.dispatch.dispatcher import Dispatcher

    signalled = _stop_on_signals()
    settings = get_settings()
    await init_db()
    channels: dict[str, ChannelAdapter] = {}
    if settings.telegram_enabled:
        api = settings.telegram_api_url.rstrip("/")
        bot = Bot(
            settings.telegram_token or "", base_url=f"{api}/bot", base_file_url=f"{api}/file/bot"
        )
        channels["telegram"] = TelegramChannel(bot)
    sms = TwilioSmsChannel(settings) if settings.sms_enabled else None
    if sms is not None:
        channels["sms"] = sms
    dispatcher = Dispatcher(
        channels, clock=SystemClock(), settings=settings, limits_enabled=settings.rate_limits
    )
    print(
        f"worker {dispatcher.worker_id}: sending by {', '.join(channels) or 'nothing (no channel is on)'}",
        flush=True,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    await _until_signalled(signalled)
    print("stopping: finishing messages in flight ...", flush=True)
    stop.set()
    await task
    if sms is not None:
        await sms.close()
    stats = dispatcher.stats
    print(
        f"worker stopped: {stats.sent} sent, {stats.retried} retried, {stats.failed} failed, "
        f"{stats.recovered_in_flight} were in flight at the previous stop",
        flush=True,
    )


async def cmd_run(args: argparse.Namespace) -> None:
    from aiohttp import web

    from bot.app import build_services
    from bot.web.app import create_app

    stop = _stop_on_signals()
    settings = get_settings()
    await init_db()  # before PTB, the web site or any task (Tortoise keeps a ContextVar)
    first = None
    if settings.database_url.startswith("sqlite") and not (
        settings.telegram_enabled or settings.sms_enabled
    ):
        from estate.first_start import seed_if_empty

        first = await seed_if_empty(local_day())  # a fresh machine: the demo estate
        if first is not None:
            print(first.report.summary())
    services = build_services(settings)
    app = create_app(services)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    await site.start()
    print(
        f"louzhang on http://{settings.http_host}:{settings.http_port} (database: {_db_label(settings.database_url)})"
    )
    for line in services.channel_report():
        print(line)
    if first is not None:
        from bot.web.dashboard.auth import create_login_link

        link = await create_login_link(first.admin, settings=settings, clock=services.clock)
        print(f"dashboard: open {link} to log in as {first.admin.name} (one-time link)")
        print("more links: louzhang staff login NAME")
    print("Ctrl-C stops.", flush=True)
    await _until_signalled(stop)
    print("stopping: finishing messages in flight ...", flush=True)
    await runner.cleanup()


def _db_label(url: str) -> str:
    return url.split("@")[-1] if "@" in url else url


# ---- parser --------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="louzhang", description="楼长 louzhang: estate surveys and call-ups"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def group(name: str, help_text: str) -> argparse._SubParsersAction:  # type: ignore[type-arg]
        p = sub.add_parser(name, help=help_text, description=help_text)
        return p.add_subparsers(dest="verb", required=True, metavar="VERB")

    db = group("db", "database schema")
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)
    db.add_parser(
        "makemigrations", help="(developers) write a migration for model changes"
    ).set_defaults(func=cmd_db_makemigrations)

    imp = group("import", "import data")
    p = imp.add_parser("residents", help="import residents from CSV or XLSX")
    p.add_argument("file")
    p.add_argument("--dry-run", action="store_true", help="check the file, write nothing")
    p.add_argument("--estate", default="default", help="estate name (default: %(default)s)")
    p.set_defaults(func=cmd_import_residents)

    demo = group("demo", "demo data")
    p = demo.add_parser(
        "seed", help="create a realistic demo estate (25 buildings, ~5,000 residents)"
    )
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=cmd_demo_seed)

    staff = group("staff", "committee staff")
    p = staff.add_parser("add", help="add a staff member")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=list(ROLES))
    p.add_argument("--phone")
    p.add_argument("--buildings", type=_buildings, help="e.g. 1-5,7")
    p.add_argument("--shift", choices=["A", "B"])
    p.add_argument("--point")
    p.set_defaults(func=cmd_staff_add)
    staff.add_parser("list", help="list staff").set_defaults(func=cmd_staff_list)
    p = staff.add_parser("login", help="print a one-time login link to the web dashboard")
    p.add_argument("name")
    p.set_defaults(func=cmd_staff_login)
    p = staff.add_parser("remove", help="remove a staff member")
    p.add_argument("name")
    p.set_defaults(func=cmd_staff_remove)

    survey = group("survey", "survey rounds")
    p = survey.add_parser("open", help="open a round and send its first question")
    p.add_argument("slug")
    p.add_argument("--buildings", type=_buildings, help="e.g. 1-5,7 (default: every building)")
    p.add_argument("--closes-in", type=_durations, help="e.g. 6h, 90m")
    p.add_argument(
        "--remind",
        type=_reminders,
        help="reminders to households not finished, before the deadline (default: 2h,30m)",
    )
    p.set_defaults(func=cmd_survey_open)
    p = survey.add_parser("report", help="write a round's results")
    p.add_argument("round", type=int)
    p.add_argument("--format", choices=["csv", "xlsx"])
    p.add_argument("-o", "--output")
    p.set_defaults(func=cmd_survey_report)
    survey.add_parser("list", help="list surveys and rounds").set_defaults(func=cmd_survey_list)
    p = survey.add_parser("close", help="close a round")
    p.add_argument("round", type=int)
    p.set_defaults(func=cmd_survey_close)

    p = sub.add_parser(
        "audit", help="the audit log of staff actions, newest first", description="the audit log"
    )
    p.add_argument("--staff", help="only this staff member's actions (their name)")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=cmd_audit)

    outbox = group("outbox", "the queue of outbound messages")
    outbox.add_parser(
        "status", help="counts by status, channel and priority; oldest waiting; last errors"
    ).set_defaults(func=cmd_outbox_status)

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

    from bot.cli.pickup import add_pickup_parsers

    add_pickup_parsers(sub, _buildings)

    sub.add_parser(
        "worker", help="send from the outbox only (more workers may share a PostgreSQL outbox)"
    ).set_defaults(func=cmd_worker)
    sub.add_parser("run", help="start the service (web server, dispatcher, Telegram)").set_defaults(
        func=cmd_run
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging()
    func: Callable[[argparse.Namespace], Awaitable[None]] = args.func

    async def runner() -> None:
        try:
            await func(args)
        finally:
            await close_db()

    try:
        asyncio.run(runner())
    except CliError as exc:
        print(f"louzhang: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a clear message, not a traceback, for operational errors
        print(f"louzhang: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


__all__ = ["build_parser", "main", "tortoise_config"]
