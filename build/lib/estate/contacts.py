"""Which of a household's contacts a message goes to."""

from __future__ import annotations

from collections.abc import Iterable

from estate.models import Contact, Household


def pick_contact(
    household: Household, contacts: Iterable[Contact], enabled: set[str]
) -> Contact | None:
    """The contact a round goes to: the household's preferred channel first, then any other."""
    usable = [c for c in contacts if c.status == "active" and c.channel in enabled]
    if not usable:
        return None
    preferred = household.preferred_channel
    usable.sort(key=lambda c: (c.channel != preferred, c.channel != "telegram", c.id))
    return usable[0]
