"""Summarise a mutation run (`make mutation`: mutmut's mutants, judged by tools/mutation_run.py):
a table per module, then one line.

The last line is `mutation: killed=K survived=S timeout=T score=0.NN`, where
score = (killed + timeout) / (killed + timeout + survived). Mutants that no test reached
("no tests") count as survived. Survivors that are truly equivalent to the original code are
listed, each with a one-line reason, in `tests/mutation_equivalents.txt`; they are left out of
the score and counted apart (tools/mutation_run.py does not run them: "skipped", exit 34). A
listed name that no longer exists, or that a test killed (`MUTATION_CHECK_EQUIVALENTS=1`), is
reported, so the file cannot rot silently.
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
EQUIVALENTS = ROOT / "tests" / "mutation_equivalents.txt"

KILLED = {1, 3, 37}
TIMEOUT = {36, -24, 24, 152, 255}
SURVIVED = {0, 5, 33}
SKIPPED = 34


def load_equivalents() -> dict[str, str]:
    """`mutant-name  reason` per line; `#` starts a comment line."""
    found: dict[str, str] = {}
    if not EQUIVALENTS.exists():
        return found
    for raw in EQUIVALENTS.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, _, reason = line.partition(" ")
        if not reason.strip():
            sys.exit(f"{EQUIVALENTS.name}: {name} has no reason")
        found[name] = reason.strip()
    return found


def main() -> int:
    metas = sorted(MUTANTS.rglob("*.py.meta"))
    if not metas:
        print("mutation: no results (run `make mutation`)", file=sys.stderr)
        return 1
    equivalents = load_equivalents()
    seen: set[str] = set()
    per_module: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: list[str] = []
    killed_equivalents: list[str] = []
    for meta in metas:
        module = str(meta.relative_to(MUTANTS))[: -len(".meta")]
        codes = json.loads(meta.read_text(encoding="utf-8")).get("exit_code_by_key", {})
        for name, code in codes.items():
            seen.add(name)
            if name in equivalents and code in KILLED:
                killed_equivalents.append(name)
            if code in KILLED:
                per_module[module]["killed"] += 1
            elif code in TIMEOUT:
                per_module[module]["timeout"] += 1
            elif name in equivalents and code in SURVIVED | {SKIPPED}:
                per_module[module]["equivalent"] += 1
            elif code in SURVIVED:
                per_module[module]["survived"] += 1
                survivors.append(name)
            else:
                per_module[module]["other"] += 1
                survivors.append(f"{name} (exit {code})")

    def score(c: Counter[str]) -> float:
        detected = c["killed"] + c["timeout"]
        total = detected + c["survived"] + c["other"]
        return detected / total if total else 1.0

    total: Counter[str] = Counter()
    print(f"{'module':40} {'killed':>7} {'surv.':>6} {'t/o':>5} {'equiv':>6} {'score':>6}")
    for module, c in sorted(per_module.items()):
        total.update(c)
        print(
            f"{module:40} {c['killed']:7} {c['survived'] + c['other']:6} {c['timeout']:5} "
            f"{c['equivalent']:6} {score(c):6.2f}"
        )
    stale = sorted(set(equivalents) - seen)
    for name in stale:
        print(f"stale entry in {EQUIVALENTS.name}: {name}", file=sys.stderr)
    for name in killed_equivalents:
        print(f"listed in {EQUIVALENTS.name} but killed: {name}", file=sys.stderr)
    if "-v" in sys.argv:
        for name in survivors:
            print(f"survived: {name}")
    survived = total["survived"] + total["other"]
    print(
        f"mutation: killed={total['killed']} survived={survived} "
        f"timeout={total['timeout']} score={score(total):.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
