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


def enabled_channels(settings: Any) -> set[str]:
    enabled = set()
    if settings.telegram_enabled:
        enabled.add("telegram")
    if settings.sms_enabled:
        enabled.add("sms")
    return enabled or {"telegram", "sms"}
