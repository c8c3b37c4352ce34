"""A whole drive of the demo estate (25 buildings, 6 points, ~5,000 residents) on a fake clock,
against the fake Telegram and Twilio servers through the real app (webhooks included). Nine
hours of drive, seconds of test. The promises checked:

1. The preview counts the whole estate (>1,600 households, some door-to-door) and the drive,
   moved from one due moment to the next, ends ("done") in a bounded number of steps.
2. Households reply as scripted, by SMS (typed 1/2/3) and by Telegram button, at once, after the
   last call, or never; every reply is recorded.
3. Staff steer it from a Telegram chat: /next calls point A's next floor at once, /pause B holds
   point B (nothing called while paused) until /resume B, /skip C skips one batch, /drive status
   answers; the service restarts once mid-drive and carries on.
4. Every household received exactly the sequence its batch implies (get ready, call, then a
   thank-you or a last call, and a thank-you after a late reply; only "get ready" for a skipped
   batch; nothing without a channel), home-bound households were never called, and the silent
   list is exactly the households that never replied (or could not be reached).
5. No provider message was sent twice for one household and kind (idempotency keys unique).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.app import build_services
from bot.staff.drive_launch import build_options, launch, make_preview
from bot.web.app import create_app
from config.clock import FakeClock
from estate.demo import seed_demo
from estate.models import Contact, Household, Staff
from notifications.drives.models import Drive, DriveBatch, DriveHousehold
from notifications.drives.setup import contacts_for
from notifications.drives.status import load_status, render_status
from notifications.models import OutboxMessage
from tests.conftest import free_port, make_settings
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import FakeTwilio
from tests.waiting import wait_for

SID = "AC" + "0123456789abcdef" * 2
AUTH = "drive-e2e-auth-token"
SENDER = "+15005550006"
BOT = "777:DRIVE"
STAFF_CHAT = 9000001
T0 = datetime(2022, 4, 10, 5, 30, tzinfo=UTC)  # 13:30 in Shanghai
POINTS = "A:1-4,B:5-8,C:9-12,D:13-16,E:17-21,F:22-25"
TELEGRAM_BUILDINGS = (1, 5, 22)  # households here use Telegram (chat id = 7_000_000 + id)


def script(household_id: int) -> str:
    """What each household does when called: reply 1/2/3 at once, later, or never."""
    return {0: "2", 1: "3", 7: "late", 8: "never", 9: "never"}.get(household_id % 10, "1")


class Estate:
    def __init__(self, tw: FakeTwilio, tg: FakeTelegram, port: int, db: str, clock: FakeClock):
        self.tw, self.tg, self.port, self.db, self.clock = tw, tg, port, db, clock
        self.base = f"http://127.0.0.1:{port}"
        self.services: Any = None
        self.runner: web.AppRunner | None = None

    async def start(self) -> None:
        settings = make_settings(
            database_url=self.db,
            public_url=self.base,
            twilio_account_sid=SID,
            twilio_auth_token=AUTH,
            twilio_from=SENDER,
            twilio_api_url=self.tw.url,
            telegram_token=BOT,
            telegram_api_url=self.tg.url,
            telegram_mode="webhook",
        )
        self.services = build_services(settings, clock=self.clock, limits_enabled=False)
        self.runner = web.AppRunner(create_app(self.services))
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        assert self.runner is not None
        await self.runner.cleanup()

    async def drained(self) -> None:
        self.services.dispatcher.notify()
        now = self.clock.now()

        async def idle() -> bool:
            return not await OutboxMessage.filter(
                status__in=["queued", "claimed", "sending"], next_attempt_at__lte=now
            ).exists()

        await wait_for(idle, limit=30)

    async def step(self) -> bool:
        """Move the clock to the next due moment and let the drive act; False when done."""
        due = await self.services.drives.next_due()
        if due is None:
            return False
        if due > self.clock.now():
            self.clock.set(due)
        await self.services.drives.tick()
        await self.drained()
        return True


@contextlib.asynccontextmanager
async def demo_estate(db: str) -> AsyncIterator[Estate]:
    await seed_demo(today=date(2022, 4, 10))
    # Three buildings have linked Telegram chats (as if each household shared its contact).
    households = await Household.filter(building__number__in=TELEGRAM_BUILDINGS)
    await Contact.bulk_create(
        [
            Contact(household_id=h.id, channel="telegram", address=str(7_000_000 + h.id))
            for h in households
        ]
    )
    await Household.filter(id__in=[h.id for h in households]).update(preferred_channel="telegram")
    await Staff.create(name="admin", role="admin", telegram_chat_id=STAFF_CHAT, language="en")
    clock = FakeClock(T0)
    async with (
        FakeTwilio(account_sid=SID, auth_token=AUTH) as tw,
        # The app runs with its rate limits off on a fake clock: so does the fake. Chats of
        # residents and staff are made in the database, as if each had started the bot.
        FakeTelegram(token=BOT, enforce_limits=False, strict_chats=False) as tg,
    ):
        estate = Estate(tw, tg, free_port(), db, clock)
        await estate.start()
        try:
            yield estate
        finally:
            await estate.stop()


def kind_of(body: str) -> str:
    for marker, kind in (
        ("请准备", "R"),
        ("get ready", "R"),
        ("最后通知", "L"),
        ("Last call", "L"),
        ("现在请", "C"),
        ("come down now", "C"),
        ("收到，谢谢", "A"),
        ("Thank you", "A"),
        ("已记录", "A"),
        ("Noted", "A"),
    ):
        if marker in body:
            return kind
    return "?"


async def test_a_whole_drive_of_the_demo_estate(db: str, tmp_path: Path) -> None:
    began = time.monotonic()
    async with demo_estate(db) as estate:
        tw, tg, clock = estate.tw, estate.tg, estate.clock
        settings = estate.services.settings
        options = build_options(
            points=POINTS,
            start=(T0 + timedelta(minutes=10)).isoformat(),
            interval="5m",
            lead="5m",
            now=clock.now(),
            settings=settings,
            locations="A=东门广场,B=北门",
        )
        round_id, preview = await make_preview(options, {"telegram", "sms"})
        assert preview.households > 1600 and preview.door_to_door > 0
        drive = await launch(options, preview, round_id, now=clock.now(), created_by="test")
        households = {
            p.household_id: p  # type: ignore[attr-defined]
            for p in await DriveHousehold.filter(drive_id=drive.id)
        }
        # Who each household's call-up goes to: the same choice the runtime makes.
        recipients = await contacts_for(list(households), {"telegram", "sms"})
        contacts = {h: c for h, c in recipients.items() if c.channel == "sms"}
        tg_contacts = {h: c for h, c in recipients.items() if c.channel == "telegram"}
        answered: set[int] = set()
        steps = 0
        restarted = paused = nexted = skipped = False

        async def reply_as(household_id: int, part_id: int, value: str) -> None:
            """The household answers: the button of its latest call in Telegram, or an SMS."""
            answered.add(household_id)
            if household_id in tg_contacts:
                chat = int(tg_contacts[household_id].address)
                message = next(
                    m
                    for m in reversed(tg.sent_to(chat))
                    if m.get("reply_markup", {}).get("inline_keyboard")
                )
                await tg.user_press(chat, message["message_id"], f"dv:{part_id}:{value}")
            else:
                status, _ = await tw.inbound(
                    f"{estate.base}/twilio/sms", contacts[household_id].address, value
                )
                assert status == 200

        async def respond() -> None:
            # Residents just called answer as scripted: at once (1/2/3), after the last call
            # ("late": 1), or never.
            called = await DriveHousehold.filter(
                drive_id=drive.id, batch__state="called", reply__isnull=True, marked_by__isnull=True
            ).values_list("household_id", "id")
            for household_id, part_id in called:
                plan = script(household_id)
                if plan in ("1", "2", "3") and household_id not in answered:
                    if household_id in recipients:
                        await reply_as(household_id, part_id, plan)
            for household_id, part_id in await DriveHousehold.filter(
                drive_id=drive.id, last_call_at__isnull=False, reply__isnull=True
            ).values_list("household_id", "id"):
                plan = script(household_id)
                if plan == "late" and household_id not in answered and household_id in recipients:
                    await reply_as(household_id, part_id, "1")

            async def recorded() -> bool:
                return not await DriveHousehold.filter(
                    drive_id=drive.id, household_id__in=list(answered), reply__isnull=True
                ).exists()

            await wait_for(recorded, limit=20)
            await estate.drained()

        while True:
            if not await estate.step():
                break
            steps += 1
            await respond()
            now = clock.now()
            # Staff steer it from Telegram, and the service restarts once, mid-drive.
            if steps == 20 and not nexted:
                # Point A's queue is short: two minutes into the slot, call the next floor now.
                clock.set(now + timedelta(minutes=2))
                await tg.user_command(STAFF_CHAT, "/next A")
                await wait_for(lambda: any("called now" in t for t in tg.texts(STAFF_CHAT)))
                await wait_for(
                    lambda: DriveBatch.filter(
                        drive_id=drive.id, point="A", called_at=clock.now()
                    ).exists()
                )
                await estate.drained()
                await respond()
                nexted = True
            if steps == 30 and not paused:
                await tg.user_command(STAFF_CHAT, "/pause B")
                await wait_for(lambda: "paused" in tg.texts(STAFF_CHAT)[-1])
                clock.set(now + timedelta(minutes=7))
                await estate.services.drives.tick()
                await estate.drained()
                await respond()
                assert (
                    await DriveBatch.filter(
                        drive_id=drive.id, point="B", called_at=clock.now()
                    ).count()
                    == 0
                )
                await tg.user_command(STAFF_CHAT, "/resume B")
                await wait_for(lambda: "resumed" in tg.texts(STAFF_CHAT)[-1])
                paused = True
            if steps == 40 and not skipped:
                await tg.user_command(STAFF_CHAT, "/skip C")
                await wait_for(lambda: "skipped" in tg.texts(STAFF_CHAT)[-1])
                skipped = True
            if steps == 60 and not restarted:
                await estate.stop()  # the app's cleanup stops every service
                await estate.start()
                restarted = True
            assert steps < 2000, "the drive does not end"
        await tg.user_command(STAFF_CHAT, "/drive status")
        await wait_for(lambda: any("Door-to-door" in t for t in tg.texts(STAFF_CHAT)))

        # ---- what every household received ----------------------------------------------
        drive = await Drive.get(id=drive.id)
        assert drive.status == "done"
        batches = {b.id: b for b in await DriveBatch.filter(drive_id=drive.id)}
        assert sum(b.state == "skipped" for b in batches.values()) == 1
        assert any(b.ready_dropped for b in batches.values()) is False  # lead = interval
        parts = await DriveHousehold.filter(drive_id=drive.id)
        mismatches = []
        for part in parts:
            hid = part.household_id  # type: ignore[attr-defined]
            if hid in tg_contacts:
                got = [
                    kind_of(m.get("text", "")) for m in tg.sent_to(int(tg_contacts[hid].address))
                ]
            elif hid in contacts:
                got = [kind_of(m.body) for m in tw.sent_to(contacts[hid].address)]
            else:
                got = []  # no channel: their officer phones them
            expected: list[str] = []
            batch = batches.get(part.batch_id) if part.batch_id else None  # type: ignore[attr-defined]
            if hid in contacts or hid in tg_contacts:
                if batch is not None and batch.state == "skipped":
                    expected = ["R"] if batch.ready_sent_at else []
                elif batch is not None:
                    expected = [] if batch.ready_dropped or not batch.ready_sent_at else ["R"]
                    expected.append("C")
                    plan = script(hid)
                    if plan in ("1", "2", "3"):
                        expected.append("A")
                    else:
                        expected.append("L")
                        if plan == "late":
                            expected.append("A")
            if got != expected:
                mismatches.append(
                    (
                        part.building,
                        part.room,
                        got,
                        expected,
                        part.reply,
                        part.replied_at,
                        part.last_call_at,
                        batch and (batch.point, batch.seq, batch.called_at),
                    )
                )
        assert not mismatches, mismatches[:10]
        # Positive and home-bound households were never called.
        assert all(p.batch_id is None for p in parts if p.door_reason in ("home_bound",))  # type: ignore[attr-defined]
        silent = [p for p in parts if p.silent]
        assert silent and all(
            script(p.household_id) == "never" or p.household_id not in recipients  # type: ignore[attr-defined]
            for p in silent
        )
        status = await load_status(drive.id)
        assert status is not None and len(status.silent) == len(silent)
        text = render_status(status, "en", UTC)
        assert "Silent after the last call" in text
        # No provider message twice for one household and kind.
        keys = await OutboxMessage.filter(purpose="callup").values_list(
            "idempotency_key", flat=True
        )
        assert len(keys) == len(set(keys))
    elapsed = time.monotonic() - began
    print(f"\nwhole drive: {steps} steps, {len(parts)} households, {elapsed:.1f} s real time")
