"""Staff commands in Telegram: the :class:`StaffCommand` base, the dispatcher, the context the
composition root passes in, and the declarative list of commands."""

from bot.staff.base import StaffCommand, StaffCommands, StaffContext, StaffReply, StaffRequest
from bot.staff.registry import COMMANDS, build_staff_commands

__all__ = [
    "COMMANDS",
    "StaffCommand",
    "StaffCommands",
    "StaffContext",
    "StaffReply",
    "StaffRequest",
    "build_staff_commands",
]
