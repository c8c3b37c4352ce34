"""Alerts from survey answers (``alerts:`` of a definition, e.g. a positive antigen test) go at
once to the building's cadre(s) and every admin: the address and what was answered.

The text of an alert kind is ``alert_<kind>`` of :data:`TEXTS`, filled with the household's
answers (``?`` for one it lacks); a kind without its own text gets ``alert_other``.
A household that revises its answers completes again and the engine raises the alert again;
the outbox idempotency key (one per response, alert kind and staff member) keeps it to one
message each.
"""

from __future__ import annotations

import logging
import string
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from config.clock import Clock
from config.i18n import text
from estate.models import Household, Staff
from notifications.message import Message
from notifications.models import OutboxMessage, Priority
from notifications.outbox import Outgoing, enqueue_many
from notifications.to_staff import staff_outgoing
from surveys.engine import walk as engine
from surveys.models import Response

log = logging.getLogger(__name__)

TEXTS: dict[str, dict[str, str]] = {
    "alert_positive_antigen": {
        "zh-CN": "🚨 阳性报告：{address}，{positive} 人阳性（共检测 {tested} 人）。",
        "en": "🚨 Positive antigen result: {address}, {positive} positive ({tested} tested).",
    },
    "alert_other": {
        "zh-CN": "🚨 提醒（{kind}）：{address}。",
        "en": "🚨 Alert ({kind}): {address}.",
    },
}


class _Answers(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def alert_text(kind: str, lang: str, address: str, values: Mapping[str, Any]) -> str:
    """The staff message of one alert; ``values`` are the answers it may quote."""
    key = f"alert_{kind}"
    if key not in TEXTS:
        return text(TEXTS, "alert_other", lang, kind=kind, address=address)
    entry = TEXTS[key]
    template = entry.get(lang) or entry["zh-CN"]
    fields = _Answers(
        {
            name: value
            for name, value in values.items()
            if value is not None and isinstance(name, str)
        }
    )
    fields.update(kind=kind, address=address)
    return string.Formatter().vformat(template, (), fields)


class StaffAlerts:
    """The runtime's alert hook: one message per alert to each cadre of the building and
    each admin."""

    def __init__(self, clock: Clock, wake: Callable[[], None]) -> None:
        self.clock = clock
        self.wake = wake

    async def __call__(self, response: Response, alert: engine.Alert) -> None:
        household = await Household.get(id=response.household_id).select_related("building")  # type: ignore[attr-defined]
        building = household.building.number
        address = f"{building}-{household.room}"
        admins = await Staff.filter(active=True, role="admin")
        cadres = await Staff.filter(  # of this very building: numbers repeat across estates
            active=True, role="cadre", scope__building_id=household.building.id
        ).distinct()
        values = {**(response.answers or {}), **alert.data.get("values", {})}
        items: list[Outgoing] = []
        for staff in {s.id: s for s in [*cadres, *admins]}.values():
            item = staff_outgoing(
                staff,
                Message(alert_text(alert.kind, staff.language, address, values)),
                key=f"alert:{response.id}:{alert.kind}:s{staff.id}",
                priority=Priority.REPLY,
                purpose="alert",
            )
            if item is not None:
                items.append(item)
        await enqueue_many(items, now=self.clock.now())
        self.wake()
        log.info("alert %s on response %d for %d staff", alert.kind, response.id, len(items))


# ---- what the dashboard shows: every alert of some buildings, with who was told ----------------
@dataclass
class Told:
    name: str
    channel: str  # telegram | sms
    status: str  # the outbox status: queued, sent, delivered, failed ...


@dataclass
class SentAlert:
    at: datetime
    round_id: int
    building: int
    room: str
    text: str
    told: list[Told] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"{self.building}-{self.room}"


async def alerts_sent(
    buildings: Collection[int] | None, lang: str, *, limit: int = 50
) -> list[SentAlert]:
    """The newest alerts of ``buildings`` (None: every building), newest first: when, the
    household, the alert in ``lang`` and each staff member told (by Telegram or SMS)."""
    rows = (
        await OutboxMessage.filter(purpose="alert", idempotency_key__startswith="alert:")
        .order_by("-id")
        .limit(2000)
        .values("idempotency_key", "created_at", "channel", "status")
    )
    grouped: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for row in rows:
        parts = str(row["idempotency_key"]).split(":")
        if len(parts) != 4 or not parts[1].isdigit() or not parts[3][1:].isdigit():
            continue
        row["staff_id"] = int(parts[3][1:])
        grouped.setdefault((int(parts[1]), parts[2]), []).append(row)
    responses = {
        r.id: r
        for r in await Response.filter(id__in=[k[0] for k in grouped]).select_related(
            "household__building"
        )
    }
    names = dict(
        await Staff.filter(
            id__in={r["staff_id"] for rs in grouped.values() for r in rs}
        ).values_list("id", "name")
    )
    out: list[SentAlert] = []
    for (response_id, kind), told in grouped.items():
        response = responses.get(response_id)
        if response is None:
            continue
        household = response.household
        number = household.building.number
        if buildings is not None and number not in buildings:
            continue
        address = f"{number}-{household.room}"
        out.append(
            SentAlert(
                at=min(r["created_at"] for r in told),
                round_id=response.round_id,  # type: ignore[attr-defined]
                building=number,
                room=household.room,
                text=alert_text(kind, lang, address, response.answers or {}),
                told=[
                    Told(names.get(r["staff_id"], "?"), r["channel"], r["status"])
                    for r in sorted(told, key=lambda r: str(names.get(r["staff_id"], "")))
                ],
            )
        )
    out.sort(key=lambda a: a.at, reverse=True)
    return out[:limit]
