"""``/login``: a staff member asks the bot for a one-time link to the web dashboard."""

from __future__ import annotations

from datetime import timedelta

from bot.staff.base import StaffCommand, StaffReply, StaffRequest
from notifications.message import Message
from notifications.models import Priority
from notifications.outbox import Outgoing, enqueue_many

TEXTS = {
    "login_link": {
        "zh-CN": "您的一次性登录链接（{minutes} 分钟内有效，只能用一次，请勿转发）：\n{url}",
        "en": "Your one-time login link (valid for {minutes} minutes, works once; do not "
        "forward it):\n{url}",
    },
}
DESCRIPTION = {"zh-CN": "获取网页后台的登录链接", "en": "Get a login link for the web dashboard"}


class LoginCommand(StaffCommand):
    name = "login"
    description = DESCRIPTION
    texts = TEXTS

    async def command(self, request: StaffRequest) -> StaffReply | None:
        url = await self.ctx.login_link(request.staff)
        now = self.clock.now()
        body = self.t(
            request, "login_link", minutes=f"{self.settings.login_link_minutes:g}", url=url
        )
        inbound = request.inbound
        await enqueue_many(
            [
                Outgoing(
                    contact=None,
                    message=Message(body, extra={"secret": True}),
                    key=f"login:{inbound.channel}:{inbound.address}:{inbound.ref(now)}",
                    priority=Priority.REPLY,
                    purpose="login",  # its text is cleared once sent (notifications.outbox)
                    channel=inbound.channel,
                    address=inbound.address,
                    # Not sent once the link has expired.
                    expires_at=now + timedelta(minutes=self.settings.login_link_minutes),
                )
            ],
            now=now,
        )
        self.ctx.wake()
        return StaffReply()
