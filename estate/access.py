"""Who may see what: a staff member's scope of buildings, and the audit log of staff actions.

Roles (``estate.staff.ROLES``, DESIGN.md): ``admin`` sees everything; ``cadre``, ``officer`` (one building) and
``logistics`` see the buildings linked to them (:class:`StaffBuilding`); ``point`` volunteers see
the buildings linked to them and act on their sampling point (``Staff.point``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from estate.models import AuditEntry, Building, Estate, Staff, StaffBuilding

log = logging.getLogger(__name__)


class Scope:
    """The buildings (by number) of one estate a staff member may see; ``everything`` for
    admins.

    A scope names an estate (``estate``, its id): building numbers repeat across estates (a
    second estate has its own buildings 1 and 2), so every query made for a scope filters on
    the estate too (:func:`in_scope`). ``estate`` is None only for admins and empty scopes.
    """

    __slots__ = ("buildings", "estate", "everything")

    def __init__(
        self,
        buildings: Iterable[int] = (),
        *,
        everything: bool = False,
        estate: int | None = None,
    ) -> None:
        self.everything = everything
        self.buildings = frozenset(buildings)
        self.estate = None if everything else estate

    def allows(self, building: int) -> bool:
        return self.everything or building in self.buildings

    def allows_all(self, buildings: Iterable[int]) -> bool:
        return self.everything or all(b in self.buildings for b in buildings)

    def allows_estate(self, estate: int | None) -> bool:
        """Whether something of ``estate`` (None: of every estate, numbers only) may be in
        this scope: admins see every estate; staff their own."""
        return self.everything or estate is None or estate == self.estate

    def filter(self, buildings: Iterable[int]) -> list[int]:
        return [b for b in buildings if self.allows(b)]

    def __repr__(self) -> str:
        if self.everything:
            return "Scope(everything)"
        if self.estate is None:
            return f"Scope({sorted(self.buildings)})"
        return f"Scope(estate={self.estate}, {sorted(self.buildings)})"


def in_scope(estate: int | None, path: str = "building__") -> dict[str, int]:
    """Query filters keeping rows of ``estate`` only (none for None): ``path`` leads from the
    model to its building, e.g. ``household__building__``."""
    return {} if estate is None else {f"{path}estate_id": estate}


async def scope_of(staff: Staff) -> Scope:
    """The staff member's scope. Its estate is the estate of the buildings linked to them; a
    staff member linked to buildings of several estates (only possible on a database set up by
    an older version) keeps those of the first estate (the lowest id), never a mix."""
    if staff.role == "admin":
        return Scope(everything=True)
    links = await StaffBuilding.filter(staff_id=staff.id).values_list(
        "building__number", "building__estate_id"
    )
    estates = sorted({int(estate) for _, estate in links})
    if not estates:
        return Scope()
    first = estates[0]
    return Scope((int(n) for n, e in links if int(e) == first), estate=first)


async def staff_by_chat(chat_id: int | str) -> Staff | None:
    try:
        chat = int(chat_id)
    except (TypeError, ValueError):
        return None
    if not -(2**63) <= chat < 2**63:
        return None
    return await Staff.filter(telegram_chat_id=chat, active=True).first()


SIMULATOR_STAFF = "s"  # a simulator chat of staff member 7 is ("local", "s7")


def simulator_staff_address(staff_id: int) -> str:
    """The browser simulator's own chat for a staff member: never their real Telegram chat,
    never stored on them, so no real message ever goes to it (and theirs never come here)."""
    return f"{SIMULATOR_STAFF}{staff_id}"


async def staff_by_address(channel: str, address: str) -> Staff | None:
    """The staff member behind an inbound chat: a linked Telegram chat, or a simulator chat
    (``local``, ``s<staff id>``). None for anything else."""
    if channel == "telegram":
        return await staff_by_chat(address)
    if channel == "local" and address.startswith(SIMULATOR_STAFF):
        number = address[len(SIMULATOR_STAFF) :]
        if number.isdecimal() and len(number) <= 9:
            return await Staff.filter(id=int(number), active=True).first()
    return None


def real_chat_id(staff: Staff) -> int | None:
    """The staff member's Telegram chat a real message may go to: a private chat (positive
    id). A simulator placeholder of older versions (negative) or a group never is one."""
    chat = staff.telegram_chat_id
    return chat if chat is not None and chat > 0 else None


async def audit(
    *,
    now: datetime,
    action: str,
    staff: Staff | None = None,
    actor: str | None = None,
    target: str = "",
    allowed: bool = True,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record one staff action (allowed or refused). Never raises: losing the log line must
    not undo the action, but it is logged at ERROR."""
    try:
        await AuditEntry.create(
            at=now,
            staff_id=staff.id if staff else None,
            actor=actor or (staff.name if staff else "system"),
            action=action[:50],
            target=target[:200],
            allowed=allowed,
            detail=detail or {},
        )
    except Exception:
        log.exception("could not write the audit entry for %s", action)


async def all_building_numbers(estate: int | None = None) -> list[int]:
    """Every building number (of ``estate``; of every estate when None), in order."""
    numbers = await Building.filter(**in_scope(estate, "")).values_list("number", flat=True)
    return sorted({int(n) for n in numbers})  # type: ignore[call-overload]


async def scope_building_numbers(scope: Scope) -> list[int]:
    """The building numbers of a scope, in order (every building for admins)."""
    if scope.everything:
        return await all_building_numbers()
    return sorted(scope.buildings)


async def estate_id_named(name: str) -> int | None:
    """The id of the estate called ``name``; None when there is none."""
    found = await Estate.filter(name=name).first()
    return found.id if found is not None else None


async def staff_is_active(staff_id: int) -> bool:
    return await Staff.filter(id=staff_id, active=True).exists()


async def linked_staff() -> list[Staff]:
    """Active staff members whose Telegram chat is linked (a private chat)."""
    return list(await Staff.filter(active=True, telegram_chat_id__gt=0))
