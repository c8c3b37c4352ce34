"""Which tests judge a mutant under `make mutation`, and in what order (tests/conftest.py's hooks).

mutmut runs one pytest session per mutant, in a fork of one parent process, and stops at the
first failing test. So a mutant costs the tests run before the one that kills it:

- a mutant is judged only by its module's group of tests ([tool.louzhang.mutation_tests] in
  pyproject.toml, longest path prefix wins);
- the tests that killed earlier mutants of the same function run first (mutmut runs a
  function's mutants one after another; each kill is appended to a small file per function under
  ``mutmut-kills/`` in the mutants folder), then the tests of the module's own test files (named
  after it), then the rest; fastest first within each (mutmut's stats pass timed each test);
- pyproject.toml and mutmut's stats file are read once, in mutmut's parent process during its
  clean-test pass, and the forked children inherit them (reading them per mutant cost ~30 ms).
"""

from __future__ import annotations

import json
import os
import tomllib
from collections import Counter
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
    kills first), then the tests of the module's own test files (named after it:
    ``test_outbox*.py`` for ``outbox.py``), then the rest; fastest first within each."""
    kills = _kills(function_of(mutant))
    module = module_of(mutant)
    stem = Path(module).stem if module else None

    def own(nodeid: str) -> bool:
        return stem is not None and stem in Path(nodeid.split("::", 1)[0]).name

    return sorted(
        nodeids,
        key=lambda nodeid: (-kills[nodeid], not own(nodeid), duration(nodeid)),
    )


def duration(nodeid: str) -> float:
    """The stats pass's time for one test (0 when unknown)."""
    return (_durations or {}).get(nodeid, 0.0)


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
