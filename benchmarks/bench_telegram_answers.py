"""Survey answers per second through the whole Telegram inbound path, against bare PTB.

Prints figures, never asserts them.

What is measured
----------------
**louzhang**: Telegram update JSON -> ``Update.de_json`` -> ``app.update_queue`` (what our
``POST /telegram/webhook`` route does) -> PTB's update fetcher and update processor
(``concurrent_updates(64)`` as :func:`bot.telegram.application.build_application` configures it) ->
``Application.process_update`` -> our handlers -> router -> engine -> one SQLite transaction
(response state, revisions, outbox rows). The clock stops when ``update_queue.join()`` returns,
i.e. when PTB has finished processing every update. The app is the one
:func:`bot.app.build_services` builds (webhook mode, so no Updater).

**bare PTB**: an ``Application`` built with the same builder options (token, base URLs,
``concurrent_updates(64)``, no Updater) and the same four handler kinds, whose callbacks only
append the update id to a list. It is fed the very same update JSON the same way.

Both apps talk to an in-process stand-in for the Bot API (a ``BaseRequest`` that answers
``getMe`` and ``answerCallbackQuery`` at once): no socket is opened, so neither side pays for
network. louzhang's button handler still calls ``answerCallbackQuery`` (PTB builds and parses
that request); the bare app never calls the API while handling updates.

The dispatcher is **not** running: we measure the inbound path up to the committed outbox row,
not the sending of the replies.

Set-up (not timed): a temporary SQLite file (WAL, as ``config.database`` configures it), the
demo estate (``estate.demo.seed_demo``), a Telegram contact (address = chat id) for the first N
households, and an ``antigen`` round opened with the runtime. Each household then answers the
whole survey in four waves (all households per wave, so a household's answers never race each
other): press "yes" (``a:{response_id}:{seq}:y``), type "3", type "0", press "skip" on the
optional photo. The button data is read from the stored session, as a resident would read it
from the message. At the end the stored revisions, completed responses and outbox rows are
counted, and any error toast or handler error is reported, so the figure counts answers that
were really stored.

A second round is then answered the same way under cProfile (slower, not timed for the
figure) to show where the time goes.

Run: ``.venv/bin/python benchmarks/bench_telegram_answers.py [--households 1000]``
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import os
import pstats
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from telegram import Update  # noqa: E402
from telegram.ext import (  # noqa: E402
    Application,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest, RequestData  # noqa: E402

from bot.app import Services, build_channels, build_services  # noqa: E402
from bot.telegram.application import application_builder  # noqa: E402
from config.database import close_db, init_db  # noqa: E402
from config.settings import Settings  # noqa: E402
from estate.demo import seed_demo  # noqa: E402
from estate.models import Contact, Household  # noqa: E402
from notifications.channels.telegram import make_bot  # noqa: E402
from notifications.models import OutboxMessage  # noqa: E402
from surveys.models import Response, Revision  # noqa: E402
from tests.fakes.telegram import FakeTelegram  # noqa: E402

TOKEN = "123456:BENCH-TOKEN"
API_URL = "http://127.0.0.1:9"  # never contacted: InProcessBotApi answers instead
CHAT_BASE = 900_000_000
TARGET = 1_000.0
TODAY = date(2022, 4, 10)

JSON = dict[str, Any]


# ---- the Bot API, in process ------------------------------------------------------------------
class InProcessBotApi(BaseRequest):
    """A PTB request backend that answers without a socket and counts what it was asked."""

    def __init__(self, bot_user: JSON) -> None:
        self.bot_user = bot_user
        self.calls: Counter[str] = Counter()
        self.toasts: Counter[str] = Counter()

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        endpoint = url.rsplit("/", 1)[-1]
        self.calls[endpoint] += 1
        result: Any = True
        if endpoint == "getMe":
            result = self.bot_user
        elif endpoint == "answerCallbackQuery" and request_data is not None:
            toast = request_data.parameters.get("text")
            if toast:
                self.toasts[str(toast)] += 1
        return 200, json.dumps({"ok": True, "result": result}).encode()


def use_in_process_api(app: Application, api: InProcessBotApi) -> None:  # type: ignore[type-arg]
    # PTB keeps (getUpdates request, other requests) on the bot; replace both before initialize.
    app.bot._request = (api, api)  # type: ignore[attr-defined]


class SqlCounter:
    """Counts aiosqlite round trips (one thread hop each) by statement kind while active."""

    def __init__(self) -> None:
        self.kinds: Counter[str] = Counter()
        self._original: Any = None

    def __enter__(self) -> SqlCounter:
        import aiosqlite.core

        original = self._original = aiosqlite.core.Connection._execute
        kinds = self.kinds

        async def counted(conn: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
            if args and isinstance(args[0], str):
                words = args[0].split(None, 3)
                kind = words[0].upper()
                if kind in ("INSERT", "UPDATE", "DELETE") and len(words) > 2:
                    table = words[2] if kind != "UPDATE" else words[1]
                    kind = f"{kind} {table.strip(chr(34))}"
                elif kind == "SELECT":
                    match = re.search(r'FROM "?(\w+)"?', args[0])
                    kind = f"SELECT {match.group(1) if match else '?'}"
            else:
                kind = getattr(fn, "__name__", "?")
            kinds[kind] += 1
            return await original(conn, fn, *args, **kwargs)

        aiosqlite.core.Connection._execute = counted  # type: ignore[method-assign, assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        import aiosqlite.core

        aiosqlite.core.Connection._execute = self._original  # type: ignore[method-assign]


class ErrorCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


# ---- the two apps ------------------------------------------------------------------------------
def bench_settings(db_url: str) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=db_url,
        telegram_token=TOKEN,
        telegram_api_url=API_URL,
        telegram_mode="webhook",
        public_url="http://127.0.0.1:1",
    )


def build_bare_app(settings: Settings) -> tuple[Application, list[int]]:  # type: ignore[type-arg]
    """The production bot and builder options (bot.telegram.application.application_builder);
    handlers only record."""
    app = application_builder(settings, make_bot(settings)).build()
    seen: list[int] = []

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(update.update_id)

    app.add_handler(MessageHandler(filters.CONTACT, record))
    app.add_handler(CallbackQueryHandler(record))
    app.add_handler(MessageHandler(filters.PHOTO, record))
    app.add_handler(MessageHandler(filters.TEXT, record))
    return app, seen


async def feed(app: Application, payloads: Sequence[JSON]) -> float:  # type: ignore[type-arg]
    """Hand every update to PTB as the webhook route does; seconds until all are processed."""
    queue = app.update_queue
    start = time.perf_counter()
    for data in payloads:
        update = Update.de_json(data, app.bot)
        await queue.put(update)
        await asyncio.sleep(0)  # let the fetcher pick it up, as between two webhook requests
    await queue.join()
    return time.perf_counter() - start


# ---- the louzhang side -------------------------------------------------------------------------
async def link_households(limit: int) -> dict[int, int]:
    """Give the first ``limit`` households a Telegram contact; returns chat id -> household id."""
    rows = await Household.all().order_by("id").limit(limit).values("id", "language")
    await Contact.bulk_create(
        [
            Contact(
                household_id=row["id"],
                channel="telegram",
                address=str(CHAT_BASE + row["id"]),
                language=row["language"],
            )
            for row in rows
        ],
        batch_size=500,
    )
    return {CHAT_BASE + row["id"]: row["id"] for row in rows}


async def button_wave(
    tg: FakeTelegram, round_id: int, chats: dict[int, int], suffix: str
) -> list[JSON]:
    """A button press per household, with the data of the question it is being asked now."""
    rows = await Response.filter(round_id=round_id, stage="active").values(
        "id", "household_id", "state"
    )
    by_household = {row["household_id"]: row for row in rows}
    out = []
    for chat, household_id in chats.items():
        row = by_household.get(household_id)
        if row is None:
            continue
        data = f"a:{row['id']}:{row['state']['seq']}:{suffix}"
        out.append(tg.make_callback_update(chat, 1000 + row["state"]["seq"], data))
    return out


def text_wave(tg: FakeTelegram, chats: dict[int, int], body: str) -> list[JSON]:
    return [tg.make_message_update(chat, body) for chat in chats]


WAVES = (
    ("press 'yes' (tested today?)", "button", "y"),
    ("type '3' (how many tested)", "text", "3"),
    ("type '0' (how many positive)", "text", "0"),
    ("press 'skip' (photo)", "button", "skip"),
)


async def answer_round(
    services: Services,
    tg: FakeTelegram,
    chats: dict[int, int],
    *,
    profiler: cProfile.Profile | None = None,
) -> dict[str, Any]:
    app = services.telegram
    assert app is not None
    opened = await services.runtime.open_round("antigen")
    round_id = opened.round.id
    outbox_before = await OutboxMessage.all().count()
    waves: list[tuple[str, list[JSON], float]] = []
    sql_by_wave: list[Counter[str]] = []
    for label, kind, value in WAVES:
        payloads = (
            await button_wave(tg, round_id, chats, value)
            if kind == "button"
            else text_wave(tg, chats, value)
        )
        if profiler is not None:
            with SqlCounter() as sql:
                profiler.enable()
                seconds = await feed(app, payloads)
                profiler.disable()
            sql_by_wave.append(sql.kinds)
        else:
            seconds = await feed(app, payloads)
        waves.append((label, payloads, seconds))
    answered = await Response.filter(round_id=round_id, status="answered").count()
    revisions = await Revision.filter(response__round_id=round_id).count()
    by_path = Counter(
        await Revision.filter(response__round_id=round_id).values_list("path", flat=True)
    )
    outbox_after = await OutboxMessage.all().count()
    return {
        "round": round_id,
        "opened": opened,
        "waves": waves,
        "answered": answered,
        "revisions": revisions,
        "by_path": by_path,
        "outbox_rows": outbox_after - outbox_before,
        "sql_by_wave": sql_by_wave,
    }


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def print_sql(
    waves: Sequence[tuple[str, list[JSON], float]], sql_by_wave: Sequence[Counter[str]]
) -> None:
    """Database round trips per answer, by statement, for each wave."""
    print("\nSQLite round trips per answer (each one is a hop to aiosqlite's thread and back):")
    for (label, payloads, _), kinds in zip(waves, sql_by_wave, strict=True):
        n = max(len(payloads), 1)
        total = sum(kinds.values())
        detail = ", ".join(f"{k} {v / n:.1f}" for k, v in kinds.most_common())
        print(f"  {label:<32} {total / n:5.1f}: {detail}")


def print_profile(profiler: cProfile.Profile, answers: int, seconds: float) -> None:
    stats = pstats.Stats(profiler)
    raw = stats.stats  # type: ignore[attr-defined]
    print(
        f"\nProfile (cProfile, main thread only): {answers:,} answers in {seconds:.2f} s under "
        f"the profiler = {rate(answers, seconds):,.0f} answers/s. SQLite itself runs on "
        f"aiosqlite's thread: its time shows as the loop waiting in epoll.poll. For coroutines, "
        f"ncalls counts every resumption, not every call."
    )

    def short(key: tuple[str, int, str]) -> str:
        file, line, name = key
        file = file.replace(os.sep, "/")
        for marker in ("site-packages/", "/lib/python3.11/", str(ROOT).replace(os.sep, "/") + "/"):
            if marker in file:
                file = file.split(marker, 1)[1]
                break
        return f"{file}:{line}({name})" if line else name

    def table(title: str, key: str, keep: Any, limit: int = 15) -> None:
        index = {"cumulative": 3, "tottime": 2}[key]
        items = sorted(
            ((k, v) for k, v in raw.items() if keep(k)), key=lambda kv: kv[1][index], reverse=True
        )[:limit]
        print(f"\n{title}")
        print(f"{'ncalls':>10} {'tottime':>8} {'cumtime':>8}  function")
        for k, (_cc, nc, tt, ct, _callers) in items:
            print(f"{nc:>10,} {tt:>8.2f} {ct:>8.2f}  {short(k)}")

    asyncio_internals = ("/asyncio/", "<built-in method _contextvars", "{method 'run' of")

    def everything(k: tuple[str, int, str]) -> bool:
        return True

    def not_loop(k: tuple[str, int, str]) -> bool:
        text = f"{k[0]}:{k[2]}"
        return not any(marker in text for marker in asyncio_internals) and k[2] not in (
            "run",
            "run_until_complete",
            "run_forever",
            "_run_once",
            "_run",
        )

    def project(k: tuple[str, int, str]) -> bool:
        file = k[0].replace(os.sep, "/")
        return file.startswith(str(ROOT).replace(os.sep, "/") + "/") and "/.venv/" not in file

    by_package: Counter[str] = Counter()
    root = str(ROOT).replace(os.sep, "/") + "/"
    for (file, _line, name), value in raw.items():
        file = file.replace(os.sep, "/")
        if "site-packages/" in file:
            key = file.split("site-packages/", 1)[1].split("/", 1)[0]
        elif file.startswith(root) and "/.venv/" not in file:
            key = "louzhang " + file[len(root) :].split("/", 1)[0] + "/"
        elif "/python3." in file:
            key = "stdlib " + file.split("/python3.", 1)[1].split("/", 1)[1].split("/", 1)[0]
        elif "epoll" in name or "select" in name:
            key = "waiting in epoll (for SQLite's thread, or idle)"
        else:
            key = "builtins"
        by_package[key] += value[2]
    total = sum(by_package.values()) or 1.0
    print("\nOwn time by package (main thread):")
    for key, seconds_ in by_package.most_common(12):
        print(f"  {seconds_:7.2f} s {100 * seconds_ / total:5.1f}%  {key}")

    table("Top 15 by cumulative time (everything):", "cumulative", everything)
    table("Top 15 by cumulative time (without the asyncio loop itself):", "cumulative", not_loop)
    table("Top 15 by own time (tottime):", "tottime", everything)
    table("Top 15 louzhang functions by cumulative time:", "cumulative", project)


async def main(
    households: int, baseline_repeats: int, profile: bool, profile_out: str | None = None
) -> None:
    errors = ErrorCounter()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger().addHandler(errors)

    tmp = tempfile.TemporaryDirectory(prefix="louzhang-bench-")
    db_url = f"sqlite://{tmp.name}/bench.sqlite3"
    print(
        f"louzhang inbound Telegram answers — {os.cpu_count()} CPUs, Python "
        f"{sys.version.split()[0]}, SQLite file in {tmp.name}"
    )
    t0 = time.perf_counter()
    await init_db(db_url)
    seeded = await seed_demo(today=TODAY)
    chats = await link_households(households)
    print(
        f"set-up: demo estate ({seeded.households:,} households); {len(chats):,} households "
        f"linked to a Telegram chat ({time.perf_counter() - t0:.1f} s)"
    )

    settings = bench_settings(db_url)
    tg = FakeTelegram(token=TOKEN)  # only builds update JSON; its server is never started
    api = InProcessBotApi(tg.bot_user)
    services = build_services(settings, channels=build_channels(settings))
    app = services.telegram
    assert app is not None
    use_in_process_api(app, api)
    await app.initialize()  # getMe, answered in process
    await app.start()  # the update fetcher; no Updater in webhook mode; no dispatcher started

    result = await answer_round(services, tg, chats)
    opened = result["opened"]
    print(
        f"round {result['round']} (antigen) opened: {opened.by_channel} "
        f"({opened.unreachable:,} households without a Telegram contact skipped)"
    )

    waves: list[tuple[str, list[JSON], float]] = result["waves"]
    total_answers = sum(len(p) for _, p, _ in waves)
    total_seconds = sum(s for _, _, s in waves)
    toasts = sum(api.toasts.values())

    # Bare PTB on the same update JSON, in the same process, right after.
    bare, seen = build_bare_app(settings)
    bare_api = InProcessBotApi(tg.bot_user)
    use_in_process_api(bare, bare_api)
    await bare.initialize()
    await bare.start()
    bare_runs: list[float] = []
    bare_waves: list[list[float]] = [[] for _ in waves]
    for _ in range(baseline_repeats):
        run_total = 0.0
        for i, (_, payloads, _) in enumerate(waves):
            seconds = await feed(bare, payloads)
            bare_waves[i].append(seconds)
            run_total += seconds
        bare_runs.append(run_total)
    bare_seconds = statistics.median(bare_runs)
    await bare.stop()
    await bare.shutdown()

    louzhang_rate = rate(total_answers, total_seconds)
    bare_rate = rate(total_answers, bare_seconds)
    print("\nper wave (each household answers once per wave):")
    print(f"  {'wave':<32} {'updates':>8} {'louzhang/s':>11} {'bare PTB/s':>11}")
    for i, (label, payloads, seconds) in enumerate(waves):
        bare_s = statistics.median(bare_waves[i])
        print(
            f"  {label:<32} {len(payloads):>8,} {rate(len(payloads), seconds):>11,.0f} "
            f"{rate(len(payloads), bare_s):>11,.0f}"
        )

    expected_revisions = 4 * len(chats)  # tested_today, tested, positive, photo (skipped)
    print("\nstored (the figure only counts if these match):")
    print(
        f"  responses answered: {result['answered']:,} of {len(chats):,}; revisions: "
        f"{result['revisions']:,} ({dict(result['by_path'])}); outbox rows written by the "
        f"answers: {result['outbox_rows']:,}"
    )
    print(
        f"  answerCallbackQuery calls: {api.calls['answerCallbackQuery']:,}; error toasts "
        f"(stale/closed): {toasts:,} {dict(api.toasts) if toasts else ''}; handler errors "
        f"logged: {len(errors.records)}; bare PTB handled {len(seen):,} of "
        f"{total_answers * baseline_repeats:,} updates"
    )
    honest = (
        result["answered"] == len(chats)
        and result["revisions"] >= expected_revisions
        and toasts == 0
        and not errors.records
    )
    print(f"  check: {'OK' if honest else 'MISMATCH — see above'}")

    print("\nRESULT")
    print(
        f"  louzhang (update JSON -> PTB -> router -> engine -> SQLite -> outbox): "
        f"{louzhang_rate:,.0f} answers/s ({total_answers:,} answers in {total_seconds:.2f} s)"
    )
    print(
        f"  bare PTB Application (record-only handlers), median of {baseline_repeats}: "
        f"{bare_rate:,.0f} updates/s ({total_answers:,} updates in {bare_seconds:.3f} s)"
    )
    print(
        f"  ratio louzhang / bare PTB: {louzhang_rate / bare_rate:.3f} "
        f"(bare PTB is {bare_rate / louzhang_rate:.1f}x faster)"
    )
    verdict = "meets" if louzhang_rate >= TARGET else "misses"
    print(f"  target: >= {TARGET:,.0f} answers/s — {verdict} it")

    if profile:
        profiler = cProfile.Profile()
        errors.records.clear()
        before = sum(api.toasts.values())
        presult = await answer_round(services, tg, chats, profiler=profiler)
        p_answers = sum(len(p) for _, p, _ in presult["waves"])
        p_seconds = sum(s for _, _, s in presult["waves"])
        print(
            f"\n(profiled round {presult['round']}: answered {presult['answered']:,}, "
            f"error toasts {sum(api.toasts.values()) - before}, handler errors "
            f"{len(errors.records)})"
        )
        if profile_out:
            profiler.dump_stats(profile_out)
            print(f"\n(profile written to {profile_out}; read it with python -m pstats)")
        print_sql(presult["waves"], presult["sql_by_wave"])
        print_profile(profiler, p_answers, p_seconds)

    await app.stop()
    await app.shutdown()
    await close_db()
    tmp.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=1000)
    parser.add_argument("--baseline-repeats", type=int, default=3)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--profile-out", help="also write the cProfile stats to this file")
    ns = parser.parse_args()
    asyncio.run(main(ns.households, ns.baseline_repeats, not ns.no_profile, ns.profile_out))
