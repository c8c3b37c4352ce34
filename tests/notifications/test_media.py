"""Staff voice notes made playable on the phone: ffmpeg conversion, the media store, and the
signed, expiring URLs GET /media/{name} answers."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from notifications.media import (
    ConversionFailed,
    MediaStore,
    check_signature,
    convert_audio,
    media_path,
    signed_path,
)
from tests.audio import need_ffmpeg, voice_note

KEY = b"k" * 32


def _probe(data: bytes, tmp_path: Path) -> str:
    """ffprobe's view of an audio file: 'codec rate channels'."""
    path = tmp_path / "probe.mp3"
    path.write_bytes(data)
    ffprobe = need_ffmpeg().replace("ffmpeg", "ffprobe")
    out = subprocess.run(
        [ffprobe, "-v", "error", "-show_entries", "stream=codec_name,sample_rate,channels",
         "-of", "csv=p=0", str(path)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return out.stdout.strip()


async def test_a_voice_note_becomes_8khz_mono_mp3(tmp_path: Path) -> None:
    converted = await convert_audio(voice_note(1.0))
    assert _probe(converted, tmp_path) == "mp3,8000,1"


async def test_not_audio_is_refused() -> None:
    need_ffmpeg()
    with pytest.raises(ConversionFailed):
        await convert_audio(b"this is not audio at all")
    with pytest.raises(ConversionFailed):
        await convert_audio(b"")


async def test_the_store_keeps_one_file_per_voice_note(tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media")
    note = voice_note(1.0)
    name = await store.add_audio(note)
    assert store.path(name) is not None and name.endswith(".mp3")
    assert await store.add_audio(note) == name  # sent twice: one file
    assert await store.add_audio(voice_note(1.0, hz=880)) != name
    assert sorted(p.suffix for p in (tmp_path / "media").iterdir()) == [".mp3", ".mp3"]
    for bad in ("../secret_key", "x.mp3", name.replace(".mp3", ".wav"), ""):
        assert store.path(bad) is None


def test_a_signed_path_works_until_it_expires_and_only_for_its_file() -> None:
    name = "0" * 32 + ".mp3"
    signed = signed_path(KEY, name, now=1000.0, ttl=600)
    path, query = signed.split("?")
    params = dict(part.split("=") for part in query.split("&"))
    assert path == media_path(name) and params["exp"] == "1600"
    assert check_signature(KEY, path, params["exp"], params["sig"], now=1599.0)
    assert not check_signature(KEY, path, params["exp"], params["sig"], now=1600.0)  # expired
    assert not check_signature(KEY, path, "1700", params["sig"], now=1000.0)  # exp changed
    assert not check_signature(b"other" * 8, path, params["exp"], params["sig"], now=1000.0)
    other = media_path("1" * 32 + ".mp3")
    assert not check_signature(KEY, other, params["exp"], params["sig"], now=1000.0)
    assert not check_signature(KEY, path, "soon", params["sig"], now=1000.0)
    assert not check_signature(KEY, path, params["exp"], "", now=1000.0)
