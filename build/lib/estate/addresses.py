"""Addresses as committee spreadsheets write them: buildings, floors and rooms.

Everything goes through Unicode NFKC first, so full-width digits (１２０３) and full-width
punctuation are read like their ASCII forms. A room is digits with an optional 室/号/room
suffix; its floor is everything but the last two digits (1203 -> 12, 302 -> 3, 3302 -> 33).
"12-03" is refused rather than guessed: in Chinese addresses "7-1203" usually means
building 7, room 1203, so a dash inside a room is ambiguous.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "AddressError",
    "floor_from_room",
    "parse_building",
    "parse_building_ranges",
    "parse_floor",
    "parse_room",
]

MAX_BUILDING = 9999
MAX_FLOOR = 200

_ROOM = re.compile(r"(?:room|rm\.?)?\s*(\d{1,6})\s*(?:室|号|room)?", re.IGNORECASE)
_BUILDING = re.compile(
    r"(?:building|bldg\.?|第)?\s*(\d{1,4})\s*(?:号楼|号|幢|栋|楼|座)?", re.IGNORECASE
)
_FLOOR = re.compile(r"(?:floor|第)?\s*(\d{1,3})\s*(?:楼|层|f)?", re.IGNORECASE)
_RANGE_SEP = re.compile(r"\s*(?:-|–|—|~|至|到)\s*")
_LIST_SEP = re.compile(r"[,、;\s]+")


class AddressError(ValueError):
    """A building, floor or room that cannot be read; ``str(error)`` says why."""


def _clean(raw: str) -> str:
    return unicodedata.normalize("NFKC", raw).strip()


def parse_room(raw: str) -> str:
    """Return the room as plain digits without leading zeros: ``" １２０３室 "`` -> ``"1203"``."""
    text = _clean(raw)
    if not text:
        raise AddressError("empty")
    match = _ROOM.fullmatch(text)
    if match is None:
        if "-" in text:
            raise AddressError(
                "a room is written as digits only, like 1203 (a dash is ambiguous: "
                "7-1203 may mean building 7, room 1203)"
            )
        raise AddressError("a room is written as digits, like 1203 or 1203室")
    room = match.group(1).lstrip("0")
    if not room:
        raise AddressError("a room number cannot be 0")
    return room


def floor_from_room(room: str) -> int | None:
    """The floor a room number carries (``"1203"`` -> 12), or None for rooms of 1-2 digits."""
    digits = parse_room(room)
    if len(digits) < 3:
        return None
    return int(digits[:-2])


def parse_building(raw: str) -> int:
    """Return a building number: ``"7"``, ``"7号楼"``, ``"7幢"``, ``"7栋"``, ``"７"`` -> 7."""
    text = _clean(raw)
    if not text:
        raise AddressError("empty")
    match = _BUILDING.fullmatch(text)
    if match is None:
        raise AddressError("a building is written as a number, like 7 or 7号楼")
    number = int(match.group(1))
    if not 1 <= number <= MAX_BUILDING:
        raise AddressError(f"a building number is between 1 and {MAX_BUILDING}")
    return number


def parse_floor(raw: str) -> int:
    """Return a floor number: ``"12"``, ``"12楼"``, ``"12层"``, ``"12F"`` -> 12."""
    text = _clean(raw)
    if not text:
        raise AddressError("empty")
    match = _FLOOR.fullmatch(text)
    if match is None:
        raise AddressError("a floor is written as a number, like 12 or 12层")
    number = int(match.group(1))
    if not 1 <= number <= MAX_FLOOR:
        raise AddressError(f"a floor is between 1 and {MAX_FLOOR}")
    return number


def parse_building_ranges(text: str) -> list[int]:
    """Read a building selection such as ``"1-5,7"`` into a sorted list without duplicates.

    Items are separated by commas (also ``，``, ``、``, ``;`` or spaces); a range is ``a-b``
    (also ``~``, ``–``, ``至``, ``到``). Raises :class:`ValueError` (an :class:`AddressError`)
    naming the item that cannot be read.
    """
    cleaned = _clean(text)
    cleaned = _RANGE_SEP.sub("-", cleaned)
    items = [item for item in _LIST_SEP.split(cleaned) if item]
    if not items:
        raise AddressError("no buildings given (expected something like 1-5,7)")
    numbers: set[int] = set()
    for item in items:
        first, sep, last = item.partition("-")
        try:
            start = parse_building(first)
            end = parse_building(last) if sep else start
        except AddressError:
            raise AddressError(
                f"{item!r} is not a building number or range (expected something like 1-5,7)"
            ) from None
        if end < start:
            raise AddressError(f"range {item!r} runs backwards (write {end}-{start})")
        numbers.update(range(start, end + 1))
    return sorted(numbers)
