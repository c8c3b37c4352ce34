"""Channel-neutral objects the gateways parse provider requests into: an :class:`Inbound`
message (routed by bot/router.py) and a :class:`DeliveryUpdate` (recorded by
:func:`notifications.outbox.record_delivery`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


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
