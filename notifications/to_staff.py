"""Messages to staff members: by their linked Telegram chat, else by SMS to their phone.

Staff are not household contacts, so their outbox rows carry a channel and an address only.
"""

from __future__ import annotations

from estate.access import real_chat_id
from estate.models import Staff
from notifications.message import Message
from notifications.models import Priority
from notifications.outbox import Outgoing


def staff_outgoing(
    staff: Staff,
    message: Message,
    *,
    key: str,
    priority: Priority = Priority.REPLY,
    purpose: str = "staff",
    ref: str = "",
    sms_ok: bool = True,
) -> Outgoing | None:
    """An outbox item for ``staff``; None when they can be reached by neither channel."""
    chat = real_chat_id(staff)  # a private chat: never a simulator placeholder or a group
    if chat is not None:
        channel, address = "telegram", str(chat)
    elif staff.phone and sms_ok:
        channel, address = "sms", staff.phone
        message = Message(message.text)  # no buttons, photos or files by SMS
    else:
        return None
    return Outgoing(
        contact=None,
        message=message,
        key=key,
        priority=priority,
        purpose=purpose,
        ref=ref,
        channel=channel,
        address=address,
    )
