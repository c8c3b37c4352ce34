"""Contacts: which of a household's contacts a message goes to, linking a chat by a shared
phone number, opting out and in, and marking a contact reachable again when it writes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from estate.access import in_scope
from estate.importing.residents import REPLACED_BY_IMPORT
from estate.models import Building, Contact, Household, Person, Staff

_SMS_LIKE = ("sms", "voice")
GROUP_CHAT = "group chat"  # the status_reason of a contact unlinked because its chat is a group


def is_private_chat(chat_id: int | str | None) -> bool:
    """A Telegram chat id that can be a private chat: a person's chat id is their user id, a
    positive number; groups, supergroups and channels have negative ids. Only private chats
    are linked to a household or a staff member and chosen for their messages."""
    try:
        return int(str(chat_id)) > 0
    except ValueError:
        return False


def usable_contact(contact: Contact) -> bool:
    """Active, and never a Telegram chat that is not a private one."""
    if contact.status != "active":
        return False
    return contact.channel != "telegram" or is_private_chat(contact.address)


def pick_contact(
    household: Household, contacts: Iterable[Contact], enabled: set[str]
) -> Contact | None:
    """The contact a round goes to: the household's preferred channel first, then any other."""
    usable = [c for c in contacts if usable_contact(c) and c.channel in enabled]
    if not usable:
        return None
    preferred = household.preferred_channel
    usable.sort(key=lambda c: (c.channel != preferred, c.channel != "telegram", c.id))
    return usable[0]


# ---- finding ---------------------------------------------------------------------------------
async def contacts_at(keys: list[tuple[str, str]]) -> dict[tuple[str, str], list[Contact]]:
    """The registered contacts of each (channel, address), in id order (one per household);
    an old number an import replaced is not one of them."""
    found: dict[tuple[str, str], list[Contact]] = {}
    for channel in {c for c, _ in keys}:
        addresses = [a for c, a in keys if c == channel]
        rows = (
            await Contact.filter(channel=channel, address__in=addresses)
            .exclude(status_reason=REPLACED_BY_IMPORT)
            .order_by("id")
        )
        for row in rows:
            found.setdefault((channel, row.address), []).append(row)
    return found


async def sms_contact_of(household_id: int) -> Contact | None:
    """The household's SMS (or voice) contact, an active one first."""
    return (
        await Contact.filter(household_id=household_id, channel__in=list(_SMS_LIKE))
        .exclude(status_reason=REPLACED_BY_IMPORT)
        .order_by("status", "id")  # active before opted_out / unreachable
        .first()
    )


async def ensure_contact(household: Household, channel: str, address: str) -> Contact:
    """The household's contact at (channel, address), made if missing (a simulator chat)."""
    contact, _ = await Contact.get_or_create(
        household_id=household.id,
        channel=channel,
        address=address,
        defaults={"language": household.language},
    )
    return contact


# ---- linking a chat --------------------------------------------------------------------------
@dataclass
class Linked:
    """What a shared phone number linked a chat to."""

    staff: Staff | None = None
    contacts: list[Contact] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)  # "building-room" of each household


async def link_chat(channel: str, address: str, phone: str | None) -> Linked:
    """Link the chat (channel, address) to the staff member and every household ``phone`` is
    registered for; an inactive contact of this chat becomes active again."""
    if phone is None or (channel == "telegram" and not is_private_chat(address)):
        return Linked()
    people = await Person.filter(phone=phone).select_related("household__building")
    staff = None
    if channel == "telegram":  # a simulator chat is never linked to a staff member
        staff = await Staff.filter(phone=phone, active=True).first()
    linked = Linked(staff=staff)
    if staff is not None:
        staff.telegram_chat_id = int(address)
        await staff.save(update_fields=["telegram_chat_id"])
    for person in people:
        household: Household = person.household
        contact, _ = await Contact.get_or_create(
            household_id=household.id,
            channel=channel,
            address=address,
            defaults={"person_id": person.id, "language": person.language},
        )
        if contact.status != "active":
            contact.status = "active"
            await contact.save(update_fields=["status", "updated_at"])
        linked.contacts.append(contact)
        linked.addresses.append(f"{household.building.number}-{household.room}")
    return linked


async def unlink_chat(channel: str, address: str, now: datetime) -> int:
    """A chat that turned out to be a group: no household or staff member is linked to it any
    more (its contacts are marked unreachable, "group chat"). Returns how many were linked."""
    if channel != "telegram":
        return 0
    contacts = (
        await Contact.filter(channel=channel, address=address)
        .exclude(status="unreachable", status_reason=GROUP_CHAT)
        .update(status="unreachable", status_reason=GROUP_CHAT, updated_at=now)
    )
    try:
        chat = int(address)
    except ValueError:
        return contacts
    staff = await Staff.filter(telegram_chat_id=chat).update(telegram_chat_id=None)
    return contacts + staff


# ---- status ----------------------------------------------------------------------------------
async def heard_from(contact: Contact, now: datetime) -> None:
    """A contact marked unreachable (blocked bot, carrier error) that writes to us is reachable
    again. Opted-out contacts stay so until they send START."""
    if contact.status == "unreachable":
        contact.status = "active"
        await Contact.filter(id=contact.id, status="unreachable").update(
            status="active", status_reason="wrote to us", updated_at=now
        )


async def opt_out(channel: str, address: str, now: datetime, reason: str = "STOP") -> None:
    """Every contact at this number (all its households) asked for silence."""
    await Contact.filter(channel=channel, address=address).update(
        status="opted_out", status_reason=reason, updated_at=now
    )


async def opt_in(channel: str, address: str, now: datetime, reason: str = "START") -> None:
    await Contact.filter(channel=channel, address=address).update(
        status="active", status_reason=reason, updated_at=now
    )


async def mark_contact(contact_id: int, status: str, reason: str) -> None:
    """A provider said the contact is ``opted_out`` or ``unreachable`` (error ``reason``)."""
    await Contact.filter(id=contact_id).update(status=status, status_reason=reason)


# ---- what the dashboard shows ----------------------------------------------------------------
@dataclass
class BuildingReach:
    number: int
    households: int = 0
    telegram: int = 0  # households with an active Telegram contact
    sms: int = 0  # else an active SMS or voice contact
    none: int = 0  # no active contact


async def reach_by_building(
    numbers: list[int] | None,
    telegram_like: set[str],
    sms_like: set[str],
    *,
    estate: int | None = None,
) -> list[BuildingReach]:
    """For each building (None: every building) of ``estate`` (None: of every estate), how
    its households can be reached."""
    query = Building.filter(**in_scope(estate, ""))
    if numbers is not None:
        query = query.filter(number__in=numbers)
    buildings = await query.order_by("number").values_list("id", "number")
    ids = [b for b, _ in buildings]
    households = await Household.filter(building_id__in=ids).values_list("id", "building_id")
    reach: dict[int, set[str]] = {}
    for household_id, channel in await Contact.filter(
        household__building_id__in=ids, status="active"
    ).values_list("household_id", "channel"):
        reach.setdefault(household_id, set()).add(channel)
    rows = {bid: BuildingReach(int(n)) for bid, n in buildings}
    for household_id, building_id in households:
        row = rows[building_id]
        row.households += 1
        channels = reach.get(household_id, set())
        if channels & telegram_like:
            row.telegram += 1
        elif channels & sms_like:
            row.sms += 1
        else:
            row.none += 1
    return list(rows.values())


async def building_numbers(
    numbers: list[int] | None = None, *, estate: int | None = None
) -> list[int]:
    """Building numbers in order (limited to ``numbers`` and ``estate`` when given)."""
    query = Building.filter(**in_scope(estate, ""))
    if numbers is not None:
        query = query.filter(number__in=numbers)
    found = await query.order_by("number").values_list("number", flat=True)
    return sorted({int(n) for n in found})  # type: ignore[call-overload]


async def building_floors(numbers: list[int], *, estate: int | None = None) -> dict[int, int]:
    """The number of floors of each building (of ``estate``, when given)."""
    rows = await Building.filter(number__in=numbers, **in_scope(estate, "")).values_list(
        "number", "floors"
    )
    floors: dict[int, int] = {}
    for n, f in rows:
        floors[int(n)] = max(floors.get(int(n), 0), int(f or 0))
    return floors


async def households_of(
    building: int, limit: int = 400, *, estate: int | None = None
) -> list[Household]:
    """The households of building number ``building`` (of ``estate``, when given)."""
    query = Household.filter(building__number=building, **in_scope(estate))
    return await query.order_by("floor", "room").limit(limit)


async def household_with_building(household_id: int) -> Household | None:
    return await Household.get_or_none(id=household_id).select_related("building")


async def contacts_changed() -> tuple[object, int]:
    """A cheap signature of every contact's state: the newest change and the opted-out count."""
    newest = await Contact.all().order_by("-updated_at").first().values_list("updated_at")
    opted_out = await Contact.filter(status="opted_out").count()
    return newest, opted_out
