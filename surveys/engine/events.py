"""What the survey engine emits (pure): the runtime applies these (store, send, alert)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from surveys.definition.model import Question
from surveys.engine.state import Path

__all__ = [
    "Alert",
    "AnswerCleared",
    "AnswerSaved",
    "Ask",
    "Cancelled",
    "Completed",
    "Event",
    "Invalid",
    "Localized",
    "NeedsHuman",
]

Localized = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Ask:
    """Send this question. ``seq`` is new for every Ask (put it in button data to spot stale
    presses). ``previous`` is the answer stored now (show it; Keep keeps it). ``error`` is set
    on a re-ask. ``selected`` are the toggled values of a select_multiple. ``redraw`` marks an
    Ask that only updates the toggles of the question just sent (edit it in place if possible).
    An Ask of a note (``question.type == "note"``, or an image shown by its sms_alternative on
    SMS) expects no answer."""

    path: Path
    question: Question
    seq: int
    previous: Any = None
    error: Localized | None = None
    selected: tuple[str, ...] = ()
    can_back: bool = False
    redraw: bool = False


@dataclass(frozen=True, slots=True)
class AnswerSaved:
    path: Path
    value: Any


@dataclass(frozen=True, slots=True)
class AnswerCleared:
    """The answer at ``path`` was removed: ``(q,)`` a top-level answer, ``(group,)`` a whole
    repeat, ``(group, n)`` repeat item n, ``(group, n, q)`` one item answer."""

    path: Path


@dataclass(frozen=True, slots=True)
class Completed:
    answers: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Cancelled:
    pass


@dataclass(frozen=True, slots=True)
class Alert:
    """A survey-level alert whose ``when`` is true for the final answers. ``data`` holds
    ``survey``, ``when`` and ``values`` (the answers the expression reads)."""

    kind: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NeedsHuman:
    path: Path
    reason: str


@dataclass(frozen=True, slots=True)
class Invalid:
    """Input that changed nothing (``reason`` is a ``REASON_TEXT`` key). ``detail`` names the
    exception behind an ``internal_error`` (its type only: a message may quote the answer)."""

    path: Path | None
    reason: str
    detail: str = ""


Event = Ask | AnswerSaved | AnswerCleared | Completed | Cancelled | Alert | NeedsHuman | Invalid
