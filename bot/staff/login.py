"""``/login``: a staff member asks the bot for a one-time link to the web dashboard."""

from __future__ import annotations

from collections.abc import Callable

from bot.staff.base import StaffCommands, StaffReply, StaffRequest
from bot.web.dashboard.auth import create_login_link
from config.clock import Clock
from config.i18n import text
from config.settings import Settings
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


def register_login(
    commands: StaffCommands, *, settings: Settings, clock: Clock, wake: Callable[[], None]
) -> None:
    async def login(request: StaffRequest) -> StaffReply:
        url = await create_login_link(request.staff, settings=settings, clock=clock)
        now = clock.now()
        body = text(
            TEXTS,
            "login_link",
            request.lang,
            minutes=f"{settings.login_link_minutes:g}",
            url=url,
        )
        inbound = request.inbound
        await enqueue_many(
            [
                Outgoing(
                    contact=None,
                    message=Message(body),
                    key=f"login:{inbound.channel}:{inbound.address}:{inbound.ref(now)}",
                    priority=Priority.REPLY,
                    purpose="reply",
                    channel=inbound.channel,
                    address=inbound.address,
                )
            ],
            now=now,
        )
        wake()
        return StaffReply()

    commands.add("login", login, description=DESCRIPTION)
