"""A staff member's scope names an estate: building numbers repeat across estates, and nothing
of another estate is shown to them or reachable by them.

Promises (two estates, 东区 and 西区, each with its own buildings 1 and 2):
- a cadre of "buildings 1-2" added while 东区 was the only estate keeps 东区 once 西区 is
  imported: the dashboard (overview, round page, its XLSX export, round list, simulator), the
  Telegram staff commands (/status, /report, /notice, /answer) and the positive alerts and call
  lists show and reach 东区's households only;
- a round or call-up opened by a 西区 cadre holds 西区's households only and is refused (and
  audited) to 东区's cadre;
- residents' questions: a cadre sees their estate's only, and their answer (kept as an FAQ)
  answers their estate's residents, never another estate's building of the same number;
- ``staff add --buildings 1-2`` is refused when several estates have those buildings (the
  message says how to name one), ``--buildings 西区:1-2`` names 西区, and ``staff list`` shows
  each scope's estate;
- on a single-estate database nothing changes: a scope without an estate name is that estate.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from openpyxl import load_workbook

from bot.app import Services, build_services
from bot.web.app import create_app
from config.clock import FakeClock
from estate.access import scope_of
from estate.importing.residents import import_residents
from estate.models import AuditEntry, Building, Contact, Household, Staff, StaffBuilding
from estate.staff import add_staff, list_staff
from notifications.drives.models import DriveHousehold
from notifications.drives.runtime import building_staff
from notifications.drives.setup import DriveOptions, create_drive, preview
from notifications.inbound import Inbound
from notifications.message import Message
from notifications.models import OutboxMessage, Timer
from surveys.alerts import StaffAlerts
from surveys.engine.events import Alert
from surveys.models import Response, Round
from surveys.questions.desk import QuestionDesk
from surveys.reminders import TimerLoop
from tests.bot.cli.test_cli_first_day import run
from tests.conftest import make_settings
from tests.security.dashboard import login

HEADER = "building,floor,room,name,phone,birth_year,channel,language,home_bound,notes\r\n"
EAST = HEADER + "1,,101,王芳,13800138001,1980,,,,\r\n2,,201,张伯,13800138002,1950,,,,\r\n"
WEST = HEADER + "1,,909,赵六,13900139009,1980,,,,\r\n2,,808,钱七,13900139008,1950,,,,\r\n"
EAST_CHAT, WEST_CHAT = 71001, 72002


@dataclass
class Two:
    services: Services
    east: Staff  # cadre of 东区 1-2, added when 东区 was the only estate
    west: Staff  # cadre of 西区 1-2
    boss: Staff


async def two_estates(tmp_path: Path) -> tuple[Staff, Staff]:
    (tmp_path / "east.csv").write_text(EAST, encoding="utf-8")
    (tmp_path / "west.csv").write_text(WEST, encoding="utf-8")
    await import_residents(tmp_path / "east.csv", estate_name="东区")
    east = await add_staff("东区书记", role="cadre", phone="+8613700000001", buildings=[1, 2])
    await import_residents(tmp_path / "west.csv", estate_name="西区")
    west = await staff_of_estate("西区书记", "cadre", "西区", [1, 2])
    await Staff.filter(id=east.id).update(telegram_chat_id=EAST_CHAT)
    await Staff.filter(id=west.id).update(telegram_chat_id=WEST_CHAT)
    return east, west


async def staff_of_estate(name: str, role: str, estate: str, numbers: list[int]) -> Staff:
    """A staff member linked to buildings of one estate (as ``staff add --buildings
    ESTATE:RANGES`` makes them; written directly, so the promise is checked on its own)."""
    staff = await Staff.create(name=name, role=role, phone=None)
    for building in await Building.filter(estate__name=estate, number__in=numbers):
        await StaffBuilding.create(staff=staff, building=building)
    return staff


@pytest.fixture
async def two(db: str, tmp_path: Path) -> AsyncIterator[Two]:
    east, west = await two_estates(tmp_path)
    boss = await add_staff("boss", role="admin")
    clock = FakeClock()
    services = build_services(make_settings(database_url=db, secret_key="k" * 40), clock=clock)
    yield Two(services, east, west, boss)


def rooms_in(text: str) -> set[str]:
    return {room for room in ("101", "201", "909", "808") if room in text}


async def test_a_scope_without_an_estate_name_keeps_the_estate_it_was_made_in(two: Two) -> None:
    east = await scope_of(two.east)
    west = await scope_of(two.west)
    assert east.buildings == west.buildings == {1, 2}
    assert east.estate is not None and west.estate is not None and east.estate != west.estate
    lines = "\n".join(await list_staff())
    assert "东区:1,2" in lines and "西区:1,2" in lines


async def test_the_dashboard_and_its_export_show_one_estate(two: Two) -> None:
    everyone = await two.services.runtime.open_round("antigen")  # by an admin: both estates
    assert everyone.households == 4
    app = create_app(two.services, manage_services=False)
    async with TestClient(TestServer(app)) as client:
        csrf = await login(client, two.west, two.services)
        response = await client.post(
            "/rounds", data={"csrf": csrf, "slug": "medication", "buildings": "1-2", "confirm": "1"}
        )
        assert response.status == 200  # followed to the new round's page
        assert rooms_in(await response.text()) == {"909", "808"}
    west_round = await Round.filter(survey="medication").get()
    assert west_round.estate_id is not None
    held = await Response.filter(round_id=west_round.id).values_list("household__room", flat=True)
    assert sorted(held) == ["808", "909"]  # opened by 西区's cadre: 西区's households only

    async with TestClient(TestServer(app)) as client:
        await login(client, two.east, two.services)
        overview = await (await client.get("/")).text()
        assert overview.count('data-building="1"') == 1  # one building 1: 东区's
        page = await (await client.get(f"/rounds/{everyone.round.id}")).text()
        assert rooms_in(page) == {"101", "201"}
        xlsx = await client.get(f"/rounds/{everyone.round.id}.xlsx")
        assert xlsx.status == 200
        book = load_workbook(io.BytesIO(await xlsx.read()))
        cells = " ".join(
            str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row
        )
        assert rooms_in(cells) == {"101", "201"}
        listed = await (await client.get("/rounds")).text()
        assert f"/rounds/{west_round.id}" not in listed
        for path in (f"/rounds/{west_round.id}", f"/rounds/{west_round.id}.xlsx"):
            assert (await client.get(path)).status == 403
        sim = await (await client.get("/sim?building=1")).text()
        assert rooms_in(sim) == {"101"}
        west_home = await Household.get(room="909")
        assert (await client.get(f"/sim/household/{west_home.id}")).status == 403
    refused = await AuditEntry.filter(staff_id=two.east.id, allowed=False).count()
    assert refused == 3  # the round page, its export and the household: each audited


async def say(services: Services, chat: int, body: str) -> list[Message]:
    """A staff command from a Telegram chat; the messages queued back to that chat."""
    before = await OutboxMessage.filter(address=str(chat)).count()
    await services.router.handle(Inbound("telegram", str(chat), text=body))
    rows = await OutboxMessage.filter(address=str(chat)).order_by("id")
    return [Message.from_json(r.body) for r in rows[before:]]


async def test_telegram_staff_commands_act_on_one_estate(two: Two) -> None:
    services = two.services
    opened = await services.runtime.open_round("antigen")  # both estates
    (status,) = await say(services, EAST_CHAT, "/status")
    assert "0/1" in status.text and "0/2" not in status.text  # one household per building

    (report,) = await say(services, EAST_CHAT, f"/report {opened.round.id}")
    document = report.document()
    assert document is not None
    book = load_workbook(io.BytesIO(document[1]))
    cells = " ".join(
        str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row
    )
    assert rooms_in(cells) == {"101", "201"}

    await say(services, EAST_CHAT, "/notice 1-2 明早八点核酸")
    noticed = await OutboxMessage.filter(purpose="notice").values_list("household__room", flat=True)
    assert sorted(noticed) == ["101", "201"]

    replies = await say(services, EAST_CHAT, "/answer 1-909 antigen")
    assert not await Response.filter(proxy=True).exists()
    assert "909" in replies[0].text  # "no household 1-909" for 东区's cadre
    assert not await AuditEntry.filter(action="/answer", allowed=True).exists()


async def test_alerts_and_call_lists_go_to_the_estates_own_staff(two: Two) -> None:
    services = two.services
    opened = await services.runtime.open_round("antigen")
    west_home = await Household.get(room="909")
    response = await Response.get(round_id=opened.round.id, household_id=west_home.id)
    await StaffAlerts(services.clock, lambda: None)(
        response, Alert("positive_antigen", {"values": {"positive": 1}})
    )
    alerted = await OutboxMessage.filter(purpose="alert").values_list("address", flat=True)
    assert str(WEST_CHAT) in alerted and str(EAST_CHAT) not in alerted

    officer = await staff_of_estate("东区楼长", "officer", "东区", [1])
    await Staff.filter(id=officer.id).update(telegram_chat_id=73003)
    timer = Timer(key="t", kind="deadline", due_at=services.clock.now())
    timer.payload = {"round": opened.round.id}
    await TimerLoop(services.runtime).deadline(timer)
    (listed,) = await OutboxMessage.filter(address="73003").values_list("body", flat=True)
    text = Message.from_json(listed).text
    assert "101" in text and "909" not in text  # 东区's building 1 only


def test_staff_add_names_the_estate_when_numbers_repeat(tmp_path: Path) -> None:
    (tmp_path / "east.csv").write_text(EAST, encoding="utf-8")
    (tmp_path / "west.csv").write_text(WEST, encoding="utf-8")
    assert run(tmp_path, "import", "residents", "east.csv", "--estate", "东区").returncode == 0
    alone = run(tmp_path, "staff", "add", "李", "--role", "cadre", "--buildings", "1-2")
    assert alone.returncode == 0, alone.stderr  # one estate: no name needed
    assert run(tmp_path, "import", "residents", "west.csv", "--estate", "西区").returncode == 0
    ambiguous = run(tmp_path, "staff", "add", "王", "--role", "cadre", "--buildings", "1-2")
    assert ambiguous.returncode != 0
    assert "西区" in ambiguous.stderr and "东区" in ambiguous.stderr
    assert "--buildings" in ambiguous.stderr
    named = run(tmp_path, "staff", "add", "王", "--role", "cadre", "--buildings", "西区:1-2")
    assert named.returncode == 0, named.stderr
    listed = run(tmp_path, "staff", "list").stdout
    assert "李\tcadre\t东区:1,2" in listed and "王\tcadre\t西区:1,2" in listed
    helped = run(tmp_path, "staff", "add", "--help").stdout
    assert "ESTATE:RANGES" in helped and "estate" in helped
    opened = run(tmp_path, "survey", "open", "antigen", "--buildings", "1", "--estate", "西区")
    assert opened.returncode == 0, opened.stderr
    assert "1 household" in opened.stdout  # 西区's building 1, not 东区's too


async def test_a_call_up_of_one_estate_calls_and_shows_that_estate_only(two: Two) -> None:
    west = await scope_of(two.west)
    now = two.services.clock.now()
    options = DriveOptions(
        points=[("A", [1, 2])],
        start=now + timedelta(minutes=10),
        interval=timedelta(minutes=5),
        lead=timedelta(minutes=2),
        estate=west.estate,  # what /drive start sets from the staff member's scope
    )
    result = await preview(options, {"sms"})
    drive = await create_drive(options, result.plan, now=now)
    called = await DriveHousehold.filter(drive_id=drive.id).values_list(
        "household__room", flat=True
    )
    assert sorted(called) == ["808", "909"]
    staff = {s.name for s in await building_staff(1, "A", estate=drive.estate_id)}
    assert "西区书记" in staff and "东区书记" not in staff

    app = create_app(two.services, manage_services=False)
    async with TestClient(TestServer(app)) as client:
        await login(client, two.east, two.services)
        assert f"/drives/{drive.id}" not in await (await client.get("/drives")).text()
        assert (await client.get(f"/drives/{drive.id}")).status == 403
    replies = await say(two.services, EAST_CHAT, f"/drive status {drive.id}")
    assert not rooms_in(" ".join(m.text for m in replies))
    assert await AuditEntry.filter(
        staff_id=two.east.id, action="/drive status", allowed=False
    ).exists()


async def test_an_estates_answer_to_a_question_never_answers_another_estate(two: Two) -> None:
    desk = QuestionDesk(tz=two.services.runtime.tz)
    now = two.services.clock.now()
    east_contact = await Contact.get(household__room="101")
    west_contact = await Contact.get(household__room="909")
    question = "明天几点做核酸？"
    await desk.receive(east_contact, question, now=now)
    groups, _ = await desk.today(await scope_of(two.west), now=now)
    assert groups == []  # 西区's cadre does not see 东区's questions
    east_scope = await scope_of(two.east)
    (group,) = (await desk.today(east_scope, now=now))[0]
    answered = await desk.answer(
        group.id, "东区：早上八点", staff=two.east, scope=east_scope, now=now
    )
    assert answered == 1
    reply = await desk.receive(west_contact, question, now=now)
    assert "东区：早上八点" not in reply.text  # 西区's building 1 is not 东区's
    again = await desk.receive(await Contact.get(household__room="201"), question, now=now)
    assert "东区：早上八点" in again.text  # 东区's own residents get it at once
