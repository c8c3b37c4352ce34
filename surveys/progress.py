"""Rounds in a staff member's scope, and how far their households are (completion by
building and status, counted in SQL)."""

from __future__ import annotations

from collections.abc import Collection

from tortoise.expressions import Q

from estate.access import Scope, all_building_numbers, in_scope
from surveys.models import Response, Round
from surveys.states import ResponseStage, RoundStatus


async def find_round(value: str) -> Round | None:
    """The round named ``7`` or ``#7``; None when there is no such round."""
    try:
        round_id = int(value.lstrip("#"))
    except ValueError:
        return None
    if not 0 < round_id < 2**31:  # no round has an id the database could not hold
        return None
    return await Round.get_or_none(id=round_id)


async def round_buildings(round_: Round) -> list[int]:
    """The buildings a round covers, in order (every building of its estate, or of every
    estate, when it names none)."""
    if round_.buildings:
        return sorted(int(b) for b in round_.buildings)
    return await all_building_numbers(round_.estate_id)


async def buildings_in_scope(round_: Round, scope: Scope) -> list[int]:
    """The round's buildings that the scope sees: none when the round is of another estate."""
    if not scope.allows_estate(round_.estate_id):
        return []
    return scope.filter(await round_buildings(round_))


async def rounds_in_scope(scope: Scope, *, open_only: bool = True) -> list[Round]:
    """Rounds whose buildings meet the scope, newest first (the 50 newest at most)."""
    query = Round.filter(status="open") if open_only else Round.all()
    if not scope.everything and scope.estate is not None:
        query = query.filter(Q(estate_id=None) | Q(estate_id=scope.estate))
    rounds = await query.order_by("-id").limit(50)
    if scope.everything:
        return list(rounds)
    return [r for r in rounds if await buildings_in_scope(r, scope)]


async def completion(
    round_id: int, buildings: Collection[int], estate: int | None = None
) -> dict[int, dict[str, int]]:
    """{building: {response status: households}} of a round, for ``buildings`` (of
    ``estate``, when given; each one is present, empty when it has no response)."""
    counts: dict[int, dict[str, int]] = {b: {} for b in buildings}
    for building, status in await Response.filter(
        round_id=round_id,
        household__building__number__in=list(buildings),
        **in_scope(estate, "household__building__"),
    ).values_list("household__building__number", "status"):
        by_status = counts.setdefault(int(building), {})
        by_status[str(status)] = by_status.get(str(status), 0) + 1
    return counts


async def waiting_behind(round_id: int, buildings: Collection[int]) -> dict[int, list[str]]:
    """{round N: addresses ("7-1203") of this round's households in ``buildings`` that answer
    round N first (this one is asked afterwards)}, in address order."""
    pending = {
        int(h): (int(b), str(room))
        for h, b, room in await Response.filter(
            round_id=round_id,
            stage=ResponseStage.PENDING,
            household__building__number__in=list(buildings),
        ).values_list("household_id", "household__building__number", "household__room")
    }
    if not pending:
        return {}
    out: dict[int, list[tuple[int, str]]] = {}
    for household_id, other in (
        await Response.filter(
            household_id__in=list(pending),
            stage=ResponseStage.ACTIVE,
            round__status=RoundStatus.OPEN,
        )
        .exclude(round_id=round_id)
        .values_list("household_id", "round_id")
    ):
        out.setdefault(int(other), []).append(pending[int(household_id)])
    return {n: [f"{b}-{room}" for b, room in sorted(addresses)] for n, addresses in out.items()}
