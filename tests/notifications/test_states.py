"""The state tables of drives, batches, outbox messages and timers."""

from __future__ import annotations

import pytest

from notifications import states as outbox
from notifications.drives import states as drives
from notifications.drives.states import BatchState, DriveState
from notifications.states import OutboxStatus, TimerStatus


@pytest.mark.parametrize(
    ("a", "b", "allowed"),
    [
        ("waiting", "ready", True),
        ("waiting", "called", True),  # called before its "get ready" went out
        ("waiting", "skipped", True),
        ("ready", "called", True),
        ("ready", "skipped", True),
        ("called", "done", True),
        ("ready", "waiting", False),
        ("called", "ready", False),
        ("called", "skipped", False),
        ("done", "called", False),
        ("skipped", "called", False),
        ("waiting", "done", False),
        ("waiting", "nonsense", False),
        ("nonsense", "waiting", False),
    ],
)
def test_batch_moves(a: str, b: str, allowed: bool) -> None:
    assert drives.can_move(a, b) is allowed
    assert drives.can_move(BatchState(a) if a in set(BatchState) else a, b) is allowed


def test_batch_sources_for_the_guarded_updates() -> None:
    assert drives.sources(BatchState.READY) == (BatchState.WAITING,)
    assert drives.sources(BatchState.CALLED) == (BatchState.WAITING, BatchState.READY)
    assert drives.sources(BatchState.DONE) == (BatchState.CALLED,)
    assert drives.sources(BatchState.SKIPPED) == (BatchState.WAITING, BatchState.READY)
    assert drives.sources(BatchState.WAITING) == ()
    assert drives.PENDING == drives.sources(BatchState.CALLED)


def test_drive_moves() -> None:
    assert drives.can_move("running", "done", drives.DRIVE_MOVES)
    assert drives.can_move("running", "cancelled", drives.DRIVE_MOVES)
    assert not drives.can_move("done", "running", drives.DRIVE_MOVES)
    assert not drives.can_move("cancelled", "done", drives.DRIVE_MOVES)
    assert drives.sources(DriveState.DONE, drives.DRIVE_MOVES) == (DriveState.RUNNING,)


def test_every_state_has_a_row_and_values_are_the_stored_strings() -> None:
    for enum, table in (
        (BatchState, drives.BATCH_MOVES),
        (DriveState, drives.DRIVE_MOVES),
        (OutboxStatus, outbox.OUTBOX_MOVES),
        (TimerStatus, outbox.TIMER_MOVES),
    ):
        assert set(table) == set(enum)
        for targets in table.values():
            assert targets <= set(enum)
        for member in enum:
            assert member == member.value and isinstance(member, str)


@pytest.mark.parametrize(
    ("a", "b", "allowed"),
    [
        ("queued", "claimed", True),
        ("queued", "cancelled", True),
        ("claimed", "sending", True),
        ("claimed", "queued", True),  # released
        ("claimed", "expired", True),
        ("claimed", "failed", True),  # its contact is gone
        ("sending", "queued", True),  # retry later
        ("sending", "sent", True),
        ("sending", "accepted", True),
        ("sending", "failed", True),
        ("sending", "delivered", True),  # the report overtook the dispatcher
        ("accepted", "sent", True),
        ("sent", "delivered", True),
        ("sent", "undelivered", True),
        ("sent", "accepted", False),
        ("delivered", "failed", False),
        ("failed", "queued", False),
        ("cancelled", "queued", False),
        ("expired", "sending", False),
        ("sending", "cancelled", False),
        ("queued", "expired", False),
        ("nonsense", "queued", False),
        ("queued", "nonsense", False),
    ],
)
def test_outbox_moves(a: str, b: str, allowed: bool) -> None:
    assert outbox.can_move(a, b) is allowed


def test_outbox_never_moves_backwards_except_back_to_the_queue() -> None:
    for a, targets in outbox.OUTBOX_MOVES.items():
        for b in targets:
            if b == OutboxStatus.QUEUED:
                assert a in (OutboxStatus.CLAIMED, OutboxStatus.SENDING)
            else:
                assert outbox.STATUS_ORDER[b] >= outbox.STATUS_ORDER[a], (a, b)
    for final in outbox.FINAL:
        assert outbox.OUTBOX_MOVES[final] == frozenset()


def test_a_delivery_report_moves_from_every_earlier_state() -> None:
    """What a provider reports moves a row from exactly the states ranked before it."""
    for reported in ("accepted", "sent", "delivered", "undelivered", "failed"):
        rank = outbox.STATUS_ORDER[reported]
        earlier = {s for s, r in outbox.STATUS_ORDER.items() if r < rank}
        assert earlier <= set(outbox.sources(reported)), reported


def test_timer_moves() -> None:
    assert outbox.can_move("pending", "done", outbox.TIMER_MOVES)
    assert outbox.can_move("pending", "cancelled", outbox.TIMER_MOVES)
    assert not outbox.can_move("done", "pending", outbox.TIMER_MOVES)
    assert not outbox.can_move("nonsense", "done", outbox.TIMER_MOVES)
    assert outbox.sources(TimerStatus.DONE, outbox.TIMER_MOVES) == (TimerStatus.PENDING,)
