"""Staff drive commands in Telegram: ``/drive`` (guided start, ``status``, ``cancel``),
``/next``, ``/pause``, ``/resume``, ``/skip`` and ``/mark``.

``/drive`` asks, with buttons, for the points (same as the last drive, or the staff member's
buildings split into up to six points, or typed as ``A:1-4,B:5-8``), the start, the interval,
the lead time, the order and the batch size, then shows the preview (households, batches, SMS
messages and segments, finish time) with Start / Cancel. A point volunteer's pace commands act
on their own point; others name the point (``/next B``) or pick it from buttons. Everything is
limited to the staff member's buildings and audited.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.router import Router
from bot.staff.base import StaffCommands, StaffReply, StaffRequest
from bot.staff.drive_launch import build_options, launch, make_preview, preview_lines
from bot.staff.drive_texts import DRIVE_STAFF_TEXTS
from config.i18n import text
from estate.access import Scope, audit
from estate.addresses import parse_room
from estate.models import Building
from notifications.drives.models import Drive, DrivePoint
from notifications.drives.parse import parse_points
from notifications.drives.planner import PlanError
from notifications.drives.runtime import DriveError, DriveRuntime
from notifications.drives.setup import DriveOptions, Preview
from notifications.drives.status import load_status, render_status
from notifications.durations import parse_duration
from notifications.message import Button, Message

PREFIX = "dr:"
POINT_NAMES = "ABCDEF"


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


class DriveCommands:
    def __init__(self, commands: StaffCommands, router: Router, drives: DriveRuntime) -> None:
        self.commands = commands
        self.router = router
        self.drives = drives
        self.settings = router.settings
        self.clock = router.clock
        self.wizards: dict[str, Wizard] = {}

    # ---- helpers ----------------------------------------------------------------------------
    def t(self, request: StaffRequest, key: str, **values: object) -> str:
        return text(DRIVE_STAFF_TEXTS, key, request.lang, **values)

    async def say(self, request: StaffRequest, message: Message | str) -> None:
        if isinstance(message, str):
            message = Message(message)
        await self.router.send(request.inbound, message, tag="staff")

    async def refuse(self, request: StaffRequest, action: str, target: str, why: str) -> None:
        await audit(
            now=self.clock.now(),
            action=action,
            staff=request.staff,
            target=target,
            allowed=False,
            detail={"why": why},
        )
        await self.say(request, self.t(request, "refused", why=why))

    async def record(self, request: StaffRequest, action: str, target: str) -> None:
        await audit(now=self.clock.now(), action=action, staff=request.staff, target=target)

    @staticmethod
    async def current_drive() -> Drive | None:
        return await Drive.filter(status="running").order_by("-id").first()

    async def my_buildings(self, scope: Scope) -> list[int]:
        numbers = sorted(await Building.all().values_list("number", flat=True))
        return [int(n) for n in numbers if scope.allows(int(n))]  # type: ignore[call-overload]

    # ---- /drive -----------------------------------------------------------------------------
    async def drive(self, request: StaffRequest) -> StaffReply:
        sub = request.args[0].lower() if request.args else ""
        if sub == "status":
            return await self.status(request)
        if sub == "cancel":
            return await self.cancel(request)
        if request.staff.role not in ("admin", "cadre"):
            await self.refuse(request, "/drive", "start", f"role {request.staff.role}")
            return StaffReply()
        wizard = Wizard()
        self.wizards[request.inbound.address] = wizard
        buttons: list[tuple[Button, ...]] = []
        last = await Drive.all().order_by("-id").first()
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
        self.commands.expect_text(request.inbound.address, self.typed_points)
        await self.say(request, Message(self.t(request, "ask_points"), tuple(buttons)))
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
            self.commands.expect_text(request.inbound.address, self.typed_points)
            await self.say(request, self.t(request, "bad_points", error=str(exc)))
            return StaffReply()
        outside = sorted({n for _, served in points for n in served if not request.scope.allows(n)})
        if outside:
            self.wizards.pop(request.inbound.address, None)
            await self.refuse(
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
                await self.say(
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
            round_id, result = await make_preview(options, self.drives.enabled)
        except ValueError as exc:
            self.wizards.pop(request.inbound.address, None)
            await self.say(request, self.t(request, "cannot_plan", error=str(exc)))
            return StaffReply()
        wizard.options, wizard.preview, wizard.round_id = options, result, round_id
        lines = preview_lines(result, self.settings, request.lang)
        buttons = (
            (
                Button(self.t(request, "start_button"), f"{PREFIX}go"),
                Button(self.t(request, "cancel"), f"{PREFIX}x"),
            ),
        )
        await self.say(
            request,
            Message(
                self.t(request, "confirm", points=wizard.points) + "\n" + "\n".join(lines), buttons
            ),
        )
        return StaffReply()

    async def button(self, request: StaffRequest) -> StaffReply:
        data = request.data[len(PREFIX) :]
        address = request.inbound.address
        if data.startswith("pace:"):
            _, verb, drive_id, point = data.split(":", 3)
            return await self.pace(request, verb, point, int(drive_id))
        wizard = self.wizards.get(address)
        if data == "x":
            self.wizards.pop(address, None)
            self.commands.expect_text(address, None)
            await self.say(request, self.t(request, "cancelled"))
            return StaffReply(toast=self.t(request, "cancelled"))
        if wizard is None:
            return StaffReply(toast=self.t(request, "expired"))
        if data.startswith("p:"):
            self.commands.expect_text(address, None)
            if data == "p:last":
                last = await Drive.all().order_by("-id").first()
                wizard.points = last.points_spec if last else ""
            else:
                wizard.points = split_points(await self.my_buildings(request.scope))
            if not wizard.points:
                self.wizards.pop(address, None)
                await self.say(request, self.t(request, "no_buildings"))
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
            self.drives.notify()
            await self.record(request, "/drive start", f"drive {drive.id} {wizard.points}")
            await self.say(request, self.t(request, "started", id=drive.id))
            return StaffReply(toast=self.t(request, "started", id=drive.id))
        return StaffReply()

    # ---- status / cancel ----------------------------------------------------------------
    async def status(self, request: StaffRequest) -> StaffReply:
        drive_id = None
        if len(request.args) > 1 and request.args[1].isdigit():
            drive_id = int(request.args[1])
        drive = await Drive.get_or_none(id=drive_id) if drive_id else await self.current_drive()
        if drive is None:
            drive = await Drive.all().order_by("-id").first()
        if drive is None:
            await self.say(request, self.t(request, "no_drive"))
            return StaffReply()
        scope = request.scope
        status = await load_status(drive.id, None if scope.everything else scope.buildings)
        if status is None or (not status.points and not scope.everything):
            await self.refuse(request, "/drive status", f"drive {drive.id}", "no building of yours")
            return StaffReply()
        await self.record(request, "/drive status", f"drive {drive.id}")
        body = render_status(status, request.lang, ZoneInfo(self.settings.timezone), limit=40)
        for chunk in _chunks(body, 3900):
            await self.say(request, chunk)
        return StaffReply()

    async def cancel(self, request: StaffRequest) -> StaffReply:
        drive = await self.current_drive()
        if drive is None:
            await self.say(request, self.t(request, "no_drive"))
            return StaffReply()
        if request.staff.role != "admin" and not await self._covers_drive(request.scope, drive):
            await self.refuse(
                request, "/drive cancel", f"drive {drive.id}", "not all its buildings are yours"
            )
            return StaffReply()
        dropped = await self.drives.cancel(drive.id)
        await self.record(request, "/drive cancel", f"drive {drive.id}")
        await self.say(request, self.t(request, "drive_cancelled", id=drive.id, dropped=dropped))
        return StaffReply()

    @staticmethod
    async def _covers_drive(scope: Scope, drive: Drive) -> bool:
        points = await DrivePoint.filter(drive_id=drive.id)
        return all(scope.allows(n) for p in points for n in p.buildings)

    # ---- pace ---------------------------------------------------------------------------
    def pace_command(self, verb: str) -> Callable[[StaffRequest], Awaitable[StaffReply]]:
        async def handler(request: StaffRequest) -> StaffReply:
            drive = await self.current_drive()
            if drive is None:
                await self.say(request, self.t(request, "no_drive"))
                return StaffReply()
            point = request.args[0] if request.args else (request.staff.point or "")
            if not point:
                points = await DrivePoint.filter(drive_id=drive.id).order_by("id")
                mine = [p for p in points if any(request.scope.allows(n) for n in p.buildings)]
                if len(mine) == 1:
                    point = mine[0].name
                else:
                    rows = tuple(
                        (Button(p.name, f"{PREFIX}pace:{verb}:{drive.id}:{p.name}"),) for p in mine
                    )
                    await self.say(request, Message(self.t(request, "which_point"), rows))
                    return StaffReply()
            return await self.pace(request, verb, point, drive.id)

        return handler

    async def pace(self, request: StaffRequest, verb: str, point: str, drive_id: int) -> StaffReply:
        spot = await DrivePoint.get_or_none(drive_id=drive_id, name=point)
        target = f"drive {drive_id} point {point}"
        if spot is None:
            await self.say(request, self.t(request, "no_point", point=point))
            return StaffReply()
        staff = request.staff
        if staff.role == "point" and staff.point and staff.point != point:
            await self.refuse(request, f"/{verb}", target, f"your point is {staff.point}")
            return StaffReply()
        if not any(request.scope.allows(n) for n in spot.buildings) and not (
            staff.role == "point" and staff.point == point
        ):
            await self.refuse(request, f"/{verb}", target, "not your buildings")
            return StaffReply()
        try:
            if verb == "next":
                batch = await self.drives.call_next(drive_id, point)
                reply = self.t(
                    request,
                    "nexted",
                    point=point,
                    building=batch.building,
                    floors=_floors(batch.floors),
                )
            elif verb == "pause":
                await self.drives.pause(drive_id, point)
                reply = self.t(request, "paused", point=point)
            elif verb == "resume":
                paused = await self.drives.resume(drive_id, point)
                reply = self.t(
                    request, "resumed", point=point, minutes=round(paused / timedelta(minutes=1))
                )
            else:
                batch = await self.drives.skip(drive_id, point)
                reply = self.t(
                    request,
                    "skipped",
                    point=point,
                    building=batch.building,
                    floors=_floors(batch.floors),
                )
        except DriveError as exc:
            await self.say(request, str(exc))
            return StaffReply()
        await self.record(request, f"/{verb}", target)
        await self.say(request, reply)
        return StaffReply(toast=reply[:190])

    # ---- /mark ----------------------------------------------------------------------------
    async def mark(self, request: StaffRequest) -> StaffReply:
        drive = await self.current_drive()
        if drive is None:
            await self.say(request, self.t(request, "no_drive"))
            return StaffReply()
        if len(request.args) != 2 or request.args[1] not in ("1", "2", "3"):
            await self.say(request, self.t(request, "mark_usage"))
            return StaffReply()
        address = request.args[0].replace("－", "-")
        building_text, _, room_text = address.partition("-")
        try:
            building = int(building_text.rstrip("号楼栋"))
            room = parse_room(room_text)
        except (ValueError, TypeError):
            await self.say(request, self.t(request, "mark_usage"))
            return StaffReply()
        room_value = room
        if not request.scope.allows(building):
            await self.refuse(request, "/mark", address, "not your building")
            return StaffReply()
        try:
            await self.drives.mark(
                drive.id, building, str(room_value), int(request.args[1]), request.staff.name
            )
        except DriveError as exc:
            await self.say(request, str(exc))
            return StaffReply()
        await self.record(
            request, "/mark", f"drive {drive.id} {building}-{room_value} {request.args[1]}"
        )
        await self.say(
            request,
            self.t(request, "marked", address=f"{building}-{room_value}", value=request.args[1]),
        )
        return StaffReply()


def _floors(floors: list[int]) -> str:
    return f"{min(floors)}" if min(floors) == max(floors) else f"{min(floors)}-{max(floors)}"


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


def register_drive_commands(
    commands: StaffCommands, router: Router, drives: DriveRuntime
) -> DriveCommands:
    handlers = DriveCommands(commands, router, drives)
    staff_roles = ("admin", "cadre", "officer", "point")
    commands.add(
        "drive",
        handlers.drive,
        roles=staff_roles,
        description={
            "zh-CN": "核酸召集：发起 / status / cancel",
            "en": "Testing call-up: start / status / cancel",
        },
    )
    for verb, zh, en in (
        ("next", "立即召集下一批", "call the next batch now"),
        ("pause", "暂停本采样点", "pause a point"),
        ("resume", "恢复本采样点", "resume a point"),
        ("skip", "跳过下一批", "skip the next batch"),
    ):
        commands.add(
            verb,
            handlers.pace_command(verb),
            roles=staff_roles,
            description={"zh-CN": zh, "en": en},
        )
    commands.add(
        "mark",
        handlers.mark,
        roles=staff_roles,
        description={"zh-CN": "登记住户：/mark 7-1203 1", "en": "mark a household: /mark 7-1203 1"},
    )
    commands.add_buttons(PREFIX, handlers.button)
    return handlers
