"""End to end over voice: a drive of two buildings in which a third of the households have only
a landline (channel voice). The real app on loopback, the real twilio client placing calls on
FakeTwilio, which fetches our TwiML with signed requests, presses keys as scripted and posts
signed status callbacks; the drive runs on a fake clock.

Promises checked:
1. Every voice household gets its "get ready" and "come down now" as calls, the come-down call
   placed the ring lead (30 s) before its batch's call time; it hears the building, floor, room
   and point said slowly, twice, in the TTS voice of the settings, then the 1/2/3 question.
2. Keypad 1/2/3 land exactly as the same digits by SMS (reply, door-to-door list).
3. Twilio's retry of a keypad post changes nothing (one effect per CallSid and step).
4. A busy number is called again (twice, a minute apart for call-ups) and then listed for the
   building's staff with what happened, in their language; an answering machine gets a short
   message and one more call.
5. Never two calls at once to one number; the fake saw no TwiML it would refuse.
6. A forged signature on each voice route gets 403 and changes nothing.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.app import build_services
from bot.staff.drive_launch import build_options, launch, make_preview, preview_lines
from bot.web.app import create_app
from config.clock import FakeClock
from estate.importing.residents import import_residents
from estate.models import Staff
from notifications.broadcast import broadcast
from notifications.drives.models import DriveBatch, DriveHousehold
from notifications.message import Message
from notifications.models import OutboxMessage
from tests.conftest import free_port, make_settings
from tests.fakes.twilio import FakeTwilio
from tests.waiting import wait_for

SID = "AC" + "0123456789abcdef" * 2
AUTH = "voice-e2e-auth-token"
SENDER = "+15005550006"
T0 = datetime(2022, 4, 10, 5, 30, tzinfo=UTC)
ADMIN_ZH = "+8613900000001"
ADMIN_EN = "+8613900000002"


def landline(building: int, room: int) -> str:
    return f"+86216{building}000{room}"  # +8621 6B000RRR: a Shanghai landline


def mobile(building: int, room: int) -> str:
    return f"+86138{building:02d}000{room}"


def residents_csv() -> str:
    rows = ["building,floor,room,name,phone,birth_year,channel,language,home_bound,notes"]
    for building in (1, 2):
        for floor in (1, 2, 3):
            for unit in (1, 2, 3):
                room = floor * 100 + unit
                if unit == 3:  # a third: only a landline, by phone call
                    phone = landline(building, room)[3:]
                    rows.append(f"{building},{floor},{room},老人{room},0{phone},1938,voice,,,")
                else:
                    phone = mobile(building, room)[3:]
                    rows.append(f"{building},{floor},{room},住户{room},{phone},1980,sms,,,")
    return "\r\n".join(rows) + "\r\n"


# What each household does. Voice: plans for its calls in order (ready, call, retries).
# SMS twins reply the same digit by text, so the two channels can be compared.
VOICE_PLANS: dict[tuple[int, int], list[tuple[str, list[str]]]] = {
    (1, 103): [("answer", []), ("answer", ["1"])],
    (1, 203): [("answer", []), ("answer", ["2"])],
    (1, 303): [("answer", []), ("answer", ["9", "3"])],  # a wrong key first, then 3
    (2, 203): [("answer", []), ("machine", []), ("answer", ["2"])],  # a machine, then called again
    (2, 303): [("answer", []), ("answer", ["1"])],
}
BUSY = (2, 103)  # always busy
SMS_TWINS = {(1, 101): "1", (1, 202): "2", (1, 302): "3", (2, 201): "2", (2, 302): "1"}


class Run:
    def __init__(self, tw: FakeTwilio, clock: FakeClock, services: Any, base: str) -> None:
        self.tw, self.clock, self.services, self.base = tw, clock, services, base

    async def drained(self) -> None:
        now = self.clock.now()
        self.services.dispatcher.notify()

        async def idle() -> bool:
            if self.tw.live_calls():
                return False
            return not await OutboxMessage.filter(
                status__in=["queued", "claimed", "sending"], next_attempt_at__lte=now
            ).exists()

        try:
            await wait_for(idle, limit=30)
        except AssertionError:
            rows = await OutboxMessage.filter(
                status__in=["queued", "claimed", "sending"], next_attempt_at__lte=now
            ).values_list("id", "channel", "status", "address", "error")
            live = [(c.sid, c.to, c.history) for c in self.tw.live_calls()]
            raise AssertionError(f"stuck: {rows}; live {live}; {self.tw.twiml_errors}") from None
        await self.tw.drain()

    async def next_moment(self) -> datetime | None:
        moments = []
        due = await self.services.drives.next_due()
        if due is not None:
            moments.append(due)
        row = (
            await OutboxMessage.filter(status="queued", channel="voice")
            .order_by("next_attempt_at")
            .first()
        )
        if row is not None:
            moments.append(row.next_attempt_at)
        return min(moments) if moments else None


@contextlib.asynccontextmanager
async def voice_drive(db: str, tmp_path: Path) -> AsyncIterator[Run]:
    path = tmp_path / "residents.csv"
    path.write_text(residents_csv(), encoding="utf-8")
    await import_residents(path)
    await Staff.create(name="管理员", role="admin", phone=ADMIN_ZH, language="zh-CN")
    await Staff.create(name="admin", role="admin", phone=ADMIN_EN, language="en")
    clock = FakeClock(T0)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with FakeTwilio(
        account_sid=SID, auth_token=AUTH, clock=clock.monotonic, calls_per_second=1000
    ) as tw:
        settings = make_settings(
            database_url=db,
            public_url=base,
            twilio_account_sid=SID,
            twilio_auth_token=AUTH,
            twilio_from=SENDER,
            twilio_api_url=tw.url,
            voice_tts="Polly.Zhiyu",
        )
        services = build_services(settings, clock=clock, limits_enabled=False)
        runner = web.AppRunner(create_app(services))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            yield Run(tw, clock, services, base)
        finally:
            await runner.cleanup()


async def test_a_drive_with_voice_households(db: str, tmp_path: Path) -> None:
    async with voice_drive(db, tmp_path) as run:
        tw, clock = run.tw, run.clock
        for (building, room), plans in VOICE_PLANS.items():
            for outcome, digits in plans:
                tw.plan_call(landline(building, room), outcome, digits)
        tw.plan_call(landline(*BUSY), "busy", always=True)
        for building in (1, 2):  # the rest of the voice households answer and press nothing
            for room in (103, 203, 303):
                if (building, room) != BUSY:
                    tw.plan_call(landline(building, room), "answer", always=True)
        options = build_options(
            points="A:1,B:2",
            start=(T0 + timedelta(minutes=10)).isoformat(),
            interval="5m",
            lead="2m",
            now=clock.now(),
            settings=run.services.settings,
        )
        enabled = run.services.channels.reachable
        assert "voice" in enabled
        round_id, preview = await make_preview(options, enabled)
        assert preview.by_channel == {"sms": 12, "voice": 6}
        assert (preview.voice_calls, preview.voice_minutes) == (12, 12)  # ready + call each
        assert "voice: 12 calls, about 12 min, $0.19" in "\n".join(
            preview_lines(preview, run.services.settings)
        )
        assert "电话 12 通，约 12 分钟" in "\n".join(
            preview_lines(preview, run.services.settings, "zh-CN")
        )
        drive = await launch(options, preview, round_id, now=clock.now(), created_by="test")

        # SMS twins answer by text as soon as they are called.
        replied: set[tuple[int, int]] = set()

        async def sms_replies() -> None:
            for (building, room), digit in SMS_TWINS.items():
                number = mobile(building, room)
                if (building, room) in replied:
                    continue
                if any("现在请" in m.body for m in tw.sent_to(number)):
                    replied.add((building, room))
                    status, _ = await tw.inbound(f"{run.base}/twilio/sms", number, digit)
                    assert status == 200

        for _ in range(400):
            await run.drained()
            await sms_replies()
            moment = await run.next_moment()
            if moment is None:
                break
            if moment > clock.now():
                clock.set(moment)
            await run.services.drives.tick()
        assert len(replied) == len(SMS_TWINS)

        parts = {
            (p.building, int(p.room)): p for p in await DriveHousehold.filter(drive_id=drive.id)
        }
        batches = {b.id: b for b in await DriveBatch.filter(drive_id=drive.id)}

        # 1. Calls on time, said slowly twice in the configured voice, then the question.
        keys = dict(
            await OutboxMessage.filter(channel="voice").values_list("id", "idempotency_key")
        )

        def kind(call: Any) -> str:
            key = str(keys[int(call.url.rsplit("o=", 1)[1])])
            return key.split(":")[2] + ("+retry" if "|call" in key else "")

        for building in (1, 2):
            for room in (103, 203, 303):
                number = landline(building, room)
                calls = tw.calls_to(number)
                kinds = [kind(c) for c in calls]
                assert kinds[0] == "ready" and "call" in kinds, (building, room, kinds)
                batch = batches[parts[(building, room)].batch_id]  # type: ignore[attr-defined]
                ready, come_down = calls[0], calls[kinds.index("call")]
                placed = T0 + timedelta(seconds=come_down.created)
                assert placed <= batch.call_at - timedelta(seconds=30), (building, room)
                assert T0 + timedelta(seconds=ready.created) <= placed
                heard = next((c for c in calls[1:] if c.answered_by == "human"), None)
                if (building, room) == BUSY:
                    assert heard is None
                    continue
                assert heard is not None
                floor = room // 100
                slow = [s for s in heard.says if s[3]]
                assert len(slow) == 2 and slow[0] == slow[1]
                assert f"{building}号楼" in slow[0][0] and f"{floor}层" in slow[0][0]
                assert all(s[1:3] == ("Polly.Zhiyu", "cmn-CN") for s in heard.says)
                assert any("请按1" in said for said in heard.said)
                assert "请按1" not in " ".join(ready.said)  # "get ready" asks nothing

        # 2. Keypad digits land exactly as the same digits by SMS.
        pairs = [((1, 103), (1, 101)), ((1, 203), (1, 202)), ((1, 303), (1, 302))]
        pairs += [((2, 203), (2, 201)), ((2, 303), (2, 302))]
        for by_phone, by_sms in pairs:
            a, b = parts[by_phone], parts[by_sms]
            assert (a.reply, a.door_reason) == (b.reply, b.door_reason), (by_phone, by_sms)
            assert a.reply is not None
        assert parts[(1, 203)].door_reason == "cannot"  # 2: on the door-to-door list
        assert parts[(1, 303)].reply == 3  # the wrong key was asked again, then 3

        # 3. A keypad post sent again by Twilio changes nothing.
        answered = next(c for c in tw.calls_to(landline(1, 103)) if c.gathers)
        action = answered.gathers[0][0]
        params = {**tw._call_params(answered), "Digits": "2"}
        status, body = await tw._post_signed(action, params)
        assert status == 200 and "<Hangup" in body
        part = await DriveHousehold.get(id=parts[(1, 103)].id)
        assert (part.reply, part.door_reason) == (1, "")

        # 4. Busy: the call-up called three times, a minute apart, then listed for staff.
        busy_calls = tw.calls_to(landline(*BUSY))
        assert all(c.status == "busy" for c in busy_calls)
        rows = await OutboxMessage.filter(address=landline(*BUSY)).order_by("id")
        come_down_rows = [r for r in rows if ":call:" in r.idempotency_key]
        assert len(come_down_rows) == 3
        times = [r.sent_at for r in come_down_rows if r.sent_at is not None]
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
        assert len(gaps) == 2
        assert all(gap >= 60 for gap in gaps), gaps
        assert come_down_rows[-1].error == "not reached: busy x3"
        zh = [m.body for m in tw.sent_to(ADMIN_ZH)]
        en = [m.body for m in tw.sent_to(ADMIN_EN)]
        assert any("2号楼103室" in b and "占线×3" in b for b in zh), zh
        assert any("building 2 room 103" in b and "busy x3" in b for b in en), en
        # The machine heard one short sentence, and was called again.
        machine = tw.calls_to(landline(2, 203))
        assert machine[1].answered_by == "machine_start" and len(machine[1].said) == 1
        assert machine[2].answered_by == "human" and machine[2].gathers

        # 5. One call at a time per number; every TwiML document was one Twilio takes.
        assert tw.same_number_breaches == 0
        assert tw.twiml_errors == []

        # 6. Forged signatures: 403, nothing changes.
        before = [(r.id, r.status, r.error) for r in await OutboxMessage.all().order_by("id")]
        row = come_down_rows[0]
        async with aiohttp.ClientSession() as http:
            for path, form in (
                (f"/twilio/voice?o={row.id}", {"CallSid": "CAx", "AnsweredBy": "human"}),
                (
                    f"/twilio/voice/gather?o={row.id}&step=drive",
                    {"CallSid": "CAforged", "Digits": "2"},
                ),
                (f"/twilio/voice/status?o={row.id}", {"CallSid": "CAx", "CallStatus": "busy"}),
            ):
                for headers in ({}, {"X-Twilio-Signature": tw.sign(run.base + "/other", form)}):
                    async with http.post(run.base + path, data=form, headers=headers) as resp:
                        assert resp.status == 403, path
        after = [(r.id, r.status, r.error) for r in await OutboxMessage.all().order_by("id")]
        assert after == before
        busy_part = await DriveHousehold.get(id=parts[BUSY].id)
        assert busy_part.reply is None and busy_part.door_reason == ""


async def test_a_notice_with_a_photo_is_read_out_to_voice_households(
    db: str, tmp_path: Path
) -> None:
    async with voice_drive(db, tmp_path) as run:
        tw = run.tw
        sent = await broadcast(
            [1],
            lambda contact: Message("【楼长助手】明天上午九点停水，请提前储水。", photo="AgADBAAD"),
            key="notice:1",
            now=run.clock.now(),
            enabled=run.services.channels.reachable,
        )
        assert sent.by_channel == {"sms": 6, "voice": 3}
        await run.drained()
        for room in (103, 203, 303):
            (call,) = tw.calls_to(landline(1, room))
            assert call.status == "completed" and not call.gathers
            assert call.said.count("明天上午九点停水，请提前储水。") == 2
            assert sum("图片" in said for said in call.said) == 2
        assert tw.twiml_errors == []
        texts = [m.body for m in tw.sent_to(mobile(1, 101))]
        assert texts == ["【楼长助手】明天上午九点停水，请提前储水。"]
        rows = await OutboxMessage.filter(channel="voice").values_list("status", flat=True)
        assert rows == ["delivered"] * 3


async def test_survey_questions_are_phoned_as_one_keypad_call(db: str, tmp_path: Path) -> None:
    """A round reaches the landlines as one call each that asks its questions by keypad
    (surveys/calls.py; answering is tested in tests/e2e/test_voice_survey_e2e.py)."""
    async with voice_drive(db, tmp_path) as run:
        for room in (103, 203, 303):
            run.tw.plan_call(landline(1, room), "answer", always=True)
        opened = await run.services.runtime.open_round("antigen", buildings=[1])
        assert opened.unreachable == 0
        assert opened.by_channel == {"sms": 6, "voice": 3}
        await run.drained()
        for room in (103, 203, 303):
            (call,) = run.tw.calls_to(landline(1, room))
            assert "今天家里做抗原检测了吗？" in call.said
        assert run.tw.twiml_errors == []
