"""The committee's tools in Telegram, wired by :func:`register_staff_tools`.

One module per command (``bot/staff_survey.py``, ``staff_status.py``, ``staff_report.py``,
``staff_remind.py``, ``staff_notice.py``, ``staff_answer.py``), alerts to cadres
(``staff_alerts.py``), reminders and the deadline list (``staff_timers.py``). Everything here
is limited to the staff member's scope: a building outside it is refused with a clear message
and the attempt is audited (``allowed=False``); every action that goes through is audited too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram import BotCommand, BotCommandScopeChat

from bot.router import Router
from bot.staff.base import StaffReply, StaffRequest
from bot.staff.texts import TEXTS
from config.clock import Clock
from config.i18n import text
from config.settings import Settings
from estate.access import Scope, audit
from estate.addresses import parse_building_ranges
from estate.models import Building, Staff
from notifications.message import Message
from surveys.models import Round
from surveys.runtime import SurveyRuntime

if TYPE_CHECKING:
    from bot.app import Services
    from bot.staff.timers import TimerLoop

log = logging.getLogger(__name__)

ALL_WORDS = frozenset({"all", "全部", "所有"})


class BadBuildings(ValueError):
    pass


@dataclass
class StaffTools:
    router: Router
    runtime: SurveyRuntime
    clock: Clock
    settings: Settings
    timers: TimerLoop | None = None
    menus: dict[str, Any] = field(default_factory=dict)

    # ---- replies -------------------------------------------------------------------------
    def t(self, request: StaffRequest, key: str, **values: Any) -> str:
        return text(TEXTS, key, request.lang, **values)

    async def reply(self, request: StaffRequest, message: Message | str) -> None:
        if isinstance(message, str):
            message = Message(message)
        await self.router.send(request.inbound, message, tag="staff")

    async def allowed(
        self, request: StaffRequest, action: str, target: str = "", **detail: Any
    ) -> None:
        await audit(
            now=self.clock.now(),
            action=action,
            staff=request.staff,
            target=target,
            allowed=True,
            detail=detail,
        )

    async def refuse(
        self, request: StaffRequest, action: str, buildings: Iterable[int], target: str = ""
    ) -> StaffReply:
        """Outside the scope: say so, and record the attempt."""
        outside = sorted(set(buildings))
        await audit(
            now=self.clock.now(),
            action=action,
            staff=request.staff,
            target=target or ",".join(map(str, outside)),
            allowed=False,
            detail={"why": "outside scope", "buildings": outside},
        )
        log.info("%s refused for staff %d: outside scope", action, request.staff.id)
        await self.reply(
            request,
            self.t(
                request,
                "outside_scope",
                buildings=",".join(map(str, outside)),
                mine=self.scope_label(request),
            ),
        )
        return StaffReply(toast=self.t(request, "outside_scope_toast"))

    def scope_label(self, request: StaffRequest) -> str:
        scope = request.scope
        if scope.everything:
            return self.t(request, "scope_all")
        return ",".join(map(str, sorted(scope.buildings))) or self.t(request, "scope_none")

    # ---- buildings and rounds ------------------------------------------------------------
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
        if scope.everything:
            return sorted(await Building.all().values_list("number", flat=True))  # type: ignore[arg-type]
        return sorted(scope.buildings)

    @staticmethod
    async def round_buildings(round_: Round) -> list[int]:
        if round_.buildings:
            return sorted(int(b) for b in round_.buildings)
        return sorted(await Building.all().values_list("number", flat=True))  # type: ignore[arg-type]

    async def round_arg(self, request: StaffRequest, value: str) -> Round | None:
        try:
            round_id = int(value.lstrip("#"))
        except ValueError:
            round_id = -1
        round_ = await Round.get_or_none(id=round_id)
        if round_ is None:
            await self.reply(request, self.t(request, "no_round", round=value))
        return round_

    async def rounds_in_scope(self, scope: Scope, *, open_only: bool = True) -> list[Round]:
        """Rounds whose buildings meet the scope, newest first."""
        query = Round.filter(status="open") if open_only else Round.all()
        rounds = await query.order_by("-id").limit(50)
        if scope.everything:
            return list(rounds)
        return [r for r in rounds if scope.filter(await self.round_buildings(r))]

    # ---- the command menu ----------------------------------------------------------------
    async def set_menu(self, staff: Staff) -> None:
        """Show the staff commands in this staff member's chat only (BotCommandScopeChat)."""
        telegram = self.menus.get("telegram")
        commands = self.router.staff_commands
        if telegram is None or commands is None or staff.telegram_chat_id is None:
            return
        menu = [
            BotCommand(name, description)
            for name, description in commands.menu(staff.language, role=staff.role)
        ]
        try:
            await telegram.bot.set_my_commands(
                menu, scope=BotCommandScopeChat(staff.telegram_chat_id)
            )
        except Exception as exc:  # the menu is a convenience: linking must not fail for it
            log.warning("setMyCommands failed: %s", type(exc).__name__)

    async def set_all_menus(self) -> None:
        """At start-up: the menu of every staff chat linked before (commands may have changed)."""
        for staff in await Staff.filter(active=True, telegram_chat_id__isnull=False):
            await self.set_menu(staff)


def descriptions(key: str) -> dict[str, str]:
    return dict(TEXTS[key])


def register_staff_tools(services: Services) -> StaffTools:
    """Register every part-A staff command, the alert hook, the menu and the timer loop."""
    from bot.staff.alerts import StaffAlerts
    from bot.staff.answer import ProxyAnswers
    from bot.staff.notice import NoticeCommand
    from bot.staff.remind import RemindCommand
    from bot.staff.report import ReportCommand
    from bot.staff.status import StatusCommand
    from bot.staff.survey import SurveyCommand
    from bot.staff.timers import TimerLoop

    commands = services.router.staff_commands
    assert commands is not None
    tools = StaffTools(services.router, services.runtime, services.clock, services.settings)
    tools.menus["telegram"] = services.telegram
    survey = SurveyCommand(tools)
    commands.add(
        "survey",
        survey.start,
        roles=("admin", "cadre", "officer"),
        description=descriptions("menu_survey"),
    )
    commands.add_buttons(survey.PREFIX, survey.press)
    commands.add("status", StatusCommand(tools), description=descriptions("menu_status"))
    commands.add(
        "report",
        ReportCommand(tools),
        roles=("admin", "cadre", "officer"),
        description=descriptions("menu_report"),
    )
    commands.add(
        "remind",
        RemindCommand(tools),
        roles=("admin", "cadre", "officer"),
        description=descriptions("menu_remind"),
    )
    commands.add(
        "notice",
        NoticeCommand(tools),
        roles=("admin", "cadre", "officer"),
        description=descriptions("menu_notice"),
    )
    proxy = ProxyAnswers(tools)
    commands.add(
        "answer",
        proxy.start,
        roles=("admin", "cadre", "officer"),
        description=descriptions("menu_answer"),
    )
    commands.intercepts.append(proxy.intercept)
    services.runtime.alert_hooks.append(StaffAlerts(tools))
    services.router.staff_linked = tools.set_menu
    tools.timers = TimerLoop(services.runtime, tools)
    return tools
