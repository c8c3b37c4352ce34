"""The state tables of survey rounds and responses."""

from __future__ import annotations

import pytest

from surveys import states
from surveys.states import ResponseStage, ResponseStatus, RoundStatus


@pytest.mark.parametrize(
    ("a", "b", "allowed"),
    [
        ("not_reached", "in_progress", True),
        ("not_reached", "answered", True),  # completed in one step
        ("in_progress", "answered", True),
        ("answered", "in_progress", False),  # revising keeps it answered
        ("in_progress", "not_reached", False),
        ("not_reached", "opted_out", False),  # shown, never stored
        ("answered", "nonsense", False),
        ("nonsense", "answered", False),
    ],
)
def test_response_status_moves(a: str, b: str, allowed: bool) -> None:
    assert states.can_move(a, b) is allowed


@pytest.mark.parametrize(
    ("a", "b", "allowed"),
    [
        ("pending", "active", True),
        ("active", "done", True),
        ("done", "active", True),  # revising, or Back after the end
        ("pending", "done", False),
        ("active", "pending", True),  # paused by a newer round
        ("done", "pending", False),
    ],
)
def test_response_stage_moves(a: str, b: str, allowed: bool) -> None:
    assert states.can_move(a, b, states.STAGE_MOVES) is allowed


def test_round_moves_and_sources() -> None:
    assert states.can_move("open", "closed", states.ROUND_MOVES)
    assert not states.can_move("closed", "open", states.ROUND_MOVES)
    assert states.sources(RoundStatus.CLOSED, states.ROUND_MOVES) == (RoundStatus.OPEN,)
    assert states.sources(ResponseStatus.ANSWERED) == (
        ResponseStatus.NOT_REACHED,
        ResponseStatus.IN_PROGRESS,
    )
    assert states.sources(ResponseStage.ACTIVE, states.STAGE_MOVES) == (
        ResponseStage.PENDING,
        ResponseStage.DONE,
    )


def test_every_state_has_a_row() -> None:
    for enum, table in (
        (ResponseStatus, states.RESPONSE_MOVES),
        (ResponseStage, states.STAGE_MOVES),
        (RoundStatus, states.ROUND_MOVES),
    ):
        assert set(table) == set(enum)
        assert all(targets <= set(enum) for targets in table.values())
