"""Real audio for tests: a short Telegram-like voice note (OGG/Opus), made with ffmpeg.

Tests that need ffmpeg call :func:`voice_note`, which skips them when ffmpeg is missing
(and fails them under CI: .ci/run installs it), like the PostgreSQL and browser tests."""

from __future__ import annotations

import subprocess
import tempfile
from functools import cache
from pathlib import Path

from notifications.media import ffmpeg_path
from tests.conftest import require


def need_ffmpeg() -> str:
    found = ffmpeg_path()
    if found is None:
        require("ffmpeg", "ffmpeg is not installed (apt-get install ffmpeg; .ci/run does)")
    return found


@cache
def _made(seconds: float, hz: int) -> bytes:
    ffmpeg = ffmpeg_path()
    assert ffmpeg is not None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "voice.ogg"
        subprocess.run(
            [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
             f"sine=frequency={hz}:duration={seconds}", "-ar", "48000", "-ac", "1",
             "-c:a", "libopus", str(out)],
            check=True,
            timeout=60,
        )  # fmt: skip
        return out.read_bytes()


def voice_note(seconds: float = 1.0, hz: int = 440) -> bytes:
    """An OGG/Opus voice note like Telegram's (skips the test without ffmpeg)."""
    need_ffmpeg()
    return _made(seconds, hz)
