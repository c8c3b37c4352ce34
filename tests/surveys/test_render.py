"""Rendering asks, summaries and completion messages for Telegram and SMS."""

from __future__ import annotations

from typing import Any

import pytest

from notifications.message import Message
from notifications.segments import count_segments
from surveys import engine
from surveys.definition import load_builtin, load_definition
from surveys.engine import Ask, Back, Choice, Done, Keep, Skip, Text, Toggle
from surveys.render import (
    button_inbound,
    format_value,
    render_ask,
    render_completed,
    render_reason,
    render_sms_prompt,
    render_summary_lines,
)

ANTIGEN = load_builtin("antigen")
MEDICATION = load_builtin("medication")
MULTI = load_definition(
    """
slug: multi
version: 1
title: {zh-CN: 多选, en: Multi}
questions:
  - name: first
    type: yes_no
    label: {zh-CN: 开始？, en: "Start?"}
  - name: symptoms
    type: select_multiple
    required: false
    label: {zh-CN: 有哪些症状？, en: "Which symptoms?"}
    choices:
      - {value: fever, label: {zh-CN: 发烧, en: fever}}
      - {value: cough, label: {zh-CN: 咳嗽, en: cough}}
      - {value: sore, label: {zh-CN: 咽痛, en: sore throat}, sms_label: {zh-CN: 喉咙痛, en: sore}}
"""
)


def _buttons(message: Message) -> list[list[tuple[str, str]]]:
    return [[(b.label, b.data) for b in row] for row in message.buttons]


def _ask(defn, path, **kwargs) -> Ask:  # type: ignore[no-untyped-def]
    question = engine.question_at(defn, path)
    assert question is not None
    return Ask(path=path, question=question, seq=kwargs.pop("seq", 1), **kwargs)


def test_telegram_yes_no_first_question() -> None:
    _, events = engine.start(ANTIGEN, channel="telegram")
    ask = events[-1]
    assert isinstance(ask, Ask)
    message = render_ask(ANTIGEN, ask, lang="zh-CN", channel="telegram", data_prefix="s1:1:")
    assert message.text == "今天家里做抗原检测了吗？"
    assert _buttons(message) == [[("是", "s1:1:y"), ("否", "s1:1:n")]]


def test_telegram_select_one_with_back() -> None:
    ask = _ask(MEDICATION, ("urgency",), can_back=True)
    message = render_ask(MEDICATION, ask, lang="en", channel="telegram", data_prefix="p")
    assert message.text == "When do you need the medicine at the latest?"
    assert _buttons(message) == [
        [("today", "p0")],
        [("within 3 days", "p1")],
        [("this week", "p2")],
        [("⬅️ Back", "pback")],
    ]


def test_telegram_reask_with_error_and_previous() -> None:
    ask = _ask(
        ANTIGEN,
        ("positive",),
        previous=3,
        error={"zh-CN": "阳性人数不能多于检测人数。", "en": "Too many."},
        can_back=True,
    )
    message = render_ask(ANTIGEN, ask, lang="zh-CN", channel="telegram", data_prefix="x:")
    assert message.text.splitlines() == [
        "其中几人阳性？都是阴性请回复0。",
        "⚠️ 阳性人数不能多于检测人数。",
        "当前答案：3",
    ]
    assert _buttons(message) == [[("保留当前答案", "x:keep")], [("⬅️ 返回上一题", "x:back")]]


def test_telegram_optional_image_has_skip() -> None:
    ask = _ask(ANTIGEN, ("photo",), can_back=True)
    message = render_ask(ANTIGEN, ask, lang="en", channel="telegram", data_prefix="")
    assert _buttons(message) == [[("⬅️ Back", "back"), ("Skip", "skip")]]


def test_telegram_select_multiple_toggles() -> None:
    ask = _ask(MULTI, ("symptoms",), selected=("fever", "sore"), can_back=True)
    message = render_ask(MULTI, ask, lang="zh-CN", channel="telegram", data_prefix="m:")
    assert _buttons(message) == [
        [("✓ 发烧", "m:0")],
        [("咳嗽", "m:1")],
        [("✓ 咽痛", "m:2")],
        [("✅ 选好了", "m:done")],
        [("⬅️ 返回上一题", "m:back"), ("跳过", "m:skip")],
    ]


def test_telegram_repeat_item_header() -> None:
    ask = _ask(MEDICATION, ("medicines", 2, "drug"), can_back=True)
    message = render_ask(MEDICATION, ask, lang="en", channel="telegram", data_prefix="")
    assert message.text.splitlines() == ["[Medicine #2]", "What is the name of the medicine?"]
    add = _ask(MEDICATION, ("medicines", 2, "add_another"), can_back=True)
    message = render_ask(MEDICATION, add, lang="zh-CN", channel="telegram", data_prefix="")
    assert message.text == "还有其他药品要登记吗？"
    assert _buttons(message)[0] == [("是", "y"), ("否", "n")]


def test_telegram_note_has_no_buttons() -> None:
    ask = _ask(ANTIGEN, ("positive_note",))
    message = render_ask(ANTIGEN, ask, lang="zh-CN", channel="telegram", data_prefix="z")
    assert message.buttons == ()
    assert message.text.startswith("已收到阳性结果")


def test_button_data_fits_telegram_limit() -> None:
    prefix = "s:123456789:987654:"
    for defn in (ANTIGEN, MEDICATION, MULTI):
        for question, group in defn.walk():
            if question.type == "repeat":
                continue
            path = (group.name, 10, question.name) if group else (question.name,)
            ask = _ask(defn, path, previous=None, can_back=True)
            for lang in ("zh-CN", "en"):
                message = render_ask(defn, ask, lang=lang, channel="telegram", data_prefix=prefix)
                for row in message.buttons:
                    for button in row:
                        assert len(button.data.encode()) <= 64


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("zh-CN", "最晚什么时候需要拿到药？\n回复 1 = 今天，2 = 3天内，3 = 本周内"),
        (
            "en",
            "When do you need the medicine at the latest?\nReply 1 = today, 2 = within 3 days, 3 = this week",
        ),
    ],
)
def test_sms_select_one(lang: str, expected: str) -> None:
    message = render_ask(
        MEDICATION, _ask(MEDICATION, ("urgency",)), lang=lang, channel="sms", data_prefix=""
    )
    assert message.text == expected
    assert message.buttons == ()


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("zh-CN", "今天家里做抗原检测了吗？\n回复 1 = 是，2 = 否"),
        ("en", "Did your household do the antigen test today?\nReply 1 = Yes, 2 = No"),
    ],
)
def test_sms_yes_no(lang: str, expected: str) -> None:
    assert render_sms_prompt(ANTIGEN.questions[0], lang) == expected


def test_sms_integer_is_just_the_question() -> None:
    assert render_sms_prompt(ANTIGEN.questions[1], "zh-CN") == "家里有几人做了检测？请回复人数。"


def test_sms_reask_has_hint_first() -> None:
    ask = _ask(
        ANTIGEN,
        ("tested",),
        error={"zh-CN": "请回复一个数字，如 3。", "en": "Please reply with a number, e.g. 3."},
    )
    text = render_ask(ANTIGEN, ask, lang="en", channel="sms", data_prefix="").text
    assert text == (
        "Please reply with a number, e.g. 3.\n"
        "How many people in your household tested? Reply with a number."
    )


def test_sms_multi_uses_sms_labels() -> None:
    text = render_sms_prompt(MULTI.questions[1], "zh-CN")
    assert text == "有哪些症状？\n可多选，如回复 1 3：1 = 发烧，2 = 咳嗽，3 = 喉咙痛\n可回复“跳过”"


def test_sms_item_prefix_sms_label_and_previous() -> None:
    ask = _ask(MEDICATION, ("medicines", 1, "days_left"), previous=5)
    zh = render_ask(MEDICATION, ask, lang="zh-CN", channel="sms", data_prefix="").text
    assert zh == "（第1项）现有的药还够用几天？没有了回复0。\n当前：5，回复“保留”不变"
    en = render_ask(MEDICATION, ask, lang="en", channel="sms", data_prefix="").text
    assert (
        en
        == "(#1) How many days will your current supply last? Reply 0 if none.\nNow: 5. Reply KEEP to keep it"
    )
    assert count_segments(en).encoding == "GSM-7"


def test_english_sms_prompts_stay_gsm7() -> None:
    for defn in (ANTIGEN, MEDICATION):
        for question, group in defn.walk():
            shown = question.add_another_question() if question.type == "repeat" else question
            text = render_sms_prompt(shown, "en", item=1 if group else None)
            assert count_segments(text).encoding == "GSM-7", text


def test_format_value() -> None:
    urgency = MEDICATION.question("urgency")
    assert urgency is not None
    assert format_value(urgency, "today", "zh-CN") == "今天"
    assert format_value(urgency, None, "en") == "(skipped)"
    symptoms = MULTI.question("symptoms")
    assert symptoms is not None
    assert format_value(symptoms, ["fever", "sore"], "zh-CN") == "发烧、咽痛"
    assert format_value(symptoms, ["fever", "sore"], "en") == "fever, sore throat"
    assert format_value(ANTIGEN.questions[0], "yes", "zh-CN") == "是"
    photo = ANTIGEN.question("photo")
    assert photo is not None
    assert format_value(photo, "FILE", "zh-CN") == "（照片）"


ANSWERS: dict[str, Any] = {
    "needs_medicine": "yes",
    "medicines": [
        {
            "patient": "母亲",
            "drug": "硝苯地平",
            "dose": "3盒",
            "days_left": 2,
            "hospital": None,
            "insurance_card": "yes",
        }
    ],
    "urgency": "today",
}


def test_summary_lines() -> None:
    assert render_summary_lines(MEDICATION, ANSWERS, "zh-CN") == [
        "家里有人需要配药吗：是",
        # each question by its short label, not its instruction (issue 14)
        "【药品 第1项】给谁用药：母亲；药品名称是什么：硝苯地平；规格和数量：3盒；"
        "现有的药还够用几天：2；平时在哪家医院或药店配药：（未答）；需要志愿者上门收取医保卡吗：是",
        "最晚什么时候需要拿到药：今天",
    ]
    en = render_summary_lines(ANTIGEN, {"tested_today": "yes", "tested": 2, "positive": 0}, "en")
    assert en == [
        "Did your household do the antigen test today: Yes",
        "How many people in your household tested: 2",
        "How many of them tested positive: 0",
    ]


def test_closing_summary_names_each_question_by_its_short_label() -> None:
    answers = {"tested_today": "yes", "tested": 3, "positive": 0}
    summary = render_completed(ANTIGEN, answers, "zh-CN", "sms").text
    assert "家里有几人做了检测：3" in summary
    assert "请回复人数" not in summary and "都是阴性请回复0" not in summary


def test_render_completed() -> None:
    answers = {"tested_today": "no"}
    telegram = render_completed(ANTIGEN, answers, "zh-CN", "telegram", data_prefix="r:")
    assert telegram.text == "已提交，谢谢您！\n您的回答：\n今天家里做抗原检测了吗：否"
    assert _buttons(telegram) == [[("⬅️ 修改最后一题", "r:back")]]
    sms = render_completed(ANTIGEN, answers, "en", "sms")
    assert sms.text == "Submitted, thank you!\nDid your household do the antigen test today: No"
    long = render_completed(
        MEDICATION, {**ANSWERS, "medicines": ANSWERS["medicines"] * 5}, "zh-CN", "sms"
    )
    assert long.text == "已提交，谢谢您！"


def test_button_inbound_round_trip() -> None:
    state, _ = engine.start(MEDICATION, channel="telegram")
    assert button_inbound(MEDICATION, state, "y") == Choice("yes")
    assert button_inbound(MEDICATION, state, "n") == Choice("no")
    assert button_inbound(MEDICATION, state, "0") is None
    assert button_inbound(MEDICATION, state, "back") == Back()
    assert button_inbound(MEDICATION, state, "keep") == Keep()
    assert button_inbound(MEDICATION, state, "bogus") is None
    state, _ = engine.handle(MEDICATION, state, Text("no"), channel="telegram")
    state, _ = engine.handle(MEDICATION, state, Back(), channel="telegram")
    state, _ = engine.handle(MEDICATION, state, Text("yes"), channel="telegram")
    for _ in range(5):
        state, _ = engine.handle(MEDICATION, state, Text("1"), channel="telegram")
    state, _ = engine.handle(MEDICATION, state, Text("yes"), channel="telegram")
    assert state.cursor == ("medicines", 1, "add_another")
    state, _ = engine.handle(MEDICATION, state, Text("no"), channel="telegram")
    assert state.cursor == ("urgency",)
    assert button_inbound(MEDICATION, state, "2") == Choice("this_week")
    assert button_inbound(MEDICATION, state, "3") is None
    assert button_inbound(MEDICATION, state, "done") is None
    assert button_inbound(MEDICATION, state, "skip") == Skip()

    state, _ = engine.start(MULTI, channel="telegram")
    state, _ = engine.handle(MULTI, state, Choice("yes"), channel="telegram")
    assert button_inbound(MULTI, state, "1") == Toggle("cough")
    assert button_inbound(MULTI, state, "done") == Done()


def test_render_reason() -> None:
    assert render_reason("stale", "zh-CN") == "这个按钮已过期，请回答最新的问题。"
    assert render_reason("needs_call", "en") == "A staff member will contact you soon."
    assert render_reason("too_small", "en")  # unformatted placeholders never raise
