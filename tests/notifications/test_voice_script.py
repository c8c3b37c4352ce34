"""notifications/voice_script.py: what louzhang's calls say and ask, as data (pure)."""

from __future__ import annotations

import pytest

from config.i18n import check_catalog
from notifications.voice_script import (
    VOICE_TEXTS,
    Gather,
    Hangup,
    Pause,
    Say,
    Voice,
    ack_script,
    callup_spec,
    gather_again_script,
    outcome_summary,
    route,
    script_for,
    spell_digits,
    tts_voice,
)


def spec(step: str = "call", lang: str = "zh-CN", location: str = "") -> dict[str, object]:
    return callup_spec(
        step,
        lang=lang,
        part=42,
        building=5,
        floor=12,
        room="1203",
        point="A",
        location=location,
        minutes=10,
    )


def test_every_text_is_in_both_languages() -> None:
    assert check_catalog(VOICE_TEXTS) == []


def test_a_come_down_call_says_the_place_slowly_twice_then_asks_1_2_3_twice() -> None:
    script = script_for({"text": "sms", "extra": {"voice": spec(location="东门")}}, 7)
    slow = [v for v in script if isinstance(v, Say) and v.slow]
    assert [v.text for v in slow] == ["5号楼，12层，一二零三室。请到A采样点（东门）。"] * 2
    first, second = (script.index(v) for v in slow)
    assert isinstance(script[first + 1], Pause) and isinstance(script[second + 1], Pause)
    gathers = [v for v in script if isinstance(v, Gather)]
    assert len(gathers) == 2 and gathers[0] == gathers[1]
    assert gathers[0].action == "/twilio/voice/gather?o=7&step=drive"
    assert gathers[0].num_digits == 1
    (prompt,) = gathers[0].prompt
    assert isinstance(prompt, Say) and "按1" in prompt.text and "按2" in prompt.text
    assert "按3" in prompt.text
    assert isinstance(script[-1], Hangup)
    assert script.index(gathers[0]) > second  # the question comes after the place


def test_a_get_ready_call_asks_nothing() -> None:
    script = script_for({"text": "sms", "extra": {"voice": spec("ready")}}, 7)
    assert not any(isinstance(v, Gather) for v in script)
    assert any(isinstance(v, Say) and "10分钟" in v.text for v in script)
    assert isinstance(script[-1], Hangup)


def test_english_households_hear_english() -> None:
    script = script_for({"text": "sms", "extra": {"voice": spec(lang="en")}}, 7)
    slow = [v for v in script if isinstance(v, Say) and v.slow]
    assert slow[0].text == "Building 5, floor 12, room 1 2 0 3. Go to sampling point A."
    assert all(v.lang == "en" for v in script if isinstance(v, Say))


def test_a_notice_is_read_twice_and_a_photo_is_described() -> None:
    body = {"text": "【楼长助手】明天上午停水。", "photo": "AgAD..."}
    script = script_for(body, 9, default_lang="zh-CN")
    said = [v.text for v in script if isinstance(v, Say)]
    assert said.count("明天上午停水。") == 2  # the SMS signature is not read out
    assert sum("图片" in s for s in said) == 2
    assert not any(isinstance(v, Gather) for v in script)
    plain = script_for({"text": "Water off tomorrow."}, 9, default_lang="en")
    assert not any("picture" in v.text for v in plain if isinstance(v, Say))


@pytest.mark.parametrize("answered_by", ["machine_start", "machine_end_beep", "fax"])
def test_an_answering_machine_hears_one_short_sentence(answered_by: str) -> None:
    script = script_for({"text": "x", "extra": {"voice": spec()}}, 7, answered_by=answered_by)
    assert script == (Say(VOICE_TEXTS["machine"]["zh-CN"], "zh-CN"), Hangup())


def test_replies_and_wrong_keys() -> None:
    assert ack_script("收到", "zh-CN") == (Say("收到"), Say("谢谢，再见。"), Hangup())
    again = gather_again_script("en", 3, "drive")
    assert isinstance(again[0], Say) and "did not get" in again[0].text
    assert any(isinstance(v, Gather) for v in again)


def test_small_helpers() -> None:
    assert spell_digits("1203", "zh-CN") == "一二零三"
    assert spell_digits("1203A", "en") == "1 2 0 3 A"
    assert outcome_summary(["no-answer"] * 3, "zh-CN") == "无人接听×3"
    assert outcome_summary(["busy", "no-answer", "busy"], "en") == "busy x2, no answer x1"
    assert tts_voice("Polly.Zhiyu", "zh-CN") == Voice("Polly.Zhiyu", "cmn-CN")
    assert tts_voice("Google.cmn-CN-Standard-A", "zh-CN") == Voice(
        "Google.cmn-CN-Standard-A", "cmn-CN"
    )
    assert tts_voice("Polly.Joanna", "en") == Voice("Polly.Joanna", "en-US")
    assert route("/gather", o=1, step="drive") == "/twilio/voice/gather?o=1&step=drive"


def test_what_a_caller_hears_stops_where_the_call_waits() -> None:
    from notifications.voice_script import Gather, Hangup, Play, Record, Redirect, Say, heard

    ask = Gather("/twilio/voice/gather?o=1&step=drive", prompt=(Say("请按1"), Play("u")))
    now = heard((Say("您好"), Play("x"), ask, Say("再说一遍"), ask, Hangup()))
    assert [s.text for s in now.said] == ["您好", "（播放一段录音）", "请按1", "（播放一段录音）"]
    assert now.waits == ask and not now.ended
    later = heard((Say("好"), Redirect("/twilio/voice/survey?c=1"), Hangup()))
    assert later.then == Redirect("/twilio/voice/survey?c=1") and not later.ended
    assert heard((Say("说吧"), Record("/r"), Hangup())).waits == Record("/r")
    assert heard((Say("再见"), Hangup(), Say("never"))).ended
    assert [s.text for s in heard((Say("再见"), Hangup(), Say("never"))).said] == ["再见"]


def test_keys_are_sent_as_twilio_sends_them() -> None:
    from notifications.voice_script import Gather, press

    one = Gather("/a")  # one key, no finish key: every key is sent at once
    assert press(one, "", "#") == ("#", True)
    number = Gather("/a", num_digits=6, finish_on_key="#")
    assert press(number, "", "2") == ("2", False)
    assert press(number, "2", "5") == ("25", False)
    assert press(number, "25", "#") == ("25", True)  # the finish key is not a digit
    assert press(number, "", "#") == ("", True)
    assert press(Gather("/a", num_digits=2, finish_on_key="#"), "1", "2") == ("12", True)
