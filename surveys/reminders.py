"""Reminders to households that have not finished a round, and the not-reached list.

A round with a deadline gets durable :class:`~notifications.models.Timer` rows: one reminder per
entry of ``Round.reminders`` (seconds before ``closes_at``) and one ``round_deadline`` at
``closes_at``. The service's timer loop (``bot/staff_timers.py``) fires them; ``/remind`` calls
:func:`remind_round` at once. A reminder repeats the household's current question with a line
saying when the round closes; households that answered, that wait for another round, or that
have no reachable contact get nothing. Each reminder has its own idempotency key, so a timer
fired twice never reminds twice.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from config.i18n import text
from estate.models import Household, Person
from notifications.models import Priority, Timer
from notifications.outbox import Outgoing, enqueue_many
from surveys.definition import localize
from surveys.engine import Ask, SessionState, question_at
from surveys.models import Response, Round
from surveys.runtime import SurveyRuntime, pick_contact
from surveys.states import ResponseStage, ResponseStatus, RoundStatus

log = logging.getLogger(__name__)

DEFAULT_REMINDERS = (7200, 1800)  # 2 h and 30 min before the deadline
REMINDER_KIND = "round_reminder"
DEADLINE_KIND = "round_deadline"

TEXTS: dict[str, dict[str, str]] = {
    "reminder": {
        "zh-CN": "⏰ 提醒：「{title}」还没有填完，请在 {deadline} 前回复。",
        "en": "⏰ Reminder: “{title}” is not finished yet; please reply before {deadline}.",
    },
    "reminder_no_deadline": {
        "zh-CN": "⏰ 提醒：「{title}」还没有填完，请尽快回复。",
        "en": "⏰ Reminder: “{title}” is not finished yet; please reply soon.",
    },
}


async def schedule_round(round_: Round, reminders: Sequence[int] | None, *, now: datetime) -> int:
    """Store the round's reminder offsets and create its timers (none without a deadline).
    ``None`` means the defaults; offsets already past are skipped. Returns timers created."""
    offsets = sorted({int(s) for s in (DEFAULT_REMINDERS if reminders is None else reminders)})
    offsets.reverse()
    round_.reminders = offsets
    await Round.filter(id=round_.id).update(reminders=offsets)
    if round_.closes_at is None:
        return 0
    timers = [
        Timer(
            key=f"round:{round_.id}:remind:{s}",
            kind=REMINDER_KIND,
            due_at=round_.closes_at - timedelta(seconds=s),
            payload={"round": round_.id, "before": s},
        )
        for s in offsets
        if round_.closes_at - timedelta(seconds=s) > now
    ]
    timers.append(
        Timer(
            key=f"round:{round_.id}:deadline",
            kind=DEADLINE_KIND,
            due_at=round_.closes_at,
            payload={"round": round_.id},
        )
    )
    await Timer.bulk_create(timers, ignore_conflicts=True)
    return len(timers)


async def remind_round(
    runtime: SurveyRuntime,
    round_id: int,
    *,
    buildings: Collection[int] | None = None,
    tag: str,
) -> int:
    """Repeat the current question to every household of the round (in ``buildings``, if
    given) that has not finished. Returns how many reminders were queued."""
    round_ = await Round.get_or_none(id=round_id, status=RoundStatus.OPEN)
    if round_ is None:
        return 0
    defn = await runtime.definition(round_id)
    query = Response.filter(round_id=round_id, stage=ResponseStage.ACTIVE).exclude(
        status=ResponseStatus.ANSWERED
    )
    if buildings is not None:
        query = query.filter(household__building__number__in=list(buildings))
    responses = await query.prefetch_related("household__contacts")
    now = runtime.clock.now()
    deadline = round_.closes_at.astimezone(runtime.tz).strftime("%H:%M") if round_.closes_at else ""
    items: list[Outgoing] = []
    for response in responses:
        household: Household = response.household
        contact = pick_contact(household, household.contacts, runtime.enabled)
        if contact is None or response.state is None:
            continue
        state = SessionState.from_json(response.state)
        question = question_at(defn, state.cursor)
        if question is None:
            continue
        ask = Ask(
            path=state.cursor,  # type: ignore[arg-type]
            question=question,
            seq=state.seq,
            selected=state.pending,
            can_back=bool(state.history),
        )
        lang = contact.language
        title = localize(defn.title, lang)
        note = (
            text(TEXTS, "reminder", lang, title=title, deadline=deadline)
            if deadline
            else text(TEXTS, "reminder_no_deadline", lang, title=title)
        )
        asked = runtime._ask_message(defn, response.id, ask, contact, header=False)
        message = type(asked)(f"{note}\n\n{asked.text}", asked.buttons, extra=asked.extra)
        items.append(
            Outgoing(
                contact=contact,
                message=message,
                key=f"remind:{round_id}:{tag}:{response.id}",
                priority=Priority.REMINDER,
                purpose="reminder",
                ref=f"response:{response.id}",
            )
        )
    await enqueue_many(items, now=now)
    if items:
        runtime.wake()
    log.info("round %d: %d reminders queued (%s)", round_id, len(items), tag)
    return len(items)


@dataclass
class Unanswered:
    """A household of the round that did not answer, with the numbers to call."""

    building: int
    floor: int
    room: str
    status: str  # not_reached | in_progress | opted_out
    phones: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"{self.building}-{self.room}"


async def unanswered(round_id: int, buildings: Collection[int] | None = None) -> list[Unanswered]:
    """The round's households that did not answer, by building, floor and room."""
    query = Response.filter(round_id=round_id).exclude(status=ResponseStatus.ANSWERED)
    if buildings is not None:
        query = query.filter(household__building__number__in=list(buildings))
    responses = await query.prefetch_related("household__building", "household__contacts")
    people: dict[int, list[Person]] = {}
    for person in await Person.filter(
        household_id__in=[r.household_id for r in responses]  # type: ignore[attr-defined]
    ).order_by("id"):
        people.setdefault(person.household_id, []).append(person)  # type: ignore[attr-defined]
    out = []
    for response in responses:
        household = response.household
        states = {c.status for c in household.contacts}
        if states and states <= {"opted_out"}:
            status = ResponseStatus.OPTED_OUT
        elif response.status == ResponseStatus.IN_PROGRESS:
            status = ResponseStatus.IN_PROGRESS
        else:
            status = ResponseStatus.NOT_REACHED
        members = people.get(household.id, [])
        out.append(
            Unanswered(
                building=household.building.number,
                floor=household.floor,
                room=household.room,
                status=status,
                phones=[p.phone for p in members if p.phone],
                names=[p.name for p in members],
            )
        )
    out.sort(key=lambda u: (u.building, u.floor, u.room))
    return out
