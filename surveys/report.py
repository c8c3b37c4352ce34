"""Round reports: one row per household, then one extra row per repeat item (e.g. each medicine).

Columns: ``building, floor, room, status`` (answered | in_progress | not_reached | opted_out),
``channel`` (the channel the round went out by), ``first_message`` (delivery status of the first
message: queued, sent, delivered, failed ...), ``answered_channel``, ``proxy``, ``needs_call``,
``updated_at``, then the survey's answers (``SurveyDefinition.flat_columns``). A repeat item's
row repeats the address and status and fills only its ``group.#`` and ``group.<question>`` columns.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tortoise.functions import Count

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


def to_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return out.getvalue()


def write_csv(path: Path, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    # utf-8-sig: Excel opens Chinese text correctly only with the BOM.
    path.write_text(to_csv(columns, rows), encoding="utf-8-sig", newline="")


def write_xlsx(
    path: Path | io.BytesIO, columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str
) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31] or "report")
    sheet.append(list(columns))
    for row in rows:
        sheet.append(["" if v is None else v for v in row])
    workbook.save(path)


# ---- what the web pages and the router ask (kept together so the gateways hold no query) ----
async def rounds_newest_first() -> list[Round]:
    return list(await Round.all().order_by("-id"))


async def round_by_id(round_id: int) -> Round | None:
    return await Round.get_or_none(id=round_id)


async def round_signature(round_id: int) -> object:
    """A cheap value that changes when the round's report may have: its responses' stages and
    newest change, and every contact's newest change and opted-out count."""
    responses = Response.filter(round_id=round_id)
    stages = (
        await responses.annotate(n=Count("id"))
        .group_by("status", "stage")
        .values_list("status", "stage", "n")
    )
    newest = await responses.order_by("-updated_at").first().values_list("updated_at")
    contacts = await Contact.all().order_by("-updated_at").first().values_list("updated_at")
    opted_out = await Contact.filter(status="opted_out").count()
    return (sorted(stages), newest, contacts, opted_out)


async def households_in_open_survey(household_ids: list[int]) -> set[int]:
    """Of these households, those answering a survey of an open round now."""
    return set(
        await Response.filter(
            household_id__in=household_ids, stage="active", round__status="open"
        ).values_list("household_id", flat=True)
    )
