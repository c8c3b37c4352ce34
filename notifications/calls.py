"""The voice runtime: what a call says when Twilio asks, the keypad replies, and the call's end.

The web routes (bot/web/webhooks.py) check Twilio's signature and hand the POSTed parameters
here with the outbox id from the query string:

* :meth:`VoiceCalls.answer` (``POST /twilio/voice?o=``): the call was answered: the script of
  the outbox message (a call-up, a notice), or one short sentence for an answering machine.
* :meth:`VoiceCalls.gather` (``POST /twilio/voice/gather?o=&step=``): keypad digits. A drive
  call-up's 1/2/3 go to :meth:`DriveRuntime.reply`, the very code an SMS "1" or a Telegram
  button reaches, so the effects are the same (2 puts the household on the door-to-door list).
  Each (CallSid, step) has at most one effect (notifications/seen.py): Twilio's retry of the
  same request is answered but changes nothing.
* :meth:`VoiceCalls.status` (``POST /twilio/voice/status?o=``): the call's status moves the
  outbox row forwards only. A call that ended busy, unanswered, failed or on a machine is placed
  again (``LOUZHANG_VOICE_RETRIES`` times, a machine once), call-ups sooner; after the last try
  the household goes on its building staff's not-reached list with what happened.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from config.clock import Clock
from config.i18n import text
from config.settings import Settings
from estate.models import Contact, Household
from notifications.channels.voice import RETRIED_OUTCOMES, parse_call_status
from notifications.drives.models import DriveHousehold
from notifications.drives.runtime import DriveRuntime, building_staff
from notifications.drives.states import DriveState
from notifications.media import audio_of
from notifications.message import Message
from notifications.models import OutboxMessage, Priority
from notifications.outbox import Outgoing, enqueue_many
from notifications.seen import SeenMarks
from notifications.states import STATUS_ORDER
from notifications.to_staff import staff_outgoing
from notifications.voice_script import (
    VOICE_TEXTS,
    Hangup,
    Say,
    Script,
    ack_script,
    gather_again_script,
    outcome_summary,
    script_for,
)

log = logging.getLogger(__name__)

__all__ = ["CALL_KEY", "VoiceCalls", "next_try"]

#: ``Message.extra[CALL_KEY]``: ``{"try": n, "outcomes": [...]}`` of a call placed again.
CALL_KEY = "call"
DRIVE_STEP = "drive"


def next_try(outcomes: list[str], retries: int) -> bool:
    """After these outcomes (the last one just now), is the call placed again? Busy, no answer
    and failed calls are tried ``retries`` more times; an answering machine once more."""
    last = outcomes[-1]
    if last not in RETRIED_OUTCOMES:
        return False
    if last == "machine" and outcomes.count("machine") > 1:
        return False
    return len(outcomes) <= retries


def _retry_key(key: str, number: int) -> str:
    base = key.split("|call", 1)[0]
    suffix = f"|call{number}"
    return base[: 190 - len(suffix)] + suffix


class VoiceCalls:
    def __init__(
        self,
        *,
        clock: Clock,
        settings: Settings,
        drives: DriveRuntime | None,
        seen: SeenMarks | None = None,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.clock = clock
        self.settings = settings
        self.drives = drives
        self.seen = seen or SeenMarks()
        self.wake = wake  # the dispatcher's voice loop: a call ended, a slot is free
        # A media name -> the absolute, signed URL <Play> fetches (set by the composition root).
        self.media_url: Callable[[str], str] | None = None

    async def _row(self, outbox_id: int | None) -> tuple[OutboxMessage, Contact | None] | None:
        if outbox_id is None:
            return None
        row = await OutboxMessage.get_or_none(id=outbox_id)
        if row is None or row.channel != "voice":
            return None
        contact_id = row.contact_id  # type: ignore[attr-defined]
        contact = await Contact.get_or_none(id=contact_id) if contact_id else None
        return row, contact

    def _lang(self, row: OutboxMessage, contact: Contact | None) -> str:
        spec = (row.body.get("extra") or {}).get("voice") or {}
        return str(spec.get("lang") or (contact.language if contact else self.settings.language))

    # ---- the call is answered -----------------------------------------------------------------
    async def answer(self, outbox_id: int | None, params: Mapping[str, str]) -> Script:
        found = await self._row(outbox_id)
        if found is None:
            return (Hangup(),)
        row, contact = found
        audio = audio_of(row.body.get("extra"))
        audio_url = (
            self.media_url(audio["name"])
            if audio and audio.get("name") and self.media_url
            else None
        )
        return script_for(
            row.body,
            row.id,
            answered_by=params.get("AnsweredBy", ""),
            default_lang=self._lang(row, contact),
            audio_url=audio_url,
        )

    # ---- keypad -----------------------------------------------------------------------------
    async def gather(self, outbox_id: int | None, step: str, params: Mapping[str, str]) -> Script:
        found = await self._row(outbox_id)
        if found is None:
            return (Hangup(),)
        row, contact = found
        lang = self._lang(row, contact)
        digits = params.get("Digits", "").strip()
        if step != DRIVE_STEP or contact is None:
            return (Say(text(VOICE_TEXTS, "goodbye", lang), lang), Hangup())
        if digits not in ("1", "2", "3"):
            return gather_again_script(lang, row.id, step)
        call_sid = params.get("CallSid", "")
        key = f"{call_sid}:{step}"
        if call_sid and not await self.seen.first_time("voice", key, now=self.clock.now()):
            log.info("call step %s again (a provider retry): handled already", step)
            return ack_script(text(VOICE_TEXTS, "noted", lang), lang)
        spec = (row.body.get("extra") or {}).get("voice") or {}
        try:
            ack = await self._reply(contact, int(digits), spec)
        except BaseException:
            if call_sid:
                await self.seen.forget("voice", key)  # Twilio's retry handles it
            raise
        said = ack.text if ack is not None else text(VOICE_TEXTS, "noted", lang)
        return ack_script(said, lang)

    async def _reply(self, contact: Contact, value: int, spec: Mapping[str, Any]) -> Message | None:
        if self.drives is None:
            return None
        part = spec.get("part")
        return await self.drives.reply(contact, value, part_id=int(part) if part else None)

    # ---- the call's status --------------------------------------------------------------------
    async def status(self, outbox_id: int | None, params: Mapping[str, str]) -> bool:
        """Record a call status callback; True when it moved the outbox row."""
        update = parse_call_status(params)
        found = await self._row(outbox_id)
        if update is None or found is None:
            return False
        row, contact = found
        if row.provider_id and row.provider_id != update.call_sid:
            return False  # not the call this row placed
        now = self.clock.now()
        rank = STATUS_ORDER.get(update.status, 0)
        earlier = [name for name, order in STATUS_ORDER.items() if order < rank]
        changes: dict[str, object] = {
            "status": update.status,
            "updated_at": now,
            "provider_id": update.call_sid,
        }
        if update.final and update.outcome != "answered":
            changes["error_code"] = update.outcome
            changes["error"] = f"call {update.outcome}"
        moved = await OutboxMessage.filter(id=row.id, status__in=earlier).update(**changes)
        if not moved:
            # Same rank (ringing after initiated): the call is still alive, note the time.
            if not update.final:
                await OutboxMessage.filter(id=row.id, status=update.status).update(updated_at=now)
            return False
        if update.final:
            self.wake()
            log.info("call for outbox %d ended: %s", row.id, update.outcome)
            if update.outcome in RETRIED_OUTCOMES:
                await self._unanswered(row, contact, update.outcome, now)
        return True

    async def _unanswered(
        self, row: OutboxMessage, contact: Contact | None, outcome: str, now: datetime
    ) -> None:
        extra = dict(row.body.get("extra") or {})
        extra.pop("outbox_id", None)
        tries = dict(extra.get(CALL_KEY) or {})
        outcomes = [*tries.get("outcomes", []), outcome]
        spec = extra.get("voice") or {}
        if not await self._still_wanted(spec):
            return
        if (
            contact is not None
            and contact.status == "active"
            and next_try(outcomes, self.settings.voice_retries)
        ):
            callup = row.purpose == "callup"
            delay = (
                self.settings.voice_callup_retry_after
                if callup
                else self.settings.voice_retry_after
            )
            extra[CALL_KEY] = {"try": len(outcomes) + 1, "outcomes": outcomes}
            message = Message.from_json({**row.body, "extra": extra})
            await enqueue_many(
                [
                    Outgoing(
                        contact=contact,
                        message=message,
                        key=_retry_key(row.idempotency_key, len(outcomes) + 1),
                        priority=Priority(row.priority),
                        purpose=row.purpose,
                        ref=row.ref,
                        not_before=now + timedelta(seconds=delay),
                        expires_at=row.expires_at,
                    )
                ],
                now=now,
            )
            return
        if spec.get("step") == "ready":
            return  # "come down now" follows: that is the call that must reach them
        await self._not_reached(row, outcomes, now)

    async def _still_wanted(self, spec: Mapping[str, Any]) -> bool:
        """A call-up is not tried again once the household answered or the drive ended."""
        part_id = spec.get("part")
        if not part_id:
            return True
        part = await DriveHousehold.get_or_none(id=int(part_id)).select_related("drive")
        if part is None or part.drive.status != DriveState.RUNNING:
            return False
        return part.reply is None and part.marked_by is None and not part.door_reason

    async def _not_reached(self, row: OutboxMessage, outcomes: list[str], now: datetime) -> None:
        """The last try failed: the building's staff get the household with what happened."""
        household_id = row.household_id  # type: ignore[attr-defined]
        household = (
            await Household.get_or_none(id=household_id).select_related("building")
            if household_id
            else None
        )
        summary = outcome_summary(outcomes, "en")
        await OutboxMessage.filter(id=row.id).update(error=f"not reached: {summary}"[:300])
        if household is None:
            return
        building = household.building.number
        items: list[Outgoing] = []
        for member in await building_staff(building):
            if member.role == "point":
                continue
            item = staff_outgoing(
                member,
                Message(
                    text(
                        VOICE_TEXTS,
                        "not_reached",
                        member.language,
                        building=building,
                        room=household.room,
                        outcomes=outcome_summary(outcomes, member.language),
                    )
                ),
                key=f"voice:not_reached:{row.id}:s{member.id}",
                ref=f"voice:not_reached:h{household.id}",
                purpose="not_reached",
            )
            if item is not None:
                items.append(item)
        await enqueue_many(items, now=now)
        log.info("household of building %d not reached by phone (%s)", building, summary)
