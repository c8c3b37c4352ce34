"""`louzhang import template`: an empty residents file a committee can fill in.

The header names each column in Chinese and English (``楼号/building``); the importer reads
either language or both. Two example rows show the accepted forms (a room written ``1203室``,
a phone number with spaces, a channel in any case).
"""

from __future__ import annotations

from pathlib import Path

from config.exports import write_csv, write_xlsx

HEADER = [
    "楼号/building",
    "楼层/floor",
    "室号/room",
    "姓名/name",
    "电话/phone",
    "出生年份/birth_year",
    "渠道/channel",
    "语言/language",
    "行动不便/home_bound",
    "备注/notes",
]
EXAMPLES: list[list[object]] = [
    [7, 12, "1203室", "张伯", "136 0013 6000", 1942, "sms", "zh-CN", "yes", "独居 lives alone"],
    [7, 12, "1204", "Li Ming", "13800138000", 1985, "Telegram", "en", "", ""],
]


def write_template(path: Path) -> None:
    """XLSX when the name ends in .xlsx, else CSV (UTF-8 with a BOM, as Excel saves it)."""
    if path.suffix.lower() == ".xlsx":
        write_xlsx(path, HEADER, EXAMPLES, "residents")
    else:
        write_csv(path, HEADER, EXAMPLES)
