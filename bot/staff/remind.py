"""``/remind [ROUND]``: remind now every household of the staff member's buildings that has
not finished the open round(s)."""

from __future__ import annotations

from bot.staff.base import StaffReply, StaffRequest
from bot.staff.registry import StaffTools
from surveys.reminders import remind_round


class RemindCommand:
    ACTION = "/remind"

    def __init__(self, tools: StaffTools) -> None:
        self.tools = tools

    async def __call__(self, request: StaffRequest) -> StaffReply | None:
        tools = self.tools
        if request.args:
            round_ = await tools.round_arg(request, request.args[0])
            if round_ is None:
                return None
            targets = await tools.round_buildings(round_)
            if not request.scope.filter(targets):
                return await tools.refuse(
                    request, self.ACTION, targets, target=f"round {round_.id}"
                )
            rounds = [round_] if round_.status == "open" else []
        else:
            rounds = await tools.rounds_in_scope(request.scope)
        if not rounds:
            await tools.reply(request, tools.t(request, "status_none"))
            return None
        stamp = f"{tools.clock.now().timestamp():.0f}:s{request.staff.id}"
        for round_ in rounds:
            buildings = (
                None
                if request.scope.everything
                else request.scope.filter(await tools.round_buildings(round_))
            )
            count = await remind_round(tools.runtime, round_.id, buildings=buildings, tag=stamp)
            await tools.allowed(request, self.ACTION, f"round {round_.id}", reminded=count)
            await tools.reply(
                request, tools.t(request, "remind_done", count=count, round=round_.id)
            )
        return None
