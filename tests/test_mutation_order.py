"""Which tests judge a mutant under `make mutation`, and in what order (tests/mutation_order.py).

Promises:
- a mutant's name gives its source file and its function (methods included);
- a mutant is judged by its module group's tests, the longest matching path prefix winning;
- tests that killed earlier mutants of the same function run first, the most kills first; then
  the tests of the module's own test files (named after it); the rest run fastest first;
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


def test_the_modules_own_tests_before_the_others(mutants_root: Path) -> None:
    tests = ["t/slow.py::a", "t/test_parse_reply.py::own", "t/fast.py::b", "t/test_other.py::x"]
    assert mutation_order.order(FUNCTION, tests) == [
        "t/test_parse_reply.py::own",  # parse.py's own test file, though slower than fast.py
        "t/test_other.py::x",
        "t/fast.py::b",
        "t/slow.py::a",
    ]
    mutation_order.record_kill(FUNCTION, "t/slow.py::a")
    assert mutation_order.order(FUNCTION, tests)[:2] == [
        "t/slow.py::a",
        "t/test_parse_reply.py::own",
    ]
