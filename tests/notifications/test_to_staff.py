"""Messages to staff: Telegram when they linked a chat, else SMS. The simulator's placeholder
chat (a negative id, never a private chat) does not take SMS away from a staff member."""

from __future__ import annotations

from estate.models import Staff
from notifications.message import Message
from notifications.to_staff import staff_outgoing


def test_a_simulator_placeholder_chat_keeps_sms_alerts() -> None:
    member = Staff(id=3, name="王主任", role="cadre", phone="+8613911112222")
    member.telegram_chat_id = -(10**12 + 3)  # what opening the staff simulator as them stores
    item = staff_outgoing(member, Message("🚨"), key="k", purpose="alert")
    assert item is not None and (item.channel, item.address) == ("sms", "+8613911112222")


def test_a_linked_chat_is_used_and_a_chat_that_is_not_private_never() -> None:
    linked = Staff(id=4, name="a", role="cadre", phone="+8613911112223", telegram_chat_id=42)
    item = staff_outgoing(linked, Message("x"), key="k")
    assert item is not None and (item.channel, item.address) == ("telegram", "42")
    placeholder_only = Staff(id=5, name="b", role="cadre", telegram_chat_id=-(10**12 + 5))
    # a chat id that is not a private chat's (a group, a placeholder) is never written to
    assert staff_outgoing(placeholder_only, Message("x"), key="k") is None
