"""The Voice half of the fake Twilio (``POST /Accounts/{sid}/Calls.json``, fetch a call).

:class:`FakeTwilio` mixes :class:`VoiceApi` in. A call created through it is played in the
background, the way Twilio would, by the plan given for its number (:meth:`VoiceApi.plan_call`):

* ``answer`` (default): status callbacks initiated, ringing, in-progress; our TwiML is fetched
  from the call's ``Url`` with a signed POST (``X-Twilio-Signature`` over the URL, query
  included, and the form); the TwiML is read strictly (only the verbs and attributes Twilio
  knows; an unknown one is recorded in :attr:`VoiceApi.twiml_errors`); each ``<Gather>`` takes
  the plan's next keypad digits (posted, signed, to its ``action``; the answer's TwiML goes on)
  or, with none left, times out and the call goes on after it; ``<Redirect>`` fetches again;
  ``<Hangup>`` or the end of the document ends the call: completed with ``CallDuration``.
* ``machine``: answered by an answering machine (``AnsweredBy=machine_start`` when the call was
  created with ``MachineDetection``), then as ``answer`` without digits.
* ``busy`` / ``no-answer`` / ``failed``: initiated (ringing for no-answer), then that status.

Status callbacks are posted for the events asked in ``StatusCallbackEvent`` (``completed``
always), in Twilio's order, signed. Every call, its TwiML documents, what was said, its keypad
posts and callbacks are recorded (:class:`FakeCall`). Breaches of the account's limits are
counted, not refused (Twilio queues calls over CPS): :attr:`VoiceApi.cps_breaches` (more than
``calls_per_second`` calls created within any second), :attr:`VoiceApi.concurrency_breaches`
(more than ``max_concurrent_calls`` live) and :attr:`VoiceApi.same_number_breaches` (a second
live call to one number).
"""

from __future__ import annotations

import asyncio
import re
import xml.etree.ElementTree as ET
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from aiohttp import web

if TYPE_CHECKING:
    from tests.fakes.twilio import FakeTwilio

JSON = dict[str, Any]

#: ``api.v2010.account.call`` properties, from Twilio's OpenAPI description (2010 API).
CALL_PROPERTIES = (
    "sid date_created date_updated parent_call_sid account_sid to to_formatted from "
    "from_formatted phone_number_sid status start_time end_time duration price price_unit "
    "direction answered_by api_version forwarded_from group_sid caller_name queue_time trunk_sid "
    "uri subresource_uris"
).split()
#: ``call_enum_status``.
CALL_STATUSES = frozenset(
    "queued ringing in-progress completed busy failed no-answer canceled".split()
)
#: ``call_enum_event``: what ``StatusCallbackEvent`` may ask for.
CALL_EVENTS = frozenset({"initiated", "ringing", "answered", "completed"})
#: Form parameters of ``POST /Accounts/{AccountSid}/Calls.json`` (To and From required).
CALL_CREATE_PARAMS = frozenset(
    (
        "To From Method FallbackUrl FallbackMethod StatusCallback StatusCallbackEvent "
        "StatusCallbackMethod SendDigits Timeout Record RecordingChannels RecordingStatusCallback "
        "RecordingStatusCallbackMethod SipAuthUsername SipAuthPassword MachineDetection "
        "MachineDetectionTimeout RecordingStatusCallbackEvent Trim CallerId "
        "MachineDetectionSpeechThreshold MachineDetectionSpeechEndThreshold "
        "MachineDetectionSilenceTimeout AsyncAmd AsyncAmdStatusCallback "
        "AsyncAmdStatusCallbackMethod Byoc CallReason CallToken RecordingTrack TimeLimit "
        "ClientNotificationUrl Url Twiml ApplicationSid"
    ).split()
)
PLANS = frozenset({"answer", "machine", "busy", "no-answer", "failed"})
#: TwiML verbs and the attributes Twilio accepts on each (the ones louzhang may use).
TWIML_VERBS: dict[str, frozenset[str]] = {
    "Say": frozenset({"voice", "language", "loop"}),
    "Pause": frozenset({"length"}),
    "Play": frozenset({"loop", "digits"}),
    "Gather": frozenset(
        {
            "input",
            "action",
            "method",
            "timeout",
            "finishOnKey",
            "numDigits",
            "actionOnEmptyResult",
            "language",
            "speechTimeout",
        }
    ),
    "Record": frozenset(
        {"action", "method", "timeout", "finishOnKey", "maxLength", "playBeep", "trim"}
    ),
    "Redirect": frozenset({"method"}),
    "Hangup": frozenset(),
}
GATHER_CHILDREN = frozenset({"Say", "Play", "Pause"})
SSML_IN_SAY = frozenset({"prosody", "break", "emphasis", "say-as", "p", "s", "lang", "sub"})
HTTP_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d+)?(/|$)")


@dataclass
class CallPlan:
    """How the resident's side of one call goes."""

    outcome: str = "answer"
    #: Keypad input for each ``<Gather>`` in turn (``"1"``, ``"12#"``); none left: a timeout.
    digits: list[str] = field(default_factory=list)
    #: What the resident says at each ``<Record>`` in turn: (audio, seconds), or None for
    #: silence (no recording: the call goes on with the next verb); none left: silence.
    recordings: list[tuple[bytes, int] | None] = field(default_factory=list)


@dataclass
class FakeCall:
    sid: str
    to: str
    from_: str
    url: str
    params: dict[str, str]
    status_callback: str | None
    events: frozenset[str]
    machine_detection: bool
    plan: CallPlan
    created: float  # clock()
    date_created: datetime
    status: str = "queued"
    answered_by: str | None = None
    duration: int = 0
    ended: float | None = None
    answered_at: float | None = None  # clock() when the resident (or a machine) picked up
    #: Every status it went through, in order (``initiated`` included).
    history: list[str] = field(default_factory=list)
    #: (CallStatus, HTTP status our app answered) of each status callback posted.
    callbacks: list[tuple[str, int]] = field(default_factory=list)
    #: (url, TwiML answered) of each document fetched (the Url, Gather actions, Redirects).
    twiml: list[tuple[str, str]] = field(default_factory=list)
    #: What the resident heard, in order (each Say's text).
    said: list[str] = field(default_factory=list)
    #: (action url, digits, HTTP status) of each keypad post.
    gathers: list[tuple[str, str, int]] = field(default_factory=list)
    #: (say text, voice, language, slow) of each Say.
    says: list[tuple[str, str, str, bool]] = field(default_factory=list)
    #: ``outbound-api`` (we placed it) or ``inbound`` (a resident called: :meth:`call_in`).
    direction: str = "outbound-api"
    #: RecordingSids made on this call (``<Record>``).
    recorded: list[str] = field(default_factory=list)

    @property
    def live(self) -> bool:
        return self.ended is None

    def resource(self, account_sid: str) -> JSON:
        uri = f"/2010-04-01/Accounts/{account_sid}/Calls/{self.sid}.json"
        stamp = _rfc2822(self.date_created)
        return {
            "account_sid": account_sid,
            "answered_by": self.answered_by,
            "api_version": "2010-04-01",
            "caller_name": None,
            "date_created": stamp,
            "date_updated": stamp,
            "direction": "outbound-api",
            "duration": str(self.duration) if self.ended is not None else None,
            "end_time": None,
            "forwarded_from": None,
            "from": self.from_,
            "from_formatted": self.from_,
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": "PN" + "0" * 32,
            "price": None,
            "price_unit": "USD",
            "queue_time": "0",
            "sid": self.sid,
            "start_time": None,
            "status": self.status,
            "subresource_uris": {
                "recordings": uri.removesuffix(".json") + "/Recordings.json",
                "notifications": uri.removesuffix(".json") + "/Notifications.json",
            },
            "to": self.to,
            "to_formatted": self.to,
            "trunk_sid": None,
            "uri": uri,
        }


def _rfc2822(when: datetime) -> str:
    from email.utils import format_datetime

    return format_datetime(when.astimezone(UTC)).replace("-0000", "+0000")


class VoiceApi:
    """Calls for :class:`tests.fakes.twilio.FakeTwilio` (see the module docstring)."""

    def _init_voice(
        self,
        *,
        calls_per_second: float = 1.0,
        max_concurrent_calls: int | None = None,
        call_step_delay: float = 0.005,
        talk_seconds: float = 0.0,
    ) -> None:
        #: The account's CPS and live-call limits (breaches are counted).
        self.calls_per_second = calls_per_second
        self.max_concurrent_calls = max_concurrent_calls
        #: Real seconds between two events of a call (ringing, answer, ...).
        self.call_step_delay = call_step_delay
        #: Real seconds an answered call stays live after its TwiML ran out.
        self.talk_seconds = talk_seconds
        self.calls: list[FakeCall] = []
        self.twiml_errors: list[tuple[str, str]] = []  # (call sid, what was wrong)
        self.cps_breaches = 0
        self.concurrency_breaches = 0
        self.same_number_breaches = 0
        self.max_live_seen = 0
        self._plans: dict[str, deque[CallPlan]] = {}
        self._default_plans: dict[str, CallPlan] = {}
        self._calls_by_sid: dict[str, FakeCall] = {}
        self._call_event: asyncio.Event | None = None
        #: Recordings made by ``<Record>``: RecordingSid -> audio (GET .../Recordings/{sid}.mp3).
        self.recordings: dict[str, bytes] = {}
        self.recording_fetches: list[str] = []

    # ---- scripting the residents -----------------------------------------------------------
    def plan_call(
        self,
        number: str,
        outcome: str = "answer",
        digits: list[str] | None = None,
        *,
        always: bool = False,
    ) -> None:
        """The next call to ``number`` goes this way (plans queue up, one per call); with
        ``always`` every call to it does (after the queued ones)."""
        if outcome not in PLANS:
            raise ValueError(f"not a call plan: {outcome!r}")
        plan = CallPlan(outcome, list(digits or []))
        if always:
            self._default_plans[number] = plan
        else:
            self._plans.setdefault(number, deque()).append(plan)

    def _next_plan(self, number: str) -> CallPlan:
        queued = self._plans.get(number)
        if queued:
            return queued.popleft()
        default = self._default_plans.get(number)
        return CallPlan(default.outcome, list(default.digits)) if default else CallPlan()

    # ---- inspection ----------------------------------------------------------------------------
    def calls_to(self, number: str) -> list[FakeCall]:
        return [c for c in self.calls if c.to == number]

    def live_calls(self) -> list[FakeCall]:
        return [c for c in self.calls if c.live]

    def call(self, sid: str) -> FakeCall:
        return self._calls_by_sid[sid]

    async def wait_calls(
        self,
        number: str,
        count: int = 1,
        *,
        ended: bool = True,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> list[FakeCall]:
        """Wait until ``count`` calls to ``number`` were placed (and, with ``ended``, over)."""
        async with asyncio.timeout(timeout):
            while True:
                calls = self.calls_to(number)
                if len(calls) >= count and (not ended or all(not c.live for c in calls[:count])):
                    return calls
                event = self._call_event = self._call_event or asyncio.Event()
                await event.wait()

    def _changed(self) -> None:
        if self._call_event is not None:
            self._call_event.set()
            self._call_event = None

    # ---- HTTP ----------------------------------------------------------------------------------
    def _voice_routes(self: FakeTwilio, app: web.Application, base: str) -> None:  # type: ignore[misc]
        app.router.add_post(f"{base}/Calls.json", self._create_call)
        app.router.add_get(f"{base}/Calls/{{sid}}.json", self._fetch_call)
        app.router.add_get(f"{base}/Recordings/{{name}}", self._fetch_recording)

    async def _fetch_recording(self: FakeTwilio, request: web.Request) -> web.Response:  # type: ignore[misc]
        """A recording's media (``.mp3``), with the account's credentials."""
        from tests.fakes.twilio import TwilioApiError

        name = request.match_info["name"]
        try:
            self._authenticate(request)
            content = self.recordings.get(name.removesuffix(".mp3"))
            if content is None or not name.endswith(".mp3"):
                raise TwilioApiError(
                    404, 20404, f"The requested resource {request.path} was not found"
                )
        except TwilioApiError as exc:
            self.requests.append((request.method, request.path, {}, exc.status))
            return self._error(exc)
        self.requests.append((request.method, request.path, {}, 200))
        self.recording_fetches.append(name)
        return web.Response(body=content, content_type="audio/mpeg")

    async def call_in(  # type: ignore[misc]
        self: FakeTwilio,
        from_: str,
        url: str,
        *,
        to: str | None = None,
        digits: list[str] | None = None,
        recordings: list[tuple[bytes, int] | None] | None = None,
    ) -> FakeCall:
        """A resident calls the account's number: our voice ``url`` is fetched (signed,
        ``Direction=inbound``, ``From`` the caller) and the TwiML played with ``digits`` and
        ``recordings`` as the caller's side; returns the call once it is over."""
        from tests.fakes.twilio import _sid

        call = FakeCall(
            sid=_sid("CA"),
            to=to or next(iter(self.senders)),
            from_=from_,
            url=url,
            params={},
            status_callback=None,
            events=frozenset(),
            machine_detection=False,
            plan=CallPlan("answer", list(digits or []), list(recordings or [])),
            created=self.clock(),
            date_created=datetime.now(UTC),
            history=["ringing", "in-progress"],
            status="in-progress",
            direction="inbound",
        )
        self.calls.append(call)
        self._calls_by_sid[call.sid] = call
        await self._converse(call)
        call.status = "completed"
        call.history.append("completed")
        call.ended = self.clock()
        self._changed()
        return call

    async def _fetch_call(self: FakeTwilio, request: web.Request) -> web.Response:  # type: ignore[misc]
        from tests.fakes.twilio import TwilioApiError

        try:
            self._authenticate(request)
            call = self._calls_by_sid.get(request.match_info["sid"])
            if call is None:
                raise TwilioApiError(
                    404, 20404, f"The requested resource {request.path} was not found"
                )
        except TwilioApiError as exc:
            self.requests.append((request.method, request.path, {}, exc.status))
            return self._error(exc)
        self.requests.append((request.method, request.path, {}, 200))
        return web.json_response(call.resource(self.account_sid))

    async def _create_call(self: FakeTwilio, request: web.Request) -> web.Response:  # type: ignore[misc]
        from tests.fakes.twilio import TwilioApiError

        post = await request.post()
        form = {k: str(v) for k, v in post.items()}
        events = [str(v) for v in post.getall("StatusCallbackEvent", [])]
        try:
            self._authenticate(request)
            call = self._new_call(form, events)
        except TwilioApiError as exc:
            self.requests.append((request.method, request.path, form, exc.status))
            return self._error(exc)
        self.requests.append((request.method, request.path, form, 201))
        self._spawn(self._play(call))
        self._changed()
        return web.json_response(call.resource(self.account_sid), status=201)

    def _new_call(self: FakeTwilio, form: dict[str, str], events: list[str]) -> FakeCall:  # type: ignore[misc]
        from tests.fakes.twilio import E164_RE, TwilioApiError, _sid

        for failure in self._failures:
            if failure.remaining > 0:
                failure.remaining -= 1
                self._failures = [f for f in self._failures if f.remaining > 0]
                raise TwilioApiError(failure.status, failure.code, failure.message)
        unknown = sorted(set(form) - CALL_CREATE_PARAMS)
        if unknown:
            raise TwilioApiError(400, 20001, f"Unknown parameters: {', '.join(unknown)}")
        to = form.get("To", "").strip()
        from_ = form.get("From", "").strip()
        if not to:
            raise TwilioApiError(400, 21201, "No 'To' number is specified")
        if not E164_RE.match(to) or to in self._invalid:
            raise TwilioApiError(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not from_:
            raise TwilioApiError(400, 21213, "No 'From' number is specified")
        if from_ not in self.senders:
            raise TwilioApiError(
                400,
                21210,
                f"The source phone number provided, {from_}, is not yet verified for your account.",
            )
        url = form.get("Url", "")
        if not (url or form.get("Twiml") or form.get("ApplicationSid")):
            raise TwilioApiError(400, 21205, "Url parameter is required.")
        if url and not HTTP_URL.match(url):
            raise TwilioApiError(400, 21205, f"Url is not a valid URL: {url}")
        callback = form.get("StatusCallback") or None
        if callback and not HTTP_URL.match(callback):
            raise TwilioApiError(400, 21609, "Invalid StatusCallback url")
        for name in ("Method", "StatusCallbackMethod"):
            if form.get(name, "POST").upper() not in ("GET", "POST"):
                raise TwilioApiError(400, 21200, f"{name} must be GET or POST")
        bad = [e for e in events if e not in CALL_EVENTS]
        if bad:
            raise TwilioApiError(400, 21626, f"Invalid StatusCallbackEvent: {', '.join(bad)}")
        detection = form.get("MachineDetection", "")
        if detection and detection not in ("Enable", "DetectMessageEnd"):
            raise TwilioApiError(400, 21200, "MachineDetection must be Enable or DetectMessageEnd")
        now = self.clock()
        self._check_call_limits(to, now)
        call = FakeCall(
            sid=_sid("CA"),
            to=to,
            from_=from_,
            url=url,
            params=form,
            status_callback=callback,
            events=frozenset(events) | {"completed"},
            machine_detection=bool(detection),
            plan=self._next_plan(to),
            created=now,
            date_created=datetime.now(UTC),
            history=["queued"],
        )
        self.calls.append(call)
        self._calls_by_sid[call.sid] = call
        live = len(self.live_calls())
        self.max_live_seen = max(self.max_live_seen, live)
        return call

    def _check_call_limits(self, to: str, now: float) -> None:
        recent = [c for c in self.calls if c.created > now - 1.0]
        if len(recent) + 1 > self.calls_per_second + 1e-9:
            self.cps_breaches += 1
        live = self.live_calls()
        if self.max_concurrent_calls is not None and len(live) + 1 > self.max_concurrent_calls:
            self.concurrency_breaches += 1
        if any(c.to == to for c in live):
            self.same_number_breaches += 1

    # ---- playing a call ------------------------------------------------------------------------
    def _call_params(self: FakeTwilio, call: FakeCall) -> dict[str, str]:  # type: ignore[misc]
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": call.sid,
            "CallStatus": call.status,
            "Called": call.to,
            "Caller": call.from_,
            "Direction": call.direction,
            "From": call.from_,
            "To": call.to,
        }
        if call.answered_by is not None:
            params["AnsweredBy"] = call.answered_by
        return params

    async def _post_signed(self: FakeTwilio, url: str, params: dict[str, str]) -> tuple[int, str]:  # type: ignore[misc]
        session = await self.session()
        headers = {"X-Twilio-Signature": self.sign(url, params)}
        async with session.post(url, data=params, headers=headers) as resp:
            return resp.status, await resp.text()

    async def _status(self: FakeTwilio, call: FakeCall, status: str, event: str) -> None:  # type: ignore[misc]
        if status in CALL_STATUSES:  # "initiated" is an event: the resource stays queued
            call.status = status
        call.history.append(status)
        if call.status_callback is None or event not in call.events:
            return
        params = self._call_params(call)
        params["CallStatus"] = status
        params["CallbackSource"] = "call-progress-events"
        params["SequenceNumber"] = str(len(call.callbacks))
        params["Timestamp"] = _rfc2822(datetime.now(UTC))
        if event == "completed":
            params["CallDuration"] = str(call.duration)
            params["Duration"] = str((call.duration + 59) // 60)
        answer, _ = await self._post_signed(call.status_callback, params)
        call.callbacks.append((status, answer))

    async def _play(self: FakeTwilio, call: FakeCall) -> None:  # type: ignore[misc]
        step = self.call_step_delay
        try:
            await asyncio.sleep(step)
            await self._status(call, "initiated", "initiated")
            outcome = call.plan.outcome
            if outcome in ("busy", "failed"):
                await asyncio.sleep(step)
                await self._end(call, outcome)
                return
            await asyncio.sleep(step)
            await self._status(call, "ringing", "ringing")
            await asyncio.sleep(step)
            if outcome == "no-answer":
                await self._end(call, "no-answer")
                return
            if call.machine_detection:
                call.answered_by = "machine_start" if outcome == "machine" else "human"
            call.answered_at = self.clock()
            await self._status(call, "in-progress", "answered")
            await self._converse(call)
            if self.talk_seconds:
                await asyncio.sleep(self.talk_seconds)
            await self._end(call, "completed")
        except Exception as exc:
            self.twiml_errors.append((call.sid, f"call failed in the fake: {exc!r}"))
            if call.live:
                call.ended = self.clock()
                self._changed()
            raise

    async def _end(self: FakeTwilio, call: FakeCall, status: str) -> None:  # type: ignore[misc]
        call.ended = self.clock()
        await self._status(call, status, "completed")
        self._changed()

    async def _converse(self: FakeTwilio, call: FakeCall) -> None:  # type: ignore[misc]
        """Fetch the call's TwiML and run it, following Gather actions and Redirects."""
        url: str | None = call.url
        extra: dict[str, str] = {}
        digits = deque(call.plan.digits if call.plan.outcome == "answer" else [])
        hops = 0
        while url is not None and hops < 20:
            hops += 1
            params = {**self._call_params(call), **extra}
            answer, body = await self._post_signed(url, params)
            call.twiml.append((url, body))
            if "Digits" in extra:
                call.gathers.append((url, extra["Digits"], answer))
            if answer != 200:
                self.twiml_errors.append((call.sid, f"{url} answered {answer}"))
                return
            url, extra = await self._run_twiml(call, url, body, digits)

    async def _run_twiml(  # type: ignore[misc]
        self: FakeTwilio,
        call: FakeCall,
        url: str,
        body: str,
        digits: deque[str],
    ) -> tuple[str | None, dict[str, str]]:
        """Run one TwiML document; returns the next URL to fetch (a Gather action with its
        digits, a Redirect) or None when the call is over."""
        try:
            root = ET.fromstring(body)
        except ET.ParseError as exc:
            self.twiml_errors.append((call.sid, f"12100 not XML: {exc}"))
            return None, {}
        if root.tag != "Response":
            self.twiml_errors.append((call.sid, f"12100 root is <{root.tag}>"))
            return None, {}
        for verb in root:
            if not self._valid_verb(call, verb):
                return None, {}
            tag = verb.tag
            if tag == "Say":
                self._hear(call, verb)
            elif tag == "Pause":
                call.duration += int(verb.get("length", "1"))
            elif tag == "Play":
                call.said.append(f"<play {verb.text}>")
            elif tag == "Gather":
                for child in verb:
                    if child.tag not in GATHER_CHILDREN:
                        self.twiml_errors.append((call.sid, f"12200 <{child.tag}> in <Gather>"))
                        return None, {}
                    if child.tag == "Say":
                        self._hear(call, child)
                if not digits:
                    call.duration += int(verb.get("timeout", "5"))
                    continue  # no input: Twilio goes on with the next verb
                pressed = digits.popleft()
                finish = verb.get("finishOnKey", "#")
                if finish and pressed.endswith(finish):
                    pressed = pressed[: -len(finish)]
                action = urljoin(url, verb.get("action") or url)
                if (verb.get("method") or "POST").upper() != "POST":
                    self.twiml_errors.append((call.sid, "Gather method is not POST"))
                return action, {"Digits": pressed, "FinishedOnKey": ""}
            elif tag == "Redirect":
                return urljoin(url, (verb.text or "").strip()), {}
            elif tag == "Record":
                taken = call.plan.recordings.pop(0) if call.plan.recordings else None
                if taken is None:
                    call.said.append("<silence>")
                    call.duration += int(verb.get("timeout", "5"))
                    continue  # nothing recorded: Twilio goes on with the next verb
                from tests.fakes.twilio import _sid

                content, seconds = taken
                seconds = min(seconds, int(verb.get("maxLength", "3600")))
                sid = _sid("RE")
                self.recordings[sid] = content
                call.recorded.append(sid)
                call.said.append(f"<recorded {seconds}s>")
                call.duration += seconds
                action = urljoin(url, verb.get("action") or url)
                base = f"{self.url}/2010-04-01/Accounts/{self.account_sid}"
                return action, {
                    "RecordingUrl": f"{base}/Recordings/{sid}",
                    "RecordingSid": sid,
                    "RecordingDuration": str(seconds),
                }
            elif tag == "Hangup":
                return None, {}
        return None, {}

    def _valid_verb(self, call: FakeCall, verb: ET.Element) -> bool:
        allowed = TWIML_VERBS.get(verb.tag)
        if allowed is None:
            self.twiml_errors.append((call.sid, f"12200 unknown verb <{verb.tag}>"))
            return False
        unknown = set(verb.attrib) - allowed
        if unknown:
            self.twiml_errors.append((call.sid, f"12200 <{verb.tag}> {sorted(unknown)}"))
            return False
        if verb.tag == "Gather" and verb.get("input", "dtmf") not in (
            "dtmf",
            "speech",
            "dtmf speech",
        ):
            self.twiml_errors.append((call.sid, "12200 Gather input"))
            return False
        return True

    def _hear(self, call: FakeCall, say: ET.Element) -> None:
        for child in say:
            if child.tag not in SSML_IN_SAY:
                self.twiml_errors.append((call.sid, f"12200 <{child.tag}> in <Say>"))
        spoken = "".join(say.itertext()).strip()
        slow = any(c.tag == "prosody" and c.get("rate") in ("slow", "x-slow") for c in say)
        call.said.append(spoken)
        call.says.append((spoken, say.get("voice", ""), say.get("language", ""), slow))
        call.duration += max(1, len(spoken) // 4)
        if not say.get("voice") or not say.get("language"):
            self.twiml_errors.append((call.sid, "Say without voice/language"))
