"""Survey questions asked by telephone keypad (pure): what a call says, and what keys mean.

:func:`prompt` turns one survey question into a :class:`Prompt` - what to say (zh-CN or en)
and how Twilio listens (``<Gather input="dtmf">`` or ``<Record>``); :func:`read_keys` turns
the keys pressed back into the engine's input (:mod:`surveys.engine.inputs`) or into
"repeat", "back", "invalid"; :func:`read_recording` does the same for a ``<Record>``.
No database, no clock, no network: the call's routes (``/twilio/voice/…``) build the TwiML.

How each question type is asked (``Prompt.mode``):

============================  ==========  ===================================================
question                      mode        keys
============================  ==========  ===================================================
yes_no (and "add another?")   ``keys``    1 yes, 2 no (one key, no ``#``)
select_one, 1-8 choices       ``keys``    1..n, the choice labels read with their digit
select_one, exactly 9         ``keys``    1..9; the repeat key is then **0** (9 is a choice)
select_multiple, 1-8 choices  ``multi``   the digits of every choice that applies, then ``#``
integer                       ``number``  the digits, then ``#``
text (a drug name, a name)    ``record``  said aloud after the tone (``<Record>``, 30 s)
note                          ``say``     said, nothing to press
anything else                 ``none``    decimal, date, image, select_one > 9 choices …:
                                          not asked by phone (see :func:`phone_problems`)
============================  ==========  ===================================================

Everywhere: **9** (0 for a 9-choice question) hears the question again, **\\*** goes back to
the question before (only said when there is one), **#** skips an optional one-key question.
A ``number`` or ``multi`` prompt is ended by ``#``, so there: ``*`` (then ``#``) goes back,
``#`` alone (or silence) hears it again, ``**`` skips an optional question; a lone ``9`` in a
``multi`` prompt also repeats (its choices are 1-8).

Question labels are written for text ("请回复人数" / "Reply with a number"); spoken, "回复"
becomes "输入" and "Reply" becomes "Enter" ("都是阴性请输入0"), see :func:`spoken`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from surveys.definition.model import (
    ADD_ANOTHER,
    Question,
    SurveyDefinition,
    localize,
)
from surveys.engine.events import Ask
from surveys.engine.inputs import Choice, Inbound, Skip, Text

__all__ = [
    "BACK_KEY",
    "KEYPAD_TEXTS",
    "MAX_RECORDING_SECONDS",
    "RECORDING_MARK",
    "Answer",
    "Back",
    "Invalid",
    "Mode",
    "Outcome",
    "Prompt",
    "Repeat",
    "phone_problems",
    "prompt",
    "prompt_for_ask",
    "read_keys",
    "read_recording",
    "recording_value",
    "spoken",
]

Mode = Literal["keys", "multi", "number", "record", "say", "none"]
BACK_KEY = "*"
SKIP_KEY = "#"
MAX_RECORDING_SECONDS = 30
MIN_RECORDING_SECONDS = 1
MAX_KEY_CHOICES = 9
MAX_MULTI_CHOICES = 8
RECORDING_MARK = "🎙"
"""Stored answer of a recorded text question: ``"🎙 0:12"`` (a failed one: ``"🎙 —"``); the
recording itself is kept beside the answer (``surveys.models.Recording``)."""

KEYPAD_TEXTS: dict[str, dict[str, str]] = {
    "item": {"zh-CN": "{group}，第{n}项。", "en": "{group}, number {n}."},
    "yes_no": {"zh-CN": "是请按1，否请按2。", "en": "Press 1 for yes, 2 for no."},
    "choice": {"zh-CN": "{label}请按{key}", "en": "for {label} press {key}"},
    "choice_sep": {"zh-CN": "，", "en": "; "},
    "choice_end": {"zh-CN": "。", "en": "."},
    "number": {
        "zh-CN": "请用电话按键输入数字，输完按井号键。",
        "en": "Key in the number, then press the hash key.",
    },
    "multi": {
        "zh-CN": "可以选多项：请依次按下每一项的数字，按完按井号键。",
        "en": "You may choose several: press the number of each one, then the hash key.",
    },
    "record": {
        "zh-CN": "请在提示音后说出您的回答，说完按井号键，或者等待。",
        "en": "Please say your answer after the tone, then press the hash key or wait.",
    },
    "repeat": {"zh-CN": "重听请按{key}。", "en": "To hear this again, press {key}."},
    "repeat_hash": {
        "zh-CN": "重听请直接按井号键。",
        "en": "To hear this again, press the hash key alone.",
    },
    "back": {"zh-CN": "返回上一题请按星号键。", "en": "To go back, press star."},
    "back_hash": {
        "zh-CN": "返回上一题请按星号键再按井号键。",
        "en": "To go back, press star then hash.",
    },
    "skip": {"zh-CN": "跳过这题请按井号键。", "en": "To skip this question, press hash."},
    "skip_hash": {
        "zh-CN": "跳过这题请按两次星号键再按井号键。",
        "en": "To skip this question, press star twice, then hash.",
    },
    "recorded": {"zh-CN": "{mark} {length}", "en": "{mark} {length}"},
    "record_failed": {"zh-CN": "{mark} —", "en": "{mark} —"},
}

# What text-channel wording becomes when spoken (label, constraint message, error text).
_SPOKEN = (
    ("请回复", "请输入"),
    ("回复", "输入"),
    ("Reply with", "Enter"),
    ("reply with", "enter"),
    ("Reply", "Enter"),
    ("reply", "enter"),
    ("tap Skip", "press hash"),
)
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f]")


def _t(name: str, lang: str, **values: object) -> str:
    entry = KEYPAD_TEXTS[name]
    template = entry.get(lang) or entry["zh-CN"]
    return template.format(**values) if values else template


def spoken(written: str) -> str:
    """Text written for a chat, as said on the phone: "回复" → "输入", "Reply" → "Enter",
    emoji dropped, whitespace collapsed."""
    out = _EMOJI.sub("", written)
    for old, new in _SPOKEN:
        out = out.replace(old, new)
    return " ".join(out.split())


# ----------------------------------------------------------------------------------- prompts


@dataclass(frozen=True, slots=True)
class Prompt:
    """How one question is asked on the phone.

    ``say`` is everything to speak, in order (question, error, options, navigation): put it
    in the ``<Gather>`` so that a key cuts it short. ``keys`` maps a key to a choice value
    (``keys`` mode; ``"yes"``/``"no"`` for yes_no). ``num_digits`` (1 for ``keys``, 0 =
    any) and ``finish_on_key`` (``"#"`` or ``""``) are the Gather's. ``max_length`` is the
    Record's limit in seconds."""

    mode: Mode
    say: tuple[str, ...]
    keys: Mapping[str, str] = field(default_factory=dict)
    repeat_key: str = ""
    can_back: bool = False
    can_skip: bool = False
    num_digits: int = 0
    finish_on_key: str = ""
    max_length: int = 0
    choices: int = 0  # multi: how many choices (keys 1..choices)


def _mode(question: Question) -> Mode:
    kind = question.type
    if kind == "note":
        return "say"
    if kind == "yes_no":
        return "keys"
    if kind == "select_one" and 0 < len(question.choices) <= MAX_KEY_CHOICES:
        return "keys"
    if kind == "select_multiple" and 0 < len(question.choices) <= MAX_MULTI_CHOICES:
        return "multi"
    if kind == "integer":
        return "number"
    if kind == "text":
        return "record"
    return "none"


def prompt(
    question: Question,
    lang: str,
    *,
    can_back: bool = False,
    error: Mapping[str, str] | None = None,
    item: int | None = None,
    group: Question | None = None,
    path_name: str | None = None,
) -> Prompt:
    """The phone prompt of ``question`` (an engine ``Ask``: its question, ``can_back``,
    ``error``; for a repeat item question its ``group`` and ``item`` number)."""
    mode = _mode(question)
    say: list[str] = []
    if group is not None and item is not None and (path_name or question.name) != ADD_ANOTHER:
        say.append(_t("item", lang, group=spoken(localize(group.label, lang)), n=item))
    say.append(spoken(localize(question.label, lang)))
    if error:
        say.append(spoken(localize(error, lang)))
    can_skip = not question.required and question.type != "note"
    if mode == "keys":
        keys: dict[str, str]
        if question.type == "yes_no":
            keys = {"1": "yes", "2": "no"}
            say.append(_t("yes_no", lang))
        else:
            keys = {str(n): c.value for n, c in enumerate(question.choices, start=1)}
            parts = [
                _t("choice", lang, label=spoken(localize(c.label, lang)), key=n)
                for n, c in enumerate(question.choices, start=1)
            ]
            line = _t("choice_sep", lang).join(parts) + _t("choice_end", lang)
            say.append(line[0].upper() + line[1:] if lang == "en" else line)
        repeat = "0" if len(keys) == MAX_KEY_CHOICES else "9"
        say.append(_t("repeat", lang, key=repeat))
        if can_skip:
            say.append(_t("skip", lang))
        if can_back:
            say.append(_t("back", lang))
        return Prompt(
            mode, tuple(say), keys, repeat, can_back, can_skip, num_digits=1, finish_on_key=""
        )
    if mode in ("number", "multi"):
        if mode == "multi":
            parts = [
                _t("choice", lang, label=spoken(localize(c.label, lang)), key=n)
                for n, c in enumerate(question.choices, start=1)
            ]
            line = _t("choice_sep", lang).join(parts) + _t("choice_end", lang)
            say.append(line[0].upper() + line[1:] if lang == "en" else line)
        say.append(_t(mode, lang))
        say.append(_t("repeat_hash", lang))
        if can_skip:
            say.append(_t("skip_hash", lang))
        if can_back:
            say.append(_t("back_hash", lang))
        return Prompt(
            mode,
            tuple(say),
            repeat_key=SKIP_KEY,
            can_back=can_back,
            can_skip=can_skip,
            finish_on_key=SKIP_KEY,
            choices=len(question.choices) if mode == "multi" else 0,
        )
    if mode == "record":
        say.append(_t("record", lang))
        return Prompt(
            mode,
            tuple(say),
            can_back=can_back,
            can_skip=can_skip,
            finish_on_key=SKIP_KEY,
            max_length=MAX_RECORDING_SECONDS,
        )
    return Prompt(mode, tuple(say), can_back=can_back, can_skip=can_skip)


def prompt_for_ask(defn: SurveyDefinition, ask: Ask, lang: str) -> Prompt:
    """The phone prompt of an engine ``Ask`` (its error, Back, repeat item)."""
    group = defn.question(str(ask.path[0])) if len(ask.path) == 3 else None
    item = int(ask.path[1]) if group is not None else None
    return prompt(
        ask.question,
        lang,
        can_back=ask.can_back,
        error=ask.error,
        item=item,
        group=group,
        path_name=str(ask.path[-1]),
    )


# ---------------------------------------------------------------------------------- outcomes


@dataclass(frozen=True, slots=True)
class Answer:
    """Hand ``inbound`` to the engine (``surveys.engine.handle``)."""

    inbound: Inbound


@dataclass(frozen=True, slots=True)
class Repeat:
    """Say the question again."""


@dataclass(frozen=True, slots=True)
class Back:
    """Go back one question (the engine's ``Back``)."""


@dataclass(frozen=True, slots=True)
class Invalid:
    """Keys that mean nothing here: say so and ask again."""

    keys: str


Outcome = Answer | Repeat | Back | Invalid


def read_keys(asked: Prompt, digits: str) -> Outcome:
    """What the keys pressed on ``asked`` mean. ``digits`` is Twilio's ``Digits`` (the
    finishing ``#`` is not in it; an empty string is ``#`` alone or silence)."""
    keys = "".join(ch for ch in (digits or "") if ch in "0123456789*#")
    if asked.mode == "keys":
        if keys == asked.repeat_key or keys == "":
            return Repeat()
        if keys == BACK_KEY and asked.can_back:
            return Back()
        if keys == SKIP_KEY and asked.can_skip:
            return Answer(Skip())
        value = asked.keys.get(keys)
        return Answer(Choice(value)) if value is not None else Invalid(keys)
    if asked.mode in ("number", "multi"):
        if keys == "" or (asked.mode == "multi" and keys == "9"):
            return Repeat()
        if keys == BACK_KEY and asked.can_back:
            return Back()
        if keys == BACK_KEY * 2 and asked.can_skip:
            return Answer(Skip())
        if not keys.isdigit():
            return Invalid(keys)
        if asked.mode == "number":
            return Answer(Text(str(int(keys))))  # the engine checks min/max/constraint
        if any(not 1 <= int(ch) <= asked.choices for ch in keys):
            return Invalid(keys)
        return Answer(Text(" ".join(keys)))  # the engine's numbered reply: "1 3"
    if asked.mode == "record":
        if keys == BACK_KEY and asked.can_back:
            return Back()
        return Repeat()
    return Invalid(keys)


def recording_value(duration: int | None, lang: str = "zh-CN") -> str:
    """The stored answer of a recorded question: ``"🎙 0:12"``, or ``"🎙 —"`` if none."""
    if not duration or duration < MIN_RECORDING_SECONDS:
        return _t("record_failed", lang, mark=RECORDING_MARK)
    minutes, seconds = divmod(int(duration), 60)
    return _t("recorded", lang, mark=RECORDING_MARK, length=f"{minutes}:{seconds:02d}")


@dataclass(frozen=True, slots=True)
class Recorded:
    """A ``<Record>`` result: the engine input, and whether it failed (no usable audio:
    flag the household "needs a call")."""

    inbound: Inbound
    failed: bool


def read_recording(asked: Prompt, *, url: str | None, duration: int | None) -> Recorded:
    """What a recording posted by Twilio (``RecordingUrl``, ``RecordingDuration``) gives.
    A missing or empty recording still answers the question (``"🎙 —"``, so the call goes
    on) but ``failed`` is set; an optional question is skipped instead."""
    ok = bool(url) and bool(duration) and int(duration or 0) >= MIN_RECORDING_SECONDS
    if ok:
        return Recorded(Text(recording_value(duration)), failed=False)
    if asked.can_skip:
        return Recorded(Skip(), failed=True)
    return Recorded(Text(recording_value(None)), failed=True)


def phone_problems(defn: SurveyDefinition) -> list[str]:
    """Names of the questions that cannot be asked on the phone (mode ``none``): a voice
    household is then flagged "needs a call" when it reaches one. Images are left out: the
    engine skips them on voice (a text-only channel)."""
    problems = []
    for question, group in defn.walk():
        if question.type in ("repeat", "image"):
            continue
        if _mode(question) == "none":
            problems.append(f"{group.name}.{question.name}" if group else question.name)
    return problems
