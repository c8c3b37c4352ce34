"""Staff commands for medicine pickups and residents' questions.

- ``/pickup [building ...]``: the pickup lists of the latest ``medication`` round for the
  shift on duty, as chat messages with mark buttons (``pk:c:`` card collected, ``pk:d:``
  delivered) and as an XLSX document. No building: every building of the staff member's scope.
- ``/delivery [building ...] [note]``: a large delivery; every logistics staff member of both
  shifts of those buildings is called.
- ``/questions``: today's open questions of the staff member's buildings, grouped by
  similarity, most asked first, each with an "Answer" button (``qa:a:GROUP``): the next text
  the staff member sends is the answer. ``/reply GROUP answer`` does the same in one message.
- Text a resident sends outside any survey becomes a question (or is answered from the FAQ).

Every action is audited; a building outside the staff member's scope is refused and audited.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.router import Router
from bot.staff.base import StaffCommands, StaffReply, StaffRequest
from config.i18n import text
from estate.access import Scope, audit
from estate.models import Building, Contact
from notifications.inbound import Inbound
from notifications.message import Button, Message
from surveys.pickups.lists import (
    PickupList,
    parse_mark,
    render_list,
    shift_hours,
    shift_on_duty,
)
from surveys.pickups.store import (
    MarkResult,
    call_both_shifts,
    lists_for,
    mark_item,
    on_duty_names,
    xlsx_bytes,
)
from surveys.pickups.texts import TEXTS
from surveys.questions.desk import QuestionDesk
from surveys.questions.grouping import is_question_like

log = logging.getLogger(__name__)

PICKUP_ROLES = ("admin", "cadre", "officer", "logistics")
DELIVERY_ROLES = ("admin", "cadre", "logistics")
QUESTION_ROLES = ("admin", "cadre", "officer")
MAX_GROUPS_SHOWN = 15


def _numbers(args: list[str]) -> tuple[list[int], list[str]]:
    """Leading building numbers (``7``, ``7,8``, ``1-3``) and the words after them."""
    from estate.addresses import parse_building_ranges

    numbers: list[int] = []
    for index, arg in enumerate(args):
        try:
            numbers.extend(parse_building_ranges(arg))
        except ValueError:
            return numbers, args[index:]
    return numbers, []


class CareCommands:
    def __init__(self, router: Router, staff: StaffCommands) -> None:
        self.router = router
        self.staff = staff
        self.clock = router.clock
        self.settings = router.settings
        self.tz = ZoneInfo(router.settings.timezone)
        self.desk = QuestionDesk(tz=self.tz)

    def now(self) -> datetime:
        return self.clock.now()

    async def _say(self, request: StaffRequest, message: Message) -> None:
        await self.router.send(request.inbound, message, tag="staff")

    async def _refuse(self, request: StaffRequest, action: str, target: str, why: str) -> None:
        await audit(
            now=self.now(),
            action=action,
            staff=request.staff,
            target=target,
            allowed=False,
            detail={"why": why},
        )
        await self._say(request, Message(text(TEXTS, "refused", request.lang)))

    async def _scope_buildings(self, scope: Scope) -> list[int]:
        if scope.everything:
            return sorted({int(row[0]) for row in await Building.all().values_list("number")})
        return sorted(scope.buildings)

    # ---- /pickup -------------------------------------------------------------------------------
    async def pickup(self, request: StaffRequest) -> StaffReply:
        asked, rest = _numbers(request.args)
        lang = request.lang
        if rest:
            await self._say(request, Message(text(TEXTS, "pk_usage", lang)))
            return StaffReply()
        if asked and not request.scope.allows_all(asked):
            await self._refuse(request, "/pickup", ",".join(map(str, asked)), "out of scope")
            return StaffReply()
        buildings = asked or await self._scope_buildings(request.scope)
        await audit(
            now=self.now(),
            action="/pickup",
            staff=request.staff,
            target=",".join(map(str, buildings)),
        )
        found = await lists_for(buildings)
        if not found:
            await self._say(request, Message(text(TEXTS, "pk_no_round", lang)))
            return StaffReply()
        shift = shift_on_duty(self.now().astimezone(self.tz), self.settings.shift_a_start)
        names = await on_duty_names([p.building for _, p in found], shift)
        shown: list[PickupList] = []
        for round_id, plist in found:
            if not plist.households and not asked:
                continue  # without a building asked for, only buildings with something to do
            shown.append(plist)
            header = self.header(round_id, plist.building, shift, names.get(plist.building), lang)
            for message in render_list(plist, TEXTS, lang, header=header):
                await self._say(request, message)
        if not shown:
            await self._say(
                request,
                Message(text(TEXTS, "pk_empty", lang, building=",".join(map(str, buildings)))),
            )
            return StaffReply()
        label = ",".join(str(p.building) for p in shown)
        data = xlsx_bytes(shown, "pickup")
        caption = text(TEXTS, "pk_xlsx_caption", lang, buildings=label)
        filename = f"pickup-{self.now().astimezone(self.tz):%Y%m%d-%H%M}.xlsx"
        await self._say(request, Message.with_document(caption, filename, data))
        return StaffReply()

    def header(
        self, round_id: int, building: int, shift: str, names: list[str] | None, lang: str
    ) -> str:
        return text(
            TEXTS,
            "pk_header",
            lang,
            round=round_id,
            shift=shift,
            hours=shift_hours(shift, self.settings.shift_a_start),
            names=(" " + "、".join(names)) if names else "",
        )

    async def mark(self, request: StaffRequest) -> StaffReply:
        parsed = parse_mark(request.data)
        lang = request.lang
        if parsed is None:
            return StaffReply(text(TEXTS, "pk_gone", lang))
        kind, response_id, item = parsed
        action = "pickup card" if kind == "c" else "pickup delivered"
        target = f"response {response_id} item {item}"
        if request.staff.role not in PICKUP_ROLES:
            await audit(
                now=self.now(),
                action=action,
                staff=request.staff,
                target=target,
                allowed=False,
                detail={"why": f"role {request.staff.role}"},
            )
            return StaffReply(text(TEXTS, "refused", lang))
        outcome = await mark_item(
            kind=kind,
            response_id=response_id,
            item=item,
            staff=request.staff,
            scope=request.scope,
            now=self.now(),
            enabled=self.router.runtime.enabled,
        )
        if outcome.address:
            target = f"{outcome.address} item {item}"
        if outcome.result is MarkResult.REFUSED:
            await audit(
                now=self.now(),
                action=action,
                staff=request.staff,
                target=target,
                allowed=False,
                detail={"why": "out of scope", "building": outcome.building},
            )
            return StaffReply(text(TEXTS, "refused", lang))
        await audit(
            now=self.now(),
            action=action,
            staff=request.staff,
            target=target,
            detail={"result": outcome.result.value},
        )
        if outcome.result is MarkResult.GONE:
            return StaffReply(text(TEXTS, "pk_gone", lang))
        if outcome.result is MarkResult.ALREADY:
            return StaffReply(text(TEXTS, "pk_already", lang))
        self.router.wake()
        return StaffReply(
            text(TEXTS, "pk_marked_card" if kind == "c" else "pk_marked_delivered", lang)
        )

    # ---- /delivery -----------------------------------------------------------------------------
    async def delivery(self, request: StaffRequest) -> StaffReply:
        asked, rest = _numbers(request.args)
        if asked and not request.scope.allows_all(asked):
            await self._refuse(request, "/delivery", ",".join(map(str, asked)), "out of scope")
            return StaffReply()
        buildings = asked or await self._scope_buildings(request.scope)
        note = " ".join(rest)
        count = await call_both_shifts(buildings, by=request.staff, note=note, now=self.now())
        await audit(
            now=self.now(),
            action="/delivery",
            staff=request.staff,
            target=",".join(map(str, buildings)),
            detail={"told": count},
        )
        self.router.wake()
        key = "delivery_sent" if count else "delivery_nobody"
        await self._say(request, Message(text(TEXTS, key, request.lang, count=count)))
        return StaffReply()

    # ---- questions -----------------------------------------------------------------------------
    async def resident_text(self, inbound: Inbound, contact: Contact, body: str) -> bool:
        """Router hook: a resident's text outside any survey is a question."""
        if not is_question_like(body):
            return False
        reply = await self.desk.receive(contact, body, now=self.now())
        await self.router.send(inbound, reply, contact, tag="question")
        return True

    async def questions(self, request: StaffRequest) -> StaffReply:
        lang = request.lang
        scope = request.scope
        await audit(now=self.now(), action="/questions", staff=request.staff, target=str(scope))
        groups, auto = await self.desk.today(scope, now=self.now())
        if not groups:
            lines = [text(TEXTS, "q_none", lang)]
            if auto:
                lines.append(text(TEXTS, "q_auto", lang, count=auto))
            await self._say(request, Message("\n".join(lines)))
            return StaffReply()
        label = "*" if scope.everything else ",".join(map(str, sorted(scope.buildings)))
        lines = [
            text(
                TEXTS,
                "q_header",
                lang,
                buildings=label,
                questions=sum(g.count for g in groups),
                groups=len(groups),
            )
        ]
        buttons: list[tuple[Button, ...]] = []
        for group in groups[:MAX_GROUPS_SHOWN]:
            lines.append(
                text(
                    TEXTS,
                    "q_group",
                    lang,
                    id=group.id,
                    count=group.count,
                    buildings=",".join(map(str, group.buildings)),
                    text=group.text[:200],
                )
            )
            buttons.append(
                (Button(text(TEXTS, "q_btn_answer", lang, id=group.id), f"qa:a:{group.id}"),)
            )
        if auto:
            lines.append(text(TEXTS, "q_auto", lang, count=auto))
        lines.append(text(TEXTS, "q_hint", lang))
        await self._say(request, Message("\n".join(lines), buttons=tuple(buttons)))
        return StaffReply()

    async def _group_allowed(self, request: StaffRequest, group_id: int, action: str) -> bool:
        building = await self.desk.building_of(group_id)
        if building is not None and not request.scope.allows(building):
            await self._refuse(request, action, f"question {group_id}", "out of scope")
            return False
        return True

    async def answer_button(self, request: StaffRequest) -> StaffReply:
        lang = request.lang
        try:
            group_id = int(request.data.split(":")[2])
        except (IndexError, ValueError):
            return StaffReply(text(TEXTS, "q_no_group", lang, id="?"))
        if request.staff.role not in QUESTION_ROLES:
            await audit(
                now=self.now(),
                action="answer button",
                staff=request.staff,
                target=f"question {group_id}",
                allowed=False,
                detail={"why": f"role {request.staff.role}"},
            )
            return StaffReply(text(TEXTS, "refused", lang))
        if not await self._group_allowed(request, group_id, "answer button"):
            return StaffReply(text(TEXTS, "refused", lang))
        groups, _ = await self.desk.today(request.scope, now=self.now())
        group = next((g for g in groups if g.id == group_id), None)
        if group is None:
            return StaffReply(text(TEXTS, "q_no_group", lang, id=group_id))
        await audit(
            now=self.now(),
            action="answer button",
            staff=request.staff,
            target=f"question {group_id}",
        )

        async def answer(next_request: StaffRequest) -> StaffReply:
            await self._answer(next_request, group_id, (next_request.inbound.text or "").strip())
            return StaffReply()

        self.staff.expect_text(request.inbound.address, answer)
        await self._say(
            request,
            Message(
                text(
                    TEXTS,
                    "q_type_answer",
                    lang,
                    id=group_id,
                    count=group.count,
                    text=group.text[:200],
                )
            ),
        )
        return StaffReply()

    async def reply(self, request: StaffRequest) -> StaffReply:
        lang = request.lang
        if len(request.args) < 2 or not request.args[0].lstrip("#").isdigit():
            await self._say(request, Message(text(TEXTS, "q_reply_usage", lang)))
            return StaffReply()
        group_id = int(request.args[0].lstrip("#"))
        body = (request.inbound.text or "").strip()
        answer = body.split(None, 2)[2] if len(body.split(None, 2)) == 3 else ""
        await self._answer(request, group_id, answer)
        return StaffReply()

    async def _answer(self, request: StaffRequest, group_id: int, answer: str) -> None:
        lang = request.lang
        if not answer:
            await self._say(request, Message(text(TEXTS, "q_reply_usage", lang)))
            return
        if not await self._group_allowed(request, group_id, "/reply"):
            return
        count = await self.desk.answer(
            group_id, answer, staff=request.staff, scope=request.scope, now=self.now()
        )
        await audit(
            now=self.now(),
            action="/reply",
            staff=request.staff,
            target=f"question {group_id}",
            detail={"answered": count or 0},
        )
        if count is None:
            await self._say(request, Message(text(TEXTS, "q_no_group", lang, id=group_id)))
            return
        self.router.wake()
        await self._say(request, Message(text(TEXTS, "q_answered", lang, id=group_id, count=count)))


def register_care_commands(router: Router) -> CareCommands:
    """Add the pickup and question commands to the router's staff registry and route residents'
    free text to the question desk (called once from :func:`bot.app.build_services`)."""
    staff = router.staff_commands
    assert staff is not None, "build_services creates the staff registry first"
    care = CareCommands(router, staff)
    staff.add(
        "pickup",
        care.pickup,
        roles=PICKUP_ROLES,
        description={"zh-CN": "配药清单（值班班次）", "en": "Medicine pickup list (shift on duty)"},
    )
    staff.add(
        "delivery",
        care.delivery,
        roles=DELIVERY_ROLES,
        description={"zh-CN": "大批到货：通知A、B两班", "en": "Large delivery: call both shifts"},
    )
    staff.add(
        "questions",
        care.questions,
        roles=QUESTION_ROLES,
        description={"zh-CN": "今天的居民问题", "en": "Residents' questions today"},
    )
    staff.add(
        "reply",
        care.reply,
        roles=QUESTION_ROLES,
        description={
            "zh-CN": "答复一类问题：/reply 编号 内容",
            "en": "Answer a group: /reply N text",
        },
    )
    staff.add_buttons("pk:", care.mark)
    staff.add_buttons("qa:", care.answer_button)
    router.free_text = care.resident_text
    return care
