"""Staff logins to the web dashboard: one-time login tokens (only their SHA-256 is stored) and
the staff lookups a signed-in page needs."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from config.clock import Clock
from config.settings import Settings
from estate.access import audit
from estate.models import LoginToken, Staff


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
    row = await LoginToken.filter(
        token_hash=_hash(token), used_at__isnull=True, expires_at__gt=now
    ).first()
    if row is None:
        return None
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
