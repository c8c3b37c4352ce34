"""A newer round never waits silently behind an older one (issue 14, must-fix 2).

The real services on a fake clock, SMS through FakeTwilio, typed replies into the router:
- a household that has not started round A gets round B at once (no clock moves); its typed
  reply answers B, and A is asked again afterwards;
- a household mid-answer in A gets B when it finishes A, or after IDLE_BEFORE_NEWER quiet (then
  A's current question comes back, its answers kept, once B is done);
- staff see "waiting behind round N" per household in the report (CSV and XLSX).
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from bot.app import build_services, start_services, stop_services
from config.clock import FakeClock
from estate.importing.residents import import_residents
from estate.staff import add_staff
from notifications.inbound import Inbound
from notifications.models import OutboxMessage
from surveys.models import Response
from surveys.report import build_report, write_people_xlsx
from surveys.runtime import IDLE_BEFORE_NEWER
from tests.conftest import make_settings
from tests.fakes.twilio import FakeTwilio
from tests.waiting import wait_for

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "newer-round-auth-token"
CSV = (
    "building,floor,room,name,phone,birth_year,channel\r\n"
    "8,3,302,张伯,13600136000,1940,sms\r\n"
    "8,4,401,李婆婆,13700137001,1942,sms\r\n"
)
ZHANG = "+8613600136000"
LI = "+8613700137001"
ANTIGEN_FIRST = "今天家里做抗原检测了吗？"
MEDICATION_FIRST = "家里有人需要配药吗？"
HOW_MANY = "几人"


@pytest.fixture
async def live(db: str, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    path = tmp_path / "residents.csv"
    path.write_text(CSV, encoding="utf-8")
    await import_residents(path)
    clock = FakeClock(datetime(2022, 4, 10, 0, 0, tzinfo=UTC))
    async with FakeTwilio(account_sid=SID, auth_token=TOKEN) as tw:
        settings = make_settings(
            database_url=db,
            public_url="http://127.0.0.1:9",
            twilio_account_sid=SID,
            twilio_auth_token=TOKEN,
            twilio_from="+15005550006",
            twilio_api_url=tw.url,
        )
        services = build_services(settings, clock=clock, limits_enabled=False)
        await start_services(services)
        try:
            yield {"tw": tw, "services": services, "clock": clock}
        finally:
            await _quiet()
            await stop_services(services)


async def _quiet() -> None:
    async def idle() -> bool:
        return not await OutboxMessage.filter(status__in=["queued", "claimed", "sending"]).exists()

    await wait_for(idle)


async def texts(live: dict[str, Any], number: str, count: int) -> list[str]:
    return [m.body for m in await live["tw"].wait_sent(number, count=count, timeout=5)]


async def say(live: dict[str, Any], number: str, body: str) -> None:
    await live["services"].router.handle(Inbound("sms", number, text=body))


async def response(round_id: int, room: str) -> Response:
    return await Response.get(round_id=round_id, household__room=room)


def row_of(report: Any, room: str) -> dict[str, Any]:
    return dict(zip(report.columns, next(r for r in report.rows if r[2] == room), strict=True))


async def test_untouched_older_round_does_not_hold_back_a_newer_one(
    live: dict[str, Any],
) -> None:
    runtime, clock = live["services"].runtime, live["clock"]
    older = await runtime.open_round("antigen")
    assert ANTIGEN_FIRST in (await texts(live, ZHANG, 1))[0]
    await texts(live, LI, 1)
    clock.advance(3600)  # nobody answered all morning

    newer = await runtime.open_round("medication")
    assert newer.waiting == 0 and newer.ahead_of == {older.round.id: 2}
    # At once, without the clock moving: both households get the newer round's first question.
    assert MEDICATION_FIRST in (await texts(live, ZHANG, 2))[1]
    assert MEDICATION_FIRST in (await texts(live, LI, 2))[1]

    # Staff see who waits behind which round.
    report = await build_report(older.round.id)
    assert row_of(report, "302")["waiting_behind"] == newer.round.id
    buffer = io.BytesIO()
    write_people_xlsx(report, buffer, "zh-CN")
    sheet = load_workbook(io.BytesIO(buffer.getvalue())).worksheets[0]
    cells = [str(c.value or "") for row in sheet.iter_rows() for c in row]
    assert f"排在第{newer.round.id}轮之后" in cells
    buffer = io.BytesIO()
    write_people_xlsx(report, buffer, "en")
    sheet = load_workbook(io.BytesIO(buffer.getvalue())).worksheets[0]
    cells = [str(c.value or "") for row in sheet.iter_rows() for c in row]
    assert f"waiting behind round {newer.round.id}" in cells

    # A typed reply goes to the question sent last: "2" = no medicine needed.
    await say(live, ZHANG, "2")
    assert (await response(newer.round.id, "302")).status == "answered"
    antigen = await response(older.round.id, "302")
    assert antigen.status == "not_reached" and not antigen.answers
    # ...and the older survey is asked again afterwards.
    again = (await texts(live, ZHANG, 4))[2:]
    assert any(ANTIGEN_FIRST in t for t in again)
    assert (await response(older.round.id, "302")).stage == "active"
    assert row_of(await build_report(older.round.id), "302")["waiting_behind"] == ""
    await say(live, ZHANG, "2")  # not tested: the older round is answered too
    assert (await response(older.round.id, "302")).status == "answered"


async def test_a_household_mid_answer_gets_the_newer_round_when_done_or_when_quiet(
    live: dict[str, Any],
) -> None:
    runtime, clock = live["services"].runtime, live["clock"]
    older = await runtime.open_round("antigen")
    await texts(live, ZHANG, 1)
    await texts(live, LI, 1)
    await say(live, ZHANG, "1")  # tested: mid-answer
    await say(live, LI, "1")
    assert HOW_MANY in (await texts(live, ZHANG, 2))[1]
    await texts(live, LI, 2)

    newer = await runtime.open_round("medication")
    assert newer.waiting == 2 and newer.ahead_of == {}
    report = await build_report(newer.round.id)
    assert row_of(report, "302")["waiting_behind"] == older.round.id
    # /status says who waits behind which round, per household.
    admin = await add_staff("admin", role="admin")
    chat = f"s{admin.id}"  # the staff simulator's chat of this staff member
    await live["services"].router.handle(Inbound("local", chat, text="/status"))

    async def status_text() -> str:
        rows = await OutboxMessage.filter(address=chat).values_list("body", flat=True)
        return "\n".join(str(b["text"]) for b in rows)  # type: ignore[index]

    shown = await wait_for(status_text)
    assert f"排在第{older.round.id}轮之后 2 户" in shown and "8-302, 8-401" in shown

    # Li finishes the older round: the newer one comes straight after.
    await say(live, LI, "3")
    await say(live, LI, "0")
    await wait_for(lambda: any(MEDICATION_FIRST in m.body for m in live["tw"].sent_to(LI)))

    # Zhang goes quiet: nothing new for a while...
    clock.advance(IDLE_BEFORE_NEWER.total_seconds() / 2)
    await runtime.start_newer_rounds()
    await _quiet()
    assert len(live["tw"].sent_to(ZHANG)) == 2
    # ...then the newer round is sent, and the older waits behind it.
    clock.advance(IDLE_BEFORE_NEWER.total_seconds() / 2 + 60)
    zhang = await texts(live, ZHANG, 3)
    assert MEDICATION_FIRST in zhang[2]
    assert (await response(older.round.id, "302")).stage == "pending"
    assert row_of(await build_report(older.round.id), "302")["waiting_behind"] == newer.round.id

    await say(live, ZHANG, "2")  # no medicine needed
    # The older round comes back where it was, its answer kept.
    back = (await texts(live, ZHANG, 5))[3:]
    assert any(HOW_MANY in t for t in back)
    await say(live, ZHANG, "3")
    await say(live, ZHANG, "0")
    antigen = await response(older.round.id, "302")
    assert antigen.status == "answered" and antigen.answers["tested_today"] == "yes"


async def test_an_unsent_first_question_of_the_older_round_is_not_sent_first(
    db: str, tmp_path: Path
) -> None:
    path = tmp_path / "residents.csv"
    path.write_text(CSV, encoding="utf-8")
    await import_residents(path)
    services = build_services(make_settings(database_url=db), clock=FakeClock())  # not started
    older = await services.runtime.open_round("antigen")
    newer = await services.runtime.open_round("medication")
    assert newer.ahead_of == {older.round.id: 2}
    rows = await OutboxMessage.all().order_by("id").values_list("ref", "status")
    older_refs = {f"response:{r.id}" for r in await Response.filter(round_id=older.round.id)}
    assert {s for ref, s in rows if ref in older_refs} == {"cancelled"}
    assert {s for ref, s in rows if ref not in older_refs} == {"queued"}
