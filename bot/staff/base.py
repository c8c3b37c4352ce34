"""Staff commands in Telegram: a small registry the router consults before resident routing.

A chat linked to an active :class:`Staff` (by sharing the staff member's phone number) may run
the commands registered here; each command names the roles allowed to run it. Button presses
whose data starts with a registered prefix (``"dr:"``) go to that prefix's handler. Every
command run (or refused) is written to the audit log. A resident's chat that sends a staff
command gets the ordinary "unknown command" answer, and the attempt is audited too.

Command modules (``bot/drive_commands.py`` ...) register themselves with :meth:`add` and
:meth:`add_buttons` from :func:`bot.app.build_services`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from config.clock import Clock
from estate.access import Scope, audit, scope_of, staff_by_chat
from estate.models import Staff
from estate.staff import ROLES
from notifications.inbound import Inbound


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


@dataclass
class _Command:
    handler: Handler
    roles: frozenset[str]
    description: dict[str, str]


class StaffCommands:
    def __init__(self, *, clock: Clock) -> None:
        self.clock = clock
        self._commands: dict[str, _Command] = {}
        self._buttons: dict[str, Handler] = {}
        # chat address -> handler for the next plain text (a guided flow asked a question)
        self._waiting_text: dict[str, Handler] = {}
        # Consulted first for every inbound (keep them cheap): e.g. an officer answering a
        # household's questions by proxy from their own chat.
        self.intercepts: list[Callable[[Inbound], Awaitable[StaffReply | None]]] = []

    # ---- registration ---------------------------------------------------------------------
    def add(
        self,
        name: str,
        handler: Handler,
        *,
        roles: tuple[str, ...] = ROLES,
        description: dict[str, str] | None = None,
    ) -> None:
        self._commands["/" + name.lstrip("/").lower()] = _Command(
            handler, frozenset(roles), description or {}
        )

    def add_buttons(self, prefix: str, handler: Handler) -> None:
        self._buttons[prefix] = handler

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
        return [
            (name.lstrip("/"), c.description.get(lang) or c.description.get("en") or name)
            for name, c in sorted(self._commands.items())
            if role is None or role in c.roles
        ]

    def is_command(self, body: str) -> bool:
        return bool(body.startswith("/") and _command_of(body) in self._commands)

    def is_button(self, data: str) -> bool:
        return any(data.startswith(prefix) for prefix in self._buttons)

    # ---- dispatch -------------------------------------------------------------------------
    async def staff_of(self, inbound: Inbound) -> Staff | None:
        if inbound.channel not in ("telegram", "local"):
            return None
        return await staff_by_chat(inbound.address)

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
            prefix = next(p for p in self._buttons if data.startswith(p))
            request = StaffRequest(staff, scope, inbound, data=data)
            return await self._buttons[prefix](request) or StaffReply()
        name = _command_of(body)
        command = self._commands[name]
        args = body.split()[1:]
        if staff.role not in command.roles:
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
        return await command.handler(request) or StaffReply()


def _command_of(body: str) -> str:
    return body.split()[0].split("@")[0].lower() if body.split() else ""
