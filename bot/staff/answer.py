"""``/answer 7-1203 antigen``: an information officer who phoned a household answers for it
from their own chat. The household's questions come to the officer's chat (buttons and typed
answers work as for a resident); every revision records the officer (``Revision.staff``) and
the response is marked ``proxy``. ``/cancel`` stops.

The session (which chat answers for which response) is kept in memory: after a restart the
officer sends ``/answer`` again, and the household's answers so far are kept. The survey
runtime does the answering (:meth:`~surveys.runtime.SurveyRuntime.answer_as_proxy`).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.staff.base import StaffCommand, StaffContext, StaffReply, StaffRequest
from bot.staff.texts import TEXTS
from estate.access import staff_is_active
from estate.addresses import parse_building, parse_room
from estate.models import Contact
from notifications.inbound import Inbound
from surveys.definition import localize
from surveys.runtime import ProxyResult, parse_button, proxy_target

SESSION_SECONDS = 2 * 3600.0


@dataclass
class ProxySession:
    staff_id: int
    language: str
    household_id: int
    response_id: int
    until: float


class AnswerCommand(StaffCommand):
    name = "answer"
    roles = ("admin", "cadre", "officer")
    description = TEXTS["menu_answer"]

    def __init__(self, ctx: StaffContext) -> None:
        super().__init__(ctx)
        self.sessions: dict[str, ProxySession] = {}  # "telegram:<chat id>" -> session

    # ---- /answer -------------------------------------------------------------------------
    async def command(self, request: StaffRequest) -> StaffReply | None:
        if not request.args or "-" not in request.args[0]:
            await self.reply(request, self.t(request, "answer_usage"))
            return None
        address = request.args[0]
        raw_building, raw_room = address.split("-", 1)
        try:
            building, room = parse_building(raw_building), parse_room(raw_room)
        except ValueError:
            await self.reply(request, self.t(request, "answer_usage"))
            return None
        if not request.scope.allows(building):
            return await self.refuse_outside(request, self.action, [building], target=address)
        slug = request.args[1] if len(request.args) > 1 else ""
        household, response = await proxy_target(building, room, slug, estate=request.scope.estate)
        if household is None:
            await self.reply(request, self.t(request, "answer_no_household", address=address))
            return None
        if response is None:
            await self.reply(
                request, self.t(request, "answer_no_round", address=address, survey=slug or "-")
            )
            return None
        await self.allowed(
            request,
            self.action,
            address,
            round=response.round_id,  # type: ignore[attr-defined]
            response=response.id,
        )
        key = f"{request.inbound.channel}:{request.inbound.address}"
        session = self.sessions[key] = ProxySession(
            staff_id=request.staff.id,
            language=request.staff.language,
            household_id=household.id,
            response_id=response.id,
            until=self.clock.monotonic() + SESSION_SECONDS,
        )
        runtime = self.ctx.runtime
        defn = await runtime.definition(response.round_id)  # type: ignore[attr-defined]
        await self.reply(
            request,
            self.t(
                request,
                "answer_start",
                address=f"{building}-{household.room}",
                title=localize(defn.title, request.lang),
            ),
        )
        await runtime.start_proxy(
            household_id=session.household_id,
            response_id=session.response_id,
            contact=_contact(session, request.inbound),
            staff_id=session.staff_id,
        )
        return None

    # ---- the officer's answers -----------------------------------------------------------
    async def intercept(self, inbound: Inbound) -> StaffReply | None:
        """Answers from a chat with a proxy session go to that household's response."""
        if not self.sessions:
            return None
        key = f"{inbound.channel}:{inbound.address}"
        session = self.sessions.get(key)
        if session is None:
            return None
        if session.until < self.clock.monotonic():
            self.sessions.pop(key, None)
            return None
        body = (inbound.text or "").strip()
        button: tuple[int, str] | None = None
        if inbound.choice is not None:
            parsed = parse_button(inbound.choice)
            if parsed is None or parsed[0] != session.response_id:
                return None
            button = (parsed[1], parsed[2])
        elif body.startswith("/") and body.split()[0].lower() != "/cancel":
            return None  # other commands (another /answer ...) go on as usual
        elif not body and inbound.photo is None:
            return None
        if not await staff_is_active(session.staff_id):
            self.sessions.pop(key, None)
            return None
        result = await self.ctx.runtime.answer_as_proxy(
            household_id=session.household_id,
            response_id=session.response_id,
            contact=_contact(session, inbound),
            staff_id=session.staff_id,
            body=body,
            photo=inbound.photo,
            button=button,
            message_id=inbound.message_id,
        )
        if result is ProxyResult.ENDED:
            self.sessions.pop(key, None)
            return None
        if result is ProxyResult.ROUND_CLOSED:
            self.sessions.pop(key, None)
        return StaffReply()


def _contact(session: ProxySession, inbound: Inbound) -> Contact:
    """The officer's chat, standing in for the household (never saved)."""
    return Contact(
        household_id=session.household_id,
        channel=inbound.channel,
        address=inbound.address,
        language=session.language,
        status="active",
    )
