"""The summary of a mutation run (tools/mutation.py, the last step of `make mutation`).

Promises:
- the last line is `mutation: killed=K survived=S timeout=T score=0.NN`, score = (killed +
  timeout) / (killed + timeout + survived), and there is a row per module;
- a listed equivalent, run (survived) or not run (skipped, exit 34), is left out of the score;
- a skipped mutant that is not listed, a mutant never judged, and one no test reached count as
  survived;
- a listed equivalent that a test killed counts as killed and is reported; a listed name that no
  longer exists is reported as stale.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

TOOL = Path(__file__).resolve().parent.parent / "tools" / "mutation.py"


@pytest.fixture
def summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutation_summary_tool", TOOL)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "MUTANTS", tmp_path / "mutants")
    monkeypatch.setattr(module, "EQUIVALENTS", tmp_path / "equivalents.txt")
    monkeypatch.setattr("sys.argv", ["mutation.py"])
    return module


def write_meta(root: Path, module: str, codes: dict[str, int | None]) -> None:
    meta = root / "mutants" / f"{module}.meta"
    meta.parent.mkdir(parents=True, exist_ok=True)
    meta.write_text(json.dumps({"exit_code_by_key": codes}), encoding="utf-8")


def test_the_score_leaves_listed_equivalents_out(
    summary: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "equivalents.txt").write_text(
        "# header\na.x_f__mutmut_3 a log line only\na.x_f__mutmut_4 the same value either way\n"
        "a.x_f__mutmut_9 gone since\na.x_f__mutmut_5 listed, yet a test tells it apart\n",
        encoding="utf-8",
    )
    write_meta(
        tmp_path,
        "a.py",
        {
            "a.x_f__mutmut_1": 1,
            "a.x_f__mutmut_2": 36,
            "a.x_f__mutmut_3": 34,  # listed, not run
            "a.x_f__mutmut_4": 0,  # listed, run: survived
            "a.x_f__mutmut_5": 1,  # listed, but killed
            "a.x_f__mutmut_6": 34,  # skipped, not listed
            "a.x_f__mutmut_7": None,  # never judged
            "a.x_f__mutmut_8": 33,  # no test reached it
        },
    )
    write_meta(tmp_path, "b.py", {"b.x_g__mutmut_1": 0, "b.x_g__mutmut_2": 1})

    assert summary.main() == 0

    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[-1] == "mutation: killed=3 survived=4 timeout=1 score=0.50"
    row_a = next(line for line in lines if line.startswith("a.py"))
    assert row_a.split()[1:] == ["2", "3", "1", "2", "0.50"]
    row_b = next(line for line in lines if line.startswith("b.py"))
    assert row_b.split()[1:] == ["1", "1", "0", "0", "0.50"]
    assert "stale entry in equivalents.txt: a.x_f__mutmut_9" in err
    assert "listed in equivalents.txt but killed: a.x_f__mutmut_5" in err


def test_an_equivalent_without_a_reason_is_refused(summary: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "equivalents.txt").write_text("a.x_f__mutmut_3\n", encoding="utf-8")
    write_meta(tmp_path, "a.py", {"a.x_f__mutmut_3": 0})
    with pytest.raises(SystemExit, match="has no reason"):
        summary.main()


def test_no_results_is_said_plainly(
    summary: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    assert summary.main() == 1
    assert "no results" in capsys.readouterr().err
