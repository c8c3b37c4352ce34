"""The demo estate: shaped like the real one, deterministic, idempotent, importable.

- the rows are deterministic from the seed; the estate's shape and people are like the real one;
- seeding stores exactly the rows (buildings at their real heights, households, people, contacts,
  and flags the report counts), and seeding again changes nothing;
- the demo CSV imports to the same estate as seeding it.

The database tests seed a smaller demo (SMALL households in the same 25 buildings): what they
prove does not depend on its size, and the shape of the full one is checked on its rows.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from estate.demo import demo_rows, seed_demo, write_demo_csv
from estate.importing.residents import import_residents
from estate.models import ELDERLY_AGE, Building, Household
from estate.phones import normalise_phone
from tests.estate.helpers import TODAY, snapshot

ROWS = demo_rows(7, today=TODAY)
SMALL = 100  # households of the demo the database tests seed: every building and household size


def households(rows: list[dict[str, str]] = ROWS) -> dict[tuple[str, str], list[dict[str, str]]]:
    grouped: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        grouped[(row["building"], row["room"])].append(row)
    return grouped


def is_elderly(row: dict[str, str]) -> bool:
    return TODAY.year - int(row["birth_year"]) >= ELDERLY_AGE


def test_deterministic_from_seed() -> None:
    assert demo_rows(7, today=TODAY) == ROWS
    assert demo_rows(8, today=TODAY) != ROWS


def test_shape_of_the_estate() -> None:
    homes = households()
    assert {row["building"] for row in ROWS} == {str(n) for n in range(1, 26)}
    assert 1700 <= len(homes) <= 1900
    assert 4700 <= len(ROWS) <= 5300
    sizes = {len(members) for members in homes.values()}
    assert sizes == {1, 2, 3, 4, 5}
    assert 2.5 <= len(ROWS) / len(homes) <= 3.1
    for building in range(1, 26):
        units = {row["room"][-2:] for row in ROWS if row["building"] == str(building)}
        assert units <= {"01", "02", "03", "04"}
        floors = {int(row["floor"]) for row in ROWS if row["building"] == str(building)}
        assert max(floors) <= 33
    for row in ROWS:
        assert row["room"][:-2] == row["floor"]


def test_people_and_reachability() -> None:
    homes = households()
    elderly = sum(is_elderly(row) for row in ROWS)
    assert 0.20 <= elderly / len(ROWS) <= 0.30
    alone = [m for m in homes.values() if len(m) == 1 and is_elderly(m[0])]
    assert 0.06 <= len(alone) / len(homes) <= 0.10
    telegram = [m for m in homes.values() if any(r["channel"] == "telegram" for r in m)]
    sms = [m for m in homes.values() if m not in telegram and any(r["channel"] == "sms" for r in m)]
    assert 0.25 <= len(sms) / len(homes) <= 0.35
    assert len(telegram) + len(sms) >= 0.97 * len(homes)
    elderly_only = [m for m in homes.values() if all(is_elderly(r) for r in m)]
    elderly_sms = [m for m in elderly_only if m not in telegram]
    assert len(elderly_sms) / len(elderly_only) >= 0.7  # the elderly are mostly SMS-only
    english = [m for m in homes.values() if m[0]["language"] == "en"]
    assert 0.01 <= len(english) / len(homes) <= 0.035
    home_bound = [m for m in homes.values() if any(r["home_bound"] == "yes" for r in m)]
    assert 0 < len(home_bound) / len(homes) <= 0.08


def test_names_and_phones() -> None:
    for members in households().values():
        names = [row["name"] for row in members]
        assert len(set(names)) == len(names)
    phones = [normalise_phone(row["phone"]) for row in ROWS if row["phone"]]
    assert len(set(phones)) == len(phones)
    assert all(phone.startswith("+86138") for phone in phones)
    chinese = [row["name"] for row in ROWS if row["language"] == "zh-CN"]
    assert all(2 <= len(name) <= 4 for name in chinese)


@pytest.mark.usefixtures("db")
async def test_seed_is_idempotent_and_matches_the_rows() -> None:
    rows = demo_rows(7, today=TODAY, households=SMALL)
    homes = households(rows).values()
    report = await seed_demo(today=TODAY, households=SMALL)
    assert not report.already_seeded
    assert report.buildings == 25
    assert report.households == len(homes) == SMALL
    assert report.people == len(rows)
    assert report.contacts == sum(1 for row in rows if row["phone"])
    assert report.elderly_people == sum(is_elderly(row) for row in rows)
    assert report.elderly_alone_households == sum(len(m) == 1 and is_elderly(m[0]) for m in homes)
    telegram = [m for m in homes if any(r["channel"] == "telegram" for r in m)]
    sms = [m for m in homes if m not in telegram and any(r["channel"] == "sms" for r in m)]
    assert (report.telegram_households, report.sms_households) == (len(telegram), len(sms))
    assert report.english_households == sum(m[0]["language"] == "en" for m in homes)
    assert report.home_bound_households == sum(
        any(r["home_bound"] == "yes" for r in m) for m in homes
    )
    assert report.home_bound_households > 0 and report.sms_households > 0
    # Every building at its real height (18-33 floors), not just up to its highest resident.
    floors = [b.floors for b in await Building.all()]
    assert all(18 <= f <= 33 for f in floors) and len(set(floors)) > 5
    assert "seeded" in report.summary()

    before = await snapshot()
    again = await seed_demo(today=TODAY, households=SMALL)
    assert again.already_seeded
    assert "already seeded" in again.summary()
    assert (again.households, again.people, again.contacts) == (
        report.households,
        report.people,
        report.contacts,
    )
    assert await snapshot() == before


@pytest.mark.usefixtures("db")
async def test_demo_csv_imports_to_the_same_estate(tmp_path: Path) -> None:
    path = tmp_path / "demo.csv"
    rows = demo_rows(7, today=TODAY, households=SMALL)
    assert write_demo_csv(path, today=TODAY, households=SMALL) == len(rows)
    assert path.read_bytes().startswith(b"\xef\xbb\xbfbuilding,floor,room,name")
    imported = await import_residents(path, estate_name="csv", today=TODAY)
    seeded = await seed_demo(today=TODAY, households=SMALL)
    assert imported.rows == seeded.people
    assert imported.households_created == seeded.households
    assert imported.contacts_created == seeded.contacts
    flags = ("elderly", "lives_alone", "home_bound", "language", "preferred_channel")
    by_estate = {
        name: sorted(
            await Household.filter(building__estate__name=name).values_list(
                "building__number", "room", "floor", *flags
            )
        )
        for name in ("csv", "demo")
    }
    assert by_estate["csv"] == by_estate["demo"]
