"""Keypad surveys (surveys.keypad): the prompt of each question and what the keys mean, as
data: tests/surveys/keypad/*.yaml.

Case format::

    name: what it shows
    survey: antigen              # a built-in definition, and the question (group.item for
    question: tested             # a repeat's question) - or the question itself, inline
    lang: en                     # default zh-CN
    can_back: true               # the Ask's can_back (default false)
    item: 2                      # a repeat item's number
    error: {zh-CN: .., en: ..}   # a re-ask's error
    expect: {mode: keys, say: [...], says: [substrings], keys: {...}, repeat_key: "0", ...}
    presses:                     # Digits as Twilio posts them -> outcome:
      "1": choice yes            #   choice V | text T | skip | repeat | back | invalid
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import surveys.engine as engine
from surveys.definition import load_builtin
from surveys.definition.model import Question
from surveys.engine.inputs import Choice, Skip, Text
from surveys.keypad import (
    MAX_RECORDING_SECONDS,
    Answer,
    Back,
    Invalid,
    Outcome,
    Repeat,
    phone_problems,
    prompt,
    prompt_for_ask,
    read_keys,
    read_recording,
    spoken,
)

CASES = sorted((Path(__file__).parent / "keypad").glob("*.yaml"))


def _describe(outcome: Outcome) -> str:
    if isinstance(outcome, Repeat):
        return "repeat"
    if isinstance(outcome, Back):
        return "back"
    if isinstance(outcome, Invalid):
        return "invalid"
    inbound = outcome.inbound
    if isinstance(inbound, Choice):
        return f"choice {inbound.value}"
    if isinstance(inbound, Text):
        return f"text {inbound.text}"
    if isinstance(inbound, Skip):
        return "skip"
    return repr(inbound)


def _question(case: dict[str, Any]) -> tuple[Question, Question | None]:
    if "survey" not in case:
        return Question.model_validate(case["question"]), None
    defn = load_builtin(case["survey"])
    name = case["question"]
    if "." not in name:
        question = defn.question(name)
        assert question is not None, name
        return question, None
    group_name, item_name = name.split(".")
    group = defn.question(group_name)
    assert group is not None
    if item_name == "add_another":
        return group.add_another_question(), group
    item = group.item_question(item_name)
    assert item is not None, name
    return item, group


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_keypad_case(path: Path) -> None:
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    question, group = _question(case)
    asked = prompt(
        question,
        case.get("lang", "zh-CN"),
        can_back=bool(case.get("can_back")),
        error=case.get("error"),
        item=case.get("item"),
        group=group,
    )
    expect = case["expect"]
    assert asked.mode == expect["mode"], case["name"]
    if "say" in expect:
        assert list(asked.say) == expect["say"], case["name"]
    for part in expect.get("says", []):
        assert any(part in line for line in asked.say), (part, asked.say)
    for key in ("keys", "repeat_key", "finish_on_key", "max_length"):
        if key in expect:
            assert getattr(asked, key) == expect[key], (case["name"], key)
    for digits, want in case.get("presses", {}).items():
        assert _describe(read_keys(asked, str(digits))) == want, (case["name"], digits)


def test_cases_exist() -> None:
    assert len(CASES) >= 10


def test_one_key_prompts_listen_for_one_key_and_number_prompts_for_hash() -> None:
    defn = load_builtin("antigen")
    yes_no = prompt(defn.questions[0], "zh-CN")
    assert (yes_no.num_digits, yes_no.finish_on_key) == (1, "")  # '#' arrives as a key
    number = prompt(defn.questions[1], "zh-CN")
    assert (number.num_digits, number.finish_on_key) == (0, "#")


def test_a_recording_answers_the_question_and_a_failed_one_flags_it() -> None:
    drug = load_builtin("medication").question("medicines")
    assert drug is not None
    asked = prompt(drug.questions[1], "zh-CN")
    assert asked.max_length == MAX_RECORDING_SECONDS
    good = read_recording(asked, url="https://api.twilio.com/rec/RE1", duration=12)
    assert good == type(good)(Text("🎙 0:12"), failed=False)
    for url, duration in ((None, None), ("https://x/RE2", 0), ("", 5)):
        bad = read_recording(asked, url=url, duration=duration)
        assert bad.failed and bad.inbound == Text("🎙 —")
    hospital = prompt(drug.questions[4], "zh-CN")  # optional: a failed recording skips it
    assert read_recording(hospital, url=None, duration=None).inbound == Skip()


def test_spoken_turns_reply_into_enter() -> None:
    assert spoken("请回复人数。") == "请输入人数。"
    assert spoken("⚠️ Reply 0 if none.") == "Enter 0 if none."


def test_phone_problems_name_the_questions_a_phone_cannot_ask() -> None:
    assert phone_problems(load_builtin("antigen")) == []
    assert phone_problems(load_builtin("medication")) == []
    dated = load_builtin("antigen").model_copy(
        update={
            "questions": (
                Question(name="when", type="date", label={"zh-CN": "哪天？", "en": "When?"}),
            )
        }
    )
    assert phone_problems(dated) == ["when"]


def _keys_for(asked: Any, want: str) -> str:
    """The keys that pick choice value ``want``."""
    return next(key for key, value in asked.keys.items() if value == want)


def test_the_antigen_survey_completes_by_keypad_through_the_engine() -> None:
    """The outcomes are the engine's own inputs: a whole antigen survey by keys, with a
    wrong number re-asked (and said), a repeat, and a Back."""
    defn = load_builtin("antigen")
    step = engine.start(defn, channel="sms")
    presses = ["9", "1", "25", "3", "*", "3", "0"]
    said: list[tuple[str, ...]] = []
    for digits in presses:
        ask = next(e for e in reversed(step.events) if isinstance(e, engine.Ask))
        asked = prompt_for_ask(defn, ask, "zh-CN")
        said.append(asked.say)
        outcome = read_keys(asked, digits)
        if isinstance(outcome, Repeat):
            continue
        assert isinstance(outcome, Back | Answer)
        inbound = engine.Back() if isinstance(outcome, Back) else outcome.inbound
        step = engine.handle(defn, step.state, inbound, channel="sms")
    assert step.state.status == "completed"
    assert step.state.answers == {"tested_today": "yes", "tested": 3, "positive": 0}
    assert "一户最多填20人，请核对人数后重新输入。" in said[3]  # the re-ask after 25


def test_a_medicine_is_registered_by_keys_and_a_recording() -> None:
    defn = load_builtin("medication")
    step = engine.start(defn, channel="sms")
    inputs: list[Any] = ["1", ("rec", 4), ("rec", 9), ("rec", 0), "30", ("rec", None), "2", "2"]
    inputs.append("1")  # urgency: today
    failed = []
    for pressed in inputs:
        ask = next(e for e in reversed(step.events) if isinstance(e, engine.Ask))
        asked = prompt_for_ask(defn, ask, "zh-CN")
        if isinstance(pressed, tuple):
            assert asked.mode == "record", ask.path
            got = read_recording(
                asked, url="https://x/RE" if pressed[1] else None, duration=pressed[1]
            )
            failed.append(got.failed)
            inbound = got.inbound
        else:
            outcome = read_keys(asked, pressed)
            assert isinstance(outcome, Answer), (ask.path, pressed)
            inbound = outcome.inbound
        step = engine.handle(defn, step.state, inbound, channel="sms")
    assert step.state.status == "completed", step.events
    item = step.state.answers["medicines"][0]
    assert item["patient"] == "🎙 0:04" and item["drug"] == "🎙 0:09"
    assert item["dose"] == "🎙 —" and item["hospital"] is None
    assert failed == [False, False, True, True]


def test_a_one_key_question_hears_hash_as_a_key_in_twiml() -> None:
    """Twilio ends a Gather on '#' unless finishOnKey is set: a one-key question sets it empty
    so that '#' (skip) reaches us; a number keeps '#' as its end."""
    from notifications.channels.voice import render_twiml
    from notifications.voice_script import Gather, Voice

    voices = {"zh-CN": Voice("Polly.Zhiyu", "cmn-CN"), "en": Voice("Polly.Joanna", "en-US")}
    one = prompt(load_builtin("antigen").questions[0], "zh-CN")
    number = prompt(load_builtin("antigen").questions[1], "zh-CN")
    for asked, attribute in ((one, 'finishOnKey=""'), (number, 'finishOnKey="#"')):
        gather = Gather("/twilio/voice/survey/keys", finish_on_key=asked.finish_on_key)
        assert attribute in render_twiml((gather,), voices)


_QUESTIONS = [
    (q, lang, back)
    for slug in ("antigen", "medication")
    for q, _ in load_builtin(slug).walk()
    for lang in ("zh-CN", "en")
    for back in (False, True)
    if q.type not in ("repeat", "image", "note")
]


@given(
    index=st.integers(min_value=0, max_value=len(_QUESTIONS) - 1),
    keys=st.text(alphabet="0123456789*#", max_size=8),
)
@settings(max_examples=400, deadline=None)
def test_any_keys_give_an_outcome_the_engine_accepts(index: int, keys: str) -> None:
    """Whatever is pressed: never an error; a one-key answer is one of the question's values;
    Back only where there is a question before; the engine takes every Answer without
    raising (it re-asks what it cannot use)."""
    question, lang, can_back = _QUESTIONS[index]
    asked = prompt(question, lang, can_back=can_back)
    outcome = read_keys(asked, keys)
    assert isinstance(outcome, Answer | Back | Repeat | Invalid)
    if isinstance(outcome, Back):
        assert can_back
    if isinstance(outcome, Answer) and isinstance(outcome.inbound, Choice):
        allowed = (
            {"yes", "no"} if question.type == "yes_no" else {c.value for c in question.choices}
        )
        assert outcome.inbound.value in allowed
    if isinstance(outcome, Answer) and isinstance(outcome.inbound, Skip):
        assert not question.required
    if asked.mode == "keys" and len(keys) == 1 and keys in asked.keys:
        assert isinstance(outcome, Answer)
