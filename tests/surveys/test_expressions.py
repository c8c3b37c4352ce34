"""The safe expression language: parsing, evaluation, errors."""

from __future__ import annotations

from typing import Any

import pytest

from surveys.engine.expressions import ExpressionError, parse, truthy

ENV: dict[str, Any] = {
    "tested": 3,
    "positive": 1,
    "zero": 0,
    "name": "Li",
    "answer_yes": "yes",
    "answer_no": "no",
    "symptoms": ["fever", "cough"],
    "urgency": "today",
    "medicines": [{"drug": "a"}, {"drug": "b"}],
    "empty_list": [],
    "blank": "",
    "ratio": 1.5,
    "when": "2022-04-10",
    "numeric_text": "12",
}


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("1", 1),
        ("1.5", 1.5),
        (".5 + 1", 1.5),
        ("'a'", "a"),
        ('"a b"', "a b"),
        ("'it\\'s'", "it's"),
        ("true", True),
        ("false", False),
        ("tested", 3),
        ("missing", None),
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 / 4", 2.5),
        ("10 - 4 - 3", 3),
        ("-tested + 1", -2),
        ("- - 2", 2),
        ("tested / zero", None),
        ("missing + 1", None),
        ("'a' + 'b'", "ab"),
        ("'a' + 1", None),
        ("tested = 3", True),
        ("tested == 3", True),
        ("tested != 3", False),
        ("tested < 4", True),
        ("tested <= 3", True),
        ("tested > 3", False),
        ("tested >= 3", True),
        ("positive <= tested", True),
        ("ratio > 1", True),
        ("urgency = 'today'", True),
        ("urgency != 'today'", False),
        ("name < 'Zhang'", True),
        ("when >= '2022-04-01'", True),
        ("numeric_text > 5", True),
        ("numeric_text = 12", True),
        ("answer_yes = 'yes'", True),
        ("answer_yes = true", True),
        ("answer_no = false", True),
        ("answer_no = true", False),
        # comparisons with None are always False, != included
        ("missing = 1", False),
        ("missing != 1", False),
        ("missing < 1", False),
        ("missing >= 1", False),
        ("1 > missing", False),
        # mismatched types: unequal and unordered
        ("name = 1", False),
        ("name != 1", True),
        ("name > 1", False),
        ("symptoms = 'fever'", False),
        ("symptoms < 1", False),
        ("true < false", False),
        # logic
        ("tested > 1 and positive > 0", True),
        ("tested > 5 or positive > 0", True),
        ("not tested > 5", True),
        ("not missing", True),
        ("not not tested", True),
        ("missing and 1", False),
        ("missing or 0", False),
        ("answer_no or blank", False),
        ("tested > 1 and (positive = 0 or positive = 1)", True),
        # functions
        ("selected(symptoms, 'fever')", True),
        ("selected(symptoms, 'rash')", False),
        ("selected(urgency, 'today')", True),
        ("selected(missing, 'x')", False),
        ("selected(tested, 'x')", False),
        ("count(medicines)", 2),
        ("count(symptoms)", 2),
        ("count(missing)", 0),
        ("count(blank)", 0),
        ("count(tested)", 1),
        ("count(medicines) >= 2", True),
        ("empty(missing)", True),
        ("empty(blank)", True),
        ("empty(empty_list)", True),
        ("empty(tested)", False),
        ("empty(zero)", False),
        ("not empty(name)", True),
    ],
)
def test_evaluate(src: str, expected: Any) -> None:
    assert parse(src).evaluate(ENV) == expected


@pytest.mark.parametrize(
    ("src", "current", "expected"),
    [
        (". <= tested", 2, True),
        (". <= tested", 4, False),
        (". <= tested", None, False),
        (". >= 0 and . <= 20", 20, True),
        (". >= 0 and . <= 20", 21, False),
        ("count(.) <= 2", ["a", "b"], True),
        ("selected(., 'a') or not selected(., 'b')", ["c"], True),
        ("empty(.)", "", True),
        (". != 'none'", "some", True),
    ],
)
def test_current(src: str, current: Any, expected: Any) -> None:
    assert parse(src).evaluate(ENV, current) == expected


@pytest.mark.parametrize(
    ("src", "message", "column"),
    [
        ("", "empty expression", 1),
        ("   ", "empty expression", 4),
        ("1 <", "expected a value but found end of expression", 4),
        ("a < b < c", "comparisons cannot be chained", 7),
        ("a = = b", "expected a value but found '='", 5),
        ("(1 + 2", "expected ')' but found end of expression", 7),
        ("1 + 2)", "unexpected ')'", 6),
        ("'abc", "unterminated string", 1),
        ("x $ 2", "unexpected character '$'", 3),
        ("foo(x)", "unknown function 'foo'", 1),
        ("count(x, y)", "count() takes 1 argument, got 2", 1),
        ("selected(x)", "selected() takes 2 arguments, got 1", 1),
        ("count(1)", "needs a question name", 1),
        ("count", "'count' is a function", 1),
        ("and", "expected a value but found 'and'", 1),
        ("a and", "expected a value but found end of expression", 6),
        ("1a", "a name cannot start with a digit", 1),
        ("a b", "unexpected 'b'", 3),
        ("eval('1')", "unknown function 'eval'", 1),
        ("__import__('os')", "unknown function '__import__'", 1),
        ("a.b", "unexpected '.'", 2),
    ],
)
def test_parse_errors(src: str, message: str, column: int) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(src)
    assert message in info.value.message
    assert info.value.position == column - 1
    assert f"column {column}" in str(info.value)


def test_nesting_limit() -> None:
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse("(" * 200 + "1" + ")" * 200)
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse("not " * 200 + "x")
    with pytest.raises(ExpressionError, match="longer than"):
        parse("1 + " * 400 + "1")


def test_names_and_current() -> None:
    expr = parse("selected(symptoms, 'fever') and count(medicines) > positive or . < 3")
    assert expr.names() == {"symptoms", "medicines", "positive"}
    assert expr.uses_current()
    assert not parse("tested > 0").uses_current()
    assert expr.selected_values() == {("symptoms", "fever")}
    assert str(expr) == expr.source


def test_parse_is_cached_and_immutable() -> None:
    assert parse("tested > 0") is parse("tested > 0")


def test_evaluate_never_raises_on_odd_env() -> None:
    class Exploding(dict[str, Any]):
        def get(self, key: str, default: Any = None) -> Any:
            raise RuntimeError("boom")

    assert parse("a > 1").evaluate(Exploding()) is None
    assert parse("a * 2").evaluate({"a": "x"}) is None
    assert parse("a + b").evaluate({"a": 1e308, "b": 1e308}) == float("inf")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        (0, False),
        (0.0, False),
        (2, True),
        ("", False),
        ("no", False),
        ("No ", False),
        ("false", False),
        ("yes", True),
        ("x", True),
        ([], False),
        (["a"], True),
        (True, True),
        (False, False),
    ],
)
def test_truthy(value: Any, expected: bool) -> None:
    assert truthy(value) is expected
