"""Loading survey definitions: YAML files (built-in or given) checked into SurveyDefinition.

Every problem found is reported at once in DefinitionError.problems.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
)

from surveys.definition.model import (
    ADD_ANOTHER,
    LANGS,
    NAME_RE,
    NUMBER_TYPES,
    QUESTION_TYPES,
    SELECT_TYPES,
    SLUG_RE,
    SMS_MAX_SEGMENTS,
    AlertRule,
    DefinitionError,
    Localized,
    Question,
    SurveyDefinition,
    localize,
)
from surveys.engine.expressions import RESERVED, ExpressionError, parse

# ------------------------------------------------------------------------------------- loading


def definitions_dir() -> Path:
    return Path(__file__).resolve().parent / "definitions"


def builtin_slugs() -> list[str]:
    return sorted(path.stem for path in definitions_dir().glob("*.yaml"))


@cache
def _load_builtin_cached(slug: str) -> SurveyDefinition:
    path = definitions_dir() / f"{slug}.yaml"
    if not SLUG_RE.fullmatch(slug) or not path.is_file():
        known = ", ".join(builtin_slugs()) or "none"
        raise DefinitionError([f"no built-in survey {slug!r} (known: {known})"])
    definition = load_definition(path)
    if definition.slug != slug:
        raise DefinitionError([f"{path.name}: slug is {definition.slug!r}, expected {slug!r}"])
    return definition


def load_builtin(slug: str) -> SurveyDefinition:
    """The built-in definition ``surveys/definition/definitions/<slug>.yaml`` (validated, cached)."""
    return _load_builtin_cached(slug)


def survey_title(slug: str, lang: str) -> str:
    """What people call the survey ``slug`` in ``lang`` (its title); the slug itself when no
    built-in survey has that name. Pickers and lists show this, never the bare slug."""
    try:
        return localize(load_builtin(slug).title, lang) or slug
    except DefinitionError:
        return slug


def load_definition(source: Path | str | Mapping[str, Any]) -> SurveyDefinition:
    """Load and check a definition from a file path, YAML text or an already-parsed mapping.

    A ``str`` is a path when it is one line ending in ``.yaml``/``.yml``; otherwise YAML text.
    Raises :class:`DefinitionError` listing every problem.
    """
    raw: Any
    if isinstance(source, Mapping):
        raw = source
    else:
        text: str
        if isinstance(source, Path) or (
            "\n" not in source and source.strip().endswith((".yaml", ".yml"))
        ):
            path = Path(source)
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise DefinitionError([f"cannot read {path}: {exc.strerror or exc}"]) from None
        else:
            text = source
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise DefinitionError([f"not valid YAML: {exc}"]) from None
    return _validate(raw)


# ----------------------------------------------------------------------------------- checking


def _raw_name(raw: Any, index: int) -> str:
    if isinstance(raw, Mapping) and isinstance(raw.get("name"), str) and raw["name"]:
        return raw["name"]
    return f"#{index + 1}"


def _format_loc(parts: list[Any]) -> str:
    """('choices', 1, 'label') -> 'choices #2.label' (item numbers are 1-based)."""
    segments: list[str] = []
    for part in parts:
        if isinstance(part, int) and segments:
            segments[-1] += f" #{part + 1}"
        else:
            segments.append(str(part))
    return ".".join(segments)


def _pydantic_problems(exc: ValidationError, raw: Any, prefix: str) -> list[str]:
    """Readable problems from a pydantic error, naming nested questions by name."""
    problems: list[str] = []
    for error in exc.errors():
        loc = list(error["loc"])
        name, node = prefix, raw
        rest: list[int | str] = []
        i = 0
        while i < len(loc):
            part = loc[i]
            nested = (
                part == "questions"
                and i + 1 < len(loc)
                and isinstance(loc[i + 1], int)
                and isinstance(node, Mapping)
                and isinstance(node.get("questions"), list)
            )
            index = loc[i + 1] if i + 1 < len(loc) else None
            if nested and isinstance(index, int):
                child = node["questions"][index]
                child_name = _raw_name(child, index)
                name = f"{name}.{child_name}" if name else child_name
                node, rest = child, []
                i += 2
                continue
            rest.append(part)
            i += 1
        where = f"question {name!r}" if name else "survey"
        field = _format_loc([p for p in rest if not (isinstance(p, str) and "[" in p)])
        kind = error["type"]
        message = str(error["msg"]).removeprefix("Value error, ")
        if kind == "literal_error" and rest == ["type"]:
            got = node.get("type") if isinstance(node, Mapping) else None
            problems.append(f"{where}: unknown type {got!r} (known: {', '.join(QUESTION_TYPES)})")
        elif kind == "missing":
            problems.append(f"{where}: {field} is required")
        elif kind == "extra_forbidden":
            problems.append(f"{where}: unknown field {field!r}")
        elif field:
            problems.append(f"{where}: {field}: {message}")
        else:
            problems.append(f"{where}: {message}")
    return list(dict.fromkeys(problems))


def _validate(raw: Any) -> SurveyDefinition:
    if not isinstance(raw, Mapping):
        raise DefinitionError(
            ["the definition must be a mapping with slug, version, title, questions"]
        )
    problems: list[str] = []
    header = {key: value for key, value in raw.items() if key != "questions"}
    try:
        _Header.model_validate(header)
    except ValidationError as exc:
        problems.extend(_pydantic_problems(exc, header, ""))
    raw_questions = raw.get("questions")
    parsed: list[Question] = []
    all_names: list[str] = []
    if not isinstance(raw_questions, list) or not raw_questions:
        problems.append("survey: questions must be a non-empty list")
    else:
        for index, raw_question in enumerate(raw_questions):
            name = _raw_name(raw_question, index)
            all_names.append(name)
            try:
                parsed.append(Question.model_validate(raw_question))
            except ValidationError as exc:
                problems.extend(_pydantic_problems(exc, raw_question, name))
    problems.extend(_Checker(parsed, all_names, raw).run())
    if problems:
        raise DefinitionError(list(dict.fromkeys(problems)))
    try:
        return SurveyDefinition.model_validate(raw)
    except ValidationError as exc:  # pragma: no cover - the checks above cover the model
        raise DefinitionError(_pydantic_problems(exc, raw, "")) from None


class _Header(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: Annotated[str, Field(pattern=f"^{SLUG_RE.pattern}$")]
    version: int = Field(ge=1)
    title: Localized
    intro: Localized | None = None
    alerts: tuple[AlertRule, ...] = ()


class _Checker:
    """The checks pydantic cannot express: names, references, choices, SMS length."""

    def __init__(self, questions: list[Question], all_names: list[str], raw: Mapping[str, Any]):
        self.questions = questions
        self.raw = raw
        self.top_names = all_names  # top-level names in order, even of questions that failed
        self.problems: list[str] = []
        self.kinds: dict[str, str] = {}  # name -> type, for reference checks
        self.group_of: dict[str, str] = {}  # item question name -> its group
        for question in questions:
            self.kinds[question.name] = question.type
            for item in question.questions:
                self.kinds.setdefault(item.name, item.type)
                self.group_of.setdefault(item.name, question.name)
        self.choices: dict[str, set[str]] = {
            q.name: {c.value for c in q.choices}
            for q, _ in _walk(questions)
            if q.type in SELECT_TYPES
        }

    def add(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def run(self) -> list[str]:
        self.check_names()
        for question in self.questions:
            names = self.top_names
            top_index = names.index(question.name) if question.name in names else len(names)
            earlier = set(self.top_names[:top_index])
            self.check_question(question, None, earlier)
            for item_index, item in enumerate(question.questions):
                item_earlier = earlier | {q.name for q in question.questions[:item_index]}
                self.check_question(item, question, item_earlier)
        self.check_alerts()
        return self.problems

    # -- names
    def check_names(self) -> None:
        seen: set[str] = set()
        for question, group in _walk(self.questions):
            where = _where(question, group)
            if not NAME_RE.fullmatch(question.name):
                self.add(
                    where,
                    "name must be lowercase letters, digits and _ (not starting with a digit)",
                )
            elif question.name in RESERVED:
                self.add(where, f"name {question.name!r} is a reserved word")
            if group is not None and question.name == ADD_ANOTHER:
                self.add(where, f"name {ADD_ANOTHER!r} is reserved inside a repeat")
            if question.name in seen:
                self.add(where, "duplicate question name")
            seen.add(question.name)

    # -- one question
    def check_question(self, q: Question, group: Question | None, earlier: set[str]) -> None:
        where = _where(q, group)
        if q.type in SELECT_TYPES:
            if not q.choices:
                self.add(where, f"{q.type} needs choices")
            values = [c.value for c in q.choices]
            for value in sorted({v for v in values if values.count(v) > 1}):
                self.add(where, f"duplicate choice value {value!r}")
            if any(not v.strip() for v in values):
                self.add(where, "choice values must not be empty")
        elif q.choices:
            self.add(where, f"choices are only for select_one/select_multiple, not {q.type}")
        if q.type not in NUMBER_TYPES and (q.min is not None or q.max is not None):
            self.add(where, f"min/max are only for integer/decimal, not {q.type}")
        if q.min is not None and q.max is not None and q.min > q.max:
            self.add(where, "min is greater than max")
        if q.type == "repeat":
            if group is not None:
                self.add(where, "a repeat cannot be inside another repeat")
            if not q.questions:
                self.add(where, "repeat needs questions")
            if q.add_another is None:
                self.add(where, "repeat needs an add_another prompt")
        else:
            if q.questions:
                self.add(where, "questions are only for repeat")
            if q.add_another is not None or q.max_items is not None:
                self.add(where, "add_another/max_items are only for repeat")
        if q.sms_alternative is not None and q.type != "image":
            self.add(where, "sms_alternative is only for image questions")
        if q.constraint is not None and not q.answerable:
            self.add(where, f"a {q.type} cannot have a constraint")
        if q.type == "note" and q.required:
            self.add(where, "a note cannot be required")
        scope = group.name if group is not None else None
        if q.relevant is not None:
            self.check_expression(where, "relevant", q.relevant, earlier, q.name, scope, dot=False)
        if q.constraint is not None:
            self.check_expression(
                where, "constraint", q.constraint, earlier, q.name, scope, dot=True
            )
        self.check_sms(q, group, where)

    def check_expression(
        self,
        where: str,
        field: str,
        source: str,
        earlier: set[str],
        own: str | None,
        group: str | None,
        *,
        dot: bool,
    ) -> None:
        """``earlier``: names that may be read; ``group``: the enclosing repeat, if any."""
        try:
            expr = parse(source)
        except ExpressionError as exc:
            self.add(where, f"{field} {source!r}: {exc.message} at column {exc.position + 1}")
            return
        if expr.uses_current() and not dot:
            self.add(where, f"{field}: '.' (the current answer) is only allowed in a constraint")
        for name in sorted(expr.names()):
            other_group = self.group_of.get(name)
            if name in earlier:
                if self.kinds.get(name) == "note":
                    self.add(where, f"{field} refers to note {name!r}, which has no answer")
            elif own is not None and name == own:
                self.add(where, f"{field} refers to itself; use '.' for the current answer")
            elif other_group is not None and other_group != group and name not in self.top_names:
                self.add(
                    where,
                    f"{field} refers to {name!r} inside repeat {other_group!r}; "
                    f"use count({other_group}) or move the check into the repeat",
                )
            elif name in self.kinds or name in self.top_names:
                self.add(where, f"{field} refers to {name!r}, which comes later")
            else:
                self.add(where, f"{field} refers to unknown question {name!r}")
        for name, value in sorted(expr.selected_values()):
            if name in self.choices and value not in self.choices[name]:
                self.add(where, f"{field}: {value!r} is not a choice of {name!r}")

    def check_alerts(self) -> None:
        alerts = self.raw.get("alerts")
        if not isinstance(alerts, list):
            return
        top = set(self.top_names)
        for index, raw_alert in enumerate(alerts):
            if not isinstance(raw_alert, Mapping):
                continue
            kind = raw_alert.get("kind")
            where = f"alert {kind!r}" if isinstance(kind, str) and kind else f"alert #{index + 1}"
            if isinstance(kind, str) and not NAME_RE.fullmatch(kind):
                self.add(where, "kind must be lowercase letters, digits and _")
            when = raw_alert.get("when")
            if isinstance(when, str):
                self.check_expression(where, "when", when, top, None, None, dot=False)

    def check_sms(self, q: Question, group: Question | None, where: str) -> None:
        """Every SMS prompt (no error line, no previous answer) must fit in 2 segments."""
        from notifications.segments import count_segments
        from surveys.render import render_sms_prompt

        prompts: list[tuple[str, Question, int | None]] = []
        if q.type == "repeat":
            prompts.append(("add_another prompt", q.add_another_question(), None))
        elif q.type != "image" or q.sms_alternative is not None:
            # an item question is numbered: render with the widest item number
            item = (group.max_items or 10) if group is not None else None
            prompts.append(("SMS prompt", q, item))
        for what, question, item in prompts:
            for lang in LANGS:
                info = count_segments(render_sms_prompt(question, lang, item=item))
                if info.segments > SMS_MAX_SEGMENTS:
                    self.add(
                        where,
                        f"{what} in {lang} needs {info.segments} SMS segments "
                        f"({info.units} {info.encoding} units), at most {SMS_MAX_SEGMENTS}; "
                        "shorten it or add an sms_label",
                    )


def _walk(
    questions: list[Question] | tuple[Question, ...],
) -> Iterator[tuple[Question, Question | None]]:
    for question in questions:
        yield question, None
        for item in question.questions:
            yield item, question


def _where(question: Question, group: Question | None) -> str:
    return (
        f"question {question.name!r}"
        if group is None
        else f"question '{group.name}.{question.name}'"
    )
