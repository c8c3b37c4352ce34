"""The drive runtime: carries out stored drives on time, takes replies, changes the pace.

One :class:`DriveRuntime` runs in ``louzhang run``. Its loop wakes at the next due moment (a
batch's "get ready" or "come down now", a last call, the end of a slot) or when told that
something changed (a reply, a pace command, a new drive), and :meth:`DriveRuntime.tick` does
whatever is due, in one short transaction per drive: batch states, household parts, timers
and the outbox rows move together, so a crash never half-calls a batch, and idempotency keys
make a repeated tick send nothing twice. The rows are the truth: a restart resumes from them.

Timing rules:

* "Come down now" messages are enqueued at the batch's call time with call-up priority and the
  dispatcher is woken; batches of several points due at once are interleaved so each point's
  first message goes out first.
* A batch found overdue (the service was down) is called now and the rest of its point's
  schedule moves by the delay: nothing due is skipped and residents are never crowded.
* "Get ready" is enqueued at ready time and expires at the call time; a batch called before its
  "get ready" went out never gets it (``ready_dropped``).
* Pace changes (``/next``, ``/pause``, ``/resume``, ``/skip``) rewrite the waiting batches'
  times with the pure functions of :mod:`notifications.drives.planner`.
* Adaptive pace: the next batch is called once ``share`` of the current batch replied 1, never
  sooner than ``min_interval`` after the current call; the plan's slot is ``max_interval``.
* After the last batch of a building at a point, its slot later, households that neither
  replied nor were marked get one last call; one slot after that, those still silent are
  flagged and listed for the building's staff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.transactions import in_transaction

import notifications.drives.planner as planner
from config.clock import Clock
from config.i18n import text
from estate.models import Contact, Staff
from notifications.drives.models import Drive, DriveBatch, DriveHousehold, DrivePoint
from notifications.drives.parse import REPLY_PREFIX
from notifications.drives.setup import contacts_for
from notifications.drives.states import (
    ANNOUNCED,
    DRIVE_MOVES,
    OPEN,
    PENDING,
    BatchState,
    DriveState,
    sources,
)
from notifications.drives.texts import DRIVE_TEXTS, drive_error_text, resident_text
from notifications.message import Button, Message
from notifications.models import OutboxMessage, Priority, Timer
from notifications.outbox import Outgoing, enqueue_many
from notifications.states import TIMER_MOVES, OutboxStatus, TimerStatus
from notifications.states import sources as outbox_sources
from notifications.to_staff import staff_outgoing
from notifications.voice_script import callup_spec

log = logging.getLogger(__name__)

LAST_CALL = "drive_last_call"
SILENT = "drive_silent"
IDLE_GUARD = 0.2
PAUSED_CALLS = timedelta(days=1)  # voice calls of a paused point wait until /resume
POLL = 1.0  # seconds between looks at the database when nothing is due (other processes)


class DriveError(ValueError):
    """A pace command or reply that cannot be done; the message is meant for staff.

    ``str(error)`` is English; :meth:`describe` says it in the staff member's language."""

    def __init__(self, kind: str, **values: object) -> None:
        self.kind = kind
        self.values = values
        super().__init__(drive_error_text(kind, "en", **values))

    def describe(self, lang: str) -> str:
        return drive_error_text(self.kind, lang, **self.values)


@dataclass
class TickResult:
    called: int = 0
    silent: int = 0
    messages: int = 0
    finished: list[int] = field(default_factory=list)


def _reply_buttons(part_id: int, lang: str) -> tuple[tuple[Button, ...], ...]:
    return tuple(
        (Button(text(DRIVE_TEXTS, f"button_{n}", lang), f"{REPLY_PREFIX}{part_id}:{n}"),)
        for n in (1, 2, 3)
    )


def _slot(drive: Drive) -> timedelta:
    seconds = drive.max_interval_s if drive.pace == "adaptive" else drive.interval_s
    return timedelta(seconds=seconds)


def _pace(drive: Drive) -> planner.Pace:
    return planner.Pace(
        slot=_slot(drive),
        lead=timedelta(seconds=drive.lead_s),
        adaptive=drive.pace == "adaptive",
        share=drive.share,
        min_interval=timedelta(seconds=drive.min_interval_s),
    )


def _view(row: DriveBatch, paused: set[str], coming: dict[int, int]) -> planner.BatchView:
    return planner.BatchView(
        id=row.id,
        point=row.point,
        seq=row.seq,
        state=row.state,
        ready_at=row.ready_at,
        call_at=row.call_at,
        called_at=row.called_at,
        households=row.households,
        coming=coming.get(row.id, 0),
        paused=row.point in paused,
    )


def _as_plan_batch(row: DriveBatch) -> planner.Batch:
    return planner.Batch(
        row.point,
        row.seq,
        row.building,
        tuple(row.floors),
        (),
        row.people,
        row.ready_at,
        row.call_at,
        row.part,
        row.parts,
    )


def _replan(
    pending: list[DriveBatch], change: Callable[[planner.Plan, str], planner.Plan]
) -> list[DriveBatch]:
    """Apply a pure planner change to a point's waiting batches; returns the rows still planned,
    with their new times set (not yet written)."""
    point = pending[0].point
    plan = planner.Plan(
        (planner.PointPlan(point, tuple(_as_plan_batch(b) for b in pending), ()),),
        pending[0].call_at,
        timedelta(0),
        timedelta(0),
    )
    by_seq = {b.seq: b for b in change(plan, point).point(point).batches}
    kept = [row for row in pending if row.seq in by_seq]
    for row in kept:
        row.ready_at, row.call_at = by_seq[row.seq].ready_at, by_seq[row.seq].call_at
    return kept


async def _last_call_timer(
    drive_id: int, batch: DriveBatch, due_at: datetime, conn: BaseDBAsyncClient
) -> None:
    """The building's last call, once: after its last batch is called (or the last one to call
    is skipped)."""
    await Timer.get_or_create(
        key=f"drive:{drive_id}:last:{batch.point}:{batch.building}",
        defaults={
            "kind": LAST_CALL,
            "due_at": due_at,
            "payload": {"drive": drive_id, "point": batch.point, "building": batch.building},
        },
        using_db=conn,
    )


async def _write_times(
    rows: Iterable[DriveBatch], conn: BaseDBAsyncClient, voice_lead: timedelta
) -> None:
    for row in rows:
        await (
            DriveBatch.filter(id=row.id)
            .using_db(conn)
            .update(ready_at=row.ready_at, call_at=row.call_at)
        )
        await _time_voice_calls(row, row.call_at - voice_lead, conn)


async def _time_voice_calls(row: DriveBatch, at: datetime, conn: BaseDBAsyncClient) -> int:
    """A batch's "come down now" calls wait in the outbox from its "get ready" on, placed
    ``voice_lead`` before its call time: when the batch moves, so do they."""
    return await (
        OutboxMessage.filter(
            ref=f"drive:{row.drive_id}:b{row.id}:call",  # type: ignore[attr-defined]
            channel="voice",
            status=OutboxStatus.QUEUED,
        )
        .exclude(idempotency_key__contains="|call")  # a call placed again keeps its own time
        .using_db(conn)
        .update(next_attempt_at=at)
    )


@dataclass(frozen=True, slots=True)
class AttachedAudio:
    running: bool
    queued_calls: int = 0  # voice call-ups already queued that now play the note
    batches: int = 0  # batches of those buildings still to be called


def officer_audio(drive: Drive, building: int) -> dict[str, str] | None:
    """The voice note attached to this building's call-ups (``/drive voice``), or None."""
    audio = (drive.audio or {}).get(str(building))
    if not isinstance(audio, dict) or not audio.get("name"):
        return None
    return {k: str(v) for k, v in audio.items() if k in ("name", "file_id") and v}


def with_audio(message: Message, audio: dict[str, str]) -> Message:
    body = message.to_json()
    return Message.from_json({**body, "extra": {**(body.get("extra") or {}), "audio": audio}})


class DriveRuntime:
    def __init__(
        self,
        *,
        clock: Clock,
        enabled: set[str] | None = None,
        wake_dispatcher: Callable[[], None] = lambda: None,
        voice_lead: timedelta = timedelta(seconds=30),
    ) -> None:
        self.clock = clock
        # A voice call-up rings for a while before it is heard: it is placed this much before
        # the batch's call time (its "get ready" enqueues it, due then).
        self.voice_lead = voice_lead
        self.enabled = enabled or {"telegram", "sms"}
        self.wake_dispatcher = wake_dispatcher
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        # household id -> its part in a running drive, once readied or called (for replies).
        self._open: dict[int, int] = {}
        self._open_loaded = False
        self.on_tick: list[Callable[[TickResult], None]] = []

    # ---- the loop ---------------------------------------------------------------------------
    def notify(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                done = await self.tick()
                due_in = await self.next_due_in()
                if due_in is not None and due_in <= 0 and not done.messages and not done.called:
                    due_in = IDLE_GUARD  # something overdue that this tick cannot do: no spin
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop never dies of one bad row
                log.exception("drive tick failed")
                due_in = POLL
            timeout = POLL if due_in is None else min(POLL, max(0.0, due_in))
            self._wake.clear()
            if timeout <= 0:
                await asyncio.sleep(0)
                continue
            waits = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            for task in waits:
                task.cancel()

    async def next_due(self) -> datetime | None:
        """The next moment something is due in a running drive (None: nothing planned).

        A few indexed MIN-style queries per running drive: this runs after every tick."""
        moments: list[datetime] = []
        for drive in await Drive.filter(status=DriveState.RUNNING).only(
            "id", "pace", "interval_s", "max_interval_s"
        ):
            paused = list(
                await DrivePoint.filter(drive_id=drive.id, paused_at__isnull=False).values_list(
                    "name", flat=True
                )
            )
            mine: list[datetime] = []
            batches = DriveBatch.filter(drive_id=drive.id)
            if paused:
                batches = batches.exclude(point__in=paused)
            for query, column in (
                (batches.filter(state=BatchState.WAITING), "ready_at"),
                (batches.filter(state__in=PENDING), "call_at"),
                (batches.filter(state=BatchState.CALLED), "called_at"),
            ):
                first = await query.order_by(column).first().values_list(column, flat=True)
                if first is not None:
                    moment: datetime = first  # type: ignore[assignment]
                    mine.append(moment + _slot(drive) if column == "called_at" else moment)
            if not paused and not mine and not await self._pending_timers(drive.id):
                mine.append(self.clock.now())  # nothing left: the next tick finishes it
            moments += mine
        timer = (
            await Timer.filter(status=TimerStatus.PENDING, kind__in=(LAST_CALL, SILENT))
            .order_by("due_at")
            .first()
        )
        if timer is not None:
            moments.append(timer.due_at)
        return min(moments) if moments else None

    async def next_due_in(self) -> float | None:
        due = await self.next_due()
        if due is None:
            return None
        return (due - self.clock.now()).total_seconds()

    # ---- one tick ---------------------------------------------------------------------------
    async def tick(self) -> TickResult:
        """Do everything due now. Safe to call at any time and from a restart."""
        async with self._lock:
            result = TickResult()
            now = self.clock.now()
            if not self._open_loaded:
                await self._load_open()
            running = await Drive.filter(status=DriveState.RUNNING).order_by("id")
            for drive in running:
                await self._tick_drive(drive, now, result)
            await self._timers(now, result)
            for drive in running:
                open_batches = await DriveBatch.filter(drive_id=drive.id, state__in=OPEN).exists()
                if not open_batches and not await self._pending_timers(drive.id):
                    await self._finish(drive, now, result)
            if result.messages:
                self.wake_dispatcher()
            for hook in self.on_tick:
                hook(result)
            return result

    async def _tick_drive(self, drive: Drive, now: datetime, result: TickResult) -> None:
        # Only what may act now: the batch each point is calling, and batches due to be
        # readied or called. A point's whole schedule is read only when it has to move.
        rows = await DriveBatch.filter(
            Q(state=BatchState.CALLED)
            | Q(state__in=PENDING, ready_at__lte=now)
            | Q(state__in=PENDING, call_at__lte=now),
            drive_id=drive.id,
        ).order_by("point", "seq")
        if not rows:
            return
        paused = {p.name for p in await DrivePoint.filter(drive_id=drive.id) if p.paused_at}
        pace = _pace(drive)
        coming = await self._coming(drive, rows)
        by_id = {row.id: row for row in rows}
        views = [_view(row, paused, coming) for row in rows]
        actions = planner.due_actions(views, now, pace)
        load = [a.point for a in actions if isinstance(a, planner.LoadSchedule)]
        if load:
            for name in load:
                for row in await self._waiting(drive.id, name):
                    by_id[row.id] = row
            views = [v for v in views if v.point not in load or v.state == BatchState.CALLED]
            views += [
                _view(row, paused, coming)
                for row in by_id.values()
                if row.point in load and row.state in PENDING
            ]
            views.sort(key=lambda v: (v.point, v.seq))  # the points' order, as read
            actions = planner.due_actions(views, now, pace, complete=load)
        to_call: list[DriveBatch] = []
        to_ready: list[DriveBatch] = []
        to_finish: list[DriveBatch] = []
        moved: list[DriveBatch] = []
        for action in actions:
            if isinstance(action, planner.LoadSchedule):
                continue
            row = by_id[action.batch_id]
            if isinstance(action, planner.Call):
                row.ready_at, row.call_at = action.ready_at, action.call_at
                row.ready_dropped = action.drop_ready
                to_call.append(row)
            elif isinstance(action, planner.Move):
                row.ready_at, row.call_at = action.ready_at, action.call_at
                moved.append(row)
            elif isinstance(action, planner.Ready):
                to_ready.append(row)
            else:
                to_finish.append(row)
        if not (to_call or to_ready or to_finish or moved):
            return
        await self._apply(drive, now, to_call, to_ready, to_finish, moved, result)

    @staticmethod
    def _reschedule(pending: list[DriveBatch], at: datetime) -> list[DriveBatch]:
        """Call ``pending[0]`` at ``at``; the rest keep their spacing (planner.reschedule_from)."""
        first = pending[0].seq
        return _replan(pending, lambda plan, point: planner.reschedule_from(plan, point, first, at))

    @staticmethod
    async def _coming(drive: Drive, rows: list[DriveBatch]) -> dict[int, int]:
        """Replies 1 of the called batches (an adaptive drive advances on them)."""
        called = [row.id for row in rows if row.state == BatchState.CALLED]
        if drive.pace != "adaptive" or not called:
            return {}
        counts = (
            await DriveHousehold.filter(batch_id__in=called, reply=1)
            .annotate(n=Count("id"))
            .group_by("batch_id")
            .values_list("batch_id", "n")
        )
        return {int(batch_id): int(n) for batch_id, n in counts}  # type: ignore[misc]

    async def _apply(
        self,
        drive: Drive,
        now: datetime,
        to_call: list[DriveBatch],
        to_ready: list[DriveBatch],
        to_finish: list[DriveBatch],
        moved: list[DriveBatch],
        result: TickResult,
    ) -> None:
        batch_ids = [b.id for b in to_call + to_ready]
        parts = (
            await DriveHousehold.filter(batch_id__in=batch_ids, skipped=False).order_by("id")
            if batch_ids
            else []
        )
        members: dict[int, list[DriveHousehold]] = {}
        for part in parts:
            members.setdefault(part.batch_id, []).append(part)  # type: ignore[attr-defined]
        contacts = await contacts_for([p.household_id for p in parts], self.enabled)  # type: ignore[attr-defined]
        points = {p.name: p for p in await DrivePoint.filter(drive_id=drive.id)}
        lead_minutes = max(1, round(drive.lead_s / 60))
        # Interleave the batches called now: every point's first message goes out first.
        call_lists = [
            self._messages(drive, b, members.get(b.id, []), contacts, points, "call")
            for b in to_call
        ]
        outgoing: list[Outgoing] = []
        for i in range(max((len(c) for c in call_lists), default=0)):
            outgoing += [c[i] for c in call_lists if i < len(c)]
        for batch in to_ready:
            outgoing += self._messages(
                drive,
                batch,
                members.get(batch.id, []),
                contacts,
                points,
                "ready",
                minutes=lead_minutes,
            )
            if self.voice_lead > timedelta(0):
                outgoing += self._messages(
                    drive,
                    batch,
                    members.get(batch.id, []),
                    {h: c for h, c in contacts.items() if c.channel == "voice"},
                    points,
                    "call",
                    not_before=batch.call_at - self.voice_lead,
                )
        slot = _slot(drive)
        last_of_building = [row for row in to_call if await self._last_of_building(drive.id, row)]
        async with in_transaction() as conn:
            await _write_times([row for row in moved if row not in to_call], conn, self.voice_lead)
            for row in to_finish:
                await (
                    DriveBatch.filter(id=row.id, state__in=sources(BatchState.DONE))
                    .using_db(conn)
                    .update(state=BatchState.DONE)
                )
            for row in to_call:
                await (
                    DriveBatch.filter(id=row.id, state__in=sources(BatchState.CALLED))
                    .using_db(conn)
                    .update(
                        state=BatchState.CALLED,
                        called_at=now,
                        call_at=row.call_at,
                        ready_at=row.ready_at,
                        ready_dropped=row.ready_dropped,
                    )
                )
                # A "get ready" still queued for this batch is late now: drop it.
                await (
                    OutboxMessage.filter(
                        ref=f"drive:{drive.id}:b{row.id}:ready",
                        status__in=outbox_sources(OutboxStatus.CANCELLED),
                    )
                    .using_db(conn)
                    .update(status=OutboxStatus.CANCELLED, error="called", updated_at=now)
                )
                if row in last_of_building:
                    await _last_call_timer(drive.id, row, now + slot, conn)
            for row in to_ready:
                await (
                    DriveBatch.filter(id=row.id, state__in=sources(BatchState.READY))
                    .using_db(conn)
                    .update(state=BatchState.READY, ready_sent_at=now)
                )
            await enqueue_many(outgoing, now=now, using_db=conn)
            for row in to_call:  # voice calls queued early for a batch called sooner go now
                await _time_voice_calls(row, now, conn)
            await Drive.filter(id=drive.id).using_db(conn).update(updated_at=now)
        for batch in to_call + to_ready:
            for part in members.get(batch.id, []):
                if not part.door_reason and part.reply is None and part.marked_by is None:
                    self._open[part.household_id] = part.id  # type: ignore[attr-defined]
        result.called += len(to_call)
        result.messages += len(outgoing)
        if to_call:
            log.info(
                "drive %d: called %s",
                drive.id,
                ", ".join(f"{b.point}#{b.seq} (building {b.building})" for b in to_call),
            )

    def _messages(
        self,
        drive: Drive,
        batch: DriveBatch,
        parts: list[DriveHousehold],
        contacts: dict[int, Contact],
        points: dict[str, DrivePoint],
        kind: str,
        *,
        minutes: int = 0,
        not_before: datetime | None = None,
    ) -> list[Outgoing]:
        location = points[batch.point].location  # every batch's point is a row of its drive
        out = []
        for part in parts:
            contact = contacts.get(part.household_id)  # type: ignore[attr-defined]
            if contact is None or part.door_reason:
                continue
            message = self.resident_message(kind, part, contact, location=location, minutes=minutes)
            audio = officer_audio(drive, part.building) if kind == "call" else None
            if audio is not None and contact.channel == "voice":
                message = with_audio(message, {"name": audio["name"]})
            out.append(
                Outgoing(
                    contact=contact,
                    message=message,
                    key=f"drive:{drive.id}:{kind}:{part.id}",
                    # "Come down now" goes first of all; "get ready" right after it (a late
                    # heads-up matters less than a late call, and it expires at the call).
                    priority=Priority.CALLUP if kind == "call" else Priority.REPLY,
                    purpose="callup",
                    ref=f"drive:{drive.id}:b{batch.id}:{kind}",
                    expires_at=self._expires(batch, kind, contact),
                    not_before=not_before,
                )
            )
            if audio is not None and contact.channel in ("telegram", "local"):
                # The voice note itself, right after the call-up (which keeps its buttons).
                note = text(DRIVE_TEXTS, "officer_voice", contact.language, building=part.building)
                out.append(
                    Outgoing(
                        contact=contact,
                        message=Message(note, extra={"audio": dict(audio)}),
                        key=f"drive:{drive.id}:voice:{part.id}",
                        priority=Priority.REPLY,
                        purpose="callup",
                        ref=f"drive:{drive.id}:b{batch.id}:voice",
                        not_before=not_before,
                    )
                )
        return out

    async def attach_audio(
        self, drive_id: int, buildings: Iterable[int], audio: dict[str, str]
    ) -> AttachedAudio:
        """``/drive voice``: a staff member's voice note (``name``: the playable media file,
        ``file_id``: the Telegram voice note) goes with the remaining "come down now" call-ups
        of these buildings: voice households hear it played, Telegram households get the note
        with the call-up. Calls already queued (a voice call-up is queued with its "get
        ready") and not yet placed get it too. Nothing for a drive that is not running."""
        now = self.clock.now()
        numbers = sorted({int(b) for b in buildings})
        async with in_transaction() as conn:
            # Two notes at once: neither is lost (tortoise leaves the lock out on SQLite).
            drive = await Drive.filter(id=drive_id).using_db(conn).select_for_update().first()
            if drive is None or drive.status != DriveState.RUNNING:
                return AttachedAudio(running=False)
            kept = dict(drive.audio or {})
            for number in numbers:
                kept[str(number)] = {k: v for k, v in audio.items() if k in ("name", "file_id")}
            await Drive.filter(id=drive_id).using_db(conn).update(audio=kept, updated_at=now)
            rows = await (
                OutboxMessage.filter(
                    channel="voice",
                    ref__startswith=f"drive:{drive_id}:b",
                    ref__endswith=":call",
                    status=OutboxStatus.QUEUED,
                )
                .using_db(conn)
                .only("id", "body")
            )
            queued = 0
            for row in rows:
                extra = dict(row.body.get("extra") or {})
                spec = extra.get("voice") or {}
                if int(spec.get("building") or 0) not in numbers:
                    continue
                extra["audio"] = {"name": audio["name"]}
                await (
                    OutboxMessage.filter(id=row.id, status=OutboxStatus.QUEUED)
                    .using_db(conn)
                    .update(body={**row.body, "extra": extra})
                )
                queued += 1
            waiting = (
                await DriveBatch.filter(
                    drive_id=drive_id, building__in=numbers, state__in=list(PENDING)
                )
                .using_db(conn)
                .count()
            )
        log.info(
            "drive %d: voice note for buildings %s (%d queued calls)", drive_id, numbers, queued
        )
        return AttachedAudio(running=True, queued_calls=queued, batches=waiting)

    def _expires(self, batch: DriveBatch, kind: str, contact: Contact) -> datetime | None:
        """A "get ready" is too late at the call time (a call's, when the call-up call is
        placed early: the two calls must not ring at once)."""
        if kind != "ready":
            return None
        if contact.channel == "voice":
            return batch.call_at - self.voice_lead
        return batch.call_at

    def _last_call_message(
        self, drive: Drive, part: DriveHousehold, contact: Contact, location: str
    ) -> Message:
        message = self.resident_message("last_call", part, contact, location=location)
        audio = officer_audio(drive, part.building)
        if audio is not None and contact.channel == "voice":
            return with_audio(message, {"name": audio["name"]})
        return message

    @staticmethod
    def resident_message(
        kind: str, part: DriveHousehold, contact: Contact, *, location: str, minutes: int = 0
    ) -> Message:
        lang = contact.language
        values = dict(
            building=part.building,
            room=part.room,
            point=part.point,
            location=location,
            minutes=minutes,
        )
        sms_text = resident_text(kind, lang, sms=True, **values)
        if contact.channel == "sms":
            return Message(sms_text)
        if contact.channel == "voice":
            spec = callup_spec(
                kind,
                lang=lang if lang in ("zh-CN", "en") else "zh-CN",
                part=part.id,
                building=part.building,
                floor=part.floor,
                room=part.room,
                point=part.point,
                location=location,
                minutes=minutes,
            )
            return Message(sms_text, extra={"voice": spec})
        body = resident_text(kind, lang, sms=False, **values)
        if kind == "ready":
            return Message(body, extra={"alt": {"sms": Message(sms_text).to_json()}})
        body += "\n" + text(DRIVE_TEXTS, "options_chat", lang)
        return Message(
            body,
            _reply_buttons(part.id, lang),
            extra={"alt": {"sms": Message(sms_text).to_json()}},
        )

    @staticmethod
    async def _last_of_building(drive_id: int, row: DriveBatch) -> bool:
        later = await DriveBatch.filter(
            drive_id=drive_id,
            point=row.point,
            building=row.building,
            seq__gt=row.seq,
            state__in=PENDING,
        ).exists()
        return not later

    async def _pending_timers(self, drive_id: int) -> bool:
        return await Timer.filter(
            status=TimerStatus.PENDING, key__startswith=f"drive:{drive_id}:"
        ).exists()

    async def _finish(self, drive: Drive, now: datetime, result: TickResult) -> None:
        updated = await Drive.filter(
            id=drive.id, status__in=sources(DriveState.DONE, DRIVE_MOVES)
        ).update(status=DriveState.DONE, finished_at=now, updated_at=now)
        if updated:
            result.finished.append(drive.id)
            ended = await self._part_ids(drive.id)
            self._open = {h: p for h, p in self._open.items() if p not in ended}
            log.info("drive %d finished", drive.id)

    @staticmethod
    async def _part_ids(drive_id: int) -> set[int]:
        ids = await DriveHousehold.filter(drive_id=drive_id).values_list("id", flat=True)
        return {int(i) for i in ids}  # type: ignore[call-overload]

    # ---- last calls and the silent list ----------------------------------------------------
    async def _timers(self, now: datetime, result: TickResult) -> None:
        due = await Timer.filter(
            status=TimerStatus.PENDING, kind__in=(LAST_CALL, SILENT), due_at__lte=now
        ).order_by("due_at", "id")
        for timer in due:
            drive = await Drive.get_or_none(id=timer.payload.get("drive"))
            if drive is None or drive.status != DriveState.RUNNING:
                await Timer.filter(
                    id=timer.id, status__in=outbox_sources(TimerStatus.CANCELLED, TIMER_MOVES)
                ).update(status=TimerStatus.CANCELLED)
                continue
            if timer.kind == LAST_CALL:
                await self._last_call(drive, timer, now, result)
            else:
                await self._silent(drive, timer, now, result)

    def _silent_parts(self, drive: Drive, point: str, building: int) -> Q:
        return Q(
            drive_id=drive.id,
            point=point,
            building=building,
            door_reason="",
            reply__isnull=True,
            marked_by__isnull=True,
            skipped=False,
            batch_id__isnull=False,
        )

    async def _last_call(
        self, drive: Drive, timer: Timer, now: datetime, result: TickResult
    ) -> None:
        point_name, building = timer.payload["point"], int(timer.payload["building"])
        parts = await DriveHousehold.filter(self._silent_parts(drive, point_name, building))
        contacts = await contacts_for([p.household_id for p in parts], self.enabled)  # type: ignore[attr-defined]
        location = (await DrivePoint.get(drive_id=drive.id, name=point_name)).location
        outgoing = [
            Outgoing(
                contact=contacts[p.household_id],  # type: ignore[attr-defined]
                message=self._last_call_message(
                    drive,
                    p,
                    contacts[p.household_id],  # type: ignore[attr-defined]
                    location,
                ),
                key=f"drive:{drive.id}:last_call:{p.id}",
                priority=Priority.CALLUP,
                purpose="callup",
                ref=f"drive:{drive.id}:last",
            )
            for p in parts
            if p.household_id in contacts  # type: ignore[attr-defined]
        ]
        async with in_transaction() as conn:
            await (
                DriveHousehold.filter(id__in=[p.id for p in parts])
                .using_db(conn)
                .update(last_call_at=now)
            )
            await enqueue_many(outgoing, now=now, using_db=conn)
            await (
                Timer.filter(id=timer.id, status__in=outbox_sources(TimerStatus.DONE, TIMER_MOVES))
                .using_db(conn)
                .update(status=TimerStatus.DONE)
            )
            await Timer.get_or_create(
                key=f"drive:{drive.id}:silent:{point_name}:{building}",
                defaults={"kind": SILENT, "due_at": now + _slot(drive), "payload": timer.payload},
                using_db=conn,
            )
        result.messages += len(outgoing)

    async def _silent(self, drive: Drive, timer: Timer, now: datetime, result: TickResult) -> None:
        point_name, building = timer.payload["point"], int(timer.payload["building"])
        parts = await DriveHousehold.filter(
            self._silent_parts(drive, point_name, building)
        ).order_by("floor", "room")
        staff = await building_staff(building, point_name, estate=drive.estate_id)
        outgoing: list[Outgoing] = []
        if parts:
            rooms = "、".join(p.room for p in parts)
            for member in staff:
                item = staff_outgoing(
                    member,
                    Message(
                        text(
                            DRIVE_TEXTS,
                            "silent_list",
                            member.language,
                            drive=drive.id,
                            building=building,
                            count=len(parts),
                            rooms=rooms,
                        )
                    ),
                    key=f"drive:{drive.id}:silent:{building}:{point_name}:s{member.id}",
                    ref=f"drive:{drive.id}:staff",
                )
                if item is not None:
                    outgoing.append(item)
        async with in_transaction() as conn:
            await (
                DriveHousehold.filter(id__in=[p.id for p in parts])
                .using_db(conn)
                .update(silent=True)
            )
            if outgoing:
                await enqueue_many(outgoing, now=now, using_db=conn)
            await (
                Timer.filter(id=timer.id, status__in=outbox_sources(TimerStatus.DONE, TIMER_MOVES))
                .using_db(conn)
                .update(status=TimerStatus.DONE)
            )
        for part in parts:
            self._open.pop(part.household_id, None)  # type: ignore[attr-defined]
        result.silent += len(parts)
        result.messages += len(outgoing)

    # ---- replies ----------------------------------------------------------------------------
    async def _load_open(self) -> None:
        rows = await DriveHousehold.filter(
            drive__status=DriveState.RUNNING,
            door_reason="",
            silent=False,
            skipped=False,
            reply__isnull=True,
            marked_by__isnull=True,
            batch__state__in=ANNOUNCED,
        ).values_list("household_id", "id")
        self._open = {household_id: part_id for household_id, part_id in rows}
        self._open_loaded = True

    async def awaiting(self, household_id: int) -> bool:
        """True when the household was readied or called and has not answered yet (kept in
        memory: this is asked for every message a household in a drive sends)."""
        if not self._open_loaded:
            await self._load_open()
        return household_id in self._open

    async def reply(
        self, contact: Contact, value: int, *, part_id: int | None = None
    ) -> Message | None:
        """Store a resident's 1/2/3; returns the acknowledgement (None: nothing open)."""
        now = self.clock.now()
        household_id: int = contact.household_id  # type: ignore[attr-defined]
        if part_id is None:
            part_id = self._open.get(household_id)
        if part_id is None:
            return None
        part = await DriveHousehold.get_or_none(id=part_id).select_related("drive", "batch")
        if part is None or part.household_id != household_id:  # type: ignore[attr-defined]
            return None
        lang = contact.language
        if part.drive.status != DriveState.RUNNING:
            return Message(text(DRIVE_TEXTS, "closed", lang))
        if part.batch is None or part.batch.state not in ANNOUNCED or part.skipped:
            # A button for a batch not told to get ready or come down (a forged or early press).
            return Message(text(DRIVE_TEXTS, "not_called", lang))
        await DriveHousehold.filter(id=part.id).update(
            reply=value,
            replied_at=now,
            door_reason="cannot" if value == 2 else "",
        )
        self._open.pop(household_id, None)  # answered: later digits are not taken as replies
        if part.drive.pace == "adaptive":
            self.notify()  # enough replies may advance the point
        log.info(
            "drive %d: reply %d from a household of building %d",
            part.drive.id,
            value,
            part.building,
        )  # type: ignore[attr-defined]
        return Message(text(DRIVE_TEXTS, f"ack_{value}", lang))

    def options_again(self, contact: Contact) -> Message:
        lang = contact.language
        again = text(DRIVE_TEXTS, "again", lang)
        if contact.channel == "sms":
            return Message(again + text(DRIVE_TEXTS, "options_sms", lang))
        part_id = self._open.get(contact.household_id, 0)  # type: ignore[attr-defined]
        return Message(
            again + text(DRIVE_TEXTS, "options_chat", lang), _reply_buttons(part_id, lang)
        )

    # ---- pace -------------------------------------------------------------------------------
    async def _point(self, drive_id: int, name: str) -> DrivePoint:
        point = await DrivePoint.get_or_none(drive_id=drive_id, name=name)
        if point is None:
            names = await DrivePoint.filter(drive_id=drive_id).values_list("name", flat=True)
            points = ", ".join(map(str, names))
            raise DriveError("no_point", drive=drive_id, point=name, points=points)
        return point

    async def _waiting(self, drive_id: int, point: str) -> list[DriveBatch]:
        return list(
            await DriveBatch.filter(drive_id=drive_id, point=point, state__in=PENDING).order_by(
                "seq"
            )
        )

    async def _running(self, drive_id: int) -> Drive:
        drive = await Drive.get_or_none(id=drive_id)
        if drive is None:
            raise DriveError("no_drive", drive=drive_id)
        if drive.status != DriveState.RUNNING:
            raise DriveError("not_running", drive=drive_id, status=str(drive.status))
        return drive

    async def call_next(self, drive_id: int, point: str) -> DriveBatch:
        """``/next``: call the point's next batch now; the rest of its schedule moves up."""
        await self._running(drive_id)
        spot = await self._point(drive_id, point)
        if spot.paused_at is not None:
            raise DriveError("paused", point=point)
        pending = await self._waiting(drive_id, point)
        if not pending:
            raise DriveError("nothing_to_call", point=point)
        async with in_transaction() as conn:
            await _write_times(self._reschedule(pending, self.clock.now()), conn, self.voice_lead)
        self.notify()
        return pending[0]

    async def pause(self, drive_id: int, point: str) -> None:
        """``/pause``: nothing new is called at the point until ``/resume``."""
        await self._running(drive_id)
        spot = await self._point(drive_id, point)
        if spot.paused_at is None:
            now = self.clock.now()
            async with in_transaction() as conn:
                await DrivePoint.filter(id=spot.id).using_db(conn).update(paused_at=now)
                for row in await self._waiting(drive_id, point):  # /resume times them again
                    await _time_voice_calls(row, now + PAUSED_CALLS, conn)
        self.notify()

    async def resume(self, drive_id: int, point: str) -> timedelta:
        """``/resume``: the point's waiting batches move later by the pause's length."""
        await self._running(drive_id)
        spot = await self._point(drive_id, point)
        if spot.paused_at is None:
            return timedelta(0)
        now = self.clock.now()
        paused_for = now - spot.paused_at
        pending = await self._waiting(drive_id, point)
        async with in_transaction() as conn:
            if pending:
                shift = _replan(
                    pending, lambda plan, name: planner.shift_point(plan, name, 0, paused_for)
                )
                await _write_times(shift, conn, self.voice_lead)
            await DrivePoint.filter(id=spot.id).using_db(conn).update(paused_at=None)
        self.notify()
        return paused_for

    async def skip(self, drive_id: int, point: str) -> DriveBatch:
        """``/skip``: the point's next batch is not called; the batches after it move up. If it
        was its building's last batch to call, the building's called households get their last
        call a slot from now (it would have come a slot after the skipped batch's call)."""
        drive = await self._running(drive_id)
        await self._point(drive_id, point)
        pending = await self._waiting(drive_id, point)
        if not pending:
            raise DriveError("nothing_to_skip", point=point)
        skipped = pending[0]
        kept = _replan(pending, lambda plan, name: planner.skip_batch(plan, name, skipped.seq))
        now = self.clock.now()
        building_called = await DriveBatch.filter(
            drive_id=drive_id,
            point=skipped.point,
            building=skipped.building,
            called_at__isnull=False,
        ).exists()
        ends_building = building_called and await self._last_of_building(drive_id, skipped)
        async with in_transaction() as conn:
            if ends_building:
                await _last_call_timer(drive_id, skipped, now + _slot(drive), conn)
            await (
                DriveBatch.filter(id=skipped.id, state__in=sources(BatchState.SKIPPED))
                .using_db(conn)
                .update(state=BatchState.SKIPPED)
            )
            await DriveHousehold.filter(batch_id=skipped.id).using_db(conn).update(skipped=True)
            await (
                OutboxMessage.filter(
                    ref__in=[
                        f"drive:{drive_id}:b{skipped.id}:ready",
                        f"drive:{drive_id}:b{skipped.id}:call",
                    ],
                    status__in=outbox_sources(OutboxStatus.CANCELLED),
                )
                .using_db(conn)
                .update(status=OutboxStatus.CANCELLED, error="skipped", updated_at=now)
            )
            await _write_times(kept, conn, self.voice_lead)
        for household_id in await DriveHousehold.filter(batch_id=skipped.id).values_list(
            "household_id", flat=True
        ):
            self._open.pop(household_id, None)  # type: ignore[call-overload]
        self.notify()
        return skipped

    async def cancel(self, drive_id: int) -> int:
        """Stop a drive: nothing more is sent; queued call-ups are dropped."""
        await self._running(drive_id)
        now = self.clock.now()
        async with in_transaction() as conn:
            await (
                Drive.filter(id=drive_id, status__in=sources(DriveState.CANCELLED, DRIVE_MOVES))
                .using_db(conn)
                .update(status=DriveState.CANCELLED, finished_at=now, updated_at=now)
            )
            dropped = (
                await OutboxMessage.filter(
                    ref__startswith=f"drive:{drive_id}:",
                    status__in=outbox_sources(OutboxStatus.CANCELLED),
                )
                .using_db(conn)
                .update(status=OutboxStatus.CANCELLED, error="drive cancelled", updated_at=now)
            )
            await (
                Timer.filter(
                    key__startswith=f"drive:{drive_id}:",
                    status__in=outbox_sources(TimerStatus.CANCELLED, TIMER_MOVES),
                )
                .using_db(conn)
                .update(status=TimerStatus.CANCELLED)
            )
        self._open_loaded = False
        self.notify()
        return dropped

    async def mark(
        self, drive_id: int, building: int, room: str, value: int, staff: str
    ) -> DriveHousehold:
        """A point volunteer marks a household (came / cannot / not needed)."""
        await self._running(drive_id)
        part = await DriveHousehold.get_or_none(drive_id=drive_id, building=building, room=room)
        if part is None:
            raise DriveError("not_in_drive", building=building, room=room, drive=drive_id)
        await DriveHousehold.filter(id=part.id).update(
            reply=value,
            replied_at=self.clock.now(),
            marked_by=staff[:100],
            door_reason="cannot" if value == 2 else part.door_reason,
        )
        self._open.pop(part.household_id, None)  # type: ignore[attr-defined]
        self.notify()
        return part


async def building_staff(
    building: int, point: str | None = None, *, estate: int | None = None
) -> list[Staff]:
    """Active staff who look after this building (of ``estate``, when given: cadres,
    officers), the point's volunteers and the admins."""
    looks_after = Q(scope__building__number=building, role__in=("cadre", "officer"))
    if estate is not None:
        looks_after &= Q(scope__building__estate_id=estate)
    query = Staff.filter(active=True).filter(
        Q(role="admin") | looks_after | Q(role="point", point=point or "\x00")
    )
    seen: dict[int, Staff] = {}
    for member in await query:
        seen.setdefault(member.id, member)
    return list(seen.values())
