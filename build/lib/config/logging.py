"""Logging set-up. Personal data (phone numbers, answers, tokens) is never logged at INFO."""

from __future__ import annotations

import logging
import os


def setup_logging(level: str | None = None) -> None:
    level = level or os.environ.get("LOUZHANG_LOG_LEVEL", "INFO")
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Libraries log request URLs, which carry the bot token: keep them quiet.
    for noisy in (
        "httpx",
        "httpcore",
        "telegram",
        "twilio",
        "aiosqlite",
        "tortoise",
        "apscheduler",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)
