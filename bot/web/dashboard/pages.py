"""The estate overview, survey rounds and outbox health pages (each limited to the staff
member's buildings)."""

from __future__ import annotations

import io
from collections import Counter
from datetime import timedelta
from typing import Any

from aiohttp import web
from tortoise.functions import Count
from tortoise.queryset import QuerySet

from bot.web.dashboard.auth import require_some, scope, staff_of
from bot.web.dashboard.context import fragment, lang_of, page, services_of
from bot.web.dashboard.live import stream
from estate.access import audit
from estate.addresses import parse_building_ranges
from estate.models import Building, Contact, Household
from notifications.models import OutboxMessage, Priority
from surveys.definition import DefinitionError, builtin_slugs, load_definition, localize
from surveys.models import Response, Round
from surveys.render import format_value
from surveys.report import FIXED_COLUMNS, build_report, write_xlsx

STATUSES = ("answered", "in_progress", "not_reached", "opted_out")
TELEGRAM_LIKE = {"telegram"}  # a simulator chat ("local") is a rehearsal, not a way to reach anyone
SMS_LIKE = {"sms", "voice"}
NOT_REACHED_SHOWN = 60


def _pct(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


def _visible_numbers(request: web.Request) -> list[int] | None:
    """The staff member's building numbers; None for everything."""
    sc = scope(request)
    return None if sc.everything else sorted(sc.buildings)


# ---- overview ------------------------------------------------------------------------------
async def overview(request: web.Request) -> web.Response:
    numbers = _visible_numbers(request)
    query = Building.all()
    if numbers is not None:
        query = query.filter(number__in=numbers)
    buildings = await query.order_by("number").values_list("id", "number")
    ids = [b for b, _ in buildings]
    households = await Household.filter(building_id__in=ids).values_list("id", "building_id")
    reach: dict[int, set[str]] = {}
    for household_id, channel in await Contact.filter(
        household__building_id__in=ids, status="active"
    ).values_list("household_id", "channel"):
        reach.setdefault(household_id, set()).add(channel)
    rows: dict[int, dict[str, Any]] = {
        bid: {"number": n, "households": 0, "tg": 0, "sms": 0, "none": 0} for bid, n in buildings
    }
    for household_id, building_id in households:
        row = rows[building_id]
        row["households"] += 1
        channels = reach.get(household_id, set())
        if channels & TELEGRAM_LIKE:
            row["tg"] += 1
        elif channels & SMS_LIKE:
            row["sms"] += 1
        else:
            row["none"] += 1
    total: dict[str, Any] = {"households": 0, "tg": 0, "sms": 0, "none": 0}
    for row in rows.values():
        for key in total:
            total[key] += row[key]
    for row in [*rows.values(), total]:
        for key in ("tg", "sms", "none"):
            row[f"pct_{key}"] = _pct(row[key], row["households"])
    services = services_of(request)
    return page(
        request,
        "overview.html",
        {
            "buildings": list(rows.values()),
            "total": total,
            "simulated": ", ".join(sorted(services.simulated)),
        },
    )


# ---- rounds --------------------------------------------------------------------------------
def _round_visible(request: web.Request, round_: Round) -> list[int] | None:
    """The round's buildings this staff member sees (None: every building); 403 if none."""
    targeted = [int(b) for b in round_.buildings or []]
    numbers = _visible_numbers(request)
    if numbers is None:
        return targeted or None
    if not targeted:
        return require_some(request, numbers)
    return require_some(request, targeted)


async def rounds(request: web.Request) -> web.Response:
    numbers = _visible_numbers(request)
    rows = await Round.all().order_by("-id")
    if numbers is not None:
        mine = set(numbers)
        rows = [r for r in rows if not r.buildings or mine & {int(b) for b in r.buildings}]
    return page(request, "rounds.html", {"rounds": rows, "slugs": builtin_slugs()})


async def open_round(request: web.Request) -> web.Response:
    services = services_of(request)
    staff = staff_of(request)
    form = await request.post()
    slug = str(form.get("slug", ""))
    if slug not in builtin_slugs():
        raise web.HTTPBadRequest(text=f"no survey {slug!r}")
    given = str(form.get("buildings", "")).strip()
    try:
        wanted = parse_building_ranges(given) if given else []
    except ValueError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    allowed = require_some(request, wanted)
    if wanted and len(allowed) != len(wanted):
        await audit(
            now=services.clock.now(),
            action="open_round",
            staff=staff,
            target=f"{slug} {wanted}",
            allowed=False,
        )
        raise web.HTTPForbidden(text="not one of your buildings")
    try:
        opened = await services.runtime.open_round(
            slug, buildings=allowed or None, created_by=staff.name
        )
    except DefinitionError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    services.dispatcher.notify()
    await audit(
        now=services.clock.now(),
        action="open_round",
        staff=staff,
        target=f"round {opened.round.id}",
        detail={"households": opened.households, "buildings": allowed},
    )
    raise web.HTTPSeeOther(f"/rounds/{opened.round.id}")


async def _round_or_404(request: web.Request) -> Round:
    try:
        round_id = int(request.match_info["round_id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    round_ = await Round.get_or_none(id=round_id)
    if round_ is None:
        raise web.HTTPNotFound(text="no such round")
    return round_


async def _round_data(request: web.Request, round_: Round) -> tuple[list[str], list[list[Any]]]:
    visible = _round_visible(request, round_)
    report = await build_report(round_.id)
    rows = report.rows
    if visible is not None:
        keep = set(visible)
        rows = [r for r in rows if int(r[0]) in keep]
    return report.columns, rows


async def _round_context(request: web.Request, round_: Round) -> dict[str, Any]:
    columns, rows = await _round_data(request, round_)
    seen: set[tuple[Any, Any, Any]] = set()
    per: dict[int, Counter[str]] = {}
    not_reached: list[tuple[int, str]] = []
    for row in rows:
        key = (row[0], row[1], row[2])
        if key in seen:
            continue
        seen.add(key)
        per.setdefault(int(row[0]), Counter())[row[3]] += 1
        if row[3] == "not_reached":
            not_reached.append((int(row[0]), str(row[2])))
    per_building = []
    total: Counter[str] = Counter()
    for number in sorted(per):
        counts = per[number]
        total.update(counts)
        whole = sum(counts.values())
        per_building.append(
            {
                "number": number,
                "counts": {s: counts.get(s, 0) for s in STATUSES},
                "pct": {s: _pct(counts.get(s, 0), whole) for s in STATUSES},
            }
        )
    summaries = []
    lang = lang_of(request)
    try:
        defn = load_definition(round_.definition)
    except Exception:
        defn = None
    for index, column in enumerate(columns[len(FIXED_COLUMNS) :], start=len(FIXED_COLUMNS)):
        if column.endswith("#"):
            continue
        question = _question(defn, column)
        values: Counter[str] = Counter()
        for row in rows:
            value = row[index]
            if value in (None, ""):
                continue
            if question is None:
                values[str(value)] += 1
                continue
            multiple = question.type == "select_multiple" and isinstance(value, str)
            for item in value.split(";") if multiple else [value]:
                values[format_value(question, item, lang)] += 1
        if values:
            label = localize(question.label, lang) if question is not None else column
            summaries.append({"column": label, "top": values.most_common(6)})
    return {
        "round": round_,
        "statuses": STATUSES,
        "per_building": per_building,
        "total": {s: total.get(s, 0) for s in STATUSES},
        "summaries": summaries,
        "not_reached": not_reached[:NOT_REACHED_SHOWN],
        "not_reached_more": max(0, len(not_reached) - NOT_REACHED_SHOWN),
    }


def _question(defn: Any, column: str) -> Any:
    """The question behind a report column (``name`` or ``group.name``), if any."""
    if defn is None:
        return None
    group_name, _, item = column.partition(".")
    question = defn.question(group_name)
    if question is not None and item:
        return question.item_question(item)
    return question


async def round_page(request: web.Request) -> web.Response:
    round_ = await _round_or_404(request)
    context = await _round_context(request, round_)
    try:
        title = localize(load_definition(round_.definition).title, lang_of(request))
    except Exception:
        title = round_.survey
    return page(request, "round.html", {**context, "title": title})


async def round_live(request: web.Request) -> web.StreamResponse:
    round_ = await _round_or_404(request)
    _round_visible(request, round_)

    async def render() -> str:
        return fragment(request, "_round_live.html", await _round_context(request, round_))

    async def signature() -> object:
        # The report is built again only when a response or a contact's status changed.
        responses = Response.filter(round_id=round_.id)
        stages = (
            await responses.annotate(n=Count("id"))
            .group_by("status", "stage")
            .values_list("status", "stage", "n")
        )
        newest = await responses.order_by("-updated_at").first().values_list("updated_at")
        contacts = await Contact.all().order_by("-updated_at").first().values_list("updated_at")
        opted_out = await Contact.filter(status="opted_out").count()
        return (sorted(stages), newest, contacts, opted_out)

    return await stream(request, render, every=1.0, signature=signature)


async def round_xlsx(request: web.Request) -> web.Response:
    round_ = await _round_or_404(request)
    columns, rows = await _round_data(request, round_)
    buffer = io.BytesIO()
    write_xlsx(buffer, columns, rows, f"round {round_.id}")
    await audit(
        now=services_of(request).clock.now(),
        action="round_xlsx",
        staff=staff_of(request),
        target=f"round {round_.id}",
    )
    return web.Response(
        body=buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="round-{round_.id}.xlsx"'},
    )


# ---- outbox --------------------------------------------------------------------------------
def _outbox(request: web.Request) -> QuerySet[OutboxMessage]:
    numbers = _visible_numbers(request)
    query = OutboxMessage.all()
    if numbers is not None:
        query = query.filter(household__building__number__in=numbers)
    return query


async def _outbox_context(request: web.Request) -> dict[str, Any]:
    now = services_of(request).clock.now()
    waiting_rows = (
        await _outbox(request)
        .filter(status__in=("queued", "claimed"))
        .annotate(n=Count("id"))
        .group_by("priority")
        .values_list("priority", "n")
    )
    waiting_by = {int(p): int(n) for p, n in waiting_rows}
    waiting = [(p.name.lower(), waiting_by.get(int(p), 0)) for p in Priority]
    status_rows = (
        await _outbox(request).annotate(n=Count("id")).group_by("status").values_list("status", "n")
    )
    oldest: Any = (
        await _outbox(request)
        .filter(status__in=("queued", "claimed"), next_attempt_at__lte=now)
        .order_by("created_at")
        .first()
        .values_list("created_at", flat=True)
    )
    age = "—" if oldest is None else f"{max(0.0, (now - oldest).total_seconds()):.0f}s"
    errors = (
        await _outbox(request)
        .filter(error__isnull=False)
        .order_by("-updated_at")
        .limit(10)
        .values_list("updated_at", "channel", "error_code", "error")
    )
    return {
        "waiting": waiting,
        "by_status": sorted((str(s), int(n)) for s, n in status_rows),
        "oldest": age,
        "last_minute": await _outbox(request)
        .filter(sent_at__gte=now - timedelta(minutes=1))
        .count(),
        "last_five": await _outbox(request).filter(sent_at__gte=now - timedelta(minutes=5)).count(),
        "errors": [(at, ch, code or "", err or "") for at, ch, code, err in errors],
    }


async def outbox(request: web.Request) -> web.Response:
    return page(request, "outbox.html", await _outbox_context(request))


async def outbox_live(request: web.Request) -> web.StreamResponse:
    async def render() -> str:
        return fragment(request, "_outbox_live.html", await _outbox_context(request))

    return await stream(request, render, every=2.0)
