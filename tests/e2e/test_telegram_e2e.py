"""End to end over Telegram: import residents, enrol by shared contact, answer `antigen` with
buttons and typed numbers, read the report. The real PTB talks to the fake Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.app import build_services
from bot.web.app import create_app
from estate.importing.residents import import_residents
from estate.models import Contact
from surveys.models import Response, Revision
from surveys.report import build_report
from tests.conftest import free_port, make_settings
from tests.fakes.telegram import FakeTelegram
from tests.pace import FAKE_PACE, SETTINGS_PACE
from tests.waiting import wait_for

CSV = (
    "\ufeffbuilding,floor,room,name,phone,birth_year,channel,language,home_bound,notes\r\n"
    "7,,1203室,王芳,138 0013 8000,1980,telegram,zh-CN,,\r\n"
    "7,,1203室,李强,13900139000,1950,Telegram,,no,\r\n"
    "7,12,1204,Anna Smith,+86 137 0013 7000,1990,telegram,en,,\r\n"
    "8,3,302,张伯,13600136000,1940,sms,,yes,独居\r\n"
)
CHAT = 5550001
CHAT_EN = 5550002


async def start_app(
    db: str, tg: FakeTelegram, port: int, *, secret: str | None = None
) -> tuple[web.AppRunner, Any]:
    settings = make_settings(
        database_url=db,
        telegram_token="123:TEST",
        telegram_api_url=tg.url,
        telegram_mode="webhook",
        telegram_webhook_secret=secret,
        public_url=f"http://127.0.0.1:{port}",
        **SETTINGS_PACE,
    )
    services = build_services(settings)
    runner = web.AppRunner(create_app(services))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, services


async def import_csv(tmp_path: Path) -> None:
    path = tmp_path / "residents.csv"
    path.write_bytes(CSV.encode("utf-8"))
    await import_residents(path)


async def enrol_and_say_yes(tg: FakeTelegram, services: Any) -> Any:
    """7-1203 links its chat, `antigen` opens, the first question is answered "yes"."""
    await tg.user_contact(CHAT, "8613800138000")
    await next_message(tg, CHAT, 1)
    opened = await services.runtime.open_round("antigen", buildings=[7])
    first = await next_message(tg, CHAT, 2)
    await tg.user_press(CHAT, first["message_id"], buttons(first)["是"])
    await next_message(tg, CHAT, 3)
    return opened


@pytest.fixture
async def live(any_db: str, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    await import_csv(tmp_path)
    port = free_port()
    async with FakeTelegram(token="123:TEST", **FAKE_PACE) as tg:
        runner, services = await start_app(any_db, tg, port, secret="s3cret")
        try:
            yield {"tg": tg, "services": services, "port": port}
        finally:
            await runner.cleanup()


async def next_message(tg: FakeTelegram, chat: int, count: int) -> dict[str, Any]:
    await tg.wait_sent(chat, count=count, timeout=10)
    return tg.sent_to(chat)[count - 1]


def buttons(message: dict[str, Any]) -> dict[str, str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row}


async def test_enrol_answer_antigen_and_report(live: dict[str, Any]) -> None:
    tg: FakeTelegram = live["tg"]
    services = live["services"]
    assert tg.webhook_url and tg.webhook_url.endswith("/telegram/webhook")

    # /start from an unknown chat: asked to share the phone number, nothing linked.
    assert await tg.user_command(CHAT, "/start") == 200
    welcome = await next_message(tg, CHAT, 1)
    assert "手机号" in welcome["text"]
    request = tg.calls_to("sendMessage")[-1].params["reply_markup"]
    assert request["keyboard"][0][0]["request_contact"] is True

    # A number nobody registered links nothing.
    await tg.user_contact(CHAT, "8613311112222")
    refused = await next_message(tg, CHAT, 2)
    assert "没有找到" in refused["text"]
    assert await Contact.filter(channel="telegram").count() == 0

    # Someone else's contact card is refused too.
    forwarded = tg.make_contact_update(CHAT, "8613800138000")
    forwarded["message"]["contact"]["user_id"] = 999
    await tg.deliver(forwarded)
    await next_message(tg, CHAT, 3)
    assert await Contact.filter(channel="telegram").count() == 0

    # The registered number (as Telegram sends it: digits, no +) links the chat to 7-1203.
    await tg.user_contact(CHAT, "8613800138000")
    linked = await next_message(tg, CHAT, 4)
    assert "7-1203" in linked["text"]

    opened = await services.runtime.open_round("antigen", buildings=[7])
    assert opened.by_channel == {"telegram": 1}  # 7-1204 never enrolled: SMS is off here
    first = await next_message(tg, CHAT, 5)
    assert "抗原" in first["text"]
    yes = buttons(first)["是"]

    await tg.user_press(CHAT, first["message_id"], yes)
    second = await next_message(tg, CHAT, 6)
    assert "几人" in second["text"]
    # The pressed question is confirmed by editing it.
    await wait_for(lambda: tg.message(CHAT, first["message_id"]).get("edit_date"))
    assert "✓" in tg.message(CHAT, first["message_id"])["text"]

    # A stale press of the same button changes nothing.
    await tg.user_press(CHAT, first["message_id"], yes)

    assert second.get("reply_markup", {}).get("inline_keyboard")  # "back" at least
    await tg.user_message(CHAT, "３人")  # full-width digit with a unit
    third = await next_message(tg, CHAT, 7)
    assert "阳性" in third["text"]
    # A typed answer takes the answered question's buttons away too (issue 14).
    await wait_for(lambda: tg.message(CHAT, second["message_id"]).get("edit_date"))
    answered = tg.message(CHAT, second["message_id"])
    assert not (answered.get("reply_markup") or {}).get("inline_keyboard")
    assert "3" in answered["text"]
    await tg.user_message(CHAT, "5")  # more positives than tested: re-asked with the reason
    again = await next_message(tg, CHAT, 8)
    assert "不能多于" in again["text"]
    await tg.user_message(CHAT, "零")
    photo = await next_message(tg, CHAT, 9)
    assert "照片" in photo["text"]
    await tg.user_photo(CHAT, file_id="cassettes-1")
    done = await next_message(tg, CHAT, 10)
    assert "谢谢" in done["text"] or "感谢" in done["text"]

    response = await Response.get(round_id=opened.round.id, household__room="1203")
    assert response.status == "answered"
    assert response.answers["tested"] == 3 and response.answers["positive"] == 0
    assert await Revision.filter(response_id=response.id).count() >= 4

    report = await build_report(opened.round.id)
    assert report.columns[:4] == ["building", "floor", "room", "status"]
    by_room = {row[2]: row for row in report.rows}
    assert by_room["1203"][3] == "answered"
    assert by_room["1204"][3] == "no_contact"  # never enrolled, and SMS is off here
    tested = report.columns.index("tested")
    assert by_room["1203"][tested] == 3


async def test_webhook_secret_is_checked(live: dict[str, Any]) -> None:
    import aiohttp

    port = live["port"]
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"http://127.0.0.1:{port}/telegram/webhook", json={"update_id": 1}
        ) as resp:
            assert resp.status == 403
        async with http.post(
            f"http://127.0.0.1:{port}/telegram/webhook",
            data="garbage",
            headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"},
        ) as resp:
            assert resp.status == 400
        async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
            assert resp.status == 200
            assert (await resp.json())["database"] is True


async def test_restart_mid_survey_then_change_the_last_answer(db: str, tmp_path: Path) -> None:
    await import_csv(tmp_path)
    port = free_port()
    async with FakeTelegram(token="123:TEST", **FAKE_PACE) as tg:
        runner, services = await start_app(db, tg, port)
        opened = await enrol_and_say_yes(tg, services)
        await runner.cleanup()  # louzhang run stops mid-survey

        runner, services = await start_app(db, tg, port)
        try:
            await tg.user_message(CHAT, "2")  # the session goes on where it was
            asked = await next_message(tg, CHAT, 4)
            assert "阳性" in asked["text"]
            await tg.user_message(CHAT, "1")
            photo = await next_message(tg, CHAT, 5)
            await tg.user_press(CHAT, photo["message_id"], buttons(photo)["跳过"])
            # A positive answer shows the stay-at-home note, then the summary.
            await tg.wait_sent(CHAT, count=7, timeout=10)
            texts = tg.texts(CHAT)
            assert any("不要下楼" in t for t in texts)
            done = tg.sent_to(CHAT)[-1]
            assert "已提交" in done["text"]

            # "Change the last answer" reopens the survey at the last answered question.
            await tg.user_press(CHAT, done["message_id"], buttons(done)["⬅️ 修改最后一题"])
            await tg.wait_sent(CHAT, count=8, timeout=10)
            reopened = tg.sent_to(CHAT)[-1]
            assert "照片" in reopened["text"]  # the photo was the last question (skipped)
            await tg.user_message(CHAT, "返回")  # typed "back" goes one more question back
            await tg.wait_sent(CHAT, count=9, timeout=10)
            positives = tg.sent_to(CHAT)[-1]
            assert "阳性" in positives["text"] and "当前答案：1" in positives["text"]
            await tg.user_message(CHAT, "0")
            await tg.wait_sent(CHAT, count=10, timeout=10)
            photo = tg.sent_to(CHAT)[-1]
            await tg.user_press(CHAT, photo["message_id"], buttons(photo)["跳过"])
            await wait_for(lambda: _answered_with(opened.round.id, positive=0))

        finally:
            await runner.cleanup()


async def _answered_with(round_id: int, **answers: Any) -> bool:
    response = await Response.get(round_id=round_id, household__room="1203")
    return response.status == "answered" and all(
        response.answers.get(k) == v for k, v in answers.items()
    )


async def test_second_member_sees_the_answers_and_revises(db: str, tmp_path: Path) -> None:
    await import_csv(tmp_path)
    port = free_port()
    member2 = 5550009
    async with FakeTelegram(token="123:TEST", **FAKE_PACE) as tg:
        runner, services = await start_app(db, tg, port)
        try:
            opened = await enrol_and_say_yes(tg, services)
            await tg.user_message(CHAT, "2")
            await next_message(tg, CHAT, 4)
            await tg.user_message(CHAT, "0")
            photo = await next_message(tg, CHAT, 5)
            await tg.user_press(CHAT, photo["message_id"], buttons(photo)["跳过"])
            await wait_for(lambda: _answered_with(opened.round.id, tested=2))

            # A second member of the household sees the answers and may revise them.
            await tg.user_contact(member2, "8613900139000")
            summary = await next_message(tg, member2, 2)
            assert "已经回答" in summary["text"]
            await tg.user_press(member2, summary["message_id"], buttons(summary)["修改回答"])
            again = await next_message(tg, member2, 3)
            assert "当前答案" in again["text"]
            await tg.user_press(member2, again["message_id"], buttons(again)["保留当前答案"])
            await next_message(tg, member2, 4)
            await tg.user_message(member2, "4")  # revises the number tested
            await next_message(tg, member2, 5)
            await tg.user_message(member2, "0")
            last = await next_message(tg, member2, 6)
            await tg.user_press(member2, last["message_id"], buttons(last)["跳过"])
            await wait_for(lambda: _answered_with(opened.round.id, tested=4))
            member2_contact = await Contact.get(channel="telegram", address=str(member2))
            revisions = await Revision.filter(
                response__round_id=opened.round.id, path="tested"
            ).order_by("id")
            assert [r.value["v"] for r in revisions] == [2, 4]
            assert revisions[-1].contact_id == member2_contact.id  # type: ignore[attr-defined]
        finally:
            await runner.cleanup()


async def test_long_polling_mode(db: str, tmp_path: Path) -> None:
    """LOUZHANG_TELEGRAM_MODE=polling: PTB's updater long-polls getUpdates; no webhook."""
    port = free_port()
    async with FakeTelegram(token="123:TEST", **FAKE_PACE) as tg:
        settings = make_settings(
            database_url=db,
            telegram_token="123:TEST",
            telegram_api_url=tg.url,
            telegram_mode="polling",
            **SETTINGS_PACE,
        )
        services = build_services(settings)
        runner = web.AppRunner(create_app(services))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            assert await tg.user_command(CHAT, "/start") is None  # queued for getUpdates
            welcome = await next_message(tg, CHAT, 1)
            assert "手机号" in welcome["text"]
            assert not tg.webhook_url
        finally:
            await runner.cleanup()
