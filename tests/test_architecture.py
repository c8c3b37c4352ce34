"""The house rules of the layout, read from the source (nothing is imported or run).

Promises:
- no import cycle between the project's modules, counting imports inside functions and under
  TYPE_CHECKING (a cycle hidden in a function is still a cycle);
- nothing imports up the layers: bot -> surveys -> notifications -> estate -> config;
- bot/ holds no Tortoise query outside bot/cli/ (gateways hand work to the layers below);
- at most 8 modules directly in bot/;
(The pure modules' own rules are in tests/test_pure_modules.py.)
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {"config": 0, "estate": 1, "notifications": 2, "surveys": 3, "bot": 4}
ORM = re.compile(
    r"\b[A-Z][A-Za-z]+\.(filter|get|get_or_none|get_or_create|update_or_create|create|"
    r"bulk_create|bulk_update|all|exclude|select_for_update|annotate|raw)\(|\bin_transaction\("
)


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for package in LAYERS:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")
                up = up[: len(up) - (node.level - 1)] if node.level > 1 else up
                base = ".".join([*up, base] if base else up)
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles_even_inside_functions() -> None:
    assert _cycles(_graph()) == []


def test_nothing_imports_up_the_layers() -> None:
    upward = [
        f"{module} -> {dep}"
        for module, deps in _graph().items()
        for dep in deps
        if LAYERS[dep.split(".")[0]] > LAYERS[module.split(".")[0]]
    ]
    assert upward == []


def test_bot_runs_no_database_query_outside_the_command_line() -> None:
    found = []
    for name, path in _modules().items():
        if not name.startswith("bot.") or name.startswith("bot.cli"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if ORM.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []


def test_bot_keeps_at_most_eight_modules_at_its_top() -> None:
    assert len(list((ROOT / "bot").glob("*.py"))) <= 8
