"""The states of a drive and of its batches, with the moves allowed between them (pure).

A batch: ``waiting`` -> ``ready`` ("get ready" sent) -> ``called`` ("come down now" sent) ->
``done`` (the point called its next batch, or the slot ended); a batch called before its "get
ready" went out jumps from ``waiting`` to ``called``; a batch not yet called may be
``skipped`` (``/skip``). A drive: ``running`` -> ``done`` or ``cancelled``.

The values are the strings stored in the database. Guarded UPDATEs move a row only from a
state that may move to the new one: ``filter(state__in=sources(X)).update(state=X)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

__all__ = [
    "ANNOUNCED",
    "BATCH_MOVES",
    "DRIVE_MOVES",
    "OPEN",
    "PENDING",
    "BatchState",
    "DriveState",
    "can_move",
    "sources",
]


class BatchState(StrEnum):
    WAITING = "waiting"
    READY = "ready"
    CALLED = "called"
    DONE = "done"
    SKIPPED = "skipped"


class DriveState(StrEnum):
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"


BATCH_MOVES: Mapping[str, frozenset[str]] = {
    BatchState.WAITING: frozenset({BatchState.READY, BatchState.CALLED, BatchState.SKIPPED}),
    BatchState.READY: frozenset({BatchState.CALLED, BatchState.SKIPPED}),
    BatchState.CALLED: frozenset({BatchState.DONE}),
    BatchState.DONE: frozenset(),
    BatchState.SKIPPED: frozenset(),
}

DRIVE_MOVES: Mapping[str, frozenset[str]] = {
    DriveState.RUNNING: frozenset({DriveState.DONE, DriveState.CANCELLED}),
    DriveState.DONE: frozenset(),
    DriveState.CANCELLED: frozenset(),
}


def can_move(a: str, b: str, moves: Mapping[str, frozenset[str]] = BATCH_MOVES) -> bool:
    """True when a batch (or, with ``DRIVE_MOVES``, a drive) may go from ``a`` to ``b``."""
    return b in moves.get(a, frozenset())


def sources(target: str, moves: Mapping[str, frozenset[str]] = BATCH_MOVES) -> tuple[str, ...]:
    """The states that may move to ``target``, in the table's order (for guarded UPDATEs)."""
    return tuple(state for state, targets in moves.items() if target in targets)


#: Batches not called yet (their times may still move).
PENDING: tuple[BatchState, ...] = (BatchState.WAITING, BatchState.READY)
#: Batches a point still has to do something with.
OPEN: tuple[BatchState, ...] = (BatchState.WAITING, BatchState.READY, BatchState.CALLED)
#: Batches whose households were told to get ready or to come down.
ANNOUNCED: tuple[BatchState, ...] = (BatchState.READY, BatchState.CALLED, BatchState.DONE)
