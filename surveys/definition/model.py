"""Survey definitions as types (pure): questions, choices, alerts, and their validation.

A definition file (``surveys/definition/definitions/<slug>.yaml``)::

    slug: antigen
    version: 1
    title: {zh-CN: 抗原检测, en: Antigen test}
    intro: {zh-CN: ..., en: ...}            # optional
    questions:
      - name: tested_today
        type: yes_no
        label: {zh-CN: 今天家里做抗原了吗？, en: Did your household test today?}
      - name: tested
        type: integer
        relevant: "tested_today = 'yes'"
        min: 1
        constraint: ". <= 20"
        constraint_message: {zh-CN: 最多20人。, en: At most 20 people.}
        label: {zh-CN: 几人做了检测？, en: How many people tested?}
    alerts:
      - {when: "positive > 0", kind: positive_antigen}

Every problem found is reported at once in :class:`DefinitionError.problems`, each naming the
question (``question 'tested': ...``; questions inside a repeat are ``group.name``).

Stored answer values (what the engine saves and expressions see): select_one → the choice
value (str); select_multiple → list of choice values in choice order; integer → int;
decimal → float; text → str; date → ISO ``YYYY-MM-DD`` str; yes_no → ``'yes'``/``'no'``;
image → the Telegram file_id; a skipped optional question → None; repeat → list of dicts
(one per item, item question name → value); note → nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

Lang = Literal["zh-CN", "en"]
LANGS: tuple[Lang, ...] = ("zh-CN", "en")
QuestionType = Literal[
    "select_one",
    "select_multiple",
    "integer",
    "decimal",
    "text",
    "date",
    "yes_no",
    "image",
    "note",
    "repeat",
]
QUESTION_TYPES: tuple[str, ...] = get_args(QuestionType)
SELECT_TYPES = frozenset({"select_one", "select_multiple"})
NUMBER_TYPES = frozenset({"integer", "decimal"})
# Name of the pseudo-question "add another item?" at the end of each repeat item; paths use it:
# ("medicines", 2, "add_another").
ADD_ANOTHER = "add_another"
SMS_MAX_SEGMENTS = 2
NAME_RE = re.compile(r"[a-z_][a-z0-9_]*")
SLUG_RE = re.compile(r"[a-z][a-z0-9_-]*")


class DefinitionError(Exception):
    """A definition that cannot be used; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__(
            "invalid survey definition:\n" + "\n".join(f"- {p}" for p in self.problems)
        )


# ----------------------------------------------------------------------------- localized text


def _localized(value: Any) -> Any:
    if value is None:
        return value
    if not isinstance(value, Mapping):
        raise ValueError("needs a mapping with 'zh-CN' and 'en' texts")
    out: dict[str, str] = {}
    for key, text in value.items():
        if key not in LANGS:
            raise ValueError(f"unknown language {key!r} (use 'zh-CN' and 'en')")
        if isinstance(text, bool):
            raise ValueError(f"{key} text is a YAML boolean; put it in quotes")
        if isinstance(text, int | float):
            text = str(text)
        if not isinstance(text, str):
            raise ValueError(f"{key} text must be a string")
        out[key] = text
    missing = [lang for lang in LANGS if not out.get(lang, "").strip()]
    if missing:
        raise ValueError(f"missing {' and '.join(repr(m) for m in missing)} text")
    return out


Localized = Annotated[dict[str, str], BeforeValidator(_localized)]
"""Text in every language: ``{"zh-CN": ..., "en": ...}`` (both required, non-empty)."""


def localize(text: Mapping[str, str] | None, lang: str) -> str:
    """``text`` in ``lang`` (falls back to zh-CN, then to any language)."""
    if not text:
        return ""
    return text.get(lang) or text.get("zh-CN") or next(iter(text.values()), "")


# ------------------------------------------------------------------------------------- models

_FROZEN = ConfigDict(extra="forbid", frozen=True)


class Choice(BaseModel):
    model_config = _FROZEN

    value: str
    label: Localized
    sms_label: Localized | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _value_to_str(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("value is a YAML boolean; put it in quotes")
        if isinstance(value, int | float):
            return str(value)
        return value

    def aliases(self) -> tuple[str, ...]:
        """Texts a resident may type to pick this choice (value and every label)."""
        texts = [self.value, *self.label.values()]
        if self.sms_label:
            texts.extend(self.sms_label.values())
        return tuple(texts)


class Question(BaseModel):
    model_config = _FROZEN

    name: str
    type: QuestionType
    label: Localized
    sms_label: Localized | None = None
    choices: tuple[Choice, ...] = ()
    required: bool = True  # default False for note and image
    constraint: str | None = None
    constraint_message: Localized | None = None
    relevant: str | None = None
    min: float | None = None
    max: float | None = None
    sms_alternative: Localized | None = None  # image only: text shown on SMS instead
    questions: tuple[Question, ...] = ()  # repeat only
    add_another: Localized | None = None  # repeat only: "add another item?"
    max_items: int | None = Field(default=None, ge=1)  # repeat only

    @model_validator(mode="before")
    @classmethod
    def _default_required(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "required" not in data:
            if data.get("type") in ("note", "image", "repeat"):
                return {**data, "required": False}
        return data

    @property
    def answerable(self) -> bool:
        """Whether this question stores an answer of its own (not a note or a group)."""
        return self.type not in ("note", "repeat")

    def choice(self, value: Any) -> Choice | None:
        for choice in self.choices:
            if choice.value == value:
                return choice
        return None

    def choice_index(self, value: Any) -> int | None:
        for index, choice in enumerate(self.choices):
            if choice.value == value:
                return index
        return None

    def item_question(self, name: str) -> Question | None:
        for question in self.questions:
            if question.name == name:
                return question
        return None

    def add_another_question(self) -> Question:
        """The yes/no pseudo-question asked after each item of a repeat group."""
        label = self.add_another or {
            "zh-CN": "还要再添加一项吗？",
            "en": "Add another one?",
        }
        return Question(name=ADD_ANOTHER, type="yes_no", label=label)


class AlertRule(BaseModel):
    model_config = _FROZEN

    when: str
    kind: str


class SurveyDefinition(BaseModel):
    model_config = _FROZEN

    slug: str
    version: int = Field(ge=1)
    title: Localized
    intro: Localized | None = None
    questions: tuple[Question, ...]
    alerts: tuple[AlertRule, ...] = ()

    def question(self, name: str) -> Question | None:
        """Top-level question (or repeat group) by name."""
        for question in self.questions:
            if question.name == name:
                return question
        return None

    def index(self, name: str) -> int | None:
        for index, question in enumerate(self.questions):
            if question.name == name:
                return index
        return None

    def walk(self) -> Iterator[tuple[Question, Question | None]]:
        """Every question in order as (question, enclosing repeat group or None)."""
        for question in self.questions:
            yield question, None
            for item_question in question.questions:
                yield item_question, question

    def top_level_names(self) -> list[str]:
        """Answer columns of the household's main report row, in order (no notes, no groups)."""
        return [q.name for q in self.questions if q.answerable]

    def repeat_groups(self) -> list[Question]:
        """The repeat groups, in order; each group's ``questions`` are its item columns."""
        return [q for q in self.questions if q.type == "repeat"]

    def flat_columns(self) -> list[str]:
        """Report columns: ``top_level_names()``, then for each repeat group ``group.#`` (the
        item number) and ``group.<item question>``. See :meth:`answer_rows`."""
        columns = self.top_level_names()
        for group in self.repeat_groups():
            columns.append(f"{group.name}.#")
            columns.extend(f"{group.name}.{q.name}" for q in group.questions if q.answerable)
        return columns

    def answer_rows(self, answers: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Report rows keyed by :meth:`flat_columns`: the household's main row (top-level
        answers), then one extra row per repeat item (only that item's columns filled)."""
        rows: list[dict[str, Any]] = [{name: answers.get(name) for name in self.top_level_names()}]
        for group in self.repeat_groups():
            items = answers.get(group.name)
            if not isinstance(items, list):
                continue
            for number, item in enumerate(items, start=1):
                if not isinstance(item, Mapping):
                    continue
                row: dict[str, Any] = {f"{group.name}.#": number}
                for q in group.questions:
                    if q.answerable:
                        row[f"{group.name}.{q.name}"] = item.get(q.name)
                rows.append(row)
        return rows

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (e.g. the snapshot a round keeps); ``load_definition`` reads it back."""
        return self.model_dump(mode="json", exclude_none=True)
