"""Buildings, floors and rooms as committee spreadsheets write them."""

from __future__ import annotations

import pytest

from estate.addresses import (
    AddressError,
    floor_from_room,
    parse_building,
    parse_building_ranges,
    parse_floor,
    parse_room,
)


@pytest.mark.parametrize(
    ("raw", "room"),
    [
        ("1203", "1203"),
        ("1203室", "1203"),
        (" 1203 ", "1203"),
        ("１２０３", "1203"),
        ("１２０３室", "1203"),
        ("1203号", "1203"),
        ("Room 1203", "1203"),
        ("room1203", "1203"),
        ("0302", "302"),
        ("12", "12"),
    ],
)
def test_room(raw: str, room: str) -> None:
    assert parse_room(raw) == room


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("12-03", "a dash is ambiguous"),
        ("7-1203", "a dash is ambiguous"),
        ("A1203", "digits"),
        ("1203A", "digits"),
        ("0", "cannot be 0"),
        ("1234567", "digits"),
    ],
)
def test_bad_room(raw: str, reason: str) -> None:
    with pytest.raises(AddressError, match=reason):
        parse_room(raw)


@pytest.mark.parametrize(
    ("room", "floor"),
    [
        ("1203", 12),
        ("302", 3),
        ("3302", 33),
        ("1003", 10),
        ("101", 1),
        ("1203室", 12),
        ("12", None),
        ("1", None),
    ],
)
def test_floor_from_room(room: str, floor: int | None) -> None:
    assert floor_from_room(room) == floor


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("7", 7),
        ("7号楼", 7),
        ("7幢", 7),
        ("7栋", 7),
        ("7号", 7),
        ("７", 7),
        ("第7栋", 7),
        (" 25 ", 25),
        ("Building 7", 7),
    ],
)
def test_building(raw: str, number: int) -> None:
    assert parse_building(raw) == number


@pytest.mark.parametrize("raw", ["", "0", "seven", "7-1", "7A", "-3"])
def test_bad_building(raw: str) -> None:
    with pytest.raises(AddressError):
        parse_building(raw)


@pytest.mark.parametrize(
    ("raw", "floor"),
    [("12", 12), ("12楼", 12), ("12层", 12), ("12F", 12), ("１２", 12), ("第3层", 3)],
)
def test_floor(raw: str, floor: int) -> None:
    assert parse_floor(raw) == floor


@pytest.mark.parametrize("raw", ["", "0", "B1", "-1", "twelve", "1000"])
def test_bad_floor(raw: str) -> None:
    with pytest.raises(AddressError):
        parse_floor(raw)


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("1-5,7", [1, 2, 3, 4, 5, 7]),
        ("7", [7]),
        ("１－５，７", [1, 2, 3, 4, 5, 7]),
        ("1~3、9", [1, 2, 3, 9]),
        ("1 - 3 , 2-4", [1, 2, 3, 4]),
        ("5,3,5", [3, 5]),
        ("3-3", [3]),
        ("7号楼-9号楼", [7, 8, 9]),
        ("1至3", [1, 2, 3]),
    ],
)
def test_building_ranges(text: str, numbers: list[int]) -> None:
    assert parse_building_ranges(text) == numbers


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "no buildings given"),
        (" , ", "no buildings given"),
        ("5-1", "runs backwards"),
        ("a", "'a' is not a building number"),
        ("1-", "'1-' is not a building number"),
        ("1-5-7", "'1-5-7' is not"),
        ("0-3", "'0-3' is not"),
    ],
)
def test_bad_building_ranges(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_building_ranges(text)
