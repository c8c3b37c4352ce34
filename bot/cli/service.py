"""`louzhang run` (the whole service) and `louzhang worker` (extra senders)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import signal
from collections.abc import Callable
from typing import Any

from bot.cli.args import command_hint
from bot.cli.texts import say
from config.database import init_db
from config.settings import get_settings
from estate.importing.residents import local_day


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
    from bot.app import build_channels, build_dispatcher
    from config.clock import SystemClock

    signalled = _stop_on_signals()
    settings = get_settings()
    await init_db()
    built = build_channels(settings, simulator=False)
    channels = [name for name in ("telegram", "sms") if name in built.adapters]
    dispatcher = build_dispatcher(built, settings, SystemClock())
    print(
        say(
            "worker_on", id=dispatcher.worker_id, channels=", ".join(channels) or say("no_channel")
        ),
        flush=True,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    await _until_signalled(signalled)
    print(say("stopping"), flush=True)
    stop.set()
    await task
    await built.close()
    stats = dispatcher.stats
    print(
        say(
            "worker_stopped",
            sent=stats.sent,
            retried=stats.retried,
            failed=stats.failed,
            recovered=stats.recovered_in_flight,
        ),
        flush=True,
    )


async def cmd_run(args: argparse.Namespace) -> None:
    from aiohttp import web

    from bot.app import build_channels, build_services
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
            from bot.cli.demo import demo_summary

            print(demo_summary(first.report))
    services = build_services(settings, channels=build_channels(settings))
    app = create_app(services)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    await site.start()
    print(
        say(
            "running_on",
            url=f"http://{settings.http_host}:{settings.http_port}",
            db=_db_label(settings.database_url),
        )
    )
    for line in _channel_report(services):
        print(line)
    if first is not None:
        from estate.logins import create_login_link

        link = await create_login_link(first.admin, settings=settings, clock=services.clock)
        print(say("dashboard_link", link=link, name=first.admin.name))
        print(say("more_links", command=command_hint(), name=first.admin.name))
    elif not await _any_staff():
        print(say("no_staff_yet", command=command_hint()))
    print(say("ctrl_c"), flush=True)
    await _until_signalled(stop)
    print(say("stopping"), flush=True)
    await runner.cleanup()


def _channel_report(services: Any) -> list[str]:
    """Which channels are on, in the staff language."""
    lines = [
        say("telegram_on", mode=services.settings.telegram_mode)
        if services.telegram is not None
        else say("telegram_off")
    ]
    lines.append(say("sms_on") if services.sms is not None else say("sms_off"))
    if services.simulated:
        lines.append(say("simulated", channels=", ".join(sorted(services.simulated))))
    return lines


def _db_label(url: str) -> str:
    return url.split("@")[-1] if "@" in url else url


def add_parsers(sub: Any, group: Callable[[str, str], Any]) -> None:
    """Add this command group to the top-level subparsers."""
    from bot.cli.texts import say

    sub.add_parser("worker", help=say("h_worker")).set_defaults(func=cmd_worker)
    sub.add_parser("run", help=say("h_run")).set_defaults(func=cmd_run)


async def _any_staff() -> bool:
    from estate.models import Staff

    return await Staff.filter(active=True).exists()
