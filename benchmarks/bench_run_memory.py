"""Peak memory of ``louzhang run`` with the demo estate, and a clean Ctrl-C. Prints, never asserts.

Steps (each CLI call is the real console script ``.venv/bin/louzhang``, in a temporary working
directory so no developer ``.env`` is read, with every ``LOUZHANG_*`` variable removed from the
environment except the database URL and the HTTP port):

1. ``louzhang demo seed`` on a fresh SQLite file (falls back to writing the demo CSV and
   ``louzhang import residents FILE --estate demo`` if the seed command fails);
2. ``louzhang run`` as a subprocess with no Telegram or Twilio credentials; wait for
   ``GET /healthz`` to answer 200;
3. read VmHWM (peak resident set) and VmRSS from ``/proc/PID/status`` after start-up;
4. ``louzhang survey open antigen`` (the whole estate) from a second process, then watch the
   running service for a few seconds (its dispatcher has no channel to send on without tokens,
   so queued rows stay queued) and read VmHWM/VmRSS again;
5. SIGINT, and time how long the service takes to exit (limit 10 s; killed after that).

The peak RSS of each short CLI process (seed, survey open) is read from ``os.wait4``.

Run: ``.venv/bin/python benchmarks/bench_run_memory.py``
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LOUZHANG = ROOT / ".venv" / "bin" / "louzhang"
PYTHON = ROOT / ".venv" / "bin" / "python"
STARTUP_LIMIT = 60.0
SHUTDOWN_LIMIT = 10.0
WATCH_AFTER_OPEN = 5.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proc_status(pid: int) -> dict[str, int]:
    """VmHWM / VmRSS / VmPeak / VmSize in KiB, from /proc/PID/status."""
    out: dict[str, int] = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return out
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS", "VmPeak", "VmSize", "Threads"):
            out[key] = int(value.split()[0])
    return out


def mib(kib: int | None) -> str:
    return "n/a" if kib is None else f"{kib / 1024:.1f} MiB"


def run_cli_with_rss(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 120.0
) -> dict[str, Any]:
    """Run a louzhang command; exit code, output, seconds and its own peak RSS (``os.wait4``)."""
    start = time.perf_counter()
    out_path = cwd / f".out-{os.getpid()}-{time.monotonic_ns()}"
    err_path = out_path.with_suffix(".err")
    with out_path.open("w") as out, err_path.open("w") as err:
        proc = subprocess.Popen(
            [str(LOUZHANG), *args], env=env, cwd=cwd, stdout=out, stderr=err, text=True
        )
        deadline = time.monotonic() + timeout
        status = None
        rusage = None
        while time.monotonic() < deadline:
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                break
            time.sleep(0.02)
        else:
            proc.kill()
            _, status, rusage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status) if status is not None else None
    result = {
        "code": proc.returncode,
        "stdout": out_path.read_text(),
        "stderr": err_path.read_text(),
        "seconds": time.perf_counter() - start,
        "maxrss_kib": rusage.ru_maxrss if rusage is not None else None,  # KiB on Linux
    }
    out_path.unlink()
    err_path.unlink()
    return result


def show(label: str, result: dict[str, Any]) -> None:
    rss = f", peak RSS {mib(result['maxrss_kib'])}" if result.get("maxrss_kib") else ""
    print(f"$ {label}\n  exit {result['code']} in {result['seconds']:.2f} s{rss}")
    for line in result["stdout"].strip().splitlines()[-6:]:
        print(f"  | {line}")
    err = result["stderr"].strip().splitlines()
    if err:
        print("  stderr (last lines):")
        for line in err[-8:]:
            print(f"  ! {line}")


def healthz(port: int) -> tuple[int, str] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return None


def outbox_counts(db_path: Path) -> dict[str, int]:
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as conn:
            rows = conn.execute(
                "SELECT channel || ':' || status, COUNT(*) FROM outbox GROUP BY 1"
            ).fetchall()
        return {k: v for k, v in rows}
    except sqlite3.Error as exc:
        return {"error: " + str(exc): 0}


def imports_only_rss(env: dict[str, str], cwd: Path) -> int | None:
    """Peak RSS of an interpreter that only imports what `louzhang run` imports."""
    code = (
        "import bot.cli, bot.app, bot.web.app, aiohttp.web, telegram.ext, tortoise, twilio.rest\n"
        "from pathlib import Path\n"
        "print(next(l for l in Path('/proc/self/status').read_text().splitlines()"
        " if l.startswith('VmHWM')).split()[1])\n"
    )
    result = subprocess.run(
        [str(PYTHON), "-c", code], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )
    try:
        return int(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        print(f"  (imports-only probe failed: {result.stderr.strip()[-300:]})")
        return None


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="louzhang-mem-"))
    try:
        return measure(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def measure(tmp: Path) -> int:
    db_path = tmp / "louzhang.sqlite3"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOUZHANG_")}
    env.update(
        LOUZHANG_DATABASE_URL=f"sqlite://{db_path}",
        LOUZHANG_HTTP_HOST="127.0.0.1",
        LOUZHANG_HTTP_PORT=str(port),
        PYTHONUNBUFFERED="1",
    )
    print(
        f"louzhang run — peak memory with the demo estate ({os.cpu_count()} CPUs); work dir {tmp}"
    )

    # 1. Seed.
    seed = run_cli_with_rss(["demo", "seed"], env, tmp)
    show("louzhang demo seed", seed)
    if seed["code"] != 0:
        print("  demo seed failed; falling back to the importer with the demo CSV")
        write = subprocess.run(
            [
                str(PYTHON),
                "-c",
                "import sys; from pathlib import Path; from estate.demo import write_demo_csv; "
                "print(write_demo_csv(Path(sys.argv[1])))",
                str(tmp / "demo.csv"),
            ],
            env=env,
            cwd=tmp,
            capture_output=True,
            text=True,
        )
        print(f"  demo CSV rows: {write.stdout.strip()} {write.stderr.strip()[-300:]}")
        imported = run_cli_with_rss(
            ["import", "residents", str(tmp / "demo.csv"), "--estate", "demo"], env, tmp
        )
        show("louzhang import residents demo.csv --estate demo", imported)
        if imported["code"] != 0:
            print("could not seed the database; stopping")
            return 1

    base_kib = imports_only_rss(env, tmp)
    print(
        f"\nfor scale: an interpreter that only imports louzhang's modules peaks at {mib(base_kib)}"
    )

    # 2. Start the service.
    log_path = tmp / "run.log"
    log = log_path.open("w")
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(LOUZHANG), "run"], env=env, cwd=tmp, stdout=log, stderr=subprocess.STDOUT
    )
    ready = None
    while time.perf_counter() - start < STARTUP_LIMIT and proc.poll() is None:
        answer = healthz(port)
        if answer is not None:
            ready = answer
            break
        time.sleep(0.05)
    startup_s = time.perf_counter() - start
    if ready is None:
        print(
            f"\nlouzhang run did not answer /healthz within {STARTUP_LIMIT:.0f} s "
            f"(exit code {proc.poll()})"
        )
        proc.kill()
        proc.wait()
        log.close()
        print(log_path.read_text()[-3000:])
        return 1
    after_start = proc_status(proc.pid)
    print(f"\n$ louzhang run   (pid {proc.pid}, port {port})")
    print(f"  /healthz answered {ready[0]} after {startup_s:.2f} s: {ready[1].strip()}")
    print(
        f"  after start-up: VmHWM (peak RSS) {mib(after_start.get('VmHWM'))}, "
        f"VmRSS {mib(after_start.get('VmRSS'))}, threads {after_start.get('Threads')}"
    )

    # 3. Open a round for the whole estate from another process.
    opened = run_cli_with_rss(["survey", "open", "antigen"], env, tmp)
    show("louzhang survey open antigen", opened)
    samples = []
    watch_until = time.perf_counter() + WATCH_AFTER_OPEN
    while time.perf_counter() < watch_until and proc.poll() is None:
        samples.append(proc_status(proc.pid))
        healthz(port)
        time.sleep(0.25)
    after_open = proc_status(proc.pid)
    print(
        f"  service after the round was opened (+{WATCH_AFTER_OPEN:.0f} s): VmHWM "
        f"{mib(after_open.get('VmHWM'))}, VmRSS {mib(after_open.get('VmRSS'))} (max VmRSS "
        f"sampled {mib(max((s.get('VmRSS', 0) for s in samples), default=None))})"
    )
    print(f"  outbox rows by channel:status: {outbox_counts(db_path)}")

    # 4. Ctrl-C.
    if proc.poll() is not None:
        print(f"\nlouzhang run exited by itself with code {proc.returncode}")
        log.close()
        print(log_path.read_text()[-3000:])
        return 1
    final = proc_status(proc.pid)
    stop_s: float | None = None
    stop_at = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    try:
        code = proc.wait(timeout=SHUTDOWN_LIMIT)
        stop_s = time.perf_counter() - stop_at
        clean = code == 0
        print(
            f"\nSIGINT: exited with code {code} after {stop_s:.2f} s "
            f"({'clean' if clean else 'NOT clean'}; limit {SHUTDOWN_LIMIT:.0f} s)"
        )
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
        print(f"\nSIGINT: still running after {SHUTDOWN_LIMIT:.0f} s — killed (code {code})")
    log.close()
    output = log_path.read_text().strip().splitlines()
    access = [line for line in output if "aiohttp.access" in line]
    other = [line for line in output if "aiohttp.access" not in line]
    print(f"  service output ({len(access)} access-log lines for /healthz left out):")
    for line in other[:20]:
        print(f"  | {line}")
    if len(other) > 20:
        print(f"  | ... ({len(other) - 20} more lines)")
    if any("Traceback" in line for line in output):
        print("  (the service output contains a traceback)")

    print("\nRESULT")
    print(f"  louzhang run, demo estate, no tokens: start-up to /healthz {startup_s:.2f} s")
    print(f"  peak RSS (VmHWM) after start-up: {mib(after_start.get('VmHWM'))}")
    print(
        f"  peak RSS (VmHWM) after `survey open antigen` (whole estate): {mib(final.get('VmHWM'))}"
    )
    print(f"  `survey open antigen` CLI process peak RSS: {mib(opened.get('maxrss_kib'))}")
    print(
        f"  exit on SIGINT: code {code}"
        + (f" in {stop_s:.2f} s" if stop_s is not None else " (killed)")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
