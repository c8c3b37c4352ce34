"""Every staff command, in one declarative list, and :func:`build_staff_commands`.

One module per command (``bot/staff/survey.py`` ...). Everything is limited to the staff
member's scope: a building outside it is refused with a clear message and the attempt is
audited (``allowed=False``); every action that goes through is audited too.
"""

from __future__ import annotations

from bot.staff.answer import AnswerCommand
from bot.staff.base import StaffCommand, StaffCommands, StaffContext
from bot.staff.delivery import DeliveryCommand
from bot.staff.drive import DriveCommand
from bot.staff.login import LoginCommand
from bot.staff.mark import MarkCommand
from bot.staff.notice import NoticeCommand
from bot.staff.pace import NextCommand, PauseCommand, ResumeCommand, SkipCommand
from bot.staff.pickup import PickupCommand
from bot.staff.questions import QuestionsCommand, ReplyCommand
from bot.staff.remind import RemindCommand
from bot.staff.report import ReportCommand
from bot.staff.status import StatusCommand
from bot.staff.survey import SurveyCommand

COMMANDS: tuple[type[StaffCommand], ...] = (
    SurveyCommand,
    StatusCommand,
    ReportCommand,
    RemindCommand,
    NoticeCommand,
    AnswerCommand,
    LoginCommand,
    DriveCommand,
    NextCommand,
    PauseCommand,
    ResumeCommand,
    SkipCommand,
    MarkCommand,
    PickupCommand,
    DeliveryCommand,
    QuestionsCommand,
    ReplyCommand,
)


def build_staff_commands(
    ctx: StaffContext, dispatcher: StaffCommands | None = None
) -> StaffCommands:
    """Every command of :data:`COMMANDS`, built with ``ctx`` and registered in ``dispatcher``
    (a new one when None)."""
    dispatcher = dispatcher if dispatcher is not None else StaffCommands(clock=ctx.clock)
    for command in COMMANDS:
        dispatcher.register(command(ctx))
    return dispatcher
