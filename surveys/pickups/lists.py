"""Medicine pickup lists for the logistics group (pure: no database, no clock reads).

From a ``medication`` round's answers (see ``surveys/definition/definitions/medication.yaml``: a household
says ``needs_medicine``, then one item per medicine with ``patient``, ``drug``, ``dose`` (strength
and quantity), ``days_left``, ``hospital`` and ``insurance_card``, then one ``urgency``) this
builds, per building, the households needing medicine ordered by floor and room, each medicine
with whether its insurance card must be collected, and the marks logistics already made
(card collected, delivered). It renders the list as chat messages with mark buttons and as
table rows for XLSX.

The logistics group works two 12-hour shifts, A and B: A starts at ``LOUZHANG_SHIFT_A_START``
local time (08:00 by default), B twelve hours later. :func:`shift_on_duty` tells which is on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from config.i18n import Catalog, text
from notifications.message import Button, Message

SHIFT_HOURS = 12
URGENCY_ORDER = {"today": 0, "within_3_days": 1, "this_week": 2}
MAX_CHARS = 3500  # one Telegram message holds 4,096
MAX_BUTTON_ROWS = 40


# ---- shifts ----------------------------------------------------------------------------------
def shift_on_duty(local: datetime | time, a_start: time) -> str:
    """``"A"`` or ``"B"``: the shift on duty at a local time of day."""
    at = local.time() if isinstance(local, datetime) else local
    minutes = (at.hour * 60 + at.minute - (a_start.hour * 60 + a_start.minute)) % (24 * 60)
    return "A" if minutes < SHIFT_HOURS * 60 else "B"


def shift_hours(shift: str, a_start: time) -> str:
    """``"08:00–20:00"`` for shift A starting at 08:00."""
    start = datetime.combine(datetime(2000, 1, 1).date(), a_start)
    if shift == "B":
        start += timedelta(hours=SHIFT_HOURS)
    end = start + timedelta(hours=SHIFT_HOURS)
    return f"{start:%H:%M}–{end:%H:%M}"


# ---- the list --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Answered:
    """One household's answers to a medication round (input of :func:`build_lists`)."""

    response_id: int
    building: int
    floor: int
    room: str
    answers: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Mark:
    card_collected: bool = False
    delivered: bool = False


@dataclass(frozen=True, slots=True)
class PickupItem:
    number: int  # 1-based, the item's place in the household's ``medicines``
    patient: str
    drug: str
    quantity: str
    days_left: int | None
    hospital: str
    card: bool  # an insurance card must be collected
    card_collected: bool = False
    delivered: bool = False

    @property
    def done(self) -> bool:
        return self.delivered


@dataclass(frozen=True, slots=True)
class PickupHousehold:
    response_id: int
    building: int
    floor: int
    room: str
    urgency: str  # today | within_3_days | this_week | ""
    items: tuple[PickupItem, ...]

    @property
    def address(self) -> str:
        return f"{self.building}-{self.room}"

    @property
    def cards_to_collect(self) -> int:
        return sum(1 for i in self.items if i.card and not i.card_collected)

    @property
    def delivered(self) -> bool:
        return all(i.delivered for i in self.items)


@dataclass(frozen=True, slots=True)
class PickupList:
    building: int
    households: tuple[PickupHousehold, ...]

    @property
    def items(self) -> int:
        return sum(len(h.items) for h in self.households)

    @property
    def cards(self) -> int:
        """Insurance cards still to collect."""
        return sum(h.cards_to_collect for h in self.households)

    @property
    def open_items(self) -> int:
        return sum(1 for h in self.households for i in h.items if not i.delivered)


def _room_key(room: str) -> tuple[int, str]:
    digits = re.sub(r"\D", "", room)
    return (int(digits) if digits else 0, room)


def _str(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def household_items(
    response_id: int, answers: Mapping[str, Any], marks: Mapping[tuple[int, int], Mark]
) -> tuple[PickupItem, ...]:
    """The medicines a household asked for (none unless ``needs_medicine`` is yes)."""
    if answers.get("needs_medicine") != "yes":
        return ()
    medicines = answers.get("medicines")
    if not isinstance(medicines, list):
        return ()
    items: list[PickupItem] = []
    for number, item in enumerate(medicines, start=1):
        if not isinstance(item, Mapping) or not _str(item.get("drug")):
            continue
        mark = marks.get((response_id, number), Mark())
        items.append(
            PickupItem(
                number=number,
                patient=_str(item.get("patient")),
                drug=_str(item.get("drug")),
                quantity=_str(item.get("dose")),
                days_left=_int(item.get("days_left")),
                hospital=_str(item.get("hospital")),
                card=item.get("insurance_card") == "yes",
                card_collected=mark.card_collected,
                delivered=mark.delivered,
            )
        )
    return tuple(items)


def build_lists(
    answered: Iterable[Answered],
    marks: Mapping[tuple[int, int], Mark] | None = None,
    *,
    buildings: Iterable[int] | None = None,
) -> list[PickupList]:
    """One list per building (ascending) of the households needing medicine, by floor then
    room. ``buildings`` limits the result (and gives an empty list for a building with none)."""
    marks = marks or {}
    by_building: dict[int, list[PickupHousehold]] = {}
    wanted = set(buildings) if buildings is not None else None
    for row in answered:
        if wanted is not None and row.building not in wanted:
            continue
        items = household_items(row.response_id, row.answers, marks)
        if not items:
            continue
        urgency = _str(row.answers.get("urgency"))
        by_building.setdefault(row.building, []).append(
            PickupHousehold(row.response_id, row.building, row.floor, row.room, urgency, items)
        )
    numbers = sorted(set(by_building) | (wanted or set()))
    return [
        PickupList(
            number,
            tuple(
                sorted(
                    by_building.get(number, []),
                    key=lambda h: (h.floor, _room_key(h.room), h.response_id),
                )
            ),
        )
        for number in numbers
    ]


# ---- rendering -------------------------------------------------------------------------------
def _item_line(item: PickupItem, catalog: Catalog, lang: str) -> str:
    parts = [item.drug]
    if item.quantity:
        parts.append(item.quantity)
    line = " ".join(parts)
    if item.patient:
        line += text(catalog, "pk_for", lang, patient=item.patient)
    if item.days_left is not None:
        line += text(catalog, "pk_days_left", lang, days=item.days_left)
    if item.hospital:
        line += f" · {item.hospital}"
    if item.card:
        line += " · " + text(
            catalog, "pk_card_done" if item.card_collected else "pk_card_todo", lang
        )
    if item.delivered:
        line += " · " + text(catalog, "pk_delivered", lang)
    return f"  {item.number}. {line}"


def _household_block(household: PickupHousehold, catalog: Catalog, lang: str) -> str:
    urgency = household.urgency
    label = text(catalog, f"urgency_{urgency}", lang) if f"urgency_{urgency}" in catalog else ""
    flag = "❗" if urgency == "today" else ""
    head = text(catalog, "pk_household", lang, floor=household.floor, address=household.address)
    if label:
        head += f" · {flag}{label}"
    return "\n".join([head, *(_item_line(i, catalog, lang) for i in household.items)])


def _household_buttons(
    household: PickupHousehold, catalog: Catalog, lang: str
) -> list[tuple[Button, ...]]:
    rows: list[tuple[Button, ...]] = []
    for item in household.items:
        if item.delivered:
            continue
        row: list[Button] = []
        name = f"{household.room} {item.drug}"[:24]
        if item.card and not item.card_collected:
            row.append(
                Button(
                    text(catalog, "pk_btn_card", lang, name=name),
                    mark_data("c", household.response_id, item.number),
                )
            )
        row.append(
            Button(
                text(catalog, "pk_btn_delivered", lang, name=name),
                mark_data("d", household.response_id, item.number),
            )
        )
        rows.append(tuple(row))
    return rows


def mark_data(kind: str, response_id: int, item: int) -> str:
    """Button data of a mark: ``pk:c:RESPONSE:ITEM`` (card collected), ``pk:d:...`` (delivered)."""
    return f"pk:{kind}:{response_id}:{item}"


def parse_mark(data: str) -> tuple[str, int, int] | None:
    parts = data.split(":")
    if len(parts) != 4 or parts[0] != "pk" or parts[1] not in ("c", "d"):
        return None
    try:
        return parts[1], int(parts[2]), int(parts[3])
    except ValueError:
        return None


def render_list(
    plist: PickupList, catalog: Catalog, lang: str, *, header: str, buttons: bool = True
) -> list[Message]:
    """The list as chat messages: a header with totals, then the households in as many
    messages as Telegram's limits need, each with its mark buttons."""
    totals = text(
        catalog,
        "pk_totals",
        lang,
        building=plist.building,
        households=len(plist.households),
        items=plist.items,
        cards=plist.cards,
        open=plist.open_items,
    )
    if not plist.households:
        return [Message(f"{header}\n{text(catalog, 'pk_empty', lang, building=plist.building)}")]
    messages: list[Message] = []
    blocks: list[str] = [header, totals]
    rows: list[tuple[Button, ...]] = []
    for household in plist.households:
        block = _household_block(household, catalog, lang)
        more = _household_buttons(household, catalog, lang) if buttons else []
        size = sum(len(b) + 1 for b in blocks)
        if blocks and (size + len(block) > MAX_CHARS or len(rows) + len(more) > MAX_BUTTON_ROWS):
            messages.append(Message("\n\n".join(blocks), buttons=tuple(rows)))
            blocks, rows = [], []
        blocks.append(block)
        rows.extend(more)
    if blocks:
        messages.append(Message("\n\n".join(blocks), buttons=tuple(rows)))
    return messages


XLSX_COLUMNS = [
    "building",
    "floor",
    "room",
    "urgency",
    "item",
    "patient",
    "drug",
    "quantity",
    "days_left",
    "hospital",
    "insurance_card",
    "card_collected",
    "delivered",
]


def table_rows(lists: Sequence[PickupList]) -> list[list[Any]]:
    """One row per medicine (columns :data:`XLSX_COLUMNS`), in list order."""
    rows: list[list[Any]] = []
    for plist in lists:
        for h in plist.households:
            for i in h.items:
                rows.append(
                    [
                        h.building,
                        h.floor,
                        h.room,
                        h.urgency,
                        i.number,
                        i.patient,
                        i.drug,
                        i.quantity,
                        "" if i.days_left is None else i.days_left,
                        i.hospital,
                        "yes" if i.card else "no",
                        "yes" if i.card_collected else "",
                        "yes" if i.delivered else "",
                    ]
                )
    return rows
