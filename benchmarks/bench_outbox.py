"""The outbox dispatcher's figures. Prints them, never asserts.

1. **Rate used / rate allowed.** N Telegram messages to N distinct chats are enqueued, then one
   :class:`~notifications.dispatch.dispatcher.Dispatcher` (limits on: 30/s per bot, 1/s per chat) drains
   them into the fake Bot API server made to enforce those limits (``FakeTelegram(
   enforce_limits=True)``, which answers 429 and counts ``rate_limit_violations`` when a client
   goes over). The same for SMS: 1- and 2-segment Chinese texts into ``FakeTwilio(
   enforce_limits=True, segments_per_second=R)`` with ``sms_segments_per_second=R``.

   How the rate is computed: from the fake's own record of the successful calls. Under "at most
   L units in any 1-second window" (Telegram) or "a bucket of L units refilled at L/s"
   (Twilio), at most ``L * (span + 1 s)`` units can be sent between a first call and a last call
   ``span`` seconds apart. So ``achieved = units / (span + 1 s)`` and ``ratio = achieved / L``
   (never above 1 for a client that keeps the limit; a client that leaves the limit idle scores
   below 1). The busiest 1-second window is printed too, as a check of the fake's 429 count.

2. **Call-up latency.** A survey backlog (``Priority.SURVEY``) of 5,000 Telegram messages drains
   at the limit; before every trial it is topped up to 5,000 again, then a random pause
   (0.2-1.0 s) puts the call-up at a random moment of the sending. The call-up
   (``Priority.CALLUP``) goes to a chat that gets nothing else, so Telegram's 1/s per chat never
   delays it: what is measured is the queue. Latency = ``time.monotonic()`` just before
   ``enqueue`` is called -> the fake's ``Call.at`` of that message's successful sendMessage (the
   fake stamps with ``time.monotonic`` too, when the request arrives). Nobody calls
   ``dispatcher.notify()``: a call-up may come from another process (``louzhang drive start``),
   and a dispatcher busy with a backlog never sleeps anyway. The next trial starts once the
   call-up was sent.

3. **Dispatcher overhead.** Limits off (``limits_enabled=False``) and a channel adapter that
   answers at once in-process (no HTTP: it records the text and returns a provider id), so the
   figure is the dispatcher and its database: claim, record the attempt, write the outcome.
   N messages with a unique text each are enqueued, then worker processes (``multiprocessing``,
   spawn) each run a Dispatcher on that database. Every worker starts (imports, Tortoise init)
   before the clock starts; the clock stops when every worker has seen no row left queued,
   claimed or sending (polled every 50 ms) and its dispatcher has stopped, i.e. every outcome is
   written. The texts the workers' fakes recorded are then compared: sent once, twice, never.
   SQLite (a temporary file): one process. PostgreSQL (``--postgres URL`` or env
   ``LOUZHANG_TEST_POSTGRES``, a server URL; a fresh database is created and dropped): one and
   two processes.

Sections 1 and 2 run on SQLite by default (``--db postgres`` to run them on PostgreSQL). The
fake servers run in this process, on the dispatcher's event loop, as in the tests; PTB and the
twilio client talk to them over loopback HTTP.

Run: ``.venv/bin/python benchmarks/bench_outbox.py`` (``--quick``, the default: 600 Telegram
messages, 140 SMS, about 2 minutes in all) or ``--full`` (3,000 Telegram messages as the
issue asks, 1,000 SMS; about 6 minutes). ``--only rate|latency|overhead`` picks sections.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import logging
import multiprocessing as mp
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import build_channels, build_dispatcher  # noqa: E402
from config.clock import SystemClock  # noqa: E402
from config.database import close_db, init_db  # noqa: E402
from config.settings import Settings  # noqa: E402
from estate.models import Building, Contact, Estate, Household  # noqa: E402
from notifications.channels.base import SendResult  # noqa: E402
from notifications.dispatch.dispatcher import Dispatcher  # noqa: E402
from notifications.message import Message  # noqa: E402
from notifications.models import OutboxMessage, Priority  # noqa: E402
from notifications.outbox import Outgoing, enqueue, enqueue_many  # noqa: E402
from notifications.segments import count_segments  # noqa: E402
from tests.fakes.telegram import Call, FakeTelegram  # noqa: E402
from tests.fakes.twilio import FakeTwilio  # noqa: E402

TOKEN = "42:BENCHOUTBOX"
TWILIO_SID = "AC" + "b" * 32
TWILIO_TOKEN = "bench-token"
TWILIO_FROM = "+15005550006"
PENDING = ("queued", "claimed", "sending")
CHUNK = 1000


# ------------------------------------------------------------------------------------------
# Set-up helpers
# ------------------------------------------------------------------------------------------
def settings_for(url: str, **overrides: Any) -> Settings:
    return Settings(_env_file=None, database_url=url, **overrides)  # type: ignore[call-arg]


@asynccontextmanager
async def fresh_database(
    kind: str, workdir: Path, label: str, pg: str | None
) -> AsyncIterator[str]:
    """A URL to a new, empty database (not yet initialised); PostgreSQL ones are dropped after."""
    if kind == "sqlite":
        yield f"sqlite://{workdir}/{label}-{uuid.uuid4().hex[:6]}.sqlite3"
        return
    if not pg:
        raise SystemExit(
            "PostgreSQL asked for but no URL: pass --postgres or LOUZHANG_TEST_POSTGRES"
        )
    import asyncpg

    name = f"louzhang_bench_{label}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(pg.replace("postgres://", "postgresql://", 1))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def make_contacts(channel: str, addresses: Sequence[str]) -> list[Contact]:
    """One household per address, each with one contact on ``channel``; in address order."""
    estate = await Estate.create(name=f"bench-{channel}-{uuid.uuid4().hex[:8]}")
    building = await Building.create(estate=estate, number=1, floors=30)
    await Household.bulk_create(
        [
            Household(building=building, floor=1 + (i // 10) % 30, room=f"r{i}")
            for i in range(len(addresses))
        ],
        batch_size=CHUNK,
    )
    households = await Household.filter(building=building).order_by("id")
    await Contact.bulk_create(
        [
            Contact(household=h, channel=channel, address=a)
            for h, a in zip(households, addresses, strict=True)
        ],
        batch_size=CHUNK,
    )
    contacts = await Contact.filter(household__building=building, channel=channel)
    by_address = {c.address: c for c in contacts}
    return [by_address[a] for a in addresses]


async def enqueue_all(items: Sequence[Outgoing]) -> None:
    now = SystemClock().now()
    for start in range(0, len(items), CHUNK):
        await enqueue_many(items[start : start + CHUNK], now=now)


async def pending_count() -> int:
    return await OutboxMessage.filter(status__in=PENDING).count()


def ok_sends(tg: FakeTelegram, start: int = 0) -> list[Call]:
    return [c for c in tg.calls[start:] if c.method == "sendMessage" and c.status == 200]


def busiest_window(stamps: Sequence[float], weights: Sequence[int], window: float = 1.0) -> int:
    """The most units in any half-open window of ``window`` seconds."""
    best = total = 0
    lo = 0
    for hi, stamp in enumerate(stamps):
        total += weights[hi]
        while stamps[lo] <= stamp - window:
            total -= weights[lo]
            lo += 1
        best = max(best, total)
    return best


async def wait_until(done: Callable[[], Awaitable[bool] | bool], limit: float) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        result = done()
        if not isinstance(result, bool):
            result = await result
        if result:
            return True
        await asyncio.sleep(0.05)
    return False


def quantile(values: Sequence[float], q: float) -> float:
    """Linear-interpolation quantile (``q`` in [0, 1]) of a non-empty sample."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


class GcPauses:
    """Garbage-collector pauses: each stalls the event loop, e.g. between a rate-limit stamp and
    the request it allowed."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append(time.perf_counter() - self._started)

    def install(self) -> None:
        gc.callbacks.append(self._callback)

    def reset(self) -> None:
        self.pauses = []

    def summary(self) -> str:
        longest = max(self.pauses, default=0.0) * 1000
        over = sum(1 for p in self.pauses if p > 0.010)
        return f"GC pauses: {len(self.pauses)}, {over} over 10 ms, longest {longest:.0f} ms"


GC_PAUSES = GcPauses()


def print_stats(dispatcher: Dispatcher) -> None:
    stats = dispatcher.stats
    print(
        f"  dispatcher: sent {stats.sent}, retried {stats.retried}, failed {stats.failed}, "
        f"deferred {stats.deferred}, expired {stats.expired}"
        + (f"; last errors {stats.last_errors[-3:]}" if stats.last_errors else "")
    )
    print(f"  while it ran: {GC_PAUSES.summary()}")


def print_rate(
    unit: str,
    units: int,
    stamps: Sequence[float],
    weights: Sequence[int],
    limit: float,
    allowed_window: str,
) -> None:
    span = stamps[-1] - stamps[0] if stamps else 0.0
    achieved = units / (span + 1.0)
    print(
        f"  achieved {achieved:.2f} {unit}/s = {units} / (first->last call {span:.2f} s + 1 s); "
        f"limit {limit:g}/s; ratio {achieved / limit:.3f} (target >= 0.97)"
    )
    print(
        f"  busiest 1-s window (fake's stamps): {busiest_window(stamps, weights)} {unit} "
        f"(the limit allows {allowed_window})"
    )


# ------------------------------------------------------------------------------------------
# 1. Send rate against the rate-limited fakes
# ------------------------------------------------------------------------------------------
async def bench_telegram_rate(url: str, n: int) -> None:
    settings = settings_for(url, telegram_rate_per_second=30.0, telegram_rate_per_chat=1.0)
    print(
        f"\n[1a] Telegram: drain {n} messages to {n} chats, limits 30/s and 1/s per chat, "
        f"{db_name(url)}"
    )
    await init_db(url)
    try:
        async with FakeTelegram(token=TOKEN, enforce_limits=True, strict_chats=False) as tg:
            contacts = await make_contacts("telegram", [str(100_000 + i) for i in range(n)])
            await enqueue_all(
                [
                    Outgoing(
                        contact=c, message=Message(f"问卷 {i}: 今天抗原结果?"), key=f"rate-tg-{i}"
                    )
                    for i, c in enumerate(contacts)
                ]
            )
            with_bot = settings.model_copy(
                update={"telegram_token": TOKEN, "telegram_api_url": tg.url}
            )
            channels = build_channels(with_bot, simulator=False)  # as `louzhang worker` does
            assert channels.telegram_bot is not None
            async with channels.telegram_bot:
                dispatcher = build_dispatcher(channels, with_bot, SystemClock(), poll_interval=0.05)
                calls_before = len(tg.calls)  # getMe
                stop = asyncio.Event()
                started = time.monotonic()
                GC_PAUSES.reset()
                task = asyncio.create_task(dispatcher.run(stop))
                finished = await wait_until(
                    lambda: len(ok_sends(tg, calls_before)) >= n, n / 30 * 2 + 30
                )
                stop.set()
                await task
                drained = time.monotonic() - started
            sends = ok_sends(tg, calls_before)
            stamps = [c.at for c in sends]
            texts = Counter(c.params["text"] for c in sends)
            sent_rows = await OutboxMessage.filter(status="sent").count()
        if not finished:
            print(f"  DID NOT FINISH: {len(sends)} of {n} sent")
        if stamps:
            print(
                f"  first call {stamps[0] - started:.2f} s after the dispatcher started; "
                f"every row recorded sent after {drained:.2f} s"
            )
            print_rate("msgs", len(sends), stamps, [1] * len(stamps), 30.0, "30")
        print(
            f"  429s: {tg.rate_limit_violations}; distinct texts sent {len(texts)}/{n}, "
            f"sent twice {sum(1 for v in texts.values() if v > 1)}; rows 'sent' {sent_rows}/{n}"
        )
        print_stats(dispatcher)
    finally:
        await close_db()


SMS_ONE = "【楼长】3号楼居民请注意：明天上午8点起按楼层下楼做核酸，听到通知再下楼。编号{i:05d}"
SMS_TWO = SMS_ONE + "请全程佩戴口罩，间隔两米排队，带好手机和身份证，听从志愿者安排。谢谢配合！"


def sms_text(i: int) -> str:
    return (SMS_ONE if i % 2 == 0 else SMS_TWO).format(i=i)


async def bench_sms_rate(url: str, n: int, rate: float) -> None:
    print(
        f"\n[1b] SMS: drain {n} Chinese texts (1 and 2 segments, alternating), "
        f"{rate:g} segments/s per sender, {db_name(url)}"
    )
    await init_db(url)
    try:
        async with FakeTwilio(
            account_sid=TWILIO_SID,
            auth_token=TWILIO_TOKEN,
            enforce_limits=True,
            segments_per_second=rate,
        ) as tw:
            settings = settings_for(
                url,
                twilio_account_sid=TWILIO_SID,
                twilio_auth_token=TWILIO_TOKEN,
                twilio_from=TWILIO_FROM,
                twilio_api_url=tw.url,
                sms_segments_per_second=rate,
            )
            contacts = await make_contacts("sms", [f"+86138{i:08d}" for i in range(n)])
            texts = [sms_text(i) for i in range(n)]
            segments = Counter(count_segments(t).segments for t in texts)
            total_segments = sum(k * v for k, v in segments.items())
            print(
                f"  segment mix (segments: messages): {dict(sorted(segments.items()))}; "
                f"{total_segments} segments"
            )
            await enqueue_all(
                [
                    Outgoing(contact=c, message=Message(t), key=f"rate-sms-{i}")
                    for i, (c, t) in enumerate(zip(contacts, texts, strict=True))
                ]
            )
            channels = build_channels(settings, simulator=False)  # as `louzhang worker` does
            channel = channels.sms
            assert channel is not None
            dispatcher = build_dispatcher(channels, settings, SystemClock(), poll_interval=0.05)
            stop = asyncio.Event()
            started = time.monotonic()
            GC_PAUSES.reset()
            task = asyncio.create_task(dispatcher.run(stop))
            try:
                finished = await wait_until(
                    lambda: len(tw.messages) >= n, total_segments / rate * 2 + 30
                )
            finally:
                stop.set()
                await task
                await channel.close()
            drained = time.monotonic() - started
            created = sorted(tw.messages, key=lambda m: m.created)
            stamps = [m.created for m in created]
            weights = [m.num_segments for m in created]
            bodies = Counter(m.body for m in created)
            sent_rows = await OutboxMessage.filter(status__in=["sent", "accepted"]).count()
        if not finished:
            print(f"  DID NOT FINISH: {len(created)} of {n} created")
        if stamps:
            print(
                f"  first create {stamps[0] - started:.2f} s after the dispatcher started; "
                f"every row recorded after {drained:.2f} s"
            )
            print_rate(
                "segments",
                sum(weights),
                stamps,
                weights,
                rate,
                f"{2 * rate:g}: full bucket + refill",
            )
            span = stamps[-1] - stamps[0]
            print(f"  messages/s: {len(created) / (span + 1.0):.2f}")
        print(
            f"  429s: {tw.rate_limit_violations}; distinct bodies {len(bodies)}/{n}, "
            f"sent twice {sum(1 for v in bodies.values() if v > 1)}; "
            f"rows sent/accepted {sent_rows}/{n}"
        )
        print_stats(dispatcher)
    finally:
        await close_db()


# ------------------------------------------------------------------------------------------
# 2. Call-up latency under a survey backlog
# ------------------------------------------------------------------------------------------
async def bench_callup_latency(url: str, backlog: int, trials: int, seed: int) -> None:
    print(
        f"\n[2] call-up latency: {trials} call-ups under a {backlog}-message survey backlog, "
        f"Telegram limits on, {db_name(url)}"
    )
    rng = random.Random(seed)
    settings = settings_for(url)
    await init_db(url)
    try:
        async with FakeTelegram(token=TOKEN, enforce_limits=True, strict_chats=False) as tg:
            survey = await make_contacts("telegram", [str(200_000 + i) for i in range(backlog)])
            callup = await make_contacts("telegram", [str(900_000 + i) for i in range(trials)])
            generation = itertools.count()
            enqueued = 0

            async def waiting_surveys() -> int:
                return await OutboxMessage.filter(
                    status__in=("queued", "claimed"), priority=int(Priority.SURVEY)
                ).count()

            async def top_up() -> None:
                nonlocal enqueued
                need = backlog - await waiting_surveys()
                if need > 0:
                    gen = next(generation)
                    await enqueue_all(
                        [
                            Outgoing(
                                contact=survey[(enqueued + k) % backlog],
                                message=Message(f"问卷 {gen}-{k}"),
                                key=f"survey-{gen}-{k}",
                                priority=Priority.SURVEY,
                            )
                            for k in range(need)
                        ]
                    )
                    enqueued += need

            await top_up()
            with_bot = settings.model_copy(
                update={"telegram_token": TOKEN, "telegram_api_url": tg.url}
            )
            channels = build_channels(with_bot, simulator=False)  # as `louzhang worker` does
            assert channels.telegram_bot is not None
            async with channels.telegram_bot:
                dispatcher = build_dispatcher(channels, with_bot, SystemClock(), poll_interval=0.05)
                stop = asyncio.Event()
                started = time.monotonic()
                GC_PAUSES.reset()
                task = asyncio.create_task(dispatcher.run(stop))
                await asyncio.sleep(2.0)  # the backlog is draining at the limit
                latencies: list[float] = []
                backlogs: list[int] = []
                lost = 0
                scanned = 0
                try:
                    for k in range(trials):
                        await top_up()
                        await asyncio.sleep(rng.uniform(0.2, 1.0))
                        backlogs.append(await waiting_surveys())
                        text = f"请 {k} 号楼层下楼核酸 (call-up {k})"
                        scanned = len(tg.calls)
                        t0 = time.monotonic()
                        await enqueue(
                            Outgoing(
                                contact=callup[k],
                                message=Message(text),
                                key=f"callup-{k}",
                                priority=Priority.CALLUP,
                                purpose="callup",
                            ),
                            now=SystemClock().now(),
                        )
                        found: list[Call] = []

                        def seen(
                            text: str = text, found: list[Call] = found, start: int = scanned
                        ) -> bool:
                            found[:] = [c for c in ok_sends(tg, start) if c.params["text"] == text]
                            return bool(found)

                        if await wait_until(seen, 10.0):
                            latencies.append(found[0].at - t0)
                        else:
                            lost += 1
                finally:
                    stop.set()
                    await task
                elapsed = time.monotonic() - started
                survey_sent = sum(1 for c in ok_sends(tg) if c.params["text"].startswith("问卷"))
        if latencies:
            ms = {
                name: value * 1000
                for name, value in (
                    ("p50", quantile(latencies, 0.5)),
                    ("p90", quantile(latencies, 0.9)),
                    ("p99", quantile(latencies, 0.99)),
                    ("max", max(latencies)),
                    ("mean", statistics.fmean(latencies)),
                    ("min", min(latencies)),
                )
            }
            print(
                "  " + ", ".join(f"{k} {v:.0f} ms" for k, v in ms.items()) + " (target p99 < 1000)"
            )
            print(f"  {len(latencies)} trials measured, {lost} not sent within 10 s")
        print(
            f"  survey backlog (queued) at each call-up: {min(backlogs)}..{max(backlogs)}; "
            f"survey messages sent meanwhile {survey_sent} in {elapsed:.1f} s "
            f"({survey_sent / elapsed:.1f}/s); 429s: {tg.rate_limit_violations}"
        )
        print_stats(dispatcher)
    finally:
        await close_db()


# ------------------------------------------------------------------------------------------
# 3. Dispatcher overhead: limits off, a channel that answers at once, 1 or 2 processes
# ------------------------------------------------------------------------------------------
class InstantChannel:
    """A Telegram-named adapter that answers at once and records every text it was given."""

    name = "telegram"

    def __init__(self) -> None:
        self.texts: list[str] = []
        self._ids = itertools.count(1)

    def sender_key(self) -> str:
        return "telegram"

    def cost(self, message: Message) -> int:
        return 1

    async def send(self, address: str, message: Message) -> SendResult:
        self.texts.append(message.text)
        return SendResult(provider_id=str(next(self._ids)))


@dataclass
class WorkerResult:
    index: int
    texts: list[str]
    started: float
    ended: float
    stats: dict[str, Any]
    error: str | None = None


def overhead_worker(url: str, index: int, ready: Any, go: Any, results: Any) -> None:
    """Entry point of a worker process (spawned)."""
    logging.basicConfig(
        level=logging.WARNING, format=f"worker {index}: %(levelname)s %(name)s: %(message)s"
    )
    try:
        result = asyncio.run(_overhead_worker(url, index, ready, go))
    except Exception as exc:  # report, do not hang the parent
        result = WorkerResult(index, [], 0.0, 0.0, {}, f"{type(exc).__name__}: {exc}")
        ready.put(index)
    results.put(result)


async def _overhead_worker(url: str, index: int, ready: Any, go: Any) -> WorkerResult:
    await init_db(url, migrate=False)
    try:
        channel = InstantChannel()
        dispatcher = Dispatcher(
            {"telegram": channel},
            clock=SystemClock(),
            settings=settings_for(url),
            limits_enabled=False,
            poll_interval=0.05,
            worker_id=f"bench-{index}-{os.getpid()}",
        )
        await OutboxMessage.filter(id=0).exists()  # open the connection before the clock starts
        ready.put(index)
        await asyncio.get_running_loop().run_in_executor(None, go.wait)
        started = time.monotonic()
        stop = asyncio.Event()
        task = asyncio.create_task(dispatcher.run(stop))
        while not task.done():
            await asyncio.sleep(0.05)
            if not await OutboxMessage.filter(status__in=PENDING).exists():
                break
        stop.set()
        await task
        ended = time.monotonic()
        return WorkerResult(index, channel.texts, started, ended, asdict(dispatcher.stats))
    finally:
        await close_db()


async def prepare_overhead(url: str, n: int) -> None:
    await init_db(url)
    try:
        contacts = await make_contacts("telegram", [str(1_000_000 + i) for i in range(n)])
        await enqueue_all(
            [
                Outgoing(contact=c, message=Message(f"overhead {i}"), key=f"ovh-{i}")
                for i, c in enumerate(contacts)
            ]
        )
    finally:
        await close_db()


async def count_rows(url: str) -> dict[str, int]:
    await init_db(url, migrate=False)
    try:
        rows = await OutboxMessage.all().values_list("status", flat=True)
        return dict(Counter(rows))
    finally:
        await close_db()


async def bench_overhead(url: str, n: int, workers: int) -> None:
    print(
        f"\n[3] overhead: {n} messages, limits off, instant channel, {db_name(url)}, "
        f"{workers} process(es)"
    )
    await prepare_overhead(url, n)
    ctx = mp.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [
        ctx.Process(target=overhead_worker, args=(url, i, ready, go, results), daemon=True)
        for i in range(workers)
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        await asyncio.to_thread(ready.get, True, 120)
    t0 = time.monotonic()
    go.set()
    got: list[WorkerResult] = [
        await asyncio.to_thread(results.get, True, n / 50 + 120) for _ in procs
    ]
    for proc in procs:
        await asyncio.to_thread(proc.join, 30)
    errors = [r.error for r in got if r.error]
    if errors:
        print(f"  WORKER FAILED: {errors}")
        return
    elapsed = max(r.ended for r in got) - t0
    texts = Counter(t for r in got for t in r.texts)
    expected = {f"overhead {i}" for i in range(n)}
    twice = sum(1 for v in texts.values() if v > 1)
    never = len(expected - texts.keys())
    rows = await count_rows(url)
    print(f"  {n / elapsed:,.0f} messages/s ({n} in {elapsed:.2f} s: go -> every row final)")
    print(
        f"  calls recorded {sum(texts.values())}: distinct {len(texts)}, sent twice {twice}, "
        f"never sent {never}; rows by status {rows}"
    )
    for r in sorted(got, key=lambda r: r.index):
        print(
            f"  worker {r.index}: sent {len(r.texts)} in {r.ended - r.started:.2f} s; "
            f"retried {r.stats['retried']}, failed {r.stats['failed']}, "
            f"recovered in flight {r.stats['recovered_in_flight']}"
        )


# ------------------------------------------------------------------------------------------
def db_name(url: str) -> str:
    return "SQLite" if url.startswith("sqlite") else "PostgreSQL"


async def main_async(args: argparse.Namespace) -> None:
    # As `louzhang run` and `louzhang worker` do once started: long-lived objects are frozen
    # out of the garbage collector, whose long pauses would otherwise delay sends.
    gc.collect()
    gc.freeze()
    full = args.full
    tg_n = args.telegram_messages or (3000 if full else 600)
    sms_n = args.sms_messages or (1000 if full else 140)
    ovh_n = args.overhead_messages or (50_000 if full else 20_000)
    pg = args.postgres
    sections = set(args.only or ["rate", "latency", "overhead"])
    print(
        f"bench_outbox ({'full' if full else 'quick'}): python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs; PostgreSQL: {pg or 'not set (LOUZHANG_TEST_POSTGRES)'}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-outbox-") as tmp:
        workdir = Path(tmp)
        if "rate" in sections:
            async with fresh_database(args.db, workdir, "tg", pg) as url:
                await bench_telegram_rate(url, tg_n)
            async with fresh_database(args.db, workdir, "sms", pg) as url:
                await bench_sms_rate(url, sms_n, args.sms_rate)
        if "latency" in sections:
            async with fresh_database(args.db, workdir, "lat", pg) as url:
                await bench_callup_latency(url, args.backlog, args.trials, args.seed)
        if "overhead" in sections:
            async with fresh_database("sqlite", workdir, "ovh", pg) as url:
                await bench_overhead(url, ovh_n, 1)
            if pg:
                for workers in (1, 2):
                    async with fresh_database("postgres", workdir, "ovh", pg) as url:
                        await bench_overhead(url, ovh_n, workers)
            else:
                print("  PostgreSQL skipped: set LOUZHANG_TEST_POSTGRES or pass --postgres")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="short runs (the default)")
    size.add_argument(
        "--full", action="store_true", help="3,000 Telegram messages, as the issue asks"
    )
    parser.add_argument("--only", action="append", choices=["rate", "latency", "overhead"])
    parser.add_argument(
        "--db", choices=["sqlite", "postgres"], default="sqlite", help="for sections 1 and 2"
    )
    parser.add_argument(
        "--postgres", default=os.environ.get("LOUZHANG_TEST_POSTGRES"), help="server URL"
    )
    parser.add_argument("--telegram-messages", type=int)
    parser.add_argument("--sms-messages", type=int)
    parser.add_argument("--sms-rate", type=float, default=10.0, help="segments/s per sender")
    parser.add_argument("--backlog", type=int, default=5000)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--overhead-messages", type=int)
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    GC_PAUSES.install()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
