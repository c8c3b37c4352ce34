"""What the outbox looks like now: counts, the oldest waiting message, the last errors.

Shown by ``louzhang outbox status``, exported as Prometheus metrics on ``GET /metrics`` and
shown on the dashboard's outbox page (limited to a staff member's buildings).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from tortoise.functions import Count
from tortoise.queryset import QuerySet

from config.clock import SECOND, local_time
from estate.access import in_scope
from notifications.models import OutboxMessage, Priority
from notifications.states import WAITING, OutboxStatus


@dataclass
class OutboxSummary:
    counts: dict[tuple[str, str, int], int] = field(default_factory=dict)  # status, channel, prio
    oldest_waiting_seconds: float | None = None
    last_errors: list[tuple[datetime, str, str, str]] = field(default_factory=list)
    sent_within: dict[timedelta, int] = field(default_factory=dict)  # messages sent lately
    calls_in_flight: int = 0  # voice calls placed and not yet ended
    calls: dict[str, int] = field(default_factory=dict)  # voice calls by how they ended

    def waiting_by_priority(self) -> list[tuple[str, int]]:
        """(priority name, messages waiting) for every priority, most urgent first."""
        by: dict[int, int] = {}
        for (status, _, priority), n in self.counts.items():
            if status in WAITING:
                by[priority] = by.get(priority, 0) + n
        return [(p.name.lower(), by.get(int(p), 0)) for p in Priority]

    def by_status(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for (status, _, _), n in self.counts.items():
            out[status] = out.get(status, 0) + n
        return out

    def lines(self, tz: tzinfo = UTC) -> list[str]:
        """The summary as text; times in ``tz`` (the committee's zone)."""
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
        if self.calls_in_flight or self.calls:
            ended = ", ".join(f"{k} {n}" for k, n in sorted(self.calls.items())) or "none"
            out.append(f"calls in flight: {self.calls_in_flight}; calls ended: {ended}")
        if self.last_errors:
            out.append("last errors:")
            out.extend(
                f"  {local_time(at, tz, SECOND)} {channel} {code or '-'} {error}"
                for at, channel, code, error in self.last_errors
            )
        return out


async def outbox_summary(
    now: datetime,
    *,
    errors: int = 10,
    buildings: Sequence[int] | None = None,
    sent_within: Sequence[timedelta] = (),
    estate: int | None = None,
) -> OutboxSummary:
    """The whole outbox, or only the messages to households of ``buildings`` (of ``estate``,
    when given); with ``sent_within``, how many were sent in each of these last spans of time
    too."""

    def messages() -> QuerySet[OutboxMessage]:
        query = OutboxMessage.filter(**in_scope(estate, "household__building__"))
        if buildings is not None:
            query = query.filter(household__building__number__in=list(buildings))
        return query

    summary = OutboxSummary()
    rows = (
        await messages()
        .annotate(n=Count("id"))
        .group_by("status", "channel", "priority")
        .values("status", "channel", "priority", "n")
    )
    summary.counts = {(r["status"], r["channel"], int(r["priority"])): int(r["n"]) for r in rows}
    oldest = (
        await messages()
        .filter(status__in=WAITING, next_attempt_at__lte=now)
        .order_by("created_at")
        .first()
        .only("id", "created_at")
    )
    if oldest is not None:
        summary.oldest_waiting_seconds = max(0.0, (now - oldest.created_at).total_seconds())
    failed = (
        await messages()
        .filter(error__isnull=False)
        .order_by("-updated_at")
        .limit(errors)
        .values_list("updated_at", "channel", "error_code", "error")
    )
    summary.last_errors = [(at, ch, code or "", err or "") for at, ch, code, err in failed]
    summary.calls_in_flight = (
        await messages().filter(channel="voice", status__in=CALL_IN_FLIGHT).count()
    )
    summary.calls = await _calls_ended(messages())
    for span in sent_within:
        summary.sent_within[span] = await messages().filter(sent_at__gte=now - span).count()
    return summary


#: A voice call placed (or being placed) whose final status has not come yet.
CALL_IN_FLIGHT = (OutboxStatus.SENDING, OutboxStatus.ACCEPTED, OutboxStatus.SENT)


async def _calls_ended(query: QuerySet[OutboxMessage]) -> dict[str, int]:
    """Voice calls that ended, by outcome: answered, busy, no-answer, failed, machine ..."""
    rows = (
        await query.filter(
            channel="voice",
            status__in=(OutboxStatus.DELIVERED, OutboxStatus.UNDELIVERED, OutboxStatus.FAILED),
        )
        .annotate(n=Count("id"))
        .group_by("status", "error_code")
        .values_list("status", "error_code", "n")
    )
    out: dict[str, int] = {}
    for status, code, n in rows:
        name = "answered" if status == OutboxStatus.DELIVERED else str(code or status)
        out[name] = out.get(name, 0) + int(n)  # type: ignore[call-overload]
    return out


async def newest_message_id(channel: str, address: str) -> int:
    """The id of the newest outbox message to (channel, address); 0 when there is none."""
    newest = (
        await OutboxMessage.filter(channel=channel, address=address)
        .order_by("-id")
        .first()
        .values_list("id", flat=True)
    )
    return int(newest or 0)  # type: ignore[call-overload,arg-type]


async def messages_to(
    channel: str, address: str, statuses: Sequence[str], limit: int
) -> list[OutboxMessage]:
    """The newest ``limit`` messages to (channel, address) in these statuses, newest first."""
    return list(
        await OutboxMessage.filter(channel=channel, address=address, status__in=list(statuses))
        .order_by("-id")
        .limit(limit)
    )


async def question_message_id(ref: str, channel: str, address: str) -> int | None:
    """The provider id of the newest message (not an edit) to (channel, address) about ``ref``,
    when it carries buttons and was sent: the question a typed answer just answered."""
    rows = (
        await OutboxMessage.filter(ref=ref, channel=channel, address=address)
        .order_by("-id")
        .limit(10)
        .values_list("provider_id", "body")
    )
    for provider_id, body in rows:
        if (body.get("extra") or {}).get("edit_message_id") is not None:
            continue  # an edit of an earlier message
        if not body.get("buttons") or not str(provider_id or "").isdigit():
            return None
        return int(str(provider_id))
    return None
