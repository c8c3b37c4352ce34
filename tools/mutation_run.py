"""`make mutation`, step 1: mutmut 3 makes the mutants and maps each mutated function to the tests
that reach it; each mutant then runs its tests in a fork of ONE pytest session.

Why not `mutmut run`'s own loop: it starts a new pytest session (configuration, plugins,
collection) in every forked child, ~0.15-0.3 s before the first test runs, and the run has ~9,700
mutants to judge within 30 minutes on 2 cores. Here the parent collects the tests once; a child
only sets the mutant and runs its tests' protocol. Everything else is mutmut's own: the mutants,
the trampolines that switch them on (``MUTANT_UNDER_TEST``) and record which test reached which
function, the stats file, the exit codes and the ``mutants/*.meta`` files that `mutmut results`,
`mutmut show` and tools/mutation.py read.

- The stats pass runs every selected test on the original code first, in forks of the same
  session (one per core) that take the tests one by one from a shared queue; a test that fails
  there runs again alone (a real-time limit on a busy machine) (mutmut's own runs them in one
  process, after a collection of its own); it must pass (it is the clean run), then a
  forced-fail check proves the trampolines are live.
- A mutant runs only the tests of its module's group that reached its function, earlier killers
  of that function first, then fastest first (tests/mutation_order.py), and stops at the first
  failure (exit 1: killed). All passing is exit 0: survived. No test: 33.
- Timeouts as mutmut's, from its settings in pyproject.toml: a wall limit of
  ``timeout_multiplier x (estimate + timeout_constant)`` (exit 36; the estimate is the stats
  pass's time for the mutant's tests) and a CPU limit of twice that. The same limit also holds
  for each test on its own (its own time in the stats pass), so a mutant that makes its first
  test wait forever is a timeout after ~5 s, not after the limit of all its tests together.
- Mutants listed in tests/mutation_equivalents.txt (reviewed: no behaviour tells them apart, so
  they survive every test) are not run; they are recorded as "skipped" (exit 34), which
  tools/mutation.py counts as equivalent. ``MUTATION_CHECK_EQUIVALENTS=1`` runs them too (a
  listed mutant that is then killed is reported, and its entry can go).
- Each child gets its own temporary folder (removed when it ends) and writes nothing to the log.

`mutmut run NAME` still re-checks one mutant the slow, standard way (tests/conftest.py applies
the same groups and order).
"""

from __future__ import annotations

import fcntl
import gc
import json
import os
import re
import resource
import select
import shutil
import signal
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from math import ceil
from pathlib import Path
from typing import Any

import pytest
from mutation import load_equivalents  # tools/mutation.py, next to this file

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_EXIT = 36
NO_TESTS_EXIT = 33
SKIPPED_EXIT = 34  # mutmut's "skipped": a listed equivalent, not run


@dataclass
class Mutant:
    name: str
    data: Any  # mutmut's SourceFileMutationData of its file
    tests: list[str]
    estimate: float
    result: int | None  # an exit code from an earlier, stopped run of this tree


@dataclass
class Child:
    mutant: Mutant
    pid: int
    pidfd: int  # readable once the child has ended
    started: float
    deadline: float


def prepare(jobs: int) -> bool:
    """mutmut: copy the sources and write the mutants; load the stats of an earlier, stopped
    run of this tree. False: there are none, the session runs the stats pass."""
    from mutmut.__main__ import (
        _refresh_change_detection_baseline,
        collect_or_load_stats,
        copy_also_copy_files,
        copy_src_dir,
        create_mutants,
        setup_source_paths,
        store_lines_covered_by_tests,
    )
    from mutmut.mutation.trampoline import set_mutant_under_test
    from mutmut.workers.isolation import get_mutant_runner

    set_mutant_under_test("mutant_generation")
    (ROOT / "mutants").mkdir(exist_ok=True)
    started = time.monotonic()
    copy_src_dir()
    copy_also_copy_files()
    setup_source_paths()  # from here on, `tests` and the sources import from mutants/
    store_lines_covered_by_tests()
    generated = create_mutants(jobs)
    say(f"mutants written in {time.monotonic() - started:.0f} s ({generated.mutated} files)")
    if (ROOT / "mutants" / "mutmut-stats.json").exists():
        collect_or_load_stats(get_mutant_runner(jobs), apply_config_invalidation=True)
        return True
    _refresh_change_detection_baseline()
    return False


def mutants_from_stats() -> list[Mutant]:
    """Every mutant with the tests of its group that reached its function (mutmut's stats)."""
    from mutmut.__main__ import collect_source_file_mutation_data
    from mutmut.state import state
    from mutmut.utils.file_utils import change_cwd
    from mutmut.utils.format_utils import mangled_name_from_mutant_name

    from tests import mutation_order

    with change_cwd(ROOT):
        found, _ = collect_source_file_mutation_data(mutant_names=())
    durations = state().duration_by_test
    mutants_root = ROOT / "mutants"
    mutants: list[Mutant] = []
    for data, name, result in found:
        name = name.replace("__init__.", "")
        reached = state().tests_by_mangled_function_name.get(
            mangled_name_from_mutant_name(name), set()
        )
        module = mutation_order.module_of(name)
        judges = mutation_order.judges(mutants_root, module) if module else None
        tests = [t for t in reached if judges is None or t.startswith(judges)]
        estimate = sum(durations.get(t, 0.0) for t in tests)
        data.meta_path = ROOT / data.meta_path  # saved from inside mutants/
        mutants.append(Mutant(name, data, tests, estimate, result))
    # mutmut's order: the cheapest first; a function's mutants stay together.
    mutants.sort(key=lambda m: (m.estimate, m.name.rsplit("__mutmut_", 1)[0]))
    return mutants


class MutantLoop:
    """A pytest plugin: instead of running the collected tests, judge every mutant in a fork."""

    def __init__(self, stats_loaded: bool, jobs: int, equivalents: frozenset[str]) -> None:
        from mutmut.configuration import config

        self.stats_loaded = stats_loaded
        self.mutants: list[Mutant] = []
        self.jobs = jobs
        self.equivalents = equivalents
        self.timeout_multiplier = float(config().timeout_multiplier)
        self.timeout_constant = float(config().timeout_constant)
        self.scratch = Path(tempfile.mkdtemp(prefix="louzhang-mutants-"))
        self.counts: dict[str, int] = {"killed": 0, "survived": 0, "timeout": 0, "no tests": 0}
        self.cpu_seconds = 0.0  # the children's, to tell whether more at a time would help
        self.child_seconds = 0.0

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: Any) -> bool:
        from tests import mutation_order
        from tests.conftest import sqlite_template

        sqlite_template()  # made once here, not in the children
        if not self.stats_loaded:
            started = time.monotonic()
            self._stats_pass(session.items)
            say(
                "stats pass (every selected test on the original code, one per core) "
                f"in {time.monotonic() - started:.0f} s"
            )
        self.mutants = mutants_from_stats()
        say(
            f"{len(self.mutants)} mutants, {sum(1 for m in self.mutants if m.tests)} with tests; "
            f"{self.jobs} at a time"
        )
        # Stats from an earlier process may escape non-ASCII test ids once more than this
        # collection does (pytest keeps the escaped ids on the parametrize mark): ids are
        # matched unescaped.
        items = {_unescaped(item.nodeid): item for item in session.items}
        for mutant in self.mutants:
            mutant.tests = [_unescaped(t) for t in mutant.tests]
        missing = {t for m in self.mutants for t in m.tests if t not in items}
        if missing:
            raise RuntimeError(
                f"{len(missing)} tests of the stats pass were not collected: {sorted(missing)[:3]}"
            )
        self._forced_fail(items)
        gc.freeze()  # the children share the parent's heap; no collector walks it again
        started = last_report = time.monotonic()
        running: dict[int, Child] = {}
        # A run stopped midway goes on where it stopped (`make mutation` starts afresh).
        queue = deque(m for m in self.mutants if m.result is None)
        for mutant in self.mutants:
            if mutant.result is not None:
                self._count(mutant.result)
        done = len(self.mutants) - len(queue)
        dirty: dict[int, Any] = {}
        while queue or running:
            while queue and len(running) < self.jobs:
                mutant = queue.popleft()
                if mutant.name in self.equivalents:
                    self._record(mutant, SKIPPED_EXIT, 0.0)
                    dirty[id(mutant.data)] = mutant.data
                    done += 1
                    continue
                if mutant.tests:
                    ordered = mutation_order.order(mutant.name, mutant.tests)
                    child = self._start(mutant, ordered, items)
                    running[child.pidfd] = child
                    continue
                self._record(mutant, NO_TESTS_EXIT, 0.0)
                dirty[id(mutant.data)] = mutant.data
                done += 1
            if running:
                wait = max(0.0, min(c.deadline for c in running.values()) - time.monotonic())
                ended_fds = set(select.select(list(running), [], [], wait)[0])
                now = time.monotonic()
                for pidfd, child in list(running.items()):
                    ended = pidfd in ended_fds
                    if ended or child.deadline <= now:
                        del running[pidfd]
                        self._record(child.mutant, self._reap(child, ended), now - child.started)
                        dirty[id(child.mutant.data)] = child.mutant.data
                        done += 1
            if time.monotonic() - last_report > 20 or not (queue or running):
                for data in dirty.values():
                    data.save()
                dirty.clear()
                last_report = time.monotonic()
                elapsed = last_report - started
                say(
                    f"{done}/{len(self.mutants)} mutants in {elapsed:.0f} s "
                    f"({done / max(elapsed, 1e-9):.1f}/s, load {os.getloadavg()[0]:.1f}, "
                    f"children busy {self.cpu_seconds / max(self.child_seconds, 1e-9):.0%}): "
                    + ", ".join(f"{k} {v}" for k, v in self.counts.items())
                )
        shutil.rmtree(self.scratch, ignore_errors=True)
        return True

    def _stats_pass(self, items: list[Any]) -> None:
        """mutmut's stats pass, in forks of this session, one per core: each child takes the
        next test from a shared pipe, runs it on the original code and notes which mutated
        functions it reached and how long it took. Every test must pass (the clean run); one
        that failed beside the others (a real-time limit on a busy machine) runs again alone,
        and must pass then. The result is mutmut's own stats file."""
        from mutmut.state import state
        from mutmut.stats import save_stats
        from mutmut.utils.file_utils import change_cwd

        failed = self._stats_round(items, list(range(len(items))), os.cpu_count() or 2)
        if failed:
            names = ", ".join(items[i].nodeid for i in failed)
            say(
                f"stats pass: {len(failed)} tests failed beside the others, run again alone: {names}"
            )
            failed = self._stats_round(items, sorted(failed), 1)
            if failed:
                raise RuntimeError(
                    "the clean run failed (every selected test must pass on the original code):\n"
                    + "\n".join(f"{items[i].nodeid}\n{text}" for i, text in failed.items())
                )
        state().stats_time = sum(state().duration_by_test.values())
        with change_cwd(ROOT):
            save_stats()

    def _stats_round(self, items: list[Any], indices: list[int], children: int) -> dict[int, str]:
        """Run ``indices`` of ``items`` in ``children`` forks; merge what the passing tests
        reached into mutmut's state; the failures (index -> report)."""
        from mutmut.mutation.trampoline import set_mutant_under_test
        from mutmut.state import state

        read_fd, write_fd = os.pipe()
        # All of it is in the pipe before a child reads (1 MiB holds 262,144 tests), so every
        # 4-byte read gets one whole test number.
        fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, 1 << 20)
        os.write(write_fd, b"".join(i.to_bytes(4, "little") for i in indices))
        os.close(write_fd)
        folder = Path(tempfile.mkdtemp(prefix="stats-", dir=self.scratch))
        pids = []
        for n in range(children):
            pid = os.fork()
            if pid == 0:  # the child: never returns
                code = 2
                try:
                    set_mutant_under_test("stats")
                    code = _stats_child(items, read_fd, folder / str(n), folder / f"tmp{n}")
                finally:
                    os._exit(code)
            pids.append(pid)
        os.close(read_fd)
        codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
        if any(codes):
            raise RuntimeError(f"the clean run's children ended with {codes}")
        failed: dict[int, str] = {}
        for result in sorted(folder.glob("*.json")):
            found = json.loads(result.read_text("utf-8"))
            for function, tests in found["tests_by_function"].items():
                state().tests_by_mangled_function_name[function].update(tests)
            state().duration_by_test.update(found["durations"])
            for function, callers in found["dependencies"].items():
                state().function_dependencies[function].update(callers)
            failed.update({int(i): text for i, text in found["failed"].items()})
        return failed

    def _limit(self, seconds: float) -> float:
        return (seconds + self.timeout_constant) * self.timeout_multiplier

    def _start(self, mutant: Mutant, tests: list[str], items: dict[str, Any]) -> Child:
        from tests import mutation_order

        wall_limit = self._limit(mutant.estimate)
        cpu_limit = ceil(wall_limit * 2)
        limits = [self._limit(mutation_order.duration(t)) for t in tests]
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 2
            try:
                scratch = self.scratch / str(os.getpid())
                run = [items[t] for t in tests]
                code = _judge(mutant.name, run, scratch, cpu_limit, limits)
            finally:
                os._exit(code)
        now = time.monotonic()
        return Child(mutant, pid, os.pidfd_open(pid), now, now + wall_limit)

    def _reap(self, child: Child, ended: bool) -> int:
        """The child's exit code; one still running past its wall limit is killed (timeout)."""
        if not ended:
            os.kill(child.pid, signal.SIGKILL)
        _, status, usage = os.wait4(child.pid, 0)
        self.cpu_seconds += usage.ru_utime + usage.ru_stime
        self.child_seconds += time.monotonic() - child.started
        os.close(child.pidfd)
        shutil.rmtree(self.scratch / str(child.pid), ignore_errors=True)
        return os.waitstatus_to_exitcode(status) if ended else TIMEOUT_EXIT

    def _record(self, mutant: Mutant, code: int, seconds: float) -> None:
        mutant.data.exit_code_by_key[mutant.name] = code
        mutant.data.durations_by_key[mutant.name] = seconds
        mutant.data.estimated_time_of_tests_by_mutant[mutant.name] = mutant.estimate
        self._count(code)

    def _count(self, code: int) -> None:
        from mutmut.stats import status_by_exit_code

        status = status_by_exit_code[code]
        self.counts[status] = self.counts.get(status, 0) + 1

    def _forced_fail(self, items: dict[str, Any]) -> None:
        """mutmut's check that the trampolines are live: with the mutant "fail", a test that
        reaches a mutated function must fail."""
        tested = [m for m in self.mutants if m.tests][:: max(1, len(self.mutants) // 5)]
        pid = os.fork()
        if pid == 0:
            code = 2
            try:
                some = [items[m.tests[0]] for m in tested]
                code = _judge("fail", some, self.scratch / "fail", 120, [60.0] * len(some))
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 1:
            raise RuntimeError("forced fail: the tests passed with every trampoline set to fail")


def _judge(
    mutant: str, items: list[Any], scratch: Path, cpu_limit: int, limits: list[float]
) -> int:
    """In the child: switch the mutant on and run the tests until one fails (1) or none (0);
    a test still running after its own wall limit ends the child as a timeout (36)."""
    from _pytest.runner import runtestprotocol
    from mutmut.mutation.trampoline import set_mutant_under_test

    from tests import mutation_order

    _quiet_child(items, scratch)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_limit + int(time.process_time()),) * 2)
    set_mutant_under_test(mutant)
    signal.signal(signal.SIGALRM, lambda *_: os._exit(TIMEOUT_EXIT))
    for item, limit in zip(items, limits, strict=True):
        signal.setitimer(signal.ITIMER_REAL, limit)
        reports = runtestprotocol(item, log=False, nextitem=None)
        if any(report.failed for report in reports):
            if mutant != "fail":
                mutation_order.record_kill(mutant, item.nodeid)
            return 1
    return 0


def _quiet_child(items: list[Any], scratch: Path) -> None:
    """In a forked child: nothing to the log, and the tests' temporary folders under
    ``scratch`` (each child its own)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    factory = items[0].config._tmp_path_factory
    factory._given_basetemp = scratch
    factory._basetemp = None


def _stats_child(items: list[Any], read_fd: int, out: Path, scratch: Path) -> int:
    """In a stats child: run tests taken from the pipe until it is empty, and write what each
    passing test reached and how long it took, and the failures."""
    from _pytest.runner import runtestprotocol
    from mutmut.state import state

    _quiet_child(items, scratch)
    tests_by_function: dict[str, list[str]] = {}
    durations: dict[str, float] = {}
    failed: dict[int, str] = {}
    while chunk := os.read(read_fd, 4):
        index = int.from_bytes(chunk, "little")
        item = items[index]
        state()._stats.clear()
        reports = runtestprotocol(item, log=False, nextitem=None)
        failures = [r for r in reports if r.failed]
        if failures:
            failed[index] = failures[0].longreprtext
            continue
        for function in state()._stats:
            tests_by_function.setdefault(function, []).append(item.nodeid)
        durations[item.nodeid] = sum(r.duration for r in reports if r.when == "call")
    dependencies = {f: sorted(c) for f, c in state().function_dependencies.items()}
    out.with_suffix(".json").write_text(
        json.dumps(
            {
                "tests_by_function": tests_by_function,
                "durations": durations,
                "dependencies": dependencies,
                "failed": failed,
            }
        ),
        encoding="utf-8",
    )
    return 0


def _unescaped(nodeid: str) -> str:
    """Repeated backslashes of an escaped character collapsed to one: ``a[\\\\u697c]`` -> ``a[\\u697c]``."""
    return re.sub(r"\\+(?=[uUx][0-9a-fA-F])", lambda _: "\\", nodeid)


def say(line: str) -> None:
    print(f"mutation: {line}", flush=True)


def main() -> int:
    from mutmut.configuration import config

    os.chdir(ROOT)
    # Twice the cores: many mutants' tests mostly wait (a test waiting out its limit for a
    # message the mutant never sends, a hang until the wall limit), and a waiting child holds
    # its place without using a core.
    jobs = int(os.environ.get("MUTATION_JOBS") or 2 * (os.cpu_count() or 2))
    stats_loaded = prepare(jobs)
    check_equivalents = os.environ.get("MUTATION_CHECK_EQUIVALENTS") == "1"
    equivalents = frozenset() if check_equivalents else frozenset(load_equivalents())
    os.chdir(ROOT / "mutants")
    os.environ["MUTANT_UNDER_TEST"] = ""
    os.environ["MUTMUT_DEPENDENCY_DEPTH"] = str(config().dependency_tracking_depth)
    loop = MutantLoop(stats_loaded, jobs, equivalents)
    args = ["--rootdir=.", "--tb=native", "-q", "-s", "-p", "no:randomly"]
    code = pytest.main(
        args
        + list(config().pytest_add_cli_args)
        + list(config().pytest_add_cli_args_test_selection),
        plugins=[loop],
    )
    os.chdir(ROOT)
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
