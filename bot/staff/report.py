"""``/report [ROUND]``: the round's results as an XLSX document, only the rows of the staff
member's buildings (the newest round that covers them when no round is named)."""

from __future__ import annotations

import io

from bot.staff.base import StaffCommand, StaffReply, StaffRequest
from bot.staff.texts import TEXTS
from notifications.message import Message
from surveys.definition import load_definition, localize
from surveys.progress import buildings_in_scope
from surveys.report import Report, build_report, write_people_xlsx


def report_xlsx(report: Report, buildings: set[int] | None, lang: str) -> tuple[bytes, int]:
    """The committee's XLSX (results + call list) in ``lang``, keeping only the rows of
    ``buildings`` (all when None)."""
    if buildings is not None:
        report.rows = [r for r in report.rows if r[0] in buildings]
        report.members = {a: m for a, m in report.members.items() if a[0] in buildings}
    out = io.BytesIO()
    write_people_xlsx(report, out, lang)
    return out.getvalue(), len(report.rows)


class ReportCommand(StaffCommand):
    name = "report"
    roles = ("admin", "cadre", "officer")
    description = TEXTS["menu_report"]

    async def command(self, request: StaffRequest) -> StaffReply | None:
        if request.args:
            round_ = await self.round_arg(request, request.args[0])
            if round_ is None:
                return None
        else:
            rounds = await self.rounds_in_scope(request.scope, open_only=False)
            if not rounds:
                await self.reply(request, self.t(request, "report_none"))
                return None
            round_ = rounds[0]
        targets = await self.round_buildings(round_)
        mine = await buildings_in_scope(round_, request.scope)
        if not mine:
            return await self.refuse_outside(
                request, self.action, targets, target=f"round {round_.id}"
            )
        keep = None if request.scope.everything else set(mine)
        report = await build_report(round_.id, buildings=keep, estate=request.scope.estate)
        content, rows = report_xlsx(report, keep, request.lang)
        title = localize(load_definition(round_.definition).title, request.lang)
        label = self.scope_label(request) if request.scope.everything else ",".join(map(str, mine))
        caption = self.t(
            request, "report_caption", round=round_.id, title=title, rows=rows, buildings=label
        )
        await self.allowed(request, self.action, f"round {round_.id}", rows=rows)
        await self.reply(
            request,
            Message.with_document(caption, f"round{round_.id}-{round_.survey}.xlsx", content),
        )
        return None
