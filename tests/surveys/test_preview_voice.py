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


async def test_the_web_preview_shows_the_calls(db: str, tmp_path: Path) -> None:
    """The dashboard's round preview (round_preview.html) has the calls row, in its language."""
    import re

    from aiohttp.test_utils import TestClient, TestServer

    from bot.app import build_services
    from bot.web.app import create_app
    from estate.logins import create_login_link
    from estate.staff import add_staff

    await _import(tmp_path)
    admin = await add_staff("admin", role="admin")
    clock = FakeClock()
    settings = make_settings(
        database_url=db,
        secret_key="k" * 40,
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="t",
        twilio_from="+15005550006",
        twilio_api_url="http://127.0.0.1:9",
        voice_price_per_minute=0.5,
    )
    services = build_services(settings, clock=clock)
    assert "voice" in services.channels.reachable
    minutes = 2 * survey_call_minutes(phone_questions(load_builtin("antigen")))
    async with TestClient(TestServer(create_app(services, manage_services=False))) as client:
        url = await create_login_link(admin, settings=settings, clock=clock)
        path = url.split("://", 1)[1].split("/", 1)[1]
        assert (await client.post("/" + path, allow_redirects=False)).status == 303
        page = await (await client.get("/rounds?lang=zh-CN")).text()
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf
        form = {"csrf": csrf.group(1), "slug": "antigen", "buildings": "", "hours": "6"}
        html = await (await client.post("/rounds", data=form)).text()
    row = html.split('id="preview-voice">', 1)[1].split("</td>", 1)[0]
    assert f"电话：2 通（语音住户 2 户），约 {minutes} 分钟" in row
