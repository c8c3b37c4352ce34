"""Parse the durations and start times staff type for a drive (pure: no clock reads).

Staff write durations as ``20s``, ``5m``, ``1h`` or combinations such as ``1h30m``
(``--interval`` and ``--lead`` of ``louzhang drive start``, and the same values in the Telegram
``/drive`` dialogue), and a start time as ``now``, ``HH:MM`` (today, local time) or an ISO-8601
date-time. Everything here is pure: the current time and the local time zone are passed in.
Every error is a :class:`ValueError` whose message can be shown to staff as is.

>>> parse_duration("1h30m")
datetime.timedelta(seconds=5400)
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta, tzinfo

__all__ = ["PAST_GRACE", "format_duration", "parse_duration", "parse_start"]

#: How far in the past a start time may lie and still be accepted (typing ``14:00`` at 14:00:40).
PAST_GRACE = timedelta(minutes=1)

_UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1}
# One or more "<integer><unit>" parts, units in the order h, m, s, each at most once.
_DURATION = re.compile(r"(?:(?P<h>\d+)\s*h)?\s*(?:(?P<m>\d+)\s*m)?\s*(?:(?P<s>\d+)\s*s)?")
_CLOCK = re.compile(r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?")
_NOW_WORDS = frozenset({"now", "现在", "立即", "马上"})


def _normalise(text: str) -> str:
    """Fold full-width characters (Chinese keyboards) to ASCII, trim and lower-case."""
    return unicodedata.normalize("NFKC", text).strip().lower()


def parse_duration(text: str) -> timedelta:
    """Parse a duration written with the units ``s``, ``m`` and ``h``.

    Accepted: ``"20s"``, ``"5m"``, ``"1h"``, ``"1h30m"``, ``"1h 30m 15s"``, ``"0s"``; case and
    full-width characters are tolerated. A plain number without a unit is refused (``"90"`` could
    mean seconds or minutes), as are fractions, negative values and repeated or out-of-order
    units. Zero is accepted here; callers that need a positive value check it themselves.

    Raises:
        ValueError: with a message that says what to write instead.
    """
    raw = text
    text = _normalise(text)
    if not text:
        raise ValueError("empty duration; write it with s, m or h, e.g. 20s, 5m, 1h30m")
    if re.fullmatch(r"[+-]?\d+(?:[.,]\d+)?", text):
        raise ValueError(f"{raw.strip()!r} has no unit; add s, m or h (e.g. {text}s or {text}m)")
    match = _DURATION.fullmatch(text)
    if match is None or not any(match.group(unit) for unit in _UNIT_SECONDS):
        raise ValueError(
            f"{raw.strip()!r} is not a duration; use whole numbers with s, m or h, "
            "largest unit first, e.g. 20s, 5m, 1h or 1h30m"
        )
    seconds = sum(
        int(match.group(unit)) * factor
        for unit, factor in _UNIT_SECONDS.items()
        if match.group(unit) is not None
    )
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """Write a duration back in the form :func:`parse_duration` reads (``1h30m``, ``20s``, ``0s``).

    Sub-second parts are dropped; negative durations are written with a leading ``-`` (which
    :func:`parse_duration` does not accept).
    """
    total = int(value.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (seconds, "s")) if n]
    return sign + ("".join(parts) or "0s")


def parse_start(text: str, *, now: datetime, tz: tzinfo, allow_past: bool = False) -> datetime:
    """Parse a drive's start time; the result is an aware datetime in ``tz``.

    Accepted forms:

    * ``"now"`` (also 现在) — ``now`` itself, converted to ``tz``;
    * ``"HH:MM"`` or ``"HH:MM:SS"`` — that time today in ``tz``. A time up to
      :data:`PAST_GRACE` (one minute) in the past still means today (someone typed ``14:00``
      at 14:00:40); one further in the past is an error telling to give an ISO date-time for
      tomorrow — the bot never guesses "tomorrow";
    * an ISO-8601 date-time (``2022-04-10T14:00``, ``2022-04-10 14:00:00+08:00``,
      ``...Z``) — a naive value is read as local time in ``tz``; an aware one keeps its instant
      and is converted to ``tz``. Like ``HH:MM`` it may not lie more than a minute in the past
      unless ``allow_past`` is true.

    Args:
        text: what staff typed.
        now: the current time (aware); passed in so this stays pure.
        tz: the estate's local time zone (``LOUZHANG_TIMEZONE``).
        allow_past: accept ISO-8601 times further in the past (for replays and imports).

    Raises:
        ValueError: on a naive ``now``, an unreadable value, or a time already passed.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    local_now = now.astimezone(tz)
    raw = text.strip()
    norm = _normalise(text)
    if not norm:
        raise ValueError("empty start time; write now, HH:MM or an ISO-8601 date-time")
    if norm in _NOW_WORDS:
        return local_now

    clock = _CLOCK.fullmatch(norm)
    if clock is not None:
        hour, minute = int(clock["hour"]), int(clock["minute"])
        second = int(clock["second"] or 0)
        if hour > 23 or minute > 59 or second > 59:
            raise ValueError(f"{raw!r} is not a time of day; use HH:MM from 00:00 to 23:59")
        start = local_now.replace(hour=hour, minute=minute, second=second, microsecond=0)
        if local_now - start > PAST_GRACE:
            raise ValueError(
                f"{raw} has already passed today (it is now {local_now:%H:%M}); "
                f"give an ISO date-time for tomorrow, e.g. "
                f"{(local_now + timedelta(days=1)):%Y-%m-%d}T{hour:02d}:{minute:02d}"
            )
        return start

    iso = norm.upper()
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        raise ValueError(
            f"{raw!r} is not a start time; write now, HH:MM (today) or an ISO-8601 "
            "date-time such as 2022-04-10T14:00"
        ) from None
    if "T" not in iso and " " not in iso:
        raise ValueError(f"{raw!r} is a date without a time; write a date-time such as {iso}T14:00")
    start = parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed.astimezone(tz)
    if not allow_past and local_now - start > PAST_GRACE:
        raise ValueError(
            f"{raw} is in the past (it is now {local_now:%Y-%m-%d %H:%M}); "
            "give a time from now on, or write now"
        )
    return start
