"""Dashboard login links and web sessions (estate/logins.py), without a web server. The promises:

- a login link is on the public URL (its path kept, one trailing slash dropped), else on the
  bound address (127.0.0.1 for a wildcard); only the token's SHA-256 is stored, with its expiry
  (``login_link_minutes`` from now), and making it is audited;
- a token works once, before it expires, for an active staff member: peeking does not spend it,
  spending it is audited as a login; an expired, spent, unknown or deactivated one finds no one;
  spending one token leaves the others usable; spent twice at the same moment, it works once;
- the active staff list is in name order and leaves out deactivated staff;
- a session's grants change with the role, shift, sampling point or scope;
- a session works with its secret and staff id until it expires and while the staff member is
  active; starting one clears the expired ones; logout ends one browser, revoking ends them all.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

import pytest

from config.clock import FakeClock
from estate.access import Scope
from estate.logins import (
    active_staff,
    active_staff_list,
    base_url,
    create_login_link,
    end_session,
    grants_of,
    peek_token,
    revoke_sessions,
    session_staff,
    spend_token,
    start_session,
)
from estate.models import AuditEntry, LoginToken, Staff, WebSession
from tests.conftest import make_settings

pytestmark = pytest.mark.usefixtures("db")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_a_public_url_keeps_its_path() -> None:
    assert base_url(make_settings(public_url="https://lz.example.org/LZX/")) == (
        "https://lz.example.org/LZX"
    )
    assert base_url(make_settings(public_url="https://lz.example.org/LZX")) == (
        "https://lz.example.org/LZX"
    )


def test_without_a_public_url_links_are_on_the_bound_address() -> None:
    assert base_url(make_settings(public_url="", http_host="0.0.0.0", http_port=81)) == (
        "http://127.0.0.1:81"
    )
    assert base_url(make_settings(public_url="", http_host="::", http_port=82)) == (
        "http://127.0.0.1:82"
    )
    assert base_url(make_settings(public_url="", http_host="10.1.2.3", http_port=83)) == (
        "http://10.1.2.3:83"
    )


async def test_a_login_link_stores_only_its_hash_and_expires() -> None:
    clock = FakeClock()
    settings = make_settings(public_url="https://lz.example.org", login_link_minutes=15)
    staff = await Staff.create(name="wang", role="cadre")
    url = await create_login_link(staff, settings=settings, clock=clock)
    assert url.startswith("https://lz.example.org/login/")
    token = url.rsplit("/", 1)[1]
    assert len(token) == 32
    row = await LoginToken.get()
    assert row.token_hash == _sha(token)
    assert row.staff_id == staff.id  # type: ignore[attr-defined]
    assert (row.created_at, row.expires_at, row.used_at) == (
        clock.now(),
        clock.now() + timedelta(minutes=15),
        None,
    )
    entry = await AuditEntry.get()
    assert (entry.action, entry.actor, entry.at) == ("login_link", "wang", clock.now())
    again = await create_login_link(staff, settings=settings, clock=clock)
    assert again != url


async def test_a_token_works_once_before_it_expires() -> None:
    clock = FakeClock()
    settings = make_settings(login_link_minutes=10)
    staff = await Staff.create(name="wang", role="cadre")
    token = (await create_login_link(staff, settings=settings, clock=clock)).rsplit("/", 1)[1]
    later = clock.now() + timedelta(minutes=10)
    assert await peek_token("other", clock.now()) is None
    assert await peek_token(token, later) is None
    peeked = await peek_token(token, later - timedelta(seconds=1))
    assert peeked is not None and peeked.id == staff.id
    assert await spend_token(token, later) is None
    spent = await spend_token(token, clock.now())
    assert spent is not None and spent.id == staff.id
    assert (await LoginToken.get()).used_at == clock.now()
    assert [e.action for e in await AuditEntry.all().order_by("id")] == ["login_link", "login"]
    assert (await AuditEntry.filter(action="login").get()).actor == "wang"
    assert await spend_token(token, clock.now()) is None
    assert await peek_token(token, clock.now()) is None
    assert await spend_token("other", clock.now()) is None


async def test_a_token_spends_only_itself_and_only_once_at_the_same_moment() -> None:
    clock = FakeClock()
    settings = make_settings()
    wang = await Staff.create(name="wang", role="cadre")
    li = await Staff.create(name="li", role="cadre")
    first = (await create_login_link(wang, settings=settings, clock=clock)).rsplit("/", 1)[1]
    second = (await create_login_link(li, settings=settings, clock=clock)).rsplit("/", 1)[1]
    assert await spend_token("other", clock.now()) is None
    both = await asyncio.gather(spend_token(first, clock.now()), spend_token(first, clock.now()))
    assert sorted(s is None for s in both) == [False, True]
    assert await LoginToken.filter(used_at__isnull=True).count() == 1
    spent = await spend_token(second, clock.now())
    assert spent is not None and spent.id == li.id


async def test_a_deactivated_staff_members_token_finds_no_one() -> None:
    clock = FakeClock()
    staff = await Staff.create(name="wang", role="cadre")
    url = await create_login_link(staff, settings=make_settings(), clock=clock)
    token = url.rsplit("/", 1)[1]
    staff.active = False
    await staff.save()
    assert await peek_token(token, clock.now()) is None
    assert await spend_token(token, clock.now()) is None
    assert [e.action for e in await AuditEntry.all()] == ["login_link"]
    assert await active_staff(staff.id) is None


async def test_the_active_staff_list_is_in_name_order() -> None:
    for name, active in (("zhao", True), ("li", False), ("an", True)):
        await Staff.create(name=name, role="cadre", active=active)
    assert [s.name for s in await active_staff_list()] == ["an", "zhao"]
    found = await active_staff((await Staff.get(name="an")).id)
    assert found is not None and found.name == "an"


def test_grants_change_with_role_shift_point_and_scope() -> None:
    staff = Staff(name="wang", role="logistics", shift="A", point="P1")
    scope = Scope([1, 2], estate=1)
    base = grants_of(staff, scope)
    assert base == _sha("logistics|A|P1|Scope(estate=1, [1, 2])")
    assert grants_of(Staff(name="wang", role="cadre", shift="A", point="P1"), scope) != base
    assert grants_of(Staff(name="wang", role="logistics", shift="B", point="P1"), scope) != base
    assert grants_of(Staff(name="wang", role="logistics", shift="A", point="P2"), scope) != base
    assert grants_of(staff, Scope([1], estate=1)) != base
    assert grants_of(Staff(name="x", role="cadre"), Scope()) == _sha("cadre|||Scope([])")


async def test_a_session_lives_until_it_expires_or_ends() -> None:
    clock = FakeClock()
    now = clock.now()
    wang = await Staff.create(name="wang", role="cadre")
    li = await Staff.create(name="li", role="cadre")
    expires = now + timedelta(hours=1)
    await start_session(wang, "one", grants="g1", now=now, expires=expires)
    await start_session(wang, "two", grants="g2", now=now, expires=expires)
    await start_session(li, "three", grants="g3", now=now, expires=expires)
    assert {row.key_hash for row in await WebSession.all()} == {
        _sha("one"),
        _sha("two"),
        _sha("three"),
    }
    found = await session_staff("one", wang.id, now)
    assert found is not None and (found[0].id, found[1]) == (wang.id, "g1")
    assert await session_staff("one", li.id, now) is None
    assert await session_staff("nope", wang.id, now) is None
    assert await session_staff("one", wang.id, expires) is None
    assert await session_staff("one", wang.id, expires - timedelta(seconds=1)) is not None
    assert await end_session("one") is True
    assert await end_session("one") is False
    assert await session_staff("one", wang.id, now) is None
    assert await session_staff("two", wang.id, now) is not None
    assert await revoke_sessions(wang.id) == 1
    assert await session_staff("two", wang.id, now) is None
    assert await session_staff("three", li.id, now) is not None
    li.active = False
    await li.save()
    assert await session_staff("three", li.id, now) is None


async def test_starting_a_session_clears_the_expired_ones() -> None:
    clock = FakeClock()
    now = clock.now()
    wang = await Staff.create(name="wang", role="cadre")
    await start_session(wang, "old", grants="", now=now, expires=now + timedelta(minutes=5))
    await start_session(wang, "edge", grants="", now=now, expires=now + timedelta(minutes=10))
    later = now + timedelta(minutes=10)
    await start_session(wang, "new", grants="", now=later, expires=later + timedelta(hours=1))
    assert {row.key_hash for row in await WebSession.all()} == {_sha("new")}
    assert await revoke_sessions(wang.id) == 1
