"""``/status [BUILDINGS]``: completion by building of the open rounds, the staff member's
buildings only."""

from __future__ import annotations

from bot.staff.base import BadBuildings, StaffCommand, StaffReply, StaffRequest
from bot.staff.texts import TEXTS
from config.clock import SHORT, local_time
from surveys.definition import load_definition, localize
from surveys.progress import buildings_in_scope, completion, waiting_behind

WAITING_SHOWN = 20


class StatusCommand(StaffCommand):
    name = "status"
    description = TEXTS["menu_status"]

    async def command(self, request: StaffRequest) -> StaffReply | None:
        asked: list[int] | None = None
        if request.args:
            try:
                asked = self.parse_buildings(request.args[0])
            except BadBuildings:
                await self.reply(request, self.t(request, "bad_buildings", value=request.args[0]))
                return None
            if asked is not None and not request.scope.allows_all(asked):
                outside = [b for b in asked if not request.scope.allows(b)]
                return await self.refuse_outside(request, self.action, outside)
        tz = self.ctx.runtime.tz
        blocks: list[str] = []
        for round_ in reversed(await self.rounds_in_scope(request.scope)):
            mine = await buildings_in_scope(round_, request.scope)
            if asked is not None:
                mine = [b for b in mine if b in asked]
            if not mine:
                continue
            counts = await completion(round_.id, mine, request.scope.estate)
            defn = load_definition(round_.definition)
            deadline = (
                self.t(
                    request,
                    "status_deadline",
                    time=local_time(round_.closes_at, tz, SHORT),
                )
                if round_.closes_at
                else ""
            )
            lines = [
                self.t(
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
                    self.t(
                        request,
                        "status_line",
                        building=building,
                        answered=answered,
                        total=total,
                        in_progress=in_progress,
                        other=total - answered - in_progress,
                    )
                )
            for other, addresses in sorted((await waiting_behind(round_.id, mine)).items()):
                shown = ", ".join(addresses[:WAITING_SHOWN])
                more = len(addresses) - WAITING_SHOWN
                lines.append(
                    self.t(
                        request,
                        "status_waiting_behind",
                        round=other,
                        count=len(addresses),
                        addresses=shown + (f" … +{more}" if more > 0 else ""),
                    )
                )
            blocks.append("\n".join(lines))
        await self.allowed(request, self.action, request.args[0] if request.args else "")
        await self.reply(request, "\n\n".join(blocks) or self.t(request, "status_none"))
        return None
