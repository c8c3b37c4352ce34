"""Turning engine events into channel-neutral :class:`~notifications.message.Message` objects.

Telegram: the question text (+ a warning line on a re-ask, + "current answer" when revising)
and inline buttons. Button data is ``data_prefix`` + one of: a choice index (``"0"``, ``"1"``,
… into ``question.choices``), ``"y"``/``"n"`` (yes/no), ``"done"`` (finish a select_multiple),
``"back"``, ``"skip"``, ``"keep"``. :func:`button_inbound` maps a suffix back to an inbound.
The runtime owns the prefix (e.g. ``f"s{response_id}:{ask.seq}:"``) and checks the seq in it.

SMS: plain text, options numbered in the text (``回复 1 = 是，2 = 否``); the engine accepts the
numbers back. Prompts stay short: every SMS prompt of a definition must fit in 2 segments
(checked when the definition is loaded, see ``surveys.definition.load``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from notifications.message import Button, Message
from notifications.segments import count_segments
from surveys.definition.model import ADD_ANOTHER, Question, SurveyDefinition, localize
from surveys.engine import (
    Ask,
    Back,
    Choice,
    Done,
    Inbound,
    Keep,
    SessionState,
    Skip,
    Toggle,
    question_at,
    reason_text,
)

__all__ = [
    "UI",
    "button_inbound",
    "format_value",
    "render_ask",
    "render_completed",
    "render_reason",
    "render_sms_prompt",
    "render_summary_lines",
]

UI: dict[str, dict[str, str]] = {
    "yes": {"zh-CN": "是", "en": "Yes"},
    "no": {"zh-CN": "否", "en": "No"},
    "back": {"zh-CN": "⬅️ 返回上一题", "en": "⬅️ Back"},
    "skip": {"zh-CN": "跳过", "en": "Skip"},
    "done": {"zh-CN": "✅ 选好了", "en": "✅ Done"},
    "keep": {"zh-CN": "保留当前答案", "en": "Keep current answer"},
    "current": {"zh-CN": "当前答案：{value}", "en": "Current answer: {value}"},
    "warning": {"zh-CN": "⚠️ {error}", "en": "⚠️ {error}"},
    "item_header": {"zh-CN": "【{group} 第{n}项】", "en": "[{group} #{n}]"},
    "sms_item": {"zh-CN": "（第{n}项）", "en": "(#{n}) "},
    "sms_reply": {"zh-CN": "回复 {options}", "en": "Reply {options}"},
    "sms_multi": {
        "zh-CN": "可多选，如回复 1 3：{options}",
        "en": "Reply one or more, e.g. 1 3: {options}",
    },
    "sms_option_sep": {"zh-CN": "，", "en": ", "},
    "sms_keep": {
        "zh-CN": "当前：{value}，回复“保留”不变",
        "en": "Now: {value}. Reply KEEP to keep it",
    },
    "sms_skip": {"zh-CN": "可回复“跳过”", "en": "Reply SKIP to skip"},
    "photo": {"zh-CN": "（照片）", "en": "(photo)"},
    "skipped": {"zh-CN": "（未答）", "en": "(skipped)"},
    "list_sep": {"zh-CN": "、", "en": ", "},
    "completed": {"zh-CN": "已提交，谢谢您！", "en": "Submitted, thank you!"},
    "your_answers": {"zh-CN": "您的回答：", "en": "Your answers:"},
    "edit_last": {"zh-CN": "⬅️ 修改最后一题", "en": "⬅️ Change the last answer"},
}
SMS_SUMMARY_MAX_SEGMENTS = 3


def _ui(key: str, lang: str, **values: Any) -> str:
    text = localize(UI[key], lang)
    return text.format(**values) if values else text


def _fmt_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _choice_text(question: Question, index: int, lang: str, *, sms: bool) -> str:
    choice = question.choices[index]
    if sms and choice.sms_label:
        return localize(choice.sms_label, lang)
    return localize(choice.label, lang)


def format_value(question: Question, value: Any, lang: str) -> str:
    """An answer as a resident reads it (choice labels, 是/否, dates as stored)."""
    if value is None:
        return _ui("skipped", lang)
    if question.type == "yes_no":
        return _ui("yes" if value == "yes" else "no", lang)
    if question.type == "image":
        return _ui("photo", lang)
    if question.type in ("select_one", "select_multiple"):
        values = value if isinstance(value, list) else [value]
        labels = []
        for item in values:
            index = question.choice_index(item)
            labels.append(
                str(item) if index is None else _choice_text(question, index, lang, sms=False)
            )
        return _ui("list_sep", lang).join(labels)
    if isinstance(value, float):
        return _fmt_number(value)
    return str(value)


def _sms_label(question: Question, lang: str) -> str:
    if question.type == "image" and question.sms_alternative:
        return localize(question.sms_alternative, lang)
    return localize(question.sms_label or question.label, lang)


def render_sms_prompt(
    question: Question,
    lang: str,
    *,
    item: int | None = None,
    error: Mapping[str, str] | None = None,
    previous: Any = None,
) -> str:
    """The SMS text of a question: [error] label, numbered options, [keep hint], [skip hint].
    ``item`` is the repeat item number for questions inside a repeat."""
    lines: list[str] = []
    if error:
        lines.append(localize(error, lang))
    prefix = _ui("sms_item", lang, n=item) if item is not None else ""
    lines.append(prefix + _sms_label(question, lang))
    separator = _ui("sms_option_sep", lang)
    if question.type == "yes_no":
        options = separator.join([f"1 = {_ui('yes', lang)}", f"2 = {_ui('no', lang)}"])
        lines.append(_ui("sms_reply", lang, options=options))
    elif question.type in ("select_one", "select_multiple"):
        options = separator.join(
            f"{i + 1} = {_choice_text(question, i, lang, sms=True)}"
            for i in range(len(question.choices))
        )
        key = "sms_reply" if question.type == "select_one" else "sms_multi"
        lines.append(_ui(key, lang, options=options))
    if question.answerable and question.type != "image":
        if previous is not None:
            lines.append(_ui("sms_keep", lang, value=format_value(question, previous, lang)))
        if not question.required:
            lines.append(_ui("sms_skip", lang))
    return "\n".join(lines)


def _item_number(path: tuple[str | int, ...]) -> int | None:
    return path[1] if len(path) == 3 and isinstance(path[1], int) else None


def render_ask(
    defn: SurveyDefinition,
    ask: Ask,
    *,
    lang: str,
    channel: str,
    data_prefix: str = "",
) -> Message:
    """The message for one :class:`~surveys.engine.walk.Ask`."""
    question = ask.question
    item = _item_number(ask.path)
    if channel in ("sms", "voice"):
        text = render_sms_prompt(question, lang, item=item, error=ask.error, previous=ask.previous)
        return Message(text=text)
    lines: list[str] = []
    if item is not None and ask.path[2] != ADD_ANOTHER:
        group = defn.question(str(ask.path[0]))
        group_label = localize(group.label, lang) if group else str(ask.path[0])
        lines.append(_ui("item_header", lang, group=group_label, n=item))
    lines.append(localize(question.label, lang))
    if ask.error:
        lines.append(_ui("warning", lang, error=localize(ask.error, lang)))
    if ask.previous is not None and question.answerable:
        lines.append(_ui("current", lang, value=format_value(question, ask.previous, lang)))
    if question.type == "note":
        return Message(text="\n".join(lines))

    def button(label: str, suffix: str) -> Button:
        return Button(label=label, data=f"{data_prefix}{suffix}")

    rows: list[tuple[Button, ...]] = []
    if question.type == "yes_no":
        rows.append((button(_ui("yes", lang), "y"), button(_ui("no", lang), "n")))
    elif question.type == "select_one":
        for index in range(len(question.choices)):
            rows.append((button(_choice_text(question, index, lang, sms=False), str(index)),))
    elif question.type == "select_multiple":
        for index, choice in enumerate(question.choices):
            mark = "✓ " if choice.value in ask.selected else ""
            label = mark + _choice_text(question, index, lang, sms=False)
            rows.append((button(label, str(index)),))
        rows.append((button(_ui("done", lang), "done"),))
    if ask.previous is not None and question.type != "select_multiple":
        rows.append((button(_ui("keep", lang), "keep"),))
    last: list[Button] = []
    if ask.can_back:
        last.append(button(_ui("back", lang), "back"))
    if not question.required:
        last.append(button(_ui("skip", lang), "skip"))
    if last:
        rows.append(tuple(last))
    return Message(text="\n".join(lines), buttons=tuple(rows))


def button_inbound(defn: SurveyDefinition, state: SessionState, suffix: str) -> Inbound | None:
    """The inbound for a button (data minus the runtime's prefix) of the question at
    ``state.cursor``; None when it means nothing there. The runtime checks the seq first."""
    if suffix == "back":
        return Back()
    question = question_at(defn, state.cursor)
    if question is None:
        return None
    if suffix == "skip":
        return Skip()
    if suffix == "keep":
        return Keep()
    if suffix == "done":
        return Done() if question.type == "select_multiple" else None
    if suffix in ("y", "n"):
        return Choice("yes" if suffix == "y" else "no") if question.type == "yes_no" else None
    if suffix.isascii() and suffix.isdigit():
        index = int(suffix)
        if index >= len(question.choices):
            return None
        value = question.choices[index].value
        if question.type == "select_multiple":
            return Toggle(value)
        if question.type == "select_one":
            return Choice(value)
    return None


def short_label(label: str) -> str:
    """A question's label cut to its question: "家里有几人做了检测？请回复人数。" -> the first part."""
    for stop in ("？", "?", "。", ". "):
        if stop in label:
            return label[: label.index(stop) + len(stop.strip())]
    return label


def _summary_label(question: Question, lang: str) -> str:
    """The short name of a question in a summary: its SMS label or its label, cut to the
    question, without the trailing mark ("家里有几人做了检测")."""
    return short_label(localize(question.sms_label or question.label, lang)).rstrip("？?:：。.")


def render_summary_lines(
    defn: SurveyDefinition, answers: Mapping[str, Any], lang: str
) -> list[str]:
    """One line per answered question (``label answer``); one line per repeat item."""
    colon = "：" if lang == "zh-CN" else ": "
    item_sep = "；" if lang == "zh-CN" else "; "
    lines: list[str] = []
    for question in defn.questions:
        if question.name not in answers:
            continue
        value = answers[question.name]
        if question.type == "repeat":
            if not isinstance(value, list):
                continue
            group_label = _summary_label(question, lang)
            for number, item in enumerate(value, start=1):
                if not isinstance(item, Mapping):
                    continue
                parts = [
                    f"{_summary_label(q, lang)}{colon}{format_value(q, item[q.name], lang)}"
                    for q in question.questions
                    if q.answerable and q.name in item
                ]
                header = _ui("item_header", lang, group=group_label, n=number)
                lines.append(header + item_sep.join(parts))
        elif question.answerable:
            label = _summary_label(question, lang)
            lines.append(f"{label}{colon}{format_value(question, value, lang)}")
    return lines


def render_completed(
    defn: SurveyDefinition,
    answers: Mapping[str, Any],
    lang: str,
    channel: str,
    *,
    data_prefix: str | None = None,
) -> Message:
    """Thanks + a summary. On SMS the summary is left out when the whole message would need
    more than 3 segments. With ``data_prefix`` (Telegram) a "change the last answer" button
    sends ``back``."""
    thanks = _ui("completed", lang)
    lines = render_summary_lines(defn, answers, lang)
    if channel in ("sms", "voice"):
        text = "\n".join([thanks, *lines])
        if count_segments(text).segments > SMS_SUMMARY_MAX_SEGMENTS:
            text = thanks
        return Message(text=text)
    text = "\n".join([thanks, _ui("your_answers", lang), *lines]) if lines else thanks
    buttons: tuple[tuple[Button, ...], ...] = ()
    if data_prefix is not None:
        buttons = ((Button(label=_ui("edit_last", lang), data=f"{data_prefix}back"),),)
    return Message(text=text, buttons=buttons)


def render_reason(reason: str, lang: str) -> str:
    """Resident-facing text of an ``Invalid``/``NeedsHuman`` reason key."""
    return localize(reason_text(reason), lang)
