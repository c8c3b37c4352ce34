"""Reading what staff and residents type about a drive (pure): ``--points``, ``--batch`` and a
resident's 1/2/3 reply (typed, or a button whose data starts with :data:`REPLY_PREFIX`)."""

from __future__ import annotations

import re
import unicodedata

from notifications.drives.planner import BatchSize, PlanError

__all__ = ["REPLY_PREFIX", "parse_batch", "parse_points", "parse_reply"]

#: Button data of a drive reply: ``dv:<part id>:<1|2|3>``.
REPLY_PREFIX = "dv:"

_SEPARATORS = str.maketrans({"、": ",", ";": ",", "～": "-", "~": "-", "–": "-", "—": "-"})
_RANGE = re.compile(r"(\d+)(?:-(\d+))?")


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_SEPARATORS)


def _parse_buildings(name: str, text: str) -> list[int]:
    numbers: list[int] = []
    seen: set[int] = set()
    if not text.strip():
        raise PlanError(f"point {name!r} lists no buildings")
    for item in text.split("+"):
        item = re.sub(r"\s+", "", item)
        match = _RANGE.fullmatch(item)
        if match is None:
            raise PlanError(
                f"point {name!r}: {item!r} is not a building number or range (like 1-4)"
            )
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if first < 1 or last < 1:
            raise PlanError(f"point {name!r}: building numbers start at 1")
        step = 1 if last >= first else -1
        for number in range(first, last + step, step):
            if number in seen:
                raise PlanError(f"point {name!r} lists building {number} twice")
            seen.add(number)
            numbers.append(number)
    return numbers


def parse_points(spec: str) -> list[tuple[str, list[int]]]:
    """Read ``--points``: comma-separated ``NAME:BUILDINGS`` into ``[(name, [buildings])]``.

    BUILDINGS is ranges and numbers joined by ``+``: ``1-4``, ``1-3+7+9``. Buildings are
    served in the order written; a descending range (``8-5``) serves 8, 7, 6, 5. Spaces are
    tolerated, and so are Chinese-keyboard forms (full-width ``：``, ``，``, ``＋``, digits,
    and ``、`` or ``;`` between points, ``~``/``～`` for ranges). Empty items (``A:1-4,``)
    are ignored.

    >>> parse_points("A:1-4, B：5+7")
    [('A', [1, 2, 3, 4]), ('B', [5, 7])]

    Raises:
        PlanError: on an item that is not ``NAME:BUILDINGS``, a point named twice, a building
            listed twice (in one point or two), or a bad number.
    """
    points: list[tuple[str, list[int]]] = []
    owner: dict[int, str] = {}
    for raw_item in _normalise(spec).split(","):
        item = raw_item.strip()
        if not item:
            continue
        name, colon, buildings = item.partition(":")
        name = name.strip()
        if not colon or not name:
            hint = ""
            if re.fullmatch(r"[\d\s+-]+", item) and points:
                hint = f" (to add to point {points[-1][0]!r}, join with +: e.g. 5+6)"
            raise PlanError(f"{item!r} is not NAME:BUILDINGS, e.g. A:1-4{hint}")
        if any(existing == name for existing, _ in points):
            raise PlanError(f"point {name!r} is named twice")
        numbers = _parse_buildings(name, buildings)
        for number in numbers:
            if number in owner:
                raise PlanError(
                    f"building {number} is listed under both point {owner[number]!r} "
                    f"and point {name!r}"
                )
            owner[number] = name
        points.append((name, numbers))
    if not points:
        raise PlanError("no sampling points given; write e.g. A:1-4,B:5-8")
    return points


def parse_batch(text: str) -> BatchSize:
    """Read ``--batch``: ``floor``, ``half`` or ``Nfloors`` (``2floors``, ``3 floors``, ``1 floor``).

    Case, spaces and full-width characters are tolerated.

    Raises:
        PlanError: on anything else, or zero floors.
    """
    norm = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()
    if norm == "floor":
        return BatchSize.FLOOR
    if norm in ("half", "halfbuilding", "half-building"):
        return BatchSize.HALF
    match = re.fullmatch(r"(\d+)floors?", norm)
    if match is None:
        raise PlanError(
            f"{text.strip()!r} is not a batch size; use floor, half or Nfloors (e.g. 2floors)"
        )
    count = int(match.group(1))
    if count < 1:
        raise PlanError("a batch must hold at least one floor")
    return BatchSize.of_floors(count)


def parse_reply(body: str) -> int | None:
    """1, 2 or 3 from an SMS or chat reply (full-width digits too); None otherwise."""
    cleaned = body.strip().translate(str.maketrans("１２３", "123")).rstrip(".。!！")
    return int(cleaned) if cleaned in ("1", "2", "3") else None
