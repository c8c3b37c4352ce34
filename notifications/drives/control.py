"""Who may steer a running call-up, and the audit words for it: one rule for every gateway.

Telegram's ``/next /pause /resume /skip /drive cancel``, their buttons and the drive page's
buttons all ask :func:`pace_refusal` / :func:`cancel_refusal` first, then call the
:class:`~notifications.drives.runtime.DriveRuntime` method, and record the action with
:func:`audit_action` / :func:`audit_target` (so the audit log reads the same whichever way it
was done).

* A pace verb acts on one point: a point volunteer only on their own point; anyone else only on
  a point that serves one of their buildings.
* Cancelling stops every point: admins, or staff whose buildings cover every point's buildings.
"""

from __future__ import annotations

from estate.access import Scope
from estate.models import Staff
from notifications.drives.models import Drive, DrivePoint
from notifications.drives.status import drive_points

PACE_VERBS = ("next", "pause", "resume", "skip")
VERBS = (*PACE_VERBS, "cancel")


def pace_refusal(
    staff: Staff, scope: Scope, point: DrivePoint, estate_id: int | None
) -> str | None:
    """Why ``staff`` may not change this point's pace (for the audit log), or None.
    ``estate_id`` is the drive's estate: building numbers of another estate are not theirs."""
    if staff.role == "point" and staff.point and staff.point != point.name:
        return f"your point is {staff.point}"
    if staff.role == "point" and staff.point == point.name:
        return None
    if not scope.allows_estate(estate_id) or not any(scope.allows(n) for n in point.buildings):
        return "not your buildings"
    return None


async def cancel_refusal(staff: Staff, scope: Scope, drive_id: int) -> str | None:
    """Why ``staff`` may not cancel the whole drive, or None."""
    if staff.role == "admin":
        return None
    drive = await Drive.get_or_none(id=drive_id)
    if drive is None or not scope.allows_estate(drive.estate_id):  # type: ignore[attr-defined]
        return "not all its buildings are yours"
    points = await drive_points(drive_id)
    if all(scope.allows(n) for p in points for n in p.buildings):
        return None
    return "not all its buildings are yours"


def audit_action(verb: str) -> str:
    """The audit log's action for a verb (as Telegram writes it)."""
    return "/drive cancel" if verb == "cancel" else f"/{verb}"


def audit_target(drive_id: int, verb: str, point: str = "") -> str:
    return f"drive {drive_id}" if verb == "cancel" else f"drive {drive_id} point {point}"
