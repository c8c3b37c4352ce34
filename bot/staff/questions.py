"""Residents' questions: ``/questions`` and ``/reply``.

- Text a resident sends outside any survey becomes a question (or is answered from the FAQ).
- ``/questions``: today's open questions of the staff member's buildings, grouped by
  similarity, most asked first, each with an "Answer" button (``qa:a:GROUP``): the next text
  the staff member sends is the answer.
- ``/reply GROUP answer`` does the same in one message.

Every action is audited; a building outside the staff member's scope is refused and audited.
"""

from __future__ import annotations

from bot.staff.base import StaffReply, StaffRequest
from bot.staff.pickup import CareCommand
from bot.staff.texts import TEXTS as STAFF_TEXTS
from estate.models import Contact
from notifications.inbound import Inbound
from notifications.message import Button, Message
from surveys.questions.grouping import is_question_like

QUESTION_ROLES = ("admin", "cadre", "officer")
MAX_GROUPS_SHOWN = 15


class QuestionCommand(CareCommand):
    """What /questions and /reply share: answering a group of questions."""

    roles = QUESTION_ROLES

    async def group_allowed(self, request: StaffRequest, group_id: int, action: str) -> bool:
        building = await self.ctx.desk.building_of(group_id)
        if building is not None and not request.scope.allows(building):
            await self.refuse_said(request, action, f"question {group_id}", "out of scope")
            return False
        return True

    async def answer(self, request: StaffRequest, group_id: int, answer: str) -> None:
        if not answer:
            await self.reply(request, self.t(request, "q_reply_usage"))
            return
        if not await self.group_allowed(request, group_id, "/reply"):
            return
        now = self.clock.now()
        count = await self.ctx.desk.answer(
            group_id, answer, staff=request.staff, scope=request.scope, now=now
        )
        await self.allowed(request, "/reply", f"question {group_id}", answered=count or 0)
        if count is None:
            await self.reply(request, self.t(request, "q_no_group", id=group_id))
            return
        self.ctx.wake()
        await self.reply(request, self.t(request, "q_answered", id=group_id, count=count))


class QuestionsCommand(QuestionCommand):
    name = "questions"
    description = STAFF_TEXTS["menu_questions"]
    prefix = "qa:"

    async def resident_text(self, inbound: Inbound, contact: Contact, body: str) -> bool:
        """A resident's text outside any survey is a question."""
        if not is_question_like(body):
            return False
        reply = await self.ctx.desk.receive(contact, body, now=self.clock.now())
        await self.ctx.send(inbound, reply, contact, tag="question")
        return True

    async def command(self, request: StaffRequest) -> StaffReply:
        scope = request.scope
        await self.allowed(request, "/questions", str(scope))
        groups, auto = await self.ctx.desk.today(scope, now=self.clock.now())
        if not groups:
            lines = [self.t(request, "q_none")]
            if auto:
                lines.append(self.t(request, "q_auto", count=auto))
            await self.reply(request, "\n".join(lines))
            return StaffReply()
        label = "*" if scope.everything else ",".join(map(str, sorted(scope.buildings)))
        lines = [
            self.t(
                request,
                "q_header",
                buildings=label,
                questions=sum(g.count for g in groups),
                groups=len(groups),
            )
        ]
        buttons: list[tuple[Button, ...]] = []
        for group in groups[:MAX_GROUPS_SHOWN]:
            lines.append(
                self.t(
                    request,
                    "q_group",
                    id=group.id,
                    count=group.count,
                    buildings=",".join(map(str, group.buildings)),
                    text=group.text[:200],
                )
            )
            buttons.append(
                (Button(self.t(request, "q_btn_answer", id=group.id), f"qa:a:{group.id}"),)
            )
        if auto:
            lines.append(self.t(request, "q_auto", count=auto))
        lines.append(self.t(request, "q_hint"))
        await self.reply(request, Message("\n".join(lines), buttons=tuple(buttons)))
        return StaffReply()

    async def button(self, request: StaffRequest) -> StaffReply:
        """``qa:a:GROUP``: the staff member's next text answers the group."""
        try:
            group_id = int(request.data.split(":")[2])
        except (IndexError, ValueError):
            return StaffReply(self.t(request, "q_no_group", id="?"))
        target = f"question {group_id}"
        if request.staff.role not in QUESTION_ROLES:
            await self.refuse(request, "answer button", target, f"role {request.staff.role}")
            return StaffReply(self.t(request, "refused"))
        if not await self.group_allowed(request, group_id, "answer button"):
            return StaffReply(self.t(request, "refused"))
        groups, _ = await self.ctx.desk.today(request.scope, now=self.clock.now())
        group = next((g for g in groups if g.id == group_id), None)
        if group is None:
            return StaffReply(self.t(request, "q_no_group", id=group_id))
        await self.allowed(request, "answer button", target)

        async def answer(next_request: StaffRequest) -> StaffReply:
            await self.answer(next_request, group_id, (next_request.inbound.text or "").strip())
            return StaffReply()

        self.expect_text(request, answer)
        await self.reply(
            request,
            self.t(request, "q_type_answer", id=group_id, count=group.count, text=group.text[:200]),
        )
        return StaffReply()


class ReplyCommand(QuestionCommand):
    name = "reply"
    description = STAFF_TEXTS["menu_reply"]

    async def command(self, request: StaffRequest) -> StaffReply:
        if len(request.args) < 2 or not request.args[0].lstrip("#").isdigit():
            await self.reply(request, self.t(request, "q_reply_usage"))
            return StaffReply()
        group_id = int(request.args[0].lstrip("#"))
        body = (request.inbound.text or "").strip()
        answer = body.split(None, 2)[2] if len(body.split(None, 2)) == 3 else ""
        await self.answer(request, group_id, answer)
        return StaffReply()
