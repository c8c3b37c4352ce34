"""``/remind [ROUND]``: remind now every household of the staff member's buildings that has
not finished the open round(s)."""

from __future__ import annotations

from bot.staff.base import StaffCommand, StaffReply, StaffRequest
from bot.staff.texts import TEXTS
from surveys.progress import buildings_in_scope
from surveys.reminders import remind_round


class RemindCommand(StaffCommand):
    name = "remind"
    roles = ("admin", "cadre", "officer")
    description = TEXTS["menu_remind"]

    async def command(self, request: StaffRequest) -> StaffReply | None:
        if request.args:
            round_ = await self.round_arg(request, request.args[0])
            if round_ is None:
                return None
            targets = await self.round_buildings(round_)
            if not await buildings_in_scope(round_, request.scope):
                return await self.refuse_outside(
                    request, self.action, targets, target=f"round {round_.id}"
                )
            rounds = [round_] if round_.status == "open" else []
        else:
            rounds = await self.rounds_in_scope(request.scope)
        if not rounds:
            await self.reply(request, self.t(request, "status_none"))
            return None
        stamp = f"{self.clock.now().timestamp():.0f}:s{request.staff.id}"
        for round_ in rounds:
            buildings = (
                None
                if request.scope.everything
                else await buildings_in_scope(round_, request.scope)
            )
            count = await remind_round(
                self.ctx.runtime,
                round_.id,
                buildings=buildings,
                tag=stamp,
                estate=request.scope.estate,
            )
            await self.allowed(request, self.action, f"round {round_.id}", reminded=count)
            await self.reply(request, self.t(request, "remind_done", count=count, round=round_.id))
        return None
