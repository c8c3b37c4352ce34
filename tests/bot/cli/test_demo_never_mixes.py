"""The demo estate never mixes with a committee's real residents (run as a new user would).

Promises:
- while the demo estate is in the database, CLI summaries say so plainly;
- a dry run of the first real import says the import will replace the demo;
- the first real import replaces the demo (estate, demo staff, rounds that only held demo
  households) and says so; a round for everyone afterwards holds exactly the imported households;
- seeding the demo into a database that holds real residents is refused, and changes nothing.
"""

from __future__ import annotations

from pathlib import Path

from tests.bot.cli.test_cli_first_day import run

PEOPLE = (
    "\ufeff楼号,楼层,室号,姓名,电话,出生年份\r\n"
    "1,12,1203室,王芳,138 0013 8000,1980\r\n"
    "2,5,502,张伯,136 0013 6000,1940\r\n"
    "3,3,301,李婆婆,137 0013 7001,1942\r\n"
)


def test_the_first_real_import_replaces_the_demo(tmp_path: Path) -> None:
    seeded = run(tmp_path, "demo", "seed")
    assert seeded.returncode == 0, seeded.stderr
    demo_round = run(tmp_path, "survey", "open", "antigen")
    assert "DEMO DATA" in demo_round.stderr
    assert "1800 households" in demo_round.stdout

    people = tmp_path / "people.csv"
    people.write_bytes(PEOPLE.encode("utf-8"))
    dry = run(tmp_path, "import", "residents", str(people), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "replaces it" in dry.stdout
    done = run(tmp_path, "import", "residents", str(people))
    assert done.returncode == 0, done.stderr
    assert "the demo estate is gone (1800 fake households" in done.stdout

    real = run(tmp_path, "survey", "open", "antigen")
    assert real.returncode == 0, real.stderr
    assert "DEMO DATA" not in real.stderr
    assert "3 households: 3 by sms" in real.stdout
    rounds = run(tmp_path, "survey", "list").stdout
    assert "round 1:" not in rounds  # the demo's round went with the demo
    staff = run(tmp_path, "staff", "list").stdout
    assert "demo-admin" not in staff

    refused = run(tmp_path, "demo", "seed")
    assert refused.returncode == 2
    assert "real residents" in refused.stderr
    again = run(tmp_path, "survey", "open", "medication")
    assert "3 households" in again.stdout


async def test_replacing_the_demo_removes_its_staff_rounds_and_reminders(
    db: str, tmp_path: Path
) -> None:
    """In process: the first-start demo (with its two demo staff) and a round opened on it are
    gone after the replacement; a real household and its staff stay."""
    from datetime import timedelta

    from config.clock import FakeClock
    from estate.first_start import DEMO_STAFF, demo_present, seed_if_empty
    from estate.importing.residents import import_residents
    from estate.models import Household, Staff
    from estate.staff import add_staff
    from notifications.models import Timer
    from surveys.demo import replace_demo
    from surveys.models import Round
    from surveys.reminders import schedule_round
    from surveys.runtime import SurveyRuntime
    from tests.conftest import make_settings

    clock = FakeClock()
    first = await seed_if_empty(clock.now().date())
    assert first is not None and await Staff.filter(name=first.admin.name).exists()
    runtime = SurveyRuntime(clock=clock, settings=make_settings())
    demo_round = await runtime.open_round("antigen", closes_in=timedelta(hours=6))
    await schedule_round(demo_round.round, None, now=clock.now())
    assert await Timer.filter(key__startswith=f"round:{demo_round.round.id}:").exists()

    people = tmp_path / "people.csv"
    people.write_bytes(PEOPLE.encode("utf-8"))
    await import_residents(people, estate_name="default")
    await add_staff("李书记", role="cadre", buildings=[1])
    removed = await replace_demo()

    assert removed is not None and removed.households == 1800
    assert sorted(removed.staff) == sorted(name for name, *_ in DEMO_STAFF)
    assert not await demo_present()
    assert await Household.all().count() == 3
    assert [s.name for s in await Staff.all()] == ["李书记"]
    assert not await Round.filter(id=demo_round.round.id).exists()
    assert not await Timer.filter(key__startswith=f"round:{demo_round.round.id}:").exists()
    assert await replace_demo() is None  # nothing left to replace
