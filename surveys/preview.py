"""What opening a round would send, without sending it.

Staff see this before they confirm: ``/survey`` in Telegram, the round form of the dashboard
(preview -> confirm) and ``louzhang survey open --dry-run``. It follows
:meth:`surveys.runtime.SurveyRuntime.open_round` step by step but writes nothing: households by
channel, households that will wait behind another round (mid-answer there), households whose
untouched older round will wait behind this one, SMS segments and their cost, the deadline and
the reminder times, and the phone calls to voice households (one call asks every keypad
question) with their minutes and cost, estimated as the drive preview does
(:mod:`notifications.voice_estimate`). :func:`preview_lines` is its text, in the staff language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

import surveys.engine as engine
from config.i18n import text
from estate.access import all_building_numbers, in_scope
from estate.models import Household
from notifications.durations import format_duration
from notifications.outbox import segments_of
from notifications.voice_estimate import estimate, survey_call_minutes
from surveys.definition import SurveyDefinition, load_builtin, localize
from surveys.models import Round
from surveys.reminders import DEFAULT_REMINDERS
from surveys.runtime import (
    ENGINE_CHANNEL,
    IDLE_BEFORE_NEWER,
    OpenedRound,
    SurveyRuntime,
    active_elsewhere,
    mid_answer,
    pick_contact,
)

TEXTS: dict[str, dict[str, str]] = {
    "title": {
        "zh-CN": "预览：「{title}」（不会发送）",
        "en": "Preview: “{title}” (nothing is sent)",
    },
    "buildings": {"zh-CN": "楼栋：{buildings}", "en": "Buildings: {buildings}"},
    "every_building": {
        "zh-CN": "全部 {count} 栋楼（未填写楼栋 = 全部）",
        "en": "every building, {count} in all (no buildings given = all)",
    },
    "households": {"zh-CN": "住户：{count} 户", "en": "Households: {count}"},
    "by_channel": {"zh-CN": "  {channel}：{count} 户", "en": "  by {channel}: {count}"},
    "unreachable": {
        "zh-CN": "  无可用联系方式：{count} 户（见报表电话名单）",
        "en": "  no reachable contact: {count} (see the report's call list)",
    },
    "waiting": {
        "zh-CN": "正在填写其他调查的住户：{count} 户，填完（或停顿{idle}）后收到本轮",
        "en": "Answering another round now: {count}; they get this one when done (or after "
        "{idle} quiet)",
    },
    "ahead_of": {
        "zh-CN": "第{round}轮尚未开始填写的 {count} 户先收到本轮，之后再问第{round}轮",
        "en": "{count} not started on round {round}: they get this one first, round {round} "
        "again afterwards",
    },
    "sms": {
        "zh-CN": "短信：{segments} 条计费段，约 ${cost}",
        "en": "SMS: {segments} segments, about ${cost}",
    },
    "no_sms": {"zh-CN": "短信：无", "en": "SMS: none"},
    "voice": {
        "zh-CN": "电话：{calls} 通（语音住户 {calls} 户），约 {minutes} 分钟、${cost}"
        "（未接的会重拨，提醒时再打）",
        "en": "Voice calls: {calls} (voice households: {calls}), about {minutes} min, ${cost} "
        "(unanswered calls are tried again; reminders call again)",
    },
    "deadline": {"zh-CN": "截止：{at}", "en": "Deadline: {at}"},
    "no_deadline": {"zh-CN": "截止：无（不发提醒）", "en": "Deadline: none (no reminders)"},
    "reminders": {"zh-CN": "提醒：{times}", "en": "Reminders: {times}"},
    "no_reminders": {"zh-CN": "提醒：无", "en": "Reminders: none"},
    "channel_telegram": {"zh-CN": "Telegram", "en": "Telegram"},
    "channel_sms": {"zh-CN": "短信", "en": "SMS"},
    "channel_voice": {"zh-CN": "电话语音", "en": "voice call"},
    "channel_local": {"zh-CN": "模拟器", "en": "simulator"},
}


@dataclass
class RoundPreview(OpenedRound):
    """:class:`OpenedRound`'s figures (its ``round`` unsaved) and what staff confirm."""

    definition: SurveyDefinition | None = None
    buildings: list[int] = field(default_factory=list)  # as given; [] = every building
    covered: list[int] = field(default_factory=list)  # the buildings it reaches, in order
    sms_cost: float = 0.0
    voice_calls: int = 0  # one call per voice household, answered at the first try
    voice_minutes: int = 0
    voice_cost: float = 0.0
    closes_at: datetime | None = None
    reminders_at: list[datetime] = field(default_factory=list)

    @property
    def every_building(self) -> bool:
        return not self.buildings


async def preview_round(
    runtime: SurveyRuntime,
    slug: str,
    *,
    buildings: Sequence[int] | None = None,
    estate: int | None = None,
    closes_in: timedelta | None = None,
    reminders: Sequence[int] | None = None,
    cost_per_segment: float | None = None,
) -> RoundPreview:
    """The figures :meth:`SurveyRuntime.open_round` would report, the deadline and reminder
    times (``reminders``: seconds before the deadline; None = the defaults)."""
    defn = load_builtin(slug)
    now = runtime.clock.now()
    query = Household.filter(**in_scope(estate)).prefetch_related("contacts")
    if buildings:
        query = query.filter(building__number__in=list(buildings))
    households = await query
    active = await active_elsewhere([h.id for h in households])
    preview = RoundPreview(
        round=Round(survey=defn.slug),
        households=len(households),
        definition=defn,
        buildings=sorted(buildings) if buildings else [],
        covered=sorted(buildings) if buildings else await all_building_numbers(estate),
    )
    steps: dict[str, engine.Step] = {}
    for household in households:
        contact = pick_contact(household, household.contacts, runtime.survey_channels)
        if contact is None:
            preview.unreachable += 1
            continue
        older = active.get(household.id)
        if older is not None and mid_answer(older["status"], older["updated_at"], now):
            preview.waiting += 1
            continue
        if older is not None:
            number = int(older["round_id"])
            preview.ahead_of[number] = preview.ahead_of.get(number, 0) + 1
        preview.by_channel[contact.channel] = preview.by_channel.get(contact.channel, 0) + 1
        if contact.channel == "voice":
            preview.voice_calls += 1
        if contact.channel != "sms":
            continue
        channel = ENGINE_CHANNEL.get(contact.channel, "sms")
        step = steps.get(contact.language)
        if step is None:
            step = steps[contact.language] = engine.start(defn, channel=channel)
        for message in runtime._messages_for(defn, 0, contact, step, header=True):
            preview.sms_segments += segments_of(contact.channel, message)
    per_segment = (
        runtime.settings.sms_cost_per_segment if cost_per_segment is None else cost_per_segment
    )
    preview.sms_cost = preview.sms_segments * per_segment
    calls = estimate(
        preview.voice_calls,
        runtime.settings.voice_price_per_minute,
        survey_call_minutes(phone_questions(defn)),
    )
    preview.voice_minutes, preview.voice_cost = calls.minutes, calls.cost
    if closes_in is not None:
        preview.closes_at = now + closes_in
        offsets = sorted({int(s) for s in (DEFAULT_REMINDERS if reminders is None else reminders)})
        preview.reminders_at = [
            at
            for at in (preview.closes_at - timedelta(seconds=s) for s in reversed(offsets))
            if at > now
        ]
    return preview


def phone_questions(defn: SurveyDefinition) -> int:
    """The questions a call may ask (every one, for the estimate: relevance may skip some)."""
    return sum(1 for question, _ in defn.walk() if question.type not in ("repeat", "image", "note"))


def voice_line(preview: RoundPreview, lang: str) -> str | None:
    """The calls line (None with no voice household), for every front end."""
    if not preview.voice_calls:
        return None
    return text(
        TEXTS,
        "voice",
        lang,
        calls=preview.voice_calls,
        minutes=preview.voice_minutes,
        cost=f"{preview.voice_cost:.2f}",
    )


def channel_name(channel: str, lang: str) -> str:
    return text(TEXTS, f"channel_{channel}", lang) if f"channel_{channel}" in TEXTS else channel


def preview_lines(preview: RoundPreview, lang: str, tz: tzinfo) -> list[str]:
    """The preview as lines of text in ``lang``, times in ``tz`` (the CLI's ``--dry-run``)."""
    title = localize(preview.definition.title, lang) if preview.definition else preview.round.survey
    where = (
        text(TEXTS, "every_building", lang, count=len(preview.covered))
        if preview.every_building
        else ",".join(map(str, preview.buildings))
    )
    lines = [
        text(TEXTS, "title", lang, title=title),
        text(TEXTS, "buildings", lang, buildings=where),
        text(TEXTS, "households", lang, count=preview.households),
    ]
    for channel, count in sorted(preview.by_channel.items()):
        lines.append(
            text(TEXTS, "by_channel", lang, channel=channel_name(channel, lang), count=count)
        )
    if preview.unreachable:
        lines.append(text(TEXTS, "unreachable", lang, count=preview.unreachable))
    if preview.waiting:
        idle = format_duration(IDLE_BEFORE_NEWER)
        lines.append(text(TEXTS, "waiting", lang, count=preview.waiting, idle=idle))
    for number, count in sorted(preview.ahead_of.items()):
        lines.append(text(TEXTS, "ahead_of", lang, round=number, count=count))
    if preview.sms_segments:
        lines.append(
            text(TEXTS, "sms", lang, segments=preview.sms_segments, cost=f"{preview.sms_cost:.2f}")
        )
    else:
        lines.append(text(TEXTS, "no_sms", lang))
    voice = voice_line(preview, lang)
    if voice:
        lines.append(voice)
    if preview.closes_at is None:
        lines.append(text(TEXTS, "no_deadline", lang))
    else:
        lines.append(text(TEXTS, "deadline", lang, at=_local(preview.closes_at, tz)))
        times = ", ".join(_local(at, tz) for at in preview.reminders_at)
        lines.append(
            text(TEXTS, "reminders", lang, times=times)
            if times
            else text(TEXTS, "no_reminders", lang)
        )
    return lines


def _local(at: datetime, tz: tzinfo) -> str:
    return at.astimezone(tz).strftime("%m-%d %H:%M")
