"""``/notice BUILDINGS TEXT``: a notice to every household of those buildings (``all`` = the
staff member's buildings). Sent as a photo's caption, the photo goes along by Telegram; SMS
households get the text."""

from __future__ import annotations

from bot.staff.base import StaffReply, StaffRequest
from bot.staff.registry import BadBuildings, StaffTools
from bot.staff.texts import TEXTS
from config.i18n import text
from estate.models import Household
from notifications.message import Message
from notifications.models import Priority
from notifications.outbox import Outgoing, enqueue_many, segments_of
from surveys.runtime import pick_contact


class NoticeCommand:
    ACTION = "/notice"

    def __init__(self, tools: StaffTools) -> None:
        self.tools = tools

    async def __call__(self, request: StaffRequest) -> StaffReply | None:
        tools = self.tools
        body = (request.inbound.text or "").strip().split(maxsplit=2)
        if len(body) < 3:
            await tools.reply(request, tools.t(request, "notice_usage"))
            return None
        try:
            asked = tools.parse_buildings(body[1])
        except BadBuildings:
            await tools.reply(request, tools.t(request, "bad_buildings", value=body[1]))
            return None
        if asked is None:
            buildings = await tools.scope_buildings(request.scope)
        else:
            outside = [b for b in asked if not request.scope.allows(b)]
            if outside:
                return await tools.refuse(request, self.ACTION, outside)
            buildings = asked
        notice = body[2]
        photo = request.inbound.photo
        households = await Household.filter(building__number__in=buildings).prefetch_related(
            "contacts"
        )
        now = tools.clock.now()
        stamp = request.inbound.ref(now)  # a retried /notice sends nothing twice
        items: list[Outgoing] = []
        by_channel: dict[str, int] = {}
        segments = 0
        for household in households:
            contact = pick_contact(household, household.contacts, tools.runtime.enabled)
            if contact is None:
                continue
            message = Message(
                text(TEXTS, "notice_header", contact.language) + notice,
                photo=photo if contact.channel == "telegram" else None,
            )
            segments += segments_of(contact.channel, message)
            by_channel[contact.channel] = by_channel.get(contact.channel, 0) + 1
            items.append(
                Outgoing(
                    contact=contact,
                    message=message,
                    key=f"notice:s{request.staff.id}:{stamp}:h{household.id}",
                    priority=Priority.BULK,
                    purpose="notice",
                )
            )
        await enqueue_many(items, now=now)
        tools.runtime.wake()
        await tools.allowed(
            request,
            self.ACTION,
            ",".join(map(str, buildings)),
            households=len(items),
            photo=photo is not None,
        )
        channels = ", ".join(
            tools.t(request, "channel_count", channel=c, count=n)
            for c, n in sorted(by_channel.items())
        ) or tools.t(request, "channels_none")
        cost = f"{segments * tools.settings.sms_cost_per_segment:.2f}"
        await tools.reply(
            request,
            tools.t(
                request,
                "notice_sent",
                households=len(items),
                channels=channels,
                segments=segments,
                cost=cost,
            ),
        )
        return None
