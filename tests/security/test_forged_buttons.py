"""Button data comes from the user's client and can be anything (Telegram does not check it
against the buttons we sent).

- A button whose ids no database row can have (``a:99999999999999999999999:1:y``) is answered
  with a clear "this button is invalid" and changes nothing; it never reaches a query (SQLite
  and PostgreSQL refuse such numbers with an error, which left the button spinning).
- A call-up button (``dv:PART:1``) counts only once the household's batch was told to get ready
  or come down; an early (forged) press is answered "not called yet" and records nothing."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from config.clock import FakeClock
from config.i18n import text
from estate.models import Contact, Household
from notifications.drives.models import DriveBatch, DriveHousehold
from notifications.drives.runtime import DriveRuntime
from notifications.drives.texts import DRIVE_TEXTS
from notifications.models import OutboxMessage
from tests.fakes.telegram import FakeTelegram
from tests.notifications.drives.test_drives import MIN, T0, options, small_estate, start
from tests.pace import FAKE_PACE
from tests.security.telegram_service import (
    CHAT,
    TOKEN,
    enrol,
    idle,
    import_households,
    running,
)

TOO_BIG = "99999999999999999999999"
FORGED = [
    f"a:{TOO_BIG}:1:y",
    f"a:1:{TOO_BIG}:y",
    f"rv:{TOO_BIG}",
    f"dv:{TOO_BIG}:1",
    f"pk:c:{TOO_BIG}:1",
    f"qa:a:{TOO_BIG}",
]


async def test_buttons_with_impossible_ids_are_answered_and_change_nothing(
    any_db: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await import_households(tmp_path)
    async with FakeTelegram(token=TOKEN, **FAKE_PACE) as tg:
        async with running(any_db, tg) as services:
            await enrol(tg)
            await idle(services)
            rows = await OutboxMessage.all().count()
            with caplog.at_level(logging.WARNING):
                queries = [await tg.user_press(CHAT, 1, data) for data in FORGED]
                await idle(services)
    for query in queries:
        assert "按钮无效" in tg.callback_answers[query]["text"]
    assert await OutboxMessage.all().count() == rows
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_call_up_button_counts_only_once_its_batch_is_called(db: str) -> None:
    await small_estate(buildings=1)
    clock = FakeClock(T0)
    await start(clock, options(points=[("A", [1])]))
    runtime = DriveRuntime(clock=clock)
    clock.set(T0 + 10 * MIN)
    await runtime.tick()  # floor 4 called; floors 3..1 wait

    early = await Household.get(room="101")
    part = await DriveHousehold.get(household=early).select_related("batch")
    batch = part.batch
    assert batch is not None and batch.state == "waiting"
    contact = await Contact.get(household=early)
    ack = await runtime.reply(contact, 1, part_id=part.id)  # a forged press, before its turn
    assert ack is not None and ack.text == text(DRIVE_TEXTS, "not_called", contact.language)
    await part.refresh_from_db()
    assert part.reply is None and part.replied_at is None

    called = await Household.get(room="401")
    called_part = await DriveHousehold.get(household=called)
    ack = await runtime.reply(await Contact.get(household=called), 1, part_id=called_part.id)
    assert ack is not None and ack.text == text(DRIVE_TEXTS, "ack_1", contact.language)
    await called_part.refresh_from_db()
    assert called_part.reply == 1

    # Once floor 1 is told to get ready, its button counts.
    while (due := await runtime.next_due()) is not None and due <= batch.ready_at:
        clock.set(max(due, clock.now()))
        await runtime.tick()
    assert (await DriveBatch.get(id=batch.id)).state == "ready"
    ack = await runtime.reply(contact, 3, part_id=part.id)
    assert ack is not None and ack.text == text(DRIVE_TEXTS, "ack_3", contact.language)
    await part.refresh_from_db()
    assert part.reply == 3
