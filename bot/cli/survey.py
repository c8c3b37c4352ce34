"""`louzhang survey open|report|list|close`: survey rounds."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.cli.args import (
    buildings_arg,
    cli_audit,
    demo_note,
    durations_arg,
    enabled_channels,
    plural,
)
from bot.cli.errors import CliError
from bot.cli.texts import cli_language, count, say
from config.clock import local_time, utc_offset
from config.database import init_db
from config.settings import get_settings


async def cmd_survey_open(args: argparse.Namespace) -> None:
    from config.clock import SystemClock
    from surveys.definition import DefinitionError
    from surveys.runtime import SurveyRuntime

    settings = get_settings()
    await init_db()
    await demo_note()
    runtime = SurveyRuntime(
        clock=SystemClock(), settings=settings, enabled_channels=enabled_channels(settings)
    )
    if args.remind is not None and args.closes_in is None:
        raise CliError("--remind needs --closes-in (reminders are counted back from the deadline)")
    estate = None
    if args.estate is not None:
        from estate.access import estate_id_named

        estate = await estate_id_named(args.estate)
        if estate is None:
            raise CliError(f"no estate named {args.estate!r}")
    if args.dry_run:
        await _dry_run(runtime, args, estate)
        return
    try:
        opened = await runtime.open_round(
            args.slug,
            buildings=args.buildings,
            closes_in=args.closes_in,
            created_by="cli",
            estate=estate,
        )
    except DefinitionError as exc:
        raise CliError(str(exc)) from None
    await cli_audit(
        "survey open",
        f"round {opened.round.id} {args.slug} buildings "
        + (",".join(map(str, args.buildings)) if args.buildings else "all"),
    )
    if not (settings.telegram_enabled or settings.sms_enabled):
        print(
            "note: no provider is on (no Telegram or Twilio token), so a running `louzhang run` "
            "delivers these messages to the browser simulator; real residents get nothing",
            file=sys.stderr,
        )
    if opened.households == 0:
        print("warning: no households in those buildings (import residents first)", file=sys.stderr)
    channels = ", ".join(f"{n} by {c}" for c, n in sorted(opened.by_channel.items()))
    print(plural(opened.households, "household") + (f": {channels}" if channels else ""))
    if opened.sms_segments:
        cost = opened.sms_segments * settings.sms_cost_per_segment
        print(f"SMS: {opened.sms_segments} segments, about ${cost:.2f}")
    if opened.waiting:
        print(f"{plural(opened.waiting, 'household')} answering another round get this one next")
    for older, n in sorted(opened.ahead_of.items()):
        print(f"{plural(n, 'household')} had not started round {older}: they get this one first")
    if opened.unreachable:
        print(
            f"{plural(opened.unreachable, 'household')} with no reachable contact (see the report)"
        )
    if args.closes_in is not None:
        from surveys.reminders import schedule_round

        await schedule_round(opened.round, args.remind, now=SystemClock().now())
        offsets = ", ".join(_format_offsets(opened.round.reminders)) or "none"
        print(f"reminders before the deadline: {offsets}")
    print(f"round {opened.round.id}")


async def _dry_run(runtime: Any, args: argparse.Namespace, estate: int | None) -> None:
    """What ``survey open`` would send, in the staff language; nothing is written."""
    from surveys.definition import DefinitionError
    from surveys.preview import preview_lines, preview_round

    settings = runtime.settings
    try:
        preview = await preview_round(
            runtime,
            args.slug,
            buildings=args.buildings,
            estate=estate,
            closes_in=args.closes_in,
            reminders=args.remind,
        )
    except DefinitionError as exc:
        raise CliError(str(exc)) from None
    for line in preview_lines(preview, settings.language, ZoneInfo(settings.timezone)):
        print(line)


def _format_offsets(seconds: list[int]) -> list[str]:
    from datetime import timedelta

    from notifications.durations import format_duration

    return [format_duration(timedelta(seconds=s)) for s in seconds]


def _reminders(text: str) -> list[int]:
    return [int(durations_arg(part).total_seconds()) for part in text.split(",") if part.strip()]


async def cmd_survey_report(args: argparse.Namespace) -> None:
    from surveys.report import build_report, to_csv, write_csv, write_people_xlsx

    await init_db()
    try:
        report = await build_report(args.round)
    except LookupError as exc:
        raise CliError(str(exc)) from None
    fmt = args.format or ("xlsx" if args.output and args.output.endswith(".xlsx") else "csv")
    if fmt == "xlsx":
        if not args.output:
            raise CliError(say("xlsx_needs_output"))
        write_people_xlsx(report, Path(args.output), get_settings().language)
    elif args.output:
        write_csv(Path(args.output), report.columns, report.rows)
    else:
        sys.stdout.write(to_csv(report.columns, report.rows))
    if args.output:
        print(say("wrote_rows", rows=len(report.rows), path=args.output))


async def cmd_survey_list(args: argparse.Namespace) -> None:
    from surveys.definition import builtin_slugs, survey_title
    from surveys.models import Round

    await init_db()
    await demo_note()
    tz = ZoneInfo(get_settings().timezone)
    lang = cli_language()
    items = [say("survey_item", slug=s, title=survey_title(s, lang)) for s in builtin_slugs()]
    print(say("surveys", slugs=", ".join(items)))
    rounds = await Round.all().order_by("id")
    if rounds:
        print(say("times_in", zone=tz.key, offset=utc_offset(tz, rounds[0].opened_at)))
    for r in rounds:
        closes = (
            say("round_closes", at=local_time(r.closes_at, tz))
            if r.closes_at
            else say("round_no_deadline")
        )
        status = say(f"status_{r.status}") if r.status in ("open", "closed") else r.status
        line = say(
            "round_line",
            id=r.id,
            survey=r.survey,
            title=survey_title(r.survey, lang),
            status=status,
            opened=local_time(r.opened_at, tz),
            closes=closes,
        )
        print(line)


async def cmd_survey_close(args: argparse.Namespace) -> None:
    from config.clock import SystemClock
    from notifications.outbox import cancel
    from surveys.models import Response, Round

    await init_db()
    updated = await Round.filter(id=args.round, status="open").update(status="closed")
    if not updated:
        raise CliError(say("no_open_round", id=args.round))
    ids = await Response.filter(round_id=args.round).values_list("id", flat=True)
    dropped = await cancel(
        [f"response:{i}" for i in ids], now=SystemClock().now(), reason="round closed"
    )
    await cli_audit("survey close", f"round {args.round}")
    print(say("round_closed", id=args.round, dropped=count(dropped, "unsent message")))


def add_parsers(sub: Any, group: Callable[[str, str], Any]) -> None:
    """Add this command group to the top-level subparsers."""
    survey = group("survey", say("g_survey"))
    p = survey.add_parser("open", help="open a round and send its first question")
    p.add_argument("slug")
    p.add_argument("--buildings", type=buildings_arg, help="e.g. 1-5,7 (default: every building)")
    p.add_argument(
        "--estate",
        help="only this estate's buildings (numbers repeat across estates; default: every estate)",
    )
    p.add_argument("--closes-in", type=durations_arg, help="e.g. 6h, 90m")
    p.add_argument(
        "--remind",
        type=_reminders,
        help="reminders to households not finished, before the deadline (default: 2h,30m)",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print what would be sent (households by channel, SMS cost, deadline, reminders) "
        "and change nothing",
    )
    p.set_defaults(func=cmd_survey_open)
    p = survey.add_parser("report", help=say("h_survey_report"))
    p.add_argument("round", type=int)
    p.add_argument("--format", choices=["csv", "xlsx"])
    p.add_argument("-o", "--output")
    p.set_defaults(func=cmd_survey_report)
    survey.add_parser("list", help=say("h_survey_list")).set_defaults(func=cmd_survey_list)
    p = survey.add_parser("close", help=say("h_survey_close"))
    p.add_argument("round", type=int)
    p.set_defaults(func=cmd_survey_close)
