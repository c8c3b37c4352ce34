"""``/pickup [building ...]``: the pickup lists of the latest ``medication`` round for the
shift on duty, as chat messages with mark buttons (``pk:c:`` card collected, ``pk:d:``
delivered) and as an XLSX document. No building: every building of the staff member's scope.
Every action is audited; a building outside the staff member's scope is refused and audited.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from bot.staff.base import StaffCommand, StaffContext, StaffReply, StaffRequest, leading_buildings
from bot.staff.texts import TEXTS as STAFF_TEXTS
from notifications.message import Message
from surveys.definition import SurveyDefinition, localize
from surveys.pickups.lists import PickupList, parse_mark, render_list, shift_hours, shift_on_duty
from surveys.pickups.store import MarkResult, lists_for, mark_item, on_duty_names, xlsx_bytes
from surveys.pickups.texts import TEXTS
from surveys.recordings import RecordingRow, round_recordings

log = logging.getLogger(__name__)
MAX_RECORDINGS = 30  # after the list; the rest are on the round's web page

PICKUP_ROLES = ("admin", "cadre", "officer", "logistics")


class CareCommand(StaffCommand):
    """What the pickup and question commands share: their texts and how they refuse."""

    texts = TEXTS

    def __init__(self, ctx: StaffContext) -> None:
        super().__init__(ctx)
        self.tz = ZoneInfo(ctx.settings.timezone)

    async def refuse_said(self, request: StaffRequest, action: str, target: str, why: str) -> None:
        await self.refuse(request, action, target, why, say=self.t(request, "refused"))


class PickupCommand(CareCommand):
    name = "pickup"
    roles = PICKUP_ROLES
    description = STAFF_TEXTS["menu_pickup"]
    prefix = "pk:"

    async def command(self, request: StaffRequest) -> StaffReply:
        asked, rest = leading_buildings(request.args)
        lang = request.lang
        if rest:
            await self.reply(request, self.t(request, "pk_usage"))
            return StaffReply()
        if asked and not request.scope.allows_all(asked):
            await self.refuse_said(request, "/pickup", ",".join(map(str, asked)), "out of scope")
            return StaffReply()
        buildings = asked or await self.scope_buildings(request.scope)
        await self.allowed(request, "/pickup", ",".join(map(str, buildings)))
        found = await lists_for(buildings, estate=request.scope.estate)
        if not found:
            await self.reply(request, self.t(request, "pk_no_round"))
            return StaffReply()
        now = self.clock.now()
        shift = shift_on_duty(now.astimezone(self.tz), self.settings.shift_a_start)
        names = await on_duty_names(
            [p.building for _, p in found], shift, estate=request.scope.estate
        )
        shown: list[PickupList] = []
        for round_id, plist in found:
            if not plist.households and not asked:
                continue  # without a building asked for, only buildings with something to do
            shown.append(plist)
            header = self.header(request, round_id, shift, names.get(plist.building))
            for message in render_list(plist, TEXTS, lang, header=header):
                await self.reply(request, message)
        if not shown:
            await self.reply(
                request, self.t(request, "pk_empty", building=",".join(map(str, buildings)))
            )
            return StaffReply()
        label = ",".join(str(p.building) for p in shown)
        data = xlsx_bytes(shown, "pickup")
        caption = self.t(request, "pk_xlsx_caption", buildings=label)
        filename = f"pickup-{self.clock.now().astimezone(self.tz):%Y%m%d-%H%M}.xlsx"
        await self.reply(request, Message.with_document(caption, filename, data))
        await self.send_recordings(request, [r for r, _ in found], [p.building for p in shown])
        return StaffReply()

    async def send_recordings(
        self, request: StaffRequest, round_ids: list[int], buildings: list[int]
    ) -> None:
        """The answers residents said on the phone (a drug name), as audio after the list."""
        fetch = self.ctx.recording_audio
        rows: list[tuple[SurveyDefinition, RecordingRow]] = []
        for round_id in dict.fromkeys(round_ids):
            defn = await self.ctx.runtime.definition(round_id)
            rows.extend((defn, r) for r in await round_recordings(round_id, buildings))
        for defn, row in rows[:MAX_RECORDINGS]:
            values = {"building": row.building, "room": row.room}
            try:
                if fetch is None:
                    raise RuntimeError("Twilio is off")
                name = await fetch(row.url)
            except Exception as exc:
                log.warning("recording %d not fetched: %s", row.id, exc)
                await self.reply(request, self.t(request, "pk_recording_gone", **values))
                continue
            group, _, item = row.question.partition(".")
            question = defn.question(group)
            if question is not None and item:
                question = question.item_question(item)
            label = localize(question.label, request.lang) if question else None
            said = self.t(
                request,
                "pk_recording",
                item=row.item or 1,
                question=label or row.question,
                seconds=row.duration,
                **values,
            )
            await self.reply(request, Message(said, extra={"audio": {"name": name}}))

    def header(
        self, request: StaffRequest, round_id: int, shift: str, names: list[str] | None
    ) -> str:
        return self.t(
            request,
            "pk_header",
            round=round_id,
            shift=shift,
            hours=shift_hours(shift, self.settings.shift_a_start),
            names=(" " + "、".join(names)) if names else "",
        )

    async def button(self, request: StaffRequest) -> StaffReply:
        """``pk:c:`` / ``pk:d:``: an item's card collected / medicine delivered."""
        parsed = parse_mark(request.data)
        if parsed is None:
            return StaffReply(self.t(request, "pk_gone"))
        kind, response_id, item = parsed
        action = "pickup card" if kind == "c" else "pickup delivered"
        target = f"response {response_id} item {item}"
        if request.staff.role not in PICKUP_ROLES:
            await self.refuse(request, action, target, f"role {request.staff.role}")
            return StaffReply(self.t(request, "refused"))
        outcome = await mark_item(
            kind=kind,
            response_id=response_id,
            item=item,
            staff=request.staff,
            scope=request.scope,
            now=self.clock.now(),
            enabled=self.ctx.runtime.enabled,
        )
        if outcome.address:
            target = f"{outcome.address} item {item}"
        if outcome.result is MarkResult.REFUSED:
            await self.refuse(request, action, target, "out of scope", building=outcome.building)
            return StaffReply(self.t(request, "refused"))
        await self.allowed(request, action, target, result=outcome.result.value)
        if outcome.result is MarkResult.GONE:
            return StaffReply(self.t(request, "pk_gone"))
        if outcome.result is MarkResult.ALREADY:
            return StaffReply(self.t(request, "pk_already"))
        self.ctx.wake()
        return StaffReply(
            self.t(request, "pk_marked_card" if kind == "c" else "pk_marked_delivered")
        )
