"""The pace of a running call-up: ``/next``, ``/pause``, ``/resume``, ``/skip``.

A point volunteer's pace commands act on their own point; others name the point (``/next B``)
or pick it from buttons (``dr:pace:VERB:DRIVE:POINT``). Limited to the staff member's buildings
and audited.
"""

from __future__ import annotations

from datetime import timedelta

from bot.staff.base import StaffReply, StaffRequest
from bot.staff.drive import PREFIX, DriveStaffCommand
from bot.staff.texts import TEXTS as STAFF_TEXTS
from notifications.drives.control import audit_action, audit_target, pace_refusal
from notifications.drives.runtime import DriveError
from notifications.drives.status import drive_points, find_drive, find_point, running_drive
from notifications.message import Button, Message

PACE_PREFIX = f"{PREFIX}pace:"


class PaceCommand(DriveStaffCommand):
    """One pace verb; the buttons of every verb come here."""

    prefix = PACE_PREFIX

    async def command(self, request: StaffRequest) -> StaffReply:
        verb = self.name
        drive = await running_drive()
        if drive is None:
            return await self.no_drive(request)
        point = request.args[0] if request.args else (request.staff.point or "")
        if not point:
            points = await drive_points(drive.id)
            mine = [
                p
                for p in points
                if request.scope.allows_estate(drive.estate_id)
                and any(request.scope.allows(n) for n in p.buildings)
            ]
            if len(mine) == 1:
                point = mine[0].name
            else:
                rows = tuple(
                    (Button(p.name, f"{PACE_PREFIX}{verb}:{drive.id}:{p.name}"),) for p in mine
                )
                await self.reply(request, Message(self.t(request, "which_point"), rows))
                return StaffReply()
        return await self.pace(request, verb, point, drive.id)

    async def button(self, request: StaffRequest) -> StaffReply:
        _, _, verb, drive_id, point = request.data.split(":", 4)
        return await self.pace(request, verb, point, int(drive_id))

    async def pace(self, request: StaffRequest, verb: str, point: str, drive_id: int) -> StaffReply:
        drive = await find_drive(drive_id)
        spot = await find_point(drive_id, point) if drive is not None else None
        target = audit_target(drive_id, verb, point)
        if drive is None or spot is None:
            await self.reply(request, self.t(request, "no_point", point=point))
            return StaffReply()
        why = pace_refusal(request.staff, request.scope, spot, drive.estate_id)  # type: ignore[attr-defined]
        if why is not None:
            await self.refuse_why(request, audit_action(verb), target, why)
            return StaffReply()
        drives = self.ctx.drives
        try:
            if verb == "next":
                batch = await drives.call_next(drive_id, point)
                reply = self.t(
                    request,
                    "nexted",
                    point=point,
                    building=batch.building,
                    floors=_floors(batch.floors),
                )
            elif verb == "pause":
                await drives.pause(drive_id, point)
                reply = self.t(request, "paused", point=point)
            elif verb == "resume":
                paused = await drives.resume(drive_id, point)
                reply = self.t(
                    request, "resumed", point=point, minutes=round(paused / timedelta(minutes=1))
                )
            else:
                batch = await drives.skip(drive_id, point)
                reply = self.t(
                    request,
                    "skipped",
                    point=point,
                    building=batch.building,
                    floors=_floors(batch.floors),
                )
        except DriveError as exc:
            await self.reply(request, exc.describe(request.lang))
            return StaffReply()
        await self.allowed(request, audit_action(verb), target)
        await self.reply(request, reply)
        return StaffReply(toast=reply[:190])


class NextCommand(PaceCommand):
    name = "next"
    description = STAFF_TEXTS["menu_next"]


class PauseCommand(PaceCommand):
    name = "pause"
    description = STAFF_TEXTS["menu_pause"]


class ResumeCommand(PaceCommand):
    name = "resume"
    description = STAFF_TEXTS["menu_resume"]


class SkipCommand(PaceCommand):
    name = "skip"
    description = STAFF_TEXTS["menu_skip"]


def _floors(floors: list[int]) -> str:
    return f"{min(floors)}" if min(floors) == max(floors) else f"{min(floors)}-{max(floors)}"
