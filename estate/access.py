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

from estate.models import AuditEntry, Building, Staff, StaffBuilding

log = logging.getLogger(__name__)


class Scope:
    """The buildings (by number) a staff member may see; ``everything`` for admins."""

    __slots__ = ("buildings", "everything")

    def __init__(self, buildings: Iterable[int] = (), *, everything: bool = False) -> None:
        self.everything = everything
        self.buildings = frozenset(buildings)

    def allows(self, building: int) -> bool:
        return self.everything or building in self.buildings

    def allows_all(self, buildings: Iterable[int]) -> bool:
        return self.everything or all(b in self.buildings for b in buildings)

    def filter(self, buildings: Iterable[int]) -> list[int]:
        return [b for b in buildings if self.allows(b)]

    def __repr__(self) -> str:
        return "Scope(everything)" if self.everything else f"Scope({sorted(self.buildings)})"


async def scope_of(staff: Staff) -> Scope:
    if staff.role == "admin":
        return Scope(everything=True)
    numbers = await StaffBuilding.filter(staff_id=staff.id).values_list(
        "building__number", flat=True
    )
    return Scope(int(n) for n in numbers)  # type: ignore[call-overload]


async def staff_by_chat(chat_id: int | str) -> Staff | None:
    try:
        chat = int(chat_id)
    except (TypeError, ValueError):
        return None
    return await Staff.filter(telegram_chat_id=chat, active=True).first()


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


async def all_building_numbers() -> list[int]:
    """Every building number of the estate, in order."""
    numbers = await Building.all().values_list("number", flat=True)
    return sorted(int(n) for n in numbers)  # type: ignore[call-overload]


async def scope_building_numbers(scope: Scope) -> list[int]:
    """The building numbers of a scope, in order (every building for admins)."""
    if scope.everything:
        return await all_building_numbers()
    return sorted(scope.buildings)


async def staff_is_active(staff_id: int) -> bool:
    return await Staff.filter(id=staff_id, active=True).exists()


async def linked_staff() -> list[Staff]:
    """Active staff members whose Telegram chat is linked."""
    return list(await Staff.filter(active=True, telegram_chat_id__isnull=False))
