"""Web login: tokens and staff look-ups (estate/logins.py), the key, the signed session cookie and
the access middleware (bot/web/dashboard/auth.py). The middleware runs on a bare aiohttp app with
the typed keys of bot/web/keys.py and stub pages (the real pages:
tests/bot/web/test_dashboard_access.py). Promises:

- the signing key is LOUZHANG_SECRET_KEY, else a key made once (private, 0600) in the data
  folder and read back ever after, also when another process made it a moment before;
- the data folder is the SQLite file's folder, else data/;
- login links are on LOUZHANG_PUBLIC_URL (no trailing "/"), else http://host:port with a
  wildcard bind address shown as 127.0.0.1;
- only a login token's SHA-256 is stored; it expires after login_link_minutes; making one is
  audited ("login_link");
- looking at a link (peek) spends nothing; a token works once, also against two concurrent
  requests, only before it expires, and only for an active staff member; a login is audited;
- a session cookie is HMAC-signed (staff id, expiry, CSRF token); a changed payload or MAC (also
  one with characters slipped in), another key, an expired or malformed value reads as no session;
- the cookie is HttpOnly, SameSite=Lax, Path=/, lives session_hours, and is Secure when
  LOUZHANG_PUBLIC_URL is https (only then);
- a deactivated staff member's session is no session (their web powers end at once);
- public paths (/healthz, webhooks, /login, /login/…, /static/…) need no session; other pages
  redirect to /login, APIs (/api/…), event streams (…/live, Accept: text/event-stream) and
  non-GET requests answer 401 (also a request that sends no Accept header at all);
- /metrics: with a token, only "Bearer TOKEN" (or a session); without one, a session or a
  direct loopback client (not one relayed with X-Forwarded-For or Forwarded);
- every POST (not GET/HEAD/OPTIONS) needs the session's CSRF token in X-CSRF-Token or the form
  field csrf (urlencoded or multipart), else 403 and an audit entry "csrf_refused";
- a page sees the staff member, their scope and their CSRF token;
- require_some/require_building give 403 outside the scope; no buildings at all is 403; an
  empty request means every building the staff member has (all of them only for an admin).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from aiohttp import FormData, web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request

import bot.web.dashboard.auth as auth
from bot.web.dashboard.auth import (
    COOKIE,
    access_middleware,
    data_folder,
    read_session,
    require_building,
    require_some,
    secret_key,
    set_session,
    sign_session,
)
from bot.web.keys import CLOCK, CSRF_KEY, SCOPE_KEY, SESSION_KEY, SETTINGS, STAFF_KEY
from config.clock import FakeClock
from config.settings import Settings
from estate.access import Scope
from estate.logins import base_url, create_login_link, peek_token, spend_token
from estate.models import AuditEntry, Building, Estate, LoginToken, Staff, StaffBuilding
from tests.conftest import make_settings

KEY = b"k" * 40


# ---- the key and the data folder -------------------------------------------------------------


def test_the_data_folder_is_the_sqlite_files_folder(tmp_path: Path) -> None:
    def folder(url: str) -> Path:
        return data_folder(make_settings(database_url=url))

    assert folder(f"sqlite://{tmp_path}/db/x.sqlite3") == tmp_path / "db"
    assert folder(f"sqlite://{tmp_path}/db/x.sqlite3?journal_mode=wal") == tmp_path / "db"
    assert folder("sqlite://x.sqlite3") == Path("data")
    assert folder("sqlite://./x.sqlite3") == Path("data")
    assert folder("sqlite://:memory:") == Path("data")
    assert folder("postgres://u:p@localhost/louzhang") == Path("data")


def test_the_configured_secret_key_is_used() -> None:
    assert secret_key(make_settings(secret_key="from the env")) == b"from the env"


def test_a_secret_key_is_made_once_private_and_read_back(tmp_path: Path) -> None:
    settings = make_settings(database_url=f"sqlite://{tmp_path}/d/e/x.sqlite3")
    key = secret_key(settings)
    path = tmp_path / "d" / "e" / "secret_key"
    assert path.read_bytes() == key and len(key) == 64  # 48 random bytes
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret_key(settings) == key
    path.write_bytes(b"kept\n")
    assert secret_key(settings) == b"kept"


def test_a_key_made_by_another_process_a_moment_ago_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(database_url=f"sqlite://{tmp_path}/x.sqlite3")
    real_open = os.open

    def racing_open(path: Any, flags: int, mode: int = 0o777) -> int:
        Path(path).write_bytes(b"theirs\n")  # the other process wins the race
        return real_open(path, flags, mode)

    monkeypatch.setattr(auth.os, "open", racing_open)
    assert secret_key(settings) == b"theirs"


# ---- login links -----------------------------------------------------------------------------


def test_login_links_are_on_the_public_url_else_the_bound_address() -> None:
    assert base_url(make_settings(public_url="https://lz.example.org/")) == (
        "https://lz.example.org"
    )
    assert base_url(make_settings(http_host="0.0.0.0", http_port=81)) == "http://127.0.0.1:81"
    assert base_url(make_settings(http_host="::", http_port=82)) == "http://127.0.0.1:82"
    assert base_url(make_settings(http_host="10.1.2.3", http_port=83)) == "http://10.1.2.3:83"


async def _staff(name: str = "wang", role: str = "cadre", *buildings: int) -> Staff:
    estate = await Estate.get_or_none(name="t") or await Estate.create(name="t")
    staff = await Staff.create(name=name, role=role)
    for number in buildings:
        building = await Building.get_or_none(number=number) or await Building.create(
            estate=estate, number=number, floors=6
        )
        await StaffBuilding.create(staff=staff, building=building)
    return staff


def _token(url: str) -> str:
    return url.rsplit("/login/", 1)[1]


async def test_only_the_tokens_hash_is_stored_and_it_expires(db: str) -> None:
    staff = await _staff()
    clock = FakeClock()
    settings = make_settings(public_url="https://lz.example.org", login_link_minutes=10)
    url = await create_login_link(staff, settings=settings, clock=clock)
    assert url.startswith("https://lz.example.org/login/")
    token = _token(url)
    assert len(token) == 32  # 24 random bytes
    row = await LoginToken.get()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.staff_id == staff.id  # type: ignore[attr-defined]
    assert (row.created_at, row.expires_at) == (clock.now(), clock.now() + timedelta(minutes=10))
    assert row.used_at is None
    entry = await AuditEntry.get()
    assert (entry.action, entry.staff_id, entry.at) == ("login_link", staff.id, clock.now())  # type: ignore[attr-defined]
    other = await create_login_link(staff, settings=settings, clock=clock)
    assert _token(other) != token


async def test_looking_at_a_link_spends_nothing(db: str) -> None:
    staff = await _staff()
    clock = FakeClock()
    settings = make_settings(login_link_minutes=10)
    token = _token(await create_login_link(staff, settings=settings, clock=clock))
    for _ in range(2):
        seen = await peek_token(token, clock.now())
        assert seen is not None and seen.id == staff.id
    assert (await LoginToken.get()).used_at is None
    assert await peek_token("nope", clock.now()) is None
    clock.advance(10 * 60 - 1)
    assert await peek_token(token, clock.now()) is not None
    clock.advance(1)
    assert await peek_token(token, clock.now()) is None  # expired on the minute
    fresh = _token(await create_login_link(staff, settings=settings, clock=clock))
    assert await peek_token(fresh, clock.now()) is not None
    await Staff.filter(id=staff.id).update(active=False)
    assert await peek_token(fresh, clock.now()) is None


async def test_a_token_works_once(db: str) -> None:
    staff = await _staff()
    clock = FakeClock()
    token = _token(await create_login_link(staff, settings=make_settings(), clock=clock))
    assert await peek_token(token, clock.now()) is not None
    clock.advance(30)
    spent = await spend_token(token, clock.now())
    assert spent is not None and spent.id == staff.id
    assert (await LoginToken.get()).used_at == clock.now()
    assert await spend_token(token, clock.now()) is None
    assert await peek_token(token, clock.now()) is None
    login = await AuditEntry.filter(action="login").get()
    assert (login.staff_id, login.at) == (staff.id, clock.now())  # type: ignore[attr-defined]
    assert await spend_token("nope", clock.now()) is None


async def test_a_token_works_once_against_two_concurrent_requests(db: str) -> None:
    staff = await _staff()
    clock = FakeClock()
    for _ in range(3):
        token = _token(await create_login_link(staff, settings=make_settings(), clock=clock))
        both = await asyncio.gather(
            spend_token(token, clock.now()), spend_token(token, clock.now())
        )
        assert sorted(s is not None for s in both) == [False, True]
    assert await AuditEntry.filter(action="login").count() == 3


async def test_a_token_read_as_unused_but_spent_since_does_not_log_in(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other request spent it between our read and our write: the write tells."""
    staff = await _staff()
    clock = FakeClock()
    token = _token(await create_login_link(staff, settings=make_settings(), clock=clock))
    row = await LoginToken.get()
    original = LoginToken.filter

    def spent_meanwhile(*args: Any, **kwargs: Any) -> Any:
        if "id" in kwargs:  # the write: the other request got there first
            return _SpendFirst(original, row.id, kwargs, clock)
        return original(*args, **kwargs)

    monkeypatch.setattr(LoginToken, "filter", spent_meanwhile)
    assert await spend_token(token, clock.now()) is None
    assert await AuditEntry.filter(action="login").count() == 0


@dataclass
class _SpendFirst:
    original: Any
    row_id: int
    kwargs: dict[str, Any]
    clock: FakeClock

    async def update(self, **changes: Any) -> int:
        await self.original(id=self.row_id).update(used_at=self.clock.now())
        return int(await self.original(**self.kwargs).update(**changes))


async def test_an_expired_token_or_a_deactivated_staff_member_does_not_log_in(db: str) -> None:
    staff = await _staff()
    clock = FakeClock()
    settings = make_settings(login_link_minutes=5)
    late = _token(await create_login_link(staff, settings=settings, clock=clock))
    clock.advance(5 * 60)
    assert await spend_token(late, clock.now()) is None
    assert (await LoginToken.get()).used_at is None
    gone = _token(await create_login_link(staff, settings=settings, clock=clock))
    await Staff.filter(id=staff.id).update(active=False)
    assert await spend_token(gone, clock.now()) is None
    assert await AuditEntry.filter(action="login").count() == 0


# ---- the session cookie ----------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_session_is_signed_and_carries_staff_expiry_and_csrf() -> None:
    value = sign_session(KEY, 7, 1000.9, "tok")
    payload, mac = value.split(".")
    assert "=" not in value
    assert json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))) == {
        "s": 7,
        "e": 1000,
        "c": "tok",
    }
    assert mac == _b64(hmac.new(KEY, payload.encode(), hashlib.sha256).digest())
    assert read_session(KEY, value, 999.5) == (7, "tok")
    assert read_session(KEY, value, 1000) is None  # expired at its second
    assert read_session(b"other" * 8, value, 0) is None


def test_a_changed_or_malformed_session_reads_as_none() -> None:
    value = sign_session(KEY, 7, 2000, "tok")
    payload, mac = value.split(".")
    forged = _b64(json.dumps({"s": 1, "e": 2000, "c": "tok"}).encode())
    bad_mac = _b64(hmac.new(b"x", forged.encode(), hashlib.sha256).digest())
    for wrong in (
        f"{forged}.{mac}",
        f"{forged}.{bad_mac}",
        payload,
        "",
        f"{payload}.!!",
        f"{payload}.{mac}x",
        f"{payload}.{mac[:9]}..{mac[9:]}",  # characters slipped into the MAC
        f"{payload}.{mac[:9]}!!!!{mac[9:]}",
        f"{payload[:5]}....{payload[5:]}.{mac}",
    ):
        assert read_session(KEY, wrong, 0) is None, wrong
    for data in (b"not json", b'{"s": 1}', b'{"s": "x", "e": 9, "c": "t"}', b"[1]"):
        text = _b64(data)
        signed = f"{text}.{_b64(hmac.new(KEY, text.encode(), hashlib.sha256).digest())}"
        assert read_session(KEY, signed, 0) is None, data


# ---- on a bare app ---------------------------------------------------------------------------


async def _echo(request: web.Request) -> web.Response:
    staff = auth.staff_of(request) if STAFF_KEY in request else None  # what pages call
    return web.json_response(
        {
            "staff": staff.name if staff else None,
            "scope": repr(request.get(SCOPE_KEY)),
            "csrf": request.get(CSRF_KEY),
        }
    )


async def _spend(request: web.Request) -> web.StreamResponse:
    staff = await spend_token(request.match_info["token"], request.app[CLOCK].now())
    if staff is None:
        return web.Response(status=400)
    response = web.Response(status=204)
    await set_session(response, request, staff)
    return response


@dataclass
class Site:
    client: TestClient
    clock: FakeClock
    settings: Settings

    async def login(self, staff: Staff) -> tuple[str, str]:
        """Log ``staff`` in; returns (the Set-Cookie header, the session's CSRF token)."""
        url = await create_login_link(staff, settings=self.settings, clock=self.clock)
        async with self.client.post(f"/login/{_token(url)}") as resp:
            assert resp.status == 204
            header = resp.headers["Set-Cookie"]
        value = resp.cookies[COOKIE].value
        found = read_session(KEY, value, self.clock.now().timestamp())
        assert found is not None
        return header, found[1]


@contextlib.asynccontextmanager
async def site(**overrides: object) -> AsyncIterator[Site]:
    settings = make_settings(**{"secret_key": KEY.decode(), **overrides})
    clock = FakeClock()
    app = web.Application(middlewares=[access_middleware])
    app[SETTINGS] = settings
    app[CLOCK] = clock
    app[SESSION_KEY] = secret_key(settings)  # as setup_dashboard does: LOUZHANG_SECRET_KEY
    for path in ("/", "/api/x", "/x/live", "/metrics", "/healthz", "/login", "/static/a.css"):
        app.router.add_get(path, _echo)
    for path in ("/form", "/telegram/webhook", "/twilio/sms", "/twilio/status", "/api/x"):
        app.router.add_post(path, _echo)
    app.router.add_get("/login/{token}", _echo)
    app.router.add_post("/login/{token}", _spend)
    async with TestClient(TestServer(app)) as client:
        yield Site(client, clock, settings)


@pytest.fixture
async def web_site(db: str) -> AsyncIterator[Site]:
    async with site() as made:
        yield made


async def test_the_cookie_is_http_only_lax_and_lives_the_session(db: str) -> None:
    async with site(session_hours=2.0, public_url="http://lz.example.org") as made:
        header, _ = await made.login(await _staff())
    parts = {p.strip().split("=")[0].lower(): p.strip() for p in header.split(";")}
    assert parts["httponly"] and parts["path"] == "Path=/"
    assert parts["samesite"] == "SameSite=Lax"
    assert parts["max-age"] == "Max-Age=7200"
    assert "secure" not in parts


async def test_the_session_cookie_is_secure_behind_https(db: str) -> None:
    async with site(public_url="https://lz.example.org") as made:
        header, _ = await made.login(await _staff())
    assert "secure" in {p.strip().lower() for p in header.split(";")}
    async with site() as made:
        header, _ = await made.login(await _staff("li"))
    assert "secure" not in {p.strip().lower() for p in header.split(";")}


async def test_the_session_expires_after_session_hours(db: str) -> None:
    async with site(session_hours=1.0) as made:
        await made.login(await _staff())
        made.clock.advance(3600 - 1)
        assert (await made.client.get("/api/x")).status == 200
        made.clock.advance(1)
        assert (await made.client.get("/api/x")).status == 401


async def test_a_page_sees_the_staff_member_their_scope_and_csrf(web_site: Site) -> None:
    _, csrf = await web_site.login(await _staff("wang", "cadre", 3, 1))
    body = await (await web_site.client.get("/")).json()
    assert body == {"staff": "wang", "scope": "Scope(estate=1, [1, 3])", "csrf": csrf}


async def test_a_deactivated_staff_members_web_session_ends_at_once(web_site: Site) -> None:
    staff = await _staff("gone", "admin")
    await web_site.login(staff)
    assert (await web_site.client.get("/api/x")).status == 200
    await Staff.filter(id=staff.id).update(active=False)
    assert (await web_site.client.get("/api/x")).status == 401
    page = await web_site.client.get("/", allow_redirects=False)
    assert (page.status, page.headers["Location"]) == (302, "/login")


async def test_public_paths_need_no_session(web_site: Site) -> None:
    client = web_site.client
    for path in ("/healthz", "/login", "/login/abc", "/static/a.css"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 200, path
        assert (await response.json())["staff"] is None
    for path in ("/telegram/webhook", "/twilio/sms", "/twilio/status"):
        assert (await client.post(path, allow_redirects=False)).status == 200, path


async def test_without_a_session_pages_redirect_and_apis_answer_401(web_site: Site) -> None:
    client = web_site.client
    page = await client.get("/", allow_redirects=False)
    assert (page.status, page.headers["Location"]) == (302, "/login")
    for path, headers in (
        ("/api/x", {}),
        ("/x/live", {}),
        ("/", {"Accept": "text/html, text/event-stream"}),
    ):
        response = await client.get(path, headers=headers, allow_redirects=False)
        assert response.status == 401, path
        assert await response.json() == {"error": "login needed"}
    assert (await client.post("/form", allow_redirects=False)).status == 401
    client.session.cookie_jar.update_cookies({COOKIE: "garbage"}, client.make_url("/"))
    assert (await client.get("/api/x")).status == 401


async def test_every_post_needs_the_sessions_csrf_token(web_site: Site) -> None:
    staff = await _staff()
    _, csrf = await web_site.login(staff)
    client = web_site.client
    assert (await client.post("/form", headers={"X-CSRF-Token": csrf})).status == 200
    assert (await client.post("/form", data={"csrf": csrf})).status == 200
    multipart = FormData({"csrf": csrf})
    multipart.add_field("file", b"x", filename="a.csv")
    assert (await client.post("/form", data=multipart)).status == 200
    refused = [
        {},
        {"headers": {"X-CSRF-Token": "wrong"}},
        {"data": {"csrf": "wrong"}},
        {"data": {"csrf": ""}},
        {"headers": {"X-CSRF-Token": "wrong"}, "data": {"csrf": csrf}},
        {"json": {"csrf": csrf}},
    ]
    for options in refused:
        response = await client.post("/form", **options)  # type: ignore[arg-type]
        assert response.status == 403, options
        assert await response.text() == "CSRF check failed: reload the page"
    entries = await AuditEntry.filter(action="csrf_refused").order_by("id")
    assert len(entries) == len(refused)
    assert {(e.staff_id, e.target, e.allowed) for e in entries} == {(staff.id, "/form", False)}  # type: ignore[attr-defined]
    # Reads need no token.
    assert (await client.get("/")).status == 200
    assert (await client.head("/")).status == 200
    assert (await client.options("/")).status == 405  # no such route, but not refused


async def test_metrics_with_a_token_needs_the_bearer(db: str) -> None:
    async with site(metrics_token="s3cret") as made:
        client = made.client
        assert (await client.get("/metrics")).status == 401
        for given in ("Bearer nope", "s3cret", "bearer s3cret", "Bearer s3cretx"):
            assert (await client.get("/metrics", headers={"Authorization": given})).status == 401
        good = await client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
        assert good.status == 200
        await made.login(await _staff())
        assert (await client.get("/metrics")).status == 200


async def test_metrics_without_a_token_needs_loopback_or_a_session(web_site: Site) -> None:
    client = web_site.client
    assert (await client.get("/metrics")).status == 200  # the test client is on loopback
    for relayed in ({"X-Forwarded-For": "203.0.113.9"}, {"Forwarded": "for=203.0.113.9"}):
        response = await client.get("/metrics", headers=relayed)
        assert response.status == 401
        assert await response.text() == "login or metrics token needed"
    await web_site.login(await _staff())
    assert (await client.get("/metrics", headers={"X-Forwarded-For": "1.2.3.4"})).status == 200


@pytest.mark.parametrize(
    ("peer", "loopback"),
    [("127.0.0.1", True), ("::1", True), ("203.0.113.9", False), ("not an ip", False), ("", False)],
)
def test_only_a_direct_loopback_client_is_loopback(peer: str, loopback: bool) -> None:
    transport = mock.Mock()
    transport.get_extra_info.return_value = (peer, 1234) if peer else None
    request = make_mocked_request("GET", "/metrics", transport=transport)
    assert auth._loopback(request) is loopback


@pytest.mark.parametrize(
    ("path", "headers", "json_401"),
    [
        ("/api/drives", {}, True),
        ("/drives/3/live", {"Accept": "*/*"}, True),
        ("/drives", {"Accept": "text/event-stream"}, True),
        ("/drives", {"Accept": "text/html, text/event-stream;q=0.9"}, True),
        ("/drives", {}, False),  # a client that sends no Accept header
        ("/drives/3", {"Accept": "text/html"}, False),
        ("/live/drives", {"Accept": "*/*"}, False),
        ("/apis/x", {}, False),
    ],
)
def test_apis_and_event_streams_get_401_where_pages_are_sent_to_login(
    path: str, headers: dict[str, str], json_401: bool
) -> None:
    request = make_mocked_request("GET", path, headers=headers)
    assert auth._wants_json(request) is json_401


# ---- scopes on requests ----------------------------------------------------------------------


def _scoped(scope: Scope) -> Any:
    return {SCOPE_KEY: scope}


def test_require_some_keeps_the_allowed_buildings() -> None:
    cadre = _scoped(Scope([1, 3]))
    assert require_some(cadre, [3, 2, 1]) == [3, 1]
    assert require_some(cadre, []) == [1, 3]
    admin = _scoped(Scope(everything=True))
    assert require_some(admin, []) == []
    assert require_some(admin, [5, 4]) == [5, 4]
    with pytest.raises(web.HTTPForbidden) as refused:
        require_some(cadre, [2])
    assert refused.value.text == "not one of your buildings"
    for wanted in ([], [1]):
        with pytest.raises(web.HTTPForbidden) as refused:
            require_some(_scoped(Scope()), wanted)
        assert refused.value.text == "no buildings are assigned to you"


def test_require_building_refuses_another_building() -> None:
    require_building(_scoped(Scope([1])), 1)
    require_building(_scoped(Scope(everything=True)), 9)
    with pytest.raises(web.HTTPForbidden) as refused:
        require_building(_scoped(Scope([1])), 2)
    assert refused.value.text == "not one of your buildings"


def test_sessions_of_every_length_read_back() -> None:
    """base64 padding is dropped in the cookie and restored when it is read, for any length."""
    for n in range(12):
        value = sign_session(KEY, 7, 2000, "t" * n)
        assert read_session(KEY, value, 0) == (7, "t" * n), n
