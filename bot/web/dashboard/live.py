"""Server-sent events: a part of a page re-rendered on the server and pushed when it changes.

Open live pages must never slow the webhooks (one SQLite connection serves both), so:

* **Shared builds.** Streams showing the same thing to people who see the same (a *topic*:
  e.g. round 7 for buildings 1-5 in Chinese) share one poller. It checks a cheap signature
  (or, without one, renders) once per ``every`` seconds, however many streams are open; when
  the signature changed it waits :data:`DEBOUNCE` seconds (a burst of answers is one change;
  a topic that keeps changing is rebuilt at most every :data:`MIN_GAP` seconds), builds the
  fragment once and hands the same HTML to every stream of the topic. A signature is
  shared too between topics that name the same ``signature_key`` (the round, whatever the
  buildings). The poller stops with its last stream.
* **Bounded streams per session.** A session keeps at most :data:`MAX_STREAMS_PER_SESSION`
  open streams; opening one more closes its oldest (the page gets an ``event: closed`` and
  stops reconnecting; reloading it resumes). A stream also ends when its session has ended
  (logout, a revoked session): it is checked at every heartbeat.

A stream with a ``wake`` event (the simulator's chat, woken by a local delivery) keeps its own
loop: it renders when woken or every ``every`` seconds, and sends only when the HTML changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field

from aiohttp import web

from bot.web.keys import CLOCK, CSRF_KEY, STAFF_KEY
from estate.logins import session_staff

log = logging.getLogger(__name__)

CLOSING = web.AppKey("dashboard_closing", asyncio.Event)
HEARTBEAT = 15.0
MAX_STREAMS_PER_SESSION = 4  # a few tabs; a page left open 150 times costs no more than this
DEBOUNCE = 0.25  # seconds: changes closer together than this are built once
MIN_GAP = 5.0  # seconds: a topic that keeps changing (answers pouring in) is rebuilt this often

Render = Callable[[], Awaitable[str]]
Signature = Callable[[], Awaitable[object]]


@dataclass(eq=False)
class _Stream:
    session: str
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    version: int = 0  # the topic's build this stream's page shows
    wants: bool = False  # joined a topic without a signature: gets its next render
    closed: bool = False  # closed by the hub: too many streams in the session, or shutting down

    def close(self) -> None:
        self.closed = True
        self.ready.set()


@dataclass(eq=False)
class _Topic:
    key: Hashable
    render: Render
    signature: Signature | None
    signature_key: Hashable | None
    every: float
    streams: set[_Stream] = field(default_factory=set)
    html: str | None = None
    version: int = 0
    seen: object = None  # the signature its last build showed
    task: asyncio.Task[None] | None = None


class LiveHub:
    """Every open stream of one app: per session (bounded) and per topic (shared builds)."""

    def __init__(
        self,
        *,
        max_per_session: int = MAX_STREAMS_PER_SESSION,
        debounce: float = DEBOUNCE,
        min_gap: float = MIN_GAP,
        every: float | None = None,  # tests: poll faster than the pages ask for
        heartbeat: float = HEARTBEAT,
    ) -> None:
        self.max_per_session = max_per_session
        self.debounce = debounce
        self.min_gap = min_gap
        self.every = every
        self.heartbeat = heartbeat
        self.builds = 0  # fragments built by topic pollers (what a benchmark or a test counts)
        self.closing = asyncio.Event()
        self._sessions: dict[str, deque[_Stream]] = {}
        self._topics: dict[Hashable, _Topic] = {}
        self._signatures: dict[Hashable, tuple[float, asyncio.Future[object]]] = {}
        self._alive: dict[str, tuple[float, bool]] = {}  # session -> (checked at, alive)

    # ---- sessions ------------------------------------------------------------------------
    def _open(self, session: str) -> _Stream:
        stream = _Stream(session)
        streams = self._sessions.setdefault(session, deque())
        streams.append(stream)
        while len(streams) > self.max_per_session:
            streams.popleft().close()  # the oldest page of this session stops updating
        return stream

    def _drop(self, stream: _Stream) -> None:
        streams = self._sessions.get(stream.session)
        if streams is not None:
            with contextlib.suppress(ValueError):
                streams.remove(stream)
            if not streams:
                del self._sessions[stream.session]

    def open_streams(self, session: str | None = None) -> int:
        if session is not None:
            return len(self._sessions.get(session, ()))
        return sum(len(s) for s in self._sessions.values())

    def close_session(self, session: str) -> None:
        """Close every stream of a session (it logged out)."""
        for stream in list(self._sessions.get(session, ())):
            stream.close()

    def close_all(self) -> None:
        self.closing.set()
        for streams in list(self._sessions.values()):
            for stream in list(streams):
                stream.close()

    # ---- topics --------------------------------------------------------------------------
    def _join(
        self,
        key: Hashable,
        stream: _Stream,
        render: Render,
        signature: Signature | None,
        signature_key: Hashable | None,
        every: float,
    ) -> _Topic:
        topic = self._topics.get(key)
        if topic is None:
            topic = _Topic(key, render, signature, signature_key, every)
            self._topics[key] = topic
        topic.streams.add(stream)
        if topic.task is None or topic.task.done():
            topic.task = asyncio.create_task(self._poll(topic))
        return topic

    def _leave(self, topic: _Topic, stream: _Stream) -> None:
        topic.streams.discard(stream)
        if not topic.streams:
            if self._topics.get(topic.key) is topic:
                del self._topics[topic.key]
            if topic.task is not None:
                topic.task.cancel()

    async def _signature(self, topic: _Topic, loop_time: float) -> object:
        """The topic's signature; shared for half a period with topics of the same key."""
        assert topic.signature is not None
        if topic.signature_key is None:
            return await topic.signature()
        found = self._signatures.get(topic.signature_key)
        if found is not None and loop_time - found[0] < topic.every / 2:
            return await asyncio.shield(found[1])
        future: asyncio.Future[object] = asyncio.ensure_future(topic.signature())
        self._signatures[topic.signature_key] = (loop_time, future)
        if len(self._signatures) > 1000:
            self._signatures = {k: v for k, v in self._signatures.items() if loop_time - v[0] < 60}
        return await asyncio.shield(future)

    async def _poll(self, topic: _Topic) -> None:
        loop = asyncio.get_running_loop()
        every = self.every or topic.every
        seen: object = object()
        first = True
        built = 0.0
        try:
            while topic.streams and not self.closing.is_set():
                current = (
                    await self._signature(topic, loop.time())
                    if topic.signature is not None
                    else None
                )
                if topic.signature is None or current != seen:
                    if not first and topic.signature is not None:
                        # Let a burst of changes settle, and rebuild a topic that keeps
                        # changing at most every min_gap seconds.
                        await asyncio.sleep(max(self.debounce, built + self.min_gap - loop.time()))
                        current = await topic.signature()
                    html = await topic.render()
                    built = loop.time()
                    self.builds += 1
                    seen, first = current, False
                    topic.seen = current
                    if html != topic.html:
                        topic.html, topic.version = html, topic.version + 1
                    for stream in topic.streams:
                        if stream.wants or stream.version != topic.version:
                            stream.ready.set()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.closing.wait(), timeout=every)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("live topic %r failed", topic.key)
            for stream in list(topic.streams):
                stream.close()


LIVE = web.AppKey("dashboard_live", LiveHub)


def _event(html: str, version: int | None = None) -> bytes:
    """One SSE event; ``version`` (a shared topic's build) is its id, which the browser sends
    back as ``Last-Event-ID`` when it reconnects."""
    head = f"id: {version}\n" if version is not None else ""
    return f"{head}data: {json.dumps({'html': html})}\n\n".encode()


def _last_event_id(request: web.Request) -> int | None:
    value = request.headers.get("Last-Event-ID", "")
    return int(value) if value.isdecimal() and len(value) < 10 else None


CLOSED_EVENT = b"event: closed\ndata: {}\n\n"


async def _session_alive(request: web.Request, hub: LiveHub) -> bool:
    """Does the stream's session still live? Asked at most once per heartbeat per session."""
    staff = request.get(STAFF_KEY)
    csrf = request.get(CSRF_KEY)
    if staff is None or not csrf:
        return True  # not a staff session (tests of bare apps)
    now = asyncio.get_running_loop().time()
    known = hub._alive.get(csrf)
    if known is not None and now - known[0] < hub.heartbeat / 2:
        return known[1]
    alive = await session_staff(csrf, staff.id, request.app[CLOCK].now()) is not None
    if len(hub._alive) > 10_000:
        hub._alive.clear()
    hub._alive[csrf] = (now, alive)
    return alive


async def stream(
    request: web.Request,
    render: Render,
    *,
    wake: asyncio.Event | None = None,
    every: float = 1.0,
    signature: Signature | None = None,
    topic: Hashable | None = None,
    signature_key: Hashable | None = None,
) -> web.StreamResponse:
    """Stream ``render``'s HTML to the page. With ``topic`` (everything the HTML depends on:
    the object, the staff member's buildings, the language), streams of the same topic share
    one poller and one build per change. ``signature``: a cheap query whose result changes when
    the fragment may have; when given, the fragment is rendered again only after it changed."""
    hub = request.app[LIVE]
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    session = str(request.get(CSRF_KEY) or id(request))
    mine = hub._open(session)
    try:
        with contextlib.suppress(ConnectionResetError, asyncio.CancelledError, RuntimeError):
            if topic is not None and wake is None:
                await _shared(request, response, hub, mine, topic, render, signature, every,
                              signature_key)  # fmt: skip
            else:
                await _own(request, response, hub, mine, render, wake, every, signature)
            if mine.closed:
                await response.write(CLOSED_EVENT)
    finally:
        hub._drop(mine)
    return response


async def _quiet_moment(request: web.Request, response: web.StreamResponse) -> bool:
    """A heartbeat: keep the connection open; False when the session has ended meanwhile."""
    if not await _session_alive(request, request.app[LIVE]):
        return False
    await response.write(b": keep-alive\n\n")
    return True


async def _current(hub: LiveHub, topic: _Topic) -> bool:
    """Whether the topic's last build still shows what is (its signature has not moved)."""
    if topic.signature is None:
        return False  # no cheap check: the poller renders it every period anyway
    now = asyncio.get_running_loop().time()
    return bool(await hub._signature(topic, now) == topic.seen)


async def _shared(
    request: web.Request,
    response: web.StreamResponse,
    hub: LiveHub,
    mine: _Stream,
    key: Hashable,
    render: Render,
    signature: Signature | None,
    every: float,
    signature_key: Hashable | None,
) -> None:
    topic = hub._join(key, mine, render, signature, signature_key, every)
    # A late joiner gets the topic's last build at once, but only while it is current: a page
    # served just after a change (a button pressed, the page reloaded) must not have the build
    # from before the change pushed over it; it gets the rebuild the change brings.
    mine.version = _last_event_id(request) or 0
    if topic.html is not None and topic.version != mine.version:
        if await _current(hub, topic):
            mine.ready.set()
        elif topic.signature is None:
            mine.wants = True  # the page gets the poller's next render, a period at most
    try:
        while not mine.closed and not hub.closing.is_set():
            try:
                await asyncio.wait_for(mine.ready.wait(), timeout=hub.heartbeat)
            except TimeoutError:
                if not await _quiet_moment(request, response):
                    mine.close()  # the session has ended: the page stops reconnecting
                    break
                continue
            mine.ready.clear()
            if mine.closed:
                break
            if topic.html is not None and (topic.version != mine.version or mine.wants):
                mine.version, mine.wants = topic.version, False
                await response.write(_event(topic.html, mine.version))
    finally:
        hub._leave(topic, mine)


async def _own(
    request: web.Request,
    response: web.StreamResponse,
    hub: LiveHub,
    mine: _Stream,
    render: Render,
    wake: asyncio.Event | None,
    every: float,
    signature: Signature | None,
) -> None:
    every = hub.every or every
    last: str | None = None
    seen: object = object()
    quiet = 0.0
    while not mine.closed and not hub.closing.is_set():
        html = last
        current = await signature() if signature is not None else None
        if signature is None or current != seen:
            html = await render()
            seen = current
        if html != last:
            await response.write(_event(html or ""))
            last, quiet = html, 0.0
        elif quiet >= hub.heartbeat:
            if not await _quiet_moment(request, response):
                mine.close()
                break
            quiet = 0.0
        waiters = [asyncio.ensure_future(mine.ready.wait())]
        if wake is not None:
            waiters.append(asyncio.ensure_future(wake.wait()))
        _, pending = await asyncio.wait(waiters, timeout=every, return_when="FIRST_COMPLETED")
        for task in pending:
            task.cancel()
        if wake is not None:
            wake.clear()
        quiet += every
