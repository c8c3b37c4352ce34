"""Round reports: the CSV for machines, the XLSX for people who phone people.

Promises:
- each household's status is one of answered, in_progress, no_reply (sent, nothing back yet),
  not_delivered (refused or unreachable), opted_out, no_contact - never "not reached" for a
  message that went out;
- CSV times are local (LOUZHANG_TIMEZONE) with their offset; the first columns are
  building, floor, room, status;
- the XLSX speaks the staff language, puts positive households and those needing a call first,
  has a frozen header row with filters, and a call-list sheet with the members' names, phones
  and elderly/home-bound flags of the households that did not answer or could not be reached;
- a report limited to a staff member's buildings holds nothing else.
"""

from __future__ import annotations

import io
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from config.clock import FakeClock
from estate.importing.residents import import_residents
from estate.models import Contact
from surveys.models import Response
from surveys.report import build_report, household_status, to_csv, write_people_xlsx
from surveys.runtime import SurveyRuntime
from tests.conftest import make_settings


@pytest.mark.parametrize(
    ("response", "channel", "first", "contacts", "expected"),
    [
        ("answered", "sms", "delivered", {"active"}, "answered"),
        ("in_progress", "sms", "delivered", {"active"}, "in_progress"),
        ("not_reached", "sms", "delivered", {"active"}, "no_reply"),
        ("not_reached", "sms", "sent", {"active"}, "no_reply"),
        ("not_reached", "sms", "queued", {"active"}, "no_reply"),
        ("not_reached", "sms", None, {"active"}, "no_reply"),  # waiting behind another round
        ("not_reached", "sms", "failed", {"active"}, "not_delivered"),
        ("not_reached", "sms", "undelivered", {"active"}, "not_delivered"),
        ("not_reached", "sms", "sent", {"unreachable"}, "not_delivered"),
        ("not_reached", "sms", "failed", {"opted_out"}, "opted_out"),
        ("in_progress", "sms", "delivered", {"opted_out"}, "opted_out"),
        ("in_progress", "sms", "delivered", {"opted_out", "active"}, "in_progress"),
        ("not_reached", None, None, set(), "no_contact"),
        ("not_reached", None, None, {"unreachable"}, "no_contact"),
    ],
)
def test_household_status(
    response: str, channel: str | None, first: str | None, contacts: set[str], expected: str
) -> None:
    assert household_status(response, channel, first, contacts) == expected


PEOPLE = (
    "building,floor,room,name,phone,birth_year,channel,home_bound\n"
    "7,12,1201,甲,13700137001,1980,sms,\n"
    "7,12,1202,乙,13700137002,1945,sms,yes\n"
    "7,12,1203,丙,13700137003,1990,sms,\n"
    "7,12,1204,丁,,1950,,\n"
    "8,1,101,戊,13700137005,1970,sms,\n"
)


async def _round(tmp_path: Path) -> int:
    source = tmp_path / "people.csv"
    source.write_text(PEOPLE, encoding="utf-8")
    await import_residents(source, estate_name="e", dry_run=False, region="CN")
    runtime = SurveyRuntime(clock=FakeClock(), settings=make_settings())
    opened = await runtime.open_round("antigen", created_by="test")
    rid = opened.round.id
    done = {"tested_today": "yes", "tested": 2, "positive": 0}
    await Response.filter(round_id=rid, household__room="1201").update(
        status="answered", answers=done, needs_call=True
    )
    await Response.filter(round_id=rid, household__room="1203").update(
        status="answered", answers={**done, "positive": 1}
    )
    await Contact.filter(household__room="1202").update(status="opted_out")
    return rid


async def test_csv_statuses_and_local_times(db: str, tmp_path: Path) -> None:
    rid = await _round(tmp_path)
    report = await build_report(rid, tz=ZoneInfo("Asia/Shanghai"))
    lines = to_csv(report.columns, report.rows).splitlines()
    assert lines[0].startswith("building,floor,room,status,")
    status = {row[2]: row[3] for row in report.rows}
    assert status == {
        "1201": "answered",
        "1202": "opted_out",
        "1203": "answered",
        "1204": "no_contact",
        "101": "no_reply",
    }
    updated = report.rows[0][report.columns.index("updated_at")]
    assert updated.endswith("+08:00") and "." not in updated  # local, to the second


async def test_people_xlsx_positives_first_and_a_call_list(db: str, tmp_path: Path) -> None:
    rid = await _round(tmp_path)
    report = await build_report(rid, tz=ZoneInfo("Asia/Shanghai"))
    buffer = io.BytesIO()
    write_people_xlsx(report, buffer, "zh-CN")
    buffer.seek(0)
    book = load_workbook(buffer)
    results, calls = book.worksheets
    assert (results.title, calls.title) == ("结果", "电话名单")
    rows = list(results.iter_rows(values_only=True))
    assert rows[0][:5] == ("楼号", "楼层", "室号", "状态", "阳性")
    assert [r[2] for r in rows[1:3]] == ["1203", "1201"]  # positive, then needs a call
    assert rows[1][4] == "是" and rows[1][3] == "已填报"
    assert results.freeze_panes == "A2" and results.auto_filter.ref
    assert all(":" not in str(r[-1]) or len(str(r[-1])) <= 16 for r in rows[1:])
    call_rows = list(calls.iter_rows(values_only=True))
    assert call_rows[0] == ("楼号", "楼层", "室号", "状态", "姓名", "电话", "老人(60+)", "行动不便")
    assert sorted(r[2] for r in call_rows[1:]) == ["101", "1204"]
    no_phone = next(r for r in call_rows[1:] if r[2] == "1204")
    assert no_phone[3] == "无联系方式" and no_phone[6] == "是"  # born 1950: elderly


async def test_a_report_limited_to_buildings_holds_nothing_else(db: str, tmp_path: Path) -> None:
    rid = await _round(tmp_path)
    report = await build_report(rid, buildings=[8])
    assert {row[0] for row in report.rows} == {8}
    assert set(report.members) == {(8, 1, "101")}
