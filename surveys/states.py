"""The states of a survey round and of a household's response, with the moves allowed between
them (pure).

A response's ``status`` says how far the household got: ``not_reached`` -> ``in_progress``
(an answer saved) -> ``answered`` (completed; revising keeps it answered). ``opted_out`` is
never stored: reports and reminders show it for a household whose every contact opted out.
Its ``stage`` says whether the household is talking to this round now (a household talks to
one round at a time): ``pending`` (waiting its turn) -> ``active`` -> ``done`` (completed or
cancelled); revising or Back makes a done response ``active`` again. A newer round pauses an
active response that has not started (or went quiet) back to ``pending``. A round is ``open`` until
it is ``closed``.

The values are the strings stored in the database. Guarded UPDATEs move a row only from a
state that may move to the new one: ``filter(stage__in=sources(X, STAGE_MOVES)).update(stage=X)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

__all__ = [
    "RESPONSE_MOVES",
    "ROUND_MOVES",
    "STAGE_MOVES",
    "ResponseStage",
    "ResponseStatus",
    "RoundStatus",
    "can_move",
    "sources",
]


class ResponseStatus(StrEnum):
    NOT_REACHED = "not_reached"
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    OPTED_OUT = "opted_out"  # shown, never stored


class ResponseStage(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    DONE = "done"


class RoundStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


RESPONSE_MOVES: Mapping[str, frozenset[str]] = {
    ResponseStatus.NOT_REACHED: frozenset({ResponseStatus.IN_PROGRESS, ResponseStatus.ANSWERED}),
    ResponseStatus.IN_PROGRESS: frozenset({ResponseStatus.ANSWERED}),
    ResponseStatus.ANSWERED: frozenset(),
    ResponseStatus.OPTED_OUT: frozenset(),
}

STAGE_MOVES: Mapping[str, frozenset[str]] = {
    ResponseStage.PENDING: frozenset({ResponseStage.ACTIVE}),
    # active -> pending: a newer round paused it (not started yet, or quiet); asked again later
    ResponseStage.ACTIVE: frozenset({ResponseStage.DONE, ResponseStage.PENDING}),
    ResponseStage.DONE: frozenset({ResponseStage.ACTIVE}),
}

ROUND_MOVES: Mapping[str, frozenset[str]] = {
    RoundStatus.OPEN: frozenset({RoundStatus.CLOSED}),
    RoundStatus.CLOSED: frozenset(),
}


def can_move(a: str, b: str, moves: Mapping[str, frozenset[str]] = RESPONSE_MOVES) -> bool:
    """True when a response's status (or, with another table, its stage or a round's status)
    may go from ``a`` to ``b``."""
    return b in moves.get(a, frozenset())


def sources(target: str, moves: Mapping[str, frozenset[str]] = RESPONSE_MOVES) -> tuple[str, ...]:
    """The states that may move to ``target``, in the table's order (for guarded UPDATEs)."""
    return tuple(state for state, targets in moves.items() if target in targets)
