"""Staff login for the web pages: one-time links, signed expiring cookies, CSRF, access rules.

* A link comes from the bot (``/login``) or from ``louzhang staff login NAME`` (estate/logins.py
  makes and spends them). Only the token's SHA-256 is stored; a link works once, within ``LOUZHANG_LOGIN_LINK_MINUTES``. Opening it
  shows a button; the POST spends the token (so a chat app's link preview cannot spend it).
* The session is a cookie signed with HMAC-SHA256 (key: ``LOUZHANG_SECRET_KEY``, or one made
  once and kept in the data folder); it carries the staff id, an expiry and the CSRF token,
  which is also the session's key on the server (only its SHA-256 is stored: estate/logins.py).
  A cookie works only while its server-side session lives: logout ends it; removing a staff
  member, deactivating them or changing their role or buildings ends all of theirs.
  HttpOnly, SameSite=Lax, Secure when ``LOUZHANG_PUBLIC_URL`` is https.
* Every page and API needs a session except ``/healthz``, the Telegram and Twilio webhooks
  (they keep their own checks), the login pages and ``/static``. Pages redirect to ``/login``,
  APIs and event streams answer 401. Every POST needs the session's CSRF token (form field
  ``csrf`` or header ``X-CSRF-Token``), else 403.
* ``/metrics``: with ``LOUZHANG_METRICS_TOKEN`` set, ``Authorization: Bearer TOKEN`` (or a
  staff session); unset, a staff session or a direct client on loopback (a Prometheus on the
  same host; a request carrying any proxy header - X-Forwarded-*, X-Real-IP, Forwarded, Via … -
  is not taken as loopback: behind a proxy, set ``LOUZHANG_METRICS_TOKEN``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import secrets
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from pathlib import Path

from aiohttp import web

from bot.web.keys import CLOCK, CSRF_KEY, SCOPE_KEY, SESSION_KEY, SETTINGS, STAFF_KEY
from config.settings import Settings
from estate.access import Scope, audit, scope_of
from estate.logins import end_session, grants_of, session_staff, start_session
from estate.models import Staff

log = logging.getLogger(__name__)

COOKIE = "lz_session"
# Twilio's voice routes check Twilio's signature themselves (bot/web/webhooks.py);
# /media/ checks its own signed URL (bot/web/media.py).
PUBLIC_PREFIXES = ("/static/", "/login/", "/twilio/voice/", "/media/")
PUBLIC_PATHS = frozenset(
    {"/healthz", "/telegram/webhook", "/twilio/sms", "/twilio/status", "/login", "/twilio/voice"}
)


# ---- the key -------------------------------------------------------------------------------
def data_folder(settings: Settings) -> Path:
    """Where the SQLite file lives (``data/`` by default); ``data/`` for other databases."""
    return settings.data_dir


def secret_key(settings: Settings) -> bytes:
    """``LOUZHANG_SECRET_KEY``, or the key kept in the data folder (made on first use)."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path = data_folder(settings) / "secret_key"
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it a moment ago
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    log.info("made a new secret key in %s", path)
    return key


# ---- the session cookie --------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    """Strict: a character outside base64url (a "." or "!" slipped into a cookie) is an error,
    not skipped as urlsafe_b64decode would."""
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def sign_session(key: bytes, staff_id: int, expires: float, csrf: str) -> str:
    payload = _b64(json.dumps({"s": staff_id, "e": int(expires), "c": csrf}).encode())
    mac = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(mac)}"


def read_session(key: bytes, value: str, now: float) -> tuple[int, str] | None:
    """(staff id, CSRF token) of a valid, unexpired cookie value; None otherwise."""
    try:
        payload, mac = value.split(".", 1)
        expected = hmac.new(key, payload.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(mac)):
            return None
        data = json.loads(_unb64(payload))
        if float(data["e"]) <= now:
            return None
        return int(data["s"]), str(data["c"])
    except (ValueError, KeyError, TypeError):
        return None


async def set_session(response: web.StreamResponse, request: web.Request, staff: Staff) -> None:
    """Sign ``staff`` in: a new server-side session (estate/logins.py) and its cookie."""
    settings = request.app[SETTINGS]
    max_age = int(settings.session_hours * 3600)
    now = request.app[CLOCK].now()
    secret = secrets.token_urlsafe(18)  # the session's key and its CSRF token
    await start_session(
        staff,
        secret,
        grants=grants_of(staff, await scope_of(staff)),
        now=now,
        expires=now + timedelta(seconds=max_age),
    )
    value = sign_session(request.app[SESSION_KEY], staff.id, now.timestamp() + max_age, secret)
    response.set_cookie(
        COOKIE,
        value,
        max_age=max_age,
        httponly=True,
        samesite="Lax",
        secure=(settings.public_url or "").startswith("https://"),
        path="/",
    )


# ---- access --------------------------------------------------------------------------------
def _is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def _wants_json(request: web.Request) -> bool:
    return (
        request.path.startswith("/api/")
        or request.path.endswith("/live")
        or "text/event-stream" in request.headers.get("Accept", "")
    )


# Headers a reverse proxy adds: a request carrying any of them was relayed, whatever its peer.
PROXY_HEADERS = frozenset(
    {
        "forwarded",
        "via",
        "x-real-ip",
        "x-client-ip",
        "client-ip",
        "true-client-ip",
        "cf-connecting-ip",
        "fastly-client-ip",
        "x-cluster-client-ip",
        "x-proxyuser-ip",
    }
)
PROXY_PREFIXES = ("x-forwarded-", "x-original-", "x-envoy-")


def _relayed(request: web.Request) -> bool:
    return any(
        name.lower() in PROXY_HEADERS or name.lower().startswith(PROXY_PREFIXES)
        for name in request.headers
    )


def _loopback(request: web.Request) -> bool:
    """A direct client on loopback: the peer is a loopback address and no proxy header of any
    kind is present (a proxy on the same host relays the world from 127.0.0.1)."""
    if _relayed(request):
        return False
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def access_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if _is_public(request.path):
        return await handler(request)
    clock = request.app[CLOCK]
    staff: Staff | None = None
    csrf = ""
    sc: Scope | None = None
    cookie = request.cookies.get(COOKIE)
    if cookie:
        found = read_session(request.app[SESSION_KEY], cookie, clock.now().timestamp())
        if found is not None:
            live = await session_staff(found[1], found[0], clock.now())
            if live is not None:
                staff, csrf = live[0], found[1]
                sc = await scope_of(staff)
                if grants_of(staff, sc) != live[1]:  # role or buildings changed since login
                    await end_session(csrf)
                    staff = None
    if request.path == "/metrics" and staff is None:
        token = request.app[SETTINGS].metrics_token
        if token:
            given = request.headers.get("Authorization", "")
            if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return await handler(request)
        elif _loopback(request):
            return await handler(request)
        return web.Response(status=401, text="login or metrics token needed")
    if staff is None:
        if _wants_json(request) or request.method != "GET":
            return web.json_response({"error": "login needed"}, status=401)
        raise web.HTTPFound("/login")
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        given = request.headers.get("X-CSRF-Token", "")
        if not given and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            given = str((await request.post()).get("csrf", ""))
        if not given or not hmac.compare_digest(given.encode(), csrf.encode()):
            await audit(
                now=clock.now(),
                action="csrf_refused",
                staff=staff,
                target=request.path,
                allowed=False,
            )
            return web.Response(status=403, text="CSRF check failed: reload the page")
    request[STAFF_KEY] = staff
    request[SCOPE_KEY] = sc if sc is not None else await scope_of(staff)
    request[CSRF_KEY] = csrf
    return await handler(request)


def staff_of(request: web.Request) -> Staff:
    staff: Staff = request[STAFF_KEY]
    return staff


def scope(request: web.Request) -> Scope:
    s: Scope = request[SCOPE_KEY]
    return s


def require_some(request: web.Request, buildings: Iterable[int]) -> list[int]:
    """The buildings of ``buildings`` the staff member may see; 403 when there are none.
    An empty ``buildings`` means the whole estate: only an admin sees all of it."""
    wanted = list(buildings)
    sc = scope(request)
    if not sc.everything and not sc.buildings:
        raise web.HTTPForbidden(text="no buildings are assigned to you")
    if not wanted:
        if sc.everything:
            return []
        return sorted(sc.buildings)
    allowed = sc.filter(wanted)
    if not allowed:
        raise web.HTTPForbidden(text="not one of your buildings")
    return allowed


def require_building(request: web.Request, building: int) -> None:
    if not scope(request).allows(building):
        raise web.HTTPForbidden(text="not one of your buildings")
