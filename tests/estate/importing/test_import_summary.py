"""The summary staff read after an import (ImportReport.summary), word for word in each language.
The promises:

- the head line names the file (when there is one), the row count and the estate, and says
  "(new estate)" / "（新小区）" when the import made the estate;
- a created line and an updated line give the four counts (buildings, households, people,
  contacts); on a dry run they say "would create" / "would update" (将新建 / 将更新);
- a dry run ends with "nothing was written" (预览：没有写入任何内容); a real import that changed
  nothing says the registry already matches the file; a real import that changed something says
  neither;
- warnings follow, counted, one a line, each in the staff language with its file line;
- a language other than zh-CN gets the English summary.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from estate.importing.residents import ImportReport, Problem

LANDLINE = Problem(5, "phone", "", "021****5678", kind="landline_sms")
SHARED = Problem(
    3,
    "phone",
    "",
    "+86 138****8000",
    kind="phone_shared",
    params={"building": 3, "room": "1203", "first": 2},
)


def _dry_run_of_a_new_estate() -> ImportReport:
    return ImportReport(
        estate="阳光小区",
        rows=6,
        dry_run=True,
        path=Path("/data/residents.csv"),
        estate_created=True,
        buildings_created=2,
        households_created=4,
        people_created=6,
        contacts_created=5,
    )


def _real_run_with_updates() -> ImportReport:
    return ImportReport(
        estate="default",
        rows=7,
        buildings_created=1,
        households_created=2,
        people_created=3,
        contacts_created=4,
        buildings_updated=5,
        households_updated=6,
        people_updated=8,
        contacts_updated=9,
        warnings=[LANDLINE, SHARED],
    )


def test_a_dry_run_of_a_new_estate_in_english() -> None:
    assert _dry_run_of_a_new_estate().summary("en").splitlines() == [
        "residents.csv: 6 rows for estate '阳光小区' (new estate)",
        "  would create: 2 buildings, 4 households, 6 people, 5 contacts",
        "  would update: 0 buildings, 0 households, 0 people, 0 contacts",
        "  dry run: nothing was written",
    ]


def test_a_dry_run_of_a_new_estate_in_chinese() -> None:
    assert _dry_run_of_a_new_estate().summary("zh-CN").splitlines() == [
        "residents.csv：6 行，小区“阳光小区”（新小区）",
        "  将新建：2 栋楼，4 户，6 人，5 个联系方式",
        "  将更新：0 栋楼，0 户，0 人，0 个联系方式",
        "  预览：没有写入任何内容",
    ]


def test_a_real_import_with_changes_and_warnings_in_english() -> None:
    assert _real_run_with_updates().summary("en").splitlines() == [
        "7 rows for estate 'default'",
        "  created: 1 buildings, 2 households, 3 people, 4 contacts",
        "  updated: 5 buildings, 6 households, 8 people, 9 contacts",
        "  2 warnings:",
        "    line 5: phone '021****5678': a landline cannot receive SMS: set channel voice or give"
        " a mobile number",
        "    line 3: phone '+86 138****8000': also given for 3-1203 on line 2",
    ]


def test_a_real_import_with_changes_and_warnings_in_chinese() -> None:
    assert _real_run_with_updates().summary("zh-CN").splitlines() == [
        "7 行，小区“default”",
        "  新建：1 栋楼，2 户，3 人，4 个联系方式",
        "  更新：5 栋楼，6 户，8 人，9 个联系方式",
        "  2 条提醒：",
        "    第 5 行：电话 '021****5678'：固定电话收不到短信：请把渠道设为 voice（语音），或填写手机号",
        "    第 3 行：电话 '+86 138****8000'：第 2 行的 3-1203 也填了这个号码",
    ]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            [
                "r.xlsx: 3 rows for estate 'default'",
                "  created: 0 buildings, 0 households, 0 people, 0 contacts",
                "  updated: 0 buildings, 0 households, 0 people, 0 contacts",
                "  nothing changed: the registry already matches the file",
            ],
        ),
        (
            "zh-CN",
            [
                "r.xlsx：3 行，小区“default”",
                "  新建：0 栋楼，0 户，0 人，0 个联系方式",
                "  更新：0 栋楼，0 户，0 人，0 个联系方式",
                "  没有变化：登记信息已与文件一致",
            ],
        ),
    ],
)
def test_a_real_import_that_changed_nothing_says_so(language: str, expected: list[str]) -> None:
    report = ImportReport(estate="default", rows=3, path=Path("r.xlsx"))
    assert report.summary(language).splitlines() == expected


def test_a_dry_run_that_would_change_nothing_is_still_a_dry_run() -> None:
    report = ImportReport(estate="default", rows=3, dry_run=True, warnings=[LANDLINE])
    assert report.summary().splitlines()[3:] == [
        "  dry run: nothing was written",
        "  1 warnings:",
        "    line 5: phone '021****5678': a landline cannot receive SMS: set channel voice or give"
        " a mobile number",
    ]
    assert report.summary("zh-CN").splitlines()[3:] == [
        "  预览：没有写入任何内容",
        "  1 条提醒：",
        "    第 5 行：电话 '021****5678'：固定电话收不到短信：请把渠道设为 voice（语音），或填写手机号",
    ]


def test_a_language_other_than_chinese_gets_english() -> None:
    report = _dry_run_of_a_new_estate()
    assert report.summary("fr") == report.summary("en") == report.summary()


def test_a_warning_names_its_column_by_the_files_header() -> None:
    labelled = Problem(4, "phone", "x", "13800138000", label="手机", kind="landline_sms")
    report = ImportReport(estate="e", rows=1, dry_run=True, warnings=[labelled])
    assert report.summary("zh-CN").splitlines()[-1] == (
        "    第 4 行：手机 '13800138000'：固定电话收不到短信：请把渠道设为 voice（语音），或填写手机号"
    )
