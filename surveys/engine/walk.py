"""The survey engine: pure, synchronous, deterministic.

``start`` and ``handle`` take a definition, the session state and one inbound, and return a
:class:`Step` (the new state and the events to apply). No database, network, clock or
randomness: ``today`` is passed in for relative dates. ``handle`` never raises; input it cannot
use yields :class:`Invalid` and the unchanged state.

Positions ("paths") are tuples: ``("tested",)`` for a top-level question,
``("medicines", 2, "drug")`` for a question of repeat item 2 (1-based), and
``("medicines", 2, "add_another")`` for the "add another?" yes/no asked after item 2.

Behaviour in short:

* Questions whose ``relevant`` is false are skipped and any stored answer is cleared
  (:class:`AnswerCleared`). Relevance is evaluated on the way forward, so after a Back and a
  changed answer the later answers are re-checked when the walk passes them.
* Notes do not wait for input: a note produces an :class:`Ask` (``question.type == "note"``,
  render and send it like any other) and the walk moves straight on, in the same step. The
  cursor never rests on a note and Back skips over notes.
* Images are skipped on text-only channels (``sms``, ``voice``); an image with an
  ``sms_alternative`` text is shown there as a note instead.
* Repeat groups: item 1 starts right away when the group is relevant; after each item the
  add-another yes/no is asked, unless ``max_items`` is reached. "No" removes any later items
  (left from an earlier revision).
* Revising: ``start(previous=answers)`` starts at the first question with the old answers in
  place; every :class:`Ask` carries ``previous`` and :class:`Keep` re-validates and keeps it.
* Back re-asks the question answered before the current one (from ``completed`` it reopens the
  last answered question; from ``cancelled`` it resumes the question that was open).
* Wrong answers are re-asked with ``error`` set. The 3rd consecutive wrong answer to the same
  question emits :class:`NeedsHuman` (once) and adds the ``needs_call`` flag; on text-only
  channels the question is then no longer re-asked (further wrong answers give
  :class:`Invalid`), but a valid answer still moves on.
* Typed keywords (see ``answers.classify_keyword``) act like the matching inbound:
  back/返回/上一题/#, cancel/取消, keep/保留/不变, skip/跳过 (a required question is then
  re-asked with "needs an answer"). STOP/START/HELP are the router's business; if they reach
  the engine they are ordinary text.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from surveys.definition.model import (
    ADD_ANOTHER,
    Question,
    SurveyDefinition,
)
from surveys.engine.answers import REASON_TEXT as PARSE_REASON_TEXT
from surveys.engine.answers import (
    Keyword,
    Parsed,
    classify_keyword,
    parse_choice,
    parse_choices,
    parse_date,
    parse_decimal,
    parse_integer,
    parse_yes_no,
)
from surveys.engine.events import (
    Alert,
    AnswerCleared,
    AnswerSaved,
    Ask,
    Cancelled,
    Completed,
    Event,
    Invalid,
    Localized,
    NeedsHuman,
)
from surveys.engine.expressions import Expr, ExpressionError, parse
from surveys.engine.inputs import (
    Back,
    Cancel,
    Choice,
    Done,
    Inbound,
    Keep,
    Photo,
    Skip,
    Text,
    Toggle,
)
from surveys.engine.state import NEEDS_CALL, Path, SessionState, Status

__all__ = [
    "MAX_BAD_TRIES",
    "REASON_TEXT",
    "TEXT_ONLY_CHANNELS",
    "Step",
    "check_state",
    "handle",
    "question_at",
    "reason_text",
    "start",
]

TEXT_ONLY_CHANNELS = frozenset({"sms", "voice"})
MAX_BAD_TRIES = 3
MAX_TEXT_LENGTH = 500

# Re-ask and Invalid reasons, on top of the parse reasons of surveys.engine.answers.
REASON_TEXT: dict[str, dict[str, str]] = {
    **PARSE_REASON_TEXT,
    "required": {"zh-CN": "这道题需要回答。", "en": "This question needs an answer."},
    "too_small": {"zh-CN": "不能小于 {min}，请重新回复。", "en": "It must be at least {min}."},
    "too_large": {"zh-CN": "不能大于 {max}，请重新回复。", "en": "It must be at most {max}."},
    "constraint": {
        "zh-CN": "这个回答不符合要求，请核对后重新回复。",
        "en": "That answer does not look right; please check and reply again.",
    },
    "too_long": {
        "zh-CN": "回答太长了，请简短一些。",
        "en": "That is too long; please make it shorter.",
    },
    "send_photo": {
        "zh-CN": "请发送一张照片，或点“跳过”。",
        "en": "Please send a photo, or tap Skip.",
    },
    "choose_at_least_one": {
        "zh-CN": "请至少选择一项，再点“完成”。",
        "en": "Choose at least one option, then tap Done.",
    },
    "stale": {
        "zh-CN": "这个按钮已过期，请回答最新的问题。",
        "en": "That button is out of date; please answer the latest question.",
    },
    "unexpected_photo": {
        "zh-CN": "这道题不需要照片，请直接回复文字。",
        "en": "No photo is needed here; please reply with text.",
    },
    "not_active": {
        "zh-CN": "这份问卷已经结束了。",
        "en": "This survey is already finished.",
    },
    "at_start": {"zh-CN": "这已经是第一题了。", "en": "This is already the first question."},
    "nothing_to_keep": {
        "zh-CN": "之前没有答案可以保留，请直接回答。",
        "en": "There is no earlier answer to keep; please answer.",
    },
    "needs_call": {
        "zh-CN": "工作人员会尽快与您联系。",
        "en": "A staff member will contact you soon.",
    },
    "unknown_position": {
        "zh-CN": "问卷已更新，请联系工作人员。",
        "en": "The survey has changed; please contact the staff.",
    },
    "wrong_survey": {
        "zh-CN": "问卷不匹配，请联系工作人员。",
        "en": "Survey mismatch; please contact the staff.",
    },
    "internal_error": {
        "zh-CN": "系统出错了，请稍后再试。",
        "en": "Something went wrong; please try again later.",
    },
}


def reason_text(reason: str, **values: Any) -> dict[str, str]:
    """Localized text for a reason key (``{min}``/``{max}`` filled from ``values``)."""
    template = REASON_TEXT.get(reason) or REASON_TEXT["constraint"]
    return {lang: text.format(**values) if values else text for lang, text in template.items()}


class Step(NamedTuple):
    state: SessionState
    events: tuple[Event, ...]


# ------------------------------------------------------------------------------------ lookups


def question_at(defn: SurveyDefinition, path: Path | None) -> Question | None:
    """The question a path points at (the synthetic yes/no for ``add_another``), or None."""
    if not path or not isinstance(path[0], str):
        return None
    top = defn.question(path[0])
    if top is None:
        return None
    if len(path) == 1:
        return top
    if len(path) != 3 or top.type != "repeat":
        return None
    number, name = path[1], path[2]
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        return None
    if top.max_items is not None and number > top.max_items:
        return None
    if name == ADD_ANOTHER:
        return top.add_another_question()
    return top.item_question(name) if isinstance(name, str) else None


def _compile(source: str | None) -> Expr | None:
    if source is None:
        return None
    try:
        return parse(source)
    except ExpressionError:
        return None


def _relevant(question: Question, env: Mapping[str, Any]) -> bool:
    expr = _compile(question.relevant)
    return True if expr is None else expr.test(env)


def _fmt_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass(frozen=True, slots=True)
class _Error:
    reason: str
    text: Localized


def _error(reason: str, **values: Any) -> _Error:
    return _Error(reason, reason_text(reason, **values))


# -------------------------------------------------------------------------------- the engine


class _Run:
    """One start/handle call: a mutable working copy of the state plus the events so far."""

    def __init__(
        self,
        defn: SurveyDefinition,
        state: SessionState,
        *,
        channel: str,
        today: date | None,
    ) -> None:
        self.defn = defn
        self.text_only = channel in TEXT_ONLY_CHANNELS
        self.today = today
        self.answers: dict[str, Any] = copy.deepcopy(dict(state.answers))
        self.cursor = state.cursor
        self.status: Status = state.status
        self.seq = state.seq
        self.bad_tries = state.bad_tries
        self.history = list(state.history)
        self.pending = list(state.pending)
        self.flags = set(state.flags)
        self.closed = set(state.closed_groups)
        self.events: list[Event] = []
        self.survey, self.version = state.survey, state.version

    def step(self) -> Step:
        state = SessionState(
            survey=self.survey,
            version=self.version,
            answers=self.answers,
            cursor=self.cursor,
            status=self.status,
            seq=self.seq,
            bad_tries=self.bad_tries,
            history=tuple(self.history),
            pending=tuple(self.pending),
            flags=frozenset(self.flags),
            closed_groups=frozenset(self.closed),
        )
        return Step(state, tuple(self.events))

    # -- answers -------------------------------------------------------------------------
    def items(self, group: str) -> list[dict[str, Any]]:
        items = self.answers.get(group)
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            items = []
            self.answers[group] = items
        return items

    def item(self, group: str, number: int) -> dict[str, Any]:
        items = self.items(group)
        while len(items) < number:
            items.append({})
        return items[number - 1]

    def env(self, path: Path) -> Mapping[str, Any]:
        if len(path) == 3:
            group, number = str(path[0]), int(path[1])
            return {**self.answers, **self.item(group, number)}
        return self.answers

    def previous(self, path: Path) -> Any:
        if len(path) == 1:
            return self.answers.get(str(path[0]))
        group, number, name = str(path[0]), int(path[1]), path[2]
        if name == ADD_ANOTHER:
            count = len(self.items(group))
            if count > number:
                return "yes"
            if count == number and group in self.closed:
                return "no"
            return None
        return self.item(group, number).get(str(name))

    def save(self, path: Path, value: Any) -> None:
        if len(path) == 1:
            self.answers[str(path[0])] = value
        else:
            self.item(str(path[0]), int(path[1]))[str(path[2])] = value
        self.events.append(AnswerSaved(path, copy.deepcopy(value)))

    def clear(self, path: Path) -> None:
        if len(path) == 1:
            name = str(path[0])
            if name in self.answers:
                value = self.answers.pop(name)
                self.closed.discard(name)
                if value not in (None, []):
                    self.events.append(AnswerCleared(path))
            return
        group, number, name = str(path[0]), int(path[1]), str(path[2])
        item = self.item(group, number)
        if name in item:
            value = item.pop(name)
            if value is not None:
                self.events.append(AnswerCleared(path))

    def truncate(self, group: str, keep: int) -> None:
        items = self.items(group)
        while len(items) > keep:
            number = len(items)
            items.pop()
            self.events.append(AnswerCleared((group, number)))

    # -- asking --------------------------------------------------------------------------
    def ask(self, path: Path, *, error: _Error | None = None, redraw: bool = False) -> None:
        question = question_at(self.defn, path)
        if question is None:  # only from a corrupted or outdated stored state
            self.events.append(Invalid(path, "unknown_position"))
            return
        shown_only = question.type == "note" or (question.type == "image" and self.text_only)
        previous: Any = None
        if not shown_only:
            previous = self.previous(path)
            if path != self.cursor:
                self.bad_tries = 0
            self.cursor = path
            if question.type != "select_multiple":
                self.pending = []
            elif not redraw and error is None:
                self.pending = [str(v) for v in previous] if isinstance(previous, list) else []
        self.seq += 1
        self.events.append(
            Ask(
                path=path,
                question=question,
                seq=self.seq,
                previous=copy.deepcopy(previous),
                error=None if error is None else error.text,
                selected=tuple(self.pending) if question.type == "select_multiple" else (),
                can_back=bool(self.history) and not shown_only,
                redraw=redraw,
            )
        )

    # -- walking -------------------------------------------------------------------------
    def next_top(self, name: str) -> Path | None:
        index = self.defn.index(name)
        if index is None or index + 1 >= len(self.defn.questions):
            return None
        return (self.defn.questions[index + 1].name,)

    def leave_group(self, group: str, number: int) -> Path | None:
        self.truncate(group, number)
        self.closed.add(group)
        return self.next_top(group)

    def after(self, path: Path) -> Path | None:
        """The slot structurally after ``path`` (an answered or skipped question)."""
        if len(path) == 1:
            return self.next_top(str(path[0]))
        group_name, number, name = str(path[0]), int(path[1]), str(path[2])
        group = self.defn.question(group_name)
        if group is None:  # pragma: no cover
            return None
        names = [q.name for q in group.questions]
        index = names.index(name) if name in names else len(names) - 1
        if index + 1 < len(names):
            return (group_name, number, names[index + 1])
        if group.max_items is not None and number >= group.max_items:
            return self.leave_group(group_name, number)
        return (group_name, number, ADD_ANOTHER)

    def walk(self, slot: Path | None) -> None:
        """Move forward from ``slot`` to the next question that needs an answer."""
        while slot is not None:
            if len(slot) == 1:
                question = self.defn.question(str(slot[0]))
                if question is None:  # pragma: no cover
                    break
                if question.type == "repeat":
                    if not question.questions or not _relevant(question, self.answers):
                        self.clear(slot)
                        slot = self.next_top(question.name)
                        continue
                    self.item(question.name, 1)
                    slot = (question.name, 1, question.questions[0].name)
                    continue
            elif slot[2] == ADD_ANOTHER:
                self.ask(slot)
                return
            else:
                question = question_at(self.defn, slot)
                if question is None:  # pragma: no cover
                    break
            if not _relevant(question, self.env(slot)):
                self.clear(slot)
                slot = self.after(slot)
                continue
            if question.type == "note":
                self.ask(slot)
                slot = self.after(slot)
                continue
            if question.type == "image" and self.text_only:
                if question.sms_alternative is not None:
                    self.ask(slot)
                slot = self.after(slot)
                continue
            self.ask(slot)
            return
        self.complete()

    def complete(self) -> None:
        self.status = "completed"
        self.cursor = None
        self.pending = []
        self.bad_tries = 0
        self.events.append(Completed(copy.deepcopy(self.answers)))
        for rule in self.defn.alerts:
            expr = _compile(rule.when)
            if expr is not None and expr.test(self.answers):
                values = {
                    name: copy.deepcopy(self.answers.get(name)) for name in sorted(expr.names())
                }
                self.events.append(
                    Alert(
                        kind=rule.kind,
                        data={"survey": self.defn.slug, "when": rule.when, "values": values},
                    )
                )

    # -- answering -----------------------------------------------------------------------
    def accept(self, path: Path, value: Any) -> None:
        """A valid answer at the cursor: save it and move on (the next ask() or complete()
        resets the wrong-answer count and the toggles)."""
        self.history.append(path)
        if path[-1] == ADD_ANOTHER and len(path) == 3:
            group, number = str(path[0]), int(path[1])
            if value == "yes":
                if len(self.items(group)) <= number:  # reopened after its last item
                    self.closed.discard(group)
                first = self.defn.question(group)
                assert first is not None
                self.walk((group, number + 1, first.questions[0].name))
            else:
                self.walk(self.leave_group(group, number))
            return
        self.save(path, value)
        self.walk(self.after(path))

    def reject(self, path: Path, error: _Error) -> None:
        """A wrong answer: re-ask with the error (see the module doc for the 3-tries rule)."""
        if self.text_only and self.bad_tries >= MAX_BAD_TRIES:
            self.events.append(Invalid(path, error.reason))  # staff were already called
            return
        self.bad_tries += 1
        if self.bad_tries == MAX_BAD_TRIES:
            self.flags.add(NEEDS_CALL)
            self.events.append(NeedsHuman(path, error.reason))
            if self.text_only:
                return
        self.ask(path, error=error)


# ------------------------------------------------------------------------------ interpretation


def _check_value(question: Question, value: Any, env: Mapping[str, Any]) -> _Error | None:
    if value is None:
        return None
    if question.type in ("integer", "decimal"):
        if question.min is not None and value < question.min:
            return _error("too_small", min=_fmt_number(question.min))
        if question.max is not None and value > question.max:
            return _error("too_large", max=_fmt_number(question.max))
    if question.type == "text" and isinstance(value, str) and len(value) > MAX_TEXT_LENGTH:
        return _error("too_long")
    expr = _compile(question.constraint)
    if expr is not None and not expr.test(env, value):
        if question.constraint_message:
            return _Error("constraint", dict(question.constraint_message))
        return _error("constraint")
    return None


def _parse_text(
    question: Question, text: str, *, numbered: bool, today: date | None
) -> Any | _Error:
    """A typed answer to ``question`` as its stored value, or an _Error."""
    kind = question.type
    if kind == "text":
        value = " ".join(text.split())
        return value if value else _error("empty")
    if kind == "image":
        return _error("send_photo")
    result: Parsed[Any]
    if kind == "integer":
        result = parse_integer(text)
    elif kind == "decimal":
        result = parse_decimal(text)
    elif kind == "yes_no":
        result = parse_yes_no(text, numbered=numbered)
        if result.ok:
            return "yes" if result.value else "no"
    elif kind == "date":
        result = parse_date(text, today=today)
        if result.ok and isinstance(result.value, date):
            return result.value.isoformat()
    elif kind == "select_one":
        result = parse_choice(text, [c.aliases() for c in question.choices])
        if result.ok and isinstance(result.value, int):
            return question.choices[result.value].value
    elif kind == "select_multiple":
        result = parse_choices(text, [c.aliases() for c in question.choices])
        if result.ok and isinstance(result.value, tuple):
            return [question.choices[i].value for i in result.value]
    else:
        return _error("stale")
    if result.reason is not None:
        return _error(result.reason)
    return result.value


def _from_keyword(inbound: Text) -> Inbound:
    """Typed navigation words act like the matching inbound (STOP/START/HELP do not)."""
    keyword = classify_keyword(inbound.text)
    if keyword is Keyword.BACK:
        return Back()
    if keyword is Keyword.CANCEL:
        return Cancel()
    if keyword is Keyword.KEEP:
        return Keep()
    if keyword is Keyword.SKIP:
        return Skip()
    return inbound


def _ordered(question: Question, values: list[str]) -> list[str]:
    return [c.value for c in question.choices if c.value in values]


def _handle_active(run: _Run, inbound: Inbound) -> None:
    path = run.cursor
    question = question_at(run.defn, path)
    if path is None or question is None:
        run.events.append(Invalid(path, "unknown_position"))
        return
    previous = run.previous(path)
    if isinstance(inbound, Text):
        inbound = _from_keyword(inbound)
    if isinstance(inbound, Back):
        _back(run)
        return
    if isinstance(inbound, Cancel):
        run.status = "cancelled"
        run.pending = []
        run.events.append(Cancelled())
        return
    kind = question.type
    value: Any
    if isinstance(inbound, Text):
        parsed = _parse_text(question, inbound.text, numbered=run.text_only, today=run.today)
        if isinstance(parsed, _Error):
            run.reject(path, parsed)
            return
        value = parsed
    elif isinstance(inbound, Choice):
        if kind == "select_one" and question.choice(inbound.value) is not None:
            value = inbound.value
        elif kind == "yes_no" and inbound.value in ("yes", "no"):
            value = inbound.value
        else:
            run.events.append(Invalid(path, "stale"))
            return
    elif isinstance(inbound, Toggle):
        if kind != "select_multiple" or question.choice(inbound.value) is None:
            run.events.append(Invalid(path, "stale"))
            return
        chosen = set(run.pending)
        chosen ^= {inbound.value}
        run.pending = _ordered(question, list(chosen))
        run.ask(path, redraw=True)
        return
    elif isinstance(inbound, Done):
        if kind != "select_multiple":
            run.events.append(Invalid(path, "stale"))
            return
        if not run.pending:
            if question.required:
                run.reject(path, _error("choose_at_least_one"))
                return
            value = None
        else:
            value = _ordered(question, run.pending)
    elif isinstance(inbound, Photo):
        if kind != "image":
            run.events.append(Invalid(path, "unexpected_photo"))
            return
        if not isinstance(inbound.file_id, str) or not inbound.file_id:
            run.events.append(Invalid(path, "stale"))
            return
        value = inbound.file_id
    elif isinstance(inbound, Skip):
        if question.required:
            run.reject(path, _error("required"))
            return
        value = None
    elif isinstance(inbound, Keep):
        usable, value = _stored_value(question, previous)  # a fresh list for select_multiple
        if previous is None or not usable:
            run.events.append(Invalid(path, "nothing_to_keep"))
            return
    else:
        run.events.append(Invalid(path, "stale"))
        return
    if path[-1] != ADD_ANOTHER:
        error = _check_value(question, value, {**run.env(path)})
        if error is not None:
            run.reject(path, error)
            return
    run.accept(path, value)


def _back(run: _Run) -> None:
    if run.status == "cancelled" and run.cursor is not None:
        run.status = "active"
        run.ask(run.cursor)
        return
    if not run.history:
        run.events.append(Invalid(run.cursor, "at_start"))
        return
    path = run.history.pop()
    run.status = "active"
    run.ask(path)  # a path other than the cursor: a new question (no bad tries, own toggles)


# ------------------------------------------------------------------------------------- public


def start(
    defn: SurveyDefinition,
    *,
    channel: str,
    previous: Mapping[str, Any] | None = None,
    seq: int = 0,
) -> Step:
    """Begin a session. ``previous`` = answers already stored for this household's response:
    they stay in place, and each Ask carries its previous value (Keep keeps it). ``seq`` is the
    last seq of an earlier session of the same response, so that its buttons stay stale."""
    state = SessionState(survey=defn.slug, version=defn.version, seq=max(0, seq))
    run = _Run(defn, state, channel=channel, today=None)
    run.answers = _sanitize(defn, previous or {})
    run.closed = {g.name for g in defn.repeat_groups() if run.answers.get(g.name)}
    if not defn.questions:
        run.complete()
        return run.step()
    run.walk((defn.questions[0].name,))
    return run.step()


def handle(
    defn: SurveyDefinition,
    state: SessionState,
    inbound: Inbound,
    *,
    channel: str,
    today: date | None = None,
) -> Step:
    """Apply one inbound to ``state``. Never raises; unusable input gives ``Invalid``."""
    try:
        if state.survey != defn.slug:
            return Step(state, (Invalid(state.cursor, "wrong_survey"),))
        run = _Run(defn, state, channel=channel, today=today)
        if state.status == "active":
            _handle_active(run, inbound)
        elif isinstance(inbound, Back) or (
            isinstance(inbound, Text) and classify_keyword(inbound.text) is Keyword.BACK
        ):
            _back(run)
        else:
            return Step(state, (Invalid(state.cursor, "not_active"),))
        if run.events and all(isinstance(e, Invalid) for e in run.events):
            return Step(state, tuple(run.events))  # Invalid changes nothing
        return run.step()
    except Exception as exc:
        return Step(state, (Invalid(state.cursor, "internal_error", type(exc).__name__),))


def _stored_value(question: Question, value: Any) -> tuple[bool, Any]:
    """(usable, normalised value) for an answer given from outside (``start(previous=...)``):
    only values the engine itself could have saved for this question are kept."""
    kind = question.type
    if value is None:
        return (not question.required, None)
    if kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return (ok, value)
    if kind == "decimal":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return (ok, float(value) if ok else None)
    if kind in ("text", "image"):
        return (isinstance(value, str) and bool(value.strip()), value)
    if kind == "yes_no":
        return (value in ("yes", "no"), value)
    if kind == "select_one":
        return (isinstance(value, str) and question.choice(value) is not None, value)
    if kind == "select_multiple":
        if not isinstance(value, list) or not value:
            return (False, None)
        if not all(isinstance(v, str) and question.choice(v) is not None for v in value):
            return (False, None)
        return (True, _ordered(question, value))
    if kind == "date":
        try:
            date.fromisoformat(value)
        except (TypeError, ValueError):
            return (False, None)
        return (True, value)
    return (False, None)


def _sanitize(defn: SurveyDefinition, previous: Mapping[str, Any]) -> dict[str, Any]:
    """Previous answers restricted to this definition's questions and to well-typed values
    (copied). Constraints are not checked here: every question is asked again anyway."""
    out: dict[str, Any] = {}
    for question in defn.questions:
        if question.name not in previous:
            continue
        value = previous[question.name]
        if question.type == "repeat":
            if not isinstance(value, list):
                continue
            items: list[dict[str, Any]] = []
            for raw_item in value:
                if not isinstance(raw_item, Mapping):
                    continue
                item: dict[str, Any] = {}
                for item_question in question.questions:
                    if item_question.answerable and item_question.name in raw_item:
                        usable, clean = _stored_value(item_question, raw_item[item_question.name])
                        if usable:
                            item[item_question.name] = clean  # immutable or a fresh list
                items.append(item)
            if question.max_items is not None:
                items = items[: question.max_items]
            out[question.name] = items
        elif question.answerable:
            usable, clean = _stored_value(question, value)
            if usable:
                out[question.name] = clean
    return out


def check_state(defn: SurveyDefinition, state: SessionState) -> list[str]:
    """Consistency problems of ``state`` against ``defn`` (empty when fine)."""
    problems: list[str] = []
    if state.survey != defn.slug:
        problems.append(f"survey {state.survey!r} is not {defn.slug!r}")
    if state.status not in ("active", "completed", "cancelled"):
        problems.append(f"bad status {state.status!r}")
    if state.seq < 0 or state.bad_tries < 0:
        problems.append("negative counter")
    if state.status == "completed":
        if state.cursor is not None:
            problems.append("completed with a cursor")
    else:
        question = question_at(defn, state.cursor)
        if question is None:
            problems.append(f"cursor {state.cursor!r} does not point at a question")
        elif question.type in ("note", "repeat"):
            problems.append(f"cursor {state.cursor!r} rests on a {question.type}")
        elif state.pending:
            values = {c.value for c in question.choices}
            if question.type != "select_multiple" or not set(state.pending) <= values:
                problems.append("pending toggles do not match the question")
    for path in state.history:
        if question_at(defn, path) is None:
            problems.append(f"history entry {path!r} does not point at a question")
    for group in defn.repeat_groups():
        items = state.answers.get(group.name)
        if items is None:
            continue
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            problems.append(f"repeat {group.name!r} is not a list of items")
        elif group.max_items is not None and len(items) > group.max_items:
            problems.append(f"repeat {group.name!r} has more than {group.max_items} items")
    return problems
