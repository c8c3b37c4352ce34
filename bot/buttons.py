"""Every button's callback data: its prefix, who handles it and how its data is parsed.

Telegram's ``callback_data`` (and the simulator's buttons) carry one of these prefixes. Resident
buttons are parsed here and routed by :class:`bot.router.Router`; staff buttons go to the staff
command registry, which the staff commands register under the prefixes named here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from config.database import MAX_ID
from notifications.drives.runtime import REPLY_PREFIX as _DRIVE_REPLY
from surveys.runtime import parse_button as _parse_answer


class Kind(Enum):
    SURVEY_ANSWER = "a:"  # a:<response id>:<question seq>:<choice>  (surveys.runtime)
    REVISE = "rv:"  # rv:<response id>: change a completed survey's answers
    DRIVE_REPLY = _DRIVE_REPLY  # dv:<part id>:<1|2|3>: a household answers a call-up
    STAFF_SURVEY = "sv:"  # /survey wizard
    STAFF_DRIVE = "dr:"  # /drive wizard
    STAFF_PICKUP = "pk:"  # /pickup: mark a household's medicine as picked up
    STAFF_QUESTION = "qa:"  # /questions: answer a group of residents' questions


STAFF = frozenset({Kind.STAFF_SURVEY, Kind.STAFF_DRIVE, Kind.STAFF_PICKUP, Kind.STAFF_QUESTION})


@dataclass(frozen=True, slots=True)
class Pressed:
    """A parsed button: its kind and its values (``None`` when the data is malformed)."""

    kind: Kind
    data: str
    values: tuple[int, ...] | None = None


_NUMBER = re.compile(r"\d+")


def out_of_range(data: str) -> bool:
    """True when the data carries a number no database id can be (a forged or corrupted
    button): no button of ours does, and such a number must not reach a query."""
    return any(int(n) > MAX_ID for n in _NUMBER.findall(data) if len(n) >= 10)


def _ints(rest: str, n: int) -> tuple[int, ...] | None:
    parts = rest.split(":", n - 1)
    if len(parts) != n:
        return None
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        return None
    return values if all(0 <= v <= MAX_ID for v in values) else None


def parse(data: str) -> Pressed | None:
    """The button ``data`` belongs to; None for data no table entry claims."""
    for kind in Kind:
        if not data.startswith(kind.value):
            continue
        rest = data[len(kind.value) :]
        if kind is Kind.SURVEY_ANSWER:
            parsed = _parse_answer(data)
            return Pressed(kind, data, parsed[:2] if parsed else None)
        if kind is Kind.REVISE:
            return Pressed(kind, data, _ints(rest, 1))
        if kind is Kind.DRIVE_REPLY:
            return Pressed(kind, data, _ints(rest, 2))
        return Pressed(kind, data)
    return None


def revise_data(response_id: int) -> str:
    return f"{Kind.REVISE.value}{response_id}"
