"""``GET /media/{name}?exp=..&sig=..``: an audio file played on the phone (Twilio's ``<Play>``
fetches it without a login). Only a URL signed with the service's secret key and not yet
expired gets the file (notifications/media.py); anything else is 403, an unknown file 404."""

from __future__ import annotations

from aiohttp import web

from bot.web.keys import CLOCK, MEDIA, SESSION_KEY
from notifications.media import check_signature, media_path


async def media_file(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    query = request.rel_url.query
    now = request.app[CLOCK].now().timestamp()
    key = request.app[SESSION_KEY]
    if not check_signature(
        key, media_path(name), query.get("exp", ""), query.get("sig", ""), now=now
    ):
        raise web.HTTPForbidden(text="bad or expired signature")
    path = request.app[MEDIA].path(name)
    if path is None:
        raise web.HTTPNotFound()
    return web.FileResponse(
        path, headers={"Content-Type": "audio/mpeg", "Cache-Control": "no-store"}
    )


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/media/{name}", media_file)
