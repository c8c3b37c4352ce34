"""A demo estate shaped like the real one, deterministic from a seed.

25 buildings of 18-33 floors with 2-4 flats a floor (rooms 1201, 1202 ...), about 1,800 occupied
flats and 5,000 residents: household sizes 1-5 (mostly 2-3), about a quarter aged 60+, about 8%
of households an elderly person living alone, about 30% of households SMS-only (mostly the
elderly ones; the rest use Telegram), a few home-bound people, about 2% English-speaking
households, Chinese names, unique mobile numbers +86 138 0000 0001, +86 138 0000 0002, ...
(a recognisably fake run, but real-looking: never seed with live Twilio credentials).

The estate is built as import rows (:func:`demo_rows`) and seeded through the importer's own
checks and bulk writes (:func:`seed_demo`), so the demo also exercises the import path; the same
rows can be written as a CSV (:func:`write_demo_csv`) for tests and benchmarks.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from tortoise.transactions import in_transaction

from estate.importing.residents import (
    COLUMNS,
    Table,
    apply_residents,
    local_day,
    parse_residents,
)
from estate.models import ELDERLY_AGE, Building, Contact, Estate, Household, Person
from estate.phones import normalise_phone

__all__ = ["SeedReport", "demo_rows", "seed_demo", "write_demo_csv"]

BUILDINGS = 25
FLOORS = (18, 33)
FLATS_PER_FLOOR = (2, 3, 4)
HOUSEHOLDS = 1800
FIRST_PHONE = 13800000000
SIZE_WEIGHTS = {1: 12, 2: 30, 3: 30, 4: 18, 5: 10}

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚华玉志文桂英秀国建红梅林海鹏辉亮宁琳佳欣浩宇子涵"
    "轩博雨晨思怡嘉颖凯晓振春德福荣珍淑凤云飞斌颖婷雪慧俊峰成"
)
ENGLISH_FIRST = (
    "James Mary John Linda Robert Susan Michael Karen David Sarah Peter Emma Thomas Anna "
    "Daniel Laura Mark Helen Paul Julia"
).split()
ENGLISH_LAST = "Smith Brown Wilson Taylor Clark Walker Hall Young King Wright Green Baker".split()
HOME_BOUND_NOTE = {"zh-CN": "行动不便，需上门采样", "en": "Cannot leave home; needs a home visit"}


@dataclass(slots=True)
class _Member:
    name: str
    age: int
    phone: bool = True
    channel: str = ""
    home_bound: bool = False


@dataclass(slots=True)
class SeedReport:
    """Totals of the demo estate after seeding (or as found when it was already seeded)."""

    estate: str
    seed: int
    already_seeded: bool
    buildings: int
    households: int
    people: int
    contacts: int
    elderly_people: int
    elderly_households: int
    elderly_alone_households: int
    sms_households: int
    telegram_households: int
    english_households: int
    home_bound_households: int

    def summary(self) -> str:
        state = "already seeded, nothing changed" if self.already_seeded else "seeded"
        return (
            f"demo estate '{self.estate}' {state}: {self.buildings} buildings, "
            f"{self.households} households, {self.people} people ({self.elderly_people} aged "
            f"{ELDERLY_AGE}+), {self.contacts} contacts; households: {self.elderly_households} "
            f"elderly, {self.elderly_alone_households} elderly living alone, "
            f"{self.sms_households} SMS-preferred, {self.telegram_households} Telegram, "
            f"{self.english_households} English-speaking, {self.home_bound_households} home-bound"
        )


def demo_rows(
    seed: int = 7, *, today: date | None = None, households: int = HOUSEHOLDS
) -> list[dict[str, str]]:
    """The demo estate as import rows (keys: :data:`estate.importing.residents.COLUMNS`).

    Deterministic for a given ``seed`` and year; ``today`` (default: the current date) sets
    the year from which birth years are computed, so ages stay the same whatever the year.
    ``households`` shrinks the estate (same buildings, fewer occupied flats) for quick tests.
    """
    return _generate(seed, (today or local_day()).year, households)[1]


def _generate(seed: int, year: int, households: int) -> tuple[dict[int, int], list[dict[str, str]]]:
    """(floors of each building, import rows) for the demo estate."""
    rng = random.Random(seed)
    floors, flats = _flats(rng, households)
    phones = iter(range(FIRST_PHONE + 1, FIRST_PHONE + 100_000))
    rows: list[dict[str, str]] = []
    for building, floor, room in sorted(rng.sample(flats, households)):
        english = rng.random() < 0.02
        members, sms_only = _household(rng, english)
        _assign_channels(rng, members, sms_only)
        language = "en" if english else "zh-CN"
        for member in members:
            phone = ""
            if member.phone:
                digits = str(next(phones))
                normalise_phone(digits)  # raises if the generator ever made an invalid number
                phone = f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}"
            rows.append(
                {
                    "building": str(building),
                    "floor": str(floor),
                    "room": room,
                    "name": member.name,
                    "phone": phone,
                    "birth_year": str(year - member.age),
                    "channel": member.channel,
                    "language": language,
                    "home_bound": "yes" if member.home_bound else "no",
                    "notes": HOME_BOUND_NOTE[language] if member.home_bound else "",
                }
            )
    return floors, rows


def write_demo_csv(
    path: Path, seed: int = 7, *, today: date | None = None, households: int = HOUSEHOLDS
) -> int:
    """Write :func:`demo_rows` as a CSV in the import format (UTF-8 with BOM, as Excel saves it).

    Returns the number of resident rows written.
    """
    rows = demo_rows(seed, today=today, households=households)
    with Path(path).open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(COLUMNS), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


async def seed_demo(
    *, seed: int = 7, today: date, estate_name: str = "demo", households: int = HOUSEHOLDS
) -> SeedReport:
    """Create the demo estate unless ``estate_name`` already has buildings (then report it)."""
    estate = await Estate.filter(name=estate_name).first()
    if estate is not None and await Building.filter(estate_id=estate.id).exists():
        return await _report(estate, seed, today, already_seeded=True)
    floors, rows = _generate(seed, today.year, households)
    table = Table(1, list(COLUMNS), [(i, [r[c] for c in COLUMNS]) for i, r in enumerate(rows, 2)])
    parsed = parse_residents(table, region="CN", today=today)
    if parsed.problems:  # a bug in the generator, not a user error
        raise RuntimeError(f"demo rows failed the import checks: {parsed.problems[:3]}")
    async with in_transaction() as conn:
        await apply_residents(parsed.rows, estate_name=estate_name, today=today)
        estate = await Estate.filter(name=estate_name).using_db(conn).get()
        # Rows only show occupied floors; give every building its real height.
        buildings = await Building.filter(estate_id=estate.id).using_db(conn)
        for building in buildings:
            building.floors = floors[building.number]
        await Building.bulk_update(buildings, ["floors"], using_db=conn)
    return await _report(estate, seed, today, already_seeded=False)


async def _report(estate: Estate, seed: int, today: date, *, already_seeded: bool) -> SeedReport:
    households = Household.filter(building__estate_id=estate.id)
    people = Person.filter(household__building__estate_id=estate.id)
    return SeedReport(
        estate=estate.name,
        seed=seed,
        already_seeded=already_seeded,
        buildings=await Building.filter(estate_id=estate.id).count(),
        households=await households.count(),
        people=await people.count(),
        contacts=await Contact.filter(household__building__estate_id=estate.id).count(),
        elderly_people=await people.filter(birth_year__lte=today.year - ELDERLY_AGE).count(),
        elderly_households=await households.filter(elderly=True).count(),
        elderly_alone_households=await households.filter(elderly=True, lives_alone=True).count(),
        sms_households=await households.filter(preferred_channel="sms").count(),
        telegram_households=await households.filter(preferred_channel="telegram").count(),
        english_households=await households.filter(language="en").count(),
        home_bound_households=await households.filter(home_bound=True).count(),
    )


def _flats(
    rng: random.Random, households: int
) -> tuple[dict[int, int], list[tuple[int, int, str]]]:
    """Floors per building and every flat; redrawn until flats comfortably exceed households."""
    while True:
        heights: dict[int, int] = {}
        flats: list[tuple[int, int, str]] = []
        for building in range(1, BUILDINGS + 1):
            heights[building] = rng.randint(*FLOORS)
            per_floor = rng.choice(FLATS_PER_FLOOR)
            flats.extend(
                (building, floor, f"{floor}{unit:02d}")
                for floor in range(1, heights[building] + 1)
                for unit in range(1, per_floor + 1)
            )
        if len(flats) >= households * 1.05:
            return heights, flats


def _household(rng: random.Random, english: bool) -> tuple[list[_Member], bool]:
    """The members of one household and whether it is SMS-only."""
    size = rng.choices(list(SIZE_WEIGHTS), weights=list(SIZE_WEIGHTS.values()))[0]
    if size == 1:
        ages = [_elderly_age(rng) if rng.random() < 0.62 else rng.randint(22, 59)]
    elif size == 2:
        kind = rng.random()
        if kind < 0.35:
            ages = [_elderly_age(rng), _elderly_age(rng)]
        elif kind < 0.85:
            ages = [rng.randint(25, 59), rng.randint(25, 59)]
        else:
            ages = [rng.randint(30, 59), rng.randint(1, 20)]
    else:
        grandparents = rng.choices([0, 1, 2], weights=[55, 20, 25])[0]
        parents = min(2, size - grandparents)
        children = size - grandparents - parents
        ages = (
            [_elderly_age(rng) for _ in range(grandparents)]
            + [rng.randint(28, 58) for _ in range(parents)]
            + [rng.randint(0, 25) for _ in range(children)]
        )
    elderly_only = all(age >= ELDERLY_AGE for age in ages)
    sms_only = rng.random() < (0.85 if elderly_only else 0.17)
    surname = rng.choice(ENGLISH_LAST) if english else rng.choice(SURNAMES)
    members: list[_Member] = []
    names: set[str] = set()
    for age in ages:
        name = _name(rng, surname, english, names)
        names.add(name)
        members.append(_Member(name=name, age=age))
    return members, sms_only


def _elderly_age(rng: random.Random) -> int:
    return ELDERLY_AGE + int(rng.triangular(0, 35, 4))


def _name(rng: random.Random, surname: str, english: bool, taken: set[str]) -> str:
    while True:
        if english:
            name = f"{rng.choice(ENGLISH_FIRST)} {surname}"
        else:
            family = surname if rng.random() < 0.7 else rng.choice(SURNAMES)  # spouses differ
            given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
            name = family + given
        if name not in taken:
            return name


def _assign_channels(rng: random.Random, members: list[_Member], sms_only: bool) -> None:
    for member in members:
        elderly = member.age >= ELDERLY_AGE
        if member.age < 14:
            member.phone = False
        elif elderly:
            alone_or_couple = all(m.age >= ELDERLY_AGE for m in members)
            member.phone = rng.random() < (0.97 if alone_or_couple else 0.5)
            member.home_bound = rng.random() < (0.25 if member.age >= 80 else 0.02)
        if not member.phone:
            continue
        if sms_only:
            member.channel = "voice" if elderly and rng.random() < 0.05 else "sms"
        else:
            member.channel = "telegram" if rng.random() < (0.25 if elderly else 0.9) else "sms"
    with_phone = [m for m in members if m.phone]
    if not sms_only and with_phone and all(m.channel != "telegram" for m in with_phone):
        min(with_phone, key=lambda m: m.age).channel = "telegram"
