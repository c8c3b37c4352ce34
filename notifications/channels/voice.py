"""Twilio Programmable Voice, the voice channel: one protocol file.

* **send**: an outbox message becomes one Calls.create with a status callback (every event:
  initiated, ringing, answered, completed) and machine detection. Twilio then fetches what to
  say from ``/twilio/voice?o=<outbox id>`` (the dispatcher hands the row's id in
  ``message.extra["outbox_id"]``). As for SMS, the twilio library never retries on its own.
* **render**: a :data:`notifications.voice_script.Script` becomes TwiML with twilio's
  :class:`VoiceResponse` (:func:`render_twiml`).
* **parse**: a call status callback becomes a :class:`CallUpdate` (:func:`parse_call_status`).
  Signatures are checked as for SMS (:func:`notifications.channels.twilio.signature_ok`).
* **ONE error table** (:data:`CALL_ERRORS`) for Calls.create.

A call is *live* (it counts against ``LOUZHANG_VOICE_MAX_CONCURRENT`` and keeps its number
busy) from the moment it is placed until its final status: :data:`FINAL_CALL_STATUSES`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client
from twilio.twiml.voice_response import Gather as TwimlGather
from twilio.twiml.voice_response import VoiceResponse

from config.settings import Settings
from notifications.channels.base import PermanentFailure, RetryLater, SendResult, Unreachable
from notifications.message import Message
from notifications.states import OutboxStatus
from notifications.voice_script import (
    Gather,
    Hangup,
    Pause,
    Play,
    Record,
    Redirect,
    Say,
    Script,
    Voice,
    tts_voice,
)

__all__ = [
    "CALL_ERRORS",
    "CALL_STATUSES",
    "FINAL_CALL_STATUSES",
    "RETRIED_OUTCOMES",
    "CallErrorKind",
    "CallUpdate",
    "TwilioVoiceChannel",
    "classify_call_error",
    "parse_call_status",
    "render_twiml",
]


class CallErrorKind(Enum):
    UNREACHABLE = "unreachable"  # the number cannot be called
    RETRY = "retry"  # Twilio is busy or failing: try again later
    PERMANENT = "permanent"  # our set-up is wrong (caller id, region): the contact is fine


CALL_ERRORS: dict[int, CallErrorKind] = {
    21211: CallErrorKind.UNREACHABLE,  # invalid 'To' phone number
    21214: CallErrorKind.UNREACHABLE,  # 'To' phone number cannot be reached
    21216: CallErrorKind.UNREACHABLE,  # account not allowed to call this number (blocked)
    21217: CallErrorKind.UNREACHABLE,  # phone number does not appear to be valid
    13224: CallErrorKind.UNREACHABLE,  # Dial: invalid phone number
    21215: CallErrorKind.PERMANENT,  # geo permissions: calling this region is not enabled
    21210: CallErrorKind.PERMANENT,  # 'From' phone number not verified
    21212: CallErrorKind.PERMANENT,  # invalid 'From' (caller id)
    21205: CallErrorKind.PERMANENT,  # invalid Url
    20429: CallErrorKind.RETRY,  # too many requests
    20500: CallErrorKind.RETRY,  # internal server error
    20503: CallErrorKind.RETRY,  # service unavailable
}

#: Twilio's CallStatus -> the outbox's status. A completed call answered by a machine is
#: ``undelivered`` (see :func:`parse_call_status`).
CALL_STATUSES: Mapping[str, str] = {
    "queued": OutboxStatus.ACCEPTED,
    "initiated": OutboxStatus.ACCEPTED,
    "ringing": OutboxStatus.ACCEPTED,
    "in-progress": OutboxStatus.SENT,
    "answered": OutboxStatus.SENT,
    "completed": OutboxStatus.DELIVERED,
    "busy": OutboxStatus.UNDELIVERED,
    "no-answer": OutboxStatus.UNDELIVERED,
    "canceled": OutboxStatus.UNDELIVERED,
    "failed": OutboxStatus.FAILED,
}
FINAL_CALL_STATUSES = frozenset({"completed", "busy", "no-answer", "canceled", "failed"})
#: Outcomes after which a call is placed again (a machine once, the others ``voice_retries``).
RETRIED_OUTCOMES = frozenset({"busy", "no-answer", "failed", "machine"})


@dataclass(frozen=True, slots=True)
class CallUpdate:
    """A call status callback: the call, our status for it, and how it ended (``outcome``:
    ``answered``, ``machine``, ``busy``, ``no-answer``, ``failed``, ``canceled``; empty while
    the call is not over)."""

    call_sid: str
    call_status: str
    status: str
    outcome: str = ""
    answered_by: str = ""
    duration: int = 0

    @property
    def final(self) -> bool:
        return self.call_status in FINAL_CALL_STATUSES


def parse_call_status(params: Mapping[str, str]) -> CallUpdate | None:
    """A call status callback; None when it names no call or a status we do not know."""
    sid = params.get("CallSid", "")
    call_status = (params.get("CallStatus") or "").lower()
    status = CALL_STATUSES.get(call_status)
    if not sid or status is None:
        return None
    answered_by = params.get("AnsweredBy", "")
    outcome = ""
    if call_status == "completed":
        machine = answered_by.startswith("machine") or answered_by == "fax"
        outcome = "machine" if machine else "answered"
        if machine:
            status = OutboxStatus.UNDELIVERED
    elif call_status in FINAL_CALL_STATUSES:
        outcome = call_status
    try:
        duration = int(params.get("CallDuration") or 0)
    except ValueError:
        duration = 0
    return CallUpdate(sid, call_status, status, outcome, answered_by, duration)


def classify_call_error(exc: TwilioRestException) -> Exception:
    code = int(exc.code) if exc.code else None
    reason = f"twilio {code or exc.status}: {exc.msg}"[:300]
    kind = CALL_ERRORS.get(code) if code is not None else None
    if kind is CallErrorKind.UNREACHABLE:
        return Unreachable(reason, str(code))
    if kind is CallErrorKind.RETRY or exc.status == 429 or exc.status >= 500:
        return RetryLater(reason, str(code or exc.status))
    return PermanentFailure(reason, str(code or exc.status))


# ---- rendering -------------------------------------------------------------------------------
def _say(parent: Any, verb: Say, voices: Mapping[str, Voice]) -> None:
    voice = voices.get(verb.lang) or voices["zh-CN"]
    if verb.slow:
        say = parent.say(voice=voice.name, language=voice.language)
        say.prosody(verb.text, rate="slow")
    else:
        parent.say(verb.text, voice=voice.name, language=voice.language)


def render_twiml(script: Script, voices: Mapping[str, Voice], base_url: str = "") -> str:
    """The TwiML of a script; relative actions are made absolute with ``base_url``."""
    response = VoiceResponse()
    for verb in script:
        if isinstance(verb, Say):
            _say(response, verb, voices)
        elif isinstance(verb, Pause):
            response.pause(length=verb.seconds)
        elif isinstance(verb, Play):
            response.play(verb.url)
        elif isinstance(verb, Gather):
            gather: TwimlGather = response.gather(
                input="dtmf",
                action=base_url + verb.action,
                method="POST",
                num_digits=verb.num_digits,
                timeout=verb.timeout,
                finish_on_key=verb.finish_on_key,  # "": every key, # too, is a key
            )
            for inner in verb.prompt:
                if isinstance(inner, Say):
                    _say(gather, inner, voices)
                elif isinstance(inner, Pause):
                    gather.pause(length=inner.seconds)
                else:
                    gather.play(inner.url)
        elif isinstance(verb, Record):
            response.record(
                action=base_url + verb.action, method="POST", max_length=verb.max_length
            )
        elif isinstance(verb, Redirect):
            response.redirect(base_url + verb.url, method="POST")
        elif isinstance(verb, Hangup):
            response.hangup()
    return str(response)


def voices_of(settings: Settings) -> dict[str, Voice]:
    """The Say voice of each language, from ``LOUZHANG_VOICE_TTS`` / ``_TTS_EN``."""
    return {
        "zh-CN": tts_voice(settings.voice_tts, "zh-CN"),
        "en": tts_voice(settings.voice_tts_en, "en"),
    }


# ---- sending -------------------------------------------------------------------------------
class TwilioVoiceChannel:
    name = "voice"
    #: Status callbacks can beat the dispatcher's record of the call (see the dispatcher).
    live_calls = True

    def __init__(
        self, settings: Settings, *, timeout: float = 15.0, ring_seconds: int = 30
    ) -> None:
        if not settings.voice_enabled:
            raise ValueError(
                "voice is off: set LOUZHANG_TWILIO_ACCOUNT_SID, _AUTH_TOKEN and a number in "
                "_TWILIO_VOICE_FROM (or _TWILIO_FROM)"
            )
        self.settings = settings
        self.http = AsyncTwilioHttpClient(timeout=timeout)  # max_retries=None: no retries
        self.client = Client(
            settings.twilio_account_sid, settings.twilio_auth_token, http_client=self.http
        )
        self.client.api.base_url = settings.twilio_api_url.rstrip("/")
        self.sender = settings.voice_from
        self.public = (settings.public_url or "").rstrip("/")
        self.ring_seconds = ring_seconds

    def sender_key(self) -> str:
        return f"voice:{self.sender}"

    def cost(self, message: Message) -> int:
        return 1

    async def send(self, address: str, message: Message) -> SendResult:
        outbox_id = message.extra.get("outbox_id")
        if not self.public:
            raise PermanentFailure(
                "voice calls need LOUZHANG_PUBLIC_URL (Twilio asks it what to say)"
            )
        if outbox_id is None:
            raise PermanentFailure("a call needs its outbox id")
        query = f"?o={int(outbox_id)}"
        try:
            created = await self.client.calls.create_async(
                to=address,
                from_=self.sender,
                url=f"{self.public}/twilio/voice{query}",
                method="POST",
                status_callback=f"{self.public}/twilio/voice/status{query}",
                status_callback_event=["initiated", "ringing", "answered", "completed"],
                status_callback_method="POST",
                machine_detection="Enable",
                timeout=self.ring_seconds,
            )
        except TwilioRestException as exc:
            raise classify_call_error(exc) from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise RetryLater(f"twilio network: {type(exc).__name__}", "network") from exc
        return SendResult(provider_id=created.sid, status=OutboxStatus.ACCEPTED)

    async def close(self) -> None:
        await self.http.close()
