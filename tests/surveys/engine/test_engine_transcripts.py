"""Conversation transcripts (tests/surveys/engine/transcripts/*.yaml) replayed through the engine.

Transcript format::

    name: what it shows
    survey: antigen            # a built-in slug, or
    definition: {...}          # an inline definition (same shape as a definition file)
    channel: telegram | sms
    lang: zh-CN | en           # language used when a step checks rendered text
    today: 2022-04-12          # optional, passed to handle()
    previous: {...}            # optional: answers already stored (revising)
    start: {<expectations>}    # checked against start()'s events
    steps:
      - text: "３人"            # exactly one input: text, choice, toggle, photo,
        <expectations>         #   or do: back | cancel | skip | keep | done
    final: {status: ..., answers: {...}, flags: [...]}

Expectations (each optional): ``ask`` (path of the last Ask as "a.1.b", null = no Ask),
``asks`` (paths of every Ask), ``previous`` (previous value of the last Ask), ``error``
(substring of the last Ask's error in ``lang``, null = no error), ``saved`` ({path: value},
the exact AnswerSaved events), ``cleared`` (exact AnswerCleared paths), ``status``,
``alerts`` (kinds), ``invalid`` (reason), ``needs_human`` (reason), ``events`` (exact list of
event class names), ``render`` (substring of the last Ask rendered for channel/lang),
``answers`` (all answers after the step).

Every step also checks the invariants: seq grows by one per Ask, the state round-trips
through JSON and check_state finds nothing wrong.
"""

from __future__ import annotations

import json
import typing
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from surveys import engine
from surveys.definition import SurveyDefinition, load_builtin, load_definition, localize
from surveys.engine import (
    Alert,
    AnswerCleared,
    AnswerSaved,
    Ask,
    Back,
    Cancel,
    Choice,
    Done,
    Event,
    Inbound,
    Invalid,
    Keep,
    NeedsHuman,
    Photo,
    SessionState,
    Skip,
    Step,
    Text,
    Toggle,
    check_state,
    path_str,
)
from surveys.render import render_ask

TRANSCRIPTS = sorted((Path(__file__).parent / "transcripts").glob("*.yaml"))


def _inbound(step: dict[str, Any]) -> Inbound:
    if "text" in step:
        return Text(str(step["text"]))
    if "choice" in step:
        return Choice(str(step["choice"]))
    if "toggle" in step:
        return Toggle(str(step["toggle"]))
    if "photo" in step:
        return Photo(str(step["photo"]))
    simple: dict[str, Inbound] = {
        "back": Back(),
        "cancel": Cancel(),
        "skip": Skip(),
        "keep": Keep(),
        "done": Done(),
    }
    return simple[step["do"]]


def _check_invariants(defn: SurveyDefinition, before_seq: int, result: Step) -> None:
    state, events = result
    asks = [e for e in events if isinstance(e, Ask)]
    assert [a.seq for a in asks] == list(range(before_seq + 1, before_seq + 1 + len(asks)))
    assert state.seq == before_seq + len(asks)
    again = SessionState.from_json(json.loads(json.dumps(state.to_json())))
    assert again == state
    assert check_state(defn, state) == []


def _check(
    where: str,
    expect: dict[str, Any],
    result: Step,
    defn: SurveyDefinition,
    channel: str,
    lang: str,
) -> None:
    state, events = result
    asks = [e for e in events if isinstance(e, Ask)]
    last = asks[-1] if asks else None
    names = [type(e).__name__ for e in events]
    context = f"{where}: events={events!r}"
    if "ask" in expect:
        want = expect["ask"]
        assert (path_str(last.path) if last else None) == want, context
    if "asks" in expect:
        assert [path_str(a.path) for a in asks] == expect["asks"], context
    if "previous" in expect:
        assert last is not None, context
        assert last.previous == expect["previous"], context
    if "error" in expect:
        assert last is not None, context
        if expect["error"] is None:
            assert last.error is None, context
        else:
            assert last.error is not None, context
            assert expect["error"] in localize(last.error, lang), context
    if "saved" in expect:
        saved = {path_str(e.path): e.value for e in events if isinstance(e, AnswerSaved)}
        assert saved == (expect["saved"] or {}), context
    if "cleared" in expect:
        cleared = [path_str(e.path) for e in events if isinstance(e, AnswerCleared)]
        assert cleared == (expect["cleared"] or []), context
    if "status" in expect:
        assert state.status == expect["status"], context
    if "alerts" in expect:
        assert [e.kind for e in events if isinstance(e, Alert)] == expect["alerts"], context
    if "invalid" in expect:
        assert [e.reason for e in events if isinstance(e, Invalid)] == [expect["invalid"]], context
    if "needs_human" in expect:
        reasons = [e.reason for e in events if isinstance(e, NeedsHuman)]
        assert reasons == [expect["needs_human"]], context
    if "events" in expect:
        assert names == expect["events"], context
    if "render" in expect:
        assert last is not None, context
        message = render_ask(defn, last, lang=lang, channel=channel, data_prefix="t:")
        assert expect["render"] in message.text, f"{context}\n{message.text}"
    if "answers" in expect:
        assert state.answers == expect["answers"], context


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[p.stem for p in TRANSCRIPTS])
def test_transcript(path: Path) -> None:
    script = yaml.safe_load(path.read_text(encoding="utf-8"))
    defn = (
        load_builtin(script["survey"])
        if "survey" in script
        else load_definition(script["definition"])
    )
    channel = script["channel"]
    lang = script.get("lang", "zh-CN")
    today = script.get("today")
    assert today is None or isinstance(today, date)

    result = engine.start(defn, channel=channel, previous=script.get("previous"))
    _check_invariants(defn, 0, result)
    _check("start", script.get("start") or {}, result, defn, channel, lang)
    state = result.state
    for number, step in enumerate(script.get("steps") or [], start=1):
        result = engine.handle(defn, state, _inbound(step), channel=channel, today=today)
        _check_invariants(defn, state.seq, result)
        _check(f"step {number} {step!r}", step, result, defn, channel, lang)
        state = result.state
    final = script.get("final") or {}
    if "status" in final:
        assert state.status == final["status"]
    if "answers" in final:
        assert state.answers == final["answers"]
    if "flags" in final:
        assert sorted(state.flags) == final["flags"]


def test_there_are_enough_transcripts() -> None:
    assert len(TRANSCRIPTS) >= 12


def _replay(path: Path) -> tuple[set[type], set[type]]:
    """The input and event types one transcript exercises."""
    script = yaml.safe_load(path.read_text(encoding="utf-8"))
    defn = (
        load_builtin(script["survey"])
        if "survey" in script
        else load_definition(script["definition"])
    )
    channel = script["channel"]
    result = engine.start(defn, channel=channel, previous=script.get("previous"))
    inputs: set[type] = set()
    events = {type(e) for e in result.events}
    for step in script.get("steps") or []:
        inbound = _inbound(step)
        inputs.add(type(inbound))
        result = engine.handle(
            defn, result.state, inbound, channel=channel, today=script.get("today")
        )
        events |= {type(e) for e in result.events}
    return inputs, events


def test_every_input_and_event_type_has_a_transcript() -> None:
    """Like goflow's test that every event type has an example: a new input or event type in
    the engine needs a transcript that sends or emits it."""
    inputs: set[type] = set()
    events: set[type] = set()
    for path in TRANSCRIPTS:
        more_inputs, more_events = _replay(path)
        inputs |= more_inputs
        events |= more_events
    missing = (set(typing.get_args(Inbound)) - inputs) | (set(typing.get_args(Event)) - events)
    assert not missing, f"no transcript covers {sorted(t.__name__ for t in missing)}"
