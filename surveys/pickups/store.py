"""Medicine pickups on the database: the lists of the latest ``medication`` round, the marks
logistics makes (card collected, delivered) and the household's "at your door" message.

The list logic itself is pure (:mod:`surveys.pickups.lists`); this module only loads and stores.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from config.i18n import text
from estate.access import Scope, in_scope
from estate.contacts import is_private_chat
from estate.models import Contact, Household, Staff, StaffBuilding
from notifications.message import Message
from notifications.models import Priority
from notifications.outbox import Outgoing, enqueue_many
from surveys.models import Response, Round
from surveys.pickups.lists import XLSX_COLUMNS, Answered, Mark, PickupList, build_lists, table_rows
from surveys.pickups.models import PickupMark
from surveys.pickups.texts import TEXTS
from surveys.report import write_xlsx
from surveys.runtime import pick_contact
from surveys.states import ResponseStatus

log = logging.getLogger(__name__)

SURVEY = "medication"


async def latest_rounds(
    buildings: Sequence[int], *, estate: int | None = None
) -> dict[int, list[int]]:
    """The latest medication round of each building (a round of ``estate`` or of every
    estate, when given), as ``{round_id: [building, ...]}`` (a building no medication round
    covered is left out)."""
    query = Round.filter(survey=SURVEY)
    if estate is not None:
        query = query.filter(Q(estate_id=None) | Q(estate_id=estate))
    rounds = await query.order_by("-id").values("id", "buildings")
    out: dict[int, list[int]] = {}
    for number in buildings:
        for r in rounds:
            if not r["buildings"] or number in r["buildings"]:
                out.setdefault(r["id"], []).append(number)
                break
    return out


async def load_lists(
    round_id: int, buildings: Sequence[int] | None = None, *, estate: int | None = None
) -> list[PickupList]:
    """The pickup lists of one round (answered households only, of ``estate`` when given),
    one per building."""
    query = Response.filter(
        round_id=round_id,
        status=ResponseStatus.ANSWERED,
        **in_scope(estate, "household__building__"),
    )
    if buildings is not None:
        query = query.filter(household__building__number__in=list(buildings))
    rows = await query.values(
        "id", "answers", "household__floor", "household__room", "household__building__number"
    )
    answered = [
        Answered(
            r["id"],
            r["household__building__number"],
            r["household__floor"],
            r["household__room"],
            r["answers"] or {},
        )
        for r in rows
        if (r["answers"] or {}).get("needs_medicine") == "yes"
    ]
    marks: dict[tuple[int, int], Mark] = {}
    if answered:
        for response_id, item, card_at, delivered_at in await PickupMark.filter(
            response_id__in=[a.response_id for a in answered]
        ).values_list("response_id", "item", "card_collected_at", "delivered_at"):
            marks[(response_id, item)] = Mark(card_at is not None, delivered_at is not None)
    return build_lists(answered, marks, buildings=buildings)


async def lists_for(
    buildings: Sequence[int], *, estate: int | None = None
) -> list[tuple[int, PickupList]]:
    """(round id, list) for each building (of ``estate``, when given), each from its own
    latest medication round."""
    out: list[tuple[int, PickupList]] = []
    for round_id, numbers in (await latest_rounds(buildings, estate=estate)).items():
        out.extend(
            (round_id, plist) for plist in await load_lists(round_id, numbers, estate=estate)
        )
    return sorted(out, key=lambda pair: pair[1].building)


def xlsx_bytes(lists: Sequence[PickupList], title: str = "pickup") -> bytes:
    buffer = io.BytesIO()
    write_xlsx(buffer, XLSX_COLUMNS, table_rows(lists), title)
    return buffer.getvalue()


async def on_duty_names(
    buildings: Sequence[int], shift: str | None, *, estate: int | None = None
) -> dict[int, list[str]]:
    """Names of the logistics staff of each building (of ``estate``, when given; of one
    shift, or of both)."""
    query = StaffBuilding.filter(
        building__number__in=list(buildings),
        staff__role="logistics",
        staff__active=True,
        **in_scope(estate),
    )
    if shift is not None:
        query = query.filter(staff__shift=shift)
    names: dict[int, list[str]] = {}
    for number, name in await query.order_by("staff__name").values_list(
        "building__number", "staff__name"
    ):
        names.setdefault(number, []).append(name)
    return names


class MarkResult(Enum):
    DONE = "done"
    ALREADY = "already"
    GONE = "gone"
    REFUSED = "refused"


@dataclass
class MarkOutcome:
    result: MarkResult
    building: int = 0
    address: str = ""


async def mark_item(
    *,
    kind: str,
    response_id: int,
    item: int,
    staff: Staff,
    scope: Scope,
    now: datetime,
    enabled: set[str],
) -> MarkOutcome:
    """Mark one medicine card-collected (``kind="c"``) or delivered (``"d"``). A delivery is
    told to the household (its preferred channel, its language) in the same transaction."""
    response = await Response.get_or_none(id=response_id).select_related("household__building")
    if response is None:
        return MarkOutcome(MarkResult.GONE)
    household: Household = response.household
    building = household.building.number
    address = f"{building}-{household.room}"
    if not scope.allows(building) or not scope.allows_estate(household.building.estate_id):  # type: ignore[attr-defined]
        return MarkOutcome(MarkResult.REFUSED, building, address)
    medicines = (response.answers or {}).get("medicines")
    if not isinstance(medicines, list) or not 1 <= item <= len(medicines):
        return MarkOutcome(MarkResult.GONE, building, address)
    contacts = await Contact.filter(household_id=household.id)
    async with in_transaction() as conn:
        mark, _ = await PickupMark.get_or_create(response_id=response_id, item=item, using_db=conn)
        if kind == "c":
            changed = (
                await PickupMark.filter(id=mark.id, card_collected_at=None)
                .using_db(conn)
                .update(card_collected_at=now, card_collected_by=staff.name)
            )
        else:
            changed = (
                await PickupMark.filter(id=mark.id, delivered_at=None)
                .using_db(conn)
                .update(delivered_at=now, delivered_by=staff.name)
            )
            contact = pick_contact(household, contacts, enabled) if changed else None
            if contact is not None:
                entry = medicines[item - 1]
                drug = str(entry.get("drug", "")) if isinstance(entry, dict) else ""
                message = Message(text(TEXTS, "pk_at_door", contact.language, drugs=drug))
                await enqueue_many(
                    [
                        Outgoing(
                            contact=contact,
                            message=message,
                            key=f"pickup:{response_id}:{item}:delivered",
                            priority=Priority.REPLY,
                            purpose="pickup",
                            ref=f"response:{response_id}",
                        )
                    ],
                    now=now,
                    using_db=conn,
                )
    if not changed:
        return MarkOutcome(MarkResult.ALREADY, building, address)
    log.info("pickup mark %s on response %d item %d", kind, response_id, item)
    return MarkOutcome(MarkResult.DONE, building, address)


async def logistics_of(buildings: Sequence[int], *, estate: int | None = None) -> list[Staff]:
    """Every active logistics staff member (both shifts) of these buildings (of ``estate``,
    when given)."""
    ids = await StaffBuilding.filter(
        building__number__in=list(buildings),
        staff__role="logistics",
        staff__active=True,
        **in_scope(estate),
    ).values_list("staff_id", flat=True)
    return await Staff.filter(id__in=list(set(ids))).order_by("name")


async def call_both_shifts(
    buildings: Sequence[int], *, by: Staff, note: str, now: datetime, estate: int | None = None
) -> int:
    """Message every logistics staff member (shifts A and B) of the buildings (of ``estate``,
    when given) about a large delivery, with the open totals of the pickup lists. Returns how
    many were told."""
    lists = [plist for _, plist in await lists_for(buildings, estate=estate)]
    households = sum(len(p.households) for p in lists)
    items = sum(p.open_items for p in lists)
    staff = await logistics_of(buildings, estate=estate)
    names = ",".join(str(b) for b in sorted(buildings))
    outgoing: list[Outgoing] = []
    for person in staff:
        if is_private_chat(person.telegram_chat_id):
            channel, address = "telegram", str(person.telegram_chat_id)
        elif person.phone:
            channel, address = "sms", person.phone
        else:
            continue
        message = Message(
            text(
                TEXTS,
                "delivery_call",
                person.language,
                buildings=names,
                households=households,
                items=items,
                note=f"{note} " if note else "",
                by=by.name,
            )
        )
        outgoing.append(
            Outgoing(
                contact=None,
                message=message,
                key=f"delivery:{by.id}:{person.id}:{now.timestamp():.0f}",
                priority=Priority.REPLY,
                purpose="delivery",
                channel=channel,
                address=address,
            )
        )
    await enqueue_many(outgoing, now=now)
    return len(outgoing)
