"""Staff logins to the web dashboard: one-time login tokens (only their SHA-256 is stored),
server-side sessions (revocable: logout, staff removal, role or building changes) and the staff
lookups a signed-in page needs."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from config.clock import Clock
from config.settings import Settings
from estate.access import Scope, audit
from estate.models import LoginToken, Staff, WebSession


def base_url(settings: Settings) -> str:
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = settings.http_host if settings.http_host not in ("0.0.0.0", "::") else "127.0.0.1"
    return f"http://{host}:{settings.http_port}"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_login_link(staff: Staff, *, settings: Settings, clock: Clock) -> str:
    """A one-time login URL for ``staff`` (valid ``login_link_minutes``)."""
    token = secrets.token_urlsafe(24)
    now = clock.now()
    await LoginToken.create(
        token_hash=_hash(token),
        staff_id=staff.id,
        created_at=now,
        expires_at=now + timedelta(minutes=settings.login_link_minutes),
    )
    await audit(now=now, action="login_link", staff=staff)
    return f"{base_url(settings)}/login/{token}"


async def peek_token(token: str, now: datetime) -> Staff | None:
    """The staff member a valid, unused token was made for (the token stays unused)."""
    row = await LoginToken.filter(
        token_hash=_hash(token), used_at__isnull=True, expires_at__gt=now
    ).first()
    if row is None:
        return None
    return await active_staff(row.staff_id)  # type: ignore[attr-defined]


async def spend_token(token: str, now: datetime) -> Staff | None:
    """Use a login token once: the staff member it was made for, or None."""
    row = await LoginToken.filter(token_hash=_hash(token), expires_at__gt=now).first()
    if row is None:
        return None
    # Only an unused token is marked used (also when two requests spend it at once).
    spent = await LoginToken.filter(id=row.id, used_at__isnull=True).update(used_at=now)
    if spent != 1:
        return None  # someone else used it at the same moment
    staff = await active_staff(row.staff_id)  # type: ignore[attr-defined]
    if staff is not None:
        await audit(now=now, action="login", staff=staff)
    return staff


async def active_staff(staff_id: int) -> Staff | None:
    return await Staff.filter(id=staff_id, active=True).first()


async def active_staff_list() -> list[Staff]:
    return await Staff.filter(active=True).order_by("name")


# ---- sessions ------------------------------------------------------------------------------
def grants_of(staff: Staff, scope: Scope) -> str:
    """A fingerprint of what a staff member may do: a session opened with other grants ends."""
    what = f"{staff.role}|{staff.shift or ''}|{staff.point or ''}|{scope!r}"
    return _hash(what)


async def start_session(
    staff: Staff, secret: str, *, grants: str, now: datetime, expires: datetime
) -> None:
    """Record a signed-in browser (only the SHA-256 of its ``secret`` is kept)."""
    await WebSession.filter(expires_at__lte=now).delete()  # the expired ones, on the way
    await WebSession.create(
        key_hash=_hash(secret),
        staff_id=staff.id,
        grants_hash=grants,
        created_at=now,
        expires_at=expires,
    )


async def session_staff(secret: str, staff_id: int, now: datetime) -> tuple[Staff, str] | None:
    """(the active staff member, the grants the session was opened with) of a live session."""
    row = (
        await WebSession.filter(
            key_hash=_hash(secret), staff_id=staff_id, expires_at__gt=now, staff__active=True
        )
        .select_related("staff")
        .first()
    )
    if row is None:
        return None
    return row.staff, row.grants_hash


async def end_session(secret: str) -> bool:
    """Log one browser out: its cookie never works again."""
    return bool(await WebSession.filter(key_hash=_hash(secret)).delete())


async def revoke_sessions(staff_id: int) -> int:
    """End every web session of a staff member (removed, or their role or buildings changed)."""
    return await WebSession.filter(staff_id=staff_id).delete()
