"""Alerts from survey answers (``alerts:`` of a definition, e.g. a positive antigen test) go at
once to the building's cadre(s) and every admin: the address and how many are positive.

A household that revises its answers completes again and the engine raises the alert again;
the outbox idempotency key (one per response, alert kind and staff member) keeps it to one
message each.
"""

from __future__ import annotations

import logging

from bot.staff.registry import StaffTools
from bot.staff.texts import TEXTS
from config.i18n import text
from estate.models import Household, Staff
from notifications.message import Message
from notifications.models import Priority
from notifications.outbox import Outgoing, enqueue_many
from notifications.to_staff import staff_outgoing
from surveys import engine
from surveys.models import Response

log = logging.getLogger(__name__)


class StaffAlerts:
    def __init__(self, tools: StaffTools) -> None:
        self.tools = tools

    async def __call__(self, response: Response, alert: engine.Alert) -> None:
        household = await Household.get(id=response.household_id).select_related("building")  # type: ignore[attr-defined]
        building = household.building.number
        address = f"{building}-{household.room}"
        admins = await Staff.filter(active=True, role="admin")
        cadres = await Staff.filter(
            active=True, role="cadre", scope__building__number=building
        ).distinct()
        values = alert.data.get("values", {})
        items: list[Outgoing] = []
        for staff in {s.id: s for s in [*cadres, *admins]}.values():
            if alert.kind == "positive_antigen":
                body = text(
                    TEXTS,
                    "alert_positive",
                    staff.language,
                    address=address,
                    positive=values.get("positive", "?"),
                    tested=(response.answers or {}).get("tested", "?"),
                )
            else:
                body = text(TEXTS, "alert_other", staff.language, kind=alert.kind, address=address)
            item = staff_outgoing(
                staff,
                Message(body),
                key=f"alert:{response.id}:{alert.kind}:s{staff.id}",
                priority=Priority.REPLY,
                purpose="alert",
            )
            if item is not None:
                items.append(item)
        await enqueue_many(items, now=self.tools.clock.now())
        self.tools.runtime.wake()
        log.info("alert %s on response %d for %d staff", alert.kind, response.id, len(items))
