"""Property tests: random inbound sequences never break the engine's promises."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveys import engine
from surveys.definition import Question, SurveyDefinition, load_builtin, load_definition
from surveys.engine import (
    Ask,
    Back,
    Cancel,
    Choice,
    Completed,
    Done,
    Event,
    Inbound,
    Invalid,
    Keep,
    Photo,
    SessionState,
    Skip,
    Text,
    Toggle,
    check_state,
)
from surveys.engine.expressions import parse
from surveys.render import button_inbound, render_ask

TODAY = date(2022, 4, 12)

KITCHEN_SINK = load_definition(
    """
slug: sink
version: 1
title: {zh-CN: 全部题型, en: Every type}
questions:
  - name: intro
    type: note
    label: {zh-CN: 开始, en: Start}
  - name: q_int
    type: integer
    min: 0
    max: 10
    constraint: ". != 7"
    label: {zh-CN: 整数, en: Integer}
  - name: q_dec
    type: decimal
    min: 35
    max: 43
    relevant: "q_int > 0"
    label: {zh-CN: 体温, en: Temperature}
  - name: q_multi
    type: select_multiple
    label: {zh-CN: 多选, en: Several}
    constraint: "count(.) <= 2"
    choices:
      - {value: a, label: {zh-CN: 甲, en: A}}
      - {value: b, label: {zh-CN: 乙, en: B}}
      - {value: c, label: {zh-CN: 丙, en: C}}
  - name: q_one
    type: select_one
    required: false
    relevant: "selected(q_multi, 'a')"
    label: {zh-CN: 单选, en: One}
    choices:
      - {value: x, label: {zh-CN: 子, en: X}}
      - {value: y, label: {zh-CN: 丑, en: "Y"}}
  - name: q_photo
    type: image
    required: true
    label: {zh-CN: 照片, en: Photo}
  - name: q_date
    type: date
    constraint: ". <= '2022-12-31'"
    label: {zh-CN: 日期, en: Date}
  - name: q_yes
    type: yes_no
    label: {zh-CN: 是否, en: Yes or no}
  - name: people
    type: repeat
    relevant: "q_yes = 'yes'"
    max_items: 3
    label: {zh-CN: 人, en: People}
    add_another: {zh-CN: 还有吗, en: More}
    questions:
      - name: who
        type: text
        required: false
        label: {zh-CN: 谁, en: Who}
      - name: age
        type: integer
        relevant: "not empty(who)"
        constraint: ". <= 120"
        label: {zh-CN: 年龄, en: Age}
      - name: sick
        type: yes_no
        label: {zh-CN: 生病, en: Sick}
  - name: q_text
    type: text
    required: false
    relevant: "count(people) >= 2 or q_yes = 'no'"
    label: {zh-CN: 备注, en: Notes}
alerts:
  - {when: "q_int > 5", kind: big}
"""
)

DEFINITIONS = [load_builtin("antigen"), load_builtin("medication"), KITCHEN_SINK]

USEFUL_TEXT = [
    "1", "2", "3", "0", "7", "13", "1 3", "1，3", "11", "１", "一", "二", "十二", "3盒", "1.5",
    "37.5", "yes", "no", "是", "否", "没有", "y", "n", "#", "返回", "back", "取消", "cancel",
    "保留", "keep", "跳过", "skip", "STOP", "帮助", "2022-04-10", "今天", "4月10日", "2023-01-01",
    "甲", "乙", "Li", "", "   ", "。", "25", "-1", "130",
]  # fmt: skip
CHOICE_VALUES = ["yes", "no", "a", "b", "c", "x", "y", "today", "this_week", "bogus", ""]


def inbounds() -> st.SearchStrategy[Inbound]:
    return st.one_of(
        st.builds(Text, st.sampled_from(USEFUL_TEXT)),
        st.builds(Text, st.text(max_size=30)),
        st.builds(Choice, st.sampled_from(CHOICE_VALUES)),
        st.builds(Toggle, st.sampled_from(CHOICE_VALUES)),
        st.builds(Photo, st.sampled_from(["FILE1", "FILE2", ""])),
        st.sampled_from([Done(), Skip(), Keep(), Back(), Cancel()]),
    )


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 200) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def previous_answers(defn: SurveyDefinition) -> st.SearchStrategy[dict[str, Any] | None]:
    names = [q.name for q in defn.questions] + ["junk"]
    return st.none() | st.dictionaries(st.sampled_from(names), JSON_VALUES, max_size=6)


def _value_problem(question: Question, value: Any, env: Mapping[str, Any]) -> str | None:
    kind = question.type
    if kind == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
        return "not an int"
    if kind == "decimal" and not isinstance(value, float):
        return "not a float"
    if kind == "yes_no" and value not in ("yes", "no"):
        return "not yes/no"
    if kind == "select_one" and question.choice(value) is None:
        return "not a choice"
    if kind == "select_multiple":
        if not isinstance(value, list) or not value:
            return "not a non-empty list"
        if any(question.choice(v) is None for v in value) or len(set(value)) != len(value):
            return "bad choices"
    if kind == "date":
        try:
            date.fromisoformat(value)
        except (TypeError, ValueError):
            return "not a date"
    if kind in ("text", "image") and (not isinstance(value, str) or not value.strip()):
        return "not a non-empty string"
    if question.min is not None and value < question.min:
        return "below min"
    if question.max is not None and value > question.max:
        return "above max"
    if question.constraint and not parse(question.constraint).test(env, value):
        return "constraint fails"
    return None


def _check_one(
    question: Question, answers: Mapping[str, Any], env: Mapping[str, Any], channel: str
) -> list[str]:
    name = question.name
    relevant = question.relevant is None or parse(question.relevant).test(env)
    present = answers.get(name) is not None
    if not relevant:
        return [f"{name}: irrelevant but answered"] if present else []
    if question.type == "image" and channel == "sms":
        return []
    if not present:
        return [f"{name}: required but missing"] if question.required else []
    problem = _value_problem(question, answers[name], env)
    return [f"{name}: {problem} ({answers[name]!r})"] if problem else []


def answer_problems(defn: SurveyDefinition, answers: Mapping[str, Any], channel: str) -> list[str]:
    """Whether completed answers satisfy types, required, min/max, constraints, relevance."""
    problems: list[str] = []
    known = {q.name for q in defn.questions if q.type != "note"}
    problems += [f"{key}: unknown answer" for key in answers if key not in known]
    for question in defn.questions:
        if question.type == "note":
            continue
        if question.type != "repeat":
            problems += _check_one(question, answers, answers, channel)
            continue
        relevant = question.relevant is None or parse(question.relevant).test(answers)
        items = answers.get(question.name)
        if not relevant:
            if items:
                problems.append(f"{question.name}: irrelevant repeat has items")
            continue
        if not isinstance(items, list) or not items:
            problems.append(f"{question.name}: relevant repeat has no items")
            continue
        if question.max_items is not None and len(items) > question.max_items:
            problems.append(f"{question.name}: too many items")
        for item in items:
            env = {**answers, **item}
            for item_question in question.questions:
                problems += _check_one(item_question, item, env, channel)
    return problems


def _check_buttons(defn: SurveyDefinition, state: SessionState, ask: Ask) -> None:
    message = render_ask(defn, ask, lang="zh-CN", channel="telegram", data_prefix="s123456:99999:")
    for row in message.buttons:
        for button in row:
            suffix = button.data.removeprefix("s123456:99999:")
            assert button_inbound(defn, state, suffix) is not None, (ask.path, suffix)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    data=st.data(),
    defn=st.sampled_from(DEFINITIONS),
    channel=st.sampled_from(["telegram", "sms"]),
    steps=st.lists(inbounds(), max_size=60),
)
def test_random_conversations(
    data: st.DataObject, defn: SurveyDefinition, channel: str, steps: list[Inbound]
) -> None:
    previous = data.draw(previous_answers(defn))
    state, events = engine.start(defn, channel=channel, previous=previous)
    last_seq = 0
    history: list[tuple[Inbound | None, tuple[Event, ...]]] = [(None, events)]
    for inbound in [None, *steps]:
        if inbound is not None:
            before = state
            state, events = engine.handle(defn, state, inbound, channel=channel, today=TODAY)
            history.append((inbound, events))
            if events and all(isinstance(e, Invalid) for e in events):
                assert state is before
        context = history[-6:]
        assert not any(isinstance(e, Invalid) and e.reason == "internal_error" for e in events), (
            context
        )
        for event in events:
            if isinstance(event, Ask):
                assert event.seq == last_seq + 1, context
                last_seq = event.seq
                for lang in ("zh-CN", "en"):
                    render_ask(defn, event, lang=lang, channel=channel, data_prefix="p:")
            if isinstance(event, Completed):
                assert answer_problems(defn, event.answers, channel) == [], context
        assert state.seq == last_seq
        assert check_state(defn, state) == [], context
        dumped = json.dumps(state.to_json(), ensure_ascii=False)
        assert SessionState.from_json(json.loads(dumped)) == state
        if state.status == "completed":
            assert answer_problems(defn, state.answers, channel) == [], context
        asks = [e for e in events if isinstance(e, Ask) and e.path == state.cursor]
        if state.status == "active" and asks and channel == "telegram":
            _check_buttons(defn, state, asks[-1])


@settings(max_examples=200, deadline=None)
@given(
    defn=st.sampled_from(DEFINITIONS),
    inbound=inbounds(),
    raw=st.fixed_dictionaries(
        {
            "survey": st.sampled_from(["antigen", "medication", "sink", "other"]),
            "version": st.integers(1, 3),
            "status": st.sampled_from(["active", "completed", "cancelled"]),
            "cursor": st.none()
            | st.lists(st.one_of(st.text(max_size=8), st.integers(-1, 12)), min_size=1, max_size=3)
            | st.sampled_from([["tested"], ["medicines", 1, "drug"], ["medicines", 11, "drug"]]),
            "seq": st.integers(0, 5),
            "bad_tries": st.integers(0, 5),
            "answers": st.dictionaries(
                st.sampled_from(["tested", "positive", "medicines", "q_int", "q_multi", "x"]),
                JSON_VALUES,
                max_size=4,
            ),
            "history": st.lists(
                st.lists(st.text(max_size=5) | st.integers(1, 3), min_size=1, max_size=3),
                max_size=3,
            ),
            "pending": st.lists(st.text(max_size=3), max_size=3),
        }
    ),
)
def test_handle_never_raises_on_odd_states(
    defn: SurveyDefinition, inbound: Inbound, raw: dict[str, Any]
) -> None:
    state = SessionState.from_json(raw)
    for channel in ("sms", "telegram"):
        state2, events = engine.handle(defn, state, inbound, channel=channel, today=TODAY)
        assert isinstance(state2, SessionState)
        assert events
        # odd states are reported as Invalid, not by tripping over them
        assert not any(isinstance(e, Invalid) and e.reason == "internal_error" for e in events)


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=40), defn=st.sampled_from(DEFINITIONS))
def test_any_text_at_any_first_question(text: str, defn: SurveyDefinition) -> None:
    for channel in ("telegram", "sms"):
        state, _ = engine.start(defn, channel=channel)
        new_state, events = engine.handle(defn, state, Text(text), channel=channel, today=TODAY)
        assert events
        assert check_state(defn, new_state) == []


_PLAUSIBLE: dict[tuple[str, str, tuple[str, ...]], st.SearchStrategy[Inbound]] = {}


def _plausible(question: Question | None) -> st.SearchStrategy[Inbound]:
    """Mostly-valid answers for the question at the cursor, plus navigation now and then
    (strategies are cached: building them is what costs time)."""
    key = (
        ("", "", ())
        if question is None
        else (
            question.name,
            question.type,
            tuple(c.value for c in question.choices),
        )
    )
    if key not in _PLAUSIBLE:
        _PLAUSIBLE[key] = _build_plausible(question)
    return _PLAUSIBLE[key]


def _build_plausible(question: Question | None) -> st.SearchStrategy[Inbound]:
    navigation: st.SearchStrategy[Inbound] = st.sampled_from(
        [Back(), Keep(), Skip(), Cancel(), Done()]
    )
    if question is None:
        return navigation
    kind = question.type
    answers: st.SearchStrategy[Inbound]
    if kind == "integer":
        answers = st.builds(Text, st.integers(-2, 25).map(str))
    elif kind == "decimal":
        answers = st.builds(Text, st.sampled_from(["34", "36.6", "37,5", "38.2", "44"]))
    elif kind == "yes_no":
        answers = st.sampled_from([Choice("yes"), Choice("no"), Text("1"), Text("2"), Text("是")])
    elif kind == "select_one":
        answers = st.sampled_from(
            [Choice(c.value) for c in question.choices]
            + [Text(str(i + 1)) for i in range(len(question.choices))]
        )
    elif kind == "select_multiple":
        answers = st.sampled_from(
            [Toggle(c.value) for c in question.choices] + [Done(), Text("1 3"), Text("2")]
        )
    elif kind == "date":
        answers = st.builds(Text, st.sampled_from(["今天", "2022-04-01", "4/10", "2023-02-01"]))
    elif kind == "image":
        answers = st.sampled_from([Photo("FILE"), Skip()])
    else:
        answers = st.builds(Text, st.sampled_from(["Li", "王阿姨", "布洛芬 2盒", ""]))
    return st.one_of(answers, answers, answers, navigation)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    defn=st.sampled_from(DEFINITIONS),
    channel=st.sampled_from(["telegram", "sms"]),
)
def test_guided_conversations_complete_with_valid_answers(
    data: st.DataObject, defn: SurveyDefinition, channel: str
) -> None:
    previous = data.draw(st.none() | previous_answers(defn))
    state, events = engine.start(defn, channel=channel, previous=previous)
    last_seq = max((e.seq for e in events if isinstance(e, Ask)), default=0)
    for _ in range(60):
        question = engine.question_at(defn, state.cursor)
        inbound = data.draw(_plausible(question))
        state, events = engine.handle(defn, state, inbound, channel=channel, today=TODAY)
        for event in events:
            if isinstance(event, Ask):
                assert event.seq == last_seq + 1
                last_seq = event.seq
            if isinstance(event, Completed):
                assert answer_problems(defn, event.answers, channel) == []
        assert check_state(defn, state) == []
        assert SessionState.from_json(json.loads(json.dumps(state.to_json()))) == state
        if state.status == "completed":
            assert answer_problems(defn, state.answers, channel) == []
            if data.draw(st.booleans()):  # sometimes go on: Back reopens, stale input
                break
