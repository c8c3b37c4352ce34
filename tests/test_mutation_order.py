"""Which tests judge a mutant under `make mutation`, and in what order (tests/mutation_order.py).

Promises:
- a mutant's name gives its source file and its function (methods included);
- a mutant is judged by its module group's tests, the longest matching path prefix winning;
- tests that killed earlier mutants of the same function run first, the most kills first; the
  rest run fastest first;
- kills of one function do not reorder another function's tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import mutation_order

METHOD = "estate.importing.residents.xǁ_RowCheckerǁcheck__mutmut_3"
FUNCTION = "notifications.drives.parse.x_parse_reply__mutmut_12"


@pytest.fixture
def mutants_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.louzhang.mutation_tests]\n"notifications/" = ["tests/notifications"]\n'
        '"notifications/drives/" = ["tests/notifications/drives", "tests/e2e/test_voice_e2e.py"]\n',
        encoding="utf-8",
    )
    durations = {"t/slow.py::a": 2.0, "t/fast.py::b": 0.01, "t/mid.py::c": 0.5}
    (tmp_path / "mutmut-stats.json").write_text(
        json.dumps({"duration_by_test": durations}), encoding="utf-8"
    )
    for name in ("_root", "_groups", "_durations"):
        monkeypatch.setattr(mutation_order, name, None)
    mutation_order.preload(tmp_path)
    return tmp_path


def test_a_mutant_names_its_file_and_function() -> None:
    assert mutation_order.module_of(METHOD) == "estate/importing/residents.py"
    assert mutation_order.function_of(METHOD) == "estate.importing.residents.xǁ_RowCheckerǁcheck"
    assert mutation_order.module_of(FUNCTION) == "notifications/drives/parse.py"
    assert mutation_order.function_of(FUNCTION) == "notifications.drives.parse.x_parse_reply"


def test_the_longest_matching_group_judges(mutants_root: Path) -> None:
    assert mutation_order.judges(mutants_root, "notifications/drives/parse.py") == (
        "tests/notifications/drives",
        "tests/e2e/test_voice_e2e.py",
    )
    assert mutation_order.judges(mutants_root, "notifications/outbox.py") == (
        "tests/notifications",
    )
    assert mutation_order.judges(mutants_root, "surveys/engine/walk.py") is None


def test_earlier_killers_first_then_fastest_first(mutants_root: Path) -> None:
    tests = ["t/slow.py::a", "t/mid.py::c", "t/fast.py::b"]
    assert mutation_order.order(FUNCTION, tests) == ["t/fast.py::b", "t/mid.py::c", "t/slow.py::a"]
    mutation_order.record_kill(FUNCTION, "t/slow.py::a")
    mutation_order.record_kill(FUNCTION.replace("_12", "_13"), "t/mid.py::c")
    mutation_order.record_kill(FUNCTION.replace("_12", "_14"), "t/mid.py::c")
    assert mutation_order.order(FUNCTION, tests) == ["t/mid.py::c", "t/slow.py::a", "t/fast.py::b"]
    other = "notifications.drives.parse.x__normalise__mutmut_1"
    assert mutation_order.order(other, tests) == ["t/fast.py::b", "t/mid.py::c", "t/slow.py::a"]


BODY = '''    """Doc."""
    total = a + b
    if total > 3:
        return total
    items = [
        a,
        b,
    ]
    return len(items)
'''


def copies(*variants: tuple[str, str]) -> str:
    """A mutants file: the original copy, then each (signature, body) variant as mutant N."""
    source = f"def x_f__mutmut_orig(a, b=1):\n{BODY}\n"
    for n, (signature, body) in enumerate(variants, start=1):
        source += f"def x_f__mutmut_{n}({signature}):\n{body}\n"
    return source


def spans_of(source: str, n: int) -> list[tuple[int, int]] | None:
    found = mutation_order.functions(source)
    return mutation_order.changed_spans(
        source.splitlines(), found["x_f__mutmut_orig"], found[f"x_f__mutmut_{n}"]
    )


def test_a_mutant_is_judged_by_the_tests_that_ran_its_statement() -> None:
    source = copies(
        ("a, b=1", BODY.replace("a + b", "a - b")),
        ("a, b=1", BODY.replace("total > 3", "total >= 3")),
        ("a, b=1", BODY.replace("        b,\n", "        None,\n")),
        ("a, b=2", BODY),
        ("a, b=1", BODY.replace("    return len(items)\n", "    return None\n")),
    )
    # lines: 1 def, 2 doc, 3 total, 4-5 if/return, 6-9 items = [...], 10 return len
    assert spans_of(source, 1) == [(3, 3)]
    assert spans_of(source, 2) == [(4, 5)]  # the condition: the whole if statement
    assert spans_of(source, 3) == [(6, 9)]  # a line of a statement over several lines
    assert spans_of(source, 4) is None  # a default: every call sees it
    assert spans_of(source, 5) == [(10, 10)]

    lines_run = {3: {"t1", "t2"}, 4: {"t1", "t2"}, 5: {"t2"}, 6: {"t1"}, 10: {"t1"}}
    assert mutation_order.ran_any([(3, 3)], lines_run) == {"t1", "t2"}
    assert mutation_order.ran_any([(6, 9)], lines_run) == {"t1"}
    assert mutation_order.ran_any([(5, 5), (10, 10)], lines_run) == {"t1", "t2"}
    assert mutation_order.ran_any([(7, 8)], lines_run) == set()  # no test ran it
