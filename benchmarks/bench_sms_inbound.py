"""Measure signed inbound SMS answers handled end to end by ``POST /twilio/sms`` on SQLite.

Prints figures, never asserts. What happens:

1. A CSV of N SMS-only households (default 2,000; one person each, a mobile number, channel
   ``sms``) is written to a temp folder and imported with :func:`estate.importing.residents.import_residents`
   into a fresh SQLite database; ``antigen`` is opened for every building (N questions queued).
2. The app (``build_services`` + ``create_app``, as ``louzhang run`` builds them) is started in a
   **child process** on a free loopback port, with SMS sending pointed at a FakeTwilio that runs
   in this (the parent) process. Sender rate limits are off (``limits_enabled=False``) so the
   outbound side never throttles the inbound path. The N first questions are sent before the
   clock starts.
3. The load generator (this process: aiohttp client, bounded concurrency) posts Twilio-shaped,
   correctly signed, form-encoded inbound messages: each household answers ``1`` (tested
   today: yes), then a number of people tested (1-5), then ``0`` (positives) - one request
   after the other for a household, many households at once. Signatures are computed before
   the clock starts. Every answer stores a revision and enqueues the next question (or the
   thanks), which the app's dispatcher sends to FakeTwilio while the load runs.

Figures: answers/s over the load phase (wall clock), p50/p90/p99/max latency of the HTTP
requests (request sent → TwiML received; the answer is stored and the reply queued by then),
and the reply latency (request sent → the next question reached FakeTwilio). Correctness is
checked after the run (households answered, replies sent, non-200 answers) and printed.

Targets: >= 500 answers/s and p99 < 100 ms on a 2-core machine. They are printed
beside the figures, never asserted.

Run::

    .venv/bin/python benchmarks/bench_sms_inbound.py                 # 2,000 households, 32 at once
    .venv/bin/python benchmarks/bench_sms_inbound.py -n 500 -c 8
    .venv/bin/python benchmarks/bench_sms_inbound.py --profile prof.out  # cProfile the server
    # or sample it: py-spy record -o flame.svg --pid <server pid printed at start>
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import multiprocessing as mp
import os
import pstats
import random
import shutil
import socket
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from twilio.request_validator import RequestValidator

from tests.fakes.twilio import inbound_params

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "bench-auth-token"
SENDER = "+15005550006"
TARGET_RATE = 500.0  # answers/s
TARGET_P99_MS = 100.0
HEADER = "building,floor,room,name,phone,birth_year,channel,language,home_bound,notes\r\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def phone(i: int) -> str:
    """The E.164 number of household ``i`` (written with spaces in the CSV, like real files)."""
    return f"+86139{i:08d}"


def write_csv(path: Path, households: int, rng: random.Random) -> None:
    """``households`` one-person SMS households: 40 per building, 4 per floor."""
    lines = [HEADER]
    for i in range(households):
        building, rest = divmod(i, 40)
        floor, room = divmod(rest, 4)
        number = phone(i)[3:]
        lines.append(
            f"{building + 1},{floor + 1},{floor + 1}{room + 1:02d},居民{i},"
            f"{number[:3]} {number[3:7]} {number[7:]},{rng.randint(1935, 1995)},sms,,,\r\n"
        )
    path.write_text("".join(lines), encoding="utf-8")


# ---- the server (child process) -------------------------------------------------------------
def serve(
    db_url: str,
    port: int,
    twilio_url: str,
    ready: Any,
    start_profile: Any,
    stop: Any,
    profile_path: str | None,
    log_level: str,
    dispatch: bool,
) -> None:
    """Run the app until ``stop`` is set (runs in the child process)."""
    from config.logging import setup_logging

    setup_logging(log_level)
    asyncio.run(
        _serve(db_url, port, twilio_url, ready, start_profile, stop, profile_path, dispatch)
    )


async def _serve(
    db_url: str,
    port: int,
    twilio_url: str,
    ready: Any,
    start_profile: Any,
    stop: Any,
    profile_path: str | None,
    dispatch: bool,
) -> None:
    from aiohttp import web

    from bot.app import build_channels, build_services
    from bot.web.app import create_app
    from config.database import close_db, init_db
    from config.settings import Settings

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=db_url,
        http_port=port,
        public_url=f"http://127.0.0.1:{port}",
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_from=SENDER,
        twilio_api_url=twilio_url,
    )
    await init_db(db_url, migrate=False)
    services = build_services(settings, limits_enabled=False, channels=build_channels(settings))
    # Without dispatch the app serves webhooks only: the dispatcher never starts, replies stay
    # queued in the outbox (the inbound path alone is measured).
    runner = web.AppRunner(create_app(services, manage_services=dispatch), handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    ready.set()
    profiler: cProfile.Profile | None = None
    while not stop.is_set():
        if profile_path and profiler is None and start_profile.is_set():
            profiler = cProfile.Profile()
            profiler.enable()
        await asyncio.sleep(0.02)
    if profiler is not None and profile_path:
        profiler.disable()
        profiler.dump_stats(profile_path)
    await runner.cleanup()
    if not dispatch:
        await services.channels.close()  # the services' cleanup contexts (not run) do otherwise
    await close_db()


# ---- seeding (parent, before the server starts) ---------------------------------------------
async def seed(db_url: str, csv_path: Path) -> tuple[int, float, float]:
    """Import the residents and open ``antigen`` for all; returns (round id, import s, open s)."""
    from config.clock import SystemClock
    from config.database import close_db, init_db
    from config.settings import Settings
    from estate.importing.residents import import_residents
    from surveys.runtime import SurveyRuntime

    await init_db(db_url)
    try:
        started = time.perf_counter()
        await import_residents(csv_path)
        imported = time.perf_counter() - started
        settings = Settings(_env_file=None, database_url=db_url)  # type: ignore[call-arg]
        runtime = SurveyRuntime(clock=SystemClock(), settings=settings, enabled_channels={"sms"})
        started = time.perf_counter()
        opened = await runtime.open_round("antigen")
        return opened.round.id, imported, time.perf_counter() - started
    finally:
        await close_db()


async def check(db_url: str, round_id: int) -> dict[str, int]:
    from config.database import close_db, init_db
    from notifications.models import OutboxMessage
    from surveys.models import Response, Revision

    await init_db(db_url, migrate=False)
    try:
        by_status: dict[str, int] = defaultdict(int)
        for status in await Response.filter(round_id=round_id).values_list("status", flat=True):
            by_status[str(status)] += 1
        return {
            **{f"responses {k}": v for k, v in sorted(by_status.items())},
            "revisions": await Revision.all().count(),
            "outbox rows": await OutboxMessage.all().count(),
            "outbox not sent": await OutboxMessage.filter(
                status__in=["queued", "claimed", "sending", "failed"]
            ).count(),
        }
    finally:
        await close_db()


# ---- the load generator ---------------------------------------------------------------------
@dataclass
class Request:
    number: str
    body: bytes  # the form, encoded once
    signature: str
    household: int
    step: int  # 0, 1, 2: which answer of the household


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)  # seconds
    statuses: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    sent_at: dict[tuple[str, int], float] = field(default_factory=dict)  # perf_counter
    errors: list[str] = field(default_factory=list)


def inbound_form(number: str, body: str, n: int) -> dict[str, str]:
    """The form Twilio posts for an inbound SMS (the fields of a real webhook)."""
    return inbound_params(
        account_sid=ACCOUNT_SID, from_=number, to=SENDER, body=body, sid=f"SM{n:032x}"
    )


def build_requests(url: str, households: int, rng: random.Random) -> list[list[Request]]:
    """Per household, its three signed answers in order."""
    from urllib.parse import urlencode

    validator = RequestValidator(AUTH_TOKEN)
    plans: list[list[Request]] = []
    n = 0
    for i in range(households):
        number = phone(i)
        steps = []
        for step, body in enumerate(("1", str(rng.randint(1, 5)), "0")):
            n += 1
            form = inbound_form(number, body, n)
            signature = str(validator.compute_signature(url, form))
            steps.append(Request(number, urlencode(form).encode(), signature, i, step))
        plans.append(steps)
    return plans


async def run_load(url: str, plans: list[list[Request]], concurrency: int) -> tuple[Results, float]:
    results = Results()
    queue: asyncio.Queue[list[Request]] = asyncio.Queue()
    for plan in plans:
        queue.put_nowait(plan)
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}

    async def worker(session: aiohttp.ClientSession) -> None:
        while True:
            try:
                plan = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            for request in plan:
                started = time.perf_counter()
                results.sent_at[(request.number, request.step)] = started
                try:
                    async with session.post(
                        url,
                        data=request.body,
                        headers={**headers, "X-Twilio-Signature": request.signature},
                    ) as resp:
                        await resp.read()
                        status = resp.status
                except aiohttp.ClientError as exc:
                    results.errors.append(f"{type(exc).__name__}: {exc}")
                    status = 0
                results.latencies.append(time.perf_counter() - started)
                results.statuses[status] += 1

    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return results, elapsed


def quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:  # noqa: ASYNC109
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def ok(flag: bool) -> str:
    return "meets target" if flag else "BELOW TARGET"


# ---- main -----------------------------------------------------------------------------------
async def main(args: argparse.Namespace) -> None:
    from tests.fakes.twilio import FakeTwilio

    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="bench_sms_"))
    db_url = f"sqlite://{tmp}/bench.sqlite3"
    csv_path = tmp / "residents.csv"
    write_csv(csv_path, args.households, rng)
    round_id, import_s, open_s = await seed(db_url, csv_path)
    print(
        f"seeded {args.households} SMS households in {import_s:.2f} s (import), round opened in {open_s:.2f} s"
    )

    port = free_port()
    url = f"http://127.0.0.1:{port}/twilio/sms"
    ctx = mp.get_context("spawn")
    ready, start_profile, stop = ctx.Event(), ctx.Event(), ctx.Event()
    async with FakeTwilio(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, clock=time.perf_counter
    ) as tw:
        server = ctx.Process(
            target=serve,
            args=(
                db_url,
                port,
                tw.url,
                ready,
                start_profile,
                stop,
                args.profile,
                args.log_level,
                not args.inbound_only,
            ),
            daemon=True,
        )
        server.start()
        try:
            print(f"server pid {server.pid} on {url}")
            if not await wait_until(ready.is_set, 60):
                raise SystemExit("the server did not start")
            started = time.perf_counter()
            if args.inbound_only:
                print("inbound only: the dispatcher is not running, nothing is sent")
            elif not await wait_until(lambda: len(tw.messages) >= args.households, 120):
                raise SystemExit(f"only {len(tw.messages)} first questions were sent")
            else:
                print(
                    f"first questions: {len(tw.messages)} SMS sent in "
                    f"{time.perf_counter() - started:.2f} s (limits off)"
                )

            plans = build_requests(url, args.households, rng)
            start_profile.set()
            results, elapsed = await run_load(url, plans, args.concurrency)
            load_end = time.perf_counter()
            expected = args.households * 4  # the first question + a reply to each answer
            drained = args.inbound_only or await wait_until(
                lambda: len(tw.messages) >= expected, 120
            )
            drain_s = time.perf_counter() - load_end
        finally:
            stop.set()
            await asyncio.to_thread(server.join, 60)
            if server.is_alive():  # our own child, by its pid
                server.terminate()
                server.join(5)

        # Reply latency: answer k of a household -> message k+1 to it reached FakeTwilio.
        created: dict[str, list[float]] = defaultdict(list)
        for message in tw.messages:
            created[message.to].append(message.created)
        reply_latencies = []
        for (number, step), sent in results.sent_at.items():
            times = created.get(number, [])
            if len(times) > step + 1:
                reply_latencies.append(times[step + 1] - sent)

    answers = len(results.latencies)
    rate = answers / elapsed if elapsed else 0.0
    p50, p90, p99 = (quantile(results.latencies, q) * 1000 for q in (0.5, 0.9, 0.99))
    worst = max(results.latencies) * 1000 if results.latencies else float("nan")
    print()
    print(f"households {args.households}, concurrency {args.concurrency}, answers {answers}")
    print(
        f"HTTP statuses: {dict(results.statuses)}"
        + (f", errors: {results.errors[:3]}" if results.errors else "")
    )
    print(f"load phase      {elapsed:8.2f} s")
    print(
        f"answers/s       {rate:8.1f}      target >= {TARGET_RATE:.0f}/s: {ok(rate >= TARGET_RATE)}"
    )
    print(f"latency p50     {p50:8.1f} ms")
    print(f"latency p90     {p90:8.1f} ms")
    print(
        f"latency p99     {p99:8.1f} ms   target < {TARGET_P99_MS:.0f} ms: {ok(p99 < TARGET_P99_MS)}"
    )
    print(f"latency max     {worst:8.1f} ms")
    if reply_latencies:
        r50, r99 = (quantile(reply_latencies, q) * 1000 for q in (0.5, 0.99))
        print(f"reply SMS (answer -> next question at Twilio) p50 {r50:.1f} ms, p99 {r99:.1f} ms")
    if not args.inbound_only:
        print(
            f"outbound SMS {len(tw.messages)}/{expected}"
            + ("" if drained else " (not all sent within 120 s)")
            + f", drained {drain_s:.2f} s after the load ended"
        )
    for key, value in (await check(db_url, round_id)).items():
        print(f"  {key}: {value}")
    if args.profile:
        print(
            f"\nserver profile (load phase) written to {args.profile}; top functions by own time:"
        )
        stats = pstats.Stats(args.profile)
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)
    if not args.keep:
        await asyncio.to_thread(shutil.rmtree, tmp, ignore_errors=True)
    else:
        print(f"database kept in {tmp}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--households", type=int, default=2000)
    parser.add_argument("-c", "--concurrency", type=int, default=32)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", metavar="FILE", help="cProfile the server during the load")
    parser.add_argument("--top", type=int, default=25, help="profile lines to print")
    parser.add_argument("--log-level", default="WARNING", help="server log level (run uses INFO)")
    parser.add_argument("--keep", action="store_true", help="keep the temp database")
    parser.add_argument(
        "--inbound-only",
        action="store_true",
        help="do not run the dispatcher (measure the webhook path alone; replies stay queued)",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    os.environ.pop("LOUZHANG_DATABASE_URL", None)
    asyncio.run(main(parse_args()))
