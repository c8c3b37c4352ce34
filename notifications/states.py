"""The states of an outbox message and of a timer, with the moves allowed between them (pure).

An outbox message is ``queued``; a dispatcher ``claimed`` it (a lease), is ``sending`` it,
and then the provider ``accepted`` it or it was ``sent``; delivery reports bring it to
``delivered`` or ``undelivered``. A send that may be retried goes back to ``queued``; one that
cannot ends ``failed``; a message nobody needs any more is ``cancelled``, one too late for its
moment ``expired``. A delivery report may overtake the dispatcher (it arrives while the row is
still ``sending``), so reports move a row from any earlier, not final state; a status never
moves backwards (:data:`STATUS_ORDER`), except a send handed back to the queue.

The values are the strings stored in the database. Guarded UPDATEs move a row only from a
state that may move to the new one: ``filter(status__in=sources(X)).update(status=X)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

__all__ = [
    "FINAL",
    "OUTBOX_MOVES",
    "STATUS_ORDER",
    "TIMER_MOVES",
    "WAITING",
    "OutboxStatus",
    "TimerStatus",
    "can_move",
    "sources",
]


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    CLAIMED = "claimed"
    SENDING = "sending"
    ACCEPTED = "accepted"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class TimerStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    CANCELLED = "cancelled"


_S = OutboxStatus

#: Delivery states in the order they happen; a status never moves backwards.
STATUS_ORDER: Mapping[str, int] = {
    _S.QUEUED: 0,
    _S.CLAIMED: 0,
    _S.SENDING: 1,
    _S.ACCEPTED: 2,
    _S.SENT: 3,
    _S.DELIVERED: 4,
    _S.UNDELIVERED: 4,
    _S.FAILED: 4,
    _S.CANCELLED: 4,
    _S.EXPIRED: 4,
}
FINAL: frozenset[str] = frozenset(s for s, rank in STATUS_ORDER.items() if rank == 4)
#: Waiting to be sent (a claimed row goes back to the queue when its lease runs out).
WAITING: tuple[OutboxStatus, ...] = (_S.QUEUED, _S.CLAIMED)
# What a provider's delivery report may set.
_REPORTED = (_S.ACCEPTED, _S.SENT, _S.DELIVERED, _S.UNDELIVERED, _S.FAILED)


# For each state not final: what a delivery report may move it to (a later state).
_REPORTS = {
    a: {b for b in _REPORTED if STATUS_ORDER[b] > STATUS_ORDER[a]}
    for a in OutboxStatus
    if a not in FINAL
}

OUTBOX_MOVES: Mapping[str, frozenset[str]] = {
    _S.QUEUED: frozenset({_S.CLAIMED, _S.CANCELLED} | _REPORTS[_S.QUEUED]),
    # a claim is released, sent, found too late, or its contact is gone
    _S.CLAIMED: frozenset({_S.QUEUED, _S.SENDING, _S.EXPIRED, _S.FAILED} | _REPORTS[_S.CLAIMED]),
    # handed back (a retry, a recovery, a slot given to call-ups), or the provider answered
    _S.SENDING: frozenset({_S.QUEUED, _S.ACCEPTED, _S.SENT, _S.FAILED} | _REPORTS[_S.SENDING]),
    _S.ACCEPTED: frozenset(_REPORTS[_S.ACCEPTED]),
    _S.SENT: frozenset(_REPORTS[_S.SENT]),
    **{s: frozenset() for s in FINAL},
}

TIMER_MOVES: Mapping[str, frozenset[str]] = {
    TimerStatus.PENDING: frozenset({TimerStatus.DONE, TimerStatus.CANCELLED}),
    TimerStatus.DONE: frozenset(),
    TimerStatus.CANCELLED: frozenset(),
}


def can_move(a: str, b: str, moves: Mapping[str, frozenset[str]] = OUTBOX_MOVES) -> bool:
    """True when an outbox message (or, with ``TIMER_MOVES``, a timer) may go from ``a`` to
    ``b``."""
    return b in moves.get(a, frozenset())


def sources(target: str, moves: Mapping[str, frozenset[str]] = OUTBOX_MOVES) -> tuple[str, ...]:
    """The states that may move to ``target``, in the table's order (for guarded UPDATEs)."""
    return tuple(state for state, targets in moves.items() if target in targets)
