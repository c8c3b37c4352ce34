"""A loopback HTTP server that records every request: a stand-in app for webhooks/callbacks."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from tests.fakes._server import Clock, LoopbackServer


@dataclass
class Recorded:
    """One request the :class:`Recorder` received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    #: Form fields (urlencoded / multipart bodies), else empty.
    form: dict[str, str]

    @property
    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.body.decode("utf-8", "replace")


class Recorder(LoopbackServer):
    """``async with Recorder(status=200) as app:`` records requests to any path.

    ``app.url + "/twilio/status"`` is a valid callback URL; :attr:`requests` lists what arrived;
    every request is answered with :attr:`status` and :attr:`reply`.
    """

    def __init__(self, status: int = 200, reply: str = "", clock: Clock | None = None) -> None:
        super().__init__(clock)
        self.status = status
        self.reply = reply
        self.requests: list[Recorded] = []

    def _routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{tail:.*}", self._record)

    async def _record(self, request: web.Request) -> web.Response:
        body = await request.read()
        form: dict[str, str] = {}
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = {k: str(v) for k, v in (await request.post()).items()}
        self.requests.append(
            Recorded(request.method, request.path_qs, dict(request.headers), body, form)
        )
        return web.Response(status=self.status, text=self.reply)
