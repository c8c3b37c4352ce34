"""Round reports: one row per household, then one extra row per repeat item (e.g. each medicine).

Columns: ``building, floor, room, status`` (answered | in_progress | not_reached | opted_out),
``channel`` (the channel the round went out by), ``first_message`` (delivery status of the first
message: queued, sent, delivered, failed ...), ``answered_channel``, ``proxy``, ``needs_call``,
``updated_at``, then the survey's answers (``SurveyDefinition.flat_columns``). A repeat item's
row repeats the address and status and fills only its ``group.#`` and ``group.<question>`` columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from config.exports import to_csv, write_csv, write_xlsx
from estate.models import Contact
from notifications.models import OutboxMessage
from surveys.definition import load_definition
from surveys.models import Response, Round

FIXED_COLUMNS = [
    "building",
    "floor",
    "room",
    "status",
    "channel",
    "first_message",
    "answered_channel",
    "proxy",
    "needs_call",
    "updated_at",
]


@dataclass
class Report:
    round: Round
    columns: list[str]
    rows: list[list[Any]]


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        return str(value)
    return value


async def build_report(round_id: int) -> Report:
    round_ = await Round.get_or_none(id=round_id)
    if round_ is None:
        raise LookupError(f"no round {round_id}")
    defn = load_definition(round_.definition)
    responses = await Response.filter(round_id=round_id).select_related("household__building")
    household_ids = [r.household_id for r in responses]  # type: ignore[attr-defined]
    first: dict[str, str] = {}
    for ref, status in (
        await OutboxMessage.filter(ref__in=[f"response:{r.id}" for r in responses])
        .order_by("-id")
        .values_list("ref", "status")
    ):
        first[ref] = status  # ordered newest first: the oldest (the first message) wins
    contact_states: dict[int, set[str]] = {}
    for household_id, status in await Contact.filter(household_id__in=household_ids).values_list(
        "household_id", "status"
    ):
        contact_states.setdefault(household_id, set()).add(status)
    columns = FIXED_COLUMNS + defn.flat_columns()
    rows: list[list[Any]] = []
    responses.sort(key=lambda r: (r.household.building.number, r.household.floor, r.household.room))
    for response in responses:
        household = response.household
        status = response.status
        if status != "answered":
            # A household whose every contact opted out is opted_out, even if it had begun.
            states = contact_states.get(household.id, set())
            if states and states <= {"opted_out"}:
                status = "opted_out"
            elif status != "in_progress":
                status = "not_reached"
        fixed = [
            household.building.number,
            household.floor,
            household.room,
            status,
            response.channel or "",
            first.get(f"response:{response.id}", ""),
            response.answered_channel or "",
            "yes" if response.proxy else "",
            "yes" if response.needs_call else "",
            response.updated_at.isoformat() if response.updated_at else "",
        ]
        for answer_row in defn.answer_rows(response.answers or {}):
            rows.append(fixed + [_cell(answer_row.get(c)) for c in defn.flat_columns()])
    return Report(round_, columns, rows)


__all__ = ["FIXED_COLUMNS", "Report", "build_report", "to_csv", "write_csv", "write_xlsx"]
