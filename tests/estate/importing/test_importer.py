"""Importing resident files into the registry (estate/importer.py): whole or not at all, and
idempotent. The promises (the checks of single rows: tests/estate/importing/test_importer_checks.py):

- real-world files are read: Excel's CSV (BOM, CRLF), GB18030/GBK, UTF-16, ``,`` ``;`` or tab,
  XLSX with numbers as floats; Chinese or English headers in many spellings; ``1203室``,
  ``7号楼``, phones with spaces, dashes and +86, full-width digits, zero-width characters;
- every problem is reported at once, with its file line (header = 1; blank lines and quoted
  multi-line cells counted), and a file with any problem imports nothing (not even its good rows);
- buildings, households and people are matched by building, room and name: a re-import changes
  nothing, a changed file updates in place (no duplicates), people absent from the file are kept;
- a building's floors only grow; a room found in several entrances maps to the one without an
  entrance;
- one contact per phone per household (voice or sms; telegram people get sms); a replaced
  number is retired (unreachable, "replaced by import", its change time set) and revived when it
  comes back;
  opted-out and Telegram contacts are never touched, nor is a number the carrier rejected;
- household flags come from all its people: elderly (60+ this year), lives alone, home-bound,
  the first person's language, preferred channel telegram > sms > voice > none (people kept
  from before count with their age, phone, language and needs);
- a dry run counts the people of a household that exists but has nobody in it yet;
- a refused file is named in the refusal; phones are read in the region asked for;
- a dry run writes nothing and counts the same; the summary says what was (or would be) done;
- estates are separate.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from estate.importing.residents import (
    REPLACED_BY_IMPORT,
    ImportProblems,
    ImportReport,
    import_residents,
)
from estate.models import Building, Contact, Estate, Household, Person
from tests.estate.helpers import TODAY, snapshot

pytestmark = pytest.mark.usefixtures("db")

# Saved by Excel: BOM, CRLF, Chinese headers, rooms with 室, phones with spaces.
GOOD_CSV = (
    "\ufeff楼号,室号,姓名,电话,出生年份,渠道,语言,行动不便,备注\r\n"
    "7号楼,1203室,王建国,138 0013 8000,1948,,,是,需上门\r\n"  # elderly, home-bound, sms
    "7号楼,1203室,王小明,+86 139-0013-8000,1985,Telegram,,,\r\n"  # telegram
    "7号楼,1203室,王乐乐,,2015,,,,\r\n"  # child, no phone
    "7,302,张奶奶,021 6234 5678,1940,voice,,,\r\n"  # elderly alone, landline by voice
    "8,2801,John Smith,13800138001,1980,sms,English,no,\r\n"
    "8,2802,李四,,1990,,,,\r\n"  # nobody reachable
)


def write(tmp_path: Path, text: str, name: str = "residents.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


async def run(path: Path, **options: object) -> ImportReport:
    return await import_residents(path, today=TODAY, **options)  # type: ignore[arg-type]


def counts(report: ImportReport) -> tuple[int, ...]:
    return (
        report.buildings_created,
        report.households_created,
        report.people_created,
        report.contacts_created,
        report.buildings_updated,
        report.households_updated,
        report.people_updated,
        report.contacts_updated,
    )


async def household(building: int, room: str) -> Household:
    return await Household.get(building__number=building, room=room)


async def test_good_csv(tmp_path: Path) -> None:
    report = await run(write(tmp_path, GOOD_CSV))
    assert report.rows == 6
    assert report.estate_created
    assert counts(report) == (2, 4, 6, 4, 0, 0, 0, 0)
    assert report.changed
    assert "created: 2 buildings, 4 households, 6 people, 4 contacts" in report.summary()
    assert [w.line for w in report.warnings] == []

    estate = await Estate.get(name="default")
    buildings = await Building.filter(estate=estate).order_by("number")
    assert [(b.number, b.floors) for b in buildings] == [(7, 12), (8, 28)]

    wang = await household(7, "1203")
    assert (wang.floor, wang.entrance) == (12, "")
    assert (wang.elderly, wang.lives_alone, wang.home_bound) == (True, False, True)
    assert (wang.language, wang.preferred_channel) == ("zh-CN", "telegram")

    grandma = await household(7, "302")
    assert (grandma.floor, grandma.elderly, grandma.lives_alone) == (3, True, True)
    assert grandma.preferred_channel == "voice"
    smith = await household(8, "2801")
    assert (smith.language, smith.preferred_channel, smith.elderly) == ("en", "sms", False)
    nobody = await household(8, "2802")
    assert nobody.preferred_channel == "none"

    jianguo = await Person.get(name="王建国")
    assert (jianguo.phone, jianguo.channel, jianguo.birth_year) == ("+8613800138000", "sms", 1948)
    assert (jianguo.home_bound, jianguo.notes) == (True, "需上门")
    assert (await Person.get(name="王乐乐")).phone is None

    contacts = {
        (c.channel, c.address, c.person.name, c.language)  # type: ignore[union-attr]
        for c in await Contact.all().prefetch_related("person")
    }
    assert contacts == {
        ("sms", "+8613800138000", "王建国", "zh-CN"),
        ("sms", "+8613900138000", "王小明", "zh-CN"),  # telegram people get an sms fallback
        ("voice", "+862162345678", "张奶奶", "zh-CN"),
        ("sms", "+8613800138001", "John Smith", "en"),
    }


async def test_reimport_changes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_CSV)
    await run(path)
    before = await snapshot()
    again = await run(path)
    assert counts(again) == (0,) * 8
    assert not again.estate_created and not again.changed
    assert "nothing changed" in again.summary()
    assert await snapshot() == before


async def test_dry_run_writes_nothing_and_counts_the_same(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_CSV)
    dry = await run(path, dry_run=True)
    assert await snapshot() == {name: [] for name in await snapshot()}
    assert dry.dry_run and "dry run: nothing was written" in dry.summary()
    real = await run(path)
    assert counts(dry) == counts(real)
    assert dry.estate_created and real.estate_created
    before = await snapshot()
    changed = write(tmp_path, GOOD_CSV.replace("1948", "1949"), name="changed.csv")
    assert counts(await run(changed, dry_run=True))[4:] == (0, 0, 1, 0)
    assert await snapshot() == before


async def test_xlsx_with_numbers_as_excel_stores_them(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["楼号", "楼层", "室号", "姓名", "手机", "出生年份", "渠道", "行动不便"])
    sheet.append([7, 12.0, 1203, "王建国", 13800138000, 1948.0, None, True])
    sheet.append([7, None, "1203室", "王小明", "+86 139 0013 8000", 1985, "TELEGRAM", False])
    sheet.append([])
    sheet.append([8, None, 2801.0, "李四", 13800138001.0, None, "sms", None])
    workbook.create_sheet("ignored").append(["not", "read"])
    path = tmp_path / "residents.xlsx"
    workbook.save(path)

    report = await run(path)
    assert counts(report) == (2, 2, 3, 3, 0, 0, 0, 0)
    people = {p.name: p for p in await Person.all()}
    assert people["王建国"].phone == "+8613800138000"
    assert (people["王建国"].birth_year, people["王建国"].home_bound) == (1948, True)
    assert people["王小明"].channel == "telegram"
    assert people["李四"].phone == "+8613800138001"
    assert (await household(8, "2801")).floor == 28
    assert counts(await run(path)) == (0,) * 8


async def test_xlsx_problems_use_sheet_row_numbers(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["building", "room", "name", "phone"])
    sheet.append([7, 1203, "A", 13800138000])
    sheet.append([None, None, None, None])
    sheet.append([7, 12, "B", 12345])
    path = tmp_path / "residents.xlsx"
    workbook.save(path)
    with pytest.raises(ImportProblems) as caught:
        await run(path)
    assert [(p.line, p.column) for p in caught.value.problems] == [(4, "room"), (4, "phone")]
    assert await Person.all().count() == 0


BROKEN = {
    "wrong header": ("building,rooom,name\n7,1203,A\n", [(1, "header")]),
    "bad phone": (
        "building,room,name,phone\n7,1203,A,138\n7,1204,B,12345\n",
        [(2, "phone"), (3, "phone")],
    ),
    "duplicate person": ("building,room,name\n7,1203,A\n7,1204,B\n7,1203室,A\n", [(4, "name")]),
    "room with no floor": ("building,room,name\n7,1203,A\n7,12,B\n", [(3, "room")]),
    "floor contradiction": ("building,floor,room,name\n7,12,1203,A\n7,11,1204,B\n", [(3, "floor")]),
    "bad channel": (
        "building,room,name,phone,channel\n7,1203,A,13800138000,wechat\n",
        [(2, "channel")],
    ),
    "telegram without phone": ("building,room,name,channel\n7,1203,A,telegram\n", [(2, "phone")]),
    "empty file": ("", [(None, None)]),
    "header only": ("building,room,name\r\n", [(None, None)]),
}


@pytest.mark.parametrize("case", list(BROKEN))
async def test_broken_file_is_rejected_whole(tmp_path: Path, case: str) -> None:
    await run(write(tmp_path, GOOD_CSV, name="good.csv"))
    before = await snapshot()
    text, where = BROKEN[case]  # good rows ride along: none of them may be imported
    with pytest.raises(ImportProblems) as caught:
        await run(write(tmp_path, text))
    assert [(p.line, p.column) for p in caught.value.problems] == where
    assert str(caught.value).startswith("residents.csv: ")
    assert "nothing was imported" in str(caught.value)
    assert await snapshot() == before


async def test_broken_file_imports_none_of_its_good_rows(tmp_path: Path) -> None:
    bad = GOOD_CSV + "9,901,新人,12345,,,,,\r\n"
    with pytest.raises(ImportProblems) as caught:
        await run(write(tmp_path, bad))
    assert [str(p) for p in caught.value.problems] == [
        "line 8: 电话 '12345': not a valid phone number"
    ]
    assert await Estate.all().count() == 0
    assert await Person.all().count() == 0


async def test_gbk_file_is_read_and_its_problems_are_located(tmp_path: Path) -> None:
    text = GOOD_CSV.lstrip("\ufeff")
    assert counts(await run(write(tmp_path, text, encoding="gbk"))) == (2, 4, 6, 4, 0, 0, 0, 0)
    assert await Person.filter(name="王建国").exists()
    before = await snapshot()
    bad = write(tmp_path, text + "7,1203室,王建国,,,,,,\r\n", name="bad.csv", encoding="gbk")
    with pytest.raises(ImportProblems) as caught:
        await run(bad)
    assert [str(p) for p in caught.value.problems] == [
        "line 8: 姓名: duplicate person: 王建国 in 7-1203 is also on line 2"
    ]
    assert await snapshot() == before


async def test_missing_and_unsupported_files(tmp_path: Path) -> None:
    with pytest.raises(ImportProblems, match="file not found"):
        await run(tmp_path / "nope.csv")
    with pytest.raises(ImportProblems, match="unsupported file type"):
        await run(write(tmp_path, "x", name="residents.docx"))
    assert await Estate.all().count() == 0


async def test_changes_are_updates_not_duplicates(tmp_path: Path) -> None:
    await run(write(tmp_path, GOOD_CSV))
    changed = (
        GOOD_CSV.replace("138 0013 8000,1948", "13700137000,1948")  # new number
        .replace("2801,John Smith,13800138001,1980,sms", "2801,John Smith,13800138001,1980,voice")
        .replace("7,302,张奶奶", "7,301,张奶奶")  # moved flat: a new household
    )
    report = await run(write(tmp_path, changed, name="changed.csv"))
    # 张奶奶 in 7-301 is a new person; the old 7-302 row stays (imports never delete).
    assert report.households_created == 1 and report.people_created == 1
    assert report.people_updated == 2
    # New: 137 sms, John's voice, 张奶奶's voice in 301. Updated: the two replaced contacts.
    assert (report.contacts_created, report.contacts_updated) == (3, 2)
    old = await Contact.get(address="+8613800138000")
    assert (old.status, old.status_reason) == ("unreachable", REPLACED_BY_IMPORT)
    john_sms = await Contact.get(address="+8613800138001", channel="sms")
    assert john_sms.status == "unreachable"
    assert (await Contact.get(address="+8613800138001", channel="voice")).status == "active"
    assert (await household(8, "2801")).preferred_channel == "voice"
    assert await Person.filter(name="王建国").count() == 1
    assert counts(await run(write(tmp_path, changed, name="changed.csv"))) == (0,) * 8

    # Back to the first file: the old contacts come back, no duplicates.
    back = await run(write(tmp_path, GOOD_CSV))
    assert back.contacts_created == 0
    revived = await Contact.get(address="+8613800138000")
    assert (revived.status, revived.status_reason) == ("active", "")
    assert (await Contact.get(address="+8613700137000")).status == "unreachable"


async def test_opted_out_and_telegram_contacts_are_left_alone(tmp_path: Path) -> None:
    await run(write(tmp_path, GOOD_CSV))
    sms = await Contact.get(address="+8613800138000")
    sms.status, sms.status_reason = "opted_out", "STOP"
    await sms.save()
    person = await Person.get(name="王小明")
    home = await household(7, "1203")
    await Contact.create(household=home, person=person, channel="telegram", address="4242")
    before = await snapshot()
    assert counts(await run(write(tmp_path, GOOD_CSV))) == (0,) * 8
    assert await snapshot() == before
    changed = GOOD_CSV.replace("138 0013 8000", "13700137000").replace("+86 139-0013-8000", "")
    changed = changed.replace("1985,Telegram", "1985,")
    await run(write(tmp_path, changed, name="changed.csv"))
    assert (await Contact.get(address="+8613800138000")).status == "opted_out"
    assert (await Contact.get(channel="telegram")).status == "active"


async def test_people_outside_the_file_are_kept_and_count_for_flags(tmp_path: Path) -> None:
    await run(write(tmp_path, "building,room,name,birth_year\n7,302,张奶奶,1940\n"))
    assert (await household(7, "302")).lives_alone
    home = await household(7, "302")
    await Person.create(household=home, name="张小华", birth_year=1990, channel="telegram")
    report = await run(write(tmp_path, "building,room,name,birth_year\n7,302,张奶奶,1940\n"))
    assert report.households_updated == 1
    home = await household(7, "302")
    assert (home.lives_alone, home.preferred_channel) == (False, "telegram")
    assert await Person.filter(household=home).count() == 2


async def test_building_floors_keep_the_larger_value(tmp_path: Path) -> None:
    await run(write(tmp_path, "building,room,name\n7,1203,A\n"))
    await Building.filter(number=7).update(floors=33)
    report = await run(write(tmp_path, "building,room,name\n7,1203,A\n7,2801,B\n"))
    assert report.buildings_updated == 0
    assert (await Building.get(number=7)).floors == 33
    report = await run(write(tmp_path, "building,room,name\n7,3401,C\n"))
    assert report.buildings_updated == 1
    assert (await Building.get(number=7)).floors == 34


async def test_estates_are_separate(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_CSV)
    await run(path, estate_name="east")
    report = await run(path, estate_name="west")
    assert counts(report)[:4] == (2, 4, 6, 4)
    assert await Estate.all().count() == 2
    assert await Person.all().count() == 12


async def test_elderly_means_60_or_older_this_year(tmp_path: Path) -> None:
    text = "building,room,name,birth_year\n7,301,A,1962\n7,302,B,1963\n7,303,C,\n"
    await run(write(tmp_path, text))  # TODAY is in 2022
    assert [(await household(7, room)).elderly for room in ("301", "302", "303")] == [
        True,
        False,
        False,
    ]


async def test_household_language_is_the_first_persons(tmp_path: Path) -> None:
    text = "building,room,name,language\n7,301,A,en\n7,301,B,zh\n7,302,C,zh\n7,302,D,en\n"
    await run(write(tmp_path, text))
    assert (await household(7, "301")).language == "en"
    assert (await household(7, "302")).language == "zh-CN"


async def test_preferred_channel_order(tmp_path: Path) -> None:
    text = (
        "building,room,name,phone,channel\n"
        "7,301,A,13800138001,voice\n7,301,B,13800138002,sms\n"  # sms over voice
        "7,302,C,,\n7,302,D,02162345678,voice\n"  # voice over nothing
        "7,303,E,13800138003,voice\n7,303,F,13800138004,telegram\n"  # telegram over all
    )
    await run(write(tmp_path, text))
    assert [(await household(7, r)).preferred_channel for r in ("301", "302", "303")] == [
        "sms",
        "voice",
        "telegram",
    ]
    assert not (await household(7, "301")).lives_alone


async def test_one_contact_per_phone_in_a_household(tmp_path: Path) -> None:
    text = (
        "building,room,name,phone,channel\n"
        "7,301,A,13800138001,sms\n7,301,B,13800138001,telegram\n7,301,C,13800138001,voice\n"
    )
    report = await run(write(tmp_path, text))
    assert report.contacts_created == 2
    contacts = {
        (c.channel, c.person.name)  # type: ignore[union-attr]
        for c in await Contact.all().prefetch_related("person")
    }
    assert contacts == {("sms", "A"), ("voice", "C")}


async def test_a_room_in_several_entrances_maps_to_the_one_without(tmp_path: Path) -> None:
    estate = await Estate.create(name="default")
    building = await Building.create(estate=estate, number=7, floors=20)
    east = await Household.create(building=building, floor=3, room="301", entrance="东")
    plain = await Household.create(building=building, floor=3, room="301", entrance="")
    west = await Household.create(building=building, floor=3, room="301", entrance="西")
    report = await run(write(tmp_path, "building,room,name\n7,301,A\n"))
    assert report.households_created == 0
    assert [p.household_id for p in await Person.all()] == [plain.id]  # type: ignore[attr-defined]
    assert await Person.filter(household_id__in=[east.id, west.id]).count() == 0

    other = await Household.create(building=building, floor=4, room="401", entrance="北")
    await Household.create(building=building, floor=4, room="401", entrance="南")
    await run(write(tmp_path, "building,room,name\n7,401,B\n", name="b.csv"))
    assert (await Person.get(name="B")).household_id == other.id  # type: ignore[attr-defined]


async def test_a_person_moved_to_a_new_phone_keeps_one_contact_each(tmp_path: Path) -> None:
    await run(write(tmp_path, "building,room,name,phone\n7,301,A,13800138001\n"))
    first = await Contact.get()
    report = await run(
        write(tmp_path, "building,room,name,phone,language\n7,301,A,13800138001,en\n", "b.csv")
    )
    assert (report.contacts_created, report.contacts_updated, report.people_updated) == (0, 1, 1)
    again = await Contact.get(id=first.id)
    assert (again.language, again.status) == ("en", "active")


async def test_the_summary_says_what_was_done(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_CSV)
    dry = await run(path, dry_run=True)
    assert dry.summary().splitlines() == [
        "residents.csv: 6 rows for estate 'default' (new estate)",
        "  would create: 2 buildings, 4 households, 6 people, 4 contacts",
        "  would update: 0 buildings, 0 households, 0 people, 0 contacts",
        "  dry run: nothing was written",
    ]
    await run(path)
    warned = GOOD_CSV.replace("021 6234 5678,1940,voice", "021 6234 5678,1940,sms")
    report = await run(write(tmp_path, warned, name="w.csv"))
    lines = report.summary().splitlines()
    assert lines[0] == "w.csv: 6 rows for estate 'default'"
    assert lines[1:3] == [
        "  created: 0 buildings, 0 households, 0 people, 1 contacts",
        "  updated: 0 buildings, 1 households, 1 people, 1 contacts",
    ]
    assert lines[3] == "  1 warnings:"
    assert lines[4].startswith("    line 5: 电话 ") and "landline" in lines[4]
    assert len(lines) == 5
    unchanged = ImportReport(estate="e", rows=0)
    assert not unchanged.changed
    for name in (
        "estate_created",
        "buildings_created",
        "buildings_updated",
        "households_created",
        "households_updated",
        "people_created",
        "people_updated",
        "contacts_created",
        "contacts_updated",
    ):
        report = ImportReport(estate="e", rows=0)
        setattr(report, name, 1)
        assert report.changed, name


async def test_a_dry_run_on_a_known_estate_counts_updates(tmp_path: Path) -> None:
    await run(write(tmp_path, GOOD_CSV))
    await Building.filter(number=7).update(floors=5)
    changed = GOOD_CSV.replace("8,2802,李四,,1990", "8,2802,李四,13800138009,1990")
    changed += "9,101,新人,,,,,,\r\n"
    before = await snapshot()
    dry = await run(write(tmp_path, changed, name="c.csv"), dry_run=True)
    assert not dry.estate_created
    assert counts(dry) == (1, 1, 1, 1, 1, 1, 1, 0)
    assert await snapshot() == before
    real = await run(write(tmp_path, changed, name="c.csv"))
    assert counts(real) == counts(dry)


async def test_a_number_the_carrier_rejected_is_not_revived_by_an_import(tmp_path: Path) -> None:
    await run(write(tmp_path, "building,room,name,phone\n7,301,A,13800138001\n"))
    contact = await Contact.get()
    contact.status, contact.status_reason = "unreachable", "21211 invalid number"
    await contact.save()
    report = await run(write(tmp_path, "building,room,name,phone\n7,301,A,13800138001\n"))
    assert report.contacts_updated == 0
    again = await Contact.get(id=contact.id)
    assert (again.status, again.status_reason) == ("unreachable", "21211 invalid number")


async def test_people_outside_the_file_keep_their_age_phone_language_and_needs(
    tmp_path: Path,
) -> None:
    header = "building,room,name,phone,birth_year,channel,language,home_bound\n"
    await run(write(tmp_path, header + "7,302,A,13800138000,1940,voice,en,yes\n"))
    await run(write(tmp_path, header + "7,302,B,,1990,,zh,no\n", name="b.csv"))
    home = await household(7, "302")
    assert (home.elderly, home.home_bound, home.language, home.preferred_channel) == (
        True,
        True,
        "en",
        "voice",
    )


async def test_a_dry_run_into_a_known_household_without_people(tmp_path: Path) -> None:
    estate = await Estate.create(name="default")
    building = await Building.create(estate=estate, number=7, floors=12)
    await Household.create(building=building, room="1203", floor=12)
    text = "building,room,name,phone\n7,1203,A,13800138000\n"
    report = await run(write(tmp_path, text), dry_run=True)
    assert (report.people_created, report.contacts_created) == (1, 1)
    assert await Person.all().count() == 0


async def test_phones_are_read_in_the_region_asked_for(tmp_path: Path) -> None:
    await run(write(tmp_path, "building,room,name,phone\n7,1203,A,020 7946 0000\n"), region="GB")
    assert (await Person.get()).phone == "+442079460000"


async def test_a_contact_the_import_retires_shows_when_it_changed(tmp_path: Path) -> None:
    await run(write(tmp_path, "building,room,name,phone\n7,301,A,13800138001\n"))
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    await Contact.all().update(updated_at=long_ago)
    await run(write(tmp_path, "building,room,name,phone\n7,301,A,13800138002\n", "b.csv"))
    retired = await Contact.get(address="+8613800138001")
    assert retired.status == "unreachable" and retired.updated_at > long_ago
