"""Reading the audit log (``louzhang audit``): newest first, optionally one staff member's."""

from __future__ import annotations

import json
from datetime import UTC, tzinfo

from config.clock import SECOND, local_time
from estate.models import AuditEntry


async def audit_lines(*, staff: str | None = None, limit: int = 50, tz: tzinfo = UTC) -> list[str]:
    """One tab-separated line per entry: time (in ``tz``, the committee's zone; say the zone
    once above the lines), actor, allowed|REFUSED, action, target, detail."""
    query = AuditEntry.all()
    if staff:
        query = query.filter(actor=staff)
    lines = []
    for entry in await query.order_by("-at", "-id").limit(max(1, limit)):
        detail = (
            json.dumps(entry.detail, ensure_ascii=False, sort_keys=True) if entry.detail else ""
        )
        lines.append(
            "\t".join(
                [
                    local_time(entry.at, tz, SECOND),
                    entry.actor,
                    "allowed" if entry.allowed else "REFUSED",
                    entry.action,
                    entry.target,
                    detail,
                ]
            )
        )
    return lines
