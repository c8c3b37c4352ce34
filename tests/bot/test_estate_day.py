"""A day in the estate on a fake clock (issue 6): the 25-building demo estate, one admin, seven
cadres (3-4 buildings each), an information officer per building, `antigen` and `medication`
rounds for every building, scripted answers (some positive, some never finished, some
silence), reminders before the deadline only to households that have not finished, alerts to
the right cadre once, and at the deadline each officer's list of their building's households
that did not answer, with phone numbers. Messages go out through the real dispatcher to the
fake Telegram Bot API and the fake Twilio; inbound answers enter the router directly (the
webhook paths are covered by the end-to-end tests)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot.inbound import Inbound
from bot.service import build_services, start_services, stop_services
from config.clock import FakeClock
from estate.demo import seed_demo
from estate.models import Building, Contact, Household, Person, Staff, StaffBuilding
from notifications.models import OutboxMessage, Timer
from surveys.models import Response
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


async def _staff() -> dict[str, Staff]:
    """Admin, 7 cadres, 25 officers; their chats linked (enrolment is tested elsewhere)."""
    buildings = {b.number: b for b in await Building.all()}
    staff: dict[str, Staff] = {}
    chat = 9_000_000
    members: list[tuple[str, str, list[int]]] = [("admin", "admin", [])]
    members += [(f"cadre{i}", "cadre", list(r)) for i, r in enumerate(CADRE_BUILDINGS, 1)]
    members += [(f"officer{b}", "officer", [b]) for b in range(1, 26)]
    for name, role, numbers in members:
        chat += 1
        member = await Staff.create(name=name, role=role, telegram_chat_id=chat)
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
        waiting = await OutboxMessage.filter(
            status__in=["queued", "claimed", "sending"],
            next_attempt_at__lte=services.clock.now(),
        ).count()
        return waiting == 0

    await wait_for(idle, limit=120)


async def _tick(clock: FakeClock, timers: Any, seconds: float) -> None:
    """Move the fake clock; wait for the background timer loop's next pass."""
    before = timers.passes
    clock.advance(seconds)
    await wait_for(lambda: timers.passes > before)


async def test_a_day_in_the_estate(db: str) -> None:
    await seed_demo(today=date(2022, 4, 10))
    staff = await _staff()
    await _enrol_telegram_households()
    clock = FakeClock(START)
    async with (
        FakeTwilio(account_sid=SID, auth_token=TOKEN) as tw,
        FakeTelegram(token="123:T") as tg,
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
    timers = services.staff_tools.timers
    antigen = await runtime.open_round("antigen", closes_in=timedelta(hours=10))
    medication = await runtime.open_round("medication", closes_in=timedelta(hours=10))
    for opened in (antigen, medication):
        await schedule_round(opened.round, None, now=clock.now())
    assert antigen.households > 1700 and antigen.unreachable < 50
    assert medication.waiting == sum(antigen.by_channel.values())  # one round at a time
    await _quiet(services)

    # ---- the morning: households answer (or not) ----------------------------------------
    households = await Household.all().select_related("building").prefetch_related("contacts")
    households.sort(key=lambda h: (h.building.number, h.floor, h.room))
    seen: dict[int, int] = {}
    plans: dict[int, str] = {}
    for household in households:
        index = seen[household.building.number] = seen.get(household.building.number, -1) + 1
        plans[household.id] = _plan(index)
    responses = {
        r.household_id: r  # type: ignore[attr-defined]
        for r in await Response.filter(round_id=antigen.round.id)
    }
    sent_by: dict[int, Contact] = {}
    for household in households:
        contact = next(
            (c for c in household.contacts if c.channel == responses[household.id].channel), None
        )
        if contact is not None:
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
    assert len(positives) > 100

    # ---- alerts: each positive reaches its building's cadre and the admin, once ----------
    alerts = await OutboxMessage.filter(purpose="alert").values_list("address", "body")
    cadre_of = {b: staff[f"cadre{i}"] for i, r in enumerate(CADRE_BUILDINGS, 1) for b in r}
    admin_chat = str(staff["admin"].telegram_chat_id)
    assert sum(1 for a, _ in alerts if a == admin_chat) == len(positives)
    building_of = {h.id: h for h in households}
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
    }
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
    for number in (1, 13, 25):
        chat = staff[f"officer{number}"].telegram_chat_id
        lists = [t for t in tg.texts(chat) if "今日抗原检测" in t]  # type: ignore[arg-type]
        listed = "\n".join(lists)
        assert listed.startswith("⏱")
        for household in (h for h in households if h.building.number == number):
            address = f"{number}-{household.room} "
            if household.id in by_status["answered"]:
                assert address not in listed
            else:
                assert address in listed, address
                for phone in filter(None, phones.get(household.id, [])):
                    assert phone in listed
        assert f"{number + 1}-" not in listed  # their own building only
    assert not tg.texts(staff["cadre1"].telegram_chat_id)[-1].startswith("⏱")  # type: ignore[arg-type]
