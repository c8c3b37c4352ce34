"""Each provider message has at most one effect: a Telegram update that comes again (the webhook
retried because our answer was slow or lost, or a restart) changes nothing the second time,
also after a restart on the same database. (The SMS half, once per MessageSid, is in
tests/bot/web/test_twilio_webhooks.py and tests/notifications/test_seen.py.)"""

from __future__ import annotations

from pathlib import Path

from notifications.models import InboundSeen
from surveys.models import Response
from tests.fakes.telegram import FakeTelegram
from tests.pace import FAKE_PACE
from tests.security.telegram_service import (
    CHAT,
    TOKEN,
    at_how_many_tested,
    idle,
    import_households,
    next_message,
    running,
)


async def test_an_update_posted_twice_is_one_answer_and_one_reply(
    any_db: str, tmp_path: Path
) -> None:
    await import_households(tmp_path)
    async with FakeTelegram(token=TOKEN, **FAKE_PACE) as tg:
        async with running(any_db, tg) as services:
            opened = await at_how_many_tested(tg, services)
            two = tg.make_message_update(CHAT, "2")  # "2 tested"
            assert await tg.deliver(two) == 200
            assert await tg.deliver(two) == 200  # Telegram retries the same update
            asked = await next_message(tg, CHAT, 4)
            assert "阳性" in asked["text"]  # the next question: how many positive?
            await idle(services)
        # louzhang restarts on the same database; Telegram delivers the update once more.
        async with running(any_db, tg) as services:
            assert await tg.deliver(two) == 200
            await idle(services)

    response = await Response.get(round_id=opened.round.id, household__room="1203")
    assert response.answers.get("tested") == 2
    assert "positive" not in response.answers  # the repeat was not taken as "2 positive"
    assert response.status == "in_progress"
    texts = tg.texts(CHAT)
    assert len(texts) == 4  # linked, tested?, how many tested?, how many positive? - once each
    assert sum("阳性" in t for t in texts) == 1
    assert (
        await InboundSeen.filter(
            provider="telegram", key__startswith=f"{two['update_id']}:"
        ).count()
        == 1
    )


async def test_a_button_press_delivered_twice_is_one_answer(db: str, tmp_path: Path) -> None:
    await import_households(tmp_path)
    async with FakeTelegram(token=TOKEN, **FAKE_PACE) as tg:
        async with running(db, tg) as services:
            await at_how_many_tested(tg, services)
            press = tg.updates[-1]  # the "是" press that led to "how many tested?"
            assert "callback_query" in press
            assert await tg.deliver(press) == 200
            await idle(services)
            assert len(tg.sent_to(CHAT)) == 3  # nothing new
            assert len(tg.calls_to("answerCallbackQuery")) == 1  # not even a "stale" toast
