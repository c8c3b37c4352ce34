"""Residents' voices recorded on calls, kept beside what they belong to.

* an answer said aloud (a drug name: ``surveys.keypad`` asks a text question with ``<Record>``):
  :func:`attach_answer` keeps the recording beside the response and the answer's path; the
  stored answer itself is ``"🎙 0:12"`` (``surveys.keypad.recording_value``);
* a message left for the building's officer when a resident calls in: :func:`leave_message`.

The audio stays at Twilio; staff play it through the dashboard (a scope-checked route that
fetches it, ``notifications.media.fetch_recording``) or get it in chat (with the pickup list).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from surveys.models import Recording

__all__ = [
    "RecordingRow",
    "attach_answer",
    "leave_message",
    "recent_messages",
    "recording_with_building",
    "round_recordings",
]


@dataclass(frozen=True, slots=True)
class RecordingRow:
    """One recording as staff see it: where it comes from and what it answers."""

    id: int
    building: int
    floor: int
    room: str
    path: str  # the answer's path ("medicines.1.drug"); "" for a message
    duration: int
    at: datetime
    url: str
    kind: str = "answer"
    round_id: int | None = None

    @property
    def question(self) -> str:
        """The question's name, without a repeat's item number (``medicines.drug``)."""
        parts = [p for p in self.path.split(".") if not p.isdigit()]
        return ".".join(parts)

    @property
    def item(self) -> int | None:
        numbers = [int(p) for p in self.path.split(".") if p.isdigit()]
        return numbers[0] if numbers else None


async def _keep(**values: Any) -> Recording:
    sid = str(values["sid"])
    found = await Recording.get_or_none(sid=sid)  # Twilio posted it again: one row
    if found is not None:
        return found
    return await Recording.create(**values)


async def attach_answer(
    *,
    response_id: int,
    household_id: int,
    path: str,
    call_sid: str,
    sid: str,
    url: str,
    duration: int,
    now: datetime,
) -> Recording:
    """Keep the recording of an answer (once per RecordingSid)."""
    return await _keep(
        response_id=response_id,
        household_id=household_id,
        kind="answer",
        path=path[:100],
        call_sid=call_sid,
        sid=sid,
        url=url,
        duration=max(0, int(duration)),
        at=now,
    )


async def leave_message(
    *, household_id: int, call_sid: str, sid: str, url: str, duration: int, now: datetime
) -> Recording:
    """Keep a message a resident left for the building's officer (once per RecordingSid)."""
    return await _keep(
        household_id=household_id,
        kind="message",
        call_sid=call_sid,
        sid=sid,
        url=url,
        duration=max(0, int(duration)),
        at=now,
    )


def _row(recording: Recording) -> RecordingRow:
    household = recording.household
    return RecordingRow(
        id=recording.id,
        building=household.building.number,
        floor=household.floor,
        room=household.room,
        path=recording.path,
        duration=recording.duration,
        at=recording.at,
        url=recording.url,
        kind=recording.kind,
        round_id=recording.response.round_id if recording.response else None,  # type: ignore[attr-defined]
    )


async def round_recordings(
    round_id: int, buildings: Sequence[int] | None = None, *, households: Sequence[int] = ()
) -> list[RecordingRow]:
    """The answers recorded in a round, by address (``buildings``: a staff member's; None:
    every one; ``households``: only these)."""
    query = Recording.filter(response__round_id=round_id, kind="answer")
    if buildings is not None:
        query = query.filter(household__building__number__in=list(buildings))
    if households:
        query = query.filter(household_id__in=list(households))
    found = await query.select_related("household__building", "response")
    rows = [_row(r) for r in found]
    rows.sort(key=lambda r: (r.building, r.floor, r.room, r.path, r.id))
    return rows


async def recent_messages(
    buildings: Sequence[int] | None = None, *, limit: int = 20
) -> list[RecordingRow]:
    """The latest messages residents left by phone (``buildings``: a staff member's)."""
    query = Recording.filter(kind="message")
    if buildings is not None:
        query = query.filter(household__building__number__in=list(buildings))
    found = await query.order_by("-at", "-id").limit(limit).select_related("household__building")
    return [_row(r) for r in found]


async def recording_with_building(recording_id: int) -> RecordingRow | None:
    """A recording, where it comes from and its round (to check a staff member's scope)."""
    found = (
        await Recording.filter(id=recording_id)
        .select_related("household__building", "response")
        .first()
    )
    return _row(found) if found is not None else None
