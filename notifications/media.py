"""Audio louzhang plays on the phone: staff voice notes made playable, kept, and served.

* **convert**: :func:`convert_audio` runs ``ffmpeg -i in.ogg -ar 8000 -ac 1 out.mp3`` (a
  subprocess; a Telegram voice note is Opus in Ogg, which Twilio's ``<Play>`` does not play;
  8 kHz mono MP3 is what a phone line carries anyway).
* **store**: :class:`MediaStore` keeps the files in the data folder (``data/media/``), each
  named by its content's hash (``<32 hex>.mp3``), so the same voice note sent twice is one file.
* **serve**: ``GET /media/{name}?exp=..&sig=..`` (bot/web/media.py) answers only a URL signed
  with the service's secret key and not yet expired (:func:`signed_path`,
  :func:`check_signature`): Twilio fetches it without a login, nobody else can list or guess
  the files, and a leaked URL stops working after ``ttl`` seconds (10 minutes by default: the
  URL is signed when a call is answered, and ``<Play>`` fetches it at once).

An outbound :class:`~notifications.message.Message` with audio carries ``extra["audio"]`` =
``{"name": <media name>, "file_id": <Telegram file_id, optional>}``: the voice channel plays the
file, Telegram sends the voice note itself (by its file_id, else the file), SMS sends the text.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

from config.settings import Settings

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_TTL",
    "MEDIA_NAME",
    "ConversionFailed",
    "FfmpegMissing",
    "MediaStore",
    "RecordingUnavailable",
    "audio_of",
    "check_signature",
    "convert_audio",
    "fetch_recording",
    "ffmpeg_path",
    "media_path",
    "signed_path",
]

DEFAULT_TTL = 600
MEDIA_NAME = re.compile(r"[0-9a-f]{32}\.mp3")
CONVERT_TIMEOUT = 60.0
MAX_SOURCE_BYTES = 20 * 1024 * 1024  # Telegram bots download at most 20 MB


class FfmpegMissing(RuntimeError):
    """ffmpeg is not installed (``.ci/run`` installs it; Debian: ``apt-get install ffmpeg``)."""


class ConversionFailed(RuntimeError):
    """ffmpeg could not read the audio (not audio, or damaged)."""


def ffmpeg_path() -> str | None:
    return shutil.which("ffmpeg")


async def convert_audio(source: bytes, *, timeout: float = CONVERT_TIMEOUT) -> bytes:  # noqa: ASYNC109
    """``source`` (any format ffmpeg reads: a Telegram voice note is OGG/Opus) as 8 kHz mono
    MP3, the way a phone line plays it."""
    ffmpeg = ffmpeg_path()
    if ffmpeg is None:
        raise FfmpegMissing("ffmpeg is not installed")
    if not source or len(source) > MAX_SOURCE_BYTES:
        raise ConversionFailed("no audio" if not source else "audio too large")
    with tempfile.TemporaryDirectory(prefix="louzhang-audio-") as tmp:
        src, out = Path(tmp) / "in", Path(tmp) / "out.mp3"
        src.write_bytes(source)
        process = await asyncio.create_subprocess_exec(
            ffmpeg,
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(src),
            "-ar",
            "8000",
            "-ac",
            "1",
            str(out),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            _, stderr = await asyncio.wait_for(process.communicate(), timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise ConversionFailed("ffmpeg took too long") from None
        if process.returncode != 0 or not out.exists() or out.stat().st_size == 0:
            said = stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
            raise ConversionFailed(f"ffmpeg failed: {said[0][:200]}")
        return out.read_bytes()


class MediaStore:
    """The converted audio files, in one folder (``Settings.data_dir / "media"``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path(self, name: str) -> Path | None:
        """The file of a media name, or None (a name that is not ours, or no such file)."""
        if not MEDIA_NAME.fullmatch(name or ""):
            return None
        path = self.folder / name
        return path if path.is_file() else None

    def read(self, name: str) -> bytes | None:
        path = self.path(name)
        return path.read_bytes() if path is not None else None

    def add_file(self, content: bytes) -> str:
        """Keep an MP3 as it is (a recording fetched from Twilio); returns its media name."""
        name = hashlib.sha256(content).hexdigest()[:32] + ".mp3"
        if self.path(name) is None:
            self._write(name, content)
        return name

    def _write(self, name: str, content: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=self.folder, suffix=".part")
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.replace(tmp, self.folder / name)  # readers never see half a file

    async def add_audio(self, source: bytes) -> str:
        """Convert ``source`` for the phone and keep it; returns its media name. The same
        source gives the same name (converted once)."""
        name = hashlib.sha256(source).hexdigest()[:32] + ".mp3"
        if self.path(name) is not None:
            return name
        converted = await convert_audio(source)
        self._write(name, converted)
        log.info("media %s: %d bytes", name, len(converted))
        return name


# ---- signed URLs -----------------------------------------------------------------------------
def media_path(name: str) -> str:
    return f"/media/{name}"


def _signature(key: bytes, path: str, exp: int) -> str:
    return hmac.new(key, f"media\n{path}\n{exp}".encode(), hashlib.sha256).hexdigest()


def signed_path(key: bytes, name: str, *, now: float, ttl: float = DEFAULT_TTL) -> str:
    """``/media/<name>?exp=<unix time>&sig=<hmac>``: put ``LOUZHANG_PUBLIC_URL`` before it."""
    path = media_path(name)
    exp = int(now + ttl)
    return f"{path}?{urlencode({'exp': exp, 'sig': _signature(key, path, exp)})}"


def check_signature(key: bytes, path: str, exp: str, sig: str, *, now: float) -> bool:
    """Whether ``sig`` signs ``path`` until ``exp`` and ``exp`` has not passed."""
    try:
        expires = int(exp)
    except (TypeError, ValueError):
        return False
    if expires <= now:
        return False
    return hmac.compare_digest(_signature(key, path, expires), str(sig or ""))


def audio_of(extra: Mapping[str, Any] | None) -> dict[str, str] | None:
    """A message's ``extra["audio"]`` (``name``, optional ``file_id``), or None."""
    audio = (extra or {}).get("audio")
    if not isinstance(audio, Mapping):
        return None
    out = {k: str(v) for k, v in audio.items() if k in ("name", "file_id") and v}
    return out or None


# ---- recordings at Twilio ----------------------------------------------------------------------
class RecordingUnavailable(RuntimeError):
    """A Twilio recording that cannot be fetched (not there, not ours, Twilio down)."""


def _basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def fetch_recording(url: str, settings: Settings, *, timeout: float = 20.0) -> bytes:  # noqa: ASYNC109
    """The MP3 of a Twilio recording (its ``RecordingUrl`` + ``.mp3``), fetched with the
    account's credentials. Only URLs under ``LOUZHANG_TWILIO_API_URL`` are fetched, so the
    credentials never go to another host."""
    base = settings.twilio_api_url.rstrip("/") + "/"
    if not url.startswith(base) or not settings.twilio_account_sid:
        raise RecordingUnavailable("not a recording of this Twilio account")
    auth = _basic_auth(settings.twilio_account_sid, settings.twilio_auth_token or "")
    target = url if url.endswith(".mp3") else url + ".mp3"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.get(target, headers={"Authorization": auth}) as response,
        ):
            if response.status != 200:
                raise RecordingUnavailable(f"twilio answered {response.status}")
            content = await response.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise RecordingUnavailable(f"twilio: {type(exc).__name__}") from exc
    if not content:
        raise RecordingUnavailable("empty recording")
    return content
