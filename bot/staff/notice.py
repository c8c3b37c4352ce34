"""``/notice BUILDINGS TEXT``: a notice to every household of those buildings (``all`` = the
staff member's buildings). Sent as a photo's caption, the photo goes along by Telegram; SMS
households get the text.

In the staff member's own voice: a Telegram voice note whose caption is ``/notice BUILDINGS
[TEXT]`` (the same form as a photo notice; a reply to a voice note is not used, so that one
message holds the whole notice and a retried delivery sends nothing twice). The note is
downloaded and converted for the phone (``notifications.media``); Telegram households get the
voice note itself, voice households hear it played (``<Play>``), SMS households get TEXT (or a
sentence saying a voice notice came, when there is no TEXT)."""

from __future__ import annotations

import logging

from bot.staff.base import BadBuildings, StaffCommand, StaffReply, StaffRequest
from bot.staff.texts import TEXTS
from config.i18n import text
from estate.models import Contact
from notifications.broadcast import broadcast
from notifications.message import Message

log = logging.getLogger(__name__)


class NoticeCommand(StaffCommand):
    name = "notice"
    roles = ("admin", "cadre", "officer")
    description = TEXTS["menu_notice"]

    async def command(self, request: StaffRequest) -> StaffReply | None:
        body = (request.inbound.text or "").strip().split(maxsplit=2)
        voice = request.inbound.voice
        if len(body) < (2 if voice else 3):
            await self.reply(request, self.t(request, "notice_usage"))
            await self.reply(request, self.t(request, "notice_voice_usage"))
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
        notice = body[2] if len(body) > 2 else None
        photo = request.inbound.photo
        audio: dict[str, str] | None = None
        if voice:
            try:
                if self.ctx.voice_note is None:
                    raise RuntimeError("Telegram is off")
                audio = {"name": await self.ctx.voice_note(voice), "file_id": voice}
            except Exception as exc:
                log.warning("voice notice not converted: %s", exc)
                await self.reply(request, self.t(request, "notice_voice_failed"))
                return None

        def compose(contact: Contact) -> Message:
            lang = contact.language
            said = notice if notice is not None else text(TEXTS, "notice_voice_text", lang)
            extra: dict[str, object] = {}
            if audio is not None and contact.channel == "telegram":
                extra["audio"] = audio
            elif audio is not None and contact.channel == "voice":
                extra["audio"] = {"name": audio["name"]}
            return Message(
                text(TEXTS, "notice_header", lang) + said,
                photo=photo if contact.channel == "telegram" else None,
                extra=extra,
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
            voice=audio["name"] if audio else None,
        )
        channels = ", ".join(
            self.t(request, "channel_count", channel=c, count=n)
            for c, n in sorted(sent.by_channel.items())
        ) or self.t(request, "channels_none")
        cost = f"{sent.segments * self.settings.sms_cost_per_segment:.2f}"
        said = self.t(
            request,
            "notice_sent",
            households=sent.households,
            channels=channels,
            segments=sent.segments,
            cost=cost,
        )
        if audio is not None:
            said += "\n" + self.t(request, "notice_sent_voice")
        await self.reply(request, said)
        return None
