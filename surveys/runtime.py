"""The survey runtime: opens rounds and applies engine events.

For every inbound answer it loads the household's response, runs the pure engine, and in one
short transaction stores the new state, every revision and the outbound messages (outbox).
Nothing is sent from here and no network call happens inside a transaction.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

import surveys.engine as engine
from config.batching import BatchLoader
from config.clock import Clock
from config.i18n import text
from config.settings import Settings
from estate.contacts import pick_contact
from estate.models import Contact, Household
from notifications.message import Button, Message
from notifications.models import Priority
from notifications.outbox import Outgoing, enqueue_many, segments_of
from surveys.definition import SurveyDefinition, load_builtin, load_definition, localize
from surveys.engine import Ask, SessionState, path_str, question_at
from surveys.models import Response, Revision, Round
from surveys.render import (
    button_inbound,
    format_value,
    render_ask,
    render_completed,
    render_reason,
    render_summary_lines,
)
from surveys.states import ResponseStage, ResponseStatus, RoundStatus
from surveys.texts import TEXTS
from surveys.writer import AnswerWriter, WriteSet

log = logging.getLogger(__name__)

OPEN_ROUNDS_TTL = 2.0
ENGINE_CHANNEL = {"telegram": "telegram", "local": "telegram", "sms": "sms", "voice": "sms"}
AlertHook = Callable[[Response, engine.Alert], Awaitable[None]]


@dataclass
class OpenedRound:
    round: Round
    households: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)
    sms_segments: int = 0
    unreachable: int = 0
    waiting: int = 0  # households already answering another round: they get this one next


class ProxyResult(Enum):
    """What an officer's proxy answer came to."""

    ANSWERED = "answered"  # handled; the officer's session goes on
    ROUND_CLOSED = "round_closed"  # handled (nothing to do); the session ends
    ENDED = "ended"  # not a proxy answer any more: the session ends, the message routes on


@dataclass
class Handled:
    """What the runtime did with an inbound; ``toast`` is a short button-press answer."""

    handled: bool
    toast: str | None = None
    refused: bool = False  # the input was not taken: asked again, or told why (an auto reply)


def button_data(response_id: int, seq: int) -> str:
    return f"a:{response_id}:{seq}:"


def parse_button(data: str) -> tuple[int, int, str] | None:
    parts = data.split(":", 3)
    if len(parts) != 4 or parts[0] != "a":
        return None
    try:
        return int(parts[1]), int(parts[2]), parts[3]
    except ValueError:
        return None


def _log_refusal(response_id: int, event: engine.Event) -> None:
    """Why an answer was not taken (the rule, never the answer or who sent it)."""
    if isinstance(event, Ask) and event.error is not None:
        where = path_str(event.path)
        log.info("response %d: answer to %s refused: %s", response_id, where, event.error.get("en"))
    elif isinstance(event, engine.Invalid):
        where = path_str(event.path) if event.path else "-"
        if event.reason == "internal_error":
            log.warning(
                "response %d: the survey engine failed at %s (%s)", response_id, where, event.detail
            )
        else:
            log.info("response %d: input at %s not taken: %s", response_id, where, event.reason)


class SurveyRuntime:
    def __init__(
        self,
        *,
        clock: Clock,
        settings: Settings,
        enabled_channels: set[str] | None = None,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.clock = clock
        self.settings = settings
        self.enabled = enabled_channels or {"telegram", "sms", "local"}
        self.wake = wake
        self.tz = ZoneInfo(settings.timezone)
        self.alert_hooks: list[AlertHook] = []
        self._definitions: dict[int, SurveyDefinition] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._open_rounds: set[int] | None = None
        self._open_rounds_at = 0.0
        self._waiting: set[int] = set()  # households with a round waiting for its turn
        # The active response of each household, kept in memory between answers. Only with
        # SQLite, where this process is the only one that answers; PostgreSQL deployments may
        # run several workers, so they read it each time.
        self.cache_responses = settings.database_url.startswith("sqlite")
        self._active: dict[int, Response] = {}
        self._active_loader: BatchLoader[int, Response] = BatchLoader(self._fetch_active)
        self.writer = AnswerWriter()

    # ---- helpers ---------------------------------------------------------------------------
    def today(self) -> date:
        return self.clock.now().astimezone(self.tz).date()

    async def definition(self, round_id: int) -> SurveyDefinition:
        """A round's definition (its snapshot; cached: it never changes)."""
        defn = self._definitions.get(round_id)
        if defn is None:
            round_ = await Round.get(id=round_id)
            defn = self._definitions[round_id] = load_definition(round_.definition)
        return defn

    async def open_rounds(self) -> set[int]:
        """Ids of the open rounds, re-read at most every couple of seconds (another process,
        the CLI, may open or close rounds)."""
        stamp = self.clock.monotonic()
        rounds = self._open_rounds
        if rounds is None or stamp - self._open_rounds_at > OPEN_ROUNDS_TTL:
            ids: set[int] = set(
                await Round.filter(status=RoundStatus.OPEN).values_list("id", flat=True)  # type: ignore[arg-type]
            )
            waiting: list[int] = (
                await Response.filter(stage=ResponseStage.PENDING, round_id__in=ids).values_list(  # type: ignore[assignment]
                    "household_id", flat=True
                )
                if ids
                else []
            )
            rounds, self._open_rounds, self._open_rounds_at = ids, ids, stamp
            self._waiting = set(waiting)
        return rounds

    def forget_rounds(self) -> None:
        self._open_rounds = None

    def _lock(self, household_id: int) -> asyncio.Lock:
        lock = self._locks.get(household_id)
        if lock is None:
            if len(self._locks) > 50_000:
                self._locks = {k: v for k, v in self._locks.items() if v.locked()}
            lock = self._locks[household_id] = asyncio.Lock()
        return lock

    def _ask_message(
        self, defn: SurveyDefinition, response_id: int, ask: Ask, contact: Contact, *, header: bool
    ) -> Message:
        channel = ENGINE_CHANNEL.get(contact.channel, "sms")
        message = render_ask(
            defn,
            ask,
            lang=contact.language,
            channel=channel,
            data_prefix=button_data(response_id, ask.seq),
        )
        if header and channel == "telegram":
            title = text(
                TEXTS,
                "round_header",
                contact.language,
                title=localize(defn.title, contact.language),
            )
            message = Message(text=f"{title}\n\n{message.text}", buttons=message.buttons)
        if channel == "telegram":
            # If the chat turns out unreachable, the dispatcher falls back to the household's
            # SMS contact with this rendering (numbered options) instead of the button text.
            sms = render_ask(defn, ask, lang=contact.language, channel="sms")
            message = Message(message.text, message.buttons, extra={"alt": {"sms": sms.to_json()}})
        return message

    # ---- opening a round -------------------------------------------------------------------
    async def open_round(
        self,
        slug: str,
        *,
        buildings: Sequence[int] | None = None,
        closes_in: timedelta | None = None,
        created_by: str = "cli",
        definition: SurveyDefinition | None = None,
    ) -> OpenedRound:
        defn = definition or load_builtin(slug)
        now = self.clock.now()
        query = Household.all().prefetch_related("contacts")
        if buildings:
            query = query.filter(building__number__in=list(buildings))
        households = await query
        busy = set(
            await Response.filter(
                household_id__in=[h.id for h in households],
                stage=ResponseStage.ACTIVE,
                round__status=RoundStatus.OPEN,
            ).values_list("household_id", flat=True)
        )
        async with in_transaction() as conn:
            round_ = await Round.create(
                survey=defn.slug,
                version=defn.version,
                definition=defn.to_json(),
                buildings=sorted(buildings) if buildings else [],
                status=RoundStatus.OPEN,
                opened_at=now,
                closes_at=now + closes_in if closes_in else None,
                created_by=created_by,
                using_db=conn,
            )
            opened = OpenedRound(round=round_, households=len(households))
            plans: dict[int, tuple[Contact, engine.Step]] = {}
            rows: list[Response] = []
            for household in households:
                contact = pick_contact(household, household.contacts, self.enabled)
                row = Response(round_id=round_.id, household_id=household.id, updated_at=now)
                if contact is None:
                    opened.unreachable += 1
                elif household.id in busy:
                    opened.waiting += 1
                    row.channel = contact.channel
                else:
                    step = engine.start(defn, channel=ENGINE_CHANNEL.get(contact.channel, "sms"))
                    row.stage, row.state, row.channel = (
                        ResponseStage.ACTIVE,
                        step.state.to_json(),
                        contact.channel,
                    )
                    plans[household.id] = (contact, step)
                    opened.by_channel[contact.channel] = (
                        opened.by_channel.get(contact.channel, 0) + 1
                    )
                rows.append(row)
            await Response.bulk_create(rows, batch_size=500, using_db=conn)
            ids = dict(
                await Response.filter(round_id=round_.id)
                .using_db(conn)
                .values_list("household_id", "id")
            )
            outgoing: list[Outgoing] = []
            for household_id, (contact, step) in plans.items():
                response_id = ids[household_id]
                for message in self._messages_for(defn, response_id, contact, step, header=True):
                    opened.sms_segments += segments_of(contact.channel, message)
                    outgoing.append(
                        self._outgoing(response_id, contact, message, step, Priority.SURVEY)
                    )
            await enqueue_many(outgoing, now=now, using_db=conn)
        self._definitions[round_.id] = defn
        self.forget_rounds()
        self.wake()
        log.info(
            "round %d (%s) opened for %d households: %s; %d unreachable, %d waiting",
            round_.id, defn.slug, opened.households, opened.by_channel, opened.unreachable, opened.waiting,
        )  # fmt: skip
        return opened

    def _messages_for(
        self,
        defn: SurveyDefinition,
        response_id: int,
        contact: Contact,
        step: engine.Step,
        *,
        header: bool,
    ) -> list[Message]:
        out = []
        for event in step.events:
            if isinstance(event, Ask):
                out.append(self._ask_message(defn, response_id, event, contact, header=header))
                header = False
        return out

    def _outgoing(
        self,
        response_id: int,
        contact: Contact,
        message: Message,
        step: engine.Step,
        priority: Priority,
        n: int = 0,
    ) -> Outgoing:
        return Outgoing(
            contact=contact,
            message=message,
            key=f"resp{response_id}:seq{step.state.seq}:c{contact.id}:{n}:{zlib.crc32(message.text.encode()):x}",
            priority=priority,
            purpose="survey",
            ref=f"response:{response_id}",
        )

    # ---- inbound ---------------------------------------------------------------------------
    async def active_response(self, household_id: int) -> Response | None:
        """The response the household is answering now, in an open round."""
        open_ids = await self.open_rounds()
        cached = self._active.get(household_id)
        if cached is not None:
            if cached.round_id in open_ids:  # type: ignore[attr-defined]
                return cached
            del self._active[household_id]
        if not open_ids:
            return None
        response = await self._active_loader.load(household_id)
        if response is not None and response.round_id not in open_ids:  # type: ignore[attr-defined]
            response = None  # the round closed while the lookup ran
        if response is not None and self.cache_responses:
            self._active[household_id] = response
        return response

    async def _fetch_active(self, household_ids: list[int]) -> dict[int, Response]:
        open_ids = await self.open_rounds()
        found: dict[int, Response] = {}
        if not open_ids:
            return found
        rows = await Response.filter(
            household_id__in=household_ids, stage=ResponseStage.ACTIVE, round_id__in=open_ids
        ).order_by("-updated_at")
        for row in rows:  # oldest last, so it wins: the round the household started first
            found[row.household_id] = row  # type: ignore[attr-defined]
        return found

    def _remember(self, response: Response) -> None:
        household_id: int = response.household_id  # type: ignore[attr-defined]
        if self.cache_responses and response.stage == ResponseStage.ACTIVE:
            self._active[household_id] = response
        elif self._active.get(household_id) is response or response.stage != ResponseStage.ACTIVE:
            self._active.pop(household_id, None)

    async def handle_text(self, contact: Contact, body: str, *, quiet: bool = False) -> Handled:
        """``quiet``: a refused text is not answered (the number's automatic replies are capped);
        an answer that is taken still gets the next question."""
        return await self._handle(contact, lambda state, defn: engine.Text(body), None, quiet=quiet)

    async def handle_photo(self, contact: Contact, file_id: str) -> Handled:
        return await self._handle(contact, lambda state, defn: engine.Photo(file_id), None)

    async def handle_button(self, contact: Contact, data: str, message_id: int | None) -> Handled:
        parsed = parse_button(data)
        if parsed is None:
            return Handled(False)
        response_id, seq, suffix = parsed
        household_id: int = contact.household_id  # type: ignore[attr-defined]
        async with self._lock(household_id):
            response = await self.active_response(household_id)
            if response is None or response.id != response_id:
                response = await Response.get_or_none(id=response_id, household_id=household_id)
            lang = contact.language
            if response is None or response.round_id not in await self.open_rounds():  # type: ignore[attr-defined]
                return Handled(True, text(TEXTS, "closed", lang))
            defn = await self.definition(response.round_id)  # type: ignore[attr-defined]
            state = SessionState.from_json(response.state) if response.state else None
            if state is None or seq != state.seq:
                return Handled(True, text(TEXTS, "stale", lang))
            if response.stage != ResponseStage.ACTIVE:
                # "Change the last answer" on a completed survey reopens it, if nothing else runs.
                other = await self.active_response(household_id)
                if other is not None:
                    return Handled(True, text(TEXTS, "busy_other", lang))
                response.stage = ResponseStage.ACTIVE
            inbound = button_inbound(defn, state, suffix)
            if inbound is None:
                return Handled(True, text(TEXTS, "stale", lang))
            await self._step(response, defn, state, contact, inbound, message_id=message_id)
        await self._after(response, contact)
        return Handled(True)

    async def _handle(
        self,
        contact: Contact,
        make: Callable[[SessionState, SurveyDefinition], engine.Inbound],
        message_id: int | None,
        *,
        quiet: bool = False,
    ) -> Handled:
        household_id: int = contact.household_id  # type: ignore[attr-defined]
        refused = False
        async with self._lock(household_id):
            response = await self.active_response(household_id)
            if response is not None and response.state is not None:
                defn = await self.definition(response.round_id)  # type: ignore[attr-defined]
                state = SessionState.from_json(response.state)
                inbound = make(state, defn)
                refused = await self._step(
                    response, defn, state, contact, inbound, message_id=message_id, quiet=quiet
                )
        if response is None or response.state is None:
            # Nothing running: a round waiting for its turn starts now (its first question).
            return Handled(await self.start_next(household_id, contact))
        await self._after(response, contact)
        return Handled(True, refused=refused)

    async def _step(
        self,
        response: Response,
        defn: SurveyDefinition,
        state: SessionState,
        contact: Contact,
        inbound: engine.Inbound,
        *,
        message_id: int | None,
        staff_id: int | None = None,
        quiet: bool = False,
    ) -> bool:
        step = engine.handle(
            defn,
            state,
            inbound,
            channel=ENGINE_CHANNEL.get(contact.channel, "sms"),
            today=self.today(),
        )
        return await self.apply(
            response, defn, contact, step, message_id=message_id, staff_id=staff_id, quiet=quiet
        )

    async def apply(
        self,
        response: Response,
        defn: SurveyDefinition,
        contact: Contact,
        step: engine.Step,
        *,
        message_id: int | None = None,
        staff_id: int | None = None,
        quiet: bool = False,
    ) -> bool:
        """Store the step's state, revisions and messages in one transaction. True when the
        input was refused (asked again with an error, or told why); ``quiet`` sends no such
        answer (the survey's next question still goes)."""
        now = self.clock.now()
        lang = contact.language
        channel = ENGINE_CHANNEL.get(contact.channel, "sms")
        messages: list[tuple[Message, Priority]] = []
        revisions: list[Revision] = []
        alerts: list[engine.Alert] = []
        edit_done = False
        refused = False
        for event in step.events:
            _log_refusal(response.id, event)
            if isinstance(event, Ask | engine.Invalid | engine.NeedsHuman) and (
                not isinstance(event, Ask) or event.error is not None
            ):
                refused = True
                if quiet:
                    if isinstance(event, engine.NeedsHuman):
                        response.needs_call = True
                    continue
            if isinstance(event, Ask):
                message = self._ask_message(defn, response.id, event, contact, header=False)
                if event.redraw and message_id is not None and channel == "telegram":
                    message = Message(
                        message.text, message.buttons, extra={"edit_message_id": message_id}
                    )
                    edit_done = True
                messages.append((message, Priority.REPLY))
            elif isinstance(event, engine.AnswerSaved):
                revisions.append(
                    self._revision(response, event.path, event.value, contact, staff_id, now)
                )
                if message_id is not None and channel == "telegram" and not edit_done:
                    messages.append(
                        (self._confirmation(defn, event, lang, message_id), Priority.SURVEY)
                    )
                    edit_done = True
            elif isinstance(event, engine.AnswerCleared):
                revisions.append(self._revision(response, event.path, None, contact, staff_id, now))
            elif isinstance(event, engine.Completed):
                response.status = ResponseStatus.ANSWERED
                response.answers = event.answers
                response.completed_at = now
                response.stage = ResponseStage.DONE
                prefix = button_data(response.id, step.state.seq) if channel == "telegram" else None
                messages.append(
                    (
                        render_completed(defn, event.answers, lang, channel, data_prefix=prefix),
                        Priority.REPLY,
                    )
                )
            elif isinstance(event, engine.Cancelled):
                response.stage = ResponseStage.DONE
                key = "cancelled" if channel == "telegram" else "cancelled_sms"
                messages.append((Message(text(TEXTS, key, lang)), Priority.REPLY))
            elif isinstance(event, engine.Alert):
                alerts.append(event)
            elif isinstance(event, engine.NeedsHuman):
                response.needs_call = True
                messages.append((Message(text(TEXTS, "needs_call", lang)), Priority.REPLY))
            elif isinstance(event, engine.Invalid):
                messages.append((Message(render_reason(event.reason, lang)), Priority.REPLY))
        if revisions:
            response.answers = step.state.answers
            if response.status != ResponseStatus.ANSWERED:
                response.status = ResponseStatus.IN_PROGRESS
            response.answered_channel = contact.channel
            if staff_id is not None:
                response.proxy = True
        response.state = step.state.to_json()
        response.updated_at = now
        outgoing = [
            self._outgoing(response.id, contact, m, step, priority, n)
            for n, (m, priority) in enumerate(messages)
        ]
        try:
            await self.writer.write(WriteSet(response, revisions, outgoing, now))
        except Exception:
            self._active.pop(response.household_id, None)  # type: ignore[attr-defined]
            raise
        self._remember(response)
        if outgoing:
            self.wake()
        for alert in alerts:
            log.warning("alert %s on response %d", alert.kind, response.id)
            for hook in self.alert_hooks:
                try:
                    await hook(response, alert)
                except Exception:
                    log.exception("alert hook failed")
        return refused

    def _revision(
        self,
        response: Response,
        path: engine.Path,
        value: Any,
        contact: Contact,
        staff_id: int | None,
        now: datetime,
    ) -> Revision:
        return Revision(
            response_id=response.id,
            at=now,
            path=path_str(path)[:100],
            value={"v": value},  # wrapped: Tortoise reads a bare str as JSON text
            contact_id=None if staff_id is not None else contact.id,
            staff_id=staff_id,
        )

    def _confirmation(
        self, defn: SurveyDefinition, event: engine.AnswerSaved, lang: str, message_id: int
    ) -> Message:
        question = question_at(defn, event.path)
        label = localize(question.label, lang) if question else ""
        value = format_value(question, event.value, lang) if question else str(event.value)
        return Message(
            text=f"{label}\n{text(TEXTS, 'answered', lang, value=value)}",
            extra={"edit_message_id": message_id},
        )

    async def _after(self, response: Response, contact: Contact) -> None:
        """When a household finishes a round, the next one waiting for it starts."""
        if response.stage == ResponseStage.DONE:
            await self.start_next(response.household_id, contact, idle=True)  # type: ignore[attr-defined]

    async def start_next(self, household_id: int, contact: Contact, *, idle: bool = False) -> bool:
        """Start the household's next waiting round, if it has none active (``idle``: known to
        have none, it just finished one). True if started."""
        async with self._lock(household_id):
            if not idle and await self.active_response(household_id) is not None:
                return False
            open_ids = await self.open_rounds()
            if not open_ids or household_id not in self._waiting:
                return False
            response = (
                await Response.filter(
                    household_id=household_id, stage=ResponseStage.PENDING, round_id__in=open_ids
                )
                .order_by("id")
                .first()
            )
            if response is None:
                self._waiting.discard(household_id)
                return False
            defn = await self.definition(response.round_id)  # type: ignore[attr-defined]
            step = engine.start(defn, channel=ENGINE_CHANNEL.get(contact.channel, "sms"))
            response.stage = ResponseStage.ACTIVE
            response.channel = response.channel or contact.channel
            now = self.clock.now()
            response.state = step.state.to_json()
            response.updated_at = now
            outgoing = [
                self._outgoing(response.id, contact, m, step, Priority.REPLY)
                for m in self._messages_for(defn, response.id, contact, step, header=True)
            ]
            await self.writer.write(WriteSet(response, (), outgoing, now))
            self._remember(response)
        self.wake()
        return True

    async def resume(self, contact: Contact) -> bool:
        """Send the current question again (after /start or HELP). True if there was one."""
        household_id: int = contact.household_id  # type: ignore[attr-defined]
        response = await self.active_response(household_id)
        if response is None or response.state is None:
            return await self.start_next(household_id, contact)
        defn = await self.definition(response.round_id)  # type: ignore[attr-defined]
        state = SessionState.from_json(response.state)
        question = question_at(defn, state.cursor)
        if question is None:
            return False
        ask = Ask(
            path=state.cursor,  # type: ignore[arg-type]
            question=question,
            seq=state.seq,
            selected=state.pending,
            can_back=bool(state.history),
        )
        message = self._ask_message(defn, response.id, ask, contact, header=True)
        await enqueue_many(
            [
                Outgoing(
                    contact=contact,
                    message=message,
                    key=f"resp{response.id}:resume:{self.clock.now().timestamp()}:c{contact.id}",
                    priority=Priority.REPLY,
                    purpose="survey",
                    ref=f"response:{response.id}",
                )
            ],
            now=self.clock.now(),
        )
        self.wake()
        return True

    async def answered_summary(self, contact: Contact) -> Message | None:
        """For a member who opens the bot after the household answered: what was answered,
        with a button to revise it (any member may)."""
        household_id: int = contact.household_id  # type: ignore[attr-defined]
        open_ids = await self.open_rounds()
        response = (
            await Response.filter(
                household_id=household_id, stage=ResponseStage.DONE, round_id__in=open_ids
            )
            .order_by("-completed_at")
            .first()
            if open_ids
            else None
        )
        if response is None:
            return None
        defn = await self.definition(response.round_id)  # type: ignore[attr-defined]
        lang = contact.language
        summary = "\n".join(render_summary_lines(defn, response.answers, lang))
        body = text(
            TEXTS, "already_answered", lang, title=localize(defn.title, lang), summary=summary
        )
        if contact.channel == "telegram":
            return Message(
                body, buttons=((Button(text(TEXTS, "revise", lang), f"rv:{response.id}"),),)
            )
        return Message(body)

    async def revise(self, contact: Contact, response_id: int) -> Handled:
        """Start a completed response again from the first question, showing what was answered."""
        household_id: int = contact.household_id  # type: ignore[attr-defined]
        async with self._lock(household_id):
            response = await Response.get_or_none(id=response_id, household_id=household_id)
            if response is None or response.round_id not in await self.open_rounds():  # type: ignore[attr-defined]
                return Handled(True, text(TEXTS, "closed", contact.language))
            if await self.active_response(household_id) is not None:
                return Handled(True, text(TEXTS, "busy_other", contact.language))
            defn = await self.definition(response.round_id)  # type: ignore[attr-defined]
            previous_seq = SessionState.from_json(response.state).seq if response.state else 0
            step = engine.start(
                defn,
                channel=ENGINE_CHANNEL.get(contact.channel, "sms"),
                previous=response.answers,
                seq=previous_seq,  # old buttons stay stale
            )
            response.stage = ResponseStage.ACTIVE
            await self.apply(response, defn, contact, step)
        return Handled(True)

    # ---- proxy answers (an officer answers for a household from their own chat) ------------
    async def _proxy_response(self, household_id: int, response_id: int) -> Response | None:
        cached = self._active.get(household_id)
        if cached is not None and cached.id == response_id:
            return cached
        return await Response.get_or_none(id=response_id)

    async def start_proxy(
        self, *, household_id: int, response_id: int, contact: Contact, staff_id: int
    ) -> None:
        """Start the household's questions again from the first in the officer's chat
        (``contact``, never saved), the answers so far kept."""
        async with self._lock(household_id):
            response = await self._proxy_response(household_id, response_id)
            if response is None:
                return
            defn = await self.definition(response.round_id)  # type: ignore[attr-defined]
            previous_seq = SessionState.from_json(response.state).seq if response.state else 0
            step = engine.start(
                defn, channel="telegram", previous=response.answers or None, seq=previous_seq
            )
            response.stage = "active"
            await self.apply(response, defn, contact, step, staff_id=staff_id)

    async def answer_as_proxy(
        self,
        *,
        household_id: int,
        response_id: int,
        contact: Contact,
        staff_id: int,
        body: str = "",
        photo: str | None = None,
        button: tuple[int, str] | None = None,
        message_id: int | None = None,
    ) -> ProxyResult:
        """One answer typed (``body``, ``/cancel``, ``photo``) or pressed (``button``: the
        button's seq and suffix) by an officer for a household; every revision records them."""
        async with self._lock(household_id):
            response = await self._proxy_response(household_id, response_id)
            if response is None or response.state is None:
                return ProxyResult.ENDED
            if response.round_id not in await self.open_rounds():  # type: ignore[attr-defined]
                return ProxyResult.ROUND_CLOSED
            defn = await self.definition(response.round_id)  # type: ignore[attr-defined]
            state = SessionState.from_json(response.state)
            step_in: engine.Inbound | None
            if button is not None:
                seq, suffix = button
                if seq != state.seq:
                    return ProxyResult.ANSWERED
                step_in = button_inbound(defn, state, suffix)
                if step_in is None:
                    return ProxyResult.ANSWERED
                response.stage = "active"  # "change the last answer" after completing
            elif response.stage != "active":
                return ProxyResult.ENDED
            elif body.lower().startswith("/cancel"):
                step_in = engine.Text("取消")
            elif photo is not None and not body:
                step_in = engine.Photo(photo)
            else:
                step_in = engine.Text(body)
            step = engine.handle(defn, state, step_in, channel="telegram", today=self.today())
            await self.apply(
                response,
                defn,
                contact,
                step,
                message_id=message_id if button is not None else None,
                staff_id=staff_id,
            )
            log.info("proxy answer by staff %d on response %d", staff_id, response.id)
        return ProxyResult.ANSWERED


async def proxy_target(
    building: int, room: str, survey: str = ""
) -> tuple[Household | None, Response | None]:
    """The household at ``building``-``room`` and its newest response in an open round (of
    ``survey``, when given)."""
    household = await Household.filter(building__number=building, room=room).first()
    if household is None:
        return None, None
    query = Response.filter(household_id=household.id, round__status="open")
    if survey:
        query = query.filter(round__survey=survey)
    return household, await query.order_by("-id").first()
