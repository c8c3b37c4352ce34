"""Round reports: one row per household, then one extra row per repeat item (e.g. each medicine).

Two forms:
- the CSV is the machine format (stable English keys): ``building, floor, room, status``, then
  ``channel`` (the channel the round went out by), ``first_message`` (delivery status of the
  first message), ``answered_channel``, ``proxy``, ``needs_call``, ``updated_at`` (local time
  with its offset), ``waiting_behind`` (the id of the round the household answers first; this
  one is asked afterwards), then the survey's answers (``SurveyDefinition.flat_columns``). A repeat
  item's row repeats the address and status and fills only its ``group.#`` and
  ``group.<question>`` columns.
- the XLSX is the committee's working document (:func:`write_people_xlsx`): the staff language,
  local times, positives and households needing a call on top, and a "call list" sheet.

``status`` is one of :data:`REPORT_STATUSES`: ``answered``, ``in_progress``, ``no_reply``
(delivered or on its way, nothing back yet), ``not_delivered`` (the provider refused or the
number is unreachable), ``opted_out``, ``no_contact`` (no way to reach the household).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.functions import Count

from config.clock import machine_time
from config.exports import to_csv, write_csv, write_xlsx
from config.settings import get_settings
from estate.access import in_scope
from estate.models import ELDERLY_AGE, Contact, Person
from notifications.models import OutboxMessage
from surveys.definition import SurveyDefinition, load_definition, localize
from surveys.engine.expressions import ExpressionError, parse, truthy
from surveys.models import Response, Round
from surveys.render import short_label
from surveys.states import ResponseStage, RoundStatus

FIXED_COLUMNS = [
    "building",
    "floor",
    "room",
    "status",
    "channel",
    "first_message",
    "answered_channel",
    "proxy",
    "needs_call",
    "updated_at",
    "waiting_behind",  # the round this household answers first (this one is asked afterwards)
]
REPORT_STATUSES = (
    "answered",
    "in_progress",
    "no_reply",
    "not_delivered",
    "opted_out",
    "no_contact",
)
NOT_DELIVERED_MESSAGES = frozenset({"failed", "undelivered"})
CALL_STATUSES = frozenset({"no_reply", "not_delivered", "no_contact"})


def household_status(
    response_status: str,
    channel: str | None,
    first_message: str | None,
    contact_states: set[str],
) -> str:
    """The report status of one household (see :data:`REPORT_STATUSES`)."""
    if response_status in ("answered", "opted_out"):
        return response_status
    if contact_states and contact_states <= {"opted_out"}:
        return "opted_out"  # every contact opted out, even if the household had begun
    if response_status == "in_progress":
        return "in_progress"
    if not channel and not first_message:
        return "no_contact"
    if first_message in NOT_DELIVERED_MESSAGES or (
        contact_states and contact_states <= {"opted_out", "unreachable"}
    ):
        return "not_delivered"
    return "no_reply"


@dataclass
class Member:
    name: str
    phone: str
    birth_year: int | None
    home_bound: bool


@dataclass
class Report:
    round: Round
    columns: list[str]
    rows: list[list[Any]]
    definition: SurveyDefinition | None = None
    tz: tzinfo | None = None
    # (building, floor, room) -> the household's members, for the call list
    members: dict[tuple[int, int, str], list[Member]] = field(default_factory=dict)
    positive: set[tuple[int, int, str]] = field(default_factory=set)


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        return str(value)
    return value


def local_time(value: datetime | None, tz: tzinfo) -> str:  # the CSV's machine format
    """ISO-8601 in local time with its offset, to the second: 2026-04-10T14:05:09+08:00."""
    return machine_time(value, tz)


def _alerting(defn: SurveyDefinition) -> list[Any]:
    rules = []
    for rule in defn.alerts:
        try:
            rules.append(parse(rule.when))
        except ExpressionError:  # checked on load; never let a report fail for it
            continue
    return rules


async def build_report(
    round_id: int,
    *,
    tz: tzinfo | None = None,
    buildings: Iterable[int] | None = None,
    estate: int | None = None,
) -> Report:
    """The round's report; ``buildings`` and ``estate`` limit it to a staff member's scope
    (building numbers repeat across estates)."""
    tz = tz or ZoneInfo(get_settings().timezone)
    round_ = await Round.get_or_none(id=round_id)
    if round_ is None:
        raise LookupError(f"no round {round_id}")
    defn = load_definition(round_.definition)
    query = Response.filter(round_id=round_id, **in_scope(estate, "household__building__"))
    if buildings is not None:
        query = query.filter(household__building__number__in=list(buildings))
    responses = await query.select_related("household__building")
    household_ids = [r.household_id for r in responses]  # type: ignore[attr-defined]
    first: dict[str, str] = {}
    for ref, status in (
        await OutboxMessage.filter(ref__in=[f"response:{r.id}" for r in responses])
        .order_by("-id")
        .values_list("ref", "status")
    ):
        first[ref] = status  # ordered newest first: the oldest (the first message) wins
    contact_states: dict[int, set[str]] = {}
    for household_id, status in await Contact.filter(household_id__in=household_ids).values_list(
        "household_id", "status"
    ):
        contact_states.setdefault(household_id, set()).add(status)
    members: dict[int, list[Member]] = {}
    for person in await Person.filter(household_id__in=household_ids).order_by("id"):
        members.setdefault(person.household_id, []).append(  # type: ignore[attr-defined]
            Member(person.name, person.phone or "", person.birth_year, person.home_bound)
        )
    behind = await _waiting_behind(round_, responses)
    rules = _alerting(defn)
    columns = FIXED_COLUMNS + defn.flat_columns()
    report = Report(round_, columns, [], defn, tz)
    responses.sort(key=lambda r: (r.household.building.number, r.household.floor, r.household.room))
    for response in responses:
        household = response.household
        address = (household.building.number, household.floor, household.room)
        report.members[address] = members.get(household.id, [])
        answers = response.answers or {}
        if any(truthy(rule.evaluate(answers)) for rule in rules if answers):
            report.positive.add(address)
        status = household_status(
            response.status,
            response.channel,
            first.get(f"response:{response.id}"),
            contact_states.get(household.id, set()),
        )
        fixed = [
            *address,
            status,
            response.channel or "",
            first.get(f"response:{response.id}", ""),
            response.answered_channel or "",
            "yes" if response.proxy else "",
            "yes" if response.needs_call else "",
            local_time(response.updated_at, tz),
            behind.get(household.id, ""),
        ]
        for answer_row in defn.answer_rows(answers):
            report.rows.append(fixed + [_cell(answer_row.get(c)) for c in defn.flat_columns()])
    return report


async def _waiting_behind(round_: Round, responses: list[Response]) -> dict[int, int]:
    """{household: the open round it answers now} for the households waiting for this round."""
    if round_.status != RoundStatus.OPEN:
        return {}
    pending = [
        r.household_id  # type: ignore[attr-defined]
        for r in responses
        if r.stage == ResponseStage.PENDING
    ]
    if not pending:
        return {}
    return {
        int(household_id): int(round_id)
        for household_id, round_id in await Response.filter(
            household_id__in=pending,
            stage=ResponseStage.ACTIVE,
            round__status=RoundStatus.OPEN,
        )
        .exclude(round_id=round_.id)
        .values_list("household_id", "round_id")
    }


# ---- the XLSX for people -------------------------------------------------------------------------
WORDS: dict[str, dict[str, str]] = {
    "building": {"zh-CN": "楼号", "en": "Building"},
    "floor": {"zh-CN": "楼层", "en": "Floor"},
    "room": {"zh-CN": "室号", "en": "Room"},
    "status": {"zh-CN": "状态", "en": "Status"},
    "channel": {"zh-CN": "发送渠道", "en": "Sent by"},
    "first_message": {"zh-CN": "首条消息", "en": "First message"},
    "answered_channel": {"zh-CN": "回复渠道", "en": "Answered by"},
    "proxy": {"zh-CN": "代填", "en": "Proxy"},
    "needs_call": {"zh-CN": "需电话联系", "en": "Needs a call"},
    "updated_at": {"zh-CN": "更新时间", "en": "Updated"},
    "waiting_behind": {"zh-CN": "排队", "en": "Waiting"},
    "behind_round": {"zh-CN": "排在第{round}轮之后", "en": "waiting behind round {round}"},
    "positive": {"zh-CN": "阳性", "en": "Positive"},
    "answered": {"zh-CN": "已填报", "en": "Answered"},
    "in_progress": {"zh-CN": "填报中", "en": "In progress"},
    "no_reply": {"zh-CN": "已发送，未回复", "en": "Sent, no reply yet"},
    "not_delivered": {"zh-CN": "未送达", "en": "Not delivered"},
    "opted_out": {"zh-CN": "已退订", "en": "Opted out"},
    "no_contact": {"zh-CN": "无联系方式", "en": "No contact"},
    "yes": {"zh-CN": "是", "en": "yes"},
    "no": {"zh-CN": "否", "en": "no"},
    "report_sheet": {"zh-CN": "结果", "en": "Results"},
    "call_sheet": {"zh-CN": "电话名单", "en": "Call list"},
    "name": {"zh-CN": "姓名", "en": "Name"},
    "phone": {"zh-CN": "电话", "en": "Phone"},
    "elderly": {"zh-CN": "老人(60+)", "en": "Elderly (60+)"},
    "home_bound": {"zh-CN": "行动不便", "en": "Home-bound"},
    "telegram": {"zh-CN": "Telegram", "en": "Telegram"},
    "sms": {"zh-CN": "短信", "en": "SMS"},
    "voice": {"zh-CN": "电话语音", "en": "Voice call"},
    "local": {"zh-CN": "模拟器", "en": "Simulator"},
}


def word(key: str, lang: str) -> str:
    entry = WORDS.get(key)
    return (entry.get(lang) or entry["en"]) if entry else key


def behind_round(round_id: Any, lang: str) -> str:
    """ "waiting behind round N" in ``lang`` ("" when the household is not waiting)."""
    if round_id in ("", None):
        return ""
    return word("behind_round", lang).format(round=round_id)


def _headers(defn: SurveyDefinition, lang: str) -> dict[str, str]:
    names: dict[str, str] = {}
    for question in defn.questions:
        names[question.name] = short_label(localize(question.label, lang))
        for item in question.questions or ():
            names[f"{question.name}.{item.name}"] = short_label(localize(item.label, lang))
        if question.questions:
            names[f"{question.name}.#"] = short_label(localize(question.label, lang)) + " #"
    return names


def _choices(defn: SurveyDefinition, lang: str) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for question in defn.questions:
        for q, path in [(question, question.name)] + [
            (item, f"{question.name}.{item.name}") for item in (question.questions or ())
        ]:
            if q.choices:
                out[path] = {c.value: localize(c.label, lang) for c in q.choices}
    return out


def _people_value(
    column: str, value: Any, lang: str, choices: Mapping[str, Mapping[str, str]]
) -> Any:
    if value in ("", None):
        return ""
    if column == "status" or column in ("channel", "answered_channel"):
        return word(str(value), lang)
    if value in ("yes", "no"):
        return word(value, lang)
    if column == "waiting_behind":
        return behind_round(value, lang)
    if column == "updated_at":
        return str(value)[:16].replace("T", " ")  # local time to the minute
    if column in choices:
        parts = str(value).split(";")
        return "、".join(choices[column].get(p, p) for p in parts)
    return value


def people_rows(report: Report, lang: str) -> tuple[list[str], list[list[Any]]]:
    """The report's rows for people: positives and needs-a-call first, words in ``lang``."""
    defn = report.definition
    headers = _headers(defn, lang) if defn else {}
    choices = _choices(defn, lang) if defn else {}
    columns = [word(c, lang) if c in WORDS else headers.get(c, c) for c in report.columns]
    columns.insert(4, word("positive", lang))

    def rank(row: list[Any]) -> tuple[int, int]:
        address = (row[0], row[1], row[2])
        return (0 if address in report.positive else 1, 0 if row[8] == "yes" else 1)

    # households keep their item rows together: sort by the household's first row
    groups: list[list[list[Any]]] = []
    for row in report.rows:
        if groups and groups[-1][0][:3] == row[:3]:
            groups[-1].append(row)
        else:
            groups.append([row])
    groups.sort(key=lambda rows: rank(rows[0]))
    out: list[list[Any]] = []
    for rows in groups:
        for row in rows:
            values = [
                _people_value(c, v, lang, choices) for c, v in zip(report.columns, row, strict=True)
            ]
            flag = word("yes", lang) if tuple(row[:3]) in report.positive else ""
            values.insert(4, flag)
            out.append(values)
    return columns, out


def call_list(report: Report, lang: str, year: int) -> tuple[list[str], list[list[Any]]]:
    """Households that did not answer or could not be reached, one row per member."""
    columns = [
        word(k, lang)
        for k in ("building", "floor", "room", "status", "name", "phone", "elderly", "home_bound")
    ]
    seen: set[tuple[int, int, str]] = set()
    rows: list[list[Any]] = []
    for row in report.rows:
        address = (row[0], row[1], row[2])
        if address in seen or row[3] not in CALL_STATUSES:
            continue
        seen.add(address)
        for member in report.members.get(address) or [Member("", "", None, False)]:
            elderly = member.birth_year is not None and year - member.birth_year >= ELDERLY_AGE
            rows.append(
                [
                    *address,
                    word(row[3], lang),
                    member.name,
                    member.phone,
                    word("yes", lang) if elderly else "",
                    word("yes", lang) if member.home_bound else "",
                ]
            )
    return columns, rows


def write_people_xlsx(report: Report, out: Path | io.BytesIO, lang: str) -> None:
    """The committee's XLSX: results (frozen header, filters, widths) and the call list."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    year = report.round.opened_at.astimezone(report.tz).year
    sheets = [
        (word("report_sheet", lang), *people_rows(report, lang)),
        (word("call_sheet", lang), *call_list(report, lang, year)),
    ]
    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    for title, columns, rows in sheets:
        sheet = workbook.create_sheet(title=title[:31])
        for r, values in enumerate([columns, *rows], start=1):
            for k, value in enumerate(values, start=1):
                cell = sheet.cell(row=r, column=k, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"  # text, never a formula (see config/exports.py)
        for number, column in enumerate(columns, start=1):
            longest = max([len(str(column))] + [len(str(r[number - 1])) for r in rows[:500]])
            sheet.column_dimensions[get_column_letter(number)].width = min(40, max(6, longest + 2))
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = sheet.dimensions
    workbook.save(out)


# ---- what the web pages and the router ask (kept together so the gateways hold no query) ----
async def rounds_newest_first() -> list[Round]:
    return list(await Round.all().order_by("-id"))


async def round_by_id(round_id: int) -> Round | None:
    return await Round.get_or_none(id=round_id)


async def round_signature(round_id: int) -> object:
    """A cheap value that changes when the round's report may have: its responses' stages and
    newest change, and every contact's newest change and opted-out count."""
    responses = Response.filter(round_id=round_id)
    stages = (
        await responses.annotate(n=Count("id"))
        .group_by("status", "stage")
        .values_list("status", "stage", "n")
    )
    newest = await responses.order_by("-updated_at").first().values_list("updated_at")
    contacts = await Contact.all().order_by("-updated_at").first().values_list("updated_at")
    opted_out = await Contact.filter(status="opted_out").count()
    return (sorted(stages), newest, contacts, opted_out)


async def households_in_open_survey(household_ids: list[int]) -> set[int]:
    """Of these households, those answering a survey of an open round now."""
    return set(
        await Response.filter(  # type: ignore[arg-type]
            household_id__in=household_ids, stage="active", round__status="open"
        ).values_list("household_id", flat=True)
    )


__all__ = [
    "FIXED_COLUMNS",
    "REPORT_STATUSES",
    "Report",
    "behind_round",
    "build_report",
    "call_list",
    "household_status",
    "people_rows",
    "to_csv",
    "write_csv",
    "write_people_xlsx",
    "write_xlsx",
]
