"""A message to every household of some buildings (a committee notice): one outbox row per
household, to its preferred reachable contact, in the household's language."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime

from estate.access import in_scope
from estate.contacts import pick_contact
from estate.models import Contact, Household
from notifications.message import Message
from notifications.models import Priority
from notifications.outbox import Outgoing, enqueue_many, segments_of


@dataclass
class Broadcast:
    """What was queued: households, households by channel, SMS segments."""

    households: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)
    segments: int = 0


async def broadcast(
    buildings: Collection[int],
    compose: Callable[[Contact], Message],
    *,
    key: str,
    now: datetime,
    enabled: set[str],
    purpose: str = "notice",
    priority: Priority = Priority.BULK,
    estate: int | None = None,
) -> Broadcast:
    """Queue ``compose(contact)`` for every household of ``buildings`` (of ``estate``, when
    given) that has a reachable contact. Each row's idempotency key is
    ``{key}:h{household id}``."""
    households = await Household.filter(
        building__number__in=list(buildings), **in_scope(estate)
    ).prefetch_related("contacts")
    result = Broadcast()
    items: list[Outgoing] = []
    for household in households:
        contact = pick_contact(household, household.contacts, enabled)
        if contact is None:
            continue
        message = compose(contact)
        result.segments += segments_of(contact.channel, message)
        result.by_channel[contact.channel] = result.by_channel.get(contact.channel, 0) + 1
        items.append(
            Outgoing(
                contact=contact,
                message=message,
                key=f"{key}:h{household.id}",
                priority=priority,
                purpose=purpose,
            )
        )
    await enqueue_many(items, now=now)
    result.households = len(items)
    return result
