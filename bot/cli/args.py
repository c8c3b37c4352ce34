"""Argument types shared by the command groups."""

from __future__ import annotations

import argparse
from typing import Any


def durations_arg(text: str) -> Any:
    from notifications.durations import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def buildings_arg(text: str) -> list[int]:
    from estate.addresses import parse_building_ranges

    try:
        return parse_building_ranges(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def estate_buildings_arg(text: str) -> tuple[str | None, list[int]]:
    """``[ESTATE:]RANGES``: ``东区:1-5,7`` names estate 东区, ``1-5,7`` no estate."""
    estate, sep, ranges = text.replace("：", ":").rpartition(":")
    if sep and not estate.strip():
        raise argparse.ArgumentTypeError("an estate name goes before the ':' (东区:1-5)")
    return (estate.strip() if sep else None), buildings_arg(ranges)


def enabled_channels(settings: Any) -> set[str]:
    enabled = set()
    if settings.telegram_enabled:
        enabled.add("telegram")
    if settings.sms_enabled:
        enabled.add("sms")
    if getattr(settings, "voice_enabled", False):
        enabled.add("voice")
    # No provider at all: a rehearsal, the running service delivers everything to the browser
    # (the simulator), voice calls too: a voice household is called, not left to its officer.
    return enabled or {"telegram", "sms", "voice"}


async def cli_audit(action: str, target: str) -> None:
    """Record a command-line action in the audit log, like a staff action (actor "cli")."""
    from config.clock import SystemClock
    from estate.access import audit

    await audit(now=SystemClock().now(), action=action, actor="cli", target=target)


def plural(count: int, noun: str) -> str:
    """ "1 household", "2 households" (English CLI output)."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def command_hint() -> str:
    """How to run louzhang again, as typed in this shell: ``louzhang`` when it is on PATH,
    else the path of this virtualenv's script (``.venv/bin/louzhang`` after ``make run``)."""
    import os
    import shutil
    import sys
    from pathlib import Path

    script = Path(sys.executable).parent / "louzhang"
    found = shutil.which("louzhang")
    if found and Path(found).resolve() == script.resolve():
        return "louzhang"
    if not script.exists():
        return f"{sys.executable} -m bot"
    try:
        return os.path.relpath(script)
    except ValueError:
        return str(script)


async def demo_note() -> None:
    """While the demo estate is in the database, every summary says so (on stderr)."""
    import sys

    from estate.first_start import demo_present

    if await demo_present():
        from bot.cli.texts import say

        print(say("demo_note"), file=sys.stderr)
