"""The estate overview, survey rounds and outbox health pages (each limited to the staff
member's buildings)."""

from __future__ import annotations

import io
import secrets
from collections import Counter
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.web.dashboard.auth import require_some, scope, staff_of
from bot.web.dashboard.context import fragment, lang_of, page, path_id
from bot.web.dashboard.live import stream
from bot.web.keys import CLOCK, DISPATCHER, RUNTIME, SETTINGS, SIMULATED
from estate.access import audit
from estate.addresses import parse_building_ranges
from estate.contacts import reach_by_building
from notifications.media import RecordingUnavailable, fetch_recording
from notifications.status import outbox_summary
from surveys.alerts import alerts_sent
from surveys.definition import DefinitionError, builtin_slugs, load_definition, localize
from surveys.models import Round
from surveys.positives import positive_list
from surveys.preview import channel_name, preview_round, voice_line
from surveys.recordings import recent_messages, recording_with_building, round_recordings
from surveys.reminders import schedule_round
from surveys.render import format_value
from surveys.report import (
    CALL_STATUSES,
    FIXED_COLUMNS,
    REPORT_STATUSES,
    build_report,
    round_by_id,
    round_signature,
    rounds_newest_first,
    write_people_xlsx,
)
from surveys.runtime import IDLE_BEFORE_NEWER

STATUSES = REPORT_STATUSES
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
    reach = await reach_by_building(
        _visible_numbers(request), TELEGRAM_LIKE, SMS_LIKE, estate=scope(request).estate
    )
    rows = [
        {
            "number": r.number,
            "households": r.households,
            "tg": r.telegram,
            "sms": r.sms,
            "none": r.none,
        }
        for r in reach
    ]
    total: dict[str, Any] = {"households": 0, "tg": 0, "sms": 0, "none": 0}
    for row in rows:
        for key in total:
            total[key] += row[key]
    for row in [*rows, total]:
        for key in ("tg", "sms", "none"):
            row[f"pct_{key}"] = _pct(row[key], row["households"])
    tz = ZoneInfo(request.app[SETTINGS].timezone)
    messages = [
        {
            "id": m.id,
            "building": m.building,
            "room": m.room,
            "at": m.at.astimezone(tz).strftime("%m-%d %H:%M"),
            "duration": m.duration,
        }
        for m in await recent_messages(_visible_numbers(request))
    ]
    return page(
        request,
        "overview.html",
        {
            "buildings": rows,
            "total": total,
            "simulated": ", ".join(sorted(_simulated(request))),
            "alerts": [
                {
                    "at": _local(request, a.at),
                    "address": a.address,
                    "round": a.round_id,
                    "text": a.text,
                    "told": a.told,
                }
                for a in await alerts_sent(_visible_numbers(request), lang_of(request))
            ],
            "messages": messages,
        },
    )


# ---- rounds --------------------------------------------------------------------------------
def _round_visible(request: web.Request, round_: Round) -> list[int] | None:
    """The round's buildings this staff member sees (None: every building); 403 if none."""
    targeted = [int(b) for b in round_.buildings or []]
    numbers = _visible_numbers(request)
    if not scope(request).allows_estate(round_.estate_id):
        raise web.HTTPForbidden(text="a round of another estate")
    if numbers is None:
        return targeted or None
    if not targeted:
        return require_some(request, numbers)
    return require_some(request, targeted)


async def rounds(request: web.Request) -> web.Response:
    numbers = _visible_numbers(request)
    rows = await rounds_newest_first()
    if numbers is not None:
        mine, sc = set(numbers), scope(request)
        rows = [
            r
            for r in rows
            if sc.allows_estate(r.estate_id)
            and (not r.buildings or mine & {int(b) for b in r.buildings})
        ]
    return page(
        request,
        "rounds.html",
        {"rounds": rows, "slugs": builtin_slugs(), "deadline_hours": DEADLINE_HOURS},
    )


DEADLINE_HOURS = (2, 4, 6, 12, 24)
# The preview tokens of this app already confirmed: a double click opens one round.
CONFIRMED: web.AppKey[set[str]] = web.AppKey("round_confirm_tokens")


async def open_round(request: web.Request) -> web.Response:
    """The round form: without ``confirm`` it shows the preview (nothing is sent); the
    preview's confirm button posts the same fields with ``confirm`` and opens the round."""
    clock = request.app[CLOCK]
    staff = staff_of(request)
    form = await request.post()
    slug = str(form.get("slug", ""))
    if slug not in builtin_slugs():
        raise web.HTTPBadRequest(text=f"no survey {slug!r}")
    given = str(form.get("buildings", "")).strip()
    try:
        wanted = parse_building_ranges(given) if given else []
        hours = int(str(form.get("hours", "") or 0))
    except ValueError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    if hours and hours not in DEADLINE_HOURS:
        raise web.HTTPBadRequest(text="deadline: pick one of the offered hours")
    allowed = require_some(request, wanted)
    if wanted and len(allowed) != len(wanted):  # audited like every refusal (audit_refusals)
        outside = ",".join(str(b) for b in wanted if b not in allowed)
        raise web.HTTPForbidden(text=f"not one of your buildings: {outside}")
    closes_in = timedelta(hours=hours) if hours else None
    runtime = request.app[RUNTIME]
    if str(form.get("confirm", "")) != "1":
        return await _preview(request, slug, given, allowed, hours, closes_in)
    token = str(form.get("token", ""))[:64]
    confirmed = request.app[CONFIRMED]
    if token and token in confirmed:
        raise web.HTTPSeeOther("/rounds")  # the confirm button pressed twice
    if token:
        confirmed.add(token)  # before opening: a second click arriving meanwhile is refused
    try:
        opened = await runtime.open_round(
            slug,
            buildings=allowed or None,
            closes_in=closes_in,
            created_by=staff.name,
            estate=scope(request).estate,
        )
    except DefinitionError as exc:
        confirmed.discard(token)
        raise web.HTTPBadRequest(text=str(exc)) from None
    if opened.round.closes_at is not None:
        await schedule_round(opened.round, None, now=clock.now())
    request.app[DISPATCHER].notify()
    await audit(
        now=clock.now(),
        action="open_round",
        staff=staff,
        target=f"round {opened.round.id}",
        detail={
            "households": opened.households,
            "buildings": allowed,
            "hours": hours,
            "sms_segments": opened.sms_segments,
        },
    )
    raise web.HTTPSeeOther(f"/rounds/{opened.round.id}")


async def _preview(
    request: web.Request,
    slug: str,
    given: str,
    allowed: list[int],
    hours: int,
    closes_in: timedelta | None,
) -> web.Response:
    runtime = request.app[RUNTIME]
    lang = lang_of(request)
    try:
        preview = await preview_round(
            runtime,
            slug,
            buildings=allowed or None,
            closes_in=closes_in,
            estate=scope(request).estate,
        )
    except DefinitionError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    title = localize(preview.definition.title, lang) if preview.definition else slug
    return page(
        request,
        "round_preview.html",
        {
            "slug": slug,
            "title": title,
            "given": given,
            "hours": hours,
            "preview": preview,
            "every": preview.every_building,
            "mine_by_default": not given and not preview.every_building,
            "covered": ",".join(map(str, preview.covered)),
            "channels": [(channel_name(c, lang), n) for c, n in sorted(preview.by_channel.items())],
            "ahead_of": sorted(preview.ahead_of.items()),
            "cost": f"{preview.sms_cost:.2f}",
            "voice": voice_line(preview, lang),
            "idle_minutes": int(IDLE_BEFORE_NEWER.total_seconds() // 60),
            "closes_at": _local(request, preview.closes_at),
            "reminders_at": [_local(request, at) for at in preview.reminders_at],
            "token": secrets.token_urlsafe(12),
        },
    )


def _local(request: web.Request, at: Any) -> str:
    if at is None:
        return ""
    return str(at.astimezone(request.app[RUNTIME].tz).strftime("%m-%d %H:%M"))


async def _round_or_404(request: web.Request) -> Round:
    round_ = await round_by_id(path_id(request, "round_id"))
    if round_ is None:
        raise web.HTTPNotFound(text="no such round")
    return round_


async def _round_data(request: web.Request, round_: Round) -> tuple[list[str], list[list[Any]]]:
    # Built for the staff member's buildings only: the live page rebuilds it on every change.
    report = await build_report(
        round_.id, buildings=_round_visible(request, round_), estate=scope(request).estate
    )
    return report.columns, report.rows


async def _round_context(request: web.Request, round_: Round) -> dict[str, Any]:
    columns, rows = await _round_data(request, round_)
    seen: set[tuple[Any, Any, Any]] = set()
    per: dict[int, Counter[str]] = {}
    # households to call: (building, room, status, round it waits behind or "")
    not_reached: list[tuple[int, str, str, Any]] = []
    behind = FIXED_COLUMNS.index("waiting_behind")
    for row in rows:
        key = (row[0], row[1], row[2])
        if key in seen:
            continue
        seen.add(key)
        per.setdefault(int(row[0]), Counter())[row[3]] += 1
        if row[3] in CALL_STATUSES:
            not_reached.append((int(row[0]), str(row[2]), str(row[3]), row[behind]))
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
    positives = [
        {
            "address": p.address,
            "floor": p.floor,
            "count": p.count,
            "at": _local(request, p.at),
            "by": p.by,
            "proxy": p.proxy,
        }
        for p in await positive_list(round_.id, _round_visible(request, round_))
    ]
    return {
        "round": round_,
        "positives": positives,
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
    lang = lang_of(request)
    try:
        defn = load_definition(round_.definition)
        title = localize(defn.title, lang)
    except Exception:
        defn, title = None, round_.survey
    recordings = []
    for row in await round_recordings(round_.id, _round_visible(request, round_)):
        question = _question(defn, row.question)
        recordings.append(
            {
                "id": row.id,
                "building": row.building,
                "room": row.room,
                "question": localize(question.label, lang) if question else row.question,
                "item": row.item,
                "duration": row.duration,
            }
        )
    return page(request, "round.html", {**context, "title": title, "recordings": recordings})


async def recording_audio(request: web.Request) -> web.Response:
    """A message a resident left by phone (overview page): its audio, for staff whose
    buildings include the household's (403 otherwise); audited."""
    row = await recording_with_building(int(request.match_info["recording_id"]))
    if row is None:
        raise web.HTTPNotFound(text="no such recording")
    return await _play(request, row, round_id=None)


async def _play(request: web.Request, row: Any, *, round_id: int | None) -> web.Response:
    sc = scope(request)
    allowed = sc.everything or row.building in sc.buildings
    await audit(
        now=request.app[CLOCK].now(),
        action="play_recording",
        staff=staff_of(request),
        target=f"recording {row.id}",
        allowed=allowed,
        detail={"building": row.building, "round": round_id},
    )
    if not allowed:
        raise web.HTTPForbidden(text="not one of your buildings")
    try:
        audio = await fetch_recording(row.url, request.app[SETTINGS])
    except RecordingUnavailable as exc:
        raise web.HTTPBadGateway(text=f"recording unavailable: {exc}") from None
    return web.Response(
        body=audio, content_type="audio/mpeg", headers={"Cache-Control": "private, no-store"}
    )


async def round_recording(request: web.Request) -> web.Response:
    """One recorded answer's audio, fetched from Twilio for a staff member whose buildings
    include the household's (403 otherwise); audited."""
    round_ = await _round_or_404(request)
    _round_visible(request, round_)
    row = await recording_with_building(int(request.match_info["recording_id"]))
    if row is None or row.round_id != round_.id:
        raise web.HTTPNotFound(text="no such recording")
    return await _play(request, row, round_id=round_.id)


async def round_live(request: web.Request) -> web.StreamResponse:
    round_ = await _round_or_404(request)
    _round_visible(request, round_)

    async def render() -> str:
        return fragment(request, "_round_live.html", await _round_context(request, round_))

    async def signature() -> object:
        # The report is built again only when a response or a contact's status changed.
        return await round_signature(round_.id)

    # One build per change for everyone who sees the same buildings in the same language.
    topic = ("round", round_.id, audience(request))
    return await stream(
        request,
        render,
        every=1.0,
        signature=signature,
        topic=topic,
        signature_key=("round", round_.id),
    )


async def round_xlsx(request: web.Request) -> web.Response:
    round_ = await _round_or_404(request)
    visible = _round_visible(request, round_)
    report = await build_report(round_.id, buildings=visible, estate=scope(request).estate)
    buffer = io.BytesIO()
    write_people_xlsx(report, buffer, lang_of(request))
    await audit(
        now=request.app[CLOCK].now(),
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
async def _outbox_context(request: web.Request) -> dict[str, Any]:
    now = request.app[CLOCK].now()
    minute, five = timedelta(minutes=1), timedelta(minutes=5)
    summary = await outbox_summary(
        now,
        buildings=_visible_numbers(request),
        sent_within=(minute, five),
        estate=scope(request).estate,
    )
    oldest = summary.oldest_waiting_seconds
    return {
        "waiting": summary.waiting_by_priority(),
        "by_status": sorted(summary.by_status().items()),
        "oldest": "—" if oldest is None else f"{oldest:.0f}s",
        "last_minute": summary.sent_within[minute],
        "last_five": summary.sent_within[five],
        "errors": summary.last_errors,
    }


async def outbox(request: web.Request) -> web.Response:
    return page(request, "outbox.html", await _outbox_context(request))


async def outbox_live(request: web.Request) -> web.StreamResponse:
    async def render() -> str:
        return fragment(request, "_outbox_live.html", await _outbox_context(request))

    return await stream(request, render, every=2.0, topic=("outbox", audience(request)))


def audience(request: web.Request) -> tuple[str, str]:
    """What a live fragment depends on besides its object: the buildings seen, the language."""
    return repr(scope(request)), lang_of(request)


def _simulated(request: web.Request) -> frozenset[str]:
    simulated: frozenset[str] = request.app[SIMULATED]
    return simulated
