"""The call-up (drive) pages: each building a column of floors coloured by its batch's state
(waiting, ready, called, done, skipped), live while the drive runs, and the door-to-door list.

Reads the drive rows (through notifications/drives/status.py) that the drive runtime moves on;
a page only reads, so it shows drives started by ``louzhang drive start`` in another process too.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.web.dashboard.auth import require_some, scope
from bot.web.dashboard.context import fragment, page
from bot.web.dashboard.live import stream
from bot.web.dashboard.pages import audience
from bot.web.dashboard.texts import UI
from estate.contacts import building_floors
from notifications.drives.status import drive_buildings, drive_by_id, load_status, recent_drives

STATES = ("waiting", "ready", "called", "done", "skipped")
DOOR_SHOWN = 200


async def drives(request: web.Request) -> web.Response:
    sc = scope(request)
    rows = []
    for drive in await recent_drives(50):
        numbers = await drive_buildings(drive.id)
        if sc.everything or any(sc.allows(n) for n in numbers):
            rows.append({"drive": drive, "buildings": numbers})
    return page(request, "drives.html", {"drives": rows, "missing": False})


async def _drive_or_404(request: web.Request) -> Any:
    drive = await drive_by_id(int(request.match_info["drive_id"]))
    if drive is None:
        raise web.HTTPNotFound(text="no such drive")
    return drive


async def _drive_context(request: web.Request, drive: Any) -> dict[str, Any]:
    numbers = await drive_buildings(drive.id)
    visible = require_some(request, numbers) if numbers else []
    status = await load_status(drive.id, visible)
    heights = await building_floors(visible)
    floors_of: dict[int, dict[int, str]] = {}
    counts = dict.fromkeys(STATES, 0)
    points = []
    for point in status.points if status else []:
        points.append(point)
        for building in point.buildings:
            floors_of.setdefault(building.number, {}).update(building.floors)
            for state in building.floors.values():
                counts[state] = counts.get(state, 0) + 1
    columns = []
    for number in visible:
        states = floors_of.get(number, {})
        top = max([int(heights.get(number) or 0), *states])
        columns.append(
            {"number": number, "floors": [(f, states.get(f, "")) for f in range(1, top + 1)]}
        )
    door = status.door_to_door if status else []
    return {
        "drive": drive,
        "states": STATES,
        "counts": counts,
        "points": points,
        "columns": columns,
        "door": door[:DOOR_SHOWN],
        "door_more": len(door) > DOOR_SHOWN,
        "silent": status.silent[:DOOR_SHOWN] if status else [],
        "reasons": {key for key in UI if key.startswith("reason_")},
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


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/drives", drives)
    router.add_get(r"/drives/{drive_id:\d+}", drive_page)
    router.add_get(r"/drives/{drive_id:\d+}/live", drive_live)
