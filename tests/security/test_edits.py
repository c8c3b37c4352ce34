"""An edited Telegram message is never an answer or a command. A resident who corrects "3" to
"2" is told, once and kindly, to send the corrected answer or go back; the edit answers nothing.
A staff member who edits a ``/notice`` sends nothing again."""

from __future__ import annotations

from pathlib import Path

from estate.staff import add_staff
from notifications.models import OutboxMessage
from surveys.models import Response
from tests.fakes.telegram import FakeTelegram
from tests.pace import FAKE_PACE
from tests.security.telegram_service import (
    CHAT,
    CHAT_EN,
    PHONE_EN,
    TOKEN,
    at_how_many_tested,
    enrol,
    idle,
    import_households,
    next_message,
    running,
)

STAFF_CHAT = 7000002
STAFF_PHONE = "+8613900000002"


async def test_an_edited_answer_answers_nothing_and_is_explained_once(
    db: str, tmp_path: Path
) -> None:
    await import_households(tmp_path)
    async with FakeTelegram(token=TOKEN, **FAKE_PACE) as tg:
        async with running(db, tg) as services:
            opened = await at_how_many_tested(tg, services)
            three = tg.make_message_update(CHAT, "3")
            await tg.deliver(three)
            asked = await next_message(tg, CHAT, 4)
            assert "阳性" in asked["text"]  # now at "how many positive?"

            message_id = three["message"]["message_id"]
            await tg.user_edit(CHAT, message_id, "2")  # the resident corrects 3 to 2
            note = await next_message(tg, CHAT, 5)
            assert "修改过的消息" in note["text"] and "⬅️" in note["text"]
            await tg.user_edit(CHAT, message_id, "2 人")  # edited again: no second note
            await idle(services)

    response = await Response.get(round_id=opened.round.id, household__room="1203")
    assert response.answers.get("tested") == 3  # the edit changed nothing
    assert "positive" not in response.answers  # and was not taken as the next answer
    assert len(tg.sent_to(CHAT)) == 5


async def test_the_note_is_in_the_residents_language(db: str, tmp_path: Path) -> None:
    await import_households(tmp_path)
    async with FakeTelegram(token=TOKEN, **FAKE_PACE) as tg:
        async with running(db, tg) as services:
            await enrol(tg, CHAT_EN, PHONE_EN)
            hello = tg.make_message_update(CHAT_EN, "hello")
            await tg.deliver(hello)
            await next_message(tg, CHAT_EN, 2)
            await tg.user_edit(CHAT_EN, hello["message"]["message_id"], "/start")
            note = await next_message(tg, CHAT_EN, 3)
            assert "Edited messages are not read" in note["text"]
            await idle(services)
    assert len(tg.sent_to(CHAT_EN)) == 3  # the edited "/start" was not run


async def test_an_edited_notice_sends_nothing(db: str, tmp_path: Path) -> None:
    await import_households(tmp_path)
    await add_staff("Cadre7", role="cadre", phone=STAFF_PHONE, buildings=[7])
    async with FakeTelegram(token=TOKEN, **FAKE_PACE) as tg:
        async with running(db, tg) as services:
            await enrol(tg)  # 7-1203 gets notices by Telegram
            await enrol(tg, STAFF_CHAT, STAFF_PHONE.lstrip("+"))
            notice = tg.make_command_update(STAFF_CHAT, "/notice 7 楼道已消毒")
            await tg.deliver(notice)
            await next_message(tg, CHAT, 2)  # the notice reaches the household
            await idle(services)
            notices = await OutboxMessage.filter(purpose="notice").count()
            assert notices >= 1

            edit = notice["message"]["message_id"]
            await tg.user_edit(STAFF_CHAT, edit, "/notice 7 楼道已消毒（更正）")
            await idle(services)

    assert await OutboxMessage.filter(purpose="notice").count() == notices
    assert len(tg.sent_to(CHAT)) == 2  # the household got the notice once
    assert not any("更正" in t for t in tg.texts(CHAT))
