"""The round preview counts voice households and estimates their calls' minutes and cost, in
zh-CN and en (the same estimate as the drive preview: notifications/voice_estimate.py)."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from config.clock import FakeClock
from estate.importing.residents import import_residents
from notifications.voice_estimate import survey_call_minutes
from surveys.definition import load_builtin
from surveys.preview import phone_questions, preview_lines, preview_round
from surveys.runtime import SurveyRuntime
from tests.conftest import make_settings

PEOPLE = (
    "\r\n".join(
        [
            "building,floor,room,name,phone,birth_year,channel,language,home_bound,notes",
            "1,1,101,老人101,02161000101,1938,voice,,,",
            "1,1,102,老人102,02161000102,1940,voice,,,",
            "1,2,201,住户201,13800000201,1980,sms,,,",
            "2,1,101,住户2101,13800002101,1980,sms,,,",
        ]
    )
    + "\r\n"
)
TZ = ZoneInfo("Asia/Shanghai")


async def _import(tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text(PEOPLE, encoding="utf-8")
    await import_residents(source, estate_name="e", dry_run=False, region="CN")


async def test_voice_households_calls_minutes_and_cost(db: str, tmp_path: Path) -> None:
    await _import(tmp_path)
    settings = make_settings(voice_price_per_minute=0.5)
    runtime = SurveyRuntime(
        clock=FakeClock(), settings=settings, enabled_channels={"telegram", "sms", "voice"}
    )
    preview = await preview_round(runtime, "antigen")
    minutes_each = survey_call_minutes(phone_questions(load_builtin("antigen")))
    assert preview.by_channel == {"sms": 2, "voice": 2}
    assert preview.voice_calls == 2
    assert preview.voice_minutes == 2 * minutes_each
    assert preview.voice_cost == 2 * minutes_each * 0.5

    zh = "\n".join(preview_lines(preview, "zh-CN", TZ))
    assert "电话语音：2 户" in zh
    assert f"电话：2 通（语音住户 2 户），约 {2 * minutes_each} 分钟、${minutes_each:.2f}" in zh
    en = "\n".join(preview_lines(preview, "en", TZ))
    assert f"Voice calls: 2 (voice households: 2), about {2 * minutes_each} min, " in en
    assert f"${minutes_each:.2f}" in en

    # Only building 2: no voice household, no calls line.
    two = await preview_round(runtime, "antigen", buildings=[2])
    assert two.voice_calls == 0
    assert not any("电话：" in line for line in preview_lines(two, "zh-CN", TZ))


def test_a_longer_survey_is_a_longer_call() -> None:
    assert survey_call_minutes(0) == 1
    assert survey_call_minutes(2) == 2  # 20 s greeting + 2 x 25 s, billed by the minute
    assert survey_call_minutes(10) == 5
