"""``/notice BUILDINGS TEXT``: a notice to every household of those buildings (``all`` = the
staff member's buildings). Sent as a photo's caption, the photo goes along by Telegram; SMS
households get the text."""

from __future__ import annotations

from bot.staff.base import BadBuildings, StaffCommand, StaffReply, StaffRequest
from bot.staff.texts import TEXTS
from config.i18n import text
from estate.models import Contact
from notifications.broadcast import broadcast
from notifications.message import Message


class NoticeCommand(StaffCommand):
    name = "notice"
    roles = ("admin", "cadre", "officer")
    description = TEXTS["menu_notice"]

    async def command(self, request: StaffRequest) -> StaffReply | None:
        body = (request.inbound.text or "").strip().split(maxsplit=2)
        if len(body) < 3:
            await self.reply(request, self.t(request, "notice_usage"))
            return None
        try:
            asked = self.parse_buildings(body[1])
        except BadBuildings:
            await self.reply(request, self.t(request, "bad_buildings", value=body[1]))
            return None
        if asked is None:
            buildings = await self.scope_buildings(request.scope)
        else:
            outside = [b for b in asked if not request.scope.allows(b)]
            if outside:
                return await self.refuse_outside(request, self.action, outside)
            buildings = asked
        notice = body[2]
        photo = request.inbound.photo

        def compose(contact: Contact) -> Message:
            return Message(
                text(TEXTS, "notice_header", contact.language) + notice,
                photo=photo if contact.channel == "telegram" else None,
            )

        now = self.clock.now()
        stamp = request.inbound.ref(now)  # a retried /notice sends nothing twice
        runtime = self.ctx.runtime
        sent = await broadcast(
            buildings,
            compose,
            key=f"notice:s{request.staff.id}:{stamp}",
            now=now,
            enabled=runtime.enabled,
            estate=request.scope.estate,
        )
        runtime.wake()
        await self.allowed(
            request,
            self.action,
            ",".join(map(str, buildings)),
            households=sent.households,
            photo=photo is not None,
        )
        channels = ", ".join(
            self.t(request, "channel_count", channel=c, count=n)
            for c, n in sorted(sent.by_channel.items())
        ) or self.t(request, "channels_none")
        cost = f"{sent.segments * self.settings.sms_cost_per_segment:.2f}"
        await self.reply(
            request,
            self.t(
                request,
                "notice_sent",
                households=sent.households,
                channels=channels,
                segments=sent.segments,
                cost=cost,
            ),
        )
        return None
