"""Staff commands in Telegram against the fake Bot API and fake Twilio: the
command menu of staff chats, scopes (refused and audited), /survey with buttons, /status,
/report as an XLSX document, /remind, /notice with a photo, /answer by proxy and alerts."""

from __future__ import annotations

import contextlib
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from openpyxl import load_workbook

from bot.app import build_services
from bot.web.app import create_app
from estate.importing.residents import import_residents
from estate.models import AuditEntry
from estate.staff import add_staff
from notifications.models import OutboxMessage, Timer
from surveys.models import Response, Revision, Round
from tests.audio import voice_note
from tests.conftest import free_port, make_settings
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import FakeTwilio
from tests.pace import FAKE_PACE, SETTINGS_PACE
from tests.waiting import wait_for

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "staff-tools-auth-token"
SENDER = "+15005550006"

CSV = (
    "building,floor,room,name,phone,birth_year,channel,language,home_bound,notes\r\n"
    "7,,1203,王芳,13800138000,1980,telegram,,,\r\n"
    "7,,1204,李伯,13700137004,1944,sms,,,\r\n"
    "8,3,302,张伯,13600136000,1940,sms,,yes,独居\r\n"
    "9,2,201,李婆婆,13700137001,1942,sms,,,\r\n"
)
RESIDENT = 6000001
ADMIN, CADRE, OFFICER7, OFFICER9 = 7000001, 7000002, 7000007, 7000009
PHONES = {
    ADMIN: "+8613900000001",
    CADRE: "+8613900000002",
    OFFICER7: "+8613900000007",
    OFFICER9: "+8613900000009",
}


@contextlib.asynccontextmanager
async def staff_app(db: str, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    path = tmp_path / "residents.csv"
    path.write_bytes(CSV.encode("utf-8"))
    await import_residents(path)
    await add_staff("Admin", role="admin", phone=PHONES[ADMIN])
    await add_staff("Cadre78", role="cadre", phone=PHONES[CADRE], buildings=[7, 8])
    await add_staff("Officer7", role="officer", phone=PHONES[OFFICER7], buildings=[7])
    await add_staff("Officer9", role="officer", phone=PHONES[OFFICER9], buildings=[9])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with (
        FakeTwilio(account_sid=SID, auth_token=TOKEN) as tw,
        FakeTelegram(token="123:TEST", **FAKE_PACE) as tg,
    ):
        settings = make_settings(
            database_url=db,
            public_url=base,
            twilio_account_sid=SID,
            twilio_auth_token=TOKEN,
            twilio_from=SENDER,
            twilio_api_url=tw.url,
            sms_segments_per_second=100,
            telegram_token="123:TEST",
            telegram_api_url=tg.url,
            telegram_mode="webhook",
            **SETTINGS_PACE,
        )
        services = build_services(settings)
        runner = web.AppRunner(create_app(services))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            for chat, phone in PHONES.items():
                await tg.user_contact(chat, phone.lstrip("+"))
                await tg.wait_sent(chat, count=1, timeout=10)
            await tg.user_contact(RESIDENT, "8613800138000")
            await tg.wait_sent(RESIDENT, count=1, timeout=10)
            yield {"tg": tg, "tw": tw, "services": services}
        finally:
            await runner.cleanup()


@pytest.fixture
async def live(db: str, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    async with staff_app(db, tmp_path) as app:
        yield app


async def say(tg: FakeTelegram, chat: int, body: str, *, replies: int = 1) -> list[dict[str, Any]]:
    """Send ``body`` (a command when it starts with /); wait for ``replies`` answers."""
    before = len(tg.sent_to(chat))
    if body.startswith("/"):
        await tg.user_command(chat, body)
    else:
        await tg.user_message(chat, body)
    await tg.wait_sent(chat, count=before + replies, timeout=10)
    return tg.sent_to(chat)[before:]


async def press(
    tg: FakeTelegram, chat: int, message: dict[str, Any], label: str, *, replies: int = 1
) -> list[dict[str, Any]]:
    before = len(tg.sent_to(chat))
    await tg.user_press(chat, message["message_id"], buttons(message)[label])
    if replies:
        await tg.wait_sent(chat, count=before + replies, timeout=10)
    return tg.sent_to(chat)[before:]


async def press_data(tg: FakeTelegram, chat: int, data: str, *, replies: int = 1) -> list[Any]:
    before = len(tg.sent_to(chat))
    last = tg.sent_to(chat)[-1]
    await tg.user_press(chat, last["message_id"], data)
    await tg.wait_sent(chat, count=before + replies, timeout=10)
    return tg.sent_to(chat)[before:]


def buttons(message: dict[str, Any]) -> dict[str, str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row}


def body(message: dict[str, Any]) -> str:
    return str(message.get("text") or message.get("caption") or "")


async def refusals(action: str) -> list[AuditEntry]:
    return await AuditEntry.filter(action=action, allowed=False).order_by("id")


# ---- menu and residents ---------------------------------------------------------------------
async def test_staff_chats_get_the_command_menu_residents_do_not(live: dict[str, Any]) -> None:
    tg: FakeTelegram = live["tg"]
    assert "Officer7" in body(tg.sent_to(OFFICER7)[0])
    menus = {key[0]: [c["command"] for c in cmds] for key, cmds in tg.commands.items()}
    officer = menus['{"chat_id": 7000007, "type": "chat"}']
    assert {"survey", "status", "report", "remind", "notice", "answer"} <= set(officer)
    assert not any(str(RESIDENT) in key for key in menus)
    assert '{"type": "default"}' not in menus  # nobody else sees staff commands
    # Descriptions are in the staff member's language (zh-CN by default).
    described = dict(
        (c["command"], c["description"])
        for c in tg.commands[('{"chat_id": 7000007, "type": "chat"}', "")]
    )
    assert described["status"] == "各楼填报进度"


async def test_a_resident_can_run_no_staff_command(live: dict[str, Any]) -> None:
    tg: FakeTelegram = live["tg"]
    for command in ("/survey", "/status", "/report", "/remind", "/notice 7 hi", "/answer 7-1204"):
        (reply,) = await say(tg, RESIDENT, command)
        assert "不认识这个指令" in body(reply)
    await wait_for(lambda: AuditEntry.filter(allowed=False, action="/answer").exists())
    denied = await AuditEntry.filter(allowed=False).values_list("action", "detail")
    assert {a for a, _ in denied} >= {"/survey", "/status", "/report", "/remind", "/notice"}
    assert all(d == {"why": "not staff"} for _, d in denied)
    # A forged staff button from a resident does nothing either.
    await tg.user_press(RESIDENT, 1, "sv:go:antigen:all:7200")
    await wait_for(lambda: AuditEntry.filter(allowed=False, action="button").exists())
    assert await Round.all().count() == 0


# ---- scopes ---------------------------------------------------------------------------------
async def test_every_command_outside_the_scope_is_refused_and_audited(
    live: dict[str, Any],
) -> None:
    tg: FakeTelegram = live["tg"]
    services = live["services"]
    opened = await services.runtime.open_round("antigen", buildings=[7])
    round_id = opened.round.id
    sent_before = await OutboxMessage.filter(purpose="notice").count()

    for command, action in (
        ("/status 7", "/status"),
        (f"/report {round_id}", "/report"),
        (f"/remind {round_id}", "/remind"),
        ("/notice 7 楼道已消毒", "/notice"),
        ("/answer 7-1203 antigen", "/answer"),
    ):
        (reply,) = await say(tg, OFFICER9, command)
        assert "没有权限" in body(reply) and "9" in body(reply), command
        assert len(await refusals(action)) == 1, action

    # Forged /survey buttons naming building 7 are refused at every step.
    for data in ("sv:b:antigen:7", "sv:d:antigen:7:7200", "sv:go:antigen:7:7200"):
        (reply,) = await press_data(tg, OFFICER9, data)
        assert "没有权限" in body(reply)
    assert len(await refusals("/survey")) == 3
    assert await Round.all().count() == 1  # nothing opened
    assert await OutboxMessage.filter(purpose="notice").count() == sent_before
    assert not tg.sent_to(OFFICER9)[-1].get("document")

    # The cadre of 7 and 8 may see 7, not 9.
    (reply,) = await say(tg, CADRE, "/status 9")
    assert "没有权限" in body(reply)
    (reply,) = await say(tg, CADRE, "/status")
    assert "7号楼" in body(reply) and "9号楼" not in body(reply)

    # `louzhang audit` lists the refusals, newest first.
    from estate.audit_log import audit_lines

    lines = await audit_lines(staff="Officer9", limit=20)
    assert lines and all("\tOfficer9\tREFUSED\t" in line for line in lines)
    assert any("\t/report\t" in line for line in lines)


# ---- /survey, /status, /report, /remind ----------------------------------------------------
async def test_cadre_opens_a_round_with_buttons_and_follows_it(live: dict[str, Any]) -> None:
    tg: FakeTelegram = live["tg"]
    (pick,) = await say(tg, CADRE, "/survey")
    assert "antigen" in " ".join(buttons(pick))
    (where,) = await press(tg, CADRE, pick, next(k for k in buttons(pick) if "antigen" in k))
    assert set(buttons(where)) == {"我负责的全部楼", "7", "8"}  # only the cadre's buildings
    (when,) = await press(tg, CADRE, where, "7")
    (confirm,) = await press(tg, CADRE, when, "6小时后")
    text = body(confirm)
    # 7-1203 by Telegram (enrolled), 7-1204 by SMS: counts, segments and cost before sending.
    assert "2 户" in text and "telegram 1 户" in text and "sms 1 户" in text
    assert "短信：1 条" in text and "$0.01" in text
    assert await Round.all().count() == 0
    (opened,) = await press(tg, CADRE, confirm, "✅ 发起")
    assert "已发起" in body(opened)
    round_ = await Round.get()
    assert round_.buildings == [7] and round_.created_by == "Cadre78"
    assert round_.reminders == [7200, 1800]
    timers = sorted(
        await Timer.filter(key__startswith=f"round:{round_.id}:").values_list("kind", flat=True)
    )
    assert timers == ["round_deadline", "round_reminder", "round_reminder"]
    assert await AuditEntry.filter(action="/survey", allowed=True, staff__name="Cadre78").exists()
    # Pressing "open" again does not open a second round.
    await tg.user_press(CADRE, confirm["message_id"], buttons(confirm)["✅ 发起"])
    await wait_for(lambda: tg.deliveries and tg.callback_answers)
    assert await Round.all().count() == 1

    # The resident gets the first question; answers "no" (not tested today) and finishes.
    await tg.wait_sent(RESIDENT, count=2, timeout=10)
    question = tg.sent_to(RESIDENT)[1]
    await press(tg, RESIDENT, question, "否")
    await wait_for(lambda: Response.filter(status="answered").exists())

    (status,) = await say(tg, CADRE, "/status")
    assert "7号楼：已填 1/2" in body(status)

    (report,) = await say(tg, OFFICER7, "/report")
    assert report["document"]["file_name"].endswith(".xlsx")
    content = tg.files[report["document"]["file_id"]].content
    book = load_workbook(io.BytesIO(content))
    sheet, calls = book.worksheets  # in the officer's language: results, then the call list
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("楼号", "楼层", "室号", "状态")
    assert sorted((r[0], r[2], r[3]) for r in rows[1:]) == [
        (7, "1203", "已填报"),
        (7, "1204", "已发送，未回复"),
    ]
    assert [r[2] for r in list(calls.iter_rows(values_only=True))[1:]] == ["1204"]

    # /remind reaches only the household that has not answered (7-1204, by SMS).
    tw: FakeTwilio = live["tw"]
    before = len(tw.sent_to("+8613700137004"))
    (reminded,) = await say(tg, OFFICER7, "/remind")
    assert "已提醒 1 户" in body(reminded)
    msgs = await tw.wait_sent("+8613700137004", count=before + 1)
    assert "提醒" in msgs[-1].body
    reminders = await OutboxMessage.filter(purpose="reminder").values_list("address", flat=True)
    assert reminders == ["+8613700137004"]  # the household that answered is left alone
    assert not any("提醒" in body(m) for m in tg.sent_to(RESIDENT))


# ---- /notice --------------------------------------------------------------------------------
async def test_notice_with_photo_to_chosen_buildings(live: dict[str, Any]) -> None:
    tg: FakeTelegram = live["tg"]
    tw: FakeTwilio = live["tw"]
    before = len(tg.sent_to(CADRE))
    update = tg.make_photo_update(CADRE, caption="/notice 7 今天楼道已消毒")
    await tg.deliver(update)
    await tg.wait_sent(CADRE, count=before + 1, timeout=10)
    assert "2 户" in body(tg.sent_to(CADRE)[-1])
    await tg.wait_sent(RESIDENT, count=2, timeout=10)
    notice = tg.sent_to(RESIDENT)[-1]
    assert notice.get("photo") and "今天楼道已消毒" in notice["caption"]
    (sms,) = await tw.wait_sent("+8613700137004")
    assert "今天楼道已消毒" in sms.body
    assert not tw.sent_to("+8613600136000")  # building 8 was not chosen
    entry = await AuditEntry.get(action="/notice")
    assert entry.allowed and entry.detail["photo"] is True


async def test_notice_in_the_staff_members_own_voice(live: dict[str, Any], tmp_path: Path) -> None:
    """A voice note captioned /notice: Telegram households get the voice note itself, SMS
    households the text; the note is kept converted for the phone (8 kHz mono MP3)."""
    tg: FakeTelegram = live["tg"]
    tw: FakeTwilio = live["tw"]
    note = voice_note(1.0)
    before = len(tg.sent_to(CADRE))
    await tg.user_voice(CADRE, note, caption="/notice 7 明天上午九点核酸")
    await tg.wait_sent(CADRE, count=before + 1, timeout=20)
    said = body(tg.sent_to(CADRE)[-1])
    assert "2 户" in said and "语音" in said
    await tg.wait_sent(RESIDENT, count=2, timeout=10)
    notice = tg.sent_to(RESIDENT)[-1]
    staff_note = tg.updates[-1]["message"]["voice"]["file_id"]
    assert notice["voice"]["file_id"] == staff_note  # the note itself, not a copy
    assert "明天上午九点核酸" in notice["caption"]
    (sms,) = await tw.wait_sent("+8613700137004")
    assert "明天上午九点核酸" in sms.body
    assert tg.calls_to("getFile")  # downloaded through the Bot API
    kept = list((tmp_path / "media").glob("*.mp3"))
    assert len(kept) == 1 and kept[0].read_bytes()[:3] in (b"ID3", b"\xff\xfb", b"\xff\xf3")
    entry = await AuditEntry.filter(action="/notice").order_by("-id").first()
    assert entry is not None and entry.detail["voice"] == kept[0].name


async def test_a_voice_notice_that_is_not_audio_sends_nothing(live: dict[str, Any]) -> None:
    tg: FakeTelegram = live["tg"]
    voice_note(1.0)  # skips without ffmpeg
    before = len(tg.sent_to(CADRE))
    await tg.user_voice(CADRE, b"not audio", caption="/notice 7")
    await tg.wait_sent(CADRE, count=before + 1, timeout=20)
    assert "无法转换" in body(tg.sent_to(CADRE)[-1])
    assert len(tg.sent_to(RESIDENT)) == 1  # only the welcome
    assert not await OutboxMessage.filter(purpose="notice").exists()


# ---- /answer and alerts ----------------------------------------------------------------------
async def test_officer_answers_by_proxy_and_the_positive_alert_goes_once(
    live: dict[str, Any],
) -> None:
    tg: FakeTelegram = live["tg"]
    services = live["services"]
    await services.runtime.open_round("antigen", buildings=[7, 9])
    start = await say(tg, OFFICER7, "/answer 7-1204 antigen", replies=2)
    # The header and the first question leave in one dispatcher pass as two requests; at the
    # tests' fast per-chat pace a loaded machine can deliver them in either order.
    [header] = [m for m in start if "代 7-1204" in body(m)]
    [question] = [m for m in start if m is not header]
    assert "抗原" in body(question)
    (second,) = await press(tg, OFFICER7, question, "是")
    assert "几人" in body(second)
    (third,) = await say(tg, OFFICER7, "3")
    assert "阳性" in body(third)
    (photo,) = await say(tg, OFFICER7, "1")
    skip = next(label for label in buttons(photo) if "跳过" in label)
    await press(tg, OFFICER7, photo, skip, replies=0)
    await wait_for(lambda: "已提交" in body(tg.sent_to(OFFICER7)[-1]))
    await wait_for(lambda: Response.filter(status="answered", proxy=True).exists())
    response = await Response.get(proxy=True).select_related("household")
    assert response.household.room == "1204"
    assert response.answers["positive"] == 1
    revisions = await Revision.filter(response_id=response.id)
    assert revisions and all(r.staff_id is not None and r.contact_id is None for r in revisions)  # type: ignore[attr-defined]

    # The cadre of 7 and the admin are alerted; the officer of 9 is not.
    await tg.wait_sent(CADRE, count=2, timeout=10)
    await tg.wait_sent(ADMIN, count=2, timeout=10)
    alert = body(tg.sent_to(CADRE)[-1])
    assert "7-1204" in alert and "1 人阳性" in alert
    assert len(tg.sent_to(OFFICER9)) == 1

    # Revising the answers (the officer again, all the way to the end) does not alert twice.
    again = await say(tg, OFFICER7, "/answer 7-1204 antigen", replies=2)
    (second,) = await press(tg, OFFICER7, again[1], "是")
    await say(tg, OFFICER7, "3")
    (photo,) = await say(tg, OFFICER7, "2")
    await press(tg, OFFICER7, photo, skip, replies=0)
    await wait_for(lambda: "已提交" in body(tg.sent_to(OFFICER7)[-1]))
    assert (await Response.get(proxy=True)).answers["positive"] == 2
    assert await OutboxMessage.filter(purpose="alert").count() == 2  # cadre + admin, once
    assert len(tg.sent_to(CADRE)) == 2
