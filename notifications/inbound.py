"""Channel-neutral objects the gateways parse provider requests into: an :class:`Inbound`
message (routed by bot/router.py) and a :class:`DeliveryUpdate` (recorded by
:func:`notifications.outbox.record_delivery`)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from notifications.message import Message


@dataclass(frozen=True, slots=True)
class Inbound:
    channel: str  # telegram | sms | local
    address: str  # chat id or E.164 number
    text: str | None = None
    choice: str | None = None  # button data
    photo: str | None = None  # Telegram file_id
    voice: str | None = None  # Telegram file_id of a voice note (or an audio file)
    phone: str | None = None  # a shared contact's phone number
    phone_owner_ok: bool = True  # the shared contact is the sender's own
    message_id: int | None = None  # the message a button belongs to
    language: str | None = None
    provider_opted_out: bool = False  # the SMS provider already opted the sender out
    # The provider's id of this delivery (Telegram update_id, Twilio MessageSid): a delivery
    # the provider retries has the same id, so what is sent in answer is not sent twice.
    id: str | None = None
    # False for a Telegram group, supergroup or channel: the router answers "write to me
    # privately" there and does nothing else (no enrolment, survey, call-up or staff command).
    private: bool = True
    # An edited Telegram message: never an answer or a command.
    edited: bool = False

    def ref(self, now: datetime) -> str:
        """This inbound in idempotency keys: the provider's id; without one, the moment it
        came and a hash of what it says."""
        if self.id:
            return self.id
        said: tuple[object, ...] = (self.text, self.choice, self.photo, self.phone, self.message_id)
        if self.voice:
            said = (*said, self.voice)
        digest = hashlib.sha256(repr(said).encode()).hexdigest()[:12]
        return f"{now.timestamp():.6f}:{digest}"


def clean_text(value: str | None) -> str | None:
    """Text as the gateways hand it on: without NUL characters (PostgreSQL refuses them in text
    columns) and with lone surrogates (JSON can carry them; UTF-8 cannot) replaced by "?"."""
    if value is None:
        return None
    value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def reply_key(tag: str, inbound: Inbound, message: Message, now: datetime) -> str:
    """The idempotency key of ``message`` sent in answer to ``inbound``: the same for the same
    answer to the same inbound (a retried delivery), different for different answers."""
    body = json.dumps(message.to_json(), sort_keys=True, ensure_ascii=False, default=str)
    digest = hashlib.sha256(body.encode()).hexdigest()[:16]
    return f"{tag}:{inbound.channel}:{inbound.address}:{inbound.ref(now)}:{digest}"


class ContactEffect(Enum):
    """What a provider error code says about the contact (not about one message)."""

    NONE = "none"
    OPTED_OUT = "opted_out"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True, slots=True)
class DeliveryUpdate:
    """A provider's word on a message it was given: its outbox status (accepted, sent,
    delivered, undelivered, failed, cancelled), the provider's error code, and what that code
    means for the contact."""

    provider_id: str
    status: str
    error_code: str | None = None
    effect: ContactEffect = ContactEffect.NONE
