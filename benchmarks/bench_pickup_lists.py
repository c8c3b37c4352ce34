"""Measure building the medicine pickup lists of a whole estate. Prints figures, never asserts.

The demo estate (25 buildings, ~1,800 households, seed 7) is seeded into a temporary SQLite
database, a ``medication`` round is opened for every building and every household's answers
are written directly (seeded ``random.Random(7)``: ~40% need medicine, 1-3 medicines each,
half of them with an insurance card to collect; ~30% of the medicines already marked).

Timed (median of several runs, ``time.perf_counter``):

* load: the round's answered responses and marks read from SQLite and the lists built
  (:func:`surveys.pickups.store.load_lists`), all 25 buildings;
* build: the pure list building alone (:func:`surveys.pickups.lists.build_lists`);
* chat: every building's list rendered as Telegram messages with mark buttons;
* xlsx: the XLSX of all 25 lists (:func:`surveys.pickups.store.xlsx_bytes`).

Run: ``.venv/bin/python benchmarks/bench_pickup_lists.py`` (or ``make bench``).
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.clock import FakeClock
from config.database import database, update_many
from config.settings import Settings
from estate.demo import seed_demo
from surveys.models import Response
from surveys.pickups.lists import Answered, build_lists, render_list
from surveys.pickups.models import PickupMark
from surveys.pickups.store import load_lists, xlsx_bytes
from surveys.pickups.texts import TEXTS
from surveys.runtime import SurveyRuntime

SEED = 7
RUNS = 5
DRUGS = [
    "阿莫西林",
    "硝苯地平缓释片",
    "二甲双胍",
    "胰岛素注射液",
    "阿司匹林肠溶片",
    "氨氯地平",
    "Metformin",
]


def answers_for(rng: random.Random) -> dict[str, Any]:
    if rng.random() >= 0.4:
        return {"needs_medicine": "no"}
    return {
        "needs_medicine": "yes",
        "medicines": [
            {
                "patient": rng.choice(["本人", "母亲", "父亲", "老伴"]),
                "drug": rng.choice(DRUGS),
                "dose": f"{rng.choice(['0.5克', '10mg', '5mg'])} {rng.randint(1, 6)}盒",
                "days_left": rng.randint(0, 14),
                "hospital": rng.choice(["", "区中心医院", "社区卫生服务中心"]),
                "insurance_card": rng.choice(["yes", "no"]),
            }
            for _ in range(rng.randint(1, 3))
        ],
        "urgency": rng.choice(["today", "within_3_days", "this_week"]),
    }


def median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:8.1f} ms"


async def timed(func: Callable[[], Awaitable[Any]]) -> tuple[list[float], Any]:
    samples: list[float] = []
    result: Any = None
    for _ in range(RUNS):
        start = time.perf_counter()
        result = await func()
        samples.append(time.perf_counter() - start)
    return samples, result


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite://{tmp}/bench.sqlite3"
        async with database(url):
            t0 = time.perf_counter()
            report = await seed_demo(seed=SEED, today=date(2022, 4, 10))
            seeded = time.perf_counter() - t0
            settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
            runtime = SurveyRuntime(clock=FakeClock(), settings=settings)
            opened = await runtime.open_round("medication")
            round_id = opened.round.id
            rng = random.Random(SEED)
            responses = await Response.filter(round_id=round_id).order_by("id")
            for response in responses:
                response.answers = answers_for(rng)
                response.status, response.stage = "answered", "done"
            await update_many(Response, ["answers", "status", "stage"], responses)
            marks = [
                PickupMark(
                    response_id=r.id,
                    item=n,
                    card_collected_at=datetime(2022, 4, 10, tzinfo=UTC),
                    delivered_at=datetime(2022, 4, 10, tzinfo=UTC) if rng.random() < 0.5 else None,
                )
                for r in responses
                for n, _ in enumerate(r.answers.get("medicines", []), start=1)
                if rng.random() < 0.3
            ]
            await PickupMark.bulk_create(marks, batch_size=500)

            load_samples, lists = await timed(lambda: load_lists(round_id))
            rows = await Response.filter(round_id=round_id).values(
                "id",
                "answers",
                "household__floor",
                "household__room",
                "household__building__number",
            )
            answered = [
                Answered(
                    r["id"],
                    r["household__building__number"],
                    r["household__floor"],
                    r["household__room"],
                    r["answers"],
                )
                for r in rows
            ]

            async def build() -> Any:
                return build_lists(answered)

            async def chat() -> Any:
                return [
                    m for p in lists for m in render_list(p, TEXTS, "zh-CN", header="💊 配药清单")
                ]

            async def xlsx() -> Any:
                return xlsx_bytes(lists)

            build_samples, _ = await timed(build)
            chat_samples, messages = await timed(chat)
            xlsx_samples, data = await timed(xlsx)

    households = sum(len(p.households) for p in lists)
    items = sum(p.items for p in lists)
    print(
        f"demo estate: {report.households} households in {report.buildings} buildings (seeded in {seeded:.1f} s)"
    )
    print(
        f"medication round: {len(responses)} answered, {households} need medicine, {items} medicines, {len(marks)} marked"
    )
    print(f"load + build lists (SQLite, 25 buildings): {median_ms(load_samples)}")
    print(f"build lists (pure):                        {median_ms(build_samples)}")
    print(f"chat messages ({len(messages):4d} messages):          {median_ms(chat_samples)}")
    print(f"xlsx ({len(data) // 1024:4d} KiB):                          {median_ms(xlsx_samples)}")
    total = (
        statistics.median(load_samples)
        + statistics.median(chat_samples)
        + statistics.median(xlsx_samples)
    )
    print(
        f"total (load + chat + xlsx):                {total * 1000:8.1f} ms   (median of {RUNS} runs each)"
    )


if __name__ == "__main__":
    asyncio.run(main())
