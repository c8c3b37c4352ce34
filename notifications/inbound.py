"""One inbound path for every channel: find the contact, then route the message."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from notifications.message import Message


@dataclass(frozen=True, slots=True)
class Inbound:
    channel: str  # telegram | sms | local
    address: str  # chat id or E.164 number
    text: str | None = None
    choice: str | None = None  # button data
    photo: str | None = None  # Telegram file_id
    phone: str | None = None  # a shared contact's phone number
    phone_owner_ok: bool = True  # the shared contact is the sender's own
    message_id: int | None = None  # the message a button belongs to
    language: str | None = None
    provider_opted_out: bool = False  # the SMS provider already opted the sender out
    # The provider's id of this delivery (Telegram update_id, Twilio MessageSid): a delivery
    # the provider retries has the same id, so what is sent in answer is not sent twice.
    id: str | None = None

    def ref(self, now: datetime) -> str:
        """This inbound in idempotency keys: the provider's id; without one, the moment it
        came and a hash of what it says."""
        if self.id:
            return self.id
        said = (self.text, self.choice, self.photo, self.phone, self.message_id)
        digest = hashlib.sha256(repr(said).encode()).hexdigest()[:12]
        return f"{now.timestamp():.6f}:{digest}"


def reply_key(tag: str, inbound: Inbound, message: Message, now: datetime) -> str:
    """The idempotency key of ``message`` sent in answer to ``inbound``: the same for the same
    answer to the same inbound (a retried delivery), different for different answers."""
    body = json.dumps(message.to_json(), sort_keys=True, ensure_ascii=False, default=str)
    digest = hashlib.sha256(body.encode()).hexdigest()[:16]
    return f"{tag}:{inbound.channel}:{inbound.address}:{inbound.ref(now)}:{digest}"
