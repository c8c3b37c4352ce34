"""Households with a positive antigen answer in the current round: they stay home in a drive."""

from __future__ import annotations

from surveys.models import Response, Round
from surveys.states import RoundStatus

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
