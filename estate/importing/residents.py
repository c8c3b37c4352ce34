"""Resident import: a CSV or XLSX file, one row per person, into the registry.

Three steps, each usable on its own:

1. :func:`read_table` turns a file into rows of text cells with their *file* line numbers
   (CSV: UTF-8 with or without BOM, UTF-16 with BOM, else GB18030/GBK; ``,`` ``;`` or tab
   sniffed from the header; quoted multi-line cells counted as the lines they span.
   XLSX: the first sheet; numbers such as ``1203.0`` or ``13800138000`` read back as digits).
2. :func:`parse_residents` (pure: no I/O, no clock; ``today`` is passed in) checks every row and
   returns :class:`ResidentRow` values plus every :class:`Problem` found, and warnings.
3. :func:`apply_residents` compares the rows with the database and writes the differences in
   one transaction with bulk queries (or only counts them on a dry run).

:func:`import_residents` runs the three and raises :class:`ImportProblems` listing every problem
when there is any, so a file is imported whole or not at all.

What the import does to the registry (the file is the truth for what it names):

* buildings, households (entrance ``""``) and people are matched by building number, room and
  name, created when new, updated when different; people absent from the file are kept;
* each person with a phone has one contact: ``voice`` when their channel is voice, else ``sms``
  (Telegram people get the sms one as a fallback; their Telegram contact is made when they share
  their number in the bot). A contact of a person in the file that no longer matches their
  number or channel is marked ``unreachable`` ("replaced by import") and revived if the number
  comes back; ``opted_out`` contacts are never touched; Telegram contacts never are;
* household flags are recomputed from all its people: elderly (anyone aged ``ELDERLY_AGE``+ this
  year), lives_alone (one person), home_bound (anyone), language (the first person's),
  preferred_channel (telegram if anyone prefers it, else sms if anyone has a phone on sms,
  else voice if anyone has one on voice, else none).
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
import re
import unicodedata
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from config.clock import SystemClock, local_today
from config.settings import get_settings
from estate.addresses import (
    floor_from_room,
    parse_building,
    parse_floor,
    parse_room,
)
from estate.importing.texts import CHINESE_HEADER, problem_text, reason_text
from estate.importing.texts import say as import_say
from estate.models import ELDERLY_AGE, Building, Contact, Estate, Household, Person
from estate.phones import is_mobile, mask_phone, normalise_phone

__all__ = [
    "COLUMNS",
    "REPLACED_BY_IMPORT",
    "REQUIRED_COLUMNS",
    "ImportProblems",
    "ImportReport",
    "ParsedResidents",
    "Problem",
    "ResidentRow",
    "Table",
    "apply_residents",
    "import_residents",
    "parse_residents",
    "read_table",
]

COLUMNS = tuple(
    "building floor room name phone birth_year channel language home_bound notes".split()
)
REQUIRED_COLUMNS = ("building", "room", "name")
REPLACED_BY_IMPORT = "replaced by import"  # status_reason of contacts an import retired
MAX_NAME = 100
_T = TypeVar("_T")
# Rows per bulk update: its CASE statement binds about three values per row and field, which
# stays under SQLite's bound-parameter limit (bulk_create inserts row by row: no limit there).
_BATCH = 200

# Other names accepted in the header, compared after NFKC, lower case, spaces/dashes -> "_".
_ALIASES = {
    "building": "bldg building_no building_number 楼号 楼栋 楼栋号 栋号 幢号",
    "floor": "楼层 层 层数",
    "room": "room_no room_number 室号 房号 房间号 门牌号 室",
    "name": "full_name 姓名 名字",
    "phone": "mobile tel telephone phone_number mobile_number 电话 手机 手机号 手机号码 电话号码 联系电话",
    "birth_year": "year_of_birth birthyear born 出生年份 出生年 出生年月 出生日期",
    "channel": "渠道 通知方式 联系渠道",
    "language": "lang 语言",
    "home_bound": "homebound bedridden 行动不便 居家 卧床 居家不便",
    "notes": "note comment comments remarks 备注 说明",
}
_CHINESE_HEADERS = "楼号, 楼层, 室号, 姓名, 电话, 出生年份, 渠道, 语言, 行动不便, 备注"
_CHANNEL_WORDS = {
    **dict.fromkeys(["telegram", "tg", "电报"], "telegram"),
    **dict.fromkeys(["sms", "text", "短信"], "sms"),
    **dict.fromkeys(["voice", "call", "语音", "电话"], "voice"),
}
_LANGUAGE_WORDS = {
    **dict.fromkeys("zh-cn zh_cn zh cn chinese 中文 汉语 普通话".split(), "zh-CN"),
    **dict.fromkeys("en english en-us en-gb 英文 英语".split(), "en"),
}
_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff]")  # zero-width chars pasted from chats
_YES = frozenset({"yes", "y", "true", "1", "是", "√", "✓"})
_NO = frozenset({"no", "n", "false", "0", "否"})
_BIRTH = re.compile(
    r"(\d{4})(?:年(?:\d{1,2}月(?:\d{1,2}日)?)?|[-/.]\d{1,2}(?:[-/.]\d{1,2})?(?:[ T].*)?)?"
)


# ---------------------------------------------------------------------------------------------
# Values


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong in the file. ``line`` is the file line (header = 1), None for the file."""

    line: int | None
    column: str | None  # the column's canonical name (building, room, ...)
    message: str
    value: str | None = None
    label: str | None = None  # the column's header as the file wrote it (室号, Room, ...)
    kind: str | None = None  # a key of estate.importing.texts (None: ``message`` is a reason)
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __str__(self) -> str:
        return self.render("en")

    def render(self, lang: str) -> str:
        """The problem in ``lang``, naming the column by the file's own header."""
        if self.kind is not None:
            message = problem_text(self.kind, self.params, lang)
        else:
            message = reason_text(self.message, lang)
        where = import_say("line", lang, line=self.line) if self.line is not None else ""
        named = self.label or self.column
        if named and not self.label and lang != "en":
            named = CHINESE_HEADER.get(named, named)
        if named and self.value is not None:
            return where + import_say(
                "named_value", lang, named=named, value=self.value, message=message
            )
        if named:
            return where + import_say("named", lang, named=named, message=message)
        return f"{where}{message}"


def _problem_of(
    line: int | None, column: str | None, kind: str, value: str | None = None, **params: Any
) -> Problem:
    """A problem of ``kind`` (its English message kept in ``message``)."""
    return Problem(line, column, problem_text(kind, params, "en"), value, kind=kind, params=params)


class _Reason(ValueError):
    """A parser's reason with its text key, for messages in either language (the text is made
    where :meth:`_RowChecker._parse` catches it: a reason never leaves the parser)."""

    def __init__(self, kind: str, **params: Any) -> None:
        self.kind = kind
        self.params = params


class ImportProblems(ValueError):
    """The file was rejected as a whole; ``problems`` lists everything wrong with it.

    Deliberately not a subclass of the built-in ``ImportError`` (that one means a failed
    ``import`` statement and is caught by unrelated code).
    """

    def __init__(self, problems: Sequence[Problem], path: Path | None = None) -> None:
        self.problems = list(problems)
        self.path = path
        super().__init__(str(self))

    def __str__(self) -> str:
        return self.describe("en")

    def describe(self, lang: str) -> str:
        """Every problem, one a line, under a head line in ``lang`` (the staff language)."""
        name = f"{self.path.name}{'：' if lang == 'zh-CN' else ': '}" if self.path else ""
        count = len(self.problems)
        head = import_say("head_one" if count == 1 else "head", lang, name=name, count=count)
        return "\n".join([head, *(f"  {problem.render(lang)}" for problem in self.problems)])


@dataclass(frozen=True, slots=True)
class Table:
    """A file's cells as text, each row with its file line number."""

    header_line: int
    header: list[str]
    rows: list[tuple[int, list[str]]]


@dataclass(frozen=True, slots=True)
class ResidentRow:
    """One valid row: a person at an address, with their contact preferences."""

    line: int
    building: int
    floor: int
    room: str
    name: str
    phone: str | None = None  # E.164
    birth_year: int | None = None
    channel: str = "sms"  # telegram | sms | voice ("sms" also when there is no phone)
    language: str = "zh-CN"
    home_bound: bool = False
    notes: str = ""


@dataclass(slots=True)
class ParsedResidents:
    rows: list[ResidentRow]
    problems: list[Problem]
    warnings: list[Problem]


@dataclass(slots=True)
class ImportReport:
    """What an import did (or, on a dry run, would do)."""

    estate: str
    rows: int
    dry_run: bool = False
    path: Path | None = None
    estate_created: bool = False
    buildings_created: int = 0
    buildings_updated: int = 0
    households_created: int = 0
    households_updated: int = 0
    people_created: int = 0
    people_updated: int = 0
    contacts_created: int = 0
    contacts_updated: int = 0
    warnings: list[Problem] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.estate_created or any(
            (
                self.buildings_created,
                self.buildings_updated,
                self.households_created,
                self.households_updated,
                self.people_created,
                self.people_updated,
                self.contacts_created,
                self.contacts_updated,
            )
        )

    def summary(self, lang: str = "en") -> str:
        """What the import did (or would do), in ``lang`` (the staff language)."""
        if lang == "zh-CN":
            return self._summary_zh()
        source = f"{self.path.name}: " if self.path is not None else ""
        verb = "would create" if self.dry_run else "created"
        verb2 = "would update" if self.dry_run else "updated"
        lines = [
            f"{source}{self.rows} rows for estate '{self.estate}'"
            + (" (new estate)" if self.estate_created else ""),
            f"  {verb}: {self.buildings_created} buildings, {self.households_created} households, "
            f"{self.people_created} people, {self.contacts_created} contacts",
            f"  {verb2}: {self.buildings_updated} buildings, {self.households_updated} households, "
            f"{self.people_updated} people, {self.contacts_updated} contacts",
        ]
        if self.dry_run:
            lines.append("  dry run: nothing was written")
        elif not self.changed:
            lines.append("  nothing changed: the registry already matches the file")
        if self.warnings:
            lines.append(f"  {len(self.warnings)} warnings:")
            lines.extend(f"    {warning.render(lang)}" for warning in self.warnings)
        return "\n".join(lines)

    def _summary_zh(self) -> str:
        source = f"{self.path.name}：" if self.path is not None else ""
        verb = "将新建" if self.dry_run else "新建"
        verb2 = "将更新" if self.dry_run else "更新"
        lines = [
            f"{source}{self.rows} 行，小区“{self.estate}”"
            + ("（新小区）" if self.estate_created else ""),
            f"  {verb}：{self.buildings_created} 栋楼，{self.households_created} 户，"
            f"{self.people_created} 人，{self.contacts_created} 个联系方式",
            f"  {verb2}：{self.buildings_updated} 栋楼，{self.households_updated} 户，"
            f"{self.people_updated} 人，{self.contacts_updated} 个联系方式",
        ]
        if self.dry_run:
            lines.append("  预览：没有写入任何内容")
        elif not self.changed:
            lines.append("  没有变化：登记信息已与文件一致")
        if self.warnings:
            lines.append(f"  {len(self.warnings)} 条提醒：")
            lines.extend(f"    {warning.render('zh-CN')}" for warning in self.warnings)
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Entry point


def local_day() -> date:
    """Today in the committee's time zone (``LOUZHANG_TIMEZONE``), by the system clock."""
    return local_today(SystemClock(), ZoneInfo(get_settings().timezone))


async def import_residents(
    path: Path | str,
    *,
    estate_name: str = "default",
    dry_run: bool = False,
    region: str = "CN",
    today: date | None = None,
) -> ImportReport:
    """Import the residents in ``path`` (.csv or .xlsx), whole or not at all.

    Raises :class:`ImportProblems` listing every problem (with file line numbers) when the file
    cannot be read or any row is wrong; the database is then left untouched. ``today`` (default:
    the current date, read once here) fixes the year used to check birth years and ages.
    """
    path = Path(path)
    today = today or local_day()
    parsed = await asyncio.to_thread(_read_and_parse, path, region, today)
    if parsed.problems:
        raise ImportProblems(parsed.problems, path)
    report = await apply_residents(
        parsed.rows, estate_name=estate_name, dry_run=dry_run, today=today
    )
    report.path = path
    report.warnings = parsed.warnings
    return report


def _read_and_parse(path: Path, region: str, today: date) -> ParsedResidents:
    try:
        table = read_table(path)
    except ImportProblems as exc:
        return ParsedResidents([], exc.problems, [])
    return parse_residents(table, region=region, today=today)


# ---------------------------------------------------------------------------------------------
# Reading files


def read_table(path: Path) -> Table:
    """Read a .csv (.txt, .tsv) or .xlsx file into text cells; raises :class:`ImportProblems`."""
    path = Path(path)
    if not path.exists():
        raise ImportProblems([_problem_of(None, None, "file_not_found", path=path)], path)
    if path.is_dir():
        raise ImportProblems([_problem_of(None, None, "is_folder", path=path)], path)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        rows = _read_csv(path)
    elif suffix in (".xlsx", ".xlsm"):
        rows = _read_xlsx(path)
    elif suffix == ".xls":
        raise ImportProblems(
            [_problem_of(None, None, "xls")],
            path,
        )
    else:
        raise ImportProblems([_problem_of(None, None, "unsupported_type", suffix=suffix)], path)
    rows = [(line, cells) for line, cells in rows if any(cell.strip() for cell in cells)]
    if not rows:
        raise ImportProblems([_problem_of(None, None, "empty_file")], path)
    (header_line, header), *data = rows
    if not data:
        raise ImportProblems([_problem_of(None, None, "header_only")], path)
    return Table(header_line, header, data)


def _read_csv(path: Path) -> list[tuple[int, list[str]]]:
    text = _decode(path.read_bytes(), path)
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(",;\t", key=first.count) if first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for record in reader:
            rows.append((start, record))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ImportProblems([_problem_of(start, None, "csv_line", error=str(exc))], path) from None
    return rows


def _decode(data: bytes, path: Path) -> str:
    try:
        if data.startswith(codecs.BOM_UTF8):
            return data[len(codecs.BOM_UTF8) :].decode("utf-8")
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return data.decode("utf-16")
    except UnicodeDecodeError as exc:
        raise ImportProblems(
            [_problem_of(None, None, "not_unicode", reason=exc.reason)], path
        ) from None
    if data.startswith(b"PK\x03\x04"):
        raise ImportProblems([_problem_of(None, None, "xlsx_named_csv")], path)
    if b"\x00" in data:
        raise ImportProblems([_problem_of(None, None, "nul_bytes")], path)
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportProblems(
        [_problem_of(None, None, "encoding")],
        path,
    )


def _read_xlsx(path: Path) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook  # only needed for Excel files

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ImportProblems(
            [_problem_of(None, None, "bad_xlsx", error=type(exc).__name__)], path
        ) from None
    try:
        if not workbook.worksheets:
            return []
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # saved dimensions are often wrong; read what is there
        return [
            (line, [_cell_text(value) for value in values])
            for line, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        ]
    finally:
        workbook.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# ---------------------------------------------------------------------------------------------
# Checking rows (pure)


def _header_key(cell: str) -> str:
    return re.sub(r"[\s\-]+", "_", unicodedata.normalize("NFKC", cell).strip().lower())


_HEADER_INDEX = {
    _header_key(alias): column
    for column, aliases in _ALIASES.items()
    for alias in (column, *aliases.split())
}


def _resolve_header(line: int, header: Sequence[str]) -> tuple[dict[str, int], Problem | None]:
    positions: dict[str, int] = {}
    seen: dict[str, list[str]] = defaultdict(list)
    unknown: list[str] = []
    for index, cell in enumerate(header):
        if not cell.strip():
            continue
        column = _HEADER_INDEX.get(_header_key(cell))
        if column is None and "/" in cell:  # both languages, as in the template: 楼号/building
            names = {_HEADER_INDEX.get(_header_key(part)) for part in cell.split("/")}
            column = names.pop() if len(names) == 1 else None
        if column is None:
            unknown.append(cell.strip())
            continue
        seen[column].append(cell.strip())
        positions.setdefault(column, index)
    missing = [column for column in REQUIRED_COLUMNS if column not in positions]
    twice = {column: cells for column, cells in seen.items() if len(cells) > 1}
    if not (unknown or missing or twice):
        return positions, None
    return positions, _problem_of(
        line,
        "header",
        "header",
        unknown=unknown,
        missing=missing,
        twice=twice,
        columns=COLUMNS,
        chinese=_CHINESE_HEADERS,
        required=REQUIRED_COLUMNS,
        first_line=len(unknown) > len(positions),
    )


def parse_residents(table: Table, *, region: str = "CN", today: date) -> ParsedResidents:
    """Check every row of ``table``. Pure: ``today`` gives the year for birth-year checks."""
    positions, header_problem = _resolve_header(table.header_line, table.header)
    if header_problem is not None:
        return ParsedResidents([], [header_problem], [])
    checker = _RowChecker(positions, region, today)
    for line, cells in table.rows:
        checker.check(line, cells)
    # Problems name a column by the header the file used (室号, not room): that is what the
    # person who fixes the file sees in it.
    # (positions holds only the header's non-blank cells; a problem of no column gets None.)
    used: dict[str | None, str] = {
        column: " ".join(table.header[index].split()) for column, index in positions.items()
    }

    def labelled(problems: list[Problem]) -> list[Problem]:
        return [replace(p, label=used.get(p.column)) for p in problems]

    return ParsedResidents(checker.rows, labelled(checker.problems), labelled(checker.warnings))


class _RowChecker:
    def __init__(self, positions: dict[str, int], region: str, today: date) -> None:
        self.positions = positions
        self.region = region
        self.today = today
        self.rows: list[ResidentRow] = []
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self._people: dict[tuple[int, str, str], int] = {}
        self._floors: dict[tuple[int, str], tuple[int, int]] = {}
        self._phones: dict[str, tuple[int, int, str]] = {}

    def check(self, line: int, cells: Sequence[str]) -> None:
        before = len(self.problems)
        self._check_stray_cells(line, cells)

        def cell(column: str) -> str:
            index = self.positions.get(column)
            if index is None or index >= len(cells):
                return ""
            return _INVISIBLE.sub("", cells[index]).strip()

        building = self._parse(line, "building", cell("building"), parse_building, required=True)
        room = self._parse(line, "room", cell("room"), parse_room, required=True)
        floor = self._floor(line, room, cell("floor"), cell("room"))
        name = self._name(line, cell("name"))
        raw_phone = cell("phone")
        phone = self._parse(line, "phone", raw_phone, self._phone)
        birth_year = self._parse(line, "birth_year", cell("birth_year"), self._birth_year)
        channel = self._parse(line, "channel", cell("channel"), _channel)
        language = self._parse(line, "language", cell("language"), _language) or "zh-CN"
        home_bound = bool(self._parse(line, "home_bound", cell("home_bound"), _yes_no))
        if channel and not raw_phone:
            if channel == "telegram":
                self._problem(line, "phone", "channel_needs_phone_telegram")
            else:
                self._problem(line, "phone", "channel_needs_phone", channel=channel)
        if building is None or room is None or floor is None or name is None:
            return
        self._check_duplicates(line, building, room, floor, name)
        if len(self.problems) > before:
            return
        if phone is not None:
            self._check_phone_use(line, building, room, phone, channel)
        self.rows.append(
            ResidentRow(
                line=line,
                building=building,
                floor=floor,
                room=room,
                name=name,
                phone=phone,
                birth_year=birth_year,
                channel=channel or "sms",
                language=language,
                home_bound=home_bound,
                notes=cell("notes"),
            )
        )

    def _problem(
        self, line: int, column: str | None, kind: str, value: str | None = None, **params: Any
    ) -> None:
        self.problems.append(_problem_of(line, column, kind, value, **params))

    def _parse(
        self,
        line: int,
        column: str,
        raw: str,
        parser: Callable[[str], _T],
        *,
        required: bool = False,
    ) -> _T | None:
        if not raw:
            if required:
                self._problem(line, column, "empty_required")
            return None
        try:
            return parser(raw)
        except _Reason as exc:
            self._problem(line, column, exc.kind, raw, **exc.params)
            return None
        except ValueError as exc:  # the address and phone parsers' reasons (English)
            self.problems.append(Problem(line, column, str(exc), raw))
            return None

    def _check_stray_cells(self, line: int, cells: Sequence[str]) -> None:
        named = set(self.positions.values())
        for index, value in enumerate(cells):
            if index not in named and value.strip():
                self._problem(line, None, "stray_cell", cell=value.strip())
                return

    def _floor(self, line: int, room: str | None, raw: str, raw_room: str) -> int | None:
        floor = self._parse(line, "floor", raw, parse_floor)
        if room is None or (raw and floor is None):
            return None
        room_floor = floor_from_room(room)
        if room_floor is None:
            if floor is None:
                self._problem(line, "room", "room_no_floor", raw_room)
            return floor
        if floor is not None and floor != room_floor:
            self._problem(
                line, "floor", "floor_mismatch", raw, room=room, room_floor=room_floor, floor=floor
            )
            return None
        return room_floor

    def _name(self, line: int, raw: str) -> str | None:
        name = " ".join(unicodedata.normalize("NFKC", raw).split())
        if not name:
            self._problem(line, "name", "empty_required")
            return None
        if any(unicodedata.category(ch).startswith("C") for ch in name) or "\n" in raw:
            self._problem(line, "name", "name_control", raw)
            return None
        if len(name) > MAX_NAME:
            self._problem(line, "name", "name_too_long", raw[:20] + "…", max=MAX_NAME)
            return None
        return name

    def _phone(self, raw: str) -> str:
        return normalise_phone(raw, self.region)

    def _birth_year(self, raw: str) -> int:
        match = _BIRTH.fullmatch(unicodedata.normalize("NFKC", raw).strip())
        year = int(match.group(1)) if match else None
        if year is None or not 1900 <= year <= self.today.year:
            raise _Reason("birth_year", year=self.today.year)
        return year

    def _check_duplicates(self, line: int, building: int, room: str, floor: int, name: str) -> None:
        first = self._people.setdefault((building, room, name), line)
        if first != line:
            self._problem(
                line,
                "name",
                "duplicate_person",
                name=name,
                building=building,
                room=room,
                first=first,
            )
        known_floor, floor_line = self._floors.setdefault((building, room), (floor, line))
        if known_floor != floor:
            self._problem(
                line,
                "floor",
                "floor_conflict",
                building=building,
                room=room,
                known=known_floor,
                first=floor_line,
                floor=floor,
            )

    def _check_phone_use(
        self, line: int, building: int, room: str, phone: str, channel: str | None
    ) -> None:
        if channel != "voice" and not is_mobile(phone):
            self.warnings.append(_problem_of(line, "phone", "landline_sms", mask_phone(phone)))
        other = self._phones.setdefault(phone, (line, building, room))
        if other[1:] != (building, room):
            self.warnings.append(
                _problem_of(
                    line,
                    "phone",
                    "phone_shared",
                    mask_phone(phone),
                    building=other[1],
                    room=other[2],
                    first=other[0],
                )
            )


def _channel(raw: str) -> str:
    channel = _CHANNEL_WORDS.get(unicodedata.normalize("NFKC", raw).strip().lower())
    if channel is None:
        raise _Reason("must_channel")
    return channel


def _language(raw: str) -> str:
    language = _LANGUAGE_WORDS.get(unicodedata.normalize("NFKC", raw).strip().lower())
    if language is None:
        raise _Reason("must_language")
    return language


def _yes_no(raw: str) -> bool:
    word = unicodedata.normalize("NFKC", raw).strip().lower()
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise _Reason("must_yes_no")


# ---------------------------------------------------------------------------------------------
# Applying rows


@dataclass(slots=True)
class _State:
    """The registry rows an import may touch, keyed by natural keys."""

    estate: Estate | None
    buildings: dict[int, Building]
    households: dict[tuple[int, str], Household]  # (building number, room)
    # Loaded with the households (_load_below) and only read for a household found above.
    people: dict[int, list[Person]] = field(default_factory=dict)  # household id -> people by id
    contacts: dict[int, list[Contact]] = field(default_factory=dict)  # household id -> contacts


@dataclass(slots=True)
class _PersonView:
    birth_year: int | None
    phone: str | None
    channel: str
    language: str
    home_bound: bool


async def apply_residents(
    rows: Sequence[ResidentRow],
    *,
    estate_name: str,
    dry_run: bool = False,
    today: date,
) -> ImportReport:
    """Bring the registry in line with ``rows`` in one transaction; only count on a dry run."""
    report = ImportReport(estate=estate_name, rows=len(rows), dry_run=dry_run)
    numbers = sorted({row.building for row in rows})
    if dry_run:
        state = await _load(estate_name, numbers)
        _Applier(state, rows, today, report).plan()
        return report
    # Inside in_transaction() every query of this task runs in the transaction (Tortoise keeps
    # the transaction's connection in a context variable), so none needs ``using_db``.
    async with in_transaction():
        state = await _load(estate_name, numbers)
        await _Applier(state, rows, today, report).run()
    return report


async def _load(estate_name: str, numbers: list[int]) -> _State:
    estate = await Estate.filter(name=estate_name).first()
    state = _State(estate, {}, {})
    if estate is None:
        return state
    await _load_buildings(state)
    ids = [state.buildings[n].id for n in numbers if n in state.buildings]
    if ids:
        await _load_below(state, ids)
    return state


async def _load_buildings(state: _State) -> None:
    assert state.estate is not None
    buildings = await Building.filter(estate_id=state.estate.id)
    state.buildings = {building.number: building for building in buildings}


async def _load_below(state: _State, building_ids: list[int]) -> None:
    numbers = {b.id: b.number for b in state.buildings.values()}
    households = await Household.filter(building_id__in=building_ids).order_by("id")
    state.households = {}
    for household in households:
        key = (numbers[household.building_id], household.room)  # type: ignore[attr-defined]
        current = state.households.get(key)
        # A room found in several entrances: prefer the one without an entrance, else the oldest.
        if current is None or (current.entrance and not household.entrance):
            state.households[key] = household
    people = await Person.filter(household__building_id__in=building_ids).order_by("id")
    state.people = defaultdict(list)
    for person in people:
        state.people[person.household_id].append(person)  # type: ignore[attr-defined]
    contacts = await Contact.filter(household__building_id__in=building_ids).order_by("id")
    state.contacts = defaultdict(list)
    for contact in contacts:
        state.contacts[contact.household_id].append(contact)  # type: ignore[attr-defined]


class _Applier:
    """Diffs rows against the loaded state level by level; ``run`` also writes each level."""

    def __init__(
        self,
        state: _State,
        rows: Sequence[ResidentRow],
        today: date,
        report: ImportReport,
    ) -> None:
        self.state = state
        self.today = today
        self.report = report
        self.by_household: dict[tuple[int, str], list[ResidentRow]] = defaultdict(list)
        for row in rows:
            self.by_household[(row.building, row.room)].append(row)

    # -- planning only (dry run) -----------------------------------------------------------

    def plan(self) -> None:
        self.report.estate_created = self.state.estate is None
        new_buildings, changed_buildings = self._diff_buildings()
        self.report.buildings_created = len(new_buildings)
        self.report.buildings_updated = len(changed_buildings)
        new_households, changed_households = self._diff_households()
        self.report.households_created = len(new_households)
        self.report.households_updated = len(changed_households)
        new_people, changed_people = self._diff_people()
        self.report.people_created = len(new_people)
        self.report.people_updated = len(changed_people)
        new_contacts, changed_contacts = self._diff_contacts()
        self.report.contacts_created = len(new_contacts)
        self.report.contacts_updated = len(changed_contacts)

    # -- planning and writing ---------------------------------------------------------------

    async def run(self) -> None:
        if self.state.estate is None:
            self.state.estate = await Estate.create(name=self.report.estate)
            self.report.estate_created = True
        new_buildings, changed_buildings = self._diff_buildings()
        if new_buildings:
            await Building.bulk_create(new_buildings)
            await _load_buildings(self.state)
        if changed_buildings:
            await Building.bulk_update(changed_buildings, ["floors"], _BATCH)
        self.report.buildings_created = len(new_buildings)
        self.report.buildings_updated = len(changed_buildings)
        building_ids = [self.state.buildings[b].id for b, _ in self.by_household]
        building_ids = sorted(set(building_ids))

        new_households, changed_households = self._diff_households()
        if new_households:
            await Household.bulk_create(new_households)
            await _load_below(self.state, building_ids)
        if changed_households:
            await Household.bulk_update(changed_households, _HOUSEHOLD_FIELDS, _BATCH)
        self.report.households_created = len(new_households)
        self.report.households_updated = len(changed_households)

        new_people, changed_people = self._diff_people()
        if new_people:
            await Person.bulk_create(new_people)
        if changed_people:
            await Person.bulk_update(changed_people, _PERSON_FIELDS, _BATCH)
        if new_people:
            await _load_below(self.state, building_ids)
        self.report.people_created = len(new_people)
        self.report.people_updated = len(changed_people)

        new_contacts, changed_contacts = self._diff_contacts()
        if new_contacts:
            await Contact.bulk_create(new_contacts)
        for contact in changed_contacts:  # rare; save() sets updated_at when it is listed
            await contact.save(update_fields=_CONTACT_FIELDS)
        self.report.contacts_created = len(new_contacts)
        self.report.contacts_updated = len(changed_contacts)

    # -- diffs: each returns (new unsaved objects, changed objects) --------------------------

    def _diff_buildings(self) -> tuple[list[Building], list[Building]]:
        floors: dict[int, int] = defaultdict(int)
        for (number, _), rows in self.by_household.items():
            floors[number] = max(floors[number], *(row.floor for row in rows))
        estate_id = self.state.estate.id if self.state.estate is not None else 0
        new: list[Building] = []
        changed: list[Building] = []
        for number, top in sorted(floors.items()):
            building = self.state.buildings.get(number)
            if building is None:
                new.append(Building(estate_id=estate_id, number=number, floors=top))
            elif building.floors < top:
                building.floors = top
                changed.append(building)
        return new, changed

    def _diff_households(self) -> tuple[list[Household], list[Household]]:
        new: list[Household] = []
        changed: list[Household] = []
        for key, rows in self.by_household.items():
            household = self.state.households.get(key)
            existing = self.state.people.get(household.id, []) if household else []
            flags = _household_flags(_merge_people(existing, rows), self.today)
            flags["floor"] = rows[0].floor
            if household is None:
                building = self.state.buildings.get(key[0])
                new.append(
                    Household(
                        building_id=building.id if building else 0,
                        room=key[1],
                        **flags,
                    )
                )
            elif _assign(household, flags):
                changed.append(household)
        return new, changed

    def _diff_people(self) -> tuple[list[Person], list[Person]]:
        new: list[Person] = []
        changed: list[Person] = []
        for key, rows in self.by_household.items():
            household = self.state.households.get(key)
            existing = (
                {p.name: p for p in self.state.people.get(household.id, [])} if household else {}
            )
            for row in rows:
                values = _person_values(row)
                person = existing.get(row.name)
                if person is None:
                    new.append(
                        Person(
                            household_id=household.id if household else 0, name=row.name, **values
                        )
                    )
                elif _assign(person, values):
                    changed.append(person)
        return new, changed

    def _diff_contacts(self) -> tuple[list[Contact], list[Contact]]:
        new: list[Contact] = []
        changed: list[Contact] = []
        for key, rows in self.by_household.items():
            household = self.state.households.get(key)
            people = (
                {p.name: p for p in self.state.people.get(household.id, [])} if household else {}
            )
            contacts = self.state.contacts.get(household.id, []) if household else []
            wanted: dict[tuple[str, str], ResidentRow] = {}
            for row in rows:
                if row.phone is not None:
                    channel = "voice" if row.channel == "voice" else "sms"
                    wanted.setdefault((channel, row.phone), row)
            by_key = {(c.channel, c.address): c for c in contacts}
            for (channel, address), row in wanted.items():
                person = people.get(row.name)
                values = {
                    "person_id": person.id if person else None,
                    "language": row.language,
                }
                contact = by_key.get((channel, address))
                if contact is None:
                    new.append(
                        Contact(
                            household_id=household.id if household else 0,
                            channel=channel,
                            address=address,
                            **values,
                        )
                    )
                    continue
                if contact.status == "unreachable" and contact.status_reason == REPLACED_BY_IMPORT:
                    values.update(status="active", status_reason="")
                if _assign(contact, values):
                    changed.append(contact)
            named = {people[row.name].id for row in rows if row.name in people}
            for contact in contacts:
                if (
                    contact.person_id in named  # type: ignore[attr-defined]
                    and contact.channel in ("sms", "voice")
                    and contact.status == "active"
                    and (contact.channel, contact.address) not in wanted
                ):
                    contact.status = "unreachable"
                    contact.status_reason = REPLACED_BY_IMPORT
                    changed.append(contact)
        return new, changed


_HOUSEHOLD_FIELDS = [
    "floor",
    "elderly",
    "lives_alone",
    "home_bound",
    "language",
    "preferred_channel",
]
_PERSON_FIELDS = ["birth_year", "phone", "channel", "language", "home_bound", "notes"]
_CONTACT_FIELDS = ["person_id", "language", "status", "status_reason", "updated_at"]


def _person_values(row: ResidentRow) -> dict[str, Any]:
    return {
        "birth_year": row.birth_year,
        "phone": row.phone,
        "channel": row.channel,
        "language": row.language,
        "home_bound": row.home_bound,
        "notes": row.notes,
    }


def _assign(obj: Any, values: dict[str, Any]) -> bool:
    """Set ``values`` on ``obj``; True when anything differed."""
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _merge_people(existing: Iterable[Person], rows: Sequence[ResidentRow]) -> list[_PersonView]:
    """The household's people after the import: existing ones (by id) first, then new rows."""
    from_file = {row.name: row for row in rows}
    merged: list[_PersonView] = []
    for person in existing:
        row = from_file.pop(person.name, None)
        if row is not None:
            merged.append(_view(row))
        else:
            merged.append(
                _PersonView(
                    person.birth_year,
                    person.phone,
                    person.channel,
                    person.language,
                    person.home_bound,
                )
            )
    merged.extend(_view(row) for row in rows if row.name in from_file)
    return merged


def _view(row: ResidentRow) -> _PersonView:
    return _PersonView(row.birth_year, row.phone, row.channel, row.language, row.home_bound)


def _household_flags(people: Sequence[_PersonView], today: date) -> dict[str, Any]:
    channels = {p.channel for p in people if p.phone} | {
        p.channel for p in people if p.channel == "telegram"
    }
    if "telegram" in channels:
        preferred = "telegram"
    elif "sms" in channels:
        preferred = "sms"
    elif "voice" in channels:
        preferred = "voice"
    else:
        preferred = "none"
    return {
        "elderly": any(
            p.birth_year is not None and today.year - p.birth_year >= ELDERLY_AGE for p in people
        ),
        "lives_alone": len(people) == 1,
        "home_bound": any(p.home_bound for p in people),
        "language": people[0].language,  # a household in the file has a person
        "preferred_channel": preferred,
    }
