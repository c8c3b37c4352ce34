"""The durable outbox: enqueue inside the caller's transaction; the dispatcher sends.

Nothing is sent except through here. An idempotency key makes a second enqueue of the same
message a no-op, so a retried state change never sends twice. :func:`cancel` withdraws queued
messages; :func:`record_delivery` records what a provider later says about a sent one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from estate.contacts import mark_contact
from estate.models import Contact
from notifications.channels.limits import split_message
from notifications.inbound import ContactEffect, DeliveryUpdate
from notifications.message import Message
from notifications.models import OutboxMessage, Priority
from notifications.segments import count_segments
from notifications.states import STATUS_ORDER, OutboxStatus, sources


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to enqueue."""

    contact: Contact | None
    message: Message
    key: str
    priority: Priority = Priority.SURVEY
    purpose: str = ""
    ref: str = ""
    not_before: datetime | None = None
    expires_at: datetime | None = None
    channel: str = ""  # with no contact: the channel and address to send to
    address: str = ""


#: Purposes whose text is a secret (a one-time login link): the row keeps it only until the
#: message has left (sent, or given up: failed or expired); then the text is replaced.
SECRET_PURPOSES = frozenset({"login"})
FORGOTTEN = Message(
    "（登录链接已在发出后从数据库删除）(login link removed from the database once sent)"
)


async def forget_secrets(rows: Iterable[OutboxMessage]) -> int:
    """Replace the text of the secret messages among ``rows`` (they have left the outbox)."""
    ids = [row.id for row in rows if row.purpose in SECRET_PURPOSES]
    if not ids:
        return 0
    return await OutboxMessage.filter(id__in=ids).update(body=FORGOTTEN.to_json())


def segments_of(channel: str, message: Message) -> int:
    return count_segments(message.text).segments if channel == "sms" else 1


def part_key(key: str, number: int) -> str:
    """The idempotency key of part ``number`` of a split message (part 1 keeps ``key``)."""
    if number == 1:
        return key[:190]
    suffix = f"|part{number}"
    return key[: 190 - len(suffix)] + suffix


def _rows(item: Outgoing, now: datetime) -> list[OutboxMessage]:
    """The outbox rows of one message: one, or one per part when it is over the channel's
    limit (see :func:`notifications.channels.limits.split_message`)."""
    channel = item.contact.channel if item.contact else item.channel
    return [
        _row(item, message, part_key(item.key, number), now)
        for number, message in enumerate(split_message(channel, item.message), start=1)
    ]


def _row(item: Outgoing, message: Message, key: str, now: datetime) -> OutboxMessage:
    contact = item.contact
    channel = contact.channel if contact else item.channel
    return OutboxMessage(
        created_at=now,
        updated_at=now,
        contact_id=contact.id if contact else None,
        household_id=contact.household_id if contact else None,  # type: ignore[attr-defined]
        channel=channel,
        address=contact.address if contact else item.address,
        body=message.to_json(),
        priority=int(item.priority),
        idempotency_key=key,
        purpose=item.purpose,
        ref=item.ref,
        status=OutboxStatus.QUEUED,
        next_attempt_at=item.not_before or now,
        expires_at=item.expires_at,
        segments=segments_of(channel, message),
    )


async def enqueue_many(
    items: Sequence[Outgoing], *, now: datetime, using_db: BaseDBAsyncClient | None = None
) -> int:
    """Add messages; those whose key is already in the outbox are skipped. Returns the count given.

    A message over its channel's length limit becomes several rows, in order (see
    :func:`_rows`)."""
    if not items:
        return 0
    rows = [row for item in items for row in _rows(item, now)]
    await OutboxMessage.bulk_create(rows, ignore_conflicts=True, using_db=using_db)
    return len(items)


async def enqueue(
    item: Outgoing, *, now: datetime, using_db: BaseDBAsyncClient | None = None
) -> None:
    await enqueue_many([item], now=now, using_db=using_db)


async def cancel(refs: Iterable[str], *, now: datetime, reason: str) -> int:
    """Cancel queued messages of these refs (e.g. a round that closed)."""
    return await OutboxMessage.filter(
        ref__in=list(refs), status__in=sources(OutboxStatus.CANCELLED)
    ).update(status=OutboxStatus.CANCELLED, error=reason, updated_at=now)


EARLY_CALLBACK_RETRIES = (0.05, 0.2, 0.5)


async def _row_of(provider_id: str) -> OutboxMessage | None:
    """The outbox row a provider's message id belongs to. A callback can beat the dispatcher's
    record of the id it was just given (the record is written right after the API call
    returns), so an unknown id is looked up again briefly before the update is dropped."""
    for delay in EARLY_CALLBACK_RETRIES:
        row = await OutboxMessage.get_or_none(provider_id=provider_id)
        if row is not None:
            return row
        await asyncio.sleep(delay)
    return await OutboxMessage.get_or_none(provider_id=provider_id)


async def record_delivery(update: DeliveryUpdate, *, now: datetime) -> bool:
    """Record a provider's delivery update: the message's status only moves forwards (late or
    repeated callbacks change nothing), and an error code that says the contact opted out or
    cannot be reached marks the contact. True when the row changed."""
    row = await _row_of(update.provider_id)
    if row is None:
        return False
    rank = STATUS_ORDER[update.status]  # parse_status gives only outbox statuses
    if rank <= STATUS_ORDER[row.status]:
        return False
    # The condition is checked by the UPDATE itself: callbacks for one message arrive
    # concurrently (sent and delivered close together) and the later one must not be dropped
    # because the earlier one changed the row since it was read.
    earlier = [name for name, order in STATUS_ORDER.items() if order < rank]
    changes: dict[str, object] = {"status": update.status, "updated_at": now}
    if update.error_code:
        changes["error_code"] = update.error_code
    updated = await OutboxMessage.filter(id=row.id, status__in=earlier).update(**changes)
    contact_id: int | None = row.contact_id  # type: ignore[attr-defined]
    if updated and update.error_code and contact_id and update.effect is not ContactEffect.NONE:
        await mark_contact(contact_id, update.effect.value, update.error_code)
    return bool(updated)
