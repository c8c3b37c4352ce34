"""A staff chat's next plain text after "Answer #N" goes to the waiting handler, once; other
chats' texts and commands are untouched."""

from __future__ import annotations

from bot.staff.base import StaffCommands, StaffReply, StaffRequest
from config.clock import FakeClock
from estate.models import Staff
from notifications.inbound import Inbound


async def test_next_text_goes_to_the_waiting_handler_once(db: str) -> None:
    await Staff.create(name="丙", role="cadre", telegram_chat_id=9003)
    commands = StaffCommands(clock=FakeClock())
    got: list[str] = []

    async def handler(request: StaffRequest) -> StaffReply:
        got.append(request.inbound.text or "")
        return StaffReply()

    commands.expect_text("9003", handler)
    other = Inbound(channel="telegram", address="7001", text="什么时候解封")
    assert await commands.handle(other) is None  # a resident's question: not taken
    assert await commands.handle(Inbound("telegram", "9003", text="/unknown")) is None
    assert await commands.handle(Inbound("telegram", "9003", text="下周解封")) is not None
    assert got == ["下周解封"]
    assert await commands.handle(Inbound("telegram", "9003", text="again")) is None  # once

    commands.expect_text("9003", handler)
    commands.expect_text("9003", None)  # stop waiting
    assert await commands.handle(Inbound("telegram", "9003", text="never mind")) is None
    assert got == ["下周解封"]
