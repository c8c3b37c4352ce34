"""bot/buttons.py: every callback prefix parsed in one place."""

from __future__ import annotations

from bot.buttons import STAFF, Kind, parse, revise_data


def test_resident_buttons() -> None:
    answer = parse("a:12:3:0")
    assert answer is not None and answer.kind is Kind.SURVEY_ANSWER and answer.values == (12, 3)
    revise = parse(revise_data(7))
    assert revise is not None and revise.kind is Kind.REVISE and revise.values == (7,)
    reply = parse("dv:41:2")
    assert reply is not None and reply.kind is Kind.DRIVE_REPLY and reply.values == (41, 2)


def test_malformed_data_keeps_its_kind_without_values() -> None:
    for data, kind in (
        ("rv:x", Kind.REVISE),
        ("dv:41", Kind.DRIVE_REPLY),
        ("dv:1:2:3", Kind.DRIVE_REPLY),
    ):
        pressed = parse(data)
        assert pressed is not None and pressed.kind is kind and pressed.values is None
    answer = parse("a:x:1:0")
    assert answer is not None and answer.values is None


def test_staff_prefixes_and_unknown_data() -> None:
    for data in ("sv:open", "dr:pace:2", "pk:5", "qa:3"):
        pressed = parse(data)
        assert pressed is not None and pressed.kind in STAFF
    assert parse("zz:1") is None
    assert parse("") is None
