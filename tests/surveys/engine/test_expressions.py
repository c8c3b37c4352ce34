"""The safe expression language: parsing, evaluation, errors.

Promises of ``surveys.engine.expressions`` (each has a test below that fails when it breaks):

* selected() matches a whole choice, never a substring -> test_selected_matches_whole_choice
* yes/no answers are not ordered (no < / > comparison with true/false)
  -> test_yes_no_is_not_ordered
* ``'yes'``/``'no'`` (any case) equal ``true``/``false`` -> test_yes_no_words_equal_booleans
* any comparison with an unanswered name is False, ``!=`` included -> test_evaluate
* numbers compare with numbers and numeric strings; other mixed types are unequal and
  unordered -> test_evaluate, test_mixed_types
* arithmetic on anything but numbers (``+`` on two strings excepted) or division by zero is
  None, and None never breaks the surrounding expression -> test_arithmetic
* precedence: ``not`` < ``and`` < ``or`` binding, ``*``/``/`` over ``+``/``-``, left to right,
  unary minus -> test_evaluate, test_precedence
* ``and``/``or``/``not`` use truthiness (None, 0, '', 'no', 'false', []) and give a bool
  -> test_evaluate, test_truthy
* ``.`` is the candidate answer everywhere in a constraint -> test_current
* count()/empty() as documented -> test_evaluate, test_current
* a syntax error raises ExpressionError with its position; nothing is ever eval'ed; nesting
  and length are limited -> test_parse_errors, test_nesting_limit
* numbers, strings and names are tokenized as written -> test_tokens
* evaluation never raises -> test_evaluate_never_raises_on_odd_env
* names()/uses_current()/selected_values() report what the expression reads
  -> test_names_and_current
"""

from __future__ import annotations

from datetime import date
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
        (date(2022, 4, 10), True),
    ],
)
def test_truthy(value: Any, expected: bool) -> None:
    assert truthy(value) is expected


@pytest.mark.parametrize(
    ("answer", "wanted", "expected"),
    [
        (["fever", "cough"], "fever", True),
        (["fever", "cough"], "fev", False),
        (["fever", "cough"], "ever", False),
        (["fever", "cough"], "fever cough", False),
        (["fever", "cough"], "fever,cough", False),
        (["fever", "cough"], "", False),
        (["a_b"], "a", False),
        ("today", "today", True),
        ("today", "to", False),
        ("today", "day", False),
        ("today", "", False),
        ("a_b", "a", False),
        ([1, 2], 1, True),
        ([12], 1, False),
    ],
)
def test_selected_matches_whole_choice(answer: Any, wanted: Any, expected: bool) -> None:
    """Promise: selected() matches a whole choice, never a substring."""
    env = {"q": answer, "w": wanted}
    assert parse("selected(q, w)").evaluate(env) is expected


@pytest.mark.parametrize(
    "src",
    [
        "false < true",
        "false <= true",
        "true > false",
        "true >= false",
        "answer_no < true",
        "answer_yes > false",
        "true <= true",
        "false >= false",
    ],
)
def test_yes_no_is_not_ordered(src: str) -> None:
    """Promise: yes/no answers are not ordered (no < / > comparison)."""
    assert parse(src).evaluate(ENV) is False


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("'true' = true", True),
        ("'TRUE' = true", True),
        ("' Yes ' = true", True),
        ("'false' = false", True),
        ("'FALSE' = false", True),
        ("'No' = false", True),
        ("'true' = false", False),
        ("'false' = true", False),
        ("'maybe' = true", False),
        ("'maybe' != true", True),
        ("1 = true", False),
        ("1 != true", True),
        ("true = true", True),
        ("true != false", True),
    ],
)
def test_yes_no_words_equal_booleans(src: str, expected: bool) -> None:
    assert parse(src).evaluate(ENV) is expected


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("'a' - 'b'", None),
        ("'a' * 'b'", None),
        ("'a' / 'b'", None),
        ("1 + 'a'", None),
        ("'a' + 1", None),
        ("1 + true", None),
        ("4 / 1", 4),
        ("4 / 2", 2),
        ("4 / 0", None),
        ("4 - 1", 3),
        ("4 * 0.5", 2),
        ("not (missing + 1)", True),
        ("not (1 + missing)", True),
        ("not (1 / 0)", True),
        ("not (1 / missing)", True),
        ("not ('a' - 'b')", True),
        ("not -name", True),
        ("-name", None),
        ("-true", None),
        ("-(2 - 5)", 3),
    ],
)
def test_arithmetic(src: str, expected: Any) -> None:
    assert parse(src).evaluate(ENV) == expected
    if expected is None:
        assert parse(src).evaluate(ENV) is None


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("name = 'Li'", True),
        ("name != 'Li'", False),
        ("name < 1", False),
        ("name >= 1", False),
        ("symptoms = symptoms", True),
        ("symptoms != symptoms", False),
        ("symptoms > symptoms", False),
        ("'12' > 5", True),
        ("5 < '12'", True),
        ("'x' != 5", True),
        ("'x' = 5", False),
        ("'x' < 5", False),
        ("'2' = 2", True),
        ("'b' > 'a'", True),
        ("'a' >= 'b'", False),
        ("'a' <= 'a'", True),
        ("2 > 1", True),
        ("2 >= 3", False),
        ("2 <= 1", False),
        ("1 < 1", False),
        ("2 == 2", True),
        ("3 == 2", False),
        ("answer_yes == true", True),
        ("answer_no == true", False),
        ("name < symptoms", False),
        ("name = symptoms", False),
        ("symptoms == symptoms", True),
        ("symptoms != empty_list", True),
        ("symptoms = empty_list", False),
    ],
)
def test_mixed_types(src: str, expected: bool) -> None:
    assert parse(src).evaluate(ENV) is expected


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("2 + 3 * 4", 14),
        ("2 * 3 + 4", 10),
        ("12 / 2 / 3", 2),
        ("12 / 2 * 3", 18),
        ("2 * 3 * 4", 24),
        ("10 - 2 + 3", 11),
        ("-2 * 3", -6),
        ("2 * -3", -6),
        ("- (1)", -1),
        ("true or false and false", True),
        ("false and false or true", True),
        ("not false and false", False),
        ("not (false and false)", True),
        ("1 or 0 or 0", True),
        ("0 or 0 or 1", True),
        ("1 and 1 and 0", False),
        ("1 and 1 and 1", True),
        ("not 1 = 2", True),
        ("1 + 1 = 2", True),
        ("2 = 1 + 1", True),
        ("2 * 2 = 4 and 3 > 2 or false", True),
        ("count(symptoms) * 2", 4),
        ("(1)", 1),
        ("((1 + 2))", 3),
        ("selected(symptoms, 'f' + 'ever')", True),
    ],
)
def test_precedence(src: str, expected: Any) -> None:
    assert parse(src).evaluate(ENV) == expected


@pytest.mark.parametrize(
    ("src", "current", "expected"),
    [
        ("-.", 3, -3),
        ("not .", 0, True),
        ("not .", 5, False),
        ("count(.) = 2", ["a", "b"], True),
        ("count(.)", "x", 1),
        ("empty(.)", "x", False),
        ("selected(symptoms, .)", "fever", True),
        ("selected(symptoms, .)", "rash", False),
        ("selected(., name)", "Li", True),
        ("(.) = 2", 2, True),
        (". > 1 or . < 0", 5, True),
        (". > 1 or . < 0", -1, True),
        (". > 1 or . < 0", 0.5, False),
        (". > 0 and . < 10", 5, True),
        ("tested < .", 5, True),
        ("1 + .", 2, 3),
    ],
)
def test_current_everywhere(src: str, current: Any, expected: Any) -> None:
    assert parse(src).evaluate(ENV, current) == expected


def test_selected_with_unanswered_value_is_false() -> None:
    assert parse("selected(symptoms, missing)").evaluate(ENV) is False
    assert parse("selected(symptoms, missing)").evaluate({"symptoms": ["None"]}) is False


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("12", 12),
        ("12.5", 12.5),
        ("0.25", 0.25),
        (".5", 0.5),
        ("1.5+1", 2.5),
        ("1.5*2", 3.0),
        ("3 .5", None),
        ("a1", "x"),
        ("a_1", "y"),
        ("_a", "z"),
        ("名字", "Li"),
        ("a1+1", None),
        ("'a\\b'", "ab"),
        ("'a\"b'", 'a"b'),
        ('"it\'s"', "it's"),
        ("'x' + \"y\"", "xy"),
        ("1==1", True),
        ("1!=2", True),
        ("1<=1", True),
        ("2>=1", True),
        ("1<2", True),
        ("2>1", True),
        ("1=1", True),
        ("(1)+(2)", 3),
        ("\t1\n+ 2 ", 3),
    ],
)
def test_tokens(src: str, expected: Any) -> None:
    env = {"a1": "x", "a_1": "y", "_a": "z", "名字": "Li"}
    try:
        value = parse(src).evaluate(env)
    except ExpressionError:
        value = "error"
    if expected is None:
        assert value in (None, "error")
    else:
        assert value == expected
        assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("src", "message", "column"),
    [
        ("1 2", "unexpected number 2", 3),
        ("1 2.5", "unexpected number 2.5", 3),
        ("1 'b'", "unexpected string 'b'", 3),
        ("a 'b'", "unexpected string 'b'", 3),
        ("1.", "unexpected '.'", 2),
        ("1..5", "unexpected '.'", 2),
        ("1.5.5", "unexpected number 0.5", 4),
        ("٣", "unexpected character '٣'", 1),
        ("3x", "a name cannot start with a digit", 1),
        ("3.5x", "a name cannot start with a digit", 1),
        ("3_", "a name cannot start with a digit", 1),
        ("x #", "unexpected character '#'", 3),
        ("x !", "unexpected character '!'", 3),
        ("'ab\\", "unterminated string", 1),
        ("x and 'ab", "unterminated string", 7),
        ("selected(x, 'a'", "expected ')' but found end of expression", 16),
        ("selected(x 'a')", "expected ')' but found string 'a'", 12),
        ("count()", "count() takes 1 argument, got 0", 1),
        ("selected(x, 'a', 'b')", "selected() takes 2 arguments, got 3", 1),
        ("selected('x', 'a')", "needs a question name", 1),
        ("  foo(x)", "unknown function 'foo' (known: count, empty, selected)", 3),
        ("x or", "expected a value but found end of expression", 5),
        ("not", "expected a value but found end of expression", 4),
        ("- ", "expected a value but found end of expression", 3),
        ("1 *", "expected a value but found end of expression", 4),
        ("1 +", "expected a value but found end of expression", 4),
        ("1 -", "expected a value but found end of expression", 4),
        ("1 /", "expected a value but found end of expression", 4),
        ("1 = 2 = 3", "comparisons cannot be chained", 7),
        ("1 != 2 <= 3", "comparisons cannot be chained", 8),
        ("or", "expected a value but found 'or'", 1),
        ("not or", "expected a value but found 'or'", 5),
        (",", "expected a value but found ','", 1),
        (")", "expected a value but found ')'", 1),
        ("empty", "'empty' is a function; call it like empty(name)", 1),
        ("x y", "unexpected 'y'", 3),
        ("(x", "expected ')' but found end of expression", 3),
        ("(x y)", "expected ')' but found 'y'", 4),
    ],
)
def test_more_parse_errors(src: str, message: str, column: int) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(src)
    assert message in info.value.message
    assert info.value.position == column - 1
    assert info.value.source == src
    assert str(info.value) == f"{info.value.message} at column {column} of {src!r}"


def test_limits_are_exact() -> None:
    from surveys.engine.expressions import MAX_DEPTH, MAX_LENGTH

    # exact boundaries with `not` and `-` (one stack frame per level; a level of parentheses
    # costs eight, too many under mutation testing's extra frames)
    assert parse("(" * 20 + "1" + ")" * 20).evaluate({}) == 1
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse("(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1))
    assert parse("not " * MAX_DEPTH + "1").evaluate({}) is True
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse("not " * (MAX_DEPTH + 1) + "1")
    assert parse("-" * MAX_DEPTH + "1").evaluate({}) == 1
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse("-" * (MAX_DEPTH + 1) + "1")
    nested = "count(" * 1 + "x" + ")"
    assert parse(nested).evaluate({"x": [1]}) == 1
    deep_call = "(" * MAX_DEPTH + "count(x)" + ")" * MAX_DEPTH
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse(deep_call)
    assert parse("(" * 19 + "count(x)" + ")" * 19).evaluate({}) == 0
    long = "1" + " " * (MAX_LENGTH - 1)
    assert parse(long).evaluate({}) == 1
    with pytest.raises(ExpressionError, match=f"longer than {MAX_LENGTH}") as info:
        parse(long + " ")
    assert info.value.position == 0
    assert info.value.source == (long + " ")[:40]
    with pytest.raises(ExpressionError, match="must be a string"):
        parse(3)  # type: ignore[arg-type]


def test_nesting_is_counted_per_level_not_in_total() -> None:
    many = " + ".join(["(1)"] * 100)
    assert parse(many).evaluate({}) == 100
    nots = " and ".join(["not 0"] * 100)
    assert parse(nots).evaluate({}) is True
    negs = " + ".join(["-1"] * 100)
    assert parse(negs).evaluate({}) == -100
    calls = " + ".join(["count(x)"] * 80)
    assert parse(calls).evaluate({"x": [1]}) == 80


def test_walk_visits_every_node() -> None:
    expr = parse("-(a) + not_b * count(c) or not (d = . ) and selected(e, 'v') and empty(f)")
    assert expr.names() == {"a", "not_b", "c", "d", "e", "f"}
    assert expr.uses_current()
    assert expr.selected_values() == {("e", "v")}
    assert parse("selected(., 'v')").selected_values() == set()
    assert parse("selected(e, w)").selected_values() == set()
    assert parse("selected(e, 3)").selected_values() == {("e", "3")}
    assert parse("count(x) and empty(y)").selected_values() == set()
    assert not parse("x").uses_current()
    assert parse("x").names() == {"x"}


@pytest.mark.parametrize(
    ("src", "message"),
    [
        ("", "empty expression"),
        ("1a", "a name cannot start with a digit"),
        ("'a", "unterminated string"),
        ("'a\\'", "unterminated string"),
        ("not " * 61 + "1", "expression is nested too deeply"),
        ("1 < 2 < 3", "comparisons cannot be chained; join them with 'and'"),
    ],
)
def test_error_messages_exact(src: str, message: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(src)
    assert info.value.message == message


@pytest.mark.parametrize(
    "inner",
    ["not 0 and ", "-1 + ", "(1) + ", "count(x) + "],
)
def test_depth_returns_to_its_level(inner: str) -> None:
    """After a nested part is parsed the depth is back to where it was: a sibling as deep as
    the limit allows is accepted, one level more is not."""
    ok_src = "(" * 29 + inner + "-" * 30 + "1" + ")" * 29
    parse(ok_src)
    bad_src = "(" * 30 + inner + "-" * 31 + "1" + ")" * 30
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse(bad_src)


def test_names_may_start_with_any_letter() -> None:
    assert parse("X + XX").evaluate({"X": 1, "XX": 2}) == 3
