"""Import problems speak the staff language (zh-CN and en) and name each column by the header the
file used (室号, not room): the committee fixes the file it wrote.

- in Chinese a column without a header of the file's own is named by its Chinese name (室号), and
  a column the importer has no Chinese name for keeps its own name.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from config.i18n import check_catalog
from estate.importing.residents import (
    ImportProblems,
    ImportReport,
    Problem,
    parse_residents,
    read_table,
)
from estate.importing.texts import IMPORT_TEXTS
from tests.estate.helpers import TODAY

CHINESE = (
    "\ufeff楼号,楼层,室号,姓名,电话,出生年份,渠道,语言,行动不便\r\n"
    "x,,1203,王芳,13800138000,1950,短信,中文,否\r\n"  # 2: building
    "3,,7-1203,李强,13900139000,1950,短信,中文,否\r\n"  # 3: room with a dash
    "3,5,1203,张伯,13600136000,1950,短信,中文,否\r\n"  # 4: floor says 5, room says 12
    "3,,1204,赵六,12345,1950,短信,中文,否\r\n"  # 5: phone too short
    "3,,1205,钱七,13700137000,1850,短信,中文,否\r\n"  # 6: birth year
    "3,,1206,孙八,13500135000,1950,飞鸽,中文,否\r\n"  # 7: channel
    "3,,1207,周九,13300133000,1950,短信,法语,否\r\n"  # 8: language
    "3,,1208,吴十,13200132000,1950,短信,中文,也许\r\n"  # 9: home-bound
    "3,,1209,郑一,,1950,短信,中文,否\r\n"  # 10: sms without a phone
    "3,,1210,,13100131000,1950,短信,中文,否\r\n"  # 11: no name
    "3,,1211,王二,13000130000,1950,短信,中文,否,多余\r\n"  # 12: a stray cell
    "3,,1212,冯三,13800138001,1950,短信,中文,否\r\n"
    "3,,1212,冯三,13800138002,1950,短信,中文,否\r\n"  # 14: the same person again
)

WORDS = {
    "zh-CN": [
        "第 2 行：楼号 'x'：楼号要写成数字，如 7 或 7号楼",
        "第 3 行：室号 '7-1203'：室号只写数字",
        "第 4 行：楼层 '5'：1203 室在 12 层，但楼层一列写的是 5",
        "第 5 行：电话 '12345'：不是有效的电话号码",
        "第 6 行：出生年份 '1850'：必须是 1900 到 2022 之间的四位年份",
        "第 7 行：渠道 '飞鸽'：必须是 telegram、sms 或 voice",
        "第 8 行：语言 '法语'：必须是 zh-CN 或 en",
        "第 9 行：行动不便 '也许'：必须是 是/否",
        "第 10 行：电话：为空，但渠道 sms 需要电话号码",
        "第 11 行：姓名：为空，但必须填写",
        "第 12 行：'多余' 所在的列没有可识别的表头",
        "第 14 行：姓名：重复的人：3-1212 的 冯三 在第 13 行已经有了",
        "12 处问题；没有导入任何内容",
    ],
    "en": [
        "line 2: 楼号 'x': a building is written as a number, like 7 or 7号楼",
        "line 3: 室号 '7-1203': a room is written as digits only",
        "line 4: 楼层 '5': room 1203 is on floor 12, but floor says 5",
        "line 5: 电话 '12345': not a valid phone number",
        "line 6: 出生年份 '1850': must be a 4-digit year between 1900 and 2022",
        "line 7: 渠道 '飞鸽': must be telegram, sms or voice",
        "line 8: 语言 '法语': must be zh-CN or en",
        "line 9: 行动不便 '也许': must be yes or no",
        "line 10: 电话: empty, but channel sms needs a phone number",
        "line 11: 姓名: empty, but required",
        "line 12: '多余' is in a column without a known header",
        "line 14: 姓名: duplicate person: 冯三 in 3-1212 is also on line 13",
        "12 problems; nothing was imported",
    ],
}


def rejected(tmp_path: Path, text: str, name: str = "residents.csv") -> ImportProblems:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    try:
        table = read_table(path)
    except ImportProblems as exc:
        return exc
    parsed = parse_residents(table, today=TODAY)
    assert parsed.problems
    return ImportProblems(parsed.problems, path)


def test_every_import_text_exists_in_both_languages() -> None:
    assert check_catalog(IMPORT_TEXTS) == []


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_each_kind_of_row_problem_in_the_staff_language(tmp_path: Path, language: str) -> None:
    described = rejected(tmp_path, CHINESE).describe(language)
    for words in WORDS[language]:
        assert words in described, (words, described)
    if language == "zh-CN":
        # nothing left in English but the file's own words and the allowed values
        assert not re.search(r"\b(line|empty|must|room|floor|phone)\b", described), described


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("zh-CN", ("第 1 行：表头：不认识的列 'Zimmer'", "缺少列 室号", "必填")),
        ("en", ("line 1: header: unknown columns 'Zimmer'", "missing columns room", "required")),
    ],
)
def test_a_wrong_header_in_the_staff_language(
    tmp_path: Path, language: str, words: tuple[str, ...]
) -> None:
    described = rejected(tmp_path, "楼号,Zimmer,姓名\r\n3,1203,王芳\r\n").describe(language)
    assert all(w in described for w in words), described


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("zh-CN", ("residents.xls：1 处问题；没有导入任何内容", "不支持旧版 Excel .xls 文件")),
        ("en", ("residents.xls: 1 problem; nothing was imported", "old Excel .xls files")),
    ],
)
def test_a_file_that_cannot_be_read_in_the_staff_language(
    tmp_path: Path, language: str, words: tuple[str, ...]
) -> None:
    described = rejected(tmp_path, "x", name="residents.xls").describe(language)
    assert all(w in described for w in words), described


@pytest.mark.parametrize(
    ("language", "warning"),
    [
        ("zh-CN", "第 3 行：手机 '+86 138****8000'：第 2 行的 3-1203 也填了这个号码"),
        ("en", "line 3: 手机 '+86 138****8000': also given for 3-1203 on line 2"),
    ],
)
def test_warnings_in_the_summary_in_the_staff_language(
    tmp_path: Path, language: str, warning: str
) -> None:
    path = tmp_path / "r.csv"
    path.write_text("楼号,室号,姓名,手机\n3,1203,王芳,13800138000\n3,502,张伯,13800138000\n")
    parsed = parse_residents(read_table(path), today=TODAY)
    assert not parsed.problems
    report = ImportReport(estate="default", rows=2, dry_run=True, warnings=parsed.warnings)
    assert warning in report.summary(language), report.summary(language)


@pytest.mark.parametrize(
    ("problem", "chinese"),
    [
        (Problem(3, "room", "bad", "x"), "第 3 行：室号 'x'：bad"),
        (Problem(3, "unit", "bad", "x"), "第 3 行：unit 'x'：bad"),
        (Problem(3, "unit", "bad", "x", label="单元"), "第 3 行：单元 'x'：bad"),
        (Problem(None, "unit", "bad"), "unit：bad"),
    ],
)
def test_a_column_is_named_in_chinese_unless_it_has_no_chinese_name(
    problem: Problem, chinese: str
) -> None:
    assert problem.render("zh-CN") == chinese
