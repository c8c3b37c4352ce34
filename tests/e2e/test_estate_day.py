"""A day in the estate on a fake clock. Messages go out through the real dispatcher
to the fake Telegram Bot API and the fake Twilio; inbound answers enter the router directly (the
webhook paths are covered by the end-to-end tests).

Set-up: the 25-building demo estate, one admin, seven cadres (3-4 buildings each), an information
officer per building, logistics shifts A and B in three buildings; `antigen` and `medication`
rounds opened for every building. The households of nine buildings (one or more per cadre)
answer as scripted (negative, positive, not tested, stopping half-way, silent); the others stay
silent. The promises checked:

1. Every household with a contact gets `antigen`; `medication`, opened just before it and
   untouched, waits (one round at a time) and follows once `antigen` is finished.
2. Exactly the scripted finishers are "answered".
3. Each positive alerts the admin and its building's cadre, once (a positive in every cadre's
   buildings); a revised positive answer alerts nobody again.
4. Medicine pickups (three buildings, Telegram by buttons and SMS by digits): the answers are
   stored as given; shift A's list has exactly the households needing medicine, by floor, each
   medicine with its card flag, nobody who said "no", and a matching XLSX; "delivered" tells the
   household on its own channel, once, and the list then shows it delivered without buttons.
5. Two hours before the deadline, reminders go to exactly the households that have not
   finished (per round), never to one that finished; the timer firing again reminds nobody.
6. At the deadline every officer gets their building's list of households that did not answer,
   with phone numbers, and nothing of another building (checked in full for four buildings).
"""

from __future__ import annotations

import asyncio
import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from openpyxl import load_workbook

from bot.app import build_services, start_services, stop_services
from config.clock import FakeClock
from config.i18n import text
from estate.demo import seed_demo
from estate.models import Building, Contact, Household, Person, Staff, StaffBuilding
from notifications.inbound import Inbound
from notifications.models import OutboxMessage, Timer
from surveys.models import Response
from surveys.pickups.lists import XLSX_COLUMNS
from surveys.pickups.texts import TEXTS as CARE
from surveys.reminders import schedule_round
from tests.conftest import make_settings
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import FakeTwilio
from tests.waiting import wait_for

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "estate-day-auth-token"
START = datetime(2022, 4, 10, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
CADRE_BUILDINGS = [range(1, 5), range(5, 9), range(9, 12), range(12, 16), range(16, 19), range(19, 23), range(23, 26)]  # fmt: skip
CHAT_BASE = 80_000_000
PICKUP_BUILDINGS = (3, 14, 22)  # each with logistics staff of shifts A and B
# The households of these buildings answer as scripted; everyone else stays silent. Every cadre
# has one of them (alerts), so do the pickup buildings and the officers' lists checked below:
# all 25 buildings get both rounds and the deadline lists, without 25 buildings repeating the
# same script (each answer is a message more through the dispatcher).
ANSWERING = {1, 3, 5, 9, 13, 14, 16, 22, 25}
LISTS_CHECKED = (1, 2, 13, 25)  # 2: nobody answered, everybody listed


class Med(NamedTuple):
    patient: str
    drug: str
    dose: str
    days_left: int
    hospital: str  # "" = skipped
    card: bool  # a volunteer collects the insurance card


# What the scripted households of a pickup building register with `medication` (None: no
# medicine needed): the medicines, then the urgency.
URGENCIES = ["today", "within_3_days", "this_week"]
NEEDS: list[tuple[list[Med], str] | None] = [
    ([Med("母亲", "氨氯地平片", "5mg 2盒", 3, "瑞金医院", True)], "today"),
    (
        [
            Med("本人", "二甲双胍", "0.5g 3盒", 0, "", False),
            Med("父亲", "阿司匹林肠溶片", "100mg 1盒", 10, "仁济医院", True),
        ],
        "within_3_days",
    ),
    None,
    ([Med("孩子", "布地奈德", "1支", 5, "", False)], "this_week"),
    ([Med("奶奶", "胰岛素", "3支", 2, "社区医院", True)], "today"),
]


@dataclass(frozen=True)
class Tap:
    """Press the button ending in ``suffix`` of the question last sent (Telegram)."""

    suffix: str


def _med_replies(need: tuple[list[Med], str] | None, telegram: bool) -> list[str | Tap]:
    """A household's replies to `medication`: buttons on Telegram, digits by SMS."""

    def yes_no(value: bool) -> str | Tap:
        if telegram:
            return Tap("y" if value else "n")
        return "1" if value else "2"

    if need is None:
        return [yes_no(False)]
    medicines, urgency = need
    replies: list[str | Tap] = [yes_no(True)]
    for n, med in enumerate(medicines, 1):
        replies += [med.patient, med.drug, med.dose, str(med.days_left)]
        replies.append(med.hospital or (Tap("skip") if telegram else "跳过"))
        replies += [yes_no(med.card), yes_no(n < len(medicines))]  # card; another medicine?
    index = URGENCIES.index(urgency)
    replies.append(Tap(str(index)) if telegram else str(index + 1))
    return replies


async def _staff() -> dict[str, Staff]:
    """Admin, 7 cadres, 25 officers, logistics shifts A and B of the pickup buildings; their
    chats linked (enrolment is tested elsewhere)."""
    buildings = {b.number: b for b in await Building.all()}
    staff: dict[str, Staff] = {}
    chat = 9_000_000
    members: list[tuple[str, str, list[int]]] = [("admin", "admin", [])]
    members += [(f"cadre{i}", "cadre", list(r)) for i, r in enumerate(CADRE_BUILDINGS, 1)]
    members += [(f"officer{b}", "officer", [b]) for b in range(1, 26)]
    members += [(f"logistics{b}{s}", "logistics", [b]) for b in PICKUP_BUILDINGS for s in "AB"]
    for name, role, numbers in members:
        chat += 1
        shift = name[-1] if role == "logistics" else None
        member = await Staff.create(name=name, role=role, telegram_chat_id=chat, shift=shift)
        await StaffBuilding.bulk_create(
            [StaffBuilding(staff_id=member.id, building_id=buildings[n].id) for n in numbers]
        )
        staff[name] = member
    return staff


async def _enrol_telegram_households() -> int:
    """The Telegram households have linked a chat (what sharing their contact does)."""
    rows = []
    for household in await Household.filter(preferred_channel="telegram").prefetch_related(
        "people"
    ):
        person = household.people[0]
        rows.append(
            Contact(
                household_id=household.id,
                person_id=person.id,
                channel="telegram",
                address=str(CHAT_BASE + household.id),
                language=person.language,
            )
        )
    await Contact.bulk_create(rows)
    return len(rows)


def _plan(index: int) -> str:
    """What a household does with `antigen`, by its place in its building."""
    return ["silent", "not_tested", "negative", "positive", "negative", "stops", "not_tested"][
        index % 7
    ]


ANSWERS = {
    # (plan, channel) -> the replies, in order
    "not_tested": {"telegram": ["否"], "sms": ["2"]},
    "negative": {"telegram": ["是", "3", "0", "跳过"], "sms": ["1", "3", "0"]},
    "positive": {"telegram": ["是", "2", "1", "跳过"], "sms": ["1", "2", "1"]},
    "stops": {"telegram": ["是"], "sms": ["1"]},
}


async def _quiet(services: Any) -> None:
    """Wait until the dispatcher has sent everything that is due."""

    async def idle() -> bool:
        # Landline calls are left out: this day runs without the web server, so a call's TwiML
        # and status callbacks never arrive and its number stays busy (tests/e2e/test_voice_*.py
        # play calls through).
        waiting = (
            await OutboxMessage.filter(
                status__in=["queued", "claimed", "sending"],
                next_attempt_at__lte=services.clock.now(),
            )
            .exclude(channel="voice")
            .count()
        )
        return waiting == 0

    await wait_for(idle, limit=120)


async def _tick(clock: FakeClock, timers: Any, seconds: float) -> None:
    """Move the fake clock; wait for the background timer loop's next pass."""
    before = timers.passes
    clock.advance(seconds)
    await wait_for(lambda: timers.passes > before, limit=120)  # a pass over the whole estate


async def test_a_day_in_the_estate(db: str) -> None:
    await seed_demo(today=date(2022, 4, 10))
    staff = await _staff()
    await _enrol_telegram_households()
    clock = FakeClock(START)
    async with (
        FakeTwilio(account_sid=SID, auth_token=TOKEN) as tw,
        # The app runs with its rate limits off on a fake clock: so does the fake. Chats of
        # residents and staff are made in the database, as if each had started the bot.
        FakeTelegram(token="123:T", enforce_limits=False, strict_chats=False) as tg,
    ):
        settings = make_settings(
            database_url=db,
            public_url="http://127.0.0.1:9",
            twilio_account_sid=SID,
            twilio_auth_token=TOKEN,
            twilio_from="+15005550006",
            twilio_api_url=tw.url,
            telegram_token="123:T",
            telegram_api_url=tg.url,
            telegram_mode="webhook",
        )
        services = build_services(settings, clock=clock, limits_enabled=False)
        await start_services(services)
        try:
            await _day(services, staff, tg, tw, clock)
        finally:
            await stop_services(services)


async def _day(
    services: Any, staff: dict[str, Staff], tg: FakeTelegram, tw: FakeTwilio, clock: FakeClock
) -> None:
    runtime, router = services.runtime, services.router
    timers = services.timers
    # `medication` first, then `antigen`: the newer round goes first to every household that has
    # not started the older one, which is asked again afterwards.
    medication = await runtime.open_round("medication", closes_in=timedelta(hours=10))
    antigen = await runtime.open_round("antigen", closes_in=timedelta(hours=10))
    for opened in (antigen, medication):
        await schedule_round(opened.round, None, now=clock.now())
    assert antigen.households > 1700 and antigen.unreachable < 50
    assert antigen.waiting == 0  # nobody had started `medication`: one round at a time
    assert antigen.ahead_of == {medication.round.id: sum(medication.by_channel.values())}
    await _quiet(services)

    # ---- the morning: households answer (or not) ----------------------------------------
    households = await Household.all().select_related("building").prefetch_related("contacts")
    households.sort(key=lambda h: (h.building.number, h.floor, h.room))
    seen: dict[int, int] = {}
    plans: dict[int, str] = {}
    for household in households:
        index = seen[household.building.number] = seen.get(household.building.number, -1) + 1
        answering = household.building.number in ANSWERING
        plans[household.id] = _plan(index) if answering else "silent"
    responses = {
        r.household_id: r  # type: ignore[attr-defined]
        for r in await Response.filter(round_id=antigen.round.id)
    }
    sent_by: dict[int, Contact] = {}
    for household in households:
        contact = next(
            (c for c in household.contacts if c.channel == responses[household.id].channel), None
        )
        # Landlines (voice) are phoned; they do not answer here (answering by keypad is
        # tests/e2e/test_voice_survey_e2e.py).
        if contact is not None and contact.channel == "voice":
            plans[household.id] = "silent"
        elif contact is not None:
            sent_by[household.id] = contact

    async def answer(contact: Contact, replies: list[str]) -> None:
        for reply in replies:
            await router.handle(Inbound(contact.channel, contact.address, text=reply))

    # Households answer at once, as they do (each its own replies in order).
    await asyncio.gather(
        *(
            answer(sent_by[h.id], ANSWERS[plans[h.id]][sent_by[h.id].channel])
            for h in households
            if plans[h.id] != "silent" and h.id in sent_by
        )
    )
    # Those who finished `antigen` now have `medication`; a third of them answer "no".
    await asyncio.gather(
        *(
            answer(sent_by[h.id], ["否" if sent_by[h.id].channel == "telegram" else "2"])
            for n, h in enumerate(households)
            if h.id in sent_by
            and plans[h.id] in ("not_tested", "negative", "positive")
            and n % 3 == 0
        )
    )
    await _quiet(services)

    by_status: dict[str, set[int]] = {}
    for r in await Response.filter(round_id=antigen.round.id):
        by_status.setdefault(r.status, set()).add(r.household_id)  # type: ignore[attr-defined]
    finished = {h for h, p in plans.items() if p in ("not_tested", "negative", "positive")}
    assert by_status["answered"] == finished & set(sent_by)
    positives = {h for h in finished & set(sent_by) if plans[h] == "positive"}
    cadre_of = {b: staff[f"cadre{i}"] for i, r in enumerate(CADRE_BUILDINGS, 1) for b in r}
    building_of = {h.id: h for h in households}
    assert {cadre_of[building_of[h].building.number].name for h in positives} == {
        f"cadre{i}" for i in range(1, len(CADRE_BUILDINGS) + 1)
    }  # a positive in every cadre's buildings

    # ---- alerts: each positive reaches its building's cadre and the admin, once ----------
    alerts = await OutboxMessage.filter(purpose="alert").values_list("address", "body")
    admin_chat = str(staff["admin"].telegram_chat_id)
    assert sum(1 for a, _ in alerts if a == admin_chat) == len(positives)
    for household_id in positives:
        household = building_of[household_id]
        address = f"{household.building.number}-{household.room}"
        to = [a for a, b in alerts if f"：{address}，" in b["text"]]
        assert sorted(to) == sorted(
            [admin_chat, str(cadre_of[household.building.number].telegram_chat_id)]
        ), address
    cadre1 = tg.texts(staff["cadre1"].telegram_chat_id)  # type: ignore[arg-type]
    assert cadre1 and all("阳性" in t for t in cadre1)
    assert len(cadre1) == sum(
        1 for h in positives if building_of[h].building.number in CADRE_BUILDINGS[0]
    )

    # A positive household revises its answer (still positive): no second alert.
    med_done = set(
        await Response.filter(round_id=medication.round.id, stage="done").values_list(
            "household_id", flat=True
        )
    )
    revising = next(h for h in positives if sent_by[h].channel == "telegram" and h in med_done)
    contact = sent_by[revising]
    response = await Response.get(round_id=antigen.round.id, household_id=revising)
    await router.handle(Inbound("telegram", contact.address, choice=f"rv:{response.id}"))
    for reply in ["是", "2", "2", "跳过"]:
        await router.handle(Inbound("telegram", contact.address, text=reply))
    await _quiet(services)
    assert (await Response.get(id=response.id)).answers["positive"] == 2
    assert await OutboxMessage.filter(purpose="alert").count() == len(alerts)

    # ---- medicine: households register, logistics lists and delivers --------------------
    med_done |= await _pickups(services, staff, tg, tw, medication.round.id, households)  # type: ignore[arg-type]

    # ---- 2 h before the deadline: reminders to those not finished only ------------------
    await _tick(clock, timers, 8 * 3600)  # the service's timer loop fires both rounds' timers
    reminded = set(
        await Response.filter(
            id__in=[
                int(ref.split(":")[1])
                for ref in await OutboxMessage.filter(purpose="reminder").values_list(
                    "ref", flat=True
                )
            ]
        ).values_list("household_id", "round_id")
    )
    not_finished_antigen = {
        (h, antigen.round.id) for h in sent_by if plans[h] in ("silent", "stops")
    } | {(h, antigen.round.id) for h, r in responses.items() if r.channel == "voice"}
    med_active = {
        (r.household_id, medication.round.id)  # type: ignore[attr-defined]
        for r in await Response.filter(
            round_id=medication.round.id, stage="active", status__not="answered"
        )
    }
    assert reminded == not_finished_antigen | med_active
    assert not any(h in finished for h, r in reminded if r == antigen.round.id)
    await _quiet(services)
    silent_sms = next(h for h in sent_by if plans[h] == "silent" and sent_by[h].channel == "sms")
    assert "提醒" in tw.sent_to(sent_by[silent_sms].address)[-1].body
    for answered in (
        next(h for h in positives if sent_by[h].channel == "telegram" and h in med_done),
        next(h for h in finished if sent_by[h].channel == "sms" and h in med_done),
    ):
        contact = sent_by[answered]
        texts = (
            tg.texts(int(contact.address))
            if contact.channel == "telegram"
            else [m.body for m in tw.sent_to(contact.address)]
        )
        assert texts and not any("提醒" in t for t in texts)
    # Answered `antigen`, still in `medication`: reminded of `medication` only.
    busy = next(h for h in finished if sent_by[h].channel == "telegram" and h not in med_done)
    reminders = [t for t in tg.texts(int(sent_by[busy].address)) if "提醒" in t]
    assert len(reminders) == 1 and "配药登记" in reminders[0]
    # The same timer firing again (another process, a restart) reminds nobody twice.
    assert await timers.run_due() == 0

    # ---- the deadline: each officer gets their building's not-answered list -------------
    await _tick(clock, timers, 2 * 3600)
    assert not await Timer.filter(status="pending").exists()
    await _quiet(services)
    phones: dict[int, list[str]] = {}
    for person in await Person.all():
        phones.setdefault(person.household_id, []).append(person.phone or "")  # type: ignore[attr-defined]
    for number in range(1, 26):  # every officer got their building's list
        officer = staff[f"officer{number}"].telegram_chat_id
        assert any("今日抗原检测" in t for t in tg.texts(officer)), number  # type: ignore[arg-type]
    for number in LISTS_CHECKED:
        officer = staff[f"officer{number}"]
        # A long list comes in several messages (only the first has the title): its parts, in
        # order, are the outbox rows of the officer's deadline list, each received in the chat.
        rows = await OutboxMessage.filter(
            idempotency_key__startswith=f"deadline:{antigen.round.id}:s{officer.id}:"
        ).values_list("idempotency_key", "body")
        parts = [body["text"] for _, body in sorted(rows, key=lambda r: int(r[0].split(":")[-1]))]
        received = tg.texts(officer.telegram_chat_id)  # type: ignore[arg-type]
        assert parts and all(part in received for part in parts)
        listed = "\n".join(parts)
        assert listed.startswith("⏱") and "今日抗原检测" in parts[0]
        for household in (h for h in households if h.building.number == number):
            address = f"{number}-{household.room} "
            if household.id in by_status["answered"]:
                assert address not in listed
            else:
                assert address in listed, address
                for phone in filter(None, phones.get(household.id, [])):
                    assert phone in listed
        assert not re.search(rf"(?<!\d){number + 1}-\d", listed)  # their own building only
    assert not tg.texts(staff["cadre1"].telegram_chat_id)[-1].startswith("⏱")  # type: ignore[arg-type]


def _room_key(room: str) -> tuple[int, str]:
    digits = re.sub(r"\D", "", room)
    return (int(digits) if digits else 0, room)


async def _pickups(
    services: Any,
    staff: dict[str, Staff],
    tg: FakeTelegram,
    tw: FakeTwilio,
    round_id: int,
    households: list[Household],
) -> set[int]:
    """Households of the pickup buildings answer `medication`; shift A (on duty at 08:00) lists
    and marks. Returns the households scripted here (their `medication` is done)."""
    router = services.router
    by_id = {h.id: h for h in households}
    waiting = {
        r.household_id: r  # type: ignore[attr-defined]
        for r in await Response.filter(round_id=round_id, stage="active").exclude(status="answered")
    }
    pressed: dict[str, int] = {}  # chat -> seq of the last survey button pressed

    async def tap(contact: Contact, response_id: int, suffix: str) -> None:
        """Press a button of the latest question the household's chat got."""
        chat = int(contact.address)

        def button() -> tuple[int, int, str] | None:
            best: tuple[int, int, str] | None = None
            for m in tg.sent_to(chat):
                for row in (m.get("reply_markup") or {}).get("inline_keyboard", []):
                    for b in row:
                        data = str(b.get("callback_data", ""))
                        parts = data.split(":")
                        if parts[:2] != ["a", str(response_id)] or parts[3:] != [suffix]:
                            continue
                        seq = int(parts[2])
                        if seq > pressed.get(contact.address, -1) and (
                            best is None or seq > best[0]
                        ):
                            best = (seq, m["message_id"], data)
            return best

        seq, message_id, data = await wait_for(button)
        pressed[contact.address] = seq
        await router.handle(
            Inbound("telegram", contact.address, choice=data, message_id=message_id)
        )

    async def register(household: Household, replies: list[str | Tap]) -> None:
        response = waiting[household.id]
        contact = next(c for c in household.contacts if c.channel == response.channel)
        for reply in replies:
            if isinstance(reply, Tap):
                await tap(contact, response.id, reply.suffix)
            else:
                await router.handle(Inbound(contact.channel, contact.address, text=reply))

    # A few households of each pickup building, alternating Telegram and SMS, highest floors
    # first (the list must put them in floor order).
    scripted: dict[int, tuple[list[Med], str] | None] = {}
    jobs = []
    for k, number in enumerate(PICKUP_BUILDINGS):
        pool = sorted(
            (by_id[h] for h in waiting if by_id[h].building.number == number),
            key=lambda h: (-h.floor, _room_key(h.room)),
        )
        for i, need in enumerate(NEEDS):
            channel = "telegram" if (i + k) % 2 == 0 else "sms"
            household = next(
                h for h in pool if h.id not in scripted and waiting[h.id].channel == channel
            )
            scripted[household.id] = need
            jobs.append(register(household, _med_replies(need, channel == "telegram")))
    await asyncio.gather(*jobs)
    await _quiet(services)
    answered = {
        r.household_id: r  # type: ignore[attr-defined]
        for r in await Response.filter(round_id=round_id, household_id__in=list(scripted))
    }
    for household_id, need in scripted.items():
        response = answered[household_id]
        assert response.status == "answered" and response.stage == "done", household_id
        if need is None:
            assert response.answers == {"needs_medicine": "no"}
            continue
        medicines, urgency = need
        assert response.answers["urgency"] == urgency
        assert [
            (m["patient"], m["drug"], m["dose"], m["days_left"], m["hospital"] or "")
            for m in response.answers["medicines"]
        ] == [(m.patient, m.drug, m.dose, m.days_left, m.hospital) for m in medicines]
        assert [m["insurance_card"] == "yes" for m in response.answers["medicines"]] == [
            m.card for m in medicines
        ]
    said_no = {
        r["household_id"]
        for r in await Response.filter(round_id=round_id, status="answered").values(
            "household_id", "answers"
        )
        if r["answers"].get("needs_medicine") == "no"
    }

    # Shift A of each pickup building asks for its list: exactly the scripted households
    # needing medicine, by floor, each medicine with its card flag; nobody who said "no".
    lists: dict[int, dict[str, Any]] = {}
    for number in PICKUP_BUILDINGS:
        chat = staff[f"logistics{number}A"].telegram_chat_id
        assert chat is not None
        before = len(tg.sent_to(chat))
        await router.handle(Inbound("telegram", str(chat), text=f"/pickup {number}"))
        await _quiet(services)
        listing, document = (await tg.wait_sent(chat, count=before + 2, timeout=10))[before:]
        lists[number] = listing
        needing = sorted(
            (
                by_id[h]
                for h, need in scripted.items()
                if need and by_id[h].building.number == number
            ),
            key=lambda h: (h.floor, _room_key(h.room)),
        )
        header, totals, *blocks = listing["text"].split("\n\n")
        assert f"值班：A班（08:00–20:00） logistics{number}A" in header
        assert f"logistics{number}B" not in header
        meds = [m for h in needing for m in scripted[h.id][0]]  # type: ignore[index]
        assert totals == text(
            CARE,
            "pk_totals",
            "zh-CN",
            building=number,
            households=len(needing),
            items=len(meds),
            cards=sum(m.card for m in meds),
            open=len(meds),
        )
        listed = [re.match(r"【(\d+)楼】(\S+)", b) for b in blocks]
        assert [(int(m[1]), m[2]) for m in listed if m] == [
            (h.floor, f"{number}-{h.room}") for h in needing
        ]
        no = {f"{number}-{by_id[h].room}" for h in said_no if by_id[h].building.number == number}
        assert len(no) > 3 and not no & {m[2] for m in listed if m}
        for block, household in zip(blocks, needing, strict=True):
            head, *lines = block.split("\n")
            medicines, urgency = scripted[household.id]  # type: ignore[misc]
            assert head.endswith(text(CARE, f"urgency_{urgency}", "zh-CN"))
            assert len(lines) == len(medicines)
            for n, (line, med) in enumerate(zip(lines, medicines, strict=True), 1):
                hospital = f" · {med.hospital}" if med.hospital else ""
                card = " · 💳需收医保卡" if med.card else ""
                assert line == (
                    f"  {n}. {med.drug} {med.dose}（{med.patient}用） · 余{med.days_left}天"
                    f"{hospital}{card}"
                )
        sheet = load_workbook(io.BytesIO(tg.files[document["document"]["file_id"]].content)).active
        assert sheet is not None
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        assert rows[0] == XLSX_COLUMNS
        assert [(r[2], r[6]) for r in rows[1:]] == [
            (h.room, m.drug)
            for h in needing
            for m in scripted[h.id][0]  # type: ignore[index]
        ]

    # "Delivered" (the list's buttons, pressed through the router): each household is told on
    # its own channel that its medicine is at the door; a second press tells nobody again.
    number = PICKUP_BUILDINGS[0]
    chat = staff[f"logistics{number}A"].telegram_chat_id
    listing = lists[number]
    marks = {b["callback_data"] for row in listing["reply_markup"]["inline_keyboard"] for b in row}
    told: dict[int, tuple[Contact, str]] = {}
    for channel in ("telegram", "sms"):
        household = next(
            by_id[h]
            for h, need in scripted.items()
            if need and by_id[h].building.number == number and answered[h].channel == channel
        )
        contact = next(c for c in household.contacts if c.channel == channel)
        med = scripted[household.id][0][0]  # type: ignore[index]
        told[household.id] = (
            contact,
            text(CARE, "pk_at_door", contact.language, drugs=med.drug),
        )
    for household_id in told:
        data = f"pk:d:{answered[household_id].id}:1"
        assert data in marks
        press = Inbound("telegram", str(chat), choice=data, message_id=listing["message_id"])
        routed = await router.handle(press)
        assert routed.toast == text(CARE, "pk_marked_delivered", "zh-CN")
        routed = await router.handle(press)
        assert routed.toast == text(CARE, "pk_already", "zh-CN")
    await _quiet(services)

    def at_door(contact: Contact, message: str) -> int:
        if contact.channel == "telegram":
            return sum(1 for t in tg.texts(int(contact.address)) if t == message)
        return sum(1 for m in tw.sent_to(contact.address) if m.body == message)

    for contact, message in told.values():
        assert at_door(contact, message) == 1, (contact.channel, message)
    assert await OutboxMessage.filter(purpose="pickup").count() == len(told)
    # The list now shows them delivered, without their buttons.
    before = len(tg.sent_to(chat))  # type: ignore[arg-type]
    await router.handle(Inbound("telegram", str(chat), text=f"/pickup {number}"))
    await _quiet(services)
    again = (await tg.wait_sent(chat, count=before + 2, timeout=10))[before]  # type: ignore[arg-type]
    assert again["text"].count("✅已送达") == len(told)
    buttons = {b["callback_data"] for row in again["reply_markup"]["inline_keyboard"] for b in row}
    assert not {f"pk:d:{answered[h].id}:1" for h in told} & buttons
    return set(scripted)
