"""``/mark 7-1203 1``: a point volunteer marks a household of the running call-up (1, 2 or 3,
as the household would have replied). Limited to the staff member's buildings and audited."""

from __future__ import annotations

from bot.staff.base import StaffReply, StaffRequest
from bot.staff.drive import DriveStaffCommand
from bot.staff.texts import TEXTS as STAFF_TEXTS
from estate.addresses import parse_room
from notifications.drives.runtime import DriveError
from notifications.drives.status import running_drive


class MarkCommand(DriveStaffCommand):
    name = "mark"
    description = STAFF_TEXTS["menu_mark"]

    async def command(self, request: StaffRequest) -> StaffReply:
        drive = await running_drive()
        if drive is None:
            return await self.no_drive(request)
        if len(request.args) != 2 or request.args[1] not in ("1", "2", "3"):
            await self.reply(request, self.t(request, "mark_usage"))
            return StaffReply()
        address = request.args[0].replace("－", "-")
        building_text, _, room_text = address.partition("-")
        try:
            building = int(building_text.rstrip("号楼栋"))
            room = parse_room(room_text)
        except (ValueError, TypeError):
            await self.reply(request, self.t(request, "mark_usage"))
            return StaffReply()
        if not request.scope.allows(building) or not request.scope.allows_estate(drive.estate_id):
            await self.refuse_why(request, "/mark", address, "not your building")
            return StaffReply()
        try:
            await self.ctx.drives.mark(
                drive.id, building, str(room), int(request.args[1]), request.staff.name
            )
        except DriveError as exc:
            await self.reply(request, str(exc))
            return StaffReply()
        await self.allowed(
            request, "/mark", f"drive {drive.id} {building}-{room} {request.args[1]}"
        )
        await self.reply(
            request,
            self.t(request, "marked", address=f"{building}-{room}", value=request.args[1]),
        )
        return StaffReply()
