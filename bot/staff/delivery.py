"""``/delivery [building ...] [note]``: a large delivery; every logistics staff member of both
shifts of those buildings is called. Audited; a building outside the scope is refused."""

from __future__ import annotations

from bot.staff.base import StaffReply, StaffRequest, leading_buildings
from bot.staff.pickup import CareCommand
from bot.staff.texts import TEXTS as STAFF_TEXTS
from surveys.pickups.store import call_both_shifts


class DeliveryCommand(CareCommand):
    name = "delivery"
    roles = ("admin", "cadre", "logistics")
    description = STAFF_TEXTS["menu_delivery"]

    async def command(self, request: StaffRequest) -> StaffReply:
        asked, rest = leading_buildings(request.args)
        if asked and not request.scope.allows_all(asked):
            await self.refuse_said(request, "/delivery", ",".join(map(str, asked)), "out of scope")
            return StaffReply()
        buildings = asked or await self.scope_buildings(request.scope)
        note = " ".join(rest)
        count = await call_both_shifts(
            buildings,
            by=request.staff,
            note=note,
            now=self.clock.now(),
            estate=request.scope.estate,
        )
        await self.allowed(request, "/delivery", ",".join(map(str, buildings)), told=count)
        self.ctx.wake()
        key = "delivery_sent" if count else "delivery_nobody"
        await self.reply(request, self.t(request, key, count=count))
        return StaffReply()
