"""Loading and checking survey definitions: built-ins load, broken snippets are explained."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from surveys.definition import (
    DefinitionError,
    SurveyDefinition,
    builtin_slugs,
    definitions_dir,
    load_builtin,
    load_definition,
)

HEADER = """\
slug: demo
version: 1
title: {zh-CN: 演示, en: Demo}
"""


def doc(questions: str, extra: str = "") -> str:
    return HEADER + "questions:\n" + textwrap.indent(textwrap.dedent(questions), "  ") + extra


def problems_of(source: str) -> list[str]:
    with pytest.raises(DefinitionError) as info:
        load_definition(source)
    return info.value.problems


GOOD = doc(
    """\
    - name: has_fever
      type: yes_no
      label: {zh-CN: 有人发烧吗？, en: "Anyone with fever?"}
    - name: symptoms
      type: select_multiple
      relevant: "has_fever = 'yes'"
      label: {zh-CN: 症状, en: Symptoms}
      choices:
        - {value: cough, label: {zh-CN: 咳嗽, en: cough}}
        - {value: sore, label: {zh-CN: 咽痛, en: sore throat}, sms_label: {zh-CN: 喉咙痛, en: sore}}
    - name: people
      type: repeat
      relevant: "selected(symptoms, 'cough')"
      label: {zh-CN: 人员, en: People}
      add_another: {zh-CN: 还有吗？, en: "Anyone else?"}
      max_items: 3
      questions:
        - name: who
          type: text
          label: {zh-CN: 是谁？, en: "Who?"}
        - name: temp
          type: decimal
          min: 35
          max: 43
          relevant: "not empty(who)"
          label: {zh-CN: 体温？, en: "Temperature?"}
    - name: info
      type: note
      label: {zh-CN: 谢谢, en: Thanks}
    - name: when
      type: date
      relevant: "count(people) > 0"
      label: {zh-CN: 哪天开始？, en: "Since when?"}
    - name: scan
      type: image
      label: {zh-CN: 照片, en: Photo}
    """,
    'alerts:\n  - {when: "count(people) >= 2", kind: cluster}\n',
)


def test_good_definition_loads() -> None:
    defn = load_definition(GOOD)
    assert isinstance(defn, SurveyDefinition)
    assert defn.slug == "demo"
    assert defn.top_level_names() == ["has_fever", "symptoms", "when", "scan"]
    assert [g.name for g in defn.repeat_groups()] == ["people"]
    assert defn.flat_columns() == [
        "has_fever",
        "symptoms",
        "when",
        "scan",
        "people.#",
        "people.who",
        "people.temp",
    ]
    info = defn.question("info")
    assert info is not None and info.required is False  # notes default to optional
    scan = defn.question("scan")
    assert scan is not None and scan.required is False  # images default to optional
    has_fever = defn.question("has_fever")
    assert has_fever is not None and has_fever.required is True


def test_answer_rows() -> None:
    defn = load_definition(GOOD)
    rows = defn.answer_rows(
        {
            "has_fever": "yes",
            "symptoms": ["cough"],
            "people": [{"who": "Li", "temp": 38.5}, {"who": "Wang"}],
        }
    )
    assert rows == [
        {"has_fever": "yes", "symptoms": ["cough"], "when": None, "scan": None},
        {"people.#": 1, "people.who": "Li", "people.temp": 38.5},
        {"people.#": 2, "people.who": "Wang", "people.temp": None},
    ]


def test_round_trip_through_json() -> None:
    defn = load_definition(GOOD)
    assert load_definition(defn.to_json()) == defn
    required_image = doc(
        """\
        - name: pic
          type: image
          required: true
          label: {zh-CN: 照片, en: Photo}
        """
    )
    defn = load_definition(required_image)
    assert defn.questions[0].required is True
    assert load_definition(defn.to_json()) == defn
    for slug in builtin_slugs():
        assert load_definition(load_builtin(slug).to_json()) == load_builtin(slug)


def test_builtins() -> None:
    assert {"antigen", "medication"} <= set(builtin_slugs())
    for slug in builtin_slugs():
        defn = load_builtin(slug)
        assert defn.slug == slug
    assert load_builtin("antigen") is load_builtin("antigen")
    assert definitions_dir().name == "definitions"


def test_load_from_path(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(GOOD, encoding="utf-8")
    assert load_definition(path).slug == "demo"
    assert load_definition(str(path)).slug == "demo"


def test_unknown_builtin() -> None:
    with pytest.raises(DefinitionError, match="no built-in survey 'nope'"):
        load_builtin("nope")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="cannot read"):
        load_definition(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("slug: [unclosed", "not valid YAML"),
        ("- just\n- a list", "the definition must be a mapping"),
        (HEADER, "survey: questions must be a non-empty list"),
        (HEADER + "questions: []", "survey: questions must be a non-empty list"),
        (
            "slug: Bad Slug\nversion: 0\ntitle: {zh-CN: x, en: y}\nquestions: []",
            "survey: slug: String should match pattern",
        ),
        (
            "slug: demo\nversion: 0\ntitle: {zh-CN: x, en: y}\nquestions: []",
            "survey: version: Input should be greater than or equal to 1",
        ),
        ("slug: demo\nversion: 1\nquestions: []", "survey: title is required"),
        (
            "slug: demo\nversion: 1\ntitle: {zh-CN: x}\nquestions: []",
            "survey: title: missing 'en' text",
        ),
        (
            "slug: demo\nversion: 1\ntitle: {zh-CN: x, en: y}\nauthor: me\nquestions: []",
            "survey: unknown field 'author'",
        ),
    ],
)
def test_broken_survey(source: str, expected: str) -> None:
    problems = problems_of(source)
    assert any(expected in p for p in problems), problems


BROKEN_QUESTIONS = [
    (
        """\
        - name: q
          type: photo
          label: {zh-CN: 问, en: Q}
        """,
        "question 'q': unknown type 'photo' (known: select_one,",
    ),
    (
        """\
        - name: q
          type: select_one
          label: {zh-CN: 问, en: Q}
        """,
        "question 'q': select_one needs choices",
    ),
    (
        """\
        - name: q
          type: select_multiple
          label: {zh-CN: 问, en: Q}
          choices: []
        """,
        "question 'q': select_multiple needs choices",
    ),
    (
        """\
        - name: q
          type: select_one
          label: {zh-CN: 问, en: Q}
          choices:
            - {value: a, label: {zh-CN: 甲, en: A}}
            - {value: a, label: {zh-CN: 乙, en: B}}
        """,
        "question 'q': duplicate choice value 'a'",
    ),
    (
        """\
        - name: q
          type: select_one
          label: {zh-CN: 问, en: Q}
          choices:
            - {value: yes, label: {zh-CN: 是, en: "Yes"}}
        """,
        "question 'q': choices #1.value: value is a YAML boolean; put it in quotes",
    ),
    (
        """\
        - name: q
          type: text
          label: {zh-CN: 问}
        """,
        "question 'q': label: missing 'en' text",
    ),
    (
        """\
        - name: q
          type: text
          label: {en: Q}
        """,
        "question 'q': label: missing 'zh-CN' text",
    ),
    (
        """\
        - name: q
          type: text
          label: {zh-CN: "", en: Q}
        """,
        "question 'q': label: missing 'zh-CN' text",
    ),
    (
        """\
        - name: q
          type: text
          label: {zh_CN: 问, en: Q}
        """,
        "question 'q': label: unknown language 'zh_CN'",
    ),
    (
        """\
        - name: q
          type: text
          label: Just English
        """,
        "question 'q': label: needs a mapping with 'zh-CN' and 'en' texts",
    ),
    (
        """\
        - name: q
          type: text
        """,
        "question 'q': label is required",
    ),
    (
        """\
        - type: text
          label: {zh-CN: 问, en: Q}
        """,
        "question '#1': name is required",
    ),
    (
        """\
        - name: q
          type: text
          label: {zh-CN: 问, en: Q}
          colour: red
        """,
        "question 'q': unknown field 'colour'",
    ),
    (
        """\
        - name: q
          type: integer
          label: {zh-CN: 问, en: Q}
          min: lots
        """,
        "question 'q': min: Input should be a valid number",
    ),
    (
        """\
        - name: q
          type: text
          label: {zh-CN: 问, en: Q}
        - name: q
          type: integer
          label: {zh-CN: 问, en: Q}
        """,
        "question 'q': duplicate question name",
    ),
    (
        """\
        - name: Bad-Name
          type: text
          label: {zh-CN: 问, en: Q}
        """,
        "question 'Bad-Name': name must be lowercase letters, digits and _",
    ),
    (
        """\
        - name: count
          type: text
          label: {zh-CN: 问, en: Q}
        """,
        "question 'count': name 'count' is a reserved word",
    ),
    (
        """\
        - name: q
          type: integer
          label: {zh-CN: 问, en: Q}
          constraint: ". <<= 3"
        """,
        "question 'q': constraint '. <<= 3': expected a value but found '<=' at column 4",
    ),
    (
        """\
        - name: q
          type: integer
          label: {zh-CN: 问, en: Q}
          relevant: "later > 1"
        - name: later
          type: integer
          label: {zh-CN: 问, en: Q}
        """,
        "question 'q': relevant refers to 'later', which comes later",
    ),
    (
        """\
        - name: q
          type: integer
          label: {zh-CN: 问, en: Q}
          relevant: "nowhere > 1"
        """,
        "question 'q': relevant refers to unknown question 'nowhere'",
    ),
    (
        """\
        - name: q
          type: integer
          label: {zh-CN: 问, en: Q}
          constraint: "q < 3"
        """,
        "question 'q': constraint refers to itself; use '.' for the current answer",
    ),
    (
        """\
        - name: q
          type: integer
          label: {zh-CN: 问, en: Q}
          relevant: ". > 1"
        """,
        "question 'q': relevant: '.' (the current answer) is only allowed in a constraint",
    ),
    (
        """\
        - name: intro
          type: note
          label: {zh-CN: 说明, en: Note}
        - name: q
          type: integer
          label: {zh-CN: 问, en: Q}
          relevant: "intro = 1"
        """,
        "question 'q': relevant refers to note 'intro', which has no answer",
    ),
    (
        """\
        - name: items
          type: repeat
          label: {zh-CN: 项, en: Items}
          add_another: {zh-CN: 还有吗？, en: "More?"}
          questions:
            - name: amount
              type: integer
              label: {zh-CN: 数量, en: Amount}
              relevant: "unit = 'box'"
            - name: unit
              type: text
              label: {zh-CN: 单位, en: Unit}
        """,
        "question 'items.amount': relevant refers to 'unit', which comes later",
    ),
    (
        """\
        - name: items
          type: repeat
          label: {zh-CN: 项, en: Items}
          add_another: {zh-CN: 还有吗？, en: "More?"}
          questions:
            - name: amount
              type: integer
              label: {zh-CN: 数量, en: Amount}
        - name: total
          type: integer
          label: {zh-CN: 总数, en: Total}
          constraint: ". >= amount"
        """,
        "question 'total': constraint refers to 'amount' inside repeat 'items'",
    ),
    (
        """\
        - name: items
          type: repeat
          label: {zh-CN: 项, en: Items}
          questions:
            - name: amount
              type: integer
              label: {zh-CN: 数量, en: Amount}
        """,
        "question 'items': repeat needs an add_another prompt",
    ),
    (
        """\
        - name: items
          type: repeat
          label: {zh-CN: 项, en: Items}
          add_another: {zh-CN: 还有吗？, en: "More?"}
        """,
        "question 'items': repeat needs questions",
    ),
    (
        """\
        - name: items
          type: repeat
          label: {zh-CN: 项, en: Items}
          add_another: {zh-CN: 还有吗？, en: "More?"}
          questions:
            - name: amount
              type: integre
              label: {zh-CN: 数量, en: Amount}
        """,
        "question 'items.amount': unknown type 'integre'",
    ),
    (
        """\
        - name: items
          type: repeat
          label: {zh-CN: 项, en: Items}
          add_another: {zh-CN: 还有吗？, en: "More?"}
          max_items: 0
          questions:
            - name: amount
              type: integer
              label: {zh-CN: 数量, en: Amount}
        """,
        "question 'items': max_items: Input should be greater than or equal to 1",
    ),
    (
        """\
        - name: q
          type: text
          label: {zh-CN: 问, en: Q}
          choices:
            - {value: a, label: {zh-CN: 甲, en: A}}
        """,
        "question 'q': choices are only for select_one/select_multiple, not text",
    ),
    (
        """\
        - name: q
          type: text
          label: {zh-CN: 问, en: Q}
          min: 1
        """,
        "question 'q': min/max are only for integer/decimal, not text",
    ),
    (
        """\
        - name: q
          type: integer
          label: {zh-CN: 问, en: Q}
          min: 5
          max: 1
        """,
        "question 'q': min is greater than max",
    ),
    (
        """\
        - name: q
          type: text
          label: {zh-CN: 问, en: Q}
          sms_alternative: {zh-CN: 短信, en: SMS}
        """,
        "question 'q': sms_alternative is only for image questions",
    ),
    (
        """\
        - name: q
          type: note
          required: true
          label: {zh-CN: 说明, en: Note}
        """,
        "question 'q': a note cannot be required",
    ),
    (
        """\
        - name: sym
          type: select_multiple
          label: {zh-CN: 症状, en: Symptoms}
          choices:
            - {value: cough, label: {zh-CN: 咳嗽, en: cough}}
        - name: q
          type: text
          label: {zh-CN: 问, en: Q}
          relevant: "selected(sym, 'fever')"
        """,
        "question 'q': relevant: 'fever' is not a choice of 'sym'",
    ),
    (
        """\
        - name: q
          type: text
          label:
            zh-CN: 请详细说明家中每一位需要配药的成员的姓名、年龄、所患疾病、常用药品名称、规格、每日用量、现有存量还能维持几天，以及平时在哪家医院或药店配药，以便志愿者统一安排代配。如果有多位成员需要配药，请逐一说明，谢谢配合。如有紧急情况，请直接拨打居委会值班电话，我们会尽快安排志愿者上门。
            en: Q
        """,
        "question 'q': SMS prompt in zh-CN needs 3 SMS segments",
    ),
    (
        """\
        - name: q
          type: select_one
          label: {zh-CN: 问, en: "Which one?"}
          choices:
            - {value: a, label: {zh-CN: 甲, en: "the first option, which is a rather long one to read"}}
            - {value: b, label: {zh-CN: 乙, en: "the second option, which is a rather long one to read"}}
            - {value: c, label: {zh-CN: 丙, en: "the third option, which is a rather long one to read"}}
            - {value: d, label: {zh-CN: 丁, en: "the fourth option, which is a rather long one to read"}}
            - {value: e, label: {zh-CN: 戊, en: "the fifth option, which is a rather long one to read"}}
            - {value: f, label: {zh-CN: 己, en: "the sixth option, which is a rather long one to read"}}
        """,
        "question 'q': SMS prompt in en needs 3 SMS segments",
    ),
]


@pytest.mark.parametrize(("questions", "expected"), BROKEN_QUESTIONS)
def test_broken_question(questions: str, expected: str) -> None:
    problems = problems_of(doc(questions))
    assert any(expected in p for p in problems), problems


def test_sms_label_fixes_long_prompt() -> None:
    long_label = "请详细说明家中每一位需要配药的成员的姓名、年龄、所患疾病、常用药品名称、规格、每日用量、现有存量还能维持几天，以及平时在哪家医院或药店配药，以便志愿者统一安排代配。"
    source = doc(
        f"""\
        - name: q
          type: text
          label: {{zh-CN: {long_label}, en: Q}}
          sms_label: {{zh-CN: 请说明用药人和药品。, en: "Who needs which medicine?"}}
        """
    )
    assert load_definition(source).questions[0].sms_label is not None


def test_image_without_sms_alternative_is_fine() -> None:
    source = doc(
        """\
        - name: pic
          type: image
          label: {zh-CN: 请拍照, en: Photo please}
        """
    )
    assert load_definition(source).questions[0].type == "image"


def test_alert_problems() -> None:
    source = doc(
        """\
        - name: n
          type: integer
          label: {zh-CN: 数, en: N}
        """,
        'alerts:\n  - {when: "m > 1", kind: Bad-Kind}\n  - {when: "n >", kind: ok}\n',
    )
    problems = problems_of(source)
    assert "alert 'Bad-Kind': kind must be lowercase letters, digits and _" in problems
    assert "alert 'Bad-Kind': when refers to unknown question 'm'" in problems
    assert any(p.startswith("alert 'ok': when 'n >': expected a value") for p in problems)


def test_every_problem_is_listed_at_once() -> None:
    source = doc(
        """\
        - name: a
          type: photo
          label: {zh-CN: 问, en: Q}
        - name: b
          type: select_one
          label: {zh-CN: 问, en: Q}
        - name: c
          type: integer
          label: {zh-CN: 问}
        - name: d
          type: integer
          label: {zh-CN: 问, en: Q}
          relevant: "zz > 1"
          constraint: ". <"
        - name: d
          type: text
          label: {zh-CN: 问, en: Q}
        """
    )
    problems = problems_of(source)
    expected = [
        "question 'a': unknown type 'photo'",
        "question 'b': select_one needs choices",
        "question 'c': label: missing 'en' text",
        "question 'd': relevant refers to unknown question 'zz'",
        "question 'd': constraint '. <'",
        "question 'd': duplicate question name",
    ]
    for text in expected:
        assert any(p.startswith(text) for p in problems), (text, problems)
    error = DefinitionError(problems)
    assert str(error).startswith("invalid survey definition:\n- ")


def test_reference_to_failed_question_is_not_unknown() -> None:
    # 'a' fails to load, but 'b' referring to it should not add a misleading problem
    source = doc(
        """\
        - name: a
          type: photo
          label: {zh-CN: 问, en: Q}
        - name: b
          type: text
          label: {zh-CN: 问, en: Q}
          relevant: "a = 'x'"
        """
    )
    problems = problems_of(source)
    assert len(problems) == 1, problems
