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
"""

from __future__ import annotations

from typing import Any

import pytest

from surveys.definition import load_builtin, load_definition
from surveys.engine import Ask, Back, Invalid, SessionState, Text, path_str
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
