"""End to end on the demo estate, over the fake Telegram and Twilio, on SQLite and PostgreSQL.
The promises checked:

1. /pickup gives the shift on duty its building's list (by floor, medicines with card flags,
   totals, nobody who needs nothing) and a matching XLSX; the other shift's list, later, shows
   the marks made so far.
2. Logistics marks (card collected, delivered) reach the household once, on its own channel and
   in its language; a second "delivered" tells nobody.
3. Staff of another building are refused (marks, lists, call-outs) and audited; a sampling-point
   volunteer may not list pickups; a resident cannot run a staff command (audited).
4. A large delivery (/delivery) calls both shifts of the building.
5. Residents' questions are acknowledged and grouped (most asked first), only for the staff of
   their building; answered once by a cadre for everyone who asked (Telegram and SMS), then a
   later similar question is answered at once from the FAQ and no longer listed.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from aiohttp import web
from openpyxl import load_workbook

from bot.app import build_services
from bot.web.app import create_app
from config.clock import FakeClock
from estate.demo import seed_demo
from estate.models import AuditEntry, Contact, Household, Person
from estate.staff import ROLES, add_staff
from surveys.models import Response
from surveys.pickups.lists import XLSX_COLUMNS
from surveys.pickups.models import Question
from surveys.runtime import pick_contact
from tests.conftest import free_port, make_settings
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import FakeTwilio
from tests.waiting import wait_for

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "care-e2e-auth-token"
SENDER = "+15005550006"
TODAY = date(2022, 4, 10)
# 10:00 in Shanghai: shift A (08:00-20:00) is on duty.
MORNING = datetime(2022, 4, 10, 2, 0, tzinfo=UTC)
MEDS_BUILDING = 7
ASK_BUILDING = 8
assert "logistics" in ROLES


@contextlib.asynccontextmanager
async def running(db: str) -> AsyncIterator[dict[str, Any]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    clock = FakeClock(MORNING)
    async with (
        FakeTwilio(account_sid=SID, auth_token=TOKEN) as tw,
        # The app runs with its rate limits off on a fake clock: so does the fake. Chats of
        # residents and staff are made in the database, as if each had started the bot.
        FakeTelegram(token="123:TEST", enforce_limits=False, strict_chats=False) as tg,
    ):
        settings = make_settings(
            database_url=db,
            public_url=base,
            twilio_account_sid=SID,
            twilio_auth_token=TOKEN,
            twilio_from=SENDER,
            twilio_api_url=tw.url,
            telegram_token="123:TEST",
            telegram_api_url=tg.url,
            telegram_mode="webhook",
        )
        services = build_services(settings, clock=clock, limits_enabled=False)
        runner = web.AppRunner(create_app(services))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            yield {"tw": tw, "tg": tg, "services": services, "base": base, "clock": clock}
        finally:
            await runner.cleanup()


@pytest.fixture
async def estate(any_db: str) -> AsyncIterator[dict[str, Any]]:
    await seed_demo(today=TODAY)
    async with running(any_db) as live:
        yield live


async def sent(tg: FakeTelegram, chat: int, count: int) -> list[dict[str, Any]]:
    await tg.wait_sent(chat, count=count, timeout=10)
    return tg.sent_to(chat)


def buttons(messages: list[dict[str, Any]]) -> dict[str, tuple[int, str]]:
    """callback_data -> (message_id, label) over these messages."""
    out: dict[str, tuple[int, str]] = {}
    for m in messages:
        for row in (m.get("reply_markup") or {}).get("inline_keyboard", []):
            for b in row:
                out[b["callback_data"]] = (m["message_id"], b["text"])
    return out


async def people(
    building: int,
    channel: str,
    count: int,
    *,
    besides: list[Person] = (),  # type: ignore[assignment]
) -> list[Person]:
    """People with a phone in distinct households of a building, preferring ``channel``, none
    in the households of ``besides``."""
    found: list[Person] = []
    seen: set[int] = {p.household_id for p in besides}  # type: ignore[attr-defined]
    for person in await Person.filter(
        household__building__number=building, channel=channel, phone__not_isnull=True
    ).order_by("id"):
        if person.household_id not in seen:  # type: ignore[attr-defined]
            seen.add(person.household_id)  # type: ignore[attr-defined]
            found.append(person)
        if len(found) == count:
            break
    assert len(found) == count
    return found


async def enrol(tg: FakeTelegram, chat: int, phone: str) -> None:
    before = len(tg.sent_to(chat))
    await tg.user_contact(chat, phone.lstrip("+"))
    await sent(tg, chat, before + 1)


def medicine(drug: str, card: bool, dose: str = "2盒") -> dict[str, Any]:
    return {
        "patient": "本人",
        "drug": drug,
        "dose": dose,
        "days_left": 1,
        "hospital": "",
        "insurance_card": "yes" if card else "no",
    }


async def answer(household_id: int, round_id: int, answers: dict[str, Any]) -> Response:
    response = await Response.get(round_id=round_id, household_id=household_id)
    response.answers, response.status, response.stage = answers, "answered", "done"
    await response.save()
    return response


async def told_number(household: Household) -> str:
    """The contact a household is told by: the one its rounds go to."""
    contacts = await Contact.filter(household_id=household.id)
    contact = pick_contact(household, contacts, {"telegram", "sms"})
    assert contact is not None and contact.channel == "sms"
    return contact.address


async def audit_count(action: str, count: int) -> bool:
    return await AuditEntry.filter(action=action).count() == count


async def audited(action: str, staff_name: str, allowed: bool) -> bool:
    return await AuditEntry.filter(actor=staff_name, action=action, allowed=allowed).exists()


async def test_pickup_lists_marks_and_delivery(estate: dict[str, Any]) -> None:
    tg: FakeTelegram = estate["tg"]
    tw: FakeTwilio = estate["tw"]
    services = estate["services"]

    # Staff: logistics shifts A and B of building 7, a cadre of building 8.
    staff = {
        "甲": ("logistics", "A", MEDS_BUILDING, "+8613311110001", 9001),
        "乙": ("logistics", "B", MEDS_BUILDING, "+8613311110002", 9002),
        "丙": ("cadre", None, ASK_BUILDING, "+8613311110003", 9003),
    }
    for name, (role, shift, building, phone, chat) in staff.items():
        await add_staff(name, role=role, phone=phone, buildings=[building], shift=shift)
        await enrol(tg, chat, phone)
    jia, yi, bing = 9001, 9002, 9003

    # Households of building 7: one on Telegram, two by SMS (one of them English), one with
    # no medicine needed.
    [tg_person] = await people(MEDS_BUILDING, "telegram", 1)
    sms_people = await people(MEDS_BUILDING, "sms", 3, besides=[tg_person])
    resident_chat = 7001
    await enrol(tg, resident_chat, tg_person.phone or "")
    english = sms_people[1]
    await Contact.filter(household_id=english.household_id, channel="sms").update(  # type: ignore[attr-defined]
        language="en"
    )
    opened = await services.runtime.open_round("medication", buildings=[MEDS_BUILDING])
    round_id = opened.round.id
    households = {
        h.id: h
        for h in await Household.filter(
            id__in=[tg_person.household_id] + [p.household_id for p in sms_people]  # type: ignore[attr-defined]
        )
    }
    tg_home = households[tg_person.household_id]  # type: ignore[attr-defined]
    en_home = households[english.household_id]  # type: ignore[attr-defined]
    r1 = await answer(
        tg_home.id,
        round_id,
        {
            "needs_medicine": "yes",
            "medicines": [medicine("阿莫西林", True, "0.5克 3盒"), medicine("降压药", False)],
            "urgency": "today",
        },
    )
    r2 = await answer(
        en_home.id,
        round_id,
        {
            "needs_medicine": "yes",
            "medicines": [medicine("Metformin", False)],
            "urgency": "this_week",
        },
    )
    third = households[sms_people[0].household_id]  # type: ignore[attr-defined]
    r3 = await answer(
        third.id,
        round_id,
        {
            "needs_medicine": "yes",
            "medicines": [medicine("胰岛素", True)],
            "urgency": "within_3_days",
        },
    )
    no_meds = households[sms_people[2].household_id]  # type: ignore[attr-defined]
    await answer(no_meds.id, round_id, {"needs_medicine": "no"})

    # /pickup by shift A: the list of building 7 for shift A, by floor, with card pickups.
    before = len(tg.sent_to(jia))
    await tg.user_command(jia, "/pickup")
    listing = await sent(tg, jia, before + 2)  # one list message (3 households) + the XLSX
    chat_list = listing[before]
    assert "值班：A班（08:00–20:00） 甲" in chat_list["text"]
    expected = sorted([tg_home, en_home, third], key=lambda h: (h.floor, int(h.room)))
    positions = [chat_list["text"].index(f"{MEDS_BUILDING}-{h.room}") for h in expected]
    assert positions == sorted(positions)  # ordered by floor
    assert f"{MEDS_BUILDING}-{no_meds.room}" not in chat_list["text"]
    assert "阿莫西林 0.5克 3盒" in chat_list["text"] and "💳需收医保卡" in chat_list["text"]
    assert "3户，4种药，2张医保卡待收" in chat_list["text"]
    document = listing[before + 1]["document"]
    assert document["file_name"].endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(tg.files[document["file_id"]].content)).active
    assert sheet is not None
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == XLSX_COLUMNS and len(rows) == 1 + 4
    assert [r[2] for r in rows[1:]] == [
        h.room for h in expected for _ in range(2 if h is tg_home else 1)
    ]
    assert await audited("/pickup", "甲", True)

    # Marks: card collected, then delivered; the household hears its medicine is at the door.
    marks = buttons([chat_list])
    card = f"pk:c:{r1.id}:1"
    delivered = f"pk:d:{r1.id}:1"
    assert card in marks and delivered in marks
    resident_before = len(tg.sent_to(resident_chat))
    await tg.user_press(jia, marks[card][0], card)
    await wait_for(lambda: audited("pickup card", "甲", True))
    await tg.user_press(jia, marks[delivered][0], delivered)
    told = await sent(tg, resident_chat, resident_before + 1)
    assert "阿莫西林" in told[-1]["text"] and "已送到门口" in told[-1]["text"]
    # Pressing "delivered" again tells nobody twice.
    await tg.user_press(jia, marks[delivered][0], delivered)
    await wait_for(lambda: audit_count("pickup delivered", 2))
    assert len(tg.sent_to(resident_chat)) == resident_before + 1
    # The English SMS household is told in English, by SMS.
    en_number = await told_number(en_home)
    en_sent = len(tw.sent_to(en_number))
    await tg.user_press(jia, marks[f"pk:d:{r2.id}:1"][0], f"pk:d:{r2.id}:1")
    [*_, en_sms] = await tw.wait_sent(en_number, count=en_sent + 1, timeout=10)
    assert "Metformin" in en_sms.body and "at your door" in en_sms.body

    # At 22:00 shift B is on duty; its list shows the marks made so far.
    estate["clock"].advance(12 * 3600)
    await tg.user_command(yi, "/pickup 7")
    again = (await sent(tg, yi, 3))[1]  # after "linked as staff": the list, then the XLSX
    assert "💳医保卡已收" in again["text"] and "✅已送达" in again["text"]
    assert "值班：B班（20:00–08:00） 乙" in again["text"]
    assert "3户，4种药，1张医保卡待收，2项未送达" in again["text"]
    assert delivered not in buttons([again]) and f"pk:d:{r1.id}:2" in buttons([again])

    # A cadre of building 8 may not mark building 7's items, nor list building 7.
    bing_before = len(tg.sent_to(bing))
    third_number = await told_number(third)
    third_sent = len(tw.sent_to(third_number))
    await tg.user_press(bing, marks[f"pk:d:{r3.id}:1"][0], f"pk:d:{r3.id}:1")
    await wait_for(lambda: audited("pickup delivered", "丙", False))
    await tg.user_command(bing, "/pickup 7")
    refused = await sent(tg, bing, bing_before + 1)
    assert "没有权限" in refused[-1]["text"]
    assert await audited("/pickup", "丙", False)
    assert len(tw.sent_to(third_number)) == third_sent

    # Nor call building 7's shifts; a sampling-point volunteer may not list pickups at all.
    await tg.user_command(bing, "/delivery 7")
    await sent(tg, bing, bing_before + 2)
    assert await audited("/delivery", "丙", False)
    await add_staff("戊", role="point", phone="+8613311110005", buildings=[MEDS_BUILDING])
    await enrol(tg, 9005, "+8613311110005")
    await tg.user_command(9005, "/pickup 7")
    await wait_for(lambda: audited("/pickup", "戊", False))
    assert len(tg.sent_to(yi)) == 3  # nobody was called

    # A resident cannot run a staff command: the ordinary answer, and the attempt is audited.
    await tg.user_command(resident_chat, "/pickup 7")
    unknown = await sent(tg, resident_chat, resident_before + 2)
    assert "不认识这个指令" in unknown[-1]["text"]
    assert await AuditEntry.filter(action="/pickup", allowed=False, staff_id=None).exists()

    # A large delivery calls both shifts of the building.
    jia_before, yi_before = len(tg.sent_to(jia)), len(tg.sent_to(yi))
    await tg.user_command(jia, "/delivery 7 下午3点到货")
    called_a = await sent(tg, jia, jia_before + 2)  # the call and the confirmation
    called_b = await sent(tg, yi, yi_before + 1)
    assert "A、B两班" in called_b[-1]["text"] and "下午3点到货" in called_b[-1]["text"]
    assert any("A、B两班" in m.get("text", "") for m in called_a[jia_before:])
    assert any("2位后勤人员" in m.get("text", "") for m in called_a[jia_before:])
    assert await audited("/delivery", "甲", True)


async def test_questions_grouped_answered_once_then_faq(estate: dict[str, Any]) -> None:
    tg: FakeTelegram = estate["tg"]
    tw: FakeTwilio = estate["tw"]
    base = estate["base"]
    await add_staff("丙", role="cadre", phone="+8613311110003", buildings=[ASK_BUILDING])
    await add_staff("丁", role="officer", phone="+8613311110004", buildings=[MEDS_BUILDING])
    cadre, officer = 9003, 9004
    await enrol(tg, cadre, "+8613311110003")
    await enrol(tg, officer, "+8613311110004")

    [tg_person, tg_person2] = await people(ASK_BUILDING, "telegram", 2)
    sms_people = await people(ASK_BUILDING, "sms", 3, besides=[tg_person, tg_person2])
    chat1, chat2 = 8001, 8002
    await enrol(tg, chat1, tg_person.phone or "")
    await enrol(tg, chat2, tg_person2.phone or "")
    sms_numbers = [
        (await Contact.filter(household_id=p.household_id, channel="sms").first()).address  # type: ignore[attr-defined,union-attr]
        for p in sms_people
    ]

    async def sms(number: str, body: str) -> str:
        count = len(tw.sent_to(number))
        status, _ = await tw.inbound(f"{base}/twilio/sms", number, body)
        assert status == 200
        return (await tw.wait_sent(number, count=count + 1, timeout=10))[-1].body

    # Several residents ask; each is told the question was received.
    await tg.user_message(chat1, "请问什么时候解封？")
    assert "已收到您的问题" in (await sent(tg, chat1, 2))[-1]["text"]
    assert "已收到您的问题" in await sms(sms_numbers[0], "什么时候解封啊")
    assert "已收到您的问题" in await sms(sms_numbers[1], "小区什么时候能解封")
    await tg.user_message(chat2, "团购的菜什么时候到")
    await sent(tg, chat2, 2)
    # A lone "1" after a survey ended is not a question.
    assert "没有需要填写的调查" in await sms(sms_numbers[2], "1")
    assert await Question.filter(building=ASK_BUILDING, status="open").count() == 4

    # The cadre sees them grouped, most asked first; the officer of building 7 sees none.
    await tg.user_command(cadre, "/questions")
    [*_, listing] = await sent(tg, cadre, 2)
    first = await Question.filter(text="请问什么时候解封？").first()
    assert first is not None
    assert f"#{first.id} ×3" in listing["text"] and "×1" in listing["text"]
    assert listing["text"].index("×3") < listing["text"].index("×1")
    await tg.user_command(officer, "/questions")
    assert "暂无" in (await sent(tg, officer, 2))[-1]["text"]
    assert await audited("/questions", "丁", True)

    # The officer of another building cannot answer them.
    await tg.user_command(officer, f"/reply {first.id} 下周解封")
    assert "没有权限" in (await sent(tg, officer, 3))[-1]["text"]
    assert await audited("/reply", "丁", False)
    assert await Question.filter(status="open").count() == 4

    # Nor answer through the button.
    await tg.user_press(officer, listing["message_id"], f"qa:a:{first.id}")
    await wait_for(lambda: audited("answer button", "丁", False))
    await sent(tg, officer, 4)  # "you may not ..."
    await tg.user_message(officer, "下周解封")  # not taken as an answer
    await sent(tg, officer, 5)  # (the officer's chat is no resident's: the welcome text)
    assert await Question.filter(status="open").count() == 4

    # The cadre answers the group once: button, then the answer as the next message.
    data = f"qa:a:{first.id}"
    assert data in buttons([listing])
    await tg.user_press(cadre, listing["message_id"], data)
    prompt = (await sent(tg, cadre, 3))[-1]
    assert f"#{first.id}" in prompt["text"]
    await tg.user_message(cadre, "预计下周一起分批解封，请留意通知。")
    done = (await sent(tg, cadre, 4))[-1]
    assert "3位居民" in done["text"]
    answer1 = (await sent(tg, chat1, 3))[-1]["text"]
    assert "预计下周一起分批解封" in answer1 and "请问什么时候解封？" in answer1
    for number in sms_numbers[:2]:
        bodies = [m.body for m in await tw.wait_sent(number, count=2, timeout=10)]
        assert "预计下周一起分批解封" in bodies[-1]
    assert len(tg.sent_to(chat2)) == 2  # asked something else: not told
    assert await audited("/reply", "丙", True)

    # A later similar question is answered at once from the FAQ, and not listed for staff.
    await tg.user_message(chat2, "小区什么时候解封呢")
    faq = (await sent(tg, chat2, 3))[-1]["text"]
    assert "预计下周一起分批解封" in faq and "常见问题" in faq
    assert await Question.filter(status="faq").count() == 1
    await tg.user_command(cadre, "/questions")
    remaining = (await sent(tg, cadre, 5))[-1]["text"]
    assert "团购" in remaining and "解封" not in remaining
    assert "1条已由常见问题自动答复" in remaining
