"""What every channel adapter does: send one rendered message and classify what went wrong."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from notifications.message import Message


@dataclass(frozen=True, slots=True)
class SendResult:
    provider_id: str | None
    status: str = "sent"  # what the provider said: sent (Telegram) or queued/accepted (Twilio)
    segments: int = 1


class SendError(Exception):
    """Base of the three outcomes a provider error maps to."""

    def __init__(self, reason: str, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class RetryLater(SendError):
    """Network trouble, 5xx or 429: try again, no sooner than ``after`` seconds if given."""

    def __init__(self, reason: str, code: str | None = None, after: float | None = None) -> None:
        super().__init__(reason, code)
        self.after = after


class PermanentFailure(SendError):
    """This message can never be sent as it is (bad request); the contact may be fine."""


class Unreachable(SendError):
    """The contact cannot be reached on this channel (blocked, unsubscribed, bad number)."""

    def __init__(self, reason: str, code: str | None = None, *, opted_out: bool = False) -> None:
        super().__init__(reason, code)
        self.opted_out = opted_out


class ChannelAdapter(Protocol):
    """Moves bytes only: render a :class:`Message` for the channel and send it."""

    name: str

    def sender_key(self) -> str:
        """The rate-limit bucket of the sender (one bot, one phone number or service)."""
        ...

    def cost(self, message: Message) -> int:
        """Units of the sender's rate limit this message uses (SMS segments; 1 on Telegram)."""
        ...

    async def send(self, address: str, message: Message) -> SendResult: ...
