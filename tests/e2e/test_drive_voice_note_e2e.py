"""End to end: /drive voice. The building's officer sends a Telegram voice note captioned
``/drive voice`` while a call-up runs; the landline households' "come down now" calls (already
queued with their "get ready") play that recording (<Play> of a signed media URL) before the
spoken call-up and its 1/2/3, the "get ready" calls do not; the action is audited. An officer
with none of the drive's buildings is refused, and that is audited too."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.staff.drive_launch import build_options, launch, make_preview
from estate.models import AuditEntry, Staff
from estate.staff import add_staff
from notifications.drives.models import Drive
from notifications.models import OutboxMessage
from tests.audio import voice_note
from tests.e2e.test_voice_survey_e2e import (
    ANTIGEN,
    CALLER,
    MEDS,
    OFFICER_CHAT,
    T0,
    Run,
    running,
)

OTHER_CHAT = 7100002


async def start_drive(run: Run, points: str) -> Drive:
    options = build_options(
        points=points,
        start=(T0 + timedelta(minutes=10)).isoformat(),
        interval="5m",
        lead="2m",
        now=run.clock.now(),
        settings=run.services.settings,
    )
    round_id, preview = await make_preview(options, run.services.channels.reachable)
    return await launch(options, preview, round_id, now=run.clock.now(), created_by="test")


async def run_drive(run: Run) -> None:
    for _ in range(200):
        await run.drained()
        moments = [m for m in [await run.services.drives.next_due()] if m is not None]
        row = (
            await OutboxMessage.filter(status="queued", channel="voice")
            .order_by("next_attempt_at")
            .first()
        )
        if row is not None:
            moments.append(row.next_attempt_at)
        if not moments:
            return
        if min(moments) > run.clock.now():
            run.clock.set(min(moments))
        await run.services.drives.tick()


async def test_a_call_up_in_the_officers_own_voice(db: str, tmp_path: Path) -> None:
    note = voice_note(1.0)
    async with running(db, tmp_path) as run:
        tw, tg = run.tw, run.tg
        for number in (ANTIGEN, MEDS, CALLER):
            tw.plan_call(number, "answer", always=True)
        drive = await start_drive(run, "A:1")
        run.clock.set(T0 + timedelta(minutes=8))  # floor 2 ready; the landlines' calls queue
        await run.services.drives.tick()
        await tg.user_voice(OFFICER_CHAT, note, caption="/drive voice")
        [reply] = await tg.wait_sent(OFFICER_CHAT, count=1, timeout=20)
        assert "已把语音附在核酸召集" in reply["text"] and "1号楼" in reply["text"]
        await run_drive(run)
        assert tw.twiml_errors == []
        for number in (ANTIGEN, MEDS, CALLER):
            ready, come_down = tw.calls_to(number)[:2]
            assert not any(s.startswith("<play") for s in ready.said)
            said = come_down.said
            plays = [i for i, s in enumerate(said) if s.startswith("<play")]
            assert len(plays) == 1, said
            assert said[plays[0] - 1] == "下面是楼长的录音。"
            url = said[plays[0]].removeprefix("<play ").removesuffix(">")
            assert "/media/" in url and "sig=" in url and "exp=" in url
            assert any("请按1" in s for s in said[plays[0] :])  # then the call-up as usual
        entry = await AuditEntry.get(action="/drive voice")
        assert entry.allowed and entry.target == f"drive {drive.id}"
        assert entry.detail["buildings"] == "1"
        assert (await Drive.get(id=drive.id)).audio["1"]["name"].endswith(".mp3")


async def test_an_officer_without_a_building_of_the_drive_is_refused(
    db: str, tmp_path: Path
) -> None:
    async with running(db, tmp_path) as run:
        other = await add_staff("楼长二号", role="officer", phone="+8613900000012", buildings=[2])
        await Staff.filter(id=other.id).update(telegram_chat_id=OTHER_CHAT)
        drive = await start_drive(run, "A:1")
        await run.tg.user_voice(OTHER_CHAT, voice_note(1.0), caption="/drive voice")
        [reply] = await run.tg.wait_sent(OTHER_CHAT, count=1, timeout=20)
        assert "没有权限操作 1 号楼" in reply["text"]
        entry = await AuditEntry.get(action="/drive voice")
        assert not entry.allowed
        assert not (await Drive.get(id=drive.id)).audio
