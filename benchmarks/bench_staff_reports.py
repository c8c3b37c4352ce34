"""Measure the staff reports for a round of the whole demo estate. Prints figures, never asserts.

The demo estate (25 buildings, ~1,800 households, ~5,000 people) is seeded into a temporary
SQLite database; an `antigen` round and a `medication` round are opened for every building and
answered by about two households in three (a fixed pattern, some positive, some with two
medicines). Then, each the median of several runs (``time.perf_counter``):

* ``build_report`` (the rows, from the database) and the XLSX bytes ``/report`` sends, for the
  whole estate (an admin) and for one cadre's four buildings;
* the not-reached lists the officers get at the deadline (all 25 buildings).

Run: ``.venv/bin/python benchmarks/bench_staff_reports.py`` (or ``make bench``).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.staff.report import report_xlsx
from config.clock import FakeClock
from config.database import close_db, init_db
from config.settings import Settings
from estate.demo import seed_demo
from surveys.models import Response
from surveys.reminders import unanswered
from surveys.report import build_report
from surveys.runtime import SurveyRuntime

RUNS = 5
ANTIGEN = {"tested_today": "yes", "tested": 3, "positive": 0}
MEDICATION = {
    "needs_medicine": "yes",
    "medicines": [
        {"patient": "母亲", "drug": "苯磺酸氨氯地平片", "dose": "5mg 2盒", "days_left": 3},
        {"patient": "父亲", "drug": "二甲双胍缓释片", "dose": "0.5g 3盒", "days_left": 7},
    ],
}


async def timed(label: str, make: Callable[[], Awaitable[Any]]) -> Any:
    times, result = [], None
    for _ in range(RUNS):
        start = time.perf_counter()
        result = await make()
        times.append(time.perf_counter() - start)
    print(
        f"{label:<58} median {statistics.median(times) * 1000:8.1f} ms  (min {min(times) * 1000:.1f})"
    )
    return result


async def main_async(url: str) -> None:
    await init_db(url)
    try:
        start = time.perf_counter()
        report = await seed_demo(today=date(2022, 4, 10))
        print(f"seeded {report.households} households, {report.people} people "
              f"in {time.perf_counter() - start:.1f} s")  # fmt: skip
        settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
        runtime = SurveyRuntime(clock=FakeClock(), settings=settings)
        rounds = {}
        for slug, answers in (("antigen", ANTIGEN), ("medication", MEDICATION)):
            opened = await runtime.open_round(slug)
            rounds[slug] = opened.round.id
            rows = await Response.filter(round_id=opened.round.id).order_by("id")
            for n, row in enumerate(rows):
                if n % 3 == 0:
                    continue
                row.status, row.stage = "answered", "done"
                row.answers = (
                    dict(answers, positive=1) if slug == "antigen" and n % 50 == 1 else answers
                )
            await Response.bulk_update(rows, fields=["status", "stage", "answers"], batch_size=500)
        print(f"rounds: {rounds} (two households in three answered)\n")
        for slug, round_id in rounds.items():
            built = await timed(
                f"{slug}: build_report (whole estate)", lambda r=round_id: build_report(r)
            )
            content, count = report_xlsx(built, None, "zh-CN")
            print(f"{'':<58} {count} rows, XLSX {len(content) / 1024:.0f} KiB")
            await timed(f"{slug}: build_report + XLSX (whole estate, admin)",
                        lambda r=round_id: _report_bytes(r, None))  # fmt: skip
            await timed(f"{slug}: build_report + XLSX (one cadre, buildings 1-4)",
                        lambda r=round_id: _report_bytes(r, {1, 2, 3, 4}))  # fmt: skip
        missing = await timed("antigen: not-reached lists (25 buildings)",
                              lambda: unanswered(rounds["antigen"], None))  # fmt: skip
        print(f"{'':<58} {len(missing)} households not answered")
    finally:
        await close_db()


async def _report_bytes(round_id: int, buildings: set[int] | None) -> bytes:
    return report_xlsx(await build_report(round_id, buildings=buildings), buildings, "zh-CN")[0]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-staff-") as tmp:
        asyncio.run(main_async(f"sqlite://{tmp}/bench.sqlite3"))


if __name__ == "__main__":
    main()
