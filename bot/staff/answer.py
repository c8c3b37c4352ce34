"""``/answer 7-1203 antigen``: an information officer who phoned a household answers for it
from their own chat. The household's questions come to the officer's chat (buttons and typed
answers work as for a resident); every revision records the officer (``Revision.staff``) and
the response is marked ``proxy``. ``/cancel`` stops.

The session (which chat answers for which response) is kept in memory: after a restart the
officer sends ``/answer`` again, and the household's answers so far are kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.staff.base import StaffReply, StaffRequest
from bot.staff.registry import StaffTools
from estate.addresses import parse_building, parse_room
from estate.models import Contact, Household, Staff
from notifications.inbound import Inbound
from surveys import engine
from surveys.definition import localize
from surveys.engine import SessionState
from surveys.models import Response
from surveys.render import button_inbound
from surveys.runtime import parse_button

log = logging.getLogger(__name__)

SESSION_SECONDS = 2 * 3600.0


@dataclass
class ProxySession:
    staff_id: int
    language: str
    household_id: int
    response_id: int
    until: float


class ProxyAnswers:
    ACTION = "/answer"

    def __init__(self, tools: StaffTools) -> None:
        self.tools = tools
        self.sessions: dict[str, ProxySession] = {}  # "telegram:<chat id>" -> session

    # ---- /answer -------------------------------------------------------------------------
    async def start(self, request: StaffRequest) -> StaffReply | None:
        tools = self.tools
        if not request.args or "-" not in request.args[0]:
            await tools.reply(request, tools.t(request, "answer_usage"))
            return None
        address = request.args[0]
        raw_building, raw_room = address.split("-", 1)
        try:
            building, room = parse_building(raw_building), parse_room(raw_room)
        except ValueError:
            await tools.reply(request, tools.t(request, "answer_usage"))
            return None
        if not request.scope.allows(building):
            return await tools.refuse(request, self.ACTION, [building], target=address)
        household = await Household.filter(building__number=building, room=room).first()
        if household is None:
            await tools.reply(request, tools.t(request, "answer_no_household", address=address))
            return None
        query = Response.filter(household_id=household.id, round__status="open")
        slug = request.args[1] if len(request.args) > 1 else ""
        if slug:
            query = query.filter(round__survey=slug)
        response = await query.order_by("-id").first()
        if response is None:
            await tools.reply(
                request, tools.t(request, "answer_no_round", address=address, survey=slug or "-")
            )
            return None
        await tools.allowed(
            request,
            self.ACTION,
            address,
            round=response.round_id,  # type: ignore[attr-defined]
            response=response.id,
        )
        key = f"{request.inbound.channel}:{request.inbound.address}"
        self.sessions[key] = ProxySession(
            staff_id=request.staff.id,
            language=request.staff.language,
            household_id=household.id,
            response_id=response.id,
            until=tools.clock.monotonic() + SESSION_SECONDS,
        )
        defn = await tools.runtime.definition(response.round_id)  # type: ignore[attr-defined]
        await tools.reply(
            request,
            tools.t(
                request,
                "answer_start",
                address=f"{building}-{household.room}",
                title=localize(defn.title, request.lang),
            ),
        )
        await self._begin(key, request.inbound)
        return None

    def _contact(self, session: ProxySession, inbound: Inbound) -> Contact:
        """The officer's chat, standing in for the household (never saved)."""
        return Contact(
            household_id=session.household_id,
            channel=inbound.channel,
            address=inbound.address,
            language=session.language,
            status="active",
        )

    async def _response(self, session: ProxySession) -> Response | None:
        cached = self.tools.runtime._active.get(session.household_id)
        if cached is not None and cached.id == session.response_id:
            return cached
        return await Response.get_or_none(id=session.response_id)

    async def _begin(self, key: str, inbound: Inbound) -> None:
        """Start the household's questions again from the first, answers so far kept."""
        session = self.sessions[key]
        runtime = self.tools.runtime
        async with runtime._lock(session.household_id):
            response = await self._response(session)
            if response is None:
                return
            defn = await runtime.definition(response.round_id)  # type: ignore[attr-defined]
            previous_seq = SessionState.from_json(response.state).seq if response.state else 0
            step = engine.start(
                defn, channel="telegram", previous=response.answers or None, seq=previous_seq
            )
            response.stage = "active"
            await runtime.apply(
                response, defn, self._contact(session, inbound), step, staff_id=session.staff_id
            )

    # ---- the officer's answers -----------------------------------------------------------
    async def intercept(self, inbound: Inbound) -> StaffReply | None:
        """Answers from a chat with a proxy session go to that household's response."""
        if not self.sessions:
            return None
        key = f"{inbound.channel}:{inbound.address}"
        session = self.sessions.get(key)
        if session is None:
            return None
        if session.until < self.tools.clock.monotonic():
            del self.sessions[key]
            return None
        body = (inbound.text or "").strip()
        suffix: str | None = None
        if inbound.choice is not None:
            parsed = parse_button(inbound.choice)
            if parsed is None or parsed[0] != session.response_id:
                return None
            suffix = parsed[2]
            seq = parsed[1]
        elif body.startswith("/") and body.split()[0].lower() != "/cancel":
            return None  # other commands (another /answer ...) go on as usual
        elif not body and inbound.photo is None:
            return None
        if not await Staff.filter(id=session.staff_id, active=True).exists():
            del self.sessions[key]
            return None
        runtime = self.tools.runtime
        async with runtime._lock(session.household_id):
            response = await self._response(session)
            if response is None or response.state is None:
                del self.sessions[key]
                return None
            if response.round_id not in await runtime.open_rounds():  # type: ignore[attr-defined]
                del self.sessions[key]
                return StaffReply()
            defn = await runtime.definition(response.round_id)  # type: ignore[attr-defined]
            state = SessionState.from_json(response.state)
            step_in: engine.Inbound | None
            if suffix is not None:
                if seq != state.seq:
                    return StaffReply()
                step_in = button_inbound(defn, state, suffix)
                if step_in is None:
                    return StaffReply()
                response.stage = "active"  # "change the last answer" after completing
            elif response.stage != "active":
                del self.sessions[key]
                return None
            elif body.lower().startswith("/cancel"):
                step_in = engine.Text("取消")
            elif inbound.photo is not None and not body:
                step_in = engine.Photo(inbound.photo)
            else:
                step_in = engine.Text(body)
            step = engine.handle(defn, state, step_in, channel="telegram", today=runtime.today())
            await runtime.apply(
                response,
                defn,
                self._contact(session, inbound),
                step,
                message_id=inbound.message_id if suffix is not None else None,
                staff_id=session.staff_id,
            )
            log.info("proxy answer by staff %d on response %d", session.staff_id, response.id)
        return StaffReply()
