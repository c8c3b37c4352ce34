"""The dispatcher: claims due outbox rows, most urgent first, and sends them within the limits.

One loop per channel. Each loop claims a small batch (about a quarter second's worth at the
channel's rate) so that a call-up enqueued behind thousands of survey messages is claimed next.
The attempt is recorded (status ``sending``) before the provider call, so after a crash the
rows that were in flight are known and counted; rows merely claimed were never sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from config.clock import Clock
from config.database import update_many
from config.settings import Settings
from estate.models import Contact
from notifications.channels.base import (
    ChannelAdapter,
    PermanentFailure,
    RetryLater,
    SendError,
    SendResult,
    Unreachable,
)
from notifications.dispatch.ratelimit import PerKeySpacing, SlidingWindow, TokenBucket
from notifications.dispatch.sender_lock import SenderOwnership
from notifications.message import Message
from notifications.models import OutboxMessage, Priority
from notifications.outbox import Outgoing, enqueue, forget_secrets
from notifications.states import OutboxStatus, sources

log = logging.getLogger(__name__)

FALLBACK_ORDER = ("telegram", "local", "sms")
LEASE = timedelta(seconds=60)
CALL_SPACING = 5.0  # seconds a second call to a number waits behind the first
STANDBY_RETRY = 2.0  # seconds between a standby process's attempts to own a sender
STOP_TIMEOUT = 10.0  # seconds a stopping loop may take to finish its pass before it is cancelled
SENT_FIELDS = (
    "status",
    "provider_id",
    "sent_at",
    "updated_at",
    "lease_owner",
    "error",
    "error_code",
)

UnreachableHook = Callable[[OutboxMessage, Contact | None], Awaitable[None]]


@dataclass
class Limits:
    sender: SlidingWindow | TokenBucket | None
    per_recipient: PerKeySpacing | None
    #: Calls: at most this many live at once, and never two to one number (see live_calls).
    live: int | None = None


@dataclass
class DispatchStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    unreachable: int = 0
    expired: int = 0
    deferred: int = 0
    recovered_in_flight: int = 0
    last_errors: list[str] = field(default_factory=list)

    def note_error(self, text: str) -> None:
        self.last_errors = [*self.last_errors[-9:], text]


def build_limits(channel: str, settings: Settings, clock: Clock, *, enabled: bool = True) -> Limits:
    if not enabled:
        # Without rate limits (load tests), a number still gets one call at a time.
        return Limits(
            None, None, live=settings.voice_max_concurrent if channel == "voice" else None
        )
    if channel == "telegram":
        return Limits(
            SlidingWindow(int(settings.telegram_rate_per_second), clock),
            PerKeySpacing(1.0 / settings.telegram_rate_per_chat, clock),
        )
    if channel == "sms":
        return Limits(TokenBucket(settings.sms_segments_per_second, clock), None)
    if channel == "voice":
        # Twilio's CPS: at most ``cps`` calls created in any second (a window of one call
        # per 1/cps seconds when the rate is under one a second).
        cps = settings.voice_calls_per_second
        limit = max(1, int(cps))
        return Limits(
            SlidingWindow(limit, clock, window=limit / cps, reserve=0.0),
            None,
            live=settings.voice_max_concurrent,
        )
    return Limits(None, None)


#: The outbox states of a call that is live: placed and not yet at its final status.
LIVE_STATES = (OutboxStatus.SENDING, OutboxStatus.ACCEPTED, OutboxStatus.SENT)


async def live_calls(channel: str, now: datetime, stale_after: float) -> list[str]:
    """The numbers with a call live now (one entry per call). A call whose final status never
    came stops counting ``stale_after`` seconds after its last news."""
    rows = await OutboxMessage.filter(
        channel=channel,
        status__in=LIVE_STATES,
        updated_at__gte=now - timedelta(seconds=stale_after),
    ).values_list("address", flat=True)
    return [str(address) for address in rows]


def backoff(attempts: int, *, base: float = 2.0, cap: float = 600.0) -> float:
    """Exponential backoff with full jitter, in seconds."""
    return random.uniform(0.5, 1.0) * min(cap, base * 2 ** max(0, attempts - 1))


class Dispatcher:
    def __init__(
        self,
        channels: Mapping[str, ChannelAdapter],
        *,
        clock: Clock,
        settings: Settings,
        limits_enabled: bool = True,
        max_in_flight: int = 64,
        poll_interval: float = 0.5,
        worker_id: str | None = None,
    ) -> None:
        self.channels = dict(channels)
        self.clock = clock
        self.settings = settings
        self.limits = {
            name: build_limits(name, settings, clock, enabled=limits_enabled)
            for name in self.channels
        }
        self.poll_interval = poll_interval
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
        self.stats = DispatchStats()
        self.on_unreachable: list[UnreachableHook] = []
        self._wake = {name: asyncio.Event() for name in self.channels}
        self._urgent: set[str] = set()  # channels with call-ups enqueued since their last claim
        self._in_flight = asyncio.Semaphore(max_in_flight)
        self._tasks: set[asyncio.Task[None]] = set()
        self._sent: list[OutboxMessage] = []
        self._sent_writer: asyncio.Task[None] | None = None
        self._stopping = False
        self._ownership = (
            SenderOwnership(settings.database_url)
            if limits_enabled and not settings.database_url.startswith("sqlite")
            else None
        )

    # ---- life cycle -------------------------------------------------------------------------
    def notify(self, channel: str | None = None, *, urgent: bool = False) -> None:
        """Wake the loops: something was enqueued in this process. ``urgent``: call-ups were
        enqueued, so a loop part-way through a claimed batch of ordinary messages gives the
        rest back and claims again (the call-ups first)."""
        for name, event in self._wake.items():
            if channel is None or channel == name:
                if urgent:
                    self._urgent.add(name)
                    sender = self.limits[name].sender
                    if sender is not None:
                        sender.note_urgent()
                event.set()

    async def recover(self) -> int:
        """Release what a previous run left claimed; requeue what was in flight, and count it."""
        now = self.clock.now()
        # One process on SQLite: whatever is claimed or in flight was left by a previous run.
        # Several workers on PostgreSQL: only rows whose lease ran out (or never had one).
        stale = (
            OutboxMessage.filter(Q(lease_until__lt=now) | Q(lease_until__isnull=True))
            if not self._single_process()
            else OutboxMessage
        )
        claimed = await stale.filter(status=OutboxStatus.CLAIMED).update(
            status=OutboxStatus.QUEUED, lease_owner=None, lease_until=None, updated_at=now
        )
        in_flight = await stale.filter(status=OutboxStatus.SENDING).update(
            status=OutboxStatus.QUEUED, lease_owner=None, lease_until=None, updated_at=now
        )
        self.stats.recovered_in_flight += in_flight
        if claimed or in_flight:
            log.warning(
                "outbox recovery: %d claimed rows released, %d in flight at the last stop "
                "(these may reach the recipient twice)",
                claimed,
                in_flight,
            )
        return in_flight

    def _single_process(self) -> bool:
        return self.settings.database_url.startswith("sqlite")

    async def run(self, stop: asyncio.Event, *, stop_timeout: float = STOP_TIMEOUT) -> None:
        await self.recover()
        loops = [asyncio.create_task(self._channel_loop(name, stop)) for name in self.channels]
        try:
            await stop.wait()
        finally:
            # Stop cooperatively: a task cancelled inside a Tortoise transaction on SQLite can
            # leave the connection lock held for good, so the loops are asked to finish and
            # only cancelled if they do not within ``stop_timeout``.
            self._stopping = True
            self.notify()
            if loops:
                _, pending = await asyncio.wait(loops, timeout=stop_timeout)
                for task in pending:
                    log.warning("dispatcher loop did not stop in time; cancelling it")
                    task.cancel()
                for task in pending:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await self.drain_in_flight()
            # Anything still claimed by us goes back to the queue for the next run.
            await OutboxMessage.filter(
                status=OutboxStatus.CLAIMED, lease_owner=self.worker_id
            ).update(status=OutboxStatus.QUEUED, lease_owner=None, lease_until=None)
            if self._ownership is not None:
                await self._ownership.close()

    async def drain_in_flight(self) -> None:
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._sent_writer is not None:
            await asyncio.gather(self._sent_writer, return_exceptions=True)

    # ---- claiming ---------------------------------------------------------------------------
    def _claim_size(self, channel: str) -> int:
        limits = self.limits[channel]
        if isinstance(limits.sender, SlidingWindow):
            return max(1, limits.sender.limit // 4)
        if isinstance(limits.sender, TokenBucket):
            return max(1, int(limits.sender.rate // 4))
        return 100

    async def claim(
        self, channel: str, limit: int, *, busy: Collection[str] = ()
    ) -> list[OutboxMessage]:
        """Claim up to ``limit`` due rows, most urgent first; none to the ``busy`` addresses."""
        now = self.clock.now()
        async with in_transaction() as conn:
            query = OutboxMessage.filter(
                status=OutboxStatus.QUEUED, channel=channel, next_attempt_at__lte=now
            )
            if busy:
                query = query.exclude(address__in=list(busy))
            query = query.order_by("priority", "id").limit(limit).using_db(conn)
            if not self._single_process():
                query = query.select_for_update(skip_locked=True)
            rows = await query
            if rows:
                await (
                    OutboxMessage.filter(
                        id__in=[r.id for r in rows], status__in=sources(OutboxStatus.CLAIMED)
                    )
                    .using_db(conn)
                    .update(
                        status=OutboxStatus.CLAIMED,
                        lease_owner=self.worker_id,
                        lease_until=now + LEASE,
                        updated_at=now,
                    )
                )
        return list(rows)

    async def next_due_in(self, channel: str) -> float | None:
        row = (
            await OutboxMessage.filter(status=OutboxStatus.QUEUED, channel=channel)
            .order_by("next_attempt_at")
            .first()
            .only("id", "next_attempt_at")
        )
        if row is None:
            return None
        return max(0.0, (row.next_attempt_at - self.clock.now()).total_seconds())

    async def _channel_loop(self, channel: str, stop: asyncio.Event) -> None:
        wake = self._wake[channel]
        while not stop.is_set() and not self._stopping:
            if not await self._may_send(channel):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), STANDBY_RETRY)
                wake.clear()
                continue
            # Cleared before the pass, not after it: a wake-up that comes while the pass finds
            # nothing (a message enqueued, the stop) ends the wait below at once.
            wake.clear()
            try:
                handled = await self.run_once(channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # a worker never dies of one bad row
                log.exception("dispatcher loop error on %s", channel)
                handled = 0
            if handled:
                continue
            if self.limits[channel].live is not None:
                # Calls: what is due may wait for a live call to end (its final status
                # callback wakes the loop), so never spin on it.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), self.poll_interval)
                continue
            due_in = await self.next_due_in(channel)
            timeout = self.poll_interval if due_in is None else min(self.poll_interval, due_in)
            if timeout <= 0:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout)

    async def _may_send(self, channel: str) -> bool:
        """With several processes on PostgreSQL, a rate-limited sender has one owner."""
        if self._ownership is None or self.limits[channel].sender is None:
            return True
        return await self._ownership.owns(self.channels[channel].sender_key())

    async def run_once(self, channel: str) -> int:
        """Claim one batch of due messages on a channel and send them, in order, within the
        limits. The attempts are recorded (one UPDATE) before any call; the rate limiters are
        charged at the moment of each call, so provider-side windows see what ours saw."""
        self._urgent.discard(channel)  # this claim takes the call-ups first
        limits = self.limits[channel]
        size = self._claim_size(channel)
        busy: set[str] = set()
        if limits.live is not None:
            # Calls: never more than ``live`` at once, never two at once to one number.
            live = await live_calls(channel, self.clock.now(), self.settings.voice_call_timeout)
            size = min(size, limits.live - len(live))
            if size <= 0:
                return 0
            busy = set(live)
        rows = await self.claim(channel, size, busy=busy)
        if not rows:
            return 0
        now = self.clock.now()
        contact_ids = {r.contact_id for r in rows if r.contact_id}  # type: ignore[attr-defined]
        contacts = (
            {c.id: c for c in await Contact.filter(id__in=contact_ids)} if contact_ids else {}
        )
        adapter = self.channels[channel]
        expired: list[int] = []
        later: dict[datetime, list[int]] = {}  # rows given back, by when they are due again
        ready: list[tuple[OutboxMessage, Contact | None, Message]] = []
        recipients: set[str] = set()
        for row in rows:
            if row.expires_at is not None and row.expires_at <= now:
                expired.append(row.id)
                continue
            contact_id = row.contact_id  # type: ignore[attr-defined]
            contact = contacts.get(contact_id) if contact_id else None
            if contact_id and (contact is None or contact.status != "active"):
                await self._contact_gone(row, contact, now)
                continue
            if limits.per_recipient is not None:
                # Not this recipient's turn: give the row back without spending an attempt.
                # Every row of a recipient gets the same time, so they stay in id order.
                free_at = limits.per_recipient.busy_until(row.address)
                if free_at is not None or row.address in recipients:
                    later.setdefault(free_at or now, []).append(row.id)
                    continue
                recipients.add(row.address)
            elif limits.live is not None:
                if row.address in recipients:  # one call at a time to a number
                    later.setdefault(now + timedelta(seconds=CALL_SPACING), []).append(row.id)
                    continue
                recipients.add(row.address)
            ready.append((row, contact, self._message_of(row, adapter)))
        if ready:
            await OutboxMessage.filter(
                id__in=[row.id for row, _, _ in ready], status__in=sources(OutboxStatus.SENDING)
            ).update(status=OutboxStatus.SENDING, attempts=F("attempts") + 1, updated_at=now)
        for index, (row, contact, message) in enumerate(ready):
            callup = row.priority == Priority.CALLUP
            release: Callable[[], None] | None = None
            given_back = self._stopping or (channel in self._urgent and not callup)
            if not given_back and limits.sender is not None:
                # An ordinary message waiting for a slot stops waiting when call-ups arrive.
                release = await limits.sender.acquire(
                    adapter.cost(message),
                    urgent=callup,
                    abort=None if callup else lambda: channel in self._urgent or self._stopping,
                )
                given_back = release is None
            if given_back:  # not called: back to the queue, the attempt not spent
                for unsent, _, _ in ready[index:]:
                    later.setdefault(now, []).append(unsent.id)
                await OutboxMessage.filter(id__in=[r.id for r, _, _ in ready[index:]]).update(
                    attempts=F("attempts") - 1
                )
                break
            if limits.per_recipient is not None:
                limits.per_recipient.take(row.address)
            row.attempts += 1
            await self._in_flight.acquire()
            task = asyncio.create_task(self._send(row, adapter, contact, message, release))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if expired:
            await OutboxMessage.filter(
                id__in=expired, status__in=sources(OutboxStatus.EXPIRED)
            ).update(
                status=OutboxStatus.EXPIRED,
                error="not sent: too late",
                updated_at=now,
                lease_owner=None,
            )
            gone = set(expired)
            await forget_secrets(r for r in rows if r.id in gone)
            self.stats.expired += len(expired)
        for due, ids in later.items():
            await OutboxMessage.filter(id__in=ids, status__in=sources(OutboxStatus.QUEUED)).update(
                status=OutboxStatus.QUEUED, lease_owner=None, next_attempt_at=due, updated_at=now
            )
            self.stats.deferred += len(ids)
        return len(rows)

    async def _send(
        self,
        row: OutboxMessage,
        adapter: ChannelAdapter,
        contact: Contact | None,
        message: Message,
        release: Callable[[], None] | None = None,
    ) -> None:
        try:
            try:
                try:
                    result = await adapter.send(row.address, message)
                finally:
                    if release is not None:  # the rate slot is held until the call completed
                        release()
            except SendError as exc:
                await self._failed(row, contact, exc)
            except Exception as exc:  # an adapter bug must not lose the message
                log.exception("channel %s raised unexpectedly", adapter.name)
                await self._failed(row, contact, RetryLater(f"internal: {type(exc).__name__}"))
            else:
                await self._succeeded(row, result)
        finally:
            self._in_flight.release()

    @staticmethod
    def _message_of(row: OutboxMessage, adapter: ChannelAdapter) -> Message:
        message = Message.from_json(row.body)
        if getattr(adapter, "live_calls", False):  # the call's routes name its outbox row
            message = replace(message, extra={**message.extra, "outbox_id": row.id})
        return message

    # ---- outcomes ---------------------------------------------------------------------------
    async def _succeeded(self, row: OutboxMessage, result: SendResult) -> None:
        now = self.clock.now()
        if getattr(self.channels.get(row.channel), "live_calls", False):
            await self._call_placed(row, result, now)
            return
        done = result.status in (OutboxStatus.SENT, OutboxStatus.DELIVERED)
        row.status = OutboxStatus.SENT if done else OutboxStatus.ACCEPTED
        row.provider_id = result.provider_id
        row.sent_at = row.updated_at = now
        row.lease_owner = row.error = row.error_code = None
        self.stats.sent += 1
        # Successes are written together: one UPDATE for every send that finished meanwhile.
        self._sent.append(row)
        if self._sent_writer is None or self._sent_writer.done():
            self._sent_writer = asyncio.create_task(self._write_sent())

    async def _call_placed(self, row: OutboxMessage, result: SendResult, now: datetime) -> None:
        """A call was placed. Its status callbacks may already have moved the row on (the
        call rang, or even ended, before Twilio's answer reached us): the row becomes
        ``accepted`` only if it is still ``sending``; the call's sid is recorded either way."""
        self.stats.sent += 1
        await OutboxMessage.filter(id=row.id, status=OutboxStatus.SENDING).update(
            status=OutboxStatus.ACCEPTED, updated_at=now, error=None, error_code=None
        )
        await OutboxMessage.filter(id=row.id).update(
            provider_id=result.provider_id, sent_at=now, lease_owner=None
        )

    async def _write_sent(self) -> None:
        while self._sent:
            await asyncio.sleep(0)
            batch, self._sent = self._sent, []
            try:
                # A row a delivery report or a cancellation moved on meanwhile keeps its state.
                await update_many(
                    OutboxMessage,
                    SENT_FIELDS,
                    batch,
                    only_from=("status", sources(OutboxStatus.ACCEPTED)),
                )
                await forget_secrets(batch)  # a login link is not kept once it left
            except Exception:  # the rows stay "sending": recovery sends them again
                log.exception("recording %d sent messages failed", len(batch))

    async def _failed(self, row: OutboxMessage, contact: Contact | None, exc: SendError) -> None:
        now = self.clock.now()
        reason = exc.reason[:300]
        self.stats.note_error(f"{row.channel} {exc.code or ''} {reason}".strip())
        if isinstance(exc, RetryLater) and row.attempts < self.settings.max_send_attempts:
            delay = max(exc.after or 0.0, backoff(row.attempts))
            await OutboxMessage.filter(id=row.id, status__in=sources(OutboxStatus.QUEUED)).update(
                status=OutboxStatus.QUEUED,
                next_attempt_at=now + timedelta(seconds=delay),
                error=reason,
                error_code=exc.code,
                updated_at=now,
                lease_owner=None,
            )
            self.stats.retried += 1
            log.info("outbox %d: retry in %.1fs (%s)", row.id, delay, exc.code)
            return
        if isinstance(exc, Unreachable) and contact is not None:
            self.stats.unreachable += 1
            new_status = "opted_out" if exc.opted_out else "unreachable"
            await self._give_up(row, contact, exc.code, reason, now, contact_status=new_status)
        else:
            await self._give_up(row, None, exc.code, reason, now)
            self.stats.failed += 1
            if not isinstance(exc, PermanentFailure):
                log.warning("outbox %d: gave up after %d attempts", row.id, row.attempts)

    async def _contact_gone(
        self, row: OutboxMessage, contact: Contact | None, now: datetime
    ) -> None:
        code = contact.status if contact else "gone"
        await self._give_up(row, contact, code, "contact not active", now)

    async def _give_up(
        self,
        row: OutboxMessage,
        contact: Contact | None,
        code: str | None,
        reason: str,
        now: datetime,
        *,
        contact_status: str | None = None,
    ) -> None:
        """Mark the message failed and, in the same transaction, the contact's new status and
        the copy for the household's next contact: nothing is seen half-done."""
        fallback = await self._fallback_for(row, contact) if contact is not None else None
        async with in_transaction() as conn:
            await (
                OutboxMessage.filter(id=row.id, status__in=sources(OutboxStatus.FAILED))
                .using_db(conn)
                .update(
                    status=OutboxStatus.FAILED,
                    error=reason,
                    error_code=code,
                    updated_at=now,
                    lease_owner=None,
                )
            )
            if contact is not None and contact_status is not None:
                await (
                    Contact.filter(id=contact.id)
                    .using_db(conn)
                    .update(status=contact_status, status_reason=reason[:100], updated_at=now)
                )
            if fallback is not None:
                await enqueue(fallback, now=now, using_db=conn)
        await forget_secrets([row])  # a login link that could not be sent is not kept either
        if fallback is not None and fallback.contact is not None:
            self.notify(fallback.contact.channel)
        if contact is not None:
            target = fallback.contact if fallback is not None else None
            for hook in self.on_unreachable:
                try:
                    await hook(row, target)
                except Exception:
                    log.exception("unreachable hook failed")

    async def _fallback_for(self, row: OutboxMessage, contact: Contact) -> Outgoing | None:
        """The copy of the message for the household's next contact on another channel."""
        if "edit_message_id" in row.body.get("extra", {}):
            return None  # an edit of a Telegram message means nothing elsewhere
        others = await Contact.filter(
            household_id=contact.household_id,  # type: ignore[attr-defined]
            status="active",
            channel__in=[c for c in FALLBACK_ORDER if c in self.channels],
        ).exclude(id=contact.id)
        others.sort(key=lambda c: (FALLBACK_ORDER.index(c.channel), c.id))
        target = next((c for c in others if c.channel != contact.channel), None) or (
            others[0] if others else None
        )
        if target is None:
            return None
        extra = row.body.get("extra", {})
        if "part" in extra:
            return None  # the first part of a split message carries the whole for a fallback
        alt = extra.get("alt", {}).get(target.channel)
        whole = extra.get("whole_text") or row.body["text"]
        return Outgoing(
            contact=target,
            message=Message.from_json(alt) if alt else Message(text=whole),
            key=f"{row.idempotency_key}|fb{target.id}",
            priority=row.priority,  # type: ignore[arg-type]
            purpose=row.purpose,
            ref=row.ref,
            expires_at=row.expires_at,
        )
