"""Each provider message has at most one effect: an inbound SMS per ``MessageSid`` (and, in
time, a Telegram update per ``update_id``, a call step per ``CallSid`` and step), whatever the
provider's retries or our restarts.

:func:`first_time` marks a message as being handled and says whether it is new (durably: the
mark is a row with a unique key). When handling fails, :func:`forget` removes the mark so the
provider's retry is handled.
"""

from __future__ import annotations

from datetime import datetime

from tortoise.exceptions import IntegrityError

from notifications.models import InboundSeen

KEY_LENGTH = 64


async def first_time(provider: str, key: str, *, now: datetime) -> InboundSeen | None:
    """The new mark, or None when this message was handled (or is being handled) already."""
    try:
        return await InboundSeen.create(provider=provider, key=key[:KEY_LENGTH], seen_at=now)
    except IntegrityError:
        return None


async def forget(mark: InboundSeen) -> None:
    """Handling failed: let the provider's retry be handled."""
    await InboundSeen.filter(id=mark.id).delete()
