"""What the resident import says about a file, in the staff language (zh-CN and en).

Each :class:`~estate.importing.residents.Problem` carries a ``kind`` (a key below) and its
values; :func:`problem_text` writes it in either language. Reasons raised by the address and
phone parsers (plain English ``ValueError`` messages, used elsewhere too) are translated by
:func:`reason_text`; an unknown reason stays as it is. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from config.i18n import Catalog, text

IMPORT_TEXTS: Catalog = {
    # ---- how a problem is written ----
    "line": {"zh-CN": "第 {line} 行：", "en": "line {line}: "},
    "named_value": {"zh-CN": "{named} '{value}'：{message}", "en": "{named} '{value}': {message}"},
    "named": {"zh-CN": "{named}：{message}", "en": "{named}: {message}"},
    "head": {
        "zh-CN": "{name}{count} 处问题；没有导入任何内容",
        "en": "{name}{count} problems; nothing was imported",
    },
    "head_one": {
        "zh-CN": "{name}{count} 处问题；没有导入任何内容",
        "en": "{name}{count} problem; nothing was imported",
    },
    "list_sep": {"zh-CN": "、", "en": ", "},
    # ---- the file ----
    "file_not_found": {"zh-CN": "找不到文件：{path}", "en": "file not found: {path}"},
    "is_folder": {"zh-CN": "{path} 是文件夹，不是文件", "en": "{path} is a folder, not a file"},
    "xls": {
        "zh-CN": "不支持旧版 Excel .xls 文件：请另存为 .xlsx 或 .csv",
        "en": "old Excel .xls files are not supported: save as .xlsx or .csv",
    },
    "unsupported_type": {
        "zh-CN": "不支持的文件类型 '{suffix}'：请用 .csv 或 .xlsx",
        "en": "unsupported file type '{suffix}': use .csv or .xlsx",
    },
    "empty_file": {"zh-CN": "文件是空的", "en": "the file is empty"},
    "header_only": {
        "zh-CN": "文件只有表头，下面没有住户",
        "en": "the file has a header but no residents below it",
    },
    "csv_line": {
        "zh-CN": "这一行 CSV 读不出来（{error}）：请检查引号",
        "en": "cannot read this CSV line ({error}): check its quotes",
    },
    "not_unicode": {
        "zh-CN": "文件标明是 Unicode 编码，实际不是（{reason}）",
        "en": "the file says it is Unicode but is not ({reason})",
    },
    "xlsx_named_csv": {
        "zh-CN": "这是一个 Excel 工作簿，文件名却是 .csv：请改名为 .xlsx",
        "en": "this is an Excel workbook named .csv: rename it to .xlsx",
    },
    "nul_bytes": {
        "zh-CN": "不是文本文件（含有 NUL 字节）",
        "en": "not a text file (it holds NUL bytes)",
    },
    "encoding": {
        "zh-CN": "文字编码既不是 UTF-8 也不是 GB18030/GBK：请另存为“CSV UTF-8”",
        "en": "the text is neither UTF-8 nor GB18030/GBK: save it as CSV UTF-8",
    },
    "bad_xlsx": {
        "zh-CN": "无法读取的 .xlsx 工作簿（{error}）",
        "en": "not a readable .xlsx workbook ({error})",
    },
    # ---- the header ----
    "header_unknown": {"zh-CN": "不认识的列 {cells}", "en": "unknown columns {cells}"},
    "header_missing": {"zh-CN": "缺少列 {columns}", "en": "missing columns {columns}"},
    "header_twice": {
        "zh-CN": "{column} 列出现了两次（{cells}）",
        "en": "column {column} given twice ({cells})",
    },
    "header_hint": {
        "zh-CN": "表头应为 {chinese}（或 {columns}）；{required} 必填",
        "en": "expected {columns} (or {chinese}); {required} are required",
    },
    "header_first_line": {
        "zh-CN": "；第一行必须是表头",
        "en": "; the first line must be the header",
    },
    "header_parts_sep": {"zh-CN": "；", "en": "; "},
    "header_problem": {"zh-CN": "{parts}：{hint}", "en": "{parts}: {hint}"},
    # ---- a row ----
    "empty_required": {"zh-CN": "为空，但必须填写", "en": "empty, but required"},
    "channel_needs_phone": {
        "zh-CN": "为空，但渠道 {channel} 需要电话号码",
        "en": "empty, but channel {channel} needs a phone number",
    },
    "channel_needs_phone_telegram": {
        "zh-CN": "为空，但渠道 telegram 需要电话号码（住户在 Telegram 里分享这个号码来登记）",
        "en": "empty, but channel telegram needs a phone number (residents enrol in Telegram "
        "by sharing it)",
    },
    "stray_cell": {
        "zh-CN": "'{cell}' 所在的列没有可识别的表头（多了一个分隔符？）",
        "en": "'{cell}' is in a column without a known header (a stray delimiter?)",
    },
    "room_no_floor": {
        "zh-CN": "号码里看不出楼层（请填写楼层一列）",
        "en": "has no floor in its number (fill in the floor column)",
    },
    "floor_mismatch": {
        "zh-CN": "{room} 室在 {room_floor} 层，但楼层一列写的是 {floor}",
        "en": "room {room} is on floor {room_floor}, but floor says {floor}",
    },
    "name_control": {
        "zh-CN": "含有换行或控制字符",
        "en": "contains a line break or control character",
    },
    "name_too_long": {"zh-CN": "超过 {max} 个字", "en": "longer than {max} characters"},
    "birth_year": {
        "zh-CN": "必须是 1900 到 {year} 之间的四位年份",
        "en": "must be a 4-digit year between 1900 and {year}",
    },
    "duplicate_person": {
        "zh-CN": "重复的人：{building}-{room} 的 {name} 在第 {first} 行已经有了",
        "en": "duplicate person: {name} in {building}-{room} is also on line {first}",
    },
    "floor_conflict": {
        "zh-CN": "{building}-{room} 在第 {first} 行是 {known} 层，这里是 {floor} 层",
        "en": "{building}-{room} is on floor {known} on line {first}, here {floor}",
    },
    "landline_sms": {
        "zh-CN": "固定电话收不到短信：请把渠道设为 voice（语音），或填写手机号",
        "en": "a landline cannot receive SMS: set channel voice or give a mobile number",
    },
    "phone_shared": {
        "zh-CN": "第 {first} 行的 {building}-{room} 也填了这个号码",
        "en": "also given for {building}-{room} on line {first}",
    },
    "must_channel": {
        "zh-CN": "必须是 telegram、sms 或 voice（电报、短信、语音）",
        "en": "must be telegram, sms or voice",
    },
    "must_language": {
        "zh-CN": "必须是 zh-CN 或 en（中文、英文）",
        "en": "must be zh-CN or en",
    },
    "must_yes_no": {"zh-CN": "必须是 是/否（yes/no、1/0）", "en": "must be yes or no (是/否, 1/0)"},
}

#: The Chinese header of each column (as in the template), for messages in Chinese.
CHINESE_HEADER = {
    "building": "楼号",
    "floor": "楼层",
    "room": "室号",
    "name": "姓名",
    "phone": "电话",
    "birth_year": "出生年份",
    "channel": "渠道",
    "language": "语言",
    "home_bound": "行动不便",
    "notes": "备注",
    "header": "表头",
}

_NOT_VALID = "不是有效的电话号码"

#: Reasons of :mod:`estate.addresses` and :mod:`estate.phones`, in Chinese.
_REASONS_ZH: Sequence[tuple[re.Pattern[str], str]] = [
    (re.compile(pattern), zh)
    for pattern, zh in (
        (r"empty", "为空"),
        (
            r"a room is written as digits only, like 1203 \(a dash is ambiguous: "
            r"7-1203 may mean building 7, room 1203\)",
            "室号只写数字，如 1203（带横线有歧义：7-1203 可能是 7 号楼 1203 室）",
        ),
        (r"a room is written as digits, like 1203 or 1203室", "室号要写成数字，如 1203 或 1203室"),
        (r"a room number cannot be 0", "室号不能是 0"),
        (r"a building is written as a number, like 7 or 7号楼", "楼号要写成数字，如 7 或 7号楼"),
        (r"a building number is between 1 and (\d+)", r"楼号在 1 到 \1 之间"),
        (r"a floor is written as a number, like 12 or 12层", "楼层要写成数字，如 12 或 12层"),
        (r"a floor is between 1 and (\d+)", r"楼层在 1 到 \1 之间"),
        (
            r"written in scientific notation, so its digits are lost .*",
            "被写成了科学计数法，数字已经丢失（请在 Excel 里把这一列设为“文本”，再重新输入号码）",
        ),
        (
            r"contains characters other than digits, spaces, .*",
            "含有数字、空格、+、-、.、() 以外的字符",
        ),
        (r"not a valid phone number \(too short\)", _NOT_VALID + "（太短）"),
        (r"not a valid phone number \(too long\)", _NOT_VALID + "（太长）"),
        (r"not a valid phone number \(wrong number of digits\)", _NOT_VALID + "（位数不对）"),
        (r"not a valid phone number \(unknown country code\)", _NOT_VALID + "（国家代码不对）"),
        (
            r"not a valid phone number \(a mainland mobile number has 11 digits, "
            r"this one has (\d+)\)",
            _NOT_VALID + r"（大陆手机号是 11 位，这个是 \1 位）",
        ),
        (
            r"not a valid phone number \(a landline needs its area code, e\.g\. 021\)",
            _NOT_VALID + "（固定电话要带区号，如 021）",
        ),
        (r"not a valid phone number", _NOT_VALID),
        (r"a toll-free service number", "是免费服务号码"),
        (r"a premium-rate service number", "是付费服务号码"),
        (r"a shared-cost service number \(400/800\)", "是 400/800 服务号码"),
        (r"a company switchboard number", "是单位总机号码"),
        (r"a pager number", "是寻呼机号码"),
        (r"a voicemail access number", "是语音信箱号码"),
        (r"not a personal phone number", "不是个人电话号码"),
    )
]


def say(key: str, lang: str, **values: Any) -> str:
    return text(IMPORT_TEXTS, key, lang, **values)


def reason_text(message: str, lang: str) -> str:
    """A parser's English reason in ``lang``; unknown reasons stay as they are."""
    if lang == "en":
        return message
    for pattern, zh in _REASONS_ZH:
        if pattern.fullmatch(message):
            return pattern.sub(zh, message)
    return message


def problem_text(kind: str, params: Mapping[str, Any], lang: str) -> str:
    """The message of a problem of ``kind`` in ``lang``."""
    if kind == "header":
        return _header_text(params, lang)
    return say(kind, lang, **params)


def _header_text(params: Mapping[str, Any], lang: str) -> str:
    """Unknown, missing and repeated columns, then what the header should be."""

    def column_name(column: str) -> str:
        return CHINESE_HEADER.get(column, column) if lang == "zh-CN" else column

    sep = say("list_sep", lang)
    quoted = ", ".join if lang == "en" else sep.join
    parts = []
    if params.get("unknown"):
        cells = quoted(f"'{cell}'" for cell in params["unknown"])
        parts.append(say("header_unknown", lang, cells=cells))
    if params.get("missing"):
        columns = (", " if lang == "en" else sep).join(map(column_name, params["missing"]))
        parts.append(say("header_missing", lang, columns=columns))
    for column, cells in params.get("twice", {}).items():
        written = ", ".join(f"'{c}'" for c in cells)
        parts.append(say("header_twice", lang, column=column_name(column), cells=written))
    hint = say(
        "header_hint",
        lang,
        columns=", ".join(params["columns"]),
        chinese=params["chinese"],
        required=(", " if lang == "en" else sep).join(map(column_name, params["required"])),
    )
    if params.get("first_line"):
        hint += say("header_first_line", lang)
    return say("header_problem", lang, parts=say("header_parts_sep", lang).join(parts), hint=hint)
