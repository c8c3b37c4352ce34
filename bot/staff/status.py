"""``/status [BUILDINGS]``: completion by building of the open rounds, the staff member's
buildings only."""

from __future__ import annotations

from bot.staff.base import StaffReply, StaffRequest
from bot.staff.registry import BadBuildings, StaffTools
from surveys.definition import load_definition, localize
from surveys.models import Response


class StatusCommand:
    ACTION = "/status"

    def __init__(self, tools: StaffTools) -> None:
        self.tools = tools

    async def __call__(self, request: StaffRequest) -> StaffReply | None:
        tools = self.tools
        asked: list[int] | None = None
        if request.args:
            try:
                asked = tools.parse_buildings(request.args[0])
            except BadBuildings:
                await tools.reply(request, tools.t(request, "bad_buildings", value=request.args[0]))
                return None
            if asked is not None and not request.scope.allows_all(asked):
                outside = [b for b in asked if not request.scope.allows(b)]
                return await tools.refuse(request, self.ACTION, outside)
        blocks: list[str] = []
        for round_ in reversed(await tools.rounds_in_scope(request.scope)):
            mine = request.scope.filter(await tools.round_buildings(round_))
            if asked is not None:
                mine = [b for b in mine if b in asked]
            if not mine:
                continue
            counts: dict[int, dict[str, int]] = {b: {} for b in mine}
            for building, status in await Response.filter(
                round_id=round_.id, household__building__number__in=mine
            ).values_list("household__building__number", "status"):
                by_status = counts[int(building)]
                by_status[str(status)] = by_status.get(str(status), 0) + 1
            defn = load_definition(round_.definition)
            deadline = (
                tools.t(
                    request,
                    "status_deadline",
                    time=round_.closes_at.astimezone(tools.runtime.tz).strftime("%m-%d %H:%M"),
                )
                if round_.closes_at
                else ""
            )
            lines = [
                tools.t(
                    request,
                    "status_round",
                    round=round_.id,
                    title=localize(defn.title, request.lang),
                    deadline=deadline,
                )
            ]
            for building in mine:
                by_status = counts[building]
                total = sum(by_status.values())
                answered = by_status.get("answered", 0)
                in_progress = by_status.get("in_progress", 0)
                lines.append(
                    tools.t(
                        request,
                        "status_line",
                        building=building,
                        answered=answered,
                        total=total,
                        in_progress=in_progress,
                        other=total - answered - in_progress,
                    )
                )
            blocks.append("\n".join(lines))
        await tools.allowed(request, self.ACTION, request.args[0] if request.args else "")
        await tools.reply(request, "\n\n".join(blocks) or tools.t(request, "status_none"))
        return None
