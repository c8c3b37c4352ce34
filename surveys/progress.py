"""Rounds in a staff member's scope, and how far their households are (completion by
building and status, counted in SQL)."""

from __future__ import annotations

from collections.abc import Collection

from estate.access import Scope, all_building_numbers
from surveys.models import Response, Round


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
    """The buildings a round covers, in order (every building when it names none)."""
    if round_.buildings:
        return sorted(int(b) for b in round_.buildings)
    return await all_building_numbers()


async def rounds_in_scope(scope: Scope, *, open_only: bool = True) -> list[Round]:
    """Rounds whose buildings meet the scope, newest first (the 50 newest at most)."""
    query = Round.filter(status="open") if open_only else Round.all()
    rounds = await query.order_by("-id").limit(50)
    if scope.everything:
        return list(rounds)
    return [r for r in rounds if scope.filter(await round_buildings(r))]


async def completion(round_id: int, buildings: Collection[int]) -> dict[int, dict[str, int]]:
    """{building: {response status: households}} of a round, for ``buildings`` (each one is
    present, empty when it has no response)."""
    counts: dict[int, dict[str, int]] = {b: {} for b in buildings}
    for building, status in await Response.filter(
        round_id=round_id, household__building__number__in=list(buildings)
    ).values_list("household__building__number", "status"):
        by_status = counts.setdefault(int(building), {})
        by_status[str(status)] = by_status.get(str(status), 0) + 1
    return counts
