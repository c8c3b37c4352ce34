"""The service's timer loop: reminders before a round's deadline, and at the deadline the
not-reached list to each information officer.

Timers are rows (:class:`~notifications.models.Timer`), so they survive restarts and may be
created by the CLI in another process. A timer is claimed by moving it from ``pending`` to
``done`` in one UPDATE before it runs, so two processes never fire it both. The loop sleeps
on the service's clock (a fake clock in tests); :meth:`TimerLoop.run_due` runs one pass.
The round stays open after its deadline: officers call the not-reached households and
answer for them (``/answer``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from bot.staff.texts import TEXTS
from config.i18n import text
from estate.models import Staff
from notifications.message import Message
from notifications.models import Priority, Timer
from notifications.outbox import Outgoing, enqueue_many
from notifications.to_staff import staff_outgoing
from surveys.definition import load_definition, localize
from surveys.models import Round
from surveys.reminders import DEADLINE_KIND, REMINDER_KIND, Unanswered, remind_round, unanswered
from surveys.runtime import SurveyRuntime

if TYPE_CHECKING:
    from bot.staff.registry import StaffTools

log = logging.getLogger(__name__)

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
    def __init__(self, runtime: SurveyRuntime, tools: StaffTools, *, interval: float = 5.0) -> None:
        self.runtime = runtime
        self.tools = tools
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
        """Fire every timer of ours that is due. Returns how many fired."""
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
        targets = set(await self.tools.round_buildings(round_))
        officers = await Staff.filter(active=True, role="officer").prefetch_related(
            "scope__building"
        )
        missing = await unanswered(round_.id, targets)
        by_building: dict[int, list[Unanswered]] = {}
        for household in missing:
            by_building.setdefault(household.building, []).append(household)
        items: list[Outgoing] = []
        for officer in officers:
            for link in officer.scope:
                building = link.building.number
                if building not in targets:
                    continue
                bodies = unreached_messages(
                    round_, building, by_building.get(building, []), officer.language
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
