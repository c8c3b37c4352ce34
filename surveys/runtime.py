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
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

import surveys.engine as engine
from config.batching import BatchLoader
from config.clock import Clock
from config.database import MAX_ID
from config.i18n import text
from config.settings import Settings
from estate.access import in_scope
from estate.contacts import pick_contact
from estate.models import Contact, Household
from notifications.message import Button, Message
from notifications.models import Priority
from notifications.outbox import Outgoing, cancel, enqueue_many, segments_of
from notifications.status import question_message_id
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
# A household mid-answer (an answer saved) that has been quiet this long gets a newer round; a
# household that has not started its round gets a newer one at once (urgent rounds never wait
# behind an unanswered one).
IDLE_BEFORE_NEWER = timedelta(minutes=10)
SWEEP_EVERY = 30.0  # seconds between passes that start newer rounds for idle households
# Channels that cannot carry a survey's questions: none now (a voice household's round is one
# call that asks them by keypad, surveys/calls.py).
NO_SURVEYS_BY: frozenset[str] = frozenset()
ENGINE_CHANNEL = {"telegram": "telegram", "local": "telegram", "sms": "sms", "voice": "sms"}
AlertHook = Callable[[Response, engine.Alert], Awaitable[None]]


@dataclass
class OpenedRound:
    round: Round
    households: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)
    sms_segments: int = 0
    unreachable: int = 0
    waiting: int = 0  # households mid-answer in another round: they get this one next
    # {older round id: households that had not started it (or went quiet): they get this
    # round first and the older one again afterwards}
    ahead_of: dict[int, int] = field(default_factory=dict)


def mid_answer(status: str, updated_at: datetime | None, now: datetime) -> bool:
    """True when an active response is being answered now: an answer saved, and the household
    not quiet for :data:`IDLE_BEFORE_NEWER`. Only such a response makes a newer round wait."""
    if status == ResponseStatus.NOT_REACHED or updated_at is None:
        return False
    return updated_at > now - IDLE_BEFORE_NEWER


async def active_elsewhere(household_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """{household: its active response in an open round (id, round_id, status, updated_at)}."""
    rows = await Response.filter(
        household_id__in=list(household_ids),
        stage=ResponseStage.ACTIVE,
        round__status=RoundStatus.OPEN,
    ).values("id", "household_id", "round_id", "status", "updated_at")
    return {int(r["household_id"]): r for r in rows}


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
        response_id, seq = int(parts[1]), int(parts[2])
    except ValueError:
        return None
    if not (0 <= response_id <= MAX_ID and 0 <= seq <= MAX_ID):
        return None  # a forged button: no row has such an id
    return response_id, seq, parts[3]


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
        self.no_surveys_by: frozenset[str] = NO_SURVEYS_BY
        self.wake = wake
        self.tz = ZoneInfo(settings.timezone)
        self.alert_hooks: list[AlertHook] = []
        self._definitions: dict[int, SurveyDefinition] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._open_rounds: set[int] | None = None
        self._open_rounds_at = 0.0
        self._waiting: set[int] = set()  # households with a round waiting for its turn
        self._swept_at: float | None = None
        # The active response of each household, kept in memory between answers. Only with
        # SQLite, where this process is the only one that answers; PostgreSQL deployments may
        # run several workers, so they read it each time.
        self.cache_responses = settings.database_url.startswith("sqlite")
        self._active: dict[int, Response] = {}
        self._active_loader: BatchLoader[int, Response] = BatchLoader(self._fetch_active)
        self.writer = AnswerWriter()

    # ---- helpers ---------------------------------------------------------------------------
    @property
    def survey_channels(self) -> set[str]:
        """The channels a round's questions go out on: not by a real phone call until questions
        can be asked by keypad (a voice household stays on the officers' list to phone, as
        before); the simulator's stand-in for voice shows them."""
        return self.enabled - self.no_surveys_by

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
            if self._open_rounds is not None and ids - self._open_rounds:
                # A round opened (maybe by the CLI): households it reached had their older
                # round paused, so the cached active responses may be stale.
                self._active.clear()
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
        estate: int | None = None,
    ) -> OpenedRound:
        """Open a round for ``buildings`` (every building when empty) of ``estate`` (every
        estate when None: a staff member's scope names one, see estate.access.Scope)."""
        defn = definition or load_builtin(slug)
        now = self.clock.now()
        query = Household.filter(**in_scope(estate)).prefetch_related("contacts")
        if buildings:
            query = query.filter(building__number__in=list(buildings))
        households = await query
        active = await active_elsewhere([h.id for h in households])
        paused: list[int] = []
        async with in_transaction() as conn:
            round_ = await Round.create(
                survey=defn.slug,
                version=defn.version,
                definition=defn.to_json(),
                buildings=sorted(buildings) if buildings else [],
                estate_id=estate,
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
                contact = pick_contact(household, household.contacts, self.survey_channels)
                row = Response(round_id=round_.id, household_id=household.id, updated_at=now)
                if contact is None:
                    opened.unreachable += 1
                elif household.id in active and mid_answer(
                    active[household.id]["status"], active[household.id]["updated_at"], now
                ):
                    opened.waiting += 1
                    row.channel = contact.channel
                else:
                    older = active.get(household.id)
                    if older is not None:  # not started, or quiet: it waits behind this one
                        paused.append(int(older["id"]))
                        older_round = int(older["round_id"])
                        opened.ahead_of[older_round] = opened.ahead_of.get(older_round, 0) + 1
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
            if paused:
                await (
                    Response.filter(id__in=paused, stage=ResponseStage.ACTIVE)
                    .using_db(conn)
                    .update(stage=ResponseStage.PENDING)
                )
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
        if paused:
            # Their older round's first question, if still unsent, is not sent now: that
            # round is asked again after this one.
            await cancel(
                [f"response:{i}" for i in paused], now=now, reason="a newer round goes first"
            )
        paused_ids = set(paused)
        for household_id, older in active.items():
            if int(older["id"]) in paused_ids:
                self._active.pop(household_id, None)
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
                if contact.channel == "voice":  # one call asks every question
                    return [self._call_message(defn, response_id, event, contact)]
                out.append(self._ask_message(defn, response_id, event, contact, header=header))
                header = False
        return out

    def _call_message(
        self, defn: SurveyDefinition, response_id: int, ask: Ask, contact: Contact
    ) -> Message:
        """A voice household's survey: one call (surveys/calls.py asks the questions by keypad
        once it is answered). The text is what a simulator or an outbox preview shows."""
        lang = contact.language
        first = render_ask(defn, ask, lang=lang, channel="sms")
        title = localize(defn.title, lang)
        return Message(
            f"{title}\n{first.text}",
            extra={
                "voice": {
                    "kind": "survey",
                    "lang": lang,
                    "contact": contact.id,
                    "response": response_id,
                }
            },
        )

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
        in_call: bool = False,
        quiet: bool = False,
    ) -> bool:
        """Store the step's state, revisions and messages in one transaction. True when the
        input was refused (asked again with an error, or told why); ``quiet`` sends no such
        answer (the survey's next question still goes). ``in_call``: the household is on a call
        that says what comes next (nothing is sent)."""
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
        saved = next((e for e in step.events if isinstance(e, engine.AnswerSaved)), None)
        if saved is not None and message_id is None and staff_id is None and channel == "telegram":
            # A typed answer: the question's buttons go away as if one had been pressed.
            asked = await question_message_id(
                f"response:{response.id}", contact.channel, contact.address
            )
            if asked is not None:
                messages.append((self._confirmation(defn, saved, lang, asked), Priority.SURVEY))
        if revisions:
            response.answers = step.state.answers
            if response.status != ResponseStatus.ANSWERED:
                response.status = ResponseStatus.IN_PROGRESS
            response.answered_channel = "voice" if in_call else contact.channel
            if staff_id is not None:
                response.proxy = True
        response.state = step.state.to_json()
        response.updated_at = now
        if in_call:
            messages = []  # the household hears it in its call, never as another call
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
            started = await self._start_pending(household_id, contact)
        if started:
            self.wake()
        return started

    async def _start_pending(self, household_id: int, contact: Contact) -> bool:
        """(Household lock held, nothing active.) The newest waiting round starts: its first
        question, or, for a round that was paused by a newer one, its current question again."""
        open_ids = await self.open_rounds()
        if not open_ids or household_id not in self._waiting:
            return False
        response = (
            await Response.filter(
                household_id=household_id, stage=ResponseStage.PENDING, round_id__in=open_ids
            )
            .order_by("-round_id", "-id")
            .first()
        )
        if response is None:
            self._waiting.discard(household_id)
            return False
        defn = await self.definition(response.round_id)  # type: ignore[attr-defined]
        channel = ENGINE_CHANNEL.get(contact.channel, "sms")
        now = self.clock.now()
        messages: list[Message] = []
        state = SessionState.from_json(response.state) if response.state else None
        question = question_at(defn, state.cursor) if state is not None else None
        if state is not None and question is not None:
            # Paused by a newer round: ask where the household was, its answers kept.
            state = replace(state, seq=state.seq + 1)  # the buttons sent before stay stale
            ask = Ask(
                path=state.cursor,  # type: ignore[arg-type]
                question=question,
                seq=state.seq,
                selected=state.pending,
                can_back=bool(state.history),
            )
            step = engine.Step(state=state, events=(ask,))
        else:
            step = engine.start(
                defn,
                channel=channel,
                previous=response.answers or None,
                seq=state.seq if state is not None else 0,
            )
        messages = self._messages_for(defn, response.id, contact, step, header=True)
        response.stage = ResponseStage.ACTIVE
        response.channel = response.channel or contact.channel
        response.state = step.state.to_json()
        response.updated_at = now
        outgoing = [self._outgoing(response.id, contact, m, step, Priority.REPLY) for m in messages]
        await self.writer.write(WriteSet(response, (), outgoing, now))
        self._remember(response)
        return True

    async def start_newer_rounds(self) -> int:
        """Households mid-answer that went quiet for :data:`IDLE_BEFORE_NEWER` while a newer
        round waits for them: their round is paused (asked again afterwards) and the newer one
        starts. Runs from the timer loop, at most every :data:`SWEEP_EVERY` seconds. Returns
        how many households switched."""
        stamp = self.clock.monotonic()
        if self._swept_at is not None and stamp - self._swept_at < SWEEP_EVERY:
            return 0
        self._swept_at = stamp
        open_ids = await self.open_rounds()
        if not open_ids or not self._waiting:
            return 0
        newest: dict[int, int] = {}
        for household_id, round_id in await Response.filter(
            stage=ResponseStage.PENDING,
            round_id__in=open_ids,
            household_id__in=list(self._waiting),
        ).values_list("household_id", "round_id"):
            newest[household_id] = max(newest.get(household_id, 0), round_id)  # type: ignore[call-overload]
        now = self.clock.now()
        due = [
            household_id
            for household_id, row in (await active_elsewhere(list(newest))).items()
            if row["round_id"] in open_ids
            and row["round_id"] < newest[household_id]
            and not mid_answer(row["status"], row["updated_at"], now)
        ]
        switched = 0
        for household in await Household.filter(id__in=due).prefetch_related("contacts"):
            contact = pick_contact(household, household.contacts, self.enabled)
            if contact is not None and await self._switch_to_newer(household.id, contact):
                switched += 1
        if switched:
            self.wake()
            log.info("%d quiet households got a newer round", switched)
        return switched

    async def _switch_to_newer(self, household_id: int, contact: Contact) -> bool:
        async with self._lock(household_id):
            current = await self.active_response(household_id)
            if current is None:
                return await self._start_pending(household_id, contact)
            if mid_answer(current.status, current.updated_at, self.clock.now()):
                return False  # answered again meanwhile
            current.stage = ResponseStage.PENDING
            await self.writer.write(WriteSet(current, (), (), None))
            self._remember(current)
            self._waiting.add(household_id)
            return await self._start_pending(household_id, contact)

    # ---- a voice household on a call (surveys/calls.py) ---------------------------------------
    async def call_session(
        self, contact: Contact
    ) -> tuple[Response, SurveyDefinition, SessionState] | None:
        """The survey a household on a call answers now: its active one, else the next one
        waiting for it, started silently (the call asks its first question)."""
        household_id: int = contact.household_id  # type: ignore[attr-defined]
        response = await self.active_response(household_id)
        if response is None or response.state is None:
            async with self._lock(household_id):
                open_ids = await self.open_rounds()
                pending = (
                    await Response.filter(
                        household_id=household_id,
                        stage=ResponseStage.PENDING,
                        round_id__in=open_ids,
                    )
                    .order_by("-round_id", "-id")  # the newest round first, as in chat
                    .first()
                    if open_ids
                    else None
                )
                if pending is None:
                    return None
                defn = await self.definition(pending.round_id)  # type: ignore[attr-defined]
                if pending.state is None:  # else paused by a newer round: go on where it was
                    step = engine.start(defn, channel=ENGINE_CHANNEL.get(contact.channel, "sms"))
                    pending.state = step.state.to_json()
                pending.stage = ResponseStage.ACTIVE
                pending.channel = pending.channel or contact.channel
                pending.updated_at = self.clock.now()
                await self.writer.write(WriteSet(pending, (), (), pending.updated_at))
                self._remember(pending)
            response = pending
        defn = await self.definition(response.round_id)  # type: ignore[attr-defined]
        return response, defn, SessionState.from_json(response.state)

    async def call_step(
        self,
        contact: Contact,
        response_id: int,
        seq: int,
        inbound: engine.Inbound,
        *,
        needs_call: bool = False,
    ) -> engine.Step | None:
        """One keypad answer (or recording) given on a call to the question asked at ``seq``;
        the step's events say what the call says next. None when that question is no longer
        the one open (a repeated request): nothing changes."""
        household_id: int = contact.household_id  # type: ignore[attr-defined]
        async with self._lock(household_id):
            response = await self.active_response(household_id)
            if response is None or response.id != response_id or response.state is None:
                return None
            state = SessionState.from_json(response.state)
            if state.seq != seq:
                return None
            defn = await self.definition(response.round_id)  # type: ignore[attr-defined]
            if needs_call:
                response.needs_call = True
            step = engine.handle(
                defn,
                state,
                inbound,
                channel=ENGINE_CHANNEL.get(contact.channel, "sms"),
                today=self.today(),
            )
            await self.apply(response, defn, contact, step, in_call=True)
        await self._after(response, contact)
        return step

    async def definition_of_response(self, response_id: int) -> SurveyDefinition:
        response = await Response.get(id=response_id)
        return await self.definition(response.round_id)  # type: ignore[attr-defined]

    async def call_needs_human(self, contact: Contact, response_id: int) -> None:
        """A question a phone cannot ask: the household is flagged "needs a call"."""
        household_id: int = contact.household_id  # type: ignore[attr-defined]
        async with self._lock(household_id):
            response = await self.active_response(household_id)
            if response is not None and response.id == response_id and not response.needs_call:
                response.needs_call = True
                response.updated_at = self.clock.now()
                await self.writer.write(WriteSet(response, (), (), response.updated_at))

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
        message = (
            self._call_message(defn, response.id, ask, contact)
            if contact.channel == "voice"
            else self._ask_message(defn, response.id, ask, contact, header=True)
        )
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
    building: int, room: str, survey: str = "", *, estate: int | None = None
) -> tuple[Household | None, Response | None]:
    """The household at ``building``-``room`` (of ``estate``, when given) and its newest
    response in an open round (of ``survey``, when given)."""
    household = await Household.filter(
        building__number=building, room=room, **in_scope(estate)
    ).first()
    if household is None:
        return None, None
    query = Response.filter(household_id=household.id, round__status="open")
    if survey:
        query = query.filter(round__survey=survey)
    return household, await query.order_by("-id").first()
