"""End to end: surveys answered by keypad on a call, and residents calling in. The real app on
loopback, the real twilio client placing calls on FakeTwilio (which fetches our TwiML with
signed requests, presses keys and speaks recordings as scripted), the real python-telegram-bot
on FakeTelegram for the officer.

Promises checked:
1. A keypad antigen survey completes in one call (a repeat, a wrong number re-asked with what
   was wrong, 9/0 keys) and shows in the report with ``answered_channel = voice``; Twilio's
   retry of a keypad post changes nothing (one effect per CallSid and step).
2. A medicine registered by phone: the words (who, which drug, how much) are recorded and kept
   beside the answers, silence skips an optional question without flagging the household;
   /pickup sends the officer the recordings as audio.
3. A resident calls in from a registered number, presses 0 and leaves a message: it reaches the
   building's officer as Telegram audio with the household's address; pressing 2 plays the
   latest notice; an unknown caller hears how to register and nothing else happens.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.app import Services, build_services
from bot.web.app import create_app
from config.clock import FakeClock
from estate.importing.residents import import_residents
from estate.logins import create_login_link
from estate.models import Staff
from estate.staff import add_staff
from notifications.models import OutboxMessage
from surveys.models import Recording, Response, Revision
from surveys.report import build_report
from tests.audio import voice_note
from tests.conftest import free_port, make_settings
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import FakeTwilio
from tests.waiting import wait_for

SID = "AC" + "0123456789abcdef" * 2
AUTH = "voice-survey-e2e-token"
SENDER = "+15005550006"
T0 = datetime(2022, 4, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
OFFICER_CHAT = 7100001
ANTIGEN = "+862161000101"  # landlines: +8621 6...
MEDS = "+862161000102"
CALLER = "+862161000103"
STRANGER = "+862169999999"
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 8


def residents_csv() -> str:
    rows = ["building,floor,room,name,phone,birth_year,channel,language,home_bound,notes"]
    for room, number in ((101, ANTIGEN), (102, MEDS), (103, CALLER)):
        rows.append(f"1,1,{room},老人{room},0{number[3:]},1938,voice,,,")
    rows.append("1,2,201,住户201,13800000201,1980,sms,,,")
    rows.append("2,2,201,住户2201,13800002201,1980,sms,,,")
    return "\r\n".join(rows) + "\r\n"


@dataclass
class Run:
    tw: FakeTwilio
    tg: FakeTelegram
    clock: FakeClock
    services: Services
    base: str

    async def drained(self) -> None:
        self.services.dispatcher.notify()

        async def idle() -> bool:
            if self.tw.live_calls():
                return False
            return not await OutboxMessage.filter(
                status__in=["queued", "claimed", "sending"], next_attempt_at__lte=self.clock.now()
            ).exists()

        try:
            await wait_for(idle, limit=30)
        except AssertionError:
            raise AssertionError(f"stuck; twiml errors {self.tw.twiml_errors}") from None
        await self.tw.drain()


@contextlib.asynccontextmanager
async def running(db: str, tmp_path: Path) -> AsyncIterator[Run]:
    path = tmp_path / "residents.csv"
    path.write_text(residents_csv(), encoding="utf-8")
    await import_residents(path)
    officer = await add_staff("楼长一号", role="officer", phone="+8613900000011", buildings=[1])
    await Staff.filter(id=officer.id).update(telegram_chat_id=OFFICER_CHAT)
    clock = FakeClock(T0)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with (
        FakeTwilio(
            account_sid=SID, auth_token=AUTH, clock=clock.monotonic, calls_per_second=1000
        ) as tw,
        FakeTelegram(token="123:VOICE", enforce_limits=False, strict_chats=False) as tg,
    ):
        settings = make_settings(
            database_url=db,
            public_url=base,
            twilio_account_sid=SID,
            twilio_auth_token=AUTH,
            twilio_from=SENDER,
            twilio_api_url=tw.url,
            telegram_token="123:VOICE",
            telegram_api_url=tg.url,
            telegram_mode="webhook",
            secret_key="s" * 40,
        )
        services = build_services(settings, clock=clock, limits_enabled=False)
        runner = web.AppRunner(create_app(services))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            yield Run(tw, tg, clock, services, base)
        finally:
            await runner.cleanup()


def _said(call: Any) -> str:
    return " | ".join(call.said)


async def test_a_keypad_antigen_survey_completes_and_shows_in_the_report(
    db: str, tmp_path: Path
) -> None:
    async with running(db, tmp_path) as run:
        tw = run.tw
        # 9: hear it again; 1: yes; 25: too many (re-asked, said why); 3 tested; 0 positive.
        tw.plan_call(ANTIGEN, "answer", ["9", "1", "25#", "3#", "0#"])
        for number in (MEDS, CALLER):
            tw.plan_call(number, "answer", always=True)
        opened = await run.services.runtime.open_round("antigen", buildings=[1])
        assert opened.by_channel == {"voice": 3, "sms": 1}
        await run.drained()
        (call,) = tw.calls_to(ANTIGEN)  # one call asks every question
        said = _said(call)
        assert tw.twiml_errors == []
        assert said.count("今天家里做抗原检测了吗？") == 2  # asked, then again after 9
        assert "是请按1，否请按2。" in said and "重听请按9。" in said
        assert "一户最多填20人，请核对人数后重新输入。" in said  # the wrong number, said why
        assert "已提交，谢谢您！" in said
        assert any(s[1] == "Polly.Zhiyu" and s[2] == "cmn-CN" for s in call.says)

        report = await build_report(opened.round.id)
        row = next(r for r in report.rows if r[2] == "101")
        values = dict(zip(report.columns, row, strict=False))
        assert values["status"] == "answered"
        assert values["answered_channel"] == "voice"
        assert (values["tested_today"], values["tested"], values["positive"]) == ("yes", 3, 0)
        assert values["needs_call"] in (False, "", "no", 0)

        # Twilio posts the "3" step again (a retry): nothing changes.
        response = await Response.get(round_id=opened.round.id, household__room="101")
        revisions = await Revision.filter(response_id=response.id).count()
        url, digits, _ = next(g for g in call.gathers if g[1] == "3")
        params = {**tw._call_params(call), "Digits": digits}
        status, body = await tw._post_signed(url, params)
        assert status == 200 and "<Response>" in body
        assert await Revision.filter(response_id=response.id).count() == revisions
        again = await Response.get(id=response.id)
        assert again.answers == response.answers

        # A forged keypad post is refused and changes nothing.
        async with (await tw.session()).post(url, data=params) as forged:
            assert forged.status == 403


async def test_a_medicine_is_recorded_by_phone_and_reaches_the_pickup_list(
    db: str, tmp_path: Path
) -> None:
    async with running(db, tmp_path) as run:
        tw, tg = run.tw, run.tg
        # yes; who (recorded); drug (recorded); dose (recorded); 30 days; hospital: silence
        # (optional: skipped); card: no; another: no; urgency: today.
        tw.plan_call(MEDS, "answer", ["1", "30#", "2", "2", "1"])
        tw.calls  # noqa: B018
        plan = tw._plans[MEDS][0]
        plan.recordings = [(MP3, 4), (MP3 + b"drug", 9), (MP3 + b"dose", 5), None]
        for number in (ANTIGEN, CALLER):
            tw.plan_call(number, "answer", always=True)
        opened = await run.services.runtime.open_round("medication", buildings=[1])
        await run.drained()
        (call,) = tw.calls_to(MEDS)
        assert tw.twiml_errors == []
        said = _said(call)
        assert "药品，第1项。 | 药品名称是什么？" in said
        assert "请在提示音后说出您的回答" in said and "<recorded 9s>" in said
        response = await Response.get(round_id=opened.round.id, household__room="102")
        assert response.status == "answered" and response.answered_channel == "voice"
        item = response.answers["medicines"][0]
        assert (item["patient"], item["drug"], item["dose"]) == ("🎙 0:04", "🎙 0:09", "🎙 0:05")
        assert item["hospital"] is None and item["days_left"] == 30
        assert not response.needs_call  # silence on an optional question flags nothing
        kept = await Recording.filter(response_id=response.id).order_by("id")
        assert [r.path for r in kept] == [
            "medicines.1.patient",
            "medicines.1.drug",
            "medicines.1.dose",
        ]
        assert [r.duration for r in kept] == [4, 9, 5]

        # Twilio posts the drug's recording again (a retry): kept once, answers unchanged.
        rec_url = next(u for u, body in call.twiml if "/survey/rec" in u and "none" not in u)
        drug = kept[1]
        retry = {
            **tw._call_params(call),
            "RecordingUrl": drug.url,
            "RecordingSid": drug.sid,
            "RecordingDuration": "9",
        }
        status, _ = await tw._post_signed(rec_url, retry)
        assert status == 200
        assert await Recording.filter(response_id=response.id).count() == 3
        assert (await Response.get(id=response.id)).answers == response.answers

        # The officer's /pickup: the list, then the recordings as audio.
        await tg.user_command(OFFICER_CHAT, "/pickup 1")
        await wait_for(lambda: len([m for m in tg.sent_to(OFFICER_CHAT) if m.get("audio")]) == 3)
        audios = [m for m in tg.sent_to(OFFICER_CHAT) if m.get("audio")]
        assert "1号楼102室" in audios[1]["caption"] and "药品名称" in audios[1]["caption"]
        assert tg.files[audios[1]["audio"]["file_id"]].content == MP3 + b"drug"


async def test_a_resident_calls_in_and_leaves_a_message_for_the_officer(
    db: str, tmp_path: Path
) -> None:
    async with running(db, tmp_path) as run:
        tw, tg = run.tw, run.tg
        voice_url = f"{run.base}/twilio/voice"
        # An unknown number: one sentence on how to register, nothing else.
        stranger = await tw.call_in(STRANGER, voice_url)
        assert "还没有登记" in _said(stranger) and len(stranger.twiml) == 1

        # 2: the latest notice (there is none yet), then 0: a message.
        call = await tw.call_in(CALLER, voice_url, digits=["2", "0"], recordings=[(MP3, 7)])
        assert tw.twiml_errors == []
        said = _said(call)
        assert "回答今天的问题，请按1" in said and "给楼长留言，请按0" in said
        assert "最近没有新的通知" in said
        assert "<recorded 7s>" in said and "您的留言已转给楼长" in said
        (message,) = await Recording.filter(kind="message")
        assert message.duration == 7 and message.call_sid == call.sid

        await run.drained()
        await tg.wait_sent(OFFICER_CHAT, count=1, timeout=10)
        (sent,) = [m for m in tg.sent_to(OFFICER_CHAT) if m.get("audio")]
        assert "1号楼103室" in sent["caption"] and "7秒" in sent["caption"]
        assert tg.files[sent["audio"]["file_id"]].content == MP3

        # Twilio posts the message again: it is kept once and sent once.
        url = call.twiml[-1][0]
        params = {
            **tw._call_params(call),
            "RecordingUrl": f"{tw.url}/2010-04-01/Accounts/{SID}/Recordings/{call.recorded[0]}",
            "RecordingSid": call.recorded[0],
            "RecordingDuration": "7",
        }
        status, _ = await tw._post_signed(url, params)
        assert status == 200
        await run.drained()
        assert await Recording.filter(kind="message").count() == 1
        assert len([m for m in tg.sent_to(OFFICER_CHAT) if m.get("audio")]) == 1

        # The dashboard lists it with a player for the officer; another building's staff
        # cannot play it.
        officer = await Staff.get(telegram_chat_id=OFFICER_CHAT)
        other = await add_staff("二号楼", role="cadre", buildings=[2])
        src = f"/recordings/{message.id}.mp3"
        async with await _logged_in(run, officer) as web_session:
            overview = await (await web_session.get(f"{run.base}/")).text()
            assert f'src="{src}"' in overview and "居民来电留言" in overview
            async with web_session.get(run.base + src) as played:
                assert played.status == 200 and await played.read() == MP3
        async with await _logged_in(run, other) as web_session:
            async with web_session.get(run.base + src) as refused:
                assert refused.status == 403
            assert f'src="{src}"' not in await (await web_session.get(f"{run.base}/")).text()


async def _logged_in(run: Run, staff: Staff) -> aiohttp.ClientSession:
    link = await create_login_link(staff, settings=run.services.settings, clock=run.clock)
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # 127.0.0.1
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    async with session.post(run.base + path, allow_redirects=False) as spent:
        assert spent.status == 303
    return session


async def test_a_notice_in_the_officers_own_voice_is_played_on_the_phone(
    db: str, tmp_path: Path
) -> None:
    """/notice as a voice note: voice households hear the recording itself (<Play> of a
    signed, expiring URL of the converted file), SMS households get the text; a resident
    calling in and pressing 2 hears it again."""
    note = voice_note(1.0)
    async with running(db, tmp_path) as run:
        tw, tg = run.tw, run.tg
        for number in (ANTIGEN, MEDS, CALLER):
            tw.plan_call(number, "answer", always=True)
        await tg.user_voice(OFFICER_CHAT, note, caption="/notice 1 明天上午九点核酸")
        await tg.wait_sent(OFFICER_CHAT, count=1, timeout=20)
        await run.drained()
        assert tw.twiml_errors == []
        plays = [s for s in _said(tw.calls_to(ANTIGEN)[0]).split(" | ") if s.startswith("<play")]
        assert len(plays) == 2  # played, then once more
        url = plays[0].removeprefix("<play ").removesuffix(">")
        assert url.startswith(f"{run.base}/media/") and "sig=" in url and "exp=" in url
        async with aiohttp.ClientSession() as session:
            async with session.get(url) as got:
                assert got.status == 200 and got.headers["Content-Type"] == "audio/mpeg"
                assert (await got.read())[:3] in (b"ID3", b"\xff\xfb", b"\xff\xf3")
            async with session.get(url.replace("sig=", "sig=0")) as forged:
                assert forged.status == 403
        (sms,) = await tw.wait_sent("+8613800000201")
        assert "明天上午九点核酸" in sms.body

        call = await tw.call_in(CALLER, f"{run.base}/twilio/voice", digits=["2"])
        assert any(s.startswith("<play http") for s in call.said)
        assert "居委会通知：" in _said(call)


async def test_a_resident_calls_in_to_answer_todays_questions(db: str, tmp_path: Path) -> None:
    async with running(db, tmp_path) as run:
        tw = run.tw
        for number in (ANTIGEN, MEDS, CALLER):
            tw.plan_call(number, "answer", always=True)  # our calls: nobody presses a key
        opened = await run.services.runtime.open_round("antigen", buildings=[1])
        await run.drained()
        assert "没有收到您的按键" in _said(tw.calls_to(CALLER)[0])
        # The resident calls back, presses 1 (today's questions), then 2 (no test today).
        call = await tw.call_in(CALLER, f"{run.base}/twilio/voice", digits=["1", "2"])
        assert tw.twiml_errors == []
        assert "今天家里做抗原检测了吗？" in _said(call) and "已提交，谢谢您！" in _said(call)
        response = await Response.get(round_id=opened.round.id, household__room="103")
        assert response.status == "answered" and response.answered_channel == "voice"
        assert response.answers == {"tested_today": "no"}
