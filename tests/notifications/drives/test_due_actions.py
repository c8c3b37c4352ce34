"""The decision half of a drive tick, as data: tests/notifications/drives/due_actions/*.yaml.

Case format::

    name: what it shows
    now: "14:05"                 # local time (Asia/Shanghai) on the drive's day
    pace: {slot: 5m, lead: 2m, adaptive: false, share: 0.8, min_interval: 0s}
    complete: [A]                # optional: points given with their whole schedule
    batches:                     # as stored (called, households, coming, paused optional)
      - {id: 1, point: A, seq: 1, state: called, ready: "13:58", call: "14:00", called: "14:00"}
    expect:                      # the actions, in order:
      - finish 1                 #   finish ID | ready ID | load POINT
      - call 2 ready 14:03:00 at 14:05:00 [dropping ready]
      - move 3 ready 14:08:00 at 14:10:00
"""

from __future__ import annotations

import typing
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from notifications.drives.planner import (
    Action,
    BatchView,
    Call,
    Finish,
    LoadSchedule,
    Move,
    Pace,
    Ready,
    due_actions,
)
from notifications.durations import parse_duration

SHANGHAI = ZoneInfo("Asia/Shanghai")
CASES = sorted((Path(__file__).parent / "due_actions").glob("*.yaml"))


def _at(text: str) -> datetime:
    parts = [int(p) for p in str(text).split(":")]
    hour, minute, second = [*parts, 0, 0][:3]
    return datetime(2022, 4, 10, hour, minute, second, tzinfo=SHANGHAI)


def _pace(raw: dict[str, Any]) -> Pace:
    return Pace(
        slot=parse_duration(str(raw.get("slot", "5m"))),
        lead=parse_duration(str(raw.get("lead", "0s"))),
        adaptive=bool(raw.get("adaptive", False)),
        share=float(raw.get("share", 0.8)),
        min_interval=parse_duration(str(raw.get("min_interval", "0s"))),
    )


def _batch(raw: dict[str, Any]) -> BatchView:
    return BatchView(
        id=int(raw["id"]),
        point=str(raw["point"]),
        seq=int(raw["seq"]),
        state=str(raw["state"]),
        ready_at=_at(raw["ready"]),
        call_at=_at(raw["call"]),
        called_at=_at(raw["called"]) if raw.get("called") else None,
        households=int(raw.get("households", 0)),
        coming=int(raw.get("coming", 0)),
        paused=bool(raw.get("paused", False)),
    )


def _clock(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%H:%M:%S")


def describe(action: Action) -> str:
    if isinstance(action, Call):
        drop = " dropping ready" if action.drop_ready else ""
        return (
            f"call {action.batch_id} ready {_clock(action.ready_at)} "
            f"at {_clock(action.call_at)}{drop}"
        )
    if isinstance(action, Move):
        return f"move {action.batch_id} ready {_clock(action.ready_at)} at {_clock(action.call_at)}"
    if isinstance(action, Ready):
        return f"ready {action.batch_id}"
    if isinstance(action, Finish):
        return f"finish {action.batch_id}"
    assert isinstance(action, LoadSchedule)
    return f"load {action.point}"


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _run(case: dict[str, Any]) -> list[Action]:
    return due_actions(
        [_batch(b) for b in case.get("batches") or []],
        _at(case["now"]),
        _pace(case.get("pace") or {}),
        complete=case.get("complete") or (),
    )


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_due_actions(path: Path) -> None:
    case = _load(path)
    got = [describe(a) for a in _run(case)]
    assert got == (case.get("expect") or []), case["name"]


def test_there_are_cases() -> None:
    assert len(CASES) >= 20


def test_every_action_has_a_case() -> None:
    """Every kind of action a tick can decide appears in some case file."""
    seen = {type(a) for path in CASES for a in _run(_load(path))}
    kinds = set(typing.get_args(Action))
    assert kinds - seen == set(), (
        f"no due_actions case produces {sorted(k.__name__ for k in kinds - seen)}"
    )


def test_the_batches_order_within_a_point_does_not_matter() -> None:
    for path in CASES:
        case = _load(path)
        rows = case.get("batches") or []
        first = {row["point"]: i for i, row in reversed(list(enumerate(rows)))}
        batches = sorted(rows, key=lambda row: (first[row["point"]], -row["seq"]))
        assert [describe(a) for a in _run({**case, "batches": batches})] == [
            describe(a) for a in _run(case)
        ], path.stem
