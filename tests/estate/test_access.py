"""Staff scopes and the audit log (estate/access.py). The promises, one test each at least:

- an admin's scope is every building; anyone else sees exactly the buildings linked to them;
- a scope allows a building only when it is in it; allows_all needs every one; filter keeps order;
- a staff member is found by their Telegram chat id (as int or text); a bad chat id finds no one;
- a deactivated staff member is no staff member in chat: staff_by_chat ignores them;
- every audit call writes one entry: time, staff id, actor (given, else the staff's name,
  else "system"), action (cut to 50), target (cut to 200), allowed, detail ({} by default);
- audit never raises: a failed write is logged at ERROR and the action goes on;
- a scope names one estate (the lowest id among its buildings' estates, never a mix) and allows
  only that estate's things (admins: every estate); in_scope filters on it along a model path;
- a chat id outside a 64-bit integer finds no one;
- a staff member is found by a Telegram chat or by their own simulator chat (local, s<id>),
  never by anything else, and only while active;
- a real chat is a private (positive) one; linked staff are the active ones with such a chat;
- building numbers (of an estate, of every estate, of a scope) come sorted, without repeats;
  an estate is found by its name.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from estate.access import (
    Scope,
    all_building_numbers,
    audit,
    estate_id_named,
    in_scope,
    linked_staff,
    real_chat_id,
    scope_building_numbers,
    scope_of,
    simulator_staff_address,
    staff_by_address,
    staff_by_chat,
    staff_is_active,
)
from estate.models import AuditEntry, Building, Estate, Staff, StaffBuilding
from estate.staff import ROLES

pytestmark = pytest.mark.usefixtures("db")

NOW = datetime(2022, 4, 10, 8, 30, tzinfo=UTC)


async def _staff(name: str, role: str, buildings: tuple[int, ...] = (), **extra: Any) -> Staff:
    estate = await Estate.get_or_none(name="t") or await Estate.create(name="t")
    staff = await Staff.create(name=name, role=role, **extra)
    for number in buildings:
        building = await Building.get_or_none(estate=estate, number=number)
        if building is None:
            building = await Building.create(estate=estate, number=number, floors=6)
        await StaffBuilding.create(staff=staff, building=building)
    return staff


def test_roles_are_the_five_of_the_design() -> None:
    assert ROLES == ("admin", "cadre", "officer", "logistics", "point")


def test_a_scope_allows_only_its_buildings() -> None:
    scope = Scope([3, 1])
    assert not scope.everything
    assert scope.buildings == frozenset({1, 3})
    assert scope.allows(1) and scope.allows(3)
    assert not scope.allows(2)
    assert scope.allows_all([1, 3]) and scope.allows_all([])
    assert not scope.allows_all([1, 2])
    assert not scope.allows_all([2])
    assert scope.filter([3, 2, 1, 4]) == [3, 1]
    assert repr(scope) == "Scope([1, 3])"


def test_an_everything_scope_allows_every_building() -> None:
    scope = Scope(everything=True)
    assert scope.everything and scope.buildings == frozenset()
    assert scope.allows(99) and scope.allows_all([1, 99])
    assert scope.filter([5, 2]) == [5, 2]
    assert repr(scope) == "Scope(everything)"
    empty = Scope()
    assert not empty.everything and not empty.allows(1) and empty.filter([1]) == []
    assert not empty.allows_all([1])


async def test_admin_sees_everything_others_their_linked_buildings() -> None:
    admin = await _staff("boss", "admin", (1,))
    cadre = await _staff("c", "cadre", (1, 2))
    officer = await _staff("o", "officer", (2,))
    nobody = await _staff("p", "point")
    other = await _staff("x", "logistics", (3,))
    assert (await scope_of(admin)).everything
    for staff, numbers in ((cadre, {1, 2}), (officer, {2}), (nobody, set()), (other, {3})):
        scope = await scope_of(staff)
        assert not scope.everything
        assert scope.buildings == frozenset(numbers)
        assert all(isinstance(n, int) for n in scope.buildings)


async def test_staff_are_found_by_their_chat_id() -> None:
    staff = await _staff("c", "cadre", telegram_chat_id=4242)
    await _staff("d", "cadre", telegram_chat_id=4343)
    found = await staff_by_chat(4242)
    assert found is not None and found.id == staff.id
    found = await staff_by_chat("4242")
    assert found is not None and found.id == staff.id
    assert await staff_by_chat(1) is None
    assert await staff_by_chat("not a number") is None
    assert await staff_by_chat(None) is None  # type: ignore[arg-type]


async def test_a_deactivated_staff_member_keeps_no_staff_powers_in_chat() -> None:
    gone = await _staff("gone", "admin", telegram_chat_id=777, active=False)
    assert await staff_by_chat(777) is None
    assert await staff_by_chat("777") is None
    gone.active = True
    await gone.save()
    assert await staff_by_chat(777) is not None


async def test_audit_writes_one_entry_with_every_field() -> None:
    staff = await _staff("wang", "cadre")
    await audit(
        now=NOW,
        action="open_round",
        staff=staff,
        target="building 7",
        allowed=False,
        detail={"round": 3},
    )
    entry = await AuditEntry.get()
    assert entry.at == NOW
    assert entry.staff_id == staff.id  # type: ignore[attr-defined]
    assert entry.actor == "wang"
    assert (entry.action, entry.target, entry.allowed, entry.detail) == (
        "open_round",
        "building 7",
        False,
        {"round": 3},
    )


async def test_audit_defaults_actor_and_cuts_long_values() -> None:
    staff = await _staff("wang", "cadre")
    await audit(now=NOW, action="a" * 60, target="t" * 250)
    await audit(now=NOW, action="cli_import", actor="cli", staff=staff)
    await audit(now=NOW, action="x", staff=staff, actor="")
    first, second, third = await AuditEntry.all().order_by("id")
    assert first.staff_id is None  # type: ignore[attr-defined]
    assert first.actor == "system"
    assert first.action == "a" * 50 and first.target == "t" * 200
    assert first.allowed is True and first.detail == {}
    assert (second.actor, second.staff_id) == ("cli", staff.id)  # type: ignore[attr-defined]
    assert second.target == ""
    assert third.actor == "wang"


async def test_a_failed_audit_write_is_logged_and_never_raises(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(**_: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(AuditEntry, "create", broken)
    with caplog.at_level(logging.ERROR, logger="estate.access"):
        await audit(now=NOW, action="login")
    assert [r.levelno for r in caplog.records] == [logging.ERROR]
    assert caplog.records[0].getMessage() == "could not write the audit entry for login"
    assert caplog.records[0].exc_info is not None


def test_a_scope_names_its_estate_and_allows_only_it() -> None:
    scope = Scope([2, 1], estate=5)
    assert scope.estate == 5
    assert repr(scope) == "Scope(estate=5, [1, 2])"
    assert scope.allows_estate(5) and scope.allows_estate(None)
    assert not scope.allows_estate(6)
    admin = Scope(everything=True, estate=5)
    assert admin.estate is None
    assert admin.allows_estate(6) and admin.allows_estate(None)
    assert not Scope().allows_estate(1)


def test_in_scope_filters_on_the_estate_along_the_path() -> None:
    assert in_scope(None) == {}
    assert in_scope(None, "household__building__") == {}
    assert in_scope(3) == {"building__estate_id": 3}
    assert in_scope(3, "household__building__") == {"household__building__estate_id": 3}
    assert in_scope(3, "") == {"estate_id": 3}


async def test_a_scope_keeps_the_buildings_of_the_first_estate_only() -> None:
    staff = await _staff("c", "cadre", (2, 1))
    own = await scope_of(staff)
    estate = await Estate.get(name="t")
    assert (own.estate, own.buildings) == (estate.id, frozenset({1, 2}))
    later = await Estate.create(name="later")
    for number in (1, 9):
        building = await Building.create(estate=later, number=number, floors=3)
        await StaffBuilding.create(staff=staff, building=building)
    mixed = await scope_of(staff)
    assert (mixed.estate, mixed.buildings) == (estate.id, frozenset({1, 2}))
    only_later = await _staff("d", "cadre")
    await StaffBuilding.create(
        staff=only_later, building=await Building.get(estate=later, number=9)
    )
    theirs = await scope_of(only_later)
    assert (theirs.estate, theirs.buildings) == (later.id, frozenset({9}))
    assert (await scope_of(await _staff("e", "point"))).estate is None


async def test_a_chat_id_out_of_range_finds_no_one() -> None:
    await _staff("c", "cadre", telegram_chat_id=2**63 - 1)
    await _staff("d", "cadre", telegram_chat_id=-(2**63))
    assert (await staff_by_chat(2**63 - 1)) is not None
    assert (await staff_by_chat(-(2**63))) is not None
    assert await staff_by_chat(2**63) is None
    assert await staff_by_chat(-(2**63) - 1) is None
    assert await staff_by_chat(str(2**64)) is None


async def test_staff_are_found_by_their_telegram_or_simulator_chat() -> None:
    staff = await _staff("c", "cadre", telegram_chat_id=4242)
    gone = await _staff("gone", "cadre", active=False)
    assert simulator_staff_address(staff.id) == f"s{staff.id}"
    found = await staff_by_address("telegram", "4242")
    assert found is not None and found.id == staff.id
    found = await staff_by_address("local", f"s{staff.id}")
    assert found is not None and found.id == staff.id
    assert await staff_by_address("local", f"s{gone.id}") is None
    assert await staff_by_address("local", "4242") is None  # a simulator chat starts with s
    assert await staff_by_address("sms", f"s{staff.id}") is None
    assert await staff_by_address("telegram", f"s{staff.id}") is None
    assert await staff_by_address("local", f"x{staff.id}") is None
    assert await staff_by_address("local", "s") is None
    assert await staff_by_address("local", f"s{staff.id}x") is None
    digits = str(staff.id)
    assert await staff_by_address("local", "s" + digits.zfill(10)) is None  # over 9 digits
    padded = await staff_by_address("local", "s" + digits.zfill(9))
    assert padded is not None and padded.id == staff.id


async def test_a_real_chat_is_a_private_chat_only() -> None:
    assert real_chat_id(await _staff("a", "cadre", telegram_chat_id=4242)) == 4242
    assert real_chat_id(await _staff("b", "cadre", telegram_chat_id=-4242)) is None
    assert real_chat_id(await _staff("c", "cadre", telegram_chat_id=0)) is None
    assert real_chat_id(await _staff("d", "cadre")) is None
    assert real_chat_id(await _staff("e", "cadre", telegram_chat_id=1)) == 1


async def test_linked_staff_are_the_active_ones_with_a_private_chat() -> None:
    linked = await _staff("a", "cadre", telegram_chat_id=1)
    await _staff("b", "cadre", telegram_chat_id=0)
    await _staff("c", "cadre", telegram_chat_id=-5)
    await _staff("d", "cadre")
    await _staff("e", "cadre", telegram_chat_id=9, active=False)
    assert [s.id for s in await linked_staff()] == [linked.id]
    assert await staff_is_active(linked.id)
    assert not await staff_is_active((await Staff.get(name="e")).id)
    assert not await staff_is_active(999)


async def test_building_numbers_of_an_estate_or_a_scope_in_order() -> None:
    await _staff("c", "cadre", (3, 1))
    other = await Estate.create(name="other")
    for number in (7, 1):
        await Building.create(estate=other, number=number, floors=2)
    first = await Estate.get(name="t")
    assert await all_building_numbers() == [1, 3, 7]
    assert await all_building_numbers(first.id) == [1, 3]
    assert await all_building_numbers(other.id) == [1, 7]
    assert await scope_building_numbers(Scope(everything=True)) == [1, 3, 7]
    assert await scope_building_numbers(Scope([9, 2], estate=first.id)) == [2, 9]
    assert await estate_id_named("other") == other.id
    assert await estate_id_named("t") == first.id
    assert await estate_id_named("nowhere") is None
