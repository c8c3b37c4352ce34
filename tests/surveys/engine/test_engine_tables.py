"""Table tests of the survey engine's answers to single inputs (``surveys.engine.walk``), each
from a state set up right at the question concerned. Promises:

* input the open question cannot take changes nothing and names the question and the reason:
  a button of another question type, a photo where none is wanted, an empty photo, a toggle or
  Done away from a multiple choice, Keep with nothing usable stored, an unknown kind of input
  -> test_unusable_input_changes_nothing
* a state pointing at no question, another survey's state and a finished survey refuse input
  (``unknown_position``, ``wrong_survey``, ``not_active``) -> test_unusable_input_changes_nothing
* a state the engine trips over gives ``internal_error`` naming the exception type, and the
  state stays as it was -> test_a_broken_state_is_an_internal_error
* a number equal to ``max`` is taken; 500 characters of text are taken, 501 are refused as too
  long; a typed reply to a photo question asks for a photo; a failed constraint shows its own
  message or the general one -> test_answers_at_the_limits
* on SMS the 3rd wrong answer calls staff (NeedsHuman with the question and the reason) without
  a re-ask, and later wrong answers are refused with the same reason
  -> test_sms_wrong_answers_call_staff_then_are_refused
* revising a survey with a repeat: Keep keeps the stored items and the add-another answers
  ("no" after the last stored item, "yes" before a later one); after a reopened group gets a
  new item, its add-another carries no earlier answer -> test_keep_walks_stored_items,
  test_a_reopened_group_forgets_its_no
* the ticks of a multiple choice stay with it: the note and the question asked after Done
  show none -> test_ticks_stay_with_their_question
* ``start(seq=n)`` numbers the first question after n; on SMS a photo question without an SMS
  text is skipped from the start -> test_start_seq_and_channel
* ``start(previous=...)`` drops a repeat that is not a list and items that are not objects
  (keeping the rest) and keeps at most ``max_items`` items -> test_previous_repeats_are_cleaned
* a completed survey raises each alert whose ``when`` holds, with the survey, the rule and the
  answers it reads; Completed and Alert carry copies that do not share with the state
  -> test_completion_alerts_carry_their_answers, test_keep_walks_stored_items
* ``check_state`` names each inconsistency -> test_check_state_names_each_problem
* the state's JSON is a deep copy both ways, and malformed JSON is refused saying what is wrong
  -> test_state_json_is_a_copy, test_state_json_refusal_says_why
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from surveys.definition import load_definition
from surveys.engine import (
    REASON_TEXT,
    Alert,
    AnswerSaved,
    Ask,
    Back,
    Choice,
    Completed,
    Done,
    Invalid,
    Keep,
    NeedsHuman,
    Photo,
    SessionState,
    Text,
    Toggle,
    check_state,
)
from surveys.engine import walk as engine

FORM = load_definition(
    """
slug: form
version: 1
title: {zh-CN: 表, en: Form}
questions:
  - {name: n, type: integer, min: 1, max: 10, label: {zh-CN: 人数, en: People}}
  - {name: t, type: text, required: false, label: {zh-CN: 备注, en: Notes}}
  - name: c
    type: text
    constraint: ". != 'bad'"
    constraint_message: {zh-CN: 不要写坏, en: Not bad please}
    label: {zh-CN: 说明, en: Say}
  - {name: k, type: integer, constraint: ". > 2", label: {zh-CN: 几天, en: Days}}
  - name: s
    type: select_one
    label: {zh-CN: 单选, en: One}
    choices:
      - {value: a, label: {zh-CN: 甲, en: A}}
      - {value: b, label: {zh-CN: 乙, en: B}}
  - name: m
    type: select_multiple
    required: false
    label: {zh-CN: 多选, en: Several}
    choices:
      - {value: a, label: {zh-CN: 甲, en: A}}
      - {value: b, label: {zh-CN: 乙, en: B}}
  - {name: p, type: image, required: false, label: {zh-CN: 照片, en: Photo}}
  - {name: hello, type: note, label: {zh-CN: 谢谢, en: Thanks}}
  - {name: y, type: yes_no, label: {zh-CN: 好吗？, en: "Fine?"}}
alerts:
  - {when: "y = 'yes' and selected(m, 'a')", kind: flagged}
  - {when: "y = 'no'", kind: unhappy}
"""
)

PEOPLE = load_definition(
    """
slug: people
version: 1
title: {zh-CN: 家人, en: People}
questions:
  - name: people
    type: repeat
    max_items: 3
    label: {zh-CN: 家人, en: People}
    add_another: {zh-CN: 还有吗？, en: "Anyone else?"}
    questions:
      - {name: age, type: integer, label: {zh-CN: 年龄, en: Age}}
  - name: kids
    type: repeat
    max_items: 1
    label: {zh-CN: 孩子, en: Children}
    add_another: {zh-CN: 还有吗？, en: "Another child?"}
    questions:
      - {name: kid_age, type: integer, label: {zh-CN: 年龄, en: Age}}
  - {name: fine, type: yes_no, label: {zh-CN: 好吗？, en: "Fine?"}}
alerts:
  - {when: "count(people) > 1", kind: family}
"""
)

PHOTO_FIRST = load_definition(
    """
slug: photo_first
version: 1
title: {zh-CN: 照片, en: Photo}
questions:
  - {name: p, type: image, label: {zh-CN: 照片, en: Photo}}
  - {name: n, type: integer, label: {zh-CN: 人数, en: People}}
"""
)


def _at(cursor: Any, **fields: Any) -> SessionState:
    return SessionState(survey="form", version=1, cursor=cursor, seq=4, **fields)


class _Odd:
    """An inbound the engine does not know."""


@pytest.mark.parametrize(
    ("state", "inbound", "reason"),
    [
        (_at(("gone",)), Text("1"), "unknown_position"),
        (_at(("m",)), Choice("a"), "stale"),
        (_at(("n",)), Choice("yes"), "stale"),
        (_at(("s",)), Choice("c"), "stale"),
        (_at(("s",)), Toggle("a"), "stale"),
        (_at(("s",)), Done(), "stale"),
        (_at(("n",)), Photo("f"), "unexpected_photo"),
        (_at(("p",)), Photo(""), "stale"),
        (_at(("t",)), Keep(), "nothing_to_keep"),
        (_at(("hello",), answers={"hello": "x"}), Keep(), "nothing_to_keep"),
        (_at(("n",)), _Odd(), "stale"),
        (dataclasses.replace(_at(("n",)), survey="other"), Text("1"), "wrong_survey"),
        (_at(("n",), status="cancelled"), Text("1"), "not_active"),
    ],
)
def test_unusable_input_changes_nothing(state: SessionState, inbound: Any, reason: str) -> None:
    new_state, events = engine.handle(FORM, state, inbound, channel="telegram")
    assert events == (Invalid(state.cursor, reason),)
    assert new_state is state


def test_a_broken_state_is_an_internal_error() -> None:
    state = _at(("n",), answers=None)
    new_state, events = engine.handle(FORM, state, Text("1"), channel="telegram")
    assert events == (Invalid(("n",), "internal_error", "TypeError"),)
    assert new_state is state


LONG = "x" * 500


@pytest.mark.parametrize(
    ("cursor", "text", "saved", "error"),
    [
        (("n",), "10", 10, None),
        (("n",), "many", None, "Please reply with a number, e.g. 3."),
        (("n",), "11", None, "It must be at most 10."),
        (("t",), LONG, LONG, None),
        (("t",), LONG + "x", None, "That is too long; please make it shorter."),
        (("c",), "bad", None, "Not bad please"),
        (("k",), "2", None, REASON_TEXT["constraint"]["en"]),
        (("p",), "hi", None, "Please send a photo, or tap Skip."),
        (("hello",), "hi", None, REASON_TEXT["stale"]["en"]),
    ],
)
def test_answers_at_the_limits(cursor: Any, text: str, saved: Any, error: str | None) -> None:
    _, events = engine.handle(FORM, _at(cursor), Text(text), channel="telegram")
    if error is None:
        assert events[0] == AnswerSaved(cursor, saved)
    else:
        assert len(events) == 1 and isinstance(events[0], Ask)
        assert events[0].path == cursor and events[0].error is not None
        assert events[0].error["en"] == error


@pytest.mark.parametrize(("cursor", "wrong"), [(("c",), "bad"), (("k",), "1")])
def test_sms_wrong_answers_call_staff_then_are_refused(cursor: Any, wrong: str) -> None:
    state = _at(cursor)
    for _ in range(2):
        state, events = engine.handle(FORM, state, Text(wrong), channel="sms")
        assert isinstance(events[-1], Ask) and events[-1].error is not None
    state, events = engine.handle(FORM, state, Text(wrong), channel="sms")
    assert events == (NeedsHuman(cursor, "constraint"),)
    assert state.needs_call
    new_state, events = engine.handle(FORM, state, Text(wrong), channel="sms")
    assert events == (Invalid(cursor, "constraint"),)
    assert new_state is state


def _ask(events: tuple[Any, ...]) -> Ask:
    ask = events[-1]
    assert isinstance(ask, Ask)
    return ask


def test_keep_walks_stored_items() -> None:
    previous = {"people": [{"age": 30}, {"age": 40}], "kids": [{"kid_age": 5}], "fine": "yes"}
    state, events = engine.start(PEOPLE, channel="telegram", previous=previous)
    expected = [
        (("people", 1, "age"), 30),
        (("people", 1, "add_another"), "yes"),
        (("people", 2, "age"), 40),
        (("people", 2, "add_another"), "no"),
        (("kids", 1, "kid_age"), 5),
        (("fine",), "yes"),
    ]
    for path, value in expected:
        ask = _ask(events)
        assert (ask.path, ask.previous) == (path, value)
        state, events = engine.handle(PEOPLE, state, Keep(), channel="telegram")
    assert state.status == "completed" and state.answers == previous
    alert = next(e for e in events if isinstance(e, Alert))
    assert alert.data["values"] == {"people": previous["people"]}
    alert.data["values"]["people"][0]["age"] = 0
    assert state.answers == previous


def test_a_reopened_group_forgets_its_no() -> None:
    previous = {"people": [{"age": 30}]}
    state, events = engine.start(PEOPLE, channel="telegram", previous=previous)
    state, events = engine.handle(PEOPLE, state, Keep(), channel="telegram")
    assert (_ask(events).path, _ask(events).previous) == (("people", 1, "add_another"), "no")
    state, events = engine.handle(PEOPLE, state, Keep(), channel="telegram")
    assert _ask(events).path == ("kids", 1, "kid_age")
    state, events = engine.handle(PEOPLE, state, Back(), channel="telegram")
    for text in ["yes", "40"]:
        state, events = engine.handle(PEOPLE, state, Text(text), channel="telegram")
    assert (_ask(events).path, _ask(events).previous) == (("people", 2, "add_another"), None)


def test_ticks_stay_with_their_question() -> None:
    state, events = engine.handle(FORM, _at(("m",), pending=("a",)), Done(), channel="sms")
    assert events[0] == AnswerSaved(("m",), ["a"])
    asks = [e for e in events if isinstance(e, Ask)]
    assert [(a.path, a.selected) for a in asks] == [(("hello",), ()), (("y",), ())]
    assert state.pending == () and state.cursor == ("y",)


@pytest.mark.parametrize(("channel", "first"), [("sms", "n"), ("telegram", "p")])
def test_start_seq_and_channel(channel: str, first: str) -> None:
    state, events = engine.start(PHOTO_FIRST, channel=channel, seq=5)
    assert [(a.path, a.seq) for a in events if isinstance(a, Ask)] == [((first,), 6)]
    assert state.seq == 6 and state.cursor == (first,)


@pytest.mark.parametrize(
    ("previous", "kept"),
    [
        ({"people": "x", "fine": "yes"}, {"people": [{}], "fine": "yes"}),
        ({"people": ["x", {"age": 5}], "fine": "no"}, {"people": [{"age": 5}], "fine": "no"}),
        ({"people": [{"age": n} for n in range(4)]}, {"people": [{"age": n} for n in range(3)]}),
    ],
)
def test_previous_repeats_are_cleaned(previous: dict[str, Any], kept: dict[str, Any]) -> None:
    state, _ = engine.start(PEOPLE, channel="telegram", previous=previous)
    assert state.answers == kept


@pytest.mark.parametrize(
    ("y", "kind", "values"),
    [("yes", "flagged", {"m": ["a", "b"], "y": "yes"}), ("no", "unhappy", {"y": "no"})],
)
def test_completion_alerts_carry_their_answers(y: str, kind: str, values: dict[str, Any]) -> None:
    answers = {"n": 2, "m": ["a", "b"]}
    state, events = engine.handle(FORM, _at(("y",), answers=answers), Text(y), channel="telegram")
    assert state.status == "completed"
    when = next(rule.when for rule in FORM.alerts if rule.kind == kind)
    alerts = [e for e in events if isinstance(e, Alert)]
    assert alerts == [Alert(kind, {"survey": "form", "when": when, "values": values})]
    completed = [e for e in events if isinstance(e, Completed)]
    assert completed == [Completed({**answers, "y": y})]
    completed[0].answers["m"].append("x")
    for value in alerts[0].data["values"].values():
        if isinstance(value, list):
            value.append("z")
    assert state.answers == {**answers, "y": y}


MULTI = load_definition(
    """
slug: multi
version: 1
title: {zh-CN: 多, en: Multi}
questions:
  - {name: n, type: integer, label: {zh-CN: 人数, en: People}}
  - {name: hello, type: note, label: {zh-CN: 谢谢, en: Thanks}}
  - name: s
    type: select_one
    label: {zh-CN: 单选, en: One}
    choices:
      - {value: a, label: {zh-CN: 甲, en: A}}
  - name: first
    type: repeat
    label: {zh-CN: 甲组, en: First}
    add_another: {zh-CN: 还有吗？, en: "More?"}
    questions:
      - {name: age, type: integer, label: {zh-CN: 年龄, en: Age}}
  - name: second
    type: repeat
    max_items: 1
    label: {zh-CN: 乙组, en: Second}
    add_another: {zh-CN: 还有吗？, en: "More?"}
    questions:
      - {name: years, type: integer, label: {zh-CN: 年龄, en: Age}}
  - name: m
    type: select_multiple
    label: {zh-CN: 多选, en: Several}
    choices:
      - {value: a, label: {zh-CN: 甲, en: A}}
      - {value: b, label: {zh-CN: 乙, en: B}}
"""
)


def _state(**fields: Any) -> SessionState:
    return SessionState(**{"survey": "multi", "version": 1, "cursor": ("n",), **fields})


@pytest.mark.parametrize(
    ("state", "problems"),
    [
        (_state(seq=0, bad_tries=0), []),
        (_state(survey="other"), ["survey 'other' is not 'multi'"]),
        (_state(status="paused"), ["bad status 'paused'"]),
        (_state(seq=-1), ["negative counter"]),
        (_state(bad_tries=-1), ["negative counter"]),
        (_state(status="completed"), ["completed with a cursor"]),
        (_state(cursor=("gone",)), ["cursor ('gone',) does not point at a question"]),
        (_state(cursor=("hello",)), ["cursor ('hello',) rests on a note"]),
        (_state(cursor=("first",)), ["cursor ('first',) rests on a repeat"]),
        (_state(cursor=("s",), pending=("a",)), ["pending toggles do not match the question"]),
        (_state(cursor=("m",), pending=("a", "b")), []),  # every option toggled is fine
        (_state(cursor=("m",), pending=("a", "x")), ["pending toggles do not match the question"]),
        (_state(history=(("gone",),)), ["history entry ('gone',) does not point at a question"]),
        (_state(answers={"second": [1]}), ["repeat 'second' is not a list of items"]),
        (_state(answers={"second": [{}, {}]}), ["repeat 'second' has more than 1 items"]),
        (_state(answers={"first": [{}, {}, {}], "second": []}), []),
    ],
)
def test_check_state_names_each_problem(state: SessionState, problems: list[str]) -> None:
    assert check_state(MULTI, state) == problems


def test_state_json_is_a_copy() -> None:
    state = SessionState(survey="multi", version=1, answers={"first": [{"age": 3}]})
    data = state.to_json()
    data["answers"]["first"][0]["age"] = 4
    assert state.answers == {"first": [{"age": 3}]}
    again = SessionState.from_json(data)
    data["answers"]["first"].append({})
    assert again.answers == {"first": [{"age": 4}]}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"survey": "s", "version": 1, "status": "paused"}, r"^bad status 'paused'$"),
        (
            {"survey": "s", "version": 1, "status": "active", "answers": 3},
            "^answers must be an object$",
        ),
        ({"survey": "s", "version": 1, "status": "active", "cursor": []}, r"^bad path \[\]$"),
        (
            {"survey": "s", "version": 1, "status": "active", "cursor": [1.5]},
            r"^bad path \[1\.5\]$",
        ),
        ({"version": 1, "status": "active"}, "^malformed session state: 'survey'$"),
    ],
)
def test_state_json_refusal_says_why(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SessionState.from_json(raw)
