"""Staff members and the buildings each looks after."""

from __future__ import annotations

from collections.abc import Sequence

from tortoise.transactions import in_transaction

from config.i18n import text
from config.settings import get_settings
from estate.access import real_chat_id
from estate.logins import revoke_sessions
from estate.models import Building, Estate, Staff, StaffBuilding
from estate.phones import normalise_phone

#: The one list of staff roles (who may do what: estate.access and each staff command).
ROLES = ("admin", "cadre", "officer", "logistics", "point")
DEMO = "demo"  # the demo estate's name (estate.first_start.DEMO_ESTATE, which imports us)

#: Why a staff member cannot be added or changed, for staff in their language.
STAFF_ERRORS: dict[str, dict[str, str]] = {
    "unknown_role": {
        "zh-CN": "没有 {role!r} 这个角色（可选：{roles}）",
        "en": "unknown role {role!r} (one of {roles})",
    },
    "officer_one": {
        "zh-CN": "信息员只负责一栋楼（--buildings N）",
        "en": "an information officer looks after exactly one building (--buildings N)",
    },
    "no_such_buildings": {
        "zh-CN": "小区 {estate!r} 没有这些楼：{missing}",
        "en": "no such building(s) in estate {estate!r}: {missing}",
    },
    "exists": {
        "zh-CN": "已经有一位名为 {name!r} 的工作人员",
        "en": "a staff member named {name!r} exists already",
    },
    "no_estate": {"zh-CN": "没有名为 {name!r} 的小区", "en": "no estate named {name!r}"},
    "no_estate_has": {
        "zh-CN": "没有哪个小区同时有这些楼：{label}",
        "en": "no estate has all of building(s) {label}",
    },
    "ambiguous": {
        "zh-CN": "这些楼 {label} 在多个小区都有（{names}）：请写明小区，如 --buildings "
        "'{first}:{label}'",
        "en": "building(s) {label} exist in estates {names}: name the estate, "
        "e.g. --buildings '{first}:{label}'",
    },
    "no_staff": {
        "zh-CN": "没有名为 {name!r} 的工作人员",
        "en": "no staff member named {name!r}",
    },
}


class StaffError(ValueError):
    """A staff member that cannot be added or changed; ``str()`` is English,
    :meth:`describe` says it in the staff language."""

    def __init__(self, kind: str, **values: object) -> None:
        self.kind = kind
        self.values = values
        super().__init__(text(STAFF_ERRORS, kind, "en", **values))

    def describe(self, lang: str) -> str:
        return text(STAFF_ERRORS, self.kind, lang, **self.values)


async def add_staff(
    name: str,
    *,
    role: str,
    phone: str | None = None,
    buildings: Sequence[int] = (),
    shift: str | None = None,
    point: str | None = None,
    estate: str | None = None,
) -> Staff:
    """Add a staff member looking after ``buildings`` of one estate: ``estate`` (its name), or
    when None the only estate, or the one estate that has all those buildings (building numbers
    repeat across estates: when several have them, the estate must be named)."""
    if role not in ROLES:
        raise StaffError("unknown_role", role=role, roles=", ".join(ROLES))
    if role == "officer" and len(buildings) != 1:
        raise StaffError("officer_one")
    e164 = normalise_phone(phone, get_settings().default_region) if phone else None
    found = await buildings_named(buildings, estate) if buildings else []
    if await Staff.filter(name=name).exists():
        raise StaffError("exists", name=name)
    async with in_transaction() as conn:
        staff = await Staff.create(
            name=name, role=role, phone=e164, shift=shift, point=point, using_db=conn
        )
        await StaffBuilding.bulk_create(
            [StaffBuilding(staff_id=staff.id, building_id=b.id) for b in found], using_db=conn
        )
    return staff


async def buildings_named(buildings: Sequence[int], estate: str | None) -> list[Building]:
    """The buildings of these numbers in the estate they name (:func:`estate_of_buildings`);
    ValueError when one is missing there."""
    chosen = await estate_of_buildings(buildings, estate)
    found = list(await Building.filter(estate_id=chosen.id, number__in=list(buildings)))
    missing = sorted(set(buildings) - {b.number for b in found})
    if missing:
        missed = ", ".join(map(str, missing))
        raise StaffError("no_such_buildings", estate=chosen.name, missing=missed)
    return found


async def estate_of_buildings(buildings: Sequence[int], name: str | None) -> Estate:
    """The estate a list of building numbers names (see :func:`add_staff`); ValueError when
    there is none or it is ambiguous."""
    if name is not None:
        named = await Estate.filter(name=name).first()
        if named is None:
            raise StaffError("no_estate", name=name)
        return named
    estates = list(await Estate.all().order_by("id"))
    if len(estates) == 1:
        return estates[0]
    wanted = set(buildings)
    having = [
        e
        for e in estates
        if wanted
        <= {int(n) for n in await Building.filter(estate_id=e.id).values_list("number", flat=True)}  # type: ignore[call-overload]
    ]
    real = [e for e in having if e.name != DEMO]  # the demo's fake buildings never compete
    if len(real) == 1:
        return real[0]
    if len(having) == 1:
        return having[0]
    label = ",".join(map(str, sorted(wanted)))
    if not having:
        raise StaffError("no_estate_has", label=label)
    names = ", ".join(repr(e.name) for e in having)
    raise StaffError("ambiguous", label=label, names=names, first=having[0].name)


async def list_staff() -> list[str]:
    lines = []
    names = dict(await Estate.all().values_list("id", "name"))
    for staff in (
        await Staff.filter(active=True).order_by("name").prefetch_related("scope__building")
    ):
        estates = sorted({link.building.estate_id for link in staff.scope})  # type: ignore[attr-defined]
        first = estates[0] if estates else None  # the scope's estate (estate.access.scope_of)
        numbers = sorted(
            link.building.number
            for link in staff.scope
            if link.building.estate_id == first  # type: ignore[attr-defined]
        )
        named = names.get(first, "") if first is not None else ""
        scope = (
            "all buildings"
            if staff.role == "admin"
            else (f"{named}:" if named else "") + ",".join(map(str, numbers)) or "no buildings"
        )
        linked = "telegram linked" if real_chat_id(staff) else "telegram not linked"
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
    estate: str | None = None,
) -> Staff:
    """Change a staff member's role, buildings (of one estate, named as for :func:`add_staff`),
    shift or point (None: unchanged). Their web sessions end: they log in again with what they
    may do now."""
    staff = await Staff.get_or_none(name=name)
    if staff is None:
        raise StaffError("no_staff", name=name)
    if role is not None and role not in ROLES:
        raise StaffError("unknown_role", role=role, roles=", ".join(ROLES))
    found = await buildings_named(buildings, estate) if buildings else []
    new_role = role or staff.role
    count = len(buildings) if buildings is not None else await staff.scope.all().count()
    if new_role == "officer" and count != 1:
        raise StaffError("officer_one")
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
