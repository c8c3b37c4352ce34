"""What the outbox looks like now: counts, the oldest waiting message, the last errors.

Shown by ``louzhang outbox status`` and exported as Prometheus metrics on ``GET /metrics``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tortoise.functions import Count

from notifications.models import OutboxMessage, Priority

WAITING = ("queued", "claimed")


@dataclass
class OutboxSummary:
    counts: dict[tuple[str, str, int], int] = field(default_factory=dict)  # status, channel, prio
    oldest_waiting_seconds: float | None = None
    last_errors: list[tuple[datetime, str, str, str]] = field(default_factory=list)

    def by_status(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for (status, _, _), n in self.counts.items():
            out[status] = out.get(status, 0) + n
        return out

    def lines(self) -> list[str]:
        out = ["status        channel   priority   count"]
        for (status, channel, priority), n in sorted(self.counts.items()):
            name = (
                Priority(priority).name.lower()
                if priority in Priority._value2member_map_
                else str(priority)
            )
            out.append(f"{status:<13} {channel:<9} {name:<10} {n:>6}")
        if not self.counts:
            out.append("(the outbox is empty)")
        waiting = sum(n for (s, _, _), n in self.counts.items() if s in WAITING)
        age = "—" if self.oldest_waiting_seconds is None else f"{self.oldest_waiting_seconds:.0f}s"
        out.append(f"waiting: {waiting}; oldest waiting: {age}")
        if self.last_errors:
            out.append("last errors:")
            out.extend(
                f"  {at:%Y-%m-%d %H:%M:%S} {channel} {code or '-'} {error}"
                for at, channel, code, error in self.last_errors
            )
        return out


async def outbox_summary(now: datetime, *, errors: int = 10) -> OutboxSummary:
    summary = OutboxSummary()
    rows = (
        await OutboxMessage.all()
        .annotate(n=Count("id"))
        .group_by("status", "channel", "priority")
        .values("status", "channel", "priority", "n")
    )
    summary.counts = {(r["status"], r["channel"], int(r["priority"])): int(r["n"]) for r in rows}
    oldest = (
        await OutboxMessage.filter(status__in=WAITING, next_attempt_at__lte=now)
        .order_by("created_at")
        .first()
        .only("id", "created_at")
    )
    if oldest is not None:
        summary.oldest_waiting_seconds = max(0.0, (now - oldest.created_at).total_seconds())
    failed = (
        await OutboxMessage.filter(error__isnull=False)
        .order_by("-updated_at")
        .limit(errors)
        .values_list("updated_at", "channel", "error_code", "error")
    )
    summary.last_errors = [(at, ch, code or "", err or "") for at, ch, code, err in failed]
    return summary
