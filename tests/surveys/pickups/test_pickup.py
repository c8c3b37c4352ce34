"""Pickup lists from medication answers (pure): who needs what, ordered by floor, cards to
collect, marks, the shift on duty, chat messages within Telegram's limits, table rows."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from surveys.pickups.lists import (
    XLSX_COLUMNS,
    Answered,
    Mark,
    build_lists,
    mark_data,
    parse_mark,
    render_list,
    shift_hours,
    shift_on_duty,
    table_rows,
)
from surveys.pickups.texts import TEXTS


def med(
    drug: str, dose: str = "2盒", card: str = "no", patient: str = "母亲", days: int = 0
) -> dict[str, Any]:
    return {
        "patient": patient,
        "drug": drug,
        "dose": dose,
        "days_left": days,
        "hospital": "",
        "insurance_card": card,
    }


def answers(*items: dict[str, Any], urgency: str = "today") -> dict[str, Any]:
    return {"needs_medicine": "yes", "medicines": list(items), "urgency": urgency}


ROWS = [
    Answered(1, 7, 12, "1203", answers(med("阿莫西林", "0.5克 3盒", card="yes"), med("降压药"))),
    Answered(2, 7, 3, "302", answers(med("胰岛素", card="yes"), urgency="within_3_days")),
    Answered(3, 7, 12, "1201", {"needs_medicine": "no"}),
    Answered(4, 8, 5, "501", answers(med("Metformin", "500 mg x2", patient="me"))),
    Answered(5, 7, 3, "301", answers(med("硝苯地平"), urgency="this_week")),
    Answered(6, 7, 20, "2002", {"needs_medicine": "yes", "medicines": [{"drug": ""}]}),
]


def test_lists_by_building_ordered_by_floor_then_room() -> None:
    lists = build_lists(ROWS)
    assert [p.building for p in lists] == [7, 8]
    seven = lists[0]
    assert [h.address for h in seven.households] == ["7-301", "7-302", "7-1203"]
    assert [h.floor for h in seven.households] == [3, 3, 12]
    assert seven.items == 4 and seven.cards == 2 and seven.open_items == 4
    top = seven.households[2]
    assert top.urgency == "today"
    assert [(i.drug, i.quantity, i.card) for i in top.items] == [
        ("阿莫西林", "0.5克 3盒", True),
        ("降压药", "2盒", False),
    ]


def test_no_medicine_answers_and_empty_items_are_left_out() -> None:
    lists = build_lists(ROWS, buildings=[7, 9])
    assert [p.building for p in lists] == [7, 9]
    assert lists[1].households == ()
    assert all(h.response_id not in (3, 6) for p in lists for h in p.households)


def test_marks_show_in_the_list_and_the_table() -> None:
    marks = {(1, 1): Mark(card_collected=True), (1, 2): Mark(delivered=True)}
    [seven] = build_lists(ROWS, marks, buildings=[7])
    top = seven.households[2]
    assert top.items[0].card_collected and not top.items[0].delivered
    assert top.items[1].delivered and seven.open_items == 3
    rows = {(r[2], r[4]): dict(zip(XLSX_COLUMNS, r, strict=True)) for r in table_rows([seven])}
    assert rows[("1203", 1)]["insurance_card"] == "yes"
    assert rows[("1203", 1)]["card_collected"] == "yes"
    assert rows[("1203", 2)]["delivered"] == "yes"
    assert rows[("302", 1)]["urgency"] == "within_3_days"


@pytest.mark.parametrize(
    ("at", "start", "shift"),
    [
        (time(8, 0), time(8, 0), "A"),
        (time(19, 59), time(8, 0), "A"),
        (time(20, 0), time(8, 0), "B"),
        (time(3, 0), time(8, 0), "B"),
        (time(7, 59), time(8, 0), "B"),
        (time(23, 0), time(21, 30), "A"),
        (time(9, 0), time(21, 30), "A"),
        (time(9, 30), time(21, 30), "B"),
    ],
)
def test_shift_on_duty(at: time, start: time, shift: str) -> None:
    assert shift_on_duty(at, start) == shift


def test_shift_hours() -> None:
    assert shift_hours("A", time(8, 0)) == "08:00–20:00"
    assert shift_hours("B", time(8, 0)) == "20:00–08:00"


def test_chat_message_in_both_languages_with_mark_buttons() -> None:
    marks = {(1, 1): Mark(card_collected=True), (5, 1): Mark(delivered=True)}
    [seven] = build_lists(ROWS, marks, buildings=[7])
    [zh] = render_list(seven, TEXTS, "zh-CN", header="HEADER")
    assert zh.text.startswith("HEADER")
    assert zh.text.index("7-301") < zh.text.index("7-302") < zh.text.index("7-1203")
    assert "💳医保卡已收" in zh.text and "💳需收医保卡" in zh.text and "✅已送达" in zh.text
    assert "❗今天要" in zh.text
    data = [b.data for row in zh.buttons for b in row]
    # 7-301: delivered, no buttons; 7-302: card and delivered; 7-1203: its card is collected
    # (item 1) or none is needed (item 2), so only "delivered" buttons.
    assert data == ["pk:c:2:1", "pk:d:2:1", "pk:d:1:1", "pk:d:1:2"]
    [en] = render_list(seven, TEXTS, "en", header="H")
    assert "[floor 12] 7-1203" in en.text and "collect insurance card" in en.text


def test_empty_list_message() -> None:
    [message] = render_list(build_lists([], buildings=[9])[0], TEXTS, "en", header="H")
    assert "no household needs medicine" in message.text and not message.buttons


def test_mark_data_round_trip() -> None:
    assert parse_mark(mark_data("c", 123456789, 10)) == ("c", 123456789, 10)
    assert parse_mark("pk:x:1:1") is None and parse_mark("pk:d:a:1") is None


drug = st.text(alphabet="阿莫西林降压药胰岛素abcXYZ", min_size=1, max_size=30)
household = st.builds(
    lambda rid, floor, room, items: Answered(
        rid, 7, floor, f"{floor}{room:02d}", answers(*[med(d, card=c) for d, c in items])
    ),
    st.integers(1, 10_000),
    st.integers(1, 33),
    st.integers(1, 4),
    st.lists(st.tuples(drug, st.sampled_from(["yes", "no"])), min_size=1, max_size=10),
)


@given(st.lists(household, max_size=60, unique_by=lambda a: a.response_id))
def test_long_lists_fit_telegram_and_keep_every_item(rows: list[Answered]) -> None:
    [seven] = build_lists(rows, buildings=[7])
    floors = [h.floor for h in seven.households]
    assert floors == sorted(floors)
    messages = render_list(seven, TEXTS, "zh-CN", header="H")
    assert all(len(m.text) <= 4096 for m in messages)
    assert all(len(m.buttons) <= 40 for m in messages)
    delivered = [
        b.data for m in messages for row in m.buttons for b in row if b.data.startswith("pk:d")
    ]
    assert len(delivered) == seven.items == len(table_rows([seven]))
