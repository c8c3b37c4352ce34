"""Messages to staff members: by their linked Telegram chat, else by SMS to their phone.

Staff are not household contacts, so their outbox rows carry a channel and an address only.
"""

from __future__ import annotations

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
    # A negative chat id is the simulator's placeholder (never a private chat): a staff member
    # with a phone keeps getting SMS after someone opened the simulator as them.
    chat = staff.telegram_chat_id
    if chat is not None and (chat > 0 or not (staff.phone and sms_ok)):
        channel, address = "telegram", str(staff.telegram_chat_id)
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
