"""Staff commands in Telegram: one :class:`StaffCommand` base, and the dispatcher the router
consults before resident routing.

A chat linked to an active :class:`Staff` (by sharing the staff member's phone number) may run
the commands registered here; each command names the roles allowed to run it. Button presses
whose data starts with a command's ``prefix`` (``"dr:"``) go to that command's :meth:`button`.
Every command run (or refused) is written to the audit log. A resident's chat that sends a
staff command gets the ordinary "unknown command" answer, and the attempt is audited too.

Commands get what they need through one :class:`StaffContext`, built by the composition root
(:mod:`bot.app`); the list of commands is :data:`bot.staff.registry.COMMANDS`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from bot.staff.texts import TEXTS
from config.clock import Clock
from config.i18n import Catalog, text
from config.settings import Settings
from estate.access import Scope, audit, scope_building_numbers, scope_of, staff_by_address
from estate.addresses import parse_building_ranges
from estate.models import Contact, Staff
from estate.staff import ROLES
from notifications.drives.runtime import DriveRuntime
from notifications.inbound import Inbound
from notifications.message import Message
from surveys.models import Round
from surveys.progress import find_round, round_buildings, rounds_in_scope
from surveys.questions.desk import QuestionDesk
from surveys.runtime import SurveyRuntime

log = logging.getLogger(__name__)

ALL_WORDS = frozenset({"all", "全部", "所有"})


class BadBuildings(ValueError):
    pass


@dataclass
class StaffRequest:
    """One staff command or button press, with who sent it and what they may see."""

    staff: Staff
    scope: Scope
    inbound: Inbound
    command: str = ""  # "/drive" (lower case, no @bot suffix); "" for a button
    args: list[str] = field(default_factory=list)
    data: str = ""  # button data

    @property
    def lang(self) -> str:
        return self.staff.language


@dataclass
class StaffReply:
    toast: str | None = None


Handler = Callable[[StaffRequest], Awaitable[StaffReply | None]]
# Answer a chat: (inbound, message, contact=None, *, tag="reply") -> queued in the outbox.
Send = Callable[..., Awaitable[None]]


@dataclass
class StaffContext:
    """Everything staff commands use, passed in by the composition root."""

    settings: Settings
    clock: Clock
    runtime: SurveyRuntime
    drives: DriveRuntime
    send: Send  # the router's send: answers the chat an inbound came from
    wake: Callable[[], None]  # the dispatcher: new outbox rows
    desk: QuestionDesk
    login_link: Callable[[Staff], Awaitable[str]]  # a one-time dashboard URL
    # A staff voice note made playable on the phone: Telegram file_id -> media name
    # (notifications.media); None when Telegram is off.
    voice_note: Callable[[str], Awaitable[str]] | None = None
    # A resident's recording at Twilio (its URL) fetched and kept: -> media name.
    recording_audio: Callable[[str], Awaitable[str]] | None = None


class StaffCommand:
    """One staff command: ``/name`` for ``roles``, optional buttons under ``prefix``.

    Subclasses set the class attributes and override :meth:`command` (and :meth:`button`).
    The dispatcher checks the role before :meth:`command`; buttons check their own."""

    name: ClassVar[str] = ""  # without the slash
    roles: ClassVar[tuple[str, ...]] = ROLES
    description: ClassVar[dict[str, str]] = {}  # zh-CN and en, for the command menu
    prefix: ClassVar[str | None] = None  # button data prefix, e.g. "sv:"
    texts: ClassVar[Catalog] = TEXTS

    def __init__(self, ctx: StaffContext) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        self.clock = ctx.clock
        self.dispatcher: StaffCommands | None = None  # set when registered

    @property
    def action(self) -> str:
        return "/" + self.name

    # ---- handlers -------------------------------------------------------------------------
    async def command(self, request: StaffRequest) -> StaffReply | None:
        raise NotImplementedError

    async def button(self, request: StaffRequest) -> StaffReply | None:
        return StaffReply()

    async def intercept(self, inbound: Inbound) -> StaffReply | None:
        """Consulted first for every inbound (keep it cheap); None: not taken."""
        return None

    async def resident_text(self, inbound: Inbound, contact: Contact, body: str) -> bool:
        """A resident's text outside any survey; True when taken."""
        return False

    def expect_text(self, request: StaffRequest, handler: Handler | None) -> None:
        """Send this chat's next plain text to ``handler`` (None: stop waiting)."""
        if self.dispatcher is not None:
            self.dispatcher.expect_text(request.inbound.address, handler)

    # ---- replies and the audit log --------------------------------------------------------
    def t(self, request: StaffRequest, key: str, **values: Any) -> str:
        return text(self.texts, key, request.lang, **values)

    async def reply(self, request: StaffRequest, message: Message | str) -> None:
        if isinstance(message, str):
            message = Message(message)
        await self.ctx.send(request.inbound, message, tag="staff")

    async def allowed(
        self, request: StaffRequest, action: str = "", target: str = "", **detail: Any
    ) -> None:
        """Record an action that went through."""
        await audit(
            now=self.clock.now(),
            action=action or self.action,
            staff=request.staff,
            target=target,
            allowed=True,
            detail=detail,
        )

    async def refuse(
        self,
        request: StaffRequest,
        action: str,
        target: str,
        why: str,
        *,
        say: str | None = None,
        **detail: Any,
    ) -> None:
        """Not allowed: record the attempt (``allowed=False``) and say ``say`` (if any)."""
        await audit(
            now=self.clock.now(),
            action=action,
            staff=request.staff,
            target=target,
            allowed=False,
            detail={"why": why, **detail},
        )
        log.info("%s refused for staff %d: %s", action, request.staff.id, why)
        if say is not None:
            await self.reply(request, say)

    async def refuse_outside(
        self, request: StaffRequest, action: str, buildings: Iterable[int], target: str = ""
    ) -> StaffReply:
        """Buildings outside the scope: say which, and record the attempt."""
        outside = sorted(set(buildings))
        await self.refuse(
            request,
            action,
            target or ",".join(map(str, outside)),
            "outside scope",
            say=text(
                TEXTS,
                "outside_scope",
                request.lang,
                buildings=",".join(map(str, outside)),
                mine=self.scope_label(request),
            ),
            buildings=outside,
        )
        return StaffReply(toast=text(TEXTS, "outside_scope_toast", request.lang))

    # ---- scope, buildings and rounds ------------------------------------------------------
    def scope_label(self, request: StaffRequest) -> str:
        scope = request.scope
        if scope.everything:
            return text(TEXTS, "scope_all", request.lang)
        return ",".join(map(str, sorted(scope.buildings))) or text(
            TEXTS, "scope_none", request.lang
        )

    @staticmethod
    def parse_buildings(value: str) -> list[int] | None:
        """``None`` for "all"; raises :class:`BadBuildings`."""
        if value.strip().lower() in ALL_WORDS:
            return None
        try:
            return parse_building_ranges(value)
        except ValueError as exc:
            raise BadBuildings(value) from exc

    @staticmethod
    async def scope_buildings(scope: Scope) -> list[int]:
        """The building numbers of the scope (every building for admins)."""
        return await scope_building_numbers(scope)

    @staticmethod
    async def round_buildings(round_: Round) -> list[int]:
        return await round_buildings(round_)

    @staticmethod
    async def rounds_in_scope(scope: Scope, *, open_only: bool = True) -> list[Round]:
        return await rounds_in_scope(scope, open_only=open_only)

    async def round_arg(self, request: StaffRequest, value: str) -> Round | None:
        """The round named in an argument; says so when there is none."""
        round_ = await find_round(value)
        if round_ is None:
            await self.reply(request, text(TEXTS, "no_round", request.lang, round=value))
        return round_


@dataclass
class _Registered:
    command: StaffCommand
    roles: frozenset[str]


class StaffCommands:
    """The dispatcher: which command or button an inbound is, who may run it, and the chats
    waiting for a typed answer."""

    def __init__(self, *, clock: Clock) -> None:
        self.clock = clock
        self._commands: dict[str, _Registered] = {}
        self._buttons: dict[str, Handler] = {}
        # chat address -> handler for the next plain text (a guided flow asked a question)
        self._waiting_text: dict[str, Handler] = {}
        # Consulted first for every inbound (keep them cheap): e.g. an officer answering a
        # household's questions by proxy from their own chat.
        self.intercepts: list[Callable[[Inbound], Awaitable[StaffReply | None]]] = []
        self._free_text: list[Callable[[Inbound, Contact, str], Awaitable[bool]]] = []
        self.registered: list[StaffCommand] = []

    # ---- registration ---------------------------------------------------------------------
    def register(self, command: StaffCommand) -> None:
        command.dispatcher = self
        self.registered.append(command)
        if type(command).intercept is not StaffCommand.intercept:
            self.intercepts.append(command.intercept)
        if type(command).resident_text is not StaffCommand.resident_text:
            self._free_text.append(command.resident_text)
        if command.name:
            self._commands["/" + command.name.lower()] = _Registered(
                command, frozenset(command.roles)
            )
        if command.prefix:  # one handler per prefix (the pace verbs share theirs)
            self._buttons.setdefault(command.prefix, command.button)

    def get(self, name: str) -> StaffCommand | None:
        registered = self._commands.get("/" + name.lstrip("/").lower())
        return registered.command if registered else None

    async def free_text(self, inbound: Inbound, contact: Contact, body: str) -> bool:
        """Router hook: a resident's text outside any survey; True when a command took it."""
        for hook in self._free_text:
            if await hook(inbound, contact, body):
                return True
        return False

    def expect_text(self, address: str, handler: Handler | None) -> None:
        """Send this chat's next plain text to ``handler`` (None: stop waiting)."""
        if handler is None:
            self._waiting_text.pop(address, None)
        else:
            self._waiting_text[address] = handler

    def names(self) -> list[str]:
        return sorted(self._commands)

    def menu(self, lang: str, role: str | None = None) -> list[tuple[str, str]]:
        """(command, description) pairs for Telegram's per-chat command menu (only the
        commands ``role`` may run, when given)."""
        out = []
        for name, registered in sorted(self._commands.items()):
            if role is not None and role not in registered.roles:
                continue
            described = registered.command.description
            out.append((name.lstrip("/"), described.get(lang) or described.get("en") or name))
        return out

    def is_command(self, body: str) -> bool:
        return bool(body.startswith("/") and _command_of(body) in self._commands)

    def is_button(self, data: str) -> bool:
        return any(data.startswith(prefix) for prefix in self._buttons)

    # ---- dispatch -------------------------------------------------------------------------
    async def staff_of(self, inbound: Inbound) -> Staff | None:
        return await staff_by_address(inbound.channel, inbound.address)

    async def handle(self, inbound: Inbound) -> StaffReply | None:
        """Run a staff command or button; ``None`` when this is not one (resident routing
        goes on). A non-staff sender of a staff command is audited and gets ``None`` too."""
        for intercept in self.intercepts:
            intercepted = await intercept(inbound)
            if intercepted is not None:
                return intercepted
        body = (inbound.text or "").strip()
        is_button = inbound.choice is not None and self.is_button(inbound.choice)
        is_command = not is_button and inbound.choice is None and self.is_command(body)
        waiter = self._waiting_text.get(inbound.address) if self._waiting_text else None
        if waiter is not None and inbound.choice is None and body and not body.startswith("/"):
            staff = await self.staff_of(inbound)
            if staff is not None:
                self._waiting_text.pop(inbound.address, None)
                request = StaffRequest(staff, await scope_of(staff), inbound, args=body.split())
                return await waiter(request) or StaffReply()
        if not (is_button or is_command):
            return None
        staff = await self.staff_of(inbound)
        now = self.clock.now()
        if staff is None:
            await audit(
                now=now,
                action=_command_of(body) if is_command else "button",
                actor=f"{inbound.channel}:{inbound.address[-4:]}",
                allowed=False,
                detail={"why": "not staff"},
            )
            return None
        scope = await scope_of(staff)
        if is_button:
            data = inbound.choice or ""
            prefix = max((p for p in self._buttons if data.startswith(p)), key=len)
            request = StaffRequest(staff, scope, inbound, data=data)
            return await self._buttons[prefix](request) or StaffReply()
        name = _command_of(body)
        registered = self._commands[name]
        args = body.split()[1:]
        if staff.role not in registered.roles:
            await audit(
                now=now,
                action=name,
                staff=staff,
                target=" ".join(args),
                allowed=False,
                detail={"why": f"role {staff.role}"},
            )
            return None
        request = StaffRequest(staff, scope, inbound, command=name, args=args)
        return await registered.command.command(request) or StaffReply()


def _command_of(body: str) -> str:
    return body.split()[0].split("@")[0].lower() if body.split() else ""


def leading_buildings(args: list[str]) -> tuple[list[int], list[str]]:
    """Leading building numbers (``7``, ``7,8``, ``1-3``) and the words after them."""
    numbers: list[int] = []
    for index, arg in enumerate(args):
        try:
            numbers.extend(parse_building_ranges(arg))
        except ValueError:
            return numbers, args[index:]
    return numbers, []
