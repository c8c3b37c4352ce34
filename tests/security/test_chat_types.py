"""Enrolment, surveys, call-ups, staff commands and login links happen in private chats only.

Where someone added the bot to a group (the building's neighbours' group), a supergroup or a
channel, a shared contact links nothing, a staff command (``/login`` included) runs nothing,
and the chat is answered at most once, with "please write to me privately" and the bot's
t.me link. A group chat linked before (by older versions) is unlinked when it next writes, and
is never chosen for a household's or a staff member's message meanwhile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from estate.models import Contact, Household, LoginToken, Staff
from estate.staff import add_staff
from notifications.message import Message
from notifications.models import OutboxMessage
from notifications.to_staff import staff_outgoing
from tests.fakes.telegram import FakeTelegram
from tests.pace import FAKE_PACE
from tests.security.telegram_service import (
    CHAT,
    GROUP,
    PHONE,
    TOKEN,
    enrol,
    idle,
    import_households,
    running,
)

STAFF_CHAT = 7000001
STAFF_PHONE = "+8613900000001"
LINK = "https://t.me/louzhang_test_bot"  # the fake's bot username


def in_chat(update: dict[str, Any], chat_type: str) -> dict[str, Any]:
    """A message update as Telegram sends it from this kind of chat (a channel: channel_post)."""
    if chat_type == "channel":
        update["channel_post"] = update.pop("message")
    return update


@pytest.mark.parametrize("chat_type", ["group", "supergroup", "channel"])
async def test_nothing_happens_in_a_group_but_one_private_link(
    db: str, tmp_path: Path, chat_type: str
) -> None:
    await import_households(tmp_path)
    await add_staff("Admin", role="admin", phone=STAFF_PHONE)
    async with FakeTelegram(token=TOKEN, **FAKE_PACE) as tg:
        tg.set_chat_type(GROUP, chat_type)  # type: ignore[arg-type]
        async with running(db, tg) as services:
            # A resident and a staff member share their numbers in the group ...
            await tg.deliver(in_chat(tg.make_contact_update(GROUP, PHONE, user_id=CHAT), chat_type))
            staff_contact = tg.make_contact_update(
                GROUP, STAFF_PHONE.lstrip("+"), user_id=STAFF_CHAT
            )
            await tg.deliver(in_chat(staff_contact, chat_type))
            # ... then ask for a login link, a survey, a notice.
            for said in ("/login", "/start", "/notice all hello", "2"):
                update = tg.make_command_update(GROUP, said, user_id=STAFF_CHAT)
                await tg.deliver(in_chat(update, chat_type))
            await idle(services)

    assert await Contact.filter(channel="telegram").count() == 0  # nothing linked
    assert await Staff.filter(telegram_chat_id__isnull=False).count() == 0
    assert await LoginToken.all().count() == 0  # no login link was made
    (answer,) = tg.texts(GROUP)  # answered once, whatever was said
    assert "私聊" in answer and LINK in answer
    assert not any("/login/" in t for t in tg.texts(GROUP))


async def test_a_button_pressed_in_a_group_is_answered_and_changes_nothing(
    db: str, tmp_path: Path
) -> None:
    await import_households(tmp_path)
    async with FakeTelegram(token=TOKEN, **FAKE_PACE) as tg:
        async with running(db, tg) as services:
            query = await tg.user_press(GROUP, 1, "a:1:1:y", user_id=CHAT)
            await idle(services)
    assert LINK in tg.callback_answers[query]["text"]
    assert await Contact.filter(channel="telegram").count() == 0


async def test_a_linked_group_is_unlinked_and_never_chosen(db: str, tmp_path: Path) -> None:
    await import_households(tmp_path)
    household = await Household.get(room="1203")
    # What older versions did when a contact was shared in a group: the group is linked.
    await Contact.create(household=household, channel="telegram", address=str(GROUP))
    staff = await add_staff("Admin", role="admin", phone=STAFF_PHONE)
    await Staff.filter(id=staff.id).update(telegram_chat_id=GROUP)
    async with FakeTelegram(token=TOKEN, **FAKE_PACE) as tg:
        async with running(db, tg) as services:
            opened = await services.runtime.open_round("antigen", buildings=[7])
            assert "telegram" not in opened.by_channel  # the group is not 7-1203's chat
            await idle(services)
            assert not await OutboxMessage.filter(address=str(GROUP)).exists()

            await tg.user_message(GROUP, "2", user_id=CHAT)  # the group writes: unlinked
            await idle(services)
            await enrol(tg)  # the resident's own chat is linked as usual
            await idle(services)

    group = await Contact.get(address=str(GROUP))
    assert (group.status, group.status_reason) == ("unreachable", "group chat")
    assert (await Staff.get(id=staff.id)).telegram_chat_id is None
    assert await Contact.filter(address=str(CHAT), status="active").exists()
    assert await OutboxMessage.filter(address=str(GROUP)).count() == 1  # "write privately"


def test_a_staff_member_whose_chat_is_a_group_gets_messages_by_sms() -> None:
    member = Staff(name="A", role="admin", phone=STAFF_PHONE, telegram_chat_id=GROUP)
    out = staff_outgoing(member, Message("7-1203: 1 positive"), key="k")
    assert out is not None and (out.channel, out.address) == ("sms", STAFF_PHONE)
    member.telegram_chat_id = STAFF_CHAT
    out = staff_outgoing(member, Message("7-1203: 1 positive"), key="k")
    assert out is not None and (out.channel, out.address) == ("telegram", str(STAFF_CHAT))
