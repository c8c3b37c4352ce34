"""Households with a positive antigen answer in the current round: they stay home in a drive."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from surveys.definition import load_definition
from surveys.engine.expressions import ExpressionError, parse, truthy
from surveys.models import Response, Revision, Round
from surveys.states import ResponseStatus, RoundStatus

ANTIGEN = "antigen"


async def current_antigen_round() -> Round | None:
    """The open antigen round opened last; else the last one opened."""
    opened = (
        await Round.filter(survey=ANTIGEN, status=RoundStatus.OPEN)
        .order_by("-opened_at", "-id")
        .first()
    )
    if opened is not None:
        return opened
    return await Round.filter(survey=ANTIGEN).order_by("-opened_at", "-id").first()


async def positive_households(round_id: int | None = None) -> tuple[int | None, set[int]]:
    """(round id, household ids whose answer says one or more positive)."""
    round_ = (
        await Round.get_or_none(id=round_id)
        if round_id is not None
        else await current_antigen_round()
    )
    if round_ is None:
        return None, set()
    positive: set[int] = set()
    for household_id, answers in await Response.filter(round_id=round_.id).values_list(
        "household_id", "answers"
    ):
        value = (answers or {}).get("positive")
        try:
            if value is not None and int(value) > 0:
                positive.add(int(household_id))
        except (TypeError, ValueError):
            continue
    return round_.id, positive


@dataclass
class PositiveHousehold:
    """A household of a round whose answers raise an alert (a positive antigen test)."""

    building: int
    floor: int
    room: str
    count: Any  # the answer ``positive`` (how many), "" when the survey has none
    at: datetime | None  # when it was answered
    by: str  # who answered: a member's name, or the staff member who answered for them
    proxy: bool

    @property
    def address(self) -> str:
        return f"{self.building}-{self.room}"


async def positive_list(
    round_id: int, buildings: Collection[int] | None = None
) -> list[PositiveHousehold]:
    """The round's households whose answers meet one of its alert rules (in ``buildings``,
    if given), newest answer first."""
    round_ = await Round.get_or_none(id=round_id)
    if round_ is None:
        return []
    rules = []
    for rule in load_definition(round_.definition).alerts:
        try:
            rules.append(parse(rule.when))
        except ExpressionError:
            continue
    if not rules:
        return []
    query = Response.filter(round_id=round_id).exclude(status=ResponseStatus.NOT_REACHED)
    if buildings is not None:
        query = query.filter(household__building__number__in=list(buildings))
    found = [
        r
        for r in await query.select_related("household__building")
        if r.answers and any(truthy(rule.evaluate(r.answers)) for rule in rules)
    ]
    last: dict[int, Revision] = {}
    for revision in (
        await Revision.filter(response_id__in=[r.id for r in found])
        .order_by("id")
        .select_related("staff", "contact__person")
    ):
        last[revision.response_id] = revision  # type: ignore[attr-defined]
    out = []
    for response in found:
        household = response.household
        latest = last.get(response.id)
        by = ""
        if latest is not None and latest.staff is not None:
            by = latest.staff.name
        elif latest is not None and latest.contact is not None:
            person = latest.contact.person
            by = person.name if person is not None else latest.contact.channel
        out.append(
            PositiveHousehold(
                building=household.building.number,
                floor=household.floor,
                room=household.room,
                count=(response.answers or {}).get("positive", ""),
                at=response.completed_at or response.updated_at,
                by=by,
                proxy=response.proxy,
            )
        )
    out.sort(key=lambda p: p.at or datetime.min.replace(tzinfo=UTC), reverse=True)
    return out
