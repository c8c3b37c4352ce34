"""Outbox workers as real subprocesses (`python -m bot worker`), and a fast way to fill the
outbox with many messages to many Telegram chats."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from pathlib import Path

from config.clock import SystemClock
from estate.models import Building, Contact, Estate, Household
from notifications.message import Message
from notifications.outbox import Outgoing, enqueue_many

TOKEN = "77:WORKER"


async def fill_outbox(count: int, first_chat: int = 10_000) -> list[str]:
    """``count`` households, each with a Telegram chat and one queued message; returns texts."""
    estate = await Estate.create(name=f"w{first_chat}")
    building = await Building.create(estate=estate, number=1, floors=99)
    await Household.bulk_create(
        [
            Household(building=building, floor=1 + i // 100, room=str(10_000 + i))
            for i in range(count)
        ],
        batch_size=500,
    )
    households = await Household.filter(building=building).order_by("id")
    await Contact.bulk_create(
        [
            Contact(household=h, channel="telegram", address=str(first_chat + i))
            for i, h in enumerate(households)
        ],
        batch_size=500,
    )
    contacts = await Contact.filter(household__building=building).order_by("id")
    texts = [f"message {first_chat + i}" for i in range(count)]
    await enqueue_many(
        [
            Outgoing(contact=c, message=Message(t), key=t)
            for c, t in zip(contacts, texts, strict=True)
        ],
        now=SystemClock().now(),
    )
    return texts


PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Run in the child before exec: on Linux the kernel sends it SIGTERM when the test run that
    started it dies (a killed pytest must not leave workers polling the outbox)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start_worker(
    tmp_path: Path, db_url: str, telegram_url: str, *, limits: bool, name: str
) -> subprocess.Popen[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LOUZHANG_")},
        "LOUZHANG_DATABASE_URL": db_url,
        "LOUZHANG_TELEGRAM_TOKEN": TOKEN,
        "LOUZHANG_TELEGRAM_API_URL": telegram_url,
        "LOUZHANG_RATE_LIMITS": "true" if limits else "false",
        "LOUZHANG_LANGUAGE": "en",  # the tests read the worker's English summary
    }
    log = (tmp_path / f"{name}.log").open("w")
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "worker"],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=die_with_parent,
    )


def stop_worker(proc: subprocess.Popen[str], tmp_path: Path, name: str) -> str:
    """SIGTERM (drains cleanly); returns what the worker printed."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return (tmp_path / f"{name}.log").read_text()
