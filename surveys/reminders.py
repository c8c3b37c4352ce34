"""Reminders to households that have not finished a round, and the not-reached list.

A round with a deadline gets durable :class:`~notifications.models.Timer` rows: one reminder per
entry of ``Round.reminders`` (seconds before ``closes_at``) and one ``round_deadline`` at
``closes_at``. The service's timer loop (:class:`TimerLoop`) fires them; ``/remind`` calls
:func:`remind_round` at once. A reminder repeats the household's current question with a line
saying when the round closes; households that answered, that wait for another round, or that
have no reachable contact get nothing. Each reminder has its own idempotency key, so a timer
fired twice never reminds twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from config.clock import CLOCK_TIME, local_time
from config.i18n import text
from estate.access import in_scope
from estate.models import Household, Person, Staff
from notifications.message import Message
from notifications.models import Priority, Timer
from notifications.outbox import Outgoing, enqueue_many
from notifications.to_staff import staff_outgoing
from surveys.definition import load_definition, localize
from surveys.engine import Ask, SessionState, question_at
from surveys.models import Response, Round
from surveys.progress import round_buildings
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
    # ---- the not-reached list (to information officers, at the deadline) -----------------
    "unreached_header": {
        "zh-CN": "⏱ 第{round}轮「{title}」已到截止时间。{building}号楼未填报 {count} 户，请电话联系"
        "（可用 /answer 代填）：",
        "en": "⏱ Round {round} “{title}” reached its deadline. Building {building}: {count} "
        "households did not answer; please call them (use /answer to answer for them):",
    },
    "unreached_all_done": {
        "zh-CN": "✅ 第{round}轮「{title}」已到截止时间，{building}号楼全部已填报。",
        "en": "✅ Round {round} “{title}” reached its deadline; every household of building "
        "{building} answered.",
    },
    "status_not_reached": {"zh-CN": "未联系上", "en": "not reached"},
    "status_in_progress": {"zh-CN": "未填完", "en": "not finished"},
    "status_opted_out": {"zh-CN": "已退订", "en": "opted out"},
    "no_phone": {"zh-CN": "无电话", "en": "no phone"},
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
    estate: int | None = None,
) -> int:
    """Repeat the current question to every household of the round (in ``buildings`` of
    ``estate``, if given) that has not finished. Returns how many reminders were queued."""
    round_ = await Round.get_or_none(id=round_id, status=RoundStatus.OPEN)
    if round_ is None:
        return 0
    defn = await runtime.definition(round_id)
    query = Response.filter(
        round_id=round_id, stage=ResponseStage.ACTIVE, **in_scope(estate, "household__building__")
    ).exclude(status=ResponseStatus.ANSWERED)
    if buildings is not None:
        query = query.filter(household__building__number__in=list(buildings))
    responses = await query.prefetch_related("household__contacts")
    now = runtime.clock.now()
    deadline = local_time(round_.closes_at, runtime.tz, CLOCK_TIME, empty="")
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
        asked = (  # a voice household is called again: the call asks the open question
            runtime._call_message(defn, response.id, ask, contact)
            if contact.channel == "voice"
            else runtime._ask_message(defn, response.id, ask, contact, header=False)
        )
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
    estate: int = 0  # the estate's id (building numbers repeat across estates)
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
                estate=household.building.estate_id,  # type: ignore[attr-defined]
                phones=[p.phone for p in members if p.phone],
                names=[p.name for p in members],
            )
        )
    out.sort(key=lambda u: (u.building, u.floor, u.room))
    return out


# ---- the timer loop --------------------------------------------------------------------------
# Timers are rows, so they survive restarts and may be created by the CLI in another process. A
# timer is claimed by moving it from ``pending`` to ``done`` in one UPDATE before it runs, so two
# processes never fire it both. The loop sleeps on the service's clock (a fake clock in tests);
# :meth:`TimerLoop.run_due` runs one pass. The round stays open after its deadline: officers
# call the not-reached households and answer for them (``/answer``).

KINDS = (REMINDER_KIND, DEADLINE_KIND)
MAX_CHARS = 3500  # a Telegram message holds 4096


def unreached_messages(
    round_: Round, building: int, households: list[Unanswered], lang: str
) -> list[str]:
    """The not-reached list of one building, split into messages that fit Telegram."""
    title = localize(load_definition(round_.definition).title, lang)
    if not households:
        return [
            text(TEXTS, "unreached_all_done", lang, round=round_.id, title=title, building=building)
        ]
    lines = [
        text(
            TEXTS,
            "unreached_header",
            lang,
            round=round_.id,
            title=title,
            building=building,
            count=len(households),
        )
    ]
    for h in households:
        phones = " ".join(h.phones) or text(TEXTS, "no_phone", lang)
        names = "、".join(h.names)
        status = text(TEXTS, f"status_{h.status}", lang)
        lines.append(f"{h.address} {names} {phones} ({status})")
    messages: list[str] = []
    current = ""
    for line in lines:
        if current and len(current) + len(line) + 1 > MAX_CHARS:
            messages.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    messages.append(current)
    return messages


class TimerLoop:
    """Reminders before a round's deadline, and at the deadline the not-reached list to each
    information officer."""

    def __init__(self, runtime: SurveyRuntime, *, interval: float = 5.0) -> None:
        self.runtime = runtime
        self.clock = runtime.clock
        self.interval = interval
        self.passes = 0  # passes of the background loop (tests wait on it)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_due()
            except Exception:
                log.exception("timer pass failed")
            self.passes += 1
            sleeper = asyncio.ensure_future(self.clock.sleep(self.interval))
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
            for task in (sleeper, stopper):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def run_due(self) -> int:
        """Fire every timer of ours that is due. Returns how many fired. Households quiet in
        an older round get a newer one waiting for them (:meth:`SurveyRuntime.start_newer_rounds`)."""
        try:
            await self.runtime.start_newer_rounds()
        except Exception:
            log.exception("starting newer rounds failed")
        now = self.clock.now()
        due = (
            await Timer.filter(status="pending", kind__in=KINDS, due_at__lte=now)
            .order_by("due_at", "id")
            .limit(100)
        )
        fired = 0
        for timer in due:
            if not await Timer.filter(id=timer.id, status="pending").update(status="done"):
                continue  # another process took it
            fired += 1
            try:
                if timer.kind == REMINDER_KIND:
                    await self.reminder(timer)
                else:
                    await self.deadline(timer)
            except Exception:
                log.exception("timer %s failed", timer.key)
        return fired

    async def reminder(self, timer: Timer) -> None:
        round_id = int(timer.payload["round"])
        await remind_round(self.runtime, round_id, tag=f"auto{timer.payload.get('before', '')}")

    async def deadline(self, timer: Timer) -> None:
        """Each information officer gets their building's households that did not answer."""
        round_ = await Round.get_or_none(id=int(timer.payload["round"]))
        if round_ is None or round_.status != "open":
            return
        targets = set(await round_buildings(round_))
        officers = await Staff.filter(active=True, role="officer").prefetch_related(
            "scope__building"
        )
        missing = await unanswered(round_.id, targets)
        by_building: dict[tuple[int, int], list[Unanswered]] = {}  # by (estate, building)
        for household in missing:
            by_building.setdefault((household.estate, household.building), []).append(household)
        items: list[Outgoing] = []
        for officer in officers:
            for link in officer.scope:
                building = link.building.number
                estate = link.building.estate_id  # type: ignore[attr-defined]
                if building not in targets or round_.estate_id not in (None, estate):
                    continue
                bodies = unreached_messages(
                    round_,
                    building,
                    by_building.get((estate, building), []),
                    officer.language,
                )
                for n, body in enumerate(bodies):
                    item = staff_outgoing(
                        officer,
                        Message(body),
                        key=f"deadline:{round_.id}:s{officer.id}:b{building}:{n}",
                        priority=Priority.REMINDER,
                        purpose="staff",
                    )
                    if item is not None:
                        items.append(item)
        await enqueue_many(items, now=self.clock.now())
        self.runtime.wake()
        log.info(
            "round %d deadline: %d households not answered; %d messages to officers",
            round_.id, len(missing), len(items),
        )  # fmt: skip
