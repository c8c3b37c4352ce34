"""The pure modules stay pure: no database, network, event loop or settings, no clock reads.

Read from the source (imports inside functions and under TYPE_CHECKING count): of the
project, a pure module imports only other pure modules and the HELPERS listed here; nothing
from FORBIDDEN; and its source names no clock.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PURE = {
    "surveys.engine",
    "surveys.engine.answers",
    "surveys.engine.events",
    "surveys.engine.expressions",
    "surveys.engine.inputs",
    "surveys.engine.state",
    "surveys.engine.walk",
    "surveys.definition.model",
    "surveys.pickups.lists",
    "surveys.questions.grouping",
    "surveys.states",
    "notifications.drives.planner",
    "notifications.drives.states",
    "notifications.drives.parse",
    "notifications.states",
    "notifications.segments",
    "notifications.durations",
    "notifications.message",
    "notifications.voice_script",
    "surveys.keypad",
}
# Project modules a pure module may use besides the pure ones (pure themselves).
HELPERS = {"config.i18n"}
PROJECT = ("config", "estate", "notifications", "surveys", "bot")
FORBIDDEN = ("tortoise", "aiohttp", "telegram", "twilio", "asyncio", "config.settings")
CLOCK_READS = re.compile(
    r"\b(datetime\.now|datetime\.utcnow|datetime\.today|date\.today|time\.time|"
    r"time\.monotonic|perf_counter|config\.clock)\b"
)


def _path(module: str) -> Path:
    base = ROOT.joinpath(*module.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def _imports(module: str) -> set[str]:
    path = _path(module)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def _project_module(name: str) -> str | None:
    """The project module ``name`` refers to (a module, or a name inside one), if any."""
    while name:
        if name.split(".")[0] in PROJECT and _path(name).exists():
            return name
        name = name.rpartition(".")[0]
    return None


@pytest.mark.parametrize("module", sorted(PURE))
def test_pure_module_imports(module: str) -> None:
    bad = []
    for name in _imports(module):
        if name == "__future__":
            continue
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN):
            bad.append(name)
            continue
        target = _project_module(name)
        if target is not None and target not in PURE | HELPERS and target != module:
            bad.append(name)
    assert not bad, f"{module} imports {sorted(bad)}"


@pytest.mark.parametrize("module", sorted(PURE | HELPERS))
def test_pure_module_reads_no_clock(module: str) -> None:
    source = _path(module).read_text(encoding="utf-8")
    assert not CLOCK_READS.findall(source), module
