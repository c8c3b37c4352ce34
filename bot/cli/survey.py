"""`louzhang survey open|report|list|close`: survey rounds."""

from __future__ import annotations

import argparse
import re
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
)
from bot.cli.errors import CliError
from bot.cli.texts import CLI_TEXTS, cli_language, count, say
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
        raise CliError(say("remind_needs_deadline"))
    estate = None
    if args.estate is not None:
        from estate.access import estate_id_named

        estate = await estate_id_named(args.estate)
        if estate is None:
            raise CliError(say("no_estate_named", name=args.estate))
    from surveys.definition import builtin_slugs

    if args.slug not in builtin_slugs():
        known = ", ".join(builtin_slugs())
        raise CliError(say("no_survey_named", slug=args.slug, known=known))
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
        print(say("no_provider_note"), file=sys.stderr)
    if opened.households == 0:
        print(say("no_households_warning"), file=sys.stderr)
    households = count(opened.households, "household")
    channels = say("channel_sep").join(
        say("by_channel", count=n, channel=_channel_name(c))
        for c, n in sorted(opened.by_channel.items())
    )
    if channels:
        print(say("opened_by_channels", households=households, channels=channels))
    else:
        print(say("opened_households", households=households))
    if opened.sms_segments:
        cost = opened.sms_segments * settings.sms_cost_per_segment
        print(say("opened_sms", segments=opened.sms_segments, cost=f"{cost:.2f}"))
    if opened.waiting:
        print(say("opened_waiting", households=count(opened.waiting, "household")))
    for older, n in sorted(opened.ahead_of.items()):
        print(say("opened_ahead_of", households=count(n, "household"), older=older))
    if opened.unreachable:
        print(say("opened_unreachable", households=count(opened.unreachable, "household")))
    if args.closes_in is not None:
        from surveys.reminders import schedule_round

        await schedule_round(opened.round, args.remind, now=SystemClock().now())
        offsets = say("offset_sep").join(_format_offsets(opened.round.reminders))
        print(say("opened_reminders", offsets=offsets or say("none")))
    print(f"round {opened.round.id}")  # the last line, in every language: scripts read it


def _channel_name(channel: str) -> str:
    key = f"channel_{channel}"
    return say(key) if key in CLI_TEXTS else channel


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
    """``2h``, ``30m`` in English (as ``--remind`` takes them); ``2小时``, ``30分钟`` in Chinese."""
    from datetime import timedelta

    from notifications.durations import format_duration

    written = [format_duration(timedelta(seconds=s)) for s in seconds]
    if cli_language() == "en":
        return written
    units = (("h", "小时"), ("m", "分钟"), ("s", "秒"))
    for unit, word in units:
        written = [re.sub(rf"(\d+){unit}", rf"\g<1>{word}", w) for w in written]
    return written


def _reminders(text: str) -> list[int]:
    return [int(durations_arg(part).total_seconds()) for part in text.split(",") if part.strip()]


async def cmd_survey_report(args: argparse.Namespace) -> None:
    from surveys.report import build_report, to_csv, write_csv, write_people_xlsx

    await init_db()
    try:
        report = await build_report(args.round)
    except LookupError:
        raise CliError(say("no_round", id=args.round)) from None
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
    p = survey.add_parser("open", help=say("h_survey_open"), description=say("h_survey_open"))
    p.add_argument("slug", help=say("h_slug"))
    p.add_argument("--buildings", type=buildings_arg, help=say("h_open_buildings"))
    p.add_argument("--estate", help=say("h_open_estate"))
    p.add_argument("--closes-in", type=durations_arg, help=say("h_closes_in"))
    p.add_argument("--remind", type=_reminders, help=say("h_remind"))
    p.add_argument("--dry-run", action="store_true", help=say("h_dry_run_open"))
    p.set_defaults(func=cmd_survey_open)
    p = survey.add_parser("report", help=say("h_survey_report"))
    p.add_argument("round", type=int, help=say("h_round"))
    p.add_argument("--format", choices=["csv", "xlsx"], help=say("h_report_format"))
    p.add_argument("-o", "--output", help=say("h_report_output"))
    p.set_defaults(func=cmd_survey_report)
    survey.add_parser("list", help=say("h_survey_list")).set_defaults(func=cmd_survey_list)
    p = survey.add_parser("close", help=say("h_survey_close"))
    p.add_argument("round", type=int, help=say("h_round"))
    p.set_defaults(func=cmd_survey_close)
