"""The moves a batch and a drive may make (notifications/drives/states.py), judged here so that
the drive modules' own tests see them.

Promises:
- A batch goes waiting -> ready -> called -> done, may be called before its "get ready" went
  out, and may be skipped only before it is called; nothing leaves done or skipped, and an
  unknown state moves nowhere.
- A drive goes from running to done or cancelled, and never back.
- The guarded UPDATEs move a row only from the states that may reach the target, in table order.
"""

from __future__ import annotations

import pytest

from notifications.drives import states
from notifications.drives.states import BatchState, DriveState


@pytest.mark.parametrize(
    ("a", "b", "allowed"),
    [
        ("waiting", "ready", True),
        ("waiting", "called", True),
        ("waiting", "skipped", True),
        ("ready", "called", True),
        ("ready", "skipped", True),
        ("called", "done", True),
        ("ready", "waiting", False),
        ("called", "skipped", False),
        ("done", "called", False),
        ("skipped", "called", False),
        ("waiting", "done", False),
        ("nonsense", "waiting", False),
    ],
)
def test_batch_moves(a: str, b: str, allowed: bool) -> None:
    assert states.can_move(a, b) is allowed


def test_drive_moves() -> None:
    assert states.can_move("running", "done", states.DRIVE_MOVES)
    assert states.can_move("running", "cancelled", states.DRIVE_MOVES)
    assert not states.can_move("done", "running", states.DRIVE_MOVES)
    assert not states.can_move("nonsense", "done", states.DRIVE_MOVES)


def test_sources_for_the_guarded_updates() -> None:
    assert states.sources(BatchState.CALLED) == (BatchState.WAITING, BatchState.READY)
    assert states.sources(BatchState.DONE) == (BatchState.CALLED,)
    assert states.sources(BatchState.WAITING) == ()
    assert states.sources(DriveState.CANCELLED, states.DRIVE_MOVES) == (DriveState.RUNNING,)
