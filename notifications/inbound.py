"""One inbound path for every channel: find the contact, then route the message."""

from __future__ import annotations

from dataclasses import dataclass


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
