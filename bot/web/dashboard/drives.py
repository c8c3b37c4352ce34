"""The call-up (drive) pages: the sampling team's screen. Every building of every point side by
side, each floor numbered with its state (waiting, ready, called, done, skipped, or visited at
home) and its 1/2/3 replies; per point the floor being called, the next call time and the
buttons (next / pause / resume / skip, and cancel); the finish estimate; the door-to-door list.
Live while the drive runs; readable on a phone held by a volunteer downstairs.

Reads the drive rows (through notifications/drives/status.py) that the drive runtime moves on;
a page only reads, so it shows drives started by ``louzhang drive start`` in another process too.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.web.dashboard.auth import require_some, scope, staff_of
from bot.web.dashboard.context import (
    AuditedForbidden,
    fragment,
    lang_of,
    page,
    path_id,
    translate,
)
from bot.web.dashboard.live import stream
from bot.web.dashboard.pages import audience
from bot.web.dashboard.texts import UI
from bot.web.keys import CLOCK, ROUTER
from estate.access import audit
from notifications.drives.control import (
    VERBS,
    audit_action,
    audit_target,
    cancel_refusal,
    pace_refusal,
)
from notifications.drives.runtime import DriveError
from notifications.drives.status import (
    DOOR,
    drive_buildings,
    drive_by_id,
    drive_points,
    find_point,
    load_status,
    recent_drives,
)

STATES = ("waiting", "ready", "called", "done", "skipped", DOOR)
DOOR_SHOWN = 200
SAID = {"next", "pause", "resume", "skip", "cancel"}


async def drives(request: web.Request) -> web.Response:
    sc = scope(request)
    rows = []
    for drive in await recent_drives(50):
        numbers = await drive_buildings(drive.id)
        if sc.everything or (
            sc.allows_estate(drive.estate_id)
            and (any(sc.allows(n) for n in numbers) or await _own_point(request, drive.id))
        ):
            rows.append({"drive": drive, "buildings": numbers})
    return page(request, "drives.html", {"drives": rows, "missing": False})


async def _drive_or_404(request: web.Request) -> Any:
    drive = await drive_by_id(path_id(request, "drive_id"))
    if drive is None:
        raise web.HTTPNotFound(text="no such drive")
    return drive


async def _own_point(request: web.Request, drive_id: int) -> list[int]:
    """A point volunteer's point's buildings in this drive (they steer it; see it too)."""
    staff = staff_of(request)
    if staff.role != "point" or not staff.point:
        return []
    spot = await find_point(drive_id, staff.point)
    return [int(n) for n in spot.buildings] if spot is not None else []


async def _visible(request: web.Request, drive_id: int) -> list[int]:
    """The drive's buildings this staff member sees; 403 when none."""
    numbers = await drive_buildings(drive_id)
    own = await _own_point(request, drive_id)
    if own:
        return sorted(set(scope(request).filter(numbers)) | set(own))
    return require_some(request, numbers) if numbers else []


async def _drive_context(request: web.Request, drive: Any) -> dict[str, Any]:
    if not scope(request).allows_estate(drive.estate_id) and not await _own_point(
        request, drive.id
    ):
        raise web.HTTPForbidden(text="a call-up of another estate")
    visible = await _visible(request, drive.id)
    status = await load_status(drive.id, visible)
    counts = dict.fromkeys(STATES, 0)
    staff, sc = staff_of(request), scope(request)
    points = []
    for point in status.points if status else []:
        for building in point.buildings:
            for row in building.column():
                if row.state:
                    counts[row.state] = counts.get(row.state, 0) + 1
        points.append(point)
    spots = {p.name: p for p in await drive_points(drive.id)}
    steer = {
        name: pace_refusal(staff, sc, spot, drive.estate_id) is None  # type: ignore[attr-defined]
        for name, spot in spots.items()
        if any(p.name == name for p in points)
    }
    door = status.door_to_door if status else []
    return {
        "drive": drive,
        "status": status,
        "running": bool(status and status.running),
        "states": STATES,
        "counts": counts,
        "points": points,
        "steer": steer,
        "may_cancel": await cancel_refusal(staff, sc, drive.id) is None,
        "door": door[:DOOR_SHOWN],
        "door_more": len(door) > DOOR_SHOWN,
        "silent": status.silent[:DOOR_SHOWN] if status else [],
        "reasons": {key for key in UI if key.startswith("reason_")},
        "said": request.query.get("did") if request.query.get("did") in SAID else None,
        "said_point": request.query.get("point", "")[:20],
        "failed": request.query.get("failed", "")[:200],
    }


async def drive_page(request: web.Request) -> web.Response:
    drive = await _drive_or_404(request)
    return page(request, "drive.html", await _drive_context(request, drive))


async def drive_live(request: web.Request) -> web.StreamResponse:
    drive = await _drive_or_404(request)
    await _drive_context(request, drive)  # 403 before the stream starts

    async def render() -> str:
        fresh = await drive_by_id(drive.id) or drive
        return fragment(request, "_drive_live.html", await _drive_context(request, fresh))

    return await stream(request, render, every=1.0, topic=("drive", drive.id, audience(request)))


async def drive_control(request: web.Request) -> web.StreamResponse:
    """A button on the drive page: next / pause / resume / skip at a point, or cancel the
    drive. The same rule, runtime call and audit entry as the Telegram commands."""
    drive = await _drive_or_404(request)
    form = await request.post()
    verb = str(form.get("verb", ""))
    point_name = str(form.get("point", ""))[:20]
    if verb not in VERBS:
        raise web.HTTPBadRequest(text="unknown control")
    staff, sc, clock = staff_of(request), scope(request), request.app[CLOCK]
    target = audit_target(drive.id, verb, point_name)
    if verb == "cancel":
        why = await cancel_refusal(staff, sc, drive.id)
    else:
        spot = await find_point(drive.id, point_name)
        if spot is None:
            raise web.HTTPNotFound(text="no such point")
        why = pace_refusal(staff, sc, spot, drive.estate_id)  # type: ignore[attr-defined]
    if why is not None:
        await audit(
            now=clock.now(),
            action=audit_action(verb),
            staff=staff,
            target=target,
            allowed=False,
            detail={"why": why, "via": "web"},
        )
        raise AuditedForbidden(text=translate(lang_of(request))("forbidden"))
    runtime = request.app[ROUTER].drives
    if runtime is None:
        raise web.HTTPServiceUnavailable(text="call-ups are not running in this service")
    back = request.app.router["drive_page"].url_for(drive_id=str(drive.id))
    try:
        if verb == "next":
            await runtime.call_next(drive.id, point_name)
        elif verb == "pause":
            await runtime.pause(drive.id, point_name)
        elif verb == "resume":
            await runtime.resume(drive.id, point_name)
        elif verb == "skip":
            await runtime.skip(drive.id, point_name)
        else:
            await runtime.cancel(drive.id)
    except DriveError as exc:
        raise web.HTTPSeeOther(back.with_query(failed=exc.describe(lang_of(request)))) from None
    await audit(
        now=clock.now(),
        action=audit_action(verb),
        staff=staff,
        target=target,
        detail={"via": "web"},
    )
    raise web.HTTPSeeOther(back.with_query(did=verb, point=point_name))


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/drives", drives)
    router.add_get(r"/drives/{drive_id:\d+}", drive_page, name="drive_page")
    router.add_get(r"/drives/{drive_id:\d+}/live", drive_live)
    router.add_post(r"/drives/{drive_id:\d+}/control", drive_control)
