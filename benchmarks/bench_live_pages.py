"""Measure what open live pages (server-sent events) cost the webhooks: ``POST /twilio/sms`` and
``GET /healthz`` latency with 0 and with 150 open live pages.

Prints figures, never asserts. What happens:

1. N SMS-only households (default 1,000, 40 per building) are imported into a fresh SQLite
   database and ``antigen`` is opened for all of them; five staff members are added (an admin
   and four cadres with a quarter of the buildings each) and a one-time login link is made for
   every session (default 50 sessions, spread over the five staff members).
2. The app (``build_services`` + ``create_app``, as ``louzhang run`` builds them) runs in a
   **child process** on a free loopback port, serving the webhooks and the dashboard (the
   dispatcher is not started: replies stay queued, only the inbound path is measured).
3. Phase "0 pages": a load of signed inbound SMS answers (households answering ``1``, a count,
   ``0``; a few at once) while a prober asks ``/healthz`` one request after the other.
4. Each session logs in with its link and opens 3 live pages (two of the round, one of the
   outbox): 150 open event streams by default, read (and discarded) by this process.
   Phase "150 pages": the same load by other households while the pages stay open; every
   answer changes the round, so the live pages have something to rebuild.

Figures: p50/p99/max of both endpoints in both phases, the answers/s, how many streams were
open and how many fragments they received.

Run::

    .venv/bin/python benchmarks/bench_live_pages.py                    # 150 pages, 50 sessions
    .venv/bin/python benchmarks/bench_live_pages.py --sessions 30 --pages-per-session 5
    .venv/bin/python benchmarks/bench_live_pages.py --households 600 --answering 150
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import aiohttp
from bench_sms_inbound import (
    build_requests,
    free_port,
    quantile,
    run_load,
    seed,
    serve,
    wait_until,
    write_csv,
)

STAFF = (
    ("bench-admin", "admin", None),
    ("bench-cadre-1", "cadre", 0),
    ("bench-cadre-2", "cadre", 1),
    ("bench-cadre-3", "cadre", 2),
    ("bench-cadre-4", "cadre", 3),
)


async def add_staff_and_links(db_url: str, buildings: int, sessions: int) -> list[str]:
    """The bench's staff, and one login token per session."""
    from config.clock import SystemClock
    from config.database import close_db, init_db
    from config.settings import Settings
    from estate.logins import create_login_link
    from estate.staff import add_staff

    await init_db(db_url, migrate=False)
    try:
        settings = Settings(_env_file=None, database_url=db_url)  # type: ignore[call-arg]
        quarter = max(1, buildings // 4)
        members = []
        for name, role, part in STAFF:
            numbers = (
                []
                if part is None
                else list(range(part * quarter + 1, min(buildings, (part + 1) * quarter) + 1))
            )
            members.append(await add_staff(name, role=role, buildings=numbers))
        tokens = []
        for n in range(sessions):
            url = await create_login_link(
                members[n % len(members)], settings=settings, clock=SystemClock()
            )
            tokens.append(url.rsplit("/login/", 1)[1])
        return tokens
    finally:
        await close_db()


@dataclass
class Pages:
    sessions: list[aiohttp.ClientSession] = field(default_factory=list)
    readers: list[asyncio.Task[None]] = field(default_factory=list)
    first: int = 0  # streams that got their first fragment
    events: int = 0  # fragments received in all
    closed: int = 0  # streams the server ended

    async def open(self, base: str, tokens: list[str], per_session: int, round_id: int) -> None:
        paths = [f"/rounds/{round_id}/live", "/outbox/live", f"/rounds/{round_id}/live"]
        for token in tokens:
            session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
            self.sessions.append(session)
            async with session.post(f"{base}/login/{token}", allow_redirects=False) as resp:
                if resp.status != 303:
                    raise SystemExit(f"login failed: {resp.status} {await resp.text()}")
            for n in range(per_session):
                path = paths[n % len(paths)]
                self.readers.append(asyncio.create_task(self._read(session, base + path)))

    async def _read(self, session: aiohttp.ClientSession, url: str) -> None:
        got_first = False
        with contextlib.suppress(aiohttp.ClientError, asyncio.CancelledError):
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=None)) as resp:
                async for line in resp.content:
                    if line.startswith(b"data: "):
                        self.events += 1
                        if not got_first:
                            got_first = True
                            self.first += 1
        self.closed += 1

    async def close(self) -> None:
        for task in self.readers:
            task.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)
        for session in self.sessions:
            await session.close()


async def probe_health(base: str, stop: asyncio.Event) -> list[float]:
    """``GET /healthz`` one after the other until ``stop``; the latencies in seconds."""
    latencies: list[float] = []
    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            started = time.perf_counter()
            async with session.get(f"{base}/healthz") as resp:
                await resp.read()
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.02)
    return latencies


async def phase(
    name: str, base: str, plans: list[list[object]], concurrency: int
) -> dict[str, float]:
    stop = asyncio.Event()
    prober = asyncio.create_task(probe_health(base, stop))
    results, elapsed = await run_load(f"{base}/twilio/sms", plans, concurrency)  # type: ignore[arg-type]
    stop.set()
    health = await prober
    bad = {k: v for k, v in results.statuses.items() if k != 200}
    figures = {
        "answers": float(len(results.latencies)),
        "answers/s": len(results.latencies) / elapsed if elapsed else 0.0,
        "sms p50": quantile(results.latencies, 0.5) * 1000,
        "sms p99": quantile(results.latencies, 0.99) * 1000,
        "sms max": max(results.latencies) * 1000,
        "healthz n": float(len(health)),
        "healthz p50": quantile(health, 0.5) * 1000,
        "healthz p99": quantile(health, 0.99) * 1000,
        "healthz max": max(health) * 1000 if health else float("nan"),
    }
    print(
        f"{name:>10}: {figures['answers']:.0f} answers at {figures['answers/s']:.0f}/s; "
        f"/twilio/sms p50 {figures['sms p50']:.1f} ms, p99 {figures['sms p99']:.1f} ms, "
        f"max {figures['sms max']:.1f} ms; /healthz ({figures['healthz n']:.0f}) p50 "
        f"{figures['healthz p50']:.1f} ms, p99 {figures['healthz p99']:.1f} ms, "
        f"max {figures['healthz max']:.1f} ms" + (f"; non-200: {bad}" if bad else "")
    )
    return figures


async def main(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="bench_live_"))
    try:
        db_url = f"sqlite://{tmp}/bench.sqlite3"
        csv_path = tmp / "residents.csv"
        write_csv(csv_path, args.households, rng)
        round_id, _, _ = await seed(db_url, csv_path)
        buildings = -(-args.households // 40)
        tokens = await add_staff_and_links(db_url, buildings, args.sessions)
        pages_wanted = args.sessions * args.pages_per_session
        print(
            f"{args.households} SMS households in {buildings} buildings, round {round_id} open; "
            f"{args.sessions} sessions x {args.pages_per_session} live pages = {pages_wanted}"
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        ctx = mp.get_context("spawn")
        ready, start_profile, stop = ctx.Event(), ctx.Event(), ctx.Event()
        server = ctx.Process(
            target=serve,
            args=(db_url, port, "http://127.0.0.1:9", ready, start_profile, stop, None,
                  args.log_level, False),
            daemon=True,
        )  # fmt: skip
        server.start()
        pages = Pages()
        try:
            if not await wait_until(ready.is_set, 60):
                raise SystemExit("the server did not start")
            plans = build_requests(f"{base}/twilio/sms", args.households, rng)
            answering = min(args.answering, args.households // 2)
            without = await phase("0 pages", base, plans[:answering], args.concurrency)  # type: ignore[arg-type]
            await pages.open(base, tokens, args.pages_per_session, round_id)
            await wait_until(lambda: pages.first + pages.closed >= pages_wanted, 120)
            print(
                f"opened: {pages.first} streams got their first fragment, "
                f"{pages.closed} were closed by the server"
            )
            events_before = pages.events
            with_pages = await phase(
                f"{pages.first - pages.closed} pages",
                base,
                plans[answering : 2 * answering],  # type: ignore[arg-type]
                args.concurrency,
            )
            print(
                f"the open pages received {pages.events - events_before} fragments during the load"
            )
        finally:
            await pages.close()
            stop.set()
            await asyncio.to_thread(server.join, 60)
            if server.is_alive():  # our own child, by its pid
                server.terminate()
                server.join(5)
        print()
        print(f"{'':24}{'0 pages':>12}{f'{pages_wanted} pages':>12}")
        for key in ("sms p99", "healthz p99", "sms p50", "healthz p50"):
            label = {"sms": "/twilio/sms", "healthz": "/healthz"}[key.split()[0]]
            print(
                f"{label + ' ' + key.split()[1] + ' (ms)':24}"
                f"{without[key]:12.1f}{with_pages[key]:12.1f}"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=1000)
    parser.add_argument("--answering", type=int, default=200, help="households per phase")
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--pages-per-session", type=int, default=3)
    parser.add_argument("-c", "--concurrency", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--log-level", default="WARNING")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
