"""``/survey``: open a round with buttons — survey → buildings (only the staff member's) →
deadline → a confirmation with households by channel, SMS segments and cost → open.

Every step's button carries the choices so far (``sv:d:antigen:7:7200``), so nothing is kept
in memory between presses; each press checks the scope again (button data can be forged).
The round gets the default reminders (2 h and 30 min before its deadline).
"""

from __future__ import annotations

from datetime import timedelta

from bot.staff.base import StaffCommand, StaffContext, StaffReply, StaffRequest
from bot.staff.texts import TEXTS
from config.clock import SHORT, local_time
from notifications.message import Button, Message
from surveys.definition import builtin_slugs, load_builtin, localize
from surveys.preview import preview_round, voice_line
from surveys.reminders import schedule_round

DEADLINE_HOURS = (2, 4, 6, 12, 24)
PER_ROW = 5


class SurveyCommand(StaffCommand):
    name = "survey"
    roles = ("admin", "cadre", "officer")
    description = TEXTS["menu_survey"]
    prefix = "sv:"

    def __init__(self, ctx: StaffContext) -> None:
        super().__init__(ctx)
        self._used: set[tuple[str, int]] = set()  # confirmations already pressed

    async def command(self, request: StaffRequest) -> StaffReply | None:
        rows = tuple(
            (
                Button(
                    localize(load_builtin(slug).title, request.lang) + f" ({slug})",
                    f"sv:s:{slug}",
                ),
            )
            for slug in builtin_slugs()
        )
        await self.reply(request, Message(self.t(request, "survey_pick"), buttons=rows))
        return None

    async def button(self, request: StaffRequest) -> StaffReply | None:
        parts = request.data.split(":")
        step = parts[1] if len(parts) > 1 else ""
        if step == "x":
            await self.reply(request, self.t(request, "survey_cancelled"))
            return StaffReply()
        slug = parts[2] if len(parts) > 2 else ""
        if slug not in builtin_slugs():
            return StaffReply()
        if step == "s":
            return await self._buildings(request, slug)
        which = parts[3] if len(parts) > 3 else ""
        buildings = await self._chosen(request, which)
        if buildings is None:
            return StaffReply()
        if isinstance(buildings, StaffReply):
            return buildings
        if step == "b":
            return await self._deadline(request, slug, which, buildings)
        try:
            seconds = int(parts[4])
        except (IndexError, ValueError):
            return StaffReply()
        if step == "d":
            return await self._confirm(request, slug, which, buildings, seconds)
        if step == "go":
            return await self._open(request, slug, buildings, seconds)
        return StaffReply()

    # ---- steps ---------------------------------------------------------------------------
    async def _buildings(self, request: StaffRequest, slug: str) -> StaffReply:
        numbers = await self.scope_buildings(request.scope)
        buttons = [Button(str(n), f"sv:b:{slug}:{n}") for n in numbers]
        rows = [tuple(buttons[i : i + PER_ROW]) for i in range(0, len(buttons), PER_ROW)]
        everything = "survey_all" if request.scope.everything else "survey_all_mine"
        rows.insert(0, (Button(self.t(request, everything), f"sv:b:{slug}:all"),))
        title = localize(load_builtin(slug).title, request.lang)
        await self.reply(
            request,
            Message(self.t(request, "survey_buildings", title=title), buttons=tuple(rows)),
        )
        return StaffReply()

    async def _chosen(self, request: StaffRequest, which: str) -> list[int] | StaffReply | None:
        """The buildings a button names ([] = every building, for admins); refused outside
        the scope; None when unreadable."""
        if which == "all":
            return [] if request.scope.everything else sorted(request.scope.buildings)
        try:
            number = int(which)
        except ValueError:
            return None
        if not request.scope.allows(number):
            return await self.refuse_outside(request, self.action, [number])
        return [number]

    def _label(self, request: StaffRequest, buildings: list[int]) -> str:
        if not buildings:
            return self.t(request, "survey_all")
        return ",".join(map(str, buildings))

    async def _deadline(
        self, request: StaffRequest, slug: str, which: str, buildings: list[int]
    ) -> StaffReply:
        buttons = tuple(
            Button(self.t(request, "survey_hours", hours=h), f"sv:d:{slug}:{which}:{h * 3600}")
            for h in DEADLINE_HOURS
        )
        title = localize(load_builtin(slug).title, request.lang)
        await self.reply(
            request,
            Message(
                self.t(
                    request,
                    "survey_deadline",
                    title=title,
                    buildings=self._label(request, buildings),
                ),
                buttons=(buttons,),
            ),
        )
        return StaffReply()

    async def _confirm(
        self, request: StaffRequest, slug: str, which: str, buildings: list[int], seconds: int
    ) -> StaffReply:
        preview = await preview_round(
            self.ctx.runtime, slug, buildings=buildings or None, estate=request.scope.estate
        )
        channels = ", ".join(
            self.t(request, "channel_count", channel=c, count=n)
            for c, n in sorted(preview.by_channel.items())
        ) or self.t(request, "channels_none")
        extra = []
        if preview.waiting:
            extra.append(self.t(request, "survey_waiting", count=preview.waiting))
        for older, count in sorted(preview.ahead_of.items()):
            extra.append(self.t(request, "survey_ahead_of", round=older, count=count))
        if preview.unreachable:
            extra.append(self.t(request, "survey_unreachable", count=preview.unreachable))
        voice = voice_line(preview, request.lang)
        if voice:
            extra.append(voice)
        deadline = (self.clock.now() + timedelta(seconds=seconds)).astimezone(self.ctx.runtime.tz)
        body = self.t(
            request,
            "survey_confirm",
            title=localize(load_builtin(slug).title, request.lang),
            buildings=self._label(request, buildings),
            deadline=local_time(deadline, self.ctx.runtime.tz, SHORT),
            households=preview.households,
            channels=channels,
            segments=preview.sms_segments,
            cost=f"{preview.sms_segments * self.settings.sms_cost_per_segment:.2f}",
            extra="\n".join(extra),
        ).rstrip()
        buttons = (
            (
                Button(self.t(request, "survey_open_button"), f"sv:go:{slug}:{which}:{seconds}"),
                Button(self.t(request, "survey_cancel_button"), "sv:x"),
            ),
        )
        await self.reply(request, Message(body, buttons=buttons))
        return StaffReply()

    async def _open(
        self, request: StaffRequest, slug: str, buildings: list[int], seconds: int
    ) -> StaffReply:
        pressed = (request.inbound.address, request.inbound.message_id or 0)
        if request.inbound.message_id is not None and pressed in self._used:
            return StaffReply(toast=self.t(request, "survey_used"))
        self._used.add(pressed)
        opened = await self.ctx.runtime.open_round(
            slug,
            buildings=buildings or None,
            closes_in=timedelta(seconds=seconds),
            created_by=request.staff.name,
            estate=request.scope.estate,
        )
        await schedule_round(opened.round, None, now=self.clock.now())
        await self.allowed(
            request,
            self.action,
            f"round {opened.round.id}",
            survey=slug,
            buildings=buildings,
            households=opened.households,
            sms_segments=opened.sms_segments,
        )
        title = localize(load_builtin(slug).title, request.lang)
        await self.reply(
            request,
            self.t(
                request,
                "survey_opened",
                round=opened.round.id,
                title=title,
                households=opened.households,
            ),
        )
        return StaffReply()
