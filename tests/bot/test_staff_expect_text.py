"""A staff chat's next plain text after "Answer #N" goes to the waiting handler, once, and not
after the wait expired; other chats' texts are untouched."""

from __future__ import annotations

from bot.inbound import Inbound
from bot.staff_commands import StaffCommands, StaffReply, StaffRequest
from config.clock import FakeClock
from estate.models import Staff


async def test_next_text_goes_to_the_waiting_handler_once(db: str) -> None:
    await Staff.create(name="丙", role="cadre", telegram_chat_id=9003)
    clock = FakeClock()
    commands = StaffCommands(clock=clock)
    got: list[str] = []

    async def handler(request: StaffRequest) -> StaffReply:
        got.append(request.inbound.text or "")
        return StaffReply()

    chat = Inbound(channel="telegram", address="9003", text="Answer #1")
    commands.expect_text(chat, handler, seconds=60)
    other = Inbound(channel="telegram", address="7001", text="什么时候解封")
    assert await commands.handle(other) is None  # a resident's question: not taken
    assert await commands.handle(Inbound("telegram", "9003", text="/unknown")) is None
    assert await commands.handle(Inbound("telegram", "9003", text="下周解封")) is not None
    assert got == ["下周解封"]
    assert await commands.handle(Inbound("telegram", "9003", text="again")) is None  # once

    commands.expect_text(chat, handler, seconds=60)
    clock.advance(61)
    assert await commands.handle(Inbound("telegram", "9003", text="too late")) is None
    assert got == ["下周解封"]
