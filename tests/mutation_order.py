"""Which tests judge a mutant under `make mutation`, and in what order (tests/conftest.py's hooks).

- a mutant changes one statement of one function; a test that never ran that statement on the
  original code (the stats pass records the lines each test ran) behaves the same under the
  mutant, so only the tests that ran it judge the mutant (a change to the signature or the
  decorators reaches every call: then every test that reached the function judges it);

mutmut runs one pytest session per mutant, in a fork of one parent process, and stops at the
first failing test. So a mutant costs the tests run before the one that kills it:

- a mutant is judged only by its module's group of tests ([tool.louzhang.mutation_tests] in
  pyproject.toml, longest path prefix wins);
- the tests that killed earlier mutants of the same function run first (mutmut runs a
  function's mutants one after another; each kill is appended to a small file per function under
  ``mutmut-kills/`` in the mutants folder), then the rest, fastest first (mutmut's stats pass
  timed each test);
- pyproject.toml and mutmut's stats file are read once, in mutmut's parent process during its
  clean-test pass, and the forked children inherit them (reading them per mutant cost ~30 ms).
"""

from __future__ import annotations

import ast
import json
import os
import tomllib
from collections import Counter
from difflib import SequenceMatcher
from pathlib import Path

KILLS = "mutmut-kills"

_root: Path | None = None
_groups: dict[str, list[str]] | None = None
_durations: dict[str, float] | None = None


def mutant_under_test() -> str | None:
    """The mutant mutmut is running (``pkg.mod.x_fn__mutmut_3``), or None outside a mutant."""
    name = os.environ.get("MUTANT_UNDER_TEST", "")
    return name if "__mutmut_" in name else None


def under_mutmut() -> bool:
    """True in mutmut's processes (it sets the variable, empty for its clean-test pass)."""
    return "MUTANT_UNDER_TEST" in os.environ


def module_of(mutant: str) -> str | None:
    """``estate.importing.residents.xǁ_RowCheckerǁcheck__mutmut_3`` -> ``estate/importing/residents.py``."""
    parts = mutant.split(".")
    for i, part in enumerate(parts):
        if part.startswith(("x_", "xǁ")):
            return "/".join(parts[:i]) + ".py"
    return None


def function_of(mutant: str) -> str:
    """``pkg.mod.x_fn__mutmut_3`` -> ``pkg.mod.x_fn`` (mutmut's name for the mutated function)."""
    return mutant.rsplit("__mutmut_", 1)[0]


def preload(root: Path) -> None:
    """Read the test groups and the stats pass's timings (once per process; a no-op before
    mutmut has written its stats)."""
    global _root, _groups, _durations
    _root = root
    if _groups is None:
        pyproject = tomllib.loads((root / "pyproject.toml").read_text("utf-8"))
        _groups = pyproject["tool"]["louzhang"]["mutation_tests"]
    stats = root / "mutmut-stats.json"
    if _durations is None and stats.exists():
        _durations = json.loads(stats.read_text("utf-8"))["duration_by_test"]


def judges(root: Path, module: str) -> tuple[str, ...] | None:
    """The test path prefixes that judge ``module``'s mutants (None: every selected test)."""
    preload(root)
    assert _groups is not None
    prefix = max((p for p in _groups if module.startswith(p)), key=len, default=None)
    return None if prefix is None else tuple(_groups[prefix])


def order(mutant: str, nodeids: list[str]) -> list[str]:
    """``nodeids`` in the order to run them: earlier killers of this function first (the most
    kills first), then the rest fastest first."""
    durations = _durations or {}
    kills = _kills(function_of(mutant))
    return sorted(nodeids, key=lambda nodeid: (-kills[nodeid], durations.get(nodeid, 0.0)))


def duration(nodeid: str) -> float:
    """The stats pass's time for one test (0 when unknown)."""
    return (_durations or {}).get(nodeid, 0.0)


Span = tuple[int, int]
Function = ast.FunctionDef | ast.AsyncFunctionDef


def functions(source: str) -> dict[str, Function]:
    """Every function (and method) of a module by name."""
    return {
        node.name: node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def changed_spans(lines: list[str], orig: Function, mutant: Function) -> list[Span] | None:
    """The line spans (first, last), in the original copy ``orig``, of the statements that the
    copy ``mutant`` changes: the innermost statement around each changed line (the whole
    function for a line between statements). None when the signature or the decorators
    differ (every call sees those)."""
    if ast.dump(orig.args) != ast.dump(mutant.args) or [
        ast.dump(d) for d in orig.decorator_list
    ] != [ast.dump(d) for d in mutant.decorator_list]:
        return None
    first, mutant_first = orig.body[0].lineno, mutant.body[0].lineno
    old = lines[first - 1 : orig.end_lineno]
    new = lines[mutant_first - 1 : mutant.end_lineno]
    statements = [n for n in ast.walk(orig) if isinstance(n, ast.stmt) and n is not orig]
    whole = (first, orig.end_lineno or first)
    spans: set[Span] = set()
    for tag, i1, i2, _, _ in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        # lines removed or replaced; for a pure insertion, the lines on either side
        changed = range(i1, i2) if i2 > i1 else range(max(i1 - 1, 0), min(i1 + 1, len(old)))
        for index in changed:
            line = first + index
            around = [s for s in statements if s.lineno <= line <= (s.end_lineno or s.lineno)]
            inner = min(around, key=lambda s: (s.end_lineno or s.lineno) - s.lineno, default=None)
            spans.add(whole if inner is None else (inner.lineno, inner.end_lineno or inner.lineno))
    return sorted(spans) or [whole]


def ran_any(spans: list[Span], lines_run: dict[int, set[str]]) -> set[str]:
    """The tests that ran a line within any of ``spans`` (``lines_run``: line -> tests)."""
    found: set[str] = set()
    for first, last in spans:
        for line in range(first, last + 1):
            found |= lines_run.get(line, set())
    return found


def record_kill(mutant: str, nodeid: str) -> None:
    """Note that ``nodeid`` killed ``mutant`` (one short line appended: atomic between the
    parallel children)."""
    assert _root is not None, "preload() runs at the session's start"
    folder = _root / KILLS
    folder.mkdir(exist_ok=True)
    with open(folder / f"{function_of(mutant)}.txt", "a", encoding="utf-8") as f:
        f.write(nodeid + "\n")


def _kills(function: str) -> Counter[str]:
    path = (_root or Path()) / KILLS / f"{function}.txt"
    if not path.exists():
        return Counter()
    return Counter(path.read_text("utf-8").splitlines())
