"""The staff commands in Telegram's per-chat command menu (``setMyCommands`` with
``BotCommandScopeChat``): only a staff member's chat shows them, and only those their role may
run. The menu's data is :meth:`bot.staff.base.StaffCommands.menu`."""

from __future__ import annotations

import logging
from typing import Any

from telegram import BotCommand, BotCommandScopeChat

from bot.staff.base import StaffCommands
from estate.access import linked_staff, real_chat_id
from estate.models import Staff

log = logging.getLogger(__name__)


class StaffMenus:
    def __init__(self, commands: StaffCommands, telegram: Any | None) -> None:
        self.commands = commands
        self.telegram = telegram  # the PTB Application, or None when Telegram is off

    async def set_menu(self, staff: Staff) -> None:
        """Show the staff commands in this staff member's chat only."""
        chat = real_chat_id(staff)
        if self.telegram is None or chat is None:
            return
        menu = [
            BotCommand(name, description)
            for name, description in self.commands.menu(staff.language, role=staff.role)
        ]
        try:
            await self.telegram.bot.set_my_commands(menu, scope=BotCommandScopeChat(chat))
        except Exception as exc:  # the menu is a convenience: linking must not fail for it
            log.warning("setMyCommands failed: %s", type(exc).__name__)

    async def set_all_menus(self) -> None:
        """At start-up: the menu of every staff chat linked before (commands may have changed)."""
        for staff in await linked_staff():
            await self.set_menu(staff)
