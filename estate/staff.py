"""Staff members and the buildings each looks after."""

from __future__ import annotations

from collections.abc import Sequence

from tortoise.transactions import in_transaction

from config.settings import get_settings
from estate.logins import revoke_sessions
from estate.models import Building, Staff, StaffBuilding
from estate.phones import normalise_phone

#: The one list of staff roles (who may do what: estate.access and each staff command).
ROLES = ("admin", "cadre", "officer", "logistics", "point")


async def add_staff(
    name: str,
    *,
    role: str,
    phone: str | None = None,
    buildings: Sequence[int] = (),
    shift: str | None = None,
    point: str | None = None,
) -> Staff:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    if role == "officer" and len(buildings) != 1:
        raise ValueError("an information officer looks after exactly one building (--buildings N)")
    e164 = normalise_phone(phone, get_settings().default_region) if phone else None
    found = await Building.filter(number__in=list(buildings))
    missing = sorted(set(buildings) - {b.number for b in found})
    if missing:
        raise ValueError(f"no such building(s): {', '.join(map(str, missing))}")
    if await Staff.filter(name=name).exists():
        raise ValueError(f"a staff member named {name!r} exists already")
    async with in_transaction() as conn:
        staff = await Staff.create(
            name=name, role=role, phone=e164, shift=shift, point=point, using_db=conn
        )
        await StaffBuilding.bulk_create(
            [StaffBuilding(staff_id=staff.id, building_id=b.id) for b in found], using_db=conn
        )
    return staff


async def list_staff() -> list[str]:
    lines = []
    for staff in (
        await Staff.filter(active=True).order_by("name").prefetch_related("scope__building")
    ):
        numbers = sorted(link.building.number for link in staff.scope)
        scope = (
            "all buildings"
            if staff.role == "admin"
            else ",".join(map(str, numbers)) or "no buildings"
        )
        linked = "telegram linked" if staff.telegram_chat_id else "telegram not linked"
        lines.append(f"{staff.name}\t{staff.role}\t{scope}\t{linked}")
    return lines


async def remove_staff(name: str) -> bool:
    """Remove a staff member; their web sessions end with them."""
    staff = await Staff.get_or_none(name=name)
    if staff is None:
        return False
    await revoke_sessions(staff.id)
    return bool(await Staff.filter(id=staff.id).delete())


async def change_staff(
    name: str,
    *,
    role: str | None = None,
    buildings: Sequence[int] | None = None,
    shift: str | None = None,
    point: str | None = None,
) -> Staff:
    """Change a staff member's role, buildings, shift or point (None: unchanged). Their web
    sessions end: they log in again with what they may do now."""
    staff = await Staff.get_or_none(name=name)
    if staff is None:
        raise ValueError(f"no staff member named {name!r}")
    if role is not None and role not in ROLES:
        raise ValueError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    found = await Building.filter(number__in=list(buildings)) if buildings is not None else []
    if buildings is not None:
        missing = sorted(set(buildings) - {b.number for b in found})
        if missing:
            raise ValueError(f"no such building(s): {', '.join(map(str, missing))}")
    new_role = role or staff.role
    count = len(buildings) if buildings is not None else await staff.scope.all().count()
    if new_role == "officer" and count != 1:
        raise ValueError("an information officer looks after exactly one building (--buildings N)")
    async with in_transaction() as conn:
        staff.role = new_role
        staff.shift = shift if shift is not None else staff.shift
        staff.point = point if point is not None else staff.point
        await staff.save(using_db=conn, update_fields=["role", "shift", "point"])
        if buildings is not None:
            await StaffBuilding.filter(staff_id=staff.id).using_db(conn).delete()
            await StaffBuilding.bulk_create(
                [StaffBuilding(staff_id=staff.id, building_id=b.id) for b in found], using_db=conn
            )
    await revoke_sessions(staff.id)
    return staff
