"""``/drive``: the guided start of a testing call-up, ``/drive status`` and ``/drive cancel``.

``/drive`` asks, with buttons, for the points (same as the last drive, or the staff member's
buildings split into up to six points, or typed as ``A:1-4,B:5-8``), the start, the interval,
the lead time, the order and the batch size, then shows the preview (households, batches, SMS
messages and segments, finish time) with Start / Cancel. Everything is limited to the staff
member's buildings and audited. The pace commands are in :mod:`bot.staff.pace`, ``/mark`` in
:mod:`bot.staff.mark`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from bot.staff.base import StaffCommand, StaffContext, StaffReply, StaffRequest
from bot.staff.drive_launch import build_options, launch, make_preview, preview_lines
from bot.staff.drive_texts import DRIVE_STAFF_TEXTS
from bot.staff.texts import TEXTS as STAFF_TEXTS
from notifications.drives.control import audit_action, audit_target, cancel_refusal
from notifications.drives.parse import parse_points
from notifications.drives.planner import PlanError
from notifications.drives.setup import DriveOptions, Preview
from notifications.drives.status import (
    drive_buildings,
    find_drive,
    latest_drive,
    load_status,
    render_status,
    running_drive,
)
from notifications.durations import parse_duration
from notifications.message import Button, Message

log = logging.getLogger(__name__)

PREFIX = "dr:"
POINT_NAMES = "ABCDEF"
DRIVE_ROLES = ("admin", "cadre", "officer", "point")
VOICE_ROLES = ("admin", "cadre", "officer")  # /drive voice: those who may send a /notice


@dataclass
class Wizard:
    points: str = ""
    start: str = ""
    interval: str = ""
    lead: str = ""
    order: str = ""
    batch: str = ""
    options: DriveOptions | None = None
    preview: Preview | None = None
    round_id: int | None = None


STEPS: list[tuple[str, tuple[str, ...]]] = [
    ("start", ("now", "+10m", "+30m")),
    ("interval", ("2m", "5m", "10m")),
    ("lead", ("0s", "5m", "10m", "15m")),
    ("order", ("top-down", "bottom-up")),
    ("batch", ("floor", "half", "2floors")),
]


def split_points(buildings: list[int], count: int = 6) -> str:
    """Buildings in order, split into up to ``count`` consecutive groups: "A:1-5,B:6-9,..."."""
    if not buildings:
        return ""
    count = max(1, min(count, len(buildings)))
    size, extra = divmod(len(buildings), count)
    out, index = [], 0
    for i in range(count):
        group = buildings[index : index + size + (1 if i < extra else 0)]
        index += len(group)
        out.append(f"{POINT_NAMES[i]}:" + ",".join(str(n) for n in group))
    return ",".join(out)


class DriveStaffCommand(StaffCommand):
    """What the drive commands share: their texts, roles and how they refuse."""

    roles = DRIVE_ROLES
    texts = DRIVE_STAFF_TEXTS

    async def refuse_why(self, request: StaffRequest, action: str, target: str, why: str) -> None:
        await self.refuse(request, action, target, why, say=self.t(request, "refused", why=why))

    async def no_drive(self, request: StaffRequest) -> StaffReply:
        await self.reply(request, self.t(request, "no_drive"))
        return StaffReply()


class DriveCommand(DriveStaffCommand):
    name = "drive"
    description = STAFF_TEXTS["menu_drive"]
    prefix = PREFIX

    def __init__(self, ctx: StaffContext) -> None:
        super().__init__(ctx)
        self.wizards: dict[str, Wizard] = {}

    # ---- /drive -----------------------------------------------------------------------------
    async def command(self, request: StaffRequest) -> StaffReply:
        sub = request.args[0].lower() if request.args else ""
        if sub == "status":
            return await self.status(request)
        if sub == "cancel":
            return await self.cancel(request)
        if sub == "voice":
            return await self.voice(request)
        if request.staff.role not in ("admin", "cadre"):
            await self.refuse_why(request, "/drive", "start", f"role {request.staff.role}")
            return StaffReply()
        wizard = Wizard()
        self.wizards[request.inbound.address] = wizard
        buttons: list[tuple[Button, ...]] = []
        last = await latest_drive()
        if last is not None:
            buttons.append(
                (
                    Button(
                        self.t(request, "same_as_last", spec=last.points_spec[:40]),
                        f"{PREFIX}p:last",
                    ),
                )
            )
        buttons.append((Button(self.t(request, "split_six"), f"{PREFIX}p:split"),))
        buttons.append((Button(self.t(request, "cancel"), f"{PREFIX}x"),))
        self.expect_text(request, self.typed_points)
        await self.reply(request, Message(self.t(request, "ask_points"), tuple(buttons)))
        return StaffReply()

    async def typed_points(self, request: StaffRequest) -> StaffReply:
        wizard = self.wizards.get(request.inbound.address)
        if wizard is None:
            return StaffReply()
        wizard.points = " ".join(request.args)
        return await self.after_points(request, wizard)

    async def after_points(self, request: StaffRequest, wizard: Wizard) -> StaffReply:
        try:
            points = parse_points(wizard.points)
        except PlanError as exc:
            self.expect_text(request, self.typed_points)
            await self.reply(request, self.t(request, "bad_points", error=str(exc)))
            return StaffReply()
        outside = sorted({n for _, served in points for n in served if not request.scope.allows(n)})
        if outside:
            self.wizards.pop(request.inbound.address, None)
            await self.refuse_why(
                request, "/drive", wizard.points, "buildings " + ",".join(map(str, outside))
            )
            return StaffReply()
        return await self.ask_step(request, wizard)

    async def ask_step(self, request: StaffRequest, wizard: Wizard) -> StaffReply:
        for name, choices in STEPS:
            if not getattr(wizard, name):
                row = tuple(
                    Button(
                        self.t(request, f"choice_{c}") if f"choice_{c}" in DRIVE_STAFF_TEXTS else c,
                        f"{PREFIX}s:{name}:{c}",
                    )
                    for c in choices
                )
                await self.reply(
                    request,
                    Message(
                        self.t(request, f"ask_{name}"),
                        (row, (Button(self.t(request, "cancel"), f"{PREFIX}x"),)),
                    ),
                )
                return StaffReply()
        return await self.confirm(request, wizard)

    async def confirm(self, request: StaffRequest, wizard: Wizard) -> StaffReply:
        now = self.clock.now()
        start = wizard.start
        if start.startswith("+"):
            tz = ZoneInfo(self.settings.timezone)
            start = (now + parse_duration(start[1:])).astimezone(tz).isoformat(timespec="seconds")
        try:
            options = build_options(
                points=wizard.points,
                start=start,
                interval=wizard.interval,
                lead=wizard.lead,
                now=now,
                settings=self.settings,
                order=wizard.order or "top-down",
                batch=wizard.batch or "floor",
            )
            options = replace(options, estate=request.scope.estate)  # a scope names an estate
            round_id, result = await make_preview(options, self.ctx.drives.enabled)
        except ValueError as exc:
            self.wizards.pop(request.inbound.address, None)
            await self.reply(request, self.t(request, "cannot_plan", error=str(exc)))
            return StaffReply()
        wizard.options, wizard.preview, wizard.round_id = options, result, round_id
        lines = preview_lines(result, self.settings, request.lang)
        buttons = (
            (
                Button(self.t(request, "start_button"), f"{PREFIX}go"),
                Button(self.t(request, "cancel"), f"{PREFIX}x"),
            ),
        )
        await self.reply(
            request,
            Message(
                self.t(request, "confirm", points=wizard.points) + "\n" + "\n".join(lines), buttons
            ),
        )
        return StaffReply()

    async def button(self, request: StaffRequest) -> StaffReply:
        data = request.data[len(PREFIX) :]
        address = request.inbound.address
        wizard = self.wizards.get(address)
        if data == "x":
            self.wizards.pop(address, None)
            self.expect_text(request, None)
            await self.reply(request, self.t(request, "cancelled"))
            return StaffReply(toast=self.t(request, "cancelled"))
        if wizard is None:
            return StaffReply(toast=self.t(request, "expired"))
        if data.startswith("p:"):
            self.expect_text(request, None)
            if data == "p:last":
                last = await latest_drive()
                wizard.points = last.points_spec if last else ""
            else:
                wizard.points = split_points(await self.scope_buildings(request.scope))
            if not wizard.points:
                self.wizards.pop(address, None)
                await self.reply(request, self.t(request, "no_buildings"))
                return StaffReply()
            return await self.after_points(request, wizard)
        if data.startswith("s:"):
            _, name, value = data.split(":", 2)
            if name in {step for step, _ in STEPS}:
                setattr(wizard, name, value)
            return await self.ask_step(request, wizard)
        if data == "go":
            if wizard.options is None or wizard.preview is None:
                return StaffReply(toast=self.t(request, "expired"))
            self.wizards.pop(address, None)
            drive = await launch(
                wizard.options,
                wizard.preview,
                wizard.round_id,
                now=self.clock.now(),
                created_by=request.staff.name,
            )
            self.ctx.drives.notify()
            await self.allowed(request, "/drive start", f"drive {drive.id} {wizard.points}")
            await self.reply(request, self.t(request, "started", id=drive.id))
            return StaffReply(toast=self.t(request, "started", id=drive.id))
        return StaffReply()

    # ---- status / cancel ----------------------------------------------------------------
    async def status(self, request: StaffRequest) -> StaffReply:
        drive_id = None
        if len(request.args) > 1 and request.args[1].isdigit():
            drive_id = int(request.args[1])
        drive = await find_drive(drive_id) if drive_id else await running_drive()
        if drive is None:
            drive = await latest_drive()
        if drive is None:
            return await self.no_drive(request)
        scope = request.scope
        status = await load_status(drive.id, None if scope.everything else scope.buildings)
        if (
            status is None
            or (not status.points and not scope.everything)
            or not scope.allows_estate(drive.estate_id)
        ):
            await self.refuse_why(
                request, "/drive status", f"drive {drive.id}", "no building of yours"
            )
            return StaffReply()
        await self.allowed(request, "/drive status", f"drive {drive.id}")
        body = render_status(status, request.lang, ZoneInfo(self.settings.timezone), limit=40)
        for chunk in _chunks(body, 3900):
            await self.reply(request, chunk)
        return StaffReply()

    async def voice(self, request: StaffRequest) -> StaffReply:
        """A voice note captioned ``/drive voice``: it goes with the running drive's remaining
        "come down now" call-ups of the staff member's buildings (voice households hear it
        played, Telegram households get the note). The caption form, as ``/notice``: one
        message holds the command and the note, so a retried delivery changes nothing twice."""
        action = "/drive voice"
        note = request.inbound.voice
        if not note:
            await self.reply(request, self.t(request, "voice_usage"))
            return StaffReply()
        if request.staff.role not in VOICE_ROLES:
            await self.refuse_why(request, action, "", f"role {request.staff.role}")
            return StaffReply()
        drive = await running_drive()
        if drive is None:
            return await self.no_drive(request)
        scope = request.scope
        served = sorted(set(await drive_buildings(drive.id)))
        mine = [b for b in served if scope.allows(b)]
        if not mine or not scope.allows_estate(drive.estate_id):
            return await self.refuse_outside(request, action, served, f"drive {drive.id}")
        try:
            if self.ctx.voice_note is None:
                raise RuntimeError("Telegram is off")
            name = await self.ctx.voice_note(note)
        except Exception as exc:
            log.warning("drive voice note not converted: %s", exc)
            await self.reply(request, self.t(request, "voice_failed"))
            return StaffReply()
        attached = await self.ctx.drives.attach_audio(
            drive.id, mine, {"name": name, "file_id": note}
        )
        if not attached.running:
            return await self.no_drive(request)
        self.ctx.drives.notify()
        await self.allowed(
            request,
            action,
            f"drive {drive.id}",
            buildings=",".join(map(str, mine)),
            voice=name,
            queued_calls=attached.queued_calls,
        )
        await self.reply(
            request,
            self.t(
                request,
                "voice_attached",
                id=drive.id,
                buildings=",".join(map(str, mine)),
                batches=attached.batches,
                calls=attached.queued_calls,
            ),
        )
        return StaffReply()

    async def cancel(self, request: StaffRequest) -> StaffReply:
        drive = await running_drive()
        if drive is None:
            return await self.no_drive(request)
        why = await cancel_refusal(request.staff, request.scope, drive.id)
        if why is not None:
            await self.refuse_why(
                request, audit_action("cancel"), audit_target(drive.id, "cancel"), why
            )
            return StaffReply()
        dropped = await self.ctx.drives.cancel(drive.id)
        await self.allowed(request, audit_action("cancel"), audit_target(drive.id, "cancel"))
        await self.reply(request, self.t(request, "drive_cancelled", id=drive.id, dropped=dropped))
        return StaffReply()


def _chunks(body: str, size: int) -> list[str]:
    out, current = [], ""
    for line in body.split("\n"):
        if current and len(current) + len(line) + 1 > size:
            out.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        out.append(current)
    return out
