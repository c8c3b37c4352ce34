"""Reading and checking resident files, without a database: every problem, by file line.

- a workbook that cannot be opened is refused naming the file and the error, in either language;
- a formula cell is read as the value Excel saved with it, never as the formula;
- a file refused as a whole names the file (and a missing one its folder), with the reason;
- a macro workbook (.xlsm) reads like an .xlsx; old Mac line ends (CR) read, and a quoted cell's
  own line breaks are kept as written;
- the delimiter is a comma, semicolon or tab, never a letter of the header;
- the bilingual template header (楼号/building) is understood; a header cell naming two columns
  is unknown, a blank one between columns is skipped; an unknown column alone is a problem, and
  the "first line must be the header" hint only comes when unknown cells outnumber known ones;
- a refused header gives no rows and no warnings; a problem names its column by the file's
  header with its spaces tidied ("Birth Year"); a refused name is shown in its problem;
- phone numbers without +country are read in the region the import is asked for;
- rows whose building is unreadable are not compared with each other as duplicates;
- the import's "today" is the committee's day (LOUZHANG_TIMEZONE), not the machine's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from estate.importing.residents import (
    ImportProblems,
    Problem,
    ResidentRow,
    parse_residents,
    read_table,
)
from tests.estate.helpers import TODAY

HEADER = "building,floor,room,name,phone,birth_year,channel,language,home_bound,notes"


def write(tmp_path: Path, text: str, *, name: str = "r.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def check(path: Path) -> tuple[list[ResidentRow], list[Problem]]:
    parsed = parse_residents(read_table(path), today=TODAY)
    return parsed.rows, parsed.problems


def problems_of(path: Path) -> list[Problem]:
    try:
        rows, problems = check(path)
    except ImportProblems as exc:
        return exc.problems
    assert not rows or problems
    return problems


def test_english_header_full_row(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"{HEADER}\n7,12,1203,王小明,138 0013 8000,1950,SMS,zh,是,needs glasses\n",
    )
    rows, problems = check(path)
    assert problems == []
    assert rows == [
        ResidentRow(
            line=2,
            building=7,
            floor=12,
            room="1203",
            name="王小明",
            phone="+8613800138000",
            birth_year=1950,
            channel="sms",
            language="zh-CN",
            home_bound=True,
            notes="needs glasses",
        )
    ]


@pytest.mark.parametrize(
    "header",
    [
        "楼号,楼层,室号,姓名,电话,出生年份,渠道,语言,行动不便,备注",
        "楼号,楼层,房号,姓名,手机,出生年份,渠道,语言,居家,备注",
        " Building , FLOOR ,Room,Name,Phone,Birth Year,Channel,Language,Home-Bound,Notes",
    ],
)
def test_header_spellings(tmp_path: Path, header: str) -> None:
    path = write(tmp_path, f"{header}\n7号楼,12层,1203室,王小明,13800138000,1950,telegram,en,否,\n")
    rows, problems = check(path)
    assert problems == []
    assert (rows[0].building, rows[0].floor, rows[0].room, rows[0].channel) == (
        7,
        12,
        "1203",
        "telegram",
    )
    assert (rows[0].language, rows[0].home_bound) == ("en", False)


def test_defaults_and_floor_from_room(tmp_path: Path) -> None:
    path = write(tmp_path, "building,room,name,phone\n7,1203,A,13800138000\n7,302,B,\n")
    rows, problems = check(path)
    assert problems == []
    a, b = rows
    assert (a.floor, a.channel, a.language, a.home_bound, a.birth_year) == (
        12,
        "sms",
        "zh-CN",
        False,
        None,
    )
    assert (b.floor, b.phone, b.channel) == (3, None, "sms")  # no phone, no channel: fine


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    text = delimiter.join(["building", "room", "name", "notes"]) + "\n"
    text += delimiter.join(["7", "1203", "王小明", '"a, b; c"']) + "\n"
    rows, problems = check(write(tmp_path, text))
    assert problems == []
    assert rows[0].notes == "a, b; c"


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-16"])
def test_encodings(tmp_path: Path, encoding: str) -> None:
    path = write(tmp_path, "楼号,室号,姓名\r\n7,1203室,王小明\r\n", encoding=encoding)
    rows, problems = check(path)
    assert problems == []
    assert rows[0].name == "王小明"


def test_blank_and_empty_rows_are_skipped_but_counted_as_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "building,room,name,phone\n\n,,,\n7,1203,A,12345\n")
    assert [(p.line, p.column) for p in problems_of(path)] == [(4, "phone")]


def test_line_numbers_count_multi_line_cells(tmp_path: Path) -> None:
    text = (
        "building,room,name,notes\r\n"
        '7,1203,A,"first line\r\nsecond line\r\nthird line"\r\n'  # lines 2-4
        "7,1204,B,\r\n"  # line 5
        "7,12-04,C,\r\n"  # line 6
    )
    problems = problems_of(write(tmp_path, text))
    assert [(p.line, p.column) for p in problems] == [(6, "room")]


def test_every_problem_is_listed(tmp_path: Path) -> None:
    text = "\n".join(
        [
            HEADER,
            "7,,1203,王小明,13800138000,1950,,,,",  # 2: fine
            "7,,1204,李四,12345,1950,,,,",  # 3: bad phone
            "7,,12,张三,,,,,,",  # 4: room without floor
            "7,11,1205,赵六,,,,,,",  # 5: floor contradicts room
            "7,,1203,王小明,,,,,,",  # 6: duplicate of line 2
            "7,,1206,钱七,13800138001,1950,wechat,,,",  # 7: bad channel
            "7,,1207,孙八,,,telegram,,,",  # 8: telegram without phone
            "7,,1208,周九,,1850,,,,",  # 9: birth year out of range
            "7,,1209,吴十,,2030,,,,",  # 10: future birth year
            "7,,1210,郑一,,,,fr,maybe,",  # 11: bad language and home_bound
            ",,,郑二,,,,,,",  # 12: no building, no room
            "7,,1211,,,,,,,",  # 13: no name
            "x,,1212,冯三,,,,,,",  # 14: bad building
        ]
    )
    problems = problems_of(write(tmp_path, text))
    assert [(p.line, p.column) for p in problems] == [
        (3, "phone"),
        (4, "room"),
        (5, "floor"),
        (6, "name"),
        (7, "channel"),
        (8, "phone"),
        (9, "birth_year"),
        (10, "birth_year"),
        (11, "language"),
        (11, "home_bound"),
        (12, "building"),
        (12, "room"),
        (13, "name"),
        (14, "building"),
    ]
    text_of = {(p.line, p.column): str(p) for p in problems}
    assert text_of[(3, "phone")].startswith("line 3: phone '12345': not a valid phone number")
    assert (
        text_of[(4, "room")]
        == "line 4: room '12': has no floor in its number (fill in the floor column)"
    )
    assert (
        text_of[(5, "floor")] == "line 5: floor '11': room 1205 is on floor 12, but floor says 11"
    )
    assert (
        text_of[(6, "name")] == "line 6: name: duplicate person: 王小明 in 7-1203 is also on line 2"
    )
    assert text_of[(7, "channel")] == "line 7: channel 'wechat': must be telegram, sms or voice"
    assert "channel telegram needs a phone number" in text_of[(8, "phone")]
    assert "between 1900 and 2022" in text_of[(10, "birth_year")]


def test_room_without_floor_is_fine_with_a_floor_column(tmp_path: Path) -> None:
    path = write(tmp_path, "building,floor,room,name\n7,3,12,A\n7,3,12,B\n7,4,12,C\n")
    problems = problems_of(path)
    assert [str(p) for p in problems] == ["line 4: floor: 7-12 is on floor 3 on line 2, here 4"]


def test_wrong_header_is_one_problem_naming_unknown_and_missing(tmp_path: Path) -> None:
    path = write(tmp_path, "building,rooom,phnoe,notes\n7,1203,13800138000,\n7,12-03,bad,\n")
    [problem] = problems_of(path)
    assert problem.line == 1
    message = str(problem)
    assert "unknown columns 'rooom', 'phnoe'" in message
    assert "missing columns room, name" in message


def test_duplicate_header_column(tmp_path: Path) -> None:
    [problem] = problems_of(write(tmp_path, "楼号,室号,姓名,电话,手机\n7,1203,A,,\n"))
    assert "column phone given twice ('电话', '手机')" in str(problem)


def test_headerless_file_gets_a_hint(tmp_path: Path) -> None:
    [problem] = problems_of(write(tmp_path, "7,1203,王小明,13800138000\n7,1204,李四,\n"))
    assert "the first line must be the header" in str(problem)


def test_value_in_a_column_without_header(tmp_path: Path) -> None:
    problems = problems_of(write(tmp_path, "building,room,name\n7,1203,A,oops\n"))
    assert [(p.line, p.column) for p in problems] == [(2, None)]
    assert "'oops' is in a column without a known header" in str(problems[0])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\xef\xbb\xbf", "the file is empty"),
        (b"\r\n \r\n,,,\r\n", "the file is empty"),
        (b"building,room,name\r\n", "header but no residents"),
        (b"PK\x03\x04rest", "rename it to .xlsx"),
        (b"\x00\x01\x02", "not a text file"),
        (
            b"\xef\xbb\xbfbuilding,room,name\n7,1203,\xff\xfe\n",
            "says it is Unicode but is not (invalid start byte)",
        ),
    ],
)
def test_unreadable_csv(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(content)
    with pytest.raises(ImportProblems) as caught:
        read_table(path)
    [problem] = caught.value.problems
    assert problem.line is None
    assert message in str(problem)
    assert caught.value.path == path
    assert str(caught.value).startswith("r.csv: 1 problem; nothing was imported")


def test_bad_quotes_point_at_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'building,room,name\n7,1203,A\n7,1204,"B"x\n')
    with pytest.raises(ImportProblems) as caught:
        read_table(path)
    assert [p.line for p in caught.value.problems] == [3]
    assert caught.value.path == path
    assert str(caught.value).splitlines() == [
        "r.csv: 1 problem; nothing was imported",
        "  line 3: cannot read this CSV line (',' expected after '\"'): check its quotes",
    ]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing.csv", "file not found"),
        ("r.pdf", "unsupported file type '.pdf'"),
        ("r.xls", "old Excel .xls files are not supported"),
        ("r.xlsx", "not a readable .xlsx workbook"),
    ],
)
def test_unsupported_files(tmp_path: Path, name: str, message: str) -> None:
    if name != "missing.csv":
        (tmp_path / name).write_bytes(b"building,room,name\n7,1203,A\n")
    with pytest.raises(ImportProblems) as caught:
        read_table(tmp_path / name)
    assert message in str(caught.value)
    assert caught.value.path == tmp_path / name
    assert str(caught.value).startswith(f"{name}: 1 problem; nothing was imported")


def test_a_missing_file_is_named_with_its_folder(tmp_path: Path) -> None:
    with pytest.raises(ImportProblems) as caught:
        read_table(tmp_path / "missing.csv")
    assert str(caught.value).splitlines()[1] == f"  file not found: {tmp_path / 'missing.csv'}"


def test_problems_text() -> None:
    error = ImportProblems(
        [Problem(7, "phone", "not a valid phone number", "12345"), Problem(None, None, "x")],
        Path("/data/residents.csv"),
    )
    assert str(error).splitlines() == [
        "residents.csv: 2 problems; nothing was imported",
        "  line 7: phone '12345': not a valid phone number",
        "  x",
    ]
    assert isinstance(error, ValueError)
    assert not isinstance(error, ImportError)


def test_warnings_do_not_block(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "building,room,name,phone,channel\n"
        "7,1203,A,021 6234 5678,\n"  # landline on sms
        "7,1203,B,021 6234 5679,voice\n"  # landline on voice: fine
        "7,1204,C,13800138000,\n"
        "8,1204,D,13800138000,\n",  # same phone, another household
    )
    parsed = parse_residents(read_table(path), today=TODAY)
    assert parsed.problems == []
    assert [(w.line, w.column) for w in parsed.warnings] == [(2, "phone"), (5, "phone")]
    assert "landline cannot receive SMS" in str(parsed.warnings[0])
    assert "also given for 7-1204 on line 4" in str(parsed.warnings[1])
    assert "13800138000" not in str(parsed.warnings[1])  # masked in messages


def test_zero_width_characters_from_chat_apps_are_dropped(tmp_path: Path) -> None:
    path = write(
        tmp_path, "building,room,name,phone\n7,1203,\u200b王小明\u200b,138\u200b00138000\n"
    )
    rows, problems = check(path)
    assert problems == []
    assert (rows[0].name, rows[0].phone) == ("王小明", "+8613800138000")


def test_control_characters_in_names_are_refused(tmp_path: Path) -> None:
    problems = problems_of(write(tmp_path, 'building,room,name\n7,1203,"王\x07小明"\n'))
    assert [(p.line, p.column) for p in problems] == [(2, "name")]


# ---- boundaries of the row checks -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "year"),
    [
        ("1900", 1900),
        ("2022", 2022),  # TODAY's year
        ("1948年", 1948),
        ("1948年5月", 1948),
        ("1948年5月3日", 1948),
        ("1948-05-03", 1948),
        ("1948/5/3", 1948),
        ("1948.5", 1948),
        ("1948-05-03 00:00:00", 1948),
        ("１９４８", 1948),  # full-width digits from a Chinese keyboard
    ],
)
def test_birth_years_in_everyday_spellings(tmp_path: Path, raw: str, year: int) -> None:
    rows, problems = check(write(tmp_path, f"building,room,name,birth_year\n7,1203,A,{raw}\n"))
    assert problems == []
    assert rows[0].birth_year == year


@pytest.mark.parametrize("raw", ["1899", "2023", "48", "19480", "born 1948", "1948-"])
def test_birth_years_out_of_range_or_garbled_are_problems(tmp_path: Path, raw: str) -> None:
    problems = problems_of(write(tmp_path, f"building,room,name,birth_year\n7,1203,A,{raw}\n"))
    assert [str(p) for p in problems] == [
        f"line 2: birth_year '{raw}': must be a 4-digit year between 1900 and 2022"
    ]


def test_names_are_tidied_and_at_most_100_characters(tmp_path: Path) -> None:
    longest = "王" * 100
    text = f"building,room,name\n7,1203,  王  小明 \n7,1204,ＡＢ\n7,1205,{longest}\n"
    rows, problems = check(write(tmp_path, text))
    assert problems == []
    assert [r.name for r in rows] == ["王 小明", "AB", longest]
    problems = problems_of(write(tmp_path, f"building,room,name\n7,1203,{longest}王\n"))
    assert [str(p) for p in problems] == [
        f"line 2: name '{'王' * 20}…': longer than 100 characters"
    ]
    problems = problems_of(write(tmp_path, 'building,room,name\n7,1203,"王\n小明"\n'))
    assert [(p.line, p.column, p.message) for p in problems] == [
        (2, "name", "contains a line break or control character")
    ]


@pytest.mark.parametrize(
    ("channel", "language", "home_bound", "expected"),
    [
        ("短信", "中文", "是", ("sms", "zh-CN", True)),
        ("语音", "英文", "√", ("voice", "en", True)),
        ("电报", "English", "否", ("telegram", "en", False)),
        ("Ｔｇ", "普通话", "N", ("telegram", "zh-CN", False)),
        ("call", "en-gb", "1", ("voice", "en", True)),
    ],
)
def test_channel_language_and_yes_no_words(
    tmp_path: Path, channel: str, language: str, home_bound: str, expected: tuple[object, ...]
) -> None:
    text = "building,room,name,phone,channel,language,home_bound\n"
    text += f"7,1203,A,13800138000,{channel},{language},{home_bound}\n"
    rows, problems = check(write(tmp_path, text))
    assert problems == []
    assert (rows[0].channel, rows[0].language, rows[0].home_bound) == expected


def test_unknown_words_are_problems_naming_the_choices(tmp_path: Path) -> None:
    text = "building,room,name,phone,channel,language,home_bound\n"
    text += "7,1203,A,13800138000,wechat,fr,maybe\n"
    assert [str(p) for p in problems_of(write(tmp_path, text))] == [
        "line 2: channel 'wechat': must be telegram, sms or voice",
        "line 2: language 'fr': must be zh-CN or en",
        "line 2: home_bound 'maybe': must be yes or no (是/否, 1/0)",
    ]


def test_required_cells_and_a_telegram_channel_without_a_phone(tmp_path: Path) -> None:
    text = "building,room,name,channel\n,,,telegram\n7,1203,A,voice\n"
    assert [str(p) for p in problems_of(write(tmp_path, text))] == [
        "line 2: building: empty, but required",
        "line 2: room: empty, but required",
        "line 2: name: empty, but required",
        "line 2: phone: empty, but channel telegram needs a phone number "
        "(residents enrol in Telegram by sharing it)",
        "line 3: phone: empty, but channel voice needs a phone number",
    ]


def test_floor_problems_name_both_values(tmp_path: Path) -> None:
    text = "building,floor,room,name\n7,11,1203,A\n7,12,1203,B\n7,13,1203,C\n7,x,12,D\n"
    assert [str(p) for p in problems_of(write(tmp_path, text))] == [
        "line 2: floor '11': room 1203 is on floor 12, but floor says 11",
        "line 4: floor '13': room 1203 is on floor 12, but floor says 13",
        f"line 5: floor 'x': {_floor_message('x')}",
    ]
    text = "building,floor,room,name\n7,3,12,A\n7,4,12,B\n"
    assert [str(p) for p in problems_of(write(tmp_path, text))] == [
        "line 3: floor: 7-12 is on floor 3 on line 2, here 4"
    ]


def _floor_message(raw: str) -> str:
    from estate.addresses import parse_floor

    with pytest.raises(ValueError) as caught:
        parse_floor(raw)
    return str(caught.value)


def test_a_stray_cell_is_one_problem_per_row(tmp_path: Path) -> None:
    text = "building,room,name,,\n7,1203,A,x,y\n7,1204,B,,\n"
    assert [str(p) for p in problems_of(write(tmp_path, text))] == [
        "line 2: 'x' is in a column without a known header (a stray delimiter?)"
    ]


def test_a_wrong_header_lists_unknown_missing_and_twice(tmp_path: Path) -> None:
    text = "楼号,姓名,电话,手机,colour\n7,A,13800138000,13800138000,red\n"
    [problem] = problems_of(write(tmp_path, text))
    assert (problem.line, problem.column) == (1, "header")
    assert problem.message.startswith(
        "unknown columns 'colour'; missing columns room; column phone given twice ('电话', '手机'): "
        "expected building, floor, room, name, phone, birth_year, channel, language, home_bound, "
        "notes (or 楼号, 楼层, 室号, 姓名, 电话, 出生年份, 渠道, 语言, 行动不便, 备注); "
        "building, room, name are required"
    )
    assert "first line must be the header" not in problem.message
    [headerless] = problems_of(write(tmp_path, "7,1203,A\n7,1204,B\n"))
    assert headerless.message.endswith("; the first line must be the header")


def test_the_delimiter_is_sniffed_from_the_header_line_only(tmp_path: Path) -> None:
    text = "\r\nbuilding;room;name;notes\r\n7;1203;A;a,b,c,d,e\r\n"
    rows, problems = check(write(tmp_path, text))
    assert problems == []
    assert (rows[0].line, rows[0].notes) == (3, "a,b,c,d,e")


@pytest.mark.parametrize("name", ["r.txt", "r.tsv", "R.CSV"])
def test_text_files_by_any_csv_name(tmp_path: Path, name: str) -> None:
    rows, problems = check(write(tmp_path, "building\troom\tname\n7\t1203\tA\n", name=name))
    assert problems == [] and [r.name for r in rows] == ["A"]


def test_a_folder_is_not_a_file(tmp_path: Path) -> None:
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(ImportProblems) as caught:
        read_table(tmp_path / "d.csv")
    assert [p.message for p in caught.value.problems] == [
        f"{tmp_path / 'd.csv'} is a folder, not a file"
    ]
    assert caught.value.path == tmp_path / "d.csv"


def test_text_that_is_neither_utf8_nor_gb18030(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b"building,room,name\n7,1203,\x81\x30\n")  # a cut GB18030 four-byte char
    with pytest.raises(ImportProblems) as caught:
        read_table(path)
    assert [p.message for p in caught.value.problems] == [
        "the text is neither UTF-8 nor GB18030/GBK: save it as CSV UTF-8"
    ]
    assert caught.value.path == path


def test_excel_cells_read_as_text() -> None:
    from datetime import date, datetime

    from estate.importing.residents import _cell_text

    assert _cell_text(None) == ""
    assert (_cell_text(True), _cell_text(False)) == ("yes", "no")
    assert (_cell_text(1203.0), _cell_text(1203.5), _cell_text(7)) == ("1203", "1203.5", "7")
    assert _cell_text(13800138000.0) == "13800138000"
    assert _cell_text(datetime(1948, 5, 3, 10, 30)) == "1948-05-03"
    assert _cell_text(date(1948, 5, 3)) == "1948-05-03"
    assert _cell_text("室") == "室"


def test_one_problem_is_said_in_the_singular() -> None:
    assert str(ImportProblems([Problem(3, "room", "bad")])).splitlines() == [
        "1 problem; nothing was imported",
        "  line 3: room: bad",
    ]


def test_problems_name_the_column_by_the_header_the_file_used(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "\ufeff楼号,楼层,室号,姓名,电话,出生年份\r\n"
        "7,,12,王芳,13800138000,1980\r\n"  # line 2: a room without its floor
        "7,12,1203,李强,12345,1950\r\n",  # line 3: a bad phone number
    )
    problems = problems_of(path)
    assert [(p.line, p.column) for p in problems] == [(2, "room"), (3, "phone")]
    assert str(problems[0]).startswith("line 2: 室号 '12': ")
    assert str(problems[1]).startswith("line 3: 电话 '12345': ")
    english = write(tmp_path, "Building,Room,Name,Phone\n7,12,王芳,13800138000\n", name="e.csv")
    assert str(problems_of(english)[0]).startswith("line 2: Room '12': ")


def test_a_broken_workbook_is_refused_naming_the_file_and_the_error(tmp_path: Path) -> None:
    path = tmp_path / "r.xlsx"
    path.write_bytes(b"building,room,name\n7,1203,A\n")
    with pytest.raises(ImportProblems) as caught:
        read_table(path)
    assert caught.value.path == path
    assert caught.value.describe("en").splitlines() == [
        "r.xlsx: 1 problem; nothing was imported",
        "  not a readable .xlsx workbook (BadZipFile)",
    ]
    assert caught.value.describe("zh-CN").splitlines() == [
        "r.xlsx：1 处问题；没有导入任何内容",
        "  无法读取的 .xlsx 工作簿（BadZipFile）",
    ]


def test_a_formula_cell_is_read_as_the_value_excel_saved(tmp_path: Path) -> None:
    import zipfile

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["building", "room", "name"])
    sheet.append([7, "=1200+3", "王芳"])
    saved = tmp_path / "saved.xlsx"
    book.save(saved)
    # Excel stores a formula with the value it last computed; openpyxl leaves that out.
    path = tmp_path / "r.xlsx"
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<f>1200+3</f><v />", b"<f>1200+3</f><v>1203</v>")
                assert b"<v>1203</v>" in data
            target.writestr(item, data)
    assert read_table(path).rows == [(2, ["7", "1203", "王芳"])]


def test_a_macro_workbook_is_read_like_an_xlsx(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["building", "room", "name"])
    sheet.append([7, 1203, "王芳"])
    path = tmp_path / "r.xlsm"
    book.save(path)
    assert read_table(path).rows == [(2, ["7", "1203", "王芳"])]


def test_old_mac_line_ends_and_a_multi_line_cell_are_kept_as_written(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b'building,room,name,notes\r7,1203,A,"x\r\ny"\r7,1204,B,z\r')
    rows, problems = check(path)
    assert problems == []
    assert [(row.line, row.notes) for row in rows] == [(2, "x\r\ny"), (4, "z")]


def test_the_bilingual_template_header_is_understood(tmp_path: Path) -> None:
    header = "楼号/building,室号/room,姓名/name,电话/phone"
    rows, problems = check(write(tmp_path, f"{header}\n7,1203,A,13800138000\n"))
    assert problems == []
    assert [(r.building, r.room, r.name, r.phone) for r in rows] == [
        (7, "1203", "A", "+8613800138000")
    ]


def test_a_header_cell_naming_two_different_columns_is_unknown(tmp_path: Path) -> None:
    [problem] = problems_of(write(tmp_path, "building,room,name,电话/notes\n7,1203,A,x\n"))
    assert str(problem).startswith("line 1: header: unknown columns '电话/notes': expected ")


def test_a_blank_header_cell_between_columns_is_skipped(tmp_path: Path) -> None:
    rows, problems = check(write(tmp_path, "building,,room,name\n7,,1203,A\n"))
    assert problems == []
    assert [(r.building, r.room, r.name) for r in rows] == [(7, "1203", "A")]


def test_an_unknown_column_alone_is_a_problem_without_the_first_line_hint(
    tmp_path: Path,
) -> None:
    [extra] = problems_of(write(tmp_path, "building,room,name,foo\n7,1203,A,x\n"))
    assert str(extra).startswith("line 1: header: unknown columns 'foo': expected ")
    [even] = problems_of(write(tmp_path, "building,foo\n7,x\n", name="even.csv"))
    assert str(even).startswith(
        "line 1: header: unknown columns 'foo'; missing columns room, name: expected "
    )
    assert "first line" not in str(even)


def test_a_wrong_header_gives_no_rows_and_no_warnings(tmp_path: Path) -> None:
    parsed = parse_residents(read_table(write(tmp_path, "building,rooom\n7,1203\n")), today=TODAY)
    assert (parsed.rows, len(parsed.problems), parsed.warnings) == ([], 1, [])


def test_a_two_word_header_names_its_column_in_problems(tmp_path: Path) -> None:
    text = "building,room,name,Birth   Year\n7,1203,A,1800\n"
    [problem] = problems_of(write(tmp_path, text))
    assert str(problem).startswith("line 2: Birth Year '1800': ")


def test_a_name_with_a_control_character_is_shown_in_the_problem(tmp_path: Path) -> None:
    [problem] = problems_of(write(tmp_path, 'building,room,name\n7,1203,"王\x07小明"\n'))
    assert problem.value == "王\x07小明"
    assert "'王\x07小明'" in str(problem)


def test_phones_are_read_in_the_region_asked_for(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "building,room,name,phone\n7,1203,A,020 7946 0000\n"))
    [row] = parse_residents(table, region="GB", today=TODAY).rows
    assert row.phone == "+442079460000"


def test_rows_with_an_unreadable_building_are_not_compared_with_each_other(
    tmp_path: Path,
) -> None:
    text = "building,room,name\nx,1203,A\nx,1203,A\n"
    problems = problems_of(write(tmp_path, text))
    assert [(p.line, p.column) for p in problems] == [(2, "building"), (3, "building")]


def test_the_import_day_is_the_committees_day_not_the_machines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time
    from datetime import UTC, date, datetime

    from config.clock import FakeClock
    from config.settings import get_settings
    from estate.importing import residents

    monkeypatch.setenv("TZ", "UTC")  # the machine: UTC, where it is still 10 April
    time.tzset()
    monkeypatch.setenv("LOUZHANG_TIMEZONE", "Asia/Shanghai")  # 11 April already
    get_settings.cache_clear()
    monkeypatch.setattr(
        residents, "SystemClock", lambda: FakeClock(datetime(2022, 4, 10, 20, 0, tzinfo=UTC))
    )
    try:
        assert residents.local_day() == date(2022, 4, 11)
    finally:
        monkeypatch.undo()
        time.tzset()
        get_settings.cache_clear()


def test_letters_in_the_header_are_never_taken_for_the_delimiter(tmp_path: Path) -> None:
    [problem] = problems_of(write(tmp_path, "building,room,name,XXXX\n7,1203,A,\n"))
    assert str(problem).startswith("line 1: header: unknown columns 'XXXX': ")
