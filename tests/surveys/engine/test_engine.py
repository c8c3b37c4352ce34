"""The survey engine's promises, checked at the cheapest level.

Most promises are shown by a transcript (tests/surveys/engine/transcripts/*.yaml, replayed by
test_engine_transcripts.py) or by a property test (test_engine_properties.py); the rest are
table tests here. Promises of ``surveys.engine.walk``:

* an SMS ``##`` or ``#`` or ``返回`` goes one question back
  -> test_sms_back_words_go_one_question_back, transcripts 06_back, 22_sms_hashes_back
* Back at the first question changes nothing (Invalid ``at_start``) -> 06_back, 22
* Back re-asks with the stored answer as ``previous``; Keep keeps it -> 06_back, 08
* questions whose ``relevant`` is false are skipped and their answers cleared -> 11
* notes do not wait; images are skipped on SMS (or shown by their sms_alternative) -> 12
* a wrong answer is re-asked with an error; the 3rd wrong answer calls staff once and, on
  SMS, stops the re-asking -> 13, 14
* skip leaves an optional question empty and re-asks a required one -> 17, 18
* cancel ends the session; Back from cancelled resumes the open question -> 07
* repeats: add-another, max_items, "no" drops later items -> 10, 19, 20
* every Ask carries a new seq; stale buttons change nothing -> 16, invariants in every
  transcript, test_random_conversations
* ``handle`` never raises and Invalid leaves the state untouched -> test_random_conversations,
  test_handle_never_raises_on_odd_states, test_invalid_changes_nothing
* completed answers satisfy types, required, min/max, constraints and relevance
  -> test_guided_conversations_complete_with_valid_answers
* the state round-trips through JSON and malformed JSON is refused -> every transcript,
  test_state_json_refuses_malformed
* ``start(previous=...)`` keeps only answers the engine could have saved -> 08, 19,
  test_stored_values_are_sanitized
* ``path_str`` joins the parts of a path with dots -> test_path_str
* ``question_at`` finds the question a path points at (a repeat item's question, the
  add-another yes/no up to ``max_items``) and None for any other path -> test_question_at
* a reason key gives its text in both languages with ``{min}``/``{max}`` filled in; an
  unknown key gives the constraint text -> test_reason_text
* a repeat item's answer whose question turns irrelevant after Back is removed, and announced
  (AnswerCleared) only when it held a value -> test_irrelevant_item_answer_is_cleared
* the add-another question carries no previous answer on the way forward, "no" when Back
  reopens a closed group and "yes" when a later item exists -> test_add_another_previous
* a repeat group cleared as irrelevant starts afresh when it is relevant again: its
  add-another carries no earlier "no" -> test_a_cleared_group_starts_afresh
* Back to a question the survey no longer has changes nothing (Invalid ``unknown_position``)
  -> test_back_to_a_question_gone_from_the_survey
* an ordinary Ask is no redraw -> test_add_another_previous
* a note (or an image shown as its SMS text) is shown only: no previous answer, no Back
  button, and the cursor stays on the questions -> test_notes_are_shown_only
* a select_multiple button press redraws the question with the ticked options; Back to it
  ticks the stored options again; a wrong reply keeps the ticks -> test_select_multiple_ticks
* an irrelevant repeat group is skipped and the walk goes on with the next question
  -> test_an_irrelevant_group_is_skipped
* ``handle`` never changes the state it was given (a repeat item's answer goes into the new
  state only) -> test_handle_leaves_the_given_state_alone
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from surveys.definition import load_builtin, load_definition
from surveys.engine import (
    AnswerCleared,
    AnswerSaved,
    Ask,
    Back,
    Done,
    Invalid,
    SessionState,
    Skip,
    Text,
    Toggle,
    path_str,
)
from surveys.engine import walk as engine

ANTIGEN = load_builtin("antigen")


def _answered_two(channel: str) -> SessionState:
    state, _ = engine.start(ANTIGEN, channel=channel)
    state, _ = engine.handle(ANTIGEN, state, Text("是"), channel=channel)
    state, _ = engine.handle(ANTIGEN, state, Text("3"), channel=channel)
    assert state.cursor == ("positive",)
    return state


@pytest.mark.parametrize("channel", ["sms", "telegram"])
@pytest.mark.parametrize(
    "text", ["##", "#", "＃", "＃＃", " ## ", "###", "返回", "上一题", "上一步", "back", "BACK"]
)
def test_sms_back_words_go_one_question_back(channel: str, text: str) -> None:
    """Promise: an SMS ``##`` or ``#`` or 返回 goes one question back."""
    state = _answered_two(channel)
    new_state, events = engine.handle(ANTIGEN, state, Text(text), channel=channel)
    assert [type(e) for e in events] == [Ask]
    assert isinstance(events[0], Ask)
    assert events[0].path == ("tested",)
    assert events[0].previous == 3
    assert new_state.cursor == ("tested",)
    assert new_state.answers == state.answers
    assert new_state.history == state.history[:-1]
    # and Back once more reaches the first question
    _, events = engine.handle(ANTIGEN, new_state, Text(text), channel=channel)
    assert isinstance(events[0], Ask) and events[0].path == ("tested_today",)


@pytest.mark.parametrize("text", ["#1", "0", "# back"])
def test_other_text_is_not_back(text: str) -> None:
    state = _answered_two("sms")
    _, events = engine.handle(ANTIGEN, state, Text(text), channel="sms")
    assert not any(isinstance(e, Ask) and e.path == ("tested",) for e in events)


def test_invalid_changes_nothing() -> None:
    state, _ = engine.start(ANTIGEN, channel="sms")
    new_state, events = engine.handle(ANTIGEN, state, Back(), channel="sms")
    assert events == (Invalid(("tested_today",), "at_start"),)
    assert new_state is state


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {"survey": "antigen", "version": 1},
        {"survey": "antigen", "version": 1, "status": "paused"},
        {"survey": "antigen", "version": 1, "status": "active", "answers": "x"},
        {"survey": "antigen", "version": 1, "status": "active", "cursor": []},
        {"survey": "antigen", "version": 1, "status": "active", "cursor": ["a", True]},
        {"survey": "antigen", "version": 1, "status": "active", "cursor": ["a", 1.5]},
        {"survey": "antigen", "version": 1, "status": "active", "cursor": "tested"},
        {"survey": "antigen", "version": "x", "status": "active"},
        {"survey": "antigen", "version": 1, "status": "active", "history": [[]]},
    ],
)
def test_state_json_refuses_malformed(raw: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        SessionState.from_json(raw)


def test_state_json_defaults() -> None:
    state = SessionState.from_json({"survey": "antigen", "version": 2, "status": "completed"})
    assert state == SessionState(survey="antigen", version=2, status="completed")
    assert state.to_json()["format"] == 1
    assert not state.needs_call


@pytest.mark.parametrize(
    ("path", "expected"),
    [(None, ""), (("tested",), "tested"), (("medicines", 2, "drug"), "medicines.2.drug")],
)
def test_path_str(path: Any, expected: str) -> None:
    assert path_str(path) == expected


SANITIZE = load_definition(
    """
slug: kinds
version: 1
title: {zh-CN: 类型, en: Kinds}
questions:
  - {name: n, type: integer, label: {zh-CN: 整数, en: Integer}}
  - {name: d, type: decimal, label: {zh-CN: 小数, en: Decimal}}
  - {name: t, type: text, label: {zh-CN: 文字, en: Text}}
  - {name: o, type: text, required: false, label: {zh-CN: 可选, en: Optional}}
  - {name: y, type: yes_no, label: {zh-CN: 是否, en: Yes or no}}
  - {name: w, type: date, label: {zh-CN: 日期, en: Date}}
  - name: s
    type: select_one
    label: {zh-CN: 单选, en: One}
    choices:
      - {value: a, label: {zh-CN: 甲, en: A}}
      - {value: b, label: {zh-CN: 乙, en: B}}
  - name: m
    type: select_multiple
    label: {zh-CN: 多选, en: Several}
    choices:
      - {value: a, label: {zh-CN: 甲, en: A}}
      - {value: b, label: {zh-CN: 乙, en: B}}
"""
)


@pytest.mark.parametrize(
    ("name", "value", "kept"),
    [
        ("n", 3, 3),
        ("n", True, None),
        ("n", 3.0, None),
        ("n", "3", None),
        ("n", None, None),
        ("d", 3, 3.0),
        ("d", 3.5, 3.5),
        ("d", False, None),
        ("d", "3.5", None),
        ("t", "hi", "hi"),
        ("t", "  ", None),
        ("t", 3, None),
        ("o", None, "absent-but-ok"),
        ("y", "yes", "yes"),
        ("y", "no", "no"),
        ("y", True, None),
        ("y", "maybe", None),
        ("w", "2022-04-10", "2022-04-10"),
        ("w", "2022-02-30", None),
        ("w", 20220410, None),
        ("s", "a", "a"),
        ("s", "c", None),
        ("s", ["a"], None),
        ("m", ["b", "a"], ["a", "b"]),
        ("m", [], None),
        ("m", ["a", "c"], None),
        ("m", "a", None),
        ("m", ["a", 1], None),
    ],
)
def test_stored_values_are_sanitized(name: str, value: Any, kept: Any) -> None:
    state, _ = engine.start(SANITIZE, channel="telegram", previous={name: value})
    if kept == "absent-but-ok":
        assert state.answers == {name: None}
    elif kept is None:
        assert name not in state.answers
    else:
        assert state.answers == {name: kept}
        assert type(state.answers[name]) is type(kept)


LIMITS = load_definition(
    """
slug: limits
version: 1
title: {zh-CN: 范围, en: Limits}
questions:
  - {name: t, type: decimal, min: 35, max: 42.5, label: {zh-CN: 体温, en: Temperature}}
"""
)


@pytest.mark.parametrize(
    ("text", "shown", "hidden"),
    [("30", "at least 35.", "35.0"), ("50", "at most 42.5.", None)],
)
def test_limits_are_shown_as_written(text: str, shown: str, hidden: str | None) -> None:
    state, _ = engine.start(LIMITS, channel="telegram")
    _, events = engine.handle(LIMITS, state, Text(text), channel="telegram")
    ask = events[-1]
    assert isinstance(ask, Ask) and ask.error is not None
    assert shown in ask.error["en"]
    if hidden:
        assert hidden not in ask.error["en"]


MEDICATION = load_builtin("medication")
PEOPLE = load_definition(
    """
slug: people
version: 1
title: {zh-CN: 家人, en: People}
questions:
  - name: people
    type: repeat
    label: {zh-CN: 家人, en: People}
    add_another: {zh-CN: 还有别人吗？, en: "Anyone else?"}
    questions:
      - {name: age, type: integer, label: {zh-CN: 年龄, en: Age}}
      - name: school
        type: text
        required: false
        relevant: "age < 18"
        label: {zh-CN: 学校, en: School}
"""
)


@pytest.mark.parametrize(
    ("defn", "path", "expected"),
    [
        (MEDICATION, None, None),
        (MEDICATION, (), None),
        (MEDICATION, (1,), None),
        (MEDICATION, ("nope",), None),
        (MEDICATION, ("needs_medicine",), "needs_medicine"),
        (MEDICATION, ("medicines",), "medicines"),
        (MEDICATION, ("needs_medicine", 1, "drug"), None),
        (MEDICATION, ("medicines", 1), None),
        (MEDICATION, ("medicines", 1, "drug", "x"), None),
        (MEDICATION, ("medicines", 1, "drug"), "drug"),
        (MEDICATION, ("medicines", 10, "hospital"), "hospital"),
        (MEDICATION, ("medicines", 11, "drug"), None),
        (MEDICATION, ("medicines", 0, "drug"), None),
        (MEDICATION, ("medicines", -1, "drug"), None),
        (MEDICATION, ("medicines", True, "drug"), None),
        (MEDICATION, ("medicines", "1", "drug"), None),
        (MEDICATION, ("medicines", 1, "nope"), None),
        (MEDICATION, ("medicines", 1, 3), None),
        (MEDICATION, ("medicines", 2, "add_another"), "add_another"),
        (MEDICATION, ("medicines", 11, "add_another"), None),
        (PEOPLE, ("people", 500, "age"), "age"),
        (PEOPLE, ("people", 1, "add_another"), "add_another"),
    ],
)
def test_question_at(defn: Any, path: Any, expected: str | None) -> None:
    question = engine.question_at(defn, path)
    if expected is None:
        assert question is None
    else:
        assert question is not None and question.name == expected


def test_question_at_add_another_is_the_groups_yes_no() -> None:
    question = engine.question_at(MEDICATION, ("medicines", 1, "add_another"))
    assert question is not None and question.type == "yes_no"
    assert question.label["en"] == "Is there another medicine to register?"


@pytest.mark.parametrize(
    ("reason", "values", "expected"),
    [
        (
            "too_small",
            {"min": "35"},
            {"zh-CN": "不能小于 35，请重新回复。", "en": "It must be at least 35."},
        ),
        (
            "too_large",
            {"max": "42.5"},
            {"zh-CN": "不能大于 42.5，请重新回复。", "en": "It must be at most 42.5."},
        ),
        ("required", {}, {"zh-CN": "这道题需要回答。", "en": "This question needs an answer."}),
        ("no_such_reason", {}, engine.REASON_TEXT["constraint"]),
        (
            "not_a_number",
            {},
            {"zh-CN": "请回复一个数字，如 3。", "en": "Please reply with a number, e.g. 3."},
        ),
    ],
)
def test_reason_text(reason: str, values: dict[str, str], expected: dict[str, str]) -> None:
    assert engine.reason_text(reason, **values) == expected


@pytest.mark.parametrize(("school", "announced"), [(Text("Hill"), True), (Skip(), False)])
def test_irrelevant_item_answer_is_cleared(school: Any, announced: bool) -> None:
    """Promise: an item answer that turns irrelevant after Back is removed from the item."""
    state, _ = engine.start(PEOPLE, channel="telegram")
    for inbound in [Text("10"), school, Back(), Back()]:
        state, _ = engine.handle(PEOPLE, state, inbound, channel="telegram")
    assert state.cursor == ("people", 1, "age")
    state, events = engine.handle(PEOPLE, state, Text("30"), channel="telegram")
    assert state.answers == {"people": [{"age": 30}]}
    cleared = [e for e in events if isinstance(e, AnswerCleared)]
    assert cleared == ([AnswerCleared(("people", 1, "school"))] if announced else [])
    assert events[0] == AnswerSaved(("people", 1, "age"), 30)
    assert isinstance(events[-1], Ask) and events[-1].path == ("people", 1, "add_another")


def test_add_another_previous() -> None:
    """Promise: add-another shows the earlier choice only when there was one."""
    state, _ = engine.start(PEOPLE, channel="telegram")
    state, events = engine.handle(PEOPLE, state, Text("30"), channel="telegram")
    ask = events[-1]
    assert isinstance(ask, Ask) and ask.path == ("people", 1, "add_another")
    assert ask.previous is None and ask.redraw is False
    state, _ = engine.handle(PEOPLE, state, Text("no"), channel="telegram")
    assert state.status == "completed"
    state, events = engine.handle(PEOPLE, state, Back(), channel="telegram")
    ask = events[-1]
    assert isinstance(ask, Ask) and ask.path == ("people", 1, "add_another")
    assert ask.previous == "no"
    state, _ = engine.handle(PEOPLE, state, Text("yes"), channel="telegram")
    state, _ = engine.handle(PEOPLE, state, Text("40"), channel="telegram")
    for _ in range(2):  # back to item 2's age, then to item 1's add-another
        state, events = engine.handle(PEOPLE, state, Back(), channel="telegram")
    ask = events[-1]
    assert isinstance(ask, Ask) and ask.path == ("people", 1, "add_another")
    assert ask.previous == "yes"


def test_handle_leaves_the_given_state_alone() -> None:
    state, _ = engine.start(PEOPLE, channel="telegram")
    state, _ = engine.handle(PEOPLE, state, Text("10"), channel="telegram")
    before = copy.deepcopy(state.answers)
    new_state, _ = engine.handle(PEOPLE, state, Text("Hill"), channel="telegram")
    assert new_state.answers == {"people": [{"age": 10, "school": "Hill"}]}
    assert state.answers == before == {"people": [{"age": 10}]}


GATED_SOURCE = """
slug: gated
version: 1
title: {zh-CN: 孩子, en: Children}
questions:
  - {name: has, type: yes_no, label: {zh-CN: 有孩子吗？, en: "Any children?"}}
  - name: kids
    type: repeat
    relevant: "has = 'yes'"
    label: {zh-CN: 孩子, en: Children}
    add_another: {zh-CN: 还有吗？, en: "Another child?"}
    questions:
      - {name: age, type: integer, label: {zh-CN: 年龄, en: Age}}
"""
GATED = load_definition(GATED_SOURCE)


def test_a_cleared_group_starts_afresh() -> None:
    state, _ = engine.start(GATED, channel="telegram")
    for inbound in [Text("yes"), Text("5"), Text("no"), Back(), Back(), Back(), Text("no")]:
        state, events = engine.handle(GATED, state, inbound, channel="telegram")
    assert state.status == "completed" and state.answers == {"has": "no"}
    assert AnswerCleared(("kids",)) in events
    for inbound in [Back(), Text("yes"), Text("6")]:
        state, events = engine.handle(GATED, state, inbound, channel="telegram")
    ask = events[-1]
    assert isinstance(ask, Ask) and ask.path == ("kids", 1, "add_another")
    assert ask.previous is None


def test_back_to_a_question_gone_from_the_survey() -> None:
    state, _ = engine.start(ANTIGEN, channel="telegram")
    state = dataclasses.replace(state, history=(("gone",),))
    new_state, events = engine.handle(ANTIGEN, state, Back(), channel="telegram")
    assert events == (Invalid(("gone",), "unknown_position"),)
    assert new_state == state


SHOWN = load_definition(
    """
slug: shown
version: 1
title: {zh-CN: 照片, en: Photos}
questions:
  - {name: people, type: integer, label: {zh-CN: 几人？, en: "How many?"}}
  - {name: hello, type: note, label: {zh-CN: 谢谢, en: Thanks}}
  - name: photo
    type: image
    label: {zh-CN: 请发照片, en: Send a photo}
    sms_alternative: {zh-CN: 请留着检测卡, en: Keep the cassettes}
  - {name: done, type: yes_no, label: {zh-CN: 都好吗？, en: "All fine?"}}
"""
)


def test_notes_are_shown_only() -> None:
    state, _ = engine.start(SHOWN, channel="sms", previous={"hello": "x", "photo": "p"})
    state, _ = engine.handle(SHOWN, state, Text("2"), channel="sms")
    state, events = engine.handle(SHOWN, state, Back(), channel="sms")
    assert state.cursor == ("people",)
    state, events = engine.handle(SHOWN, state, Text("3"), channel="sms")
    asks = [e for e in events if isinstance(e, Ask)]
    assert [a.path for a in asks] == [("hello",), ("photo",), ("done",)]
    assert [(a.previous, a.can_back) for a in asks[:2]] == [(None, False), (None, False)]
    assert asks[2].can_back and state.cursor == ("done",)


TICKS = load_definition(
    """
slug: ticks
version: 1
title: {zh-CN: 多选, en: Several}
questions:
  - name: m
    type: select_multiple
    label: {zh-CN: 多选, en: Several}
    choices:
      - {value: a, label: {zh-CN: 甲, en: A}}
      - {value: b, label: {zh-CN: 乙, en: B}}
      - {value: c, label: {zh-CN: 丙, en: C}}
  - {name: done, type: yes_no, label: {zh-CN: 好吗？, en: "Fine?"}}
"""
)


def test_select_multiple_ticks() -> None:
    state, events = engine.start(TICKS, channel="telegram")
    first = events[-1]
    assert isinstance(first, Ask) and first.selected == () and first.redraw is False
    state, events = engine.handle(TICKS, state, Toggle("c"), channel="telegram")
    state, events = engine.handle(TICKS, state, Toggle("a"), channel="telegram")
    redraw = events[-1]
    assert isinstance(redraw, Ask) and redraw.redraw is True and redraw.selected == ("a", "c")
    state, events = engine.handle(TICKS, state, Done(), channel="telegram")
    assert state.answers == {"m": ["a", "c"]} and state.cursor == ("done",)
    state, events = engine.handle(TICKS, state, Back(), channel="telegram")
    back = events[-1]
    assert isinstance(back, Ask) and back.path == ("m",)
    assert back.selected == ("a", "c") and back.redraw is False
    state, events = engine.handle(TICKS, state, Toggle("a"), channel="telegram")
    state, events = engine.handle(TICKS, state, Text("9"), channel="telegram")
    again = events[-1]
    assert isinstance(again, Ask) and again.error is not None and again.selected == ("c",)


def test_an_irrelevant_group_is_skipped() -> None:
    defn = load_definition(
        GATED_SOURCE + '  - {name: fine, type: yes_no, label: {zh-CN: 好吗？, en: "Fine?"}}\n'
    )
    state, _ = engine.start(defn, channel="telegram")
    state, events = engine.handle(defn, state, Text("no"), channel="telegram")
    assert state.status == "active" and state.cursor == ("fine",)
    assert isinstance(events[-1], Ask) and events[-1].path == ("fine",)
