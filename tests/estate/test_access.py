"""Staff scopes and the audit log (estate/access.py). The promises, one test each at least:

- an admin's scope is every building; anyone else sees exactly the buildings linked to them;
- a scope allows a building only when it is in it; allows_all needs every one; filter keeps order;
- a staff member is found by their Telegram chat id (as int or text); a bad chat id finds no one;
- a deactivated staff member is no staff member in chat: staff_by_chat ignores them;
- every audit call writes one entry: time, staff id, actor (given, else the staff's name,
  else "system"), action (cut to 50), target (cut to 200), allowed, detail ({} by default);
- audit never raises: a failed write is logged at ERROR and the action goes on.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from estate.access import Scope, audit, scope_of, staff_by_chat
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
