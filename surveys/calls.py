"""Surveys on the phone, and residents calling in: what a call says, step by step.

The web routes (bot/web/webhooks.py) check Twilio's signature and hand the POSTed parameters
here with the ids from the (signed) query string; each method returns the call's next
:data:`~notifications.voice_script.Script`.

**A keypad survey** (:class:`SurveyCalls`). A voice household's round is one call (the surveys
runtime queues it, ``extra["voice"]["kind"] = "survey"``); when answered it is redirected here:

* ``POST /twilio/voice/survey?c=<contact>&r=<response>``: the open question, asked as
  ``surveys.keypad`` says (a ``<Gather>``, or a ``<Record>`` for words);
* ``POST /twilio/voice/survey/keys?c=&r=&s=<seq>``: the keys pressed on the question asked
  at ``seq``: into the engine through the same runtime as SMS (``answered_channel = voice``),
  then the next question, or thanks and goodbye;
* ``POST /twilio/voice/survey/rec?c=&r=&s=``: a recording (``RecordingUrl``...): the answer is
  ``"🎙 0:12"`` and the recording is kept beside it (surveys/recordings.py); no recording (the
  resident said nothing: Twilio goes on after ``<Record>`` to our ``&none=1``) answers it
  ``"🎙 —"`` and flags the household "needs a call".

Each (CallSid, step) has at most one effect (notifications/seen.py; the step is the response
and its ``seq``): Twilio's retry of a request, or a stale one, changes nothing and hears the
question now open.

**Calling in** (:class:`CallIn`): ``POST /twilio/voice`` with no outbox id is a resident's call
(``Direction=inbound``). A registered number (caller ID) hears "press 1 to answer today's
questions, 2 to hear the latest notice, 0 to leave a message for your building's officer"
(``/twilio/voice/callin?c=``); the message (``/twilio/voice/callin/message?c=``) is kept and
sent to the building's officers as Telegram audio with the household's address, and listed on
the dashboard's overview. An unknown number hears one sentence on how to register.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from config.clock import Clock
from config.i18n import text
from config.settings import Settings
from estate.models import Contact, Household
from notifications.drives.runtime import building_staff
from notifications.media import audio_of
from notifications.message import Message
from notifications.models import OutboxMessage
from notifications.outbox import enqueue_many
from notifications.seen import SeenMarks
from notifications.to_staff import staff_outgoing
from notifications.voice_script import (
    VOICE_TEXTS,
    Gather,
    Hangup,
    Pause,
    Play,
    Record,
    Redirect,
    Say,
    Script,
    Verb,
    route,
)
from surveys import engine
from surveys.definition import SurveyDefinition, localize
from surveys.engine import Ask, SessionState, path_str, question_at
from surveys.keypad import (
    Answer,
    Back,
    Prompt,
    Repeat,
    prompt_for_ask,
    read_keys,
    read_recording,
    spoken,
)
from surveys.recordings import attach_answer, leave_message
from surveys.render import UI
from surveys.runtime import SurveyRuntime
from surveys.texts import TEXTS

log = logging.getLogger(__name__)

__all__ = ["CALL_TEXTS", "CallIn", "SurveyCalls"]

MESSAGE_SECONDS = 60
NUMBER_DIGITS = 6  # an integer keyed in: at most this many digits before '#'

CALL_TEXTS: dict[str, dict[str, str]] = {
    "survey_intro": {"zh-CN": "现在请回答：{title}。", "en": "Please answer: {title}."},
    "no_survey": {
        "zh-CN": "今天没有需要您回答的问题。",
        "en": "There are no questions for you today.",
    },
    "unsupported": {
        "zh-CN": "这道题需要工作人员和您电话确认，稍后会有人联系您。",
        "en": "A staff member will phone you about this question.",
    },
    "silent": {
        "zh-CN": "没有收到您的按键，我们稍后再联系您。",
        "en": "We did not hear a key. We will contact you later.",
    },
    "menu": {
        "zh-CN": "您好，这里是居委会楼长助手。回答今天的问题，请按1。听最新的通知，请按2。"
        "给楼长留言，请按0。",
        "en": "Hello, this is the neighbourhood committee. To answer today's questions, press "
        "1. To hear the latest notice, press 2. To leave a message for your building's "
        "officer, press 0.",
    },
    "unknown_caller": {
        "zh-CN": "您好，这个号码还没有登记。请带上户口本或租房合同到居委会登记您的电话号码，谢谢。",
        "en": "Hello. This number is not registered. Please register your phone number at "
        "the neighbourhood committee office. Thank you.",
    },
    "no_notice": {"zh-CN": "最近没有新的通知。", "en": "There is no recent notice."},
    "leave_message": {
        "zh-CN": "请在提示音后留言，说完请挂机或按井号键。",
        "en": "Please leave your message after the tone, then hang up or press hash.",
    },
    "message_kept": {
        "zh-CN": "您的留言已转给楼长，谢谢。",
        "en": "Your message has been passed to your building's officer. Thank you.",
    },
    "message_empty": {
        "zh-CN": "没有录到您的留言。",
        "en": "We did not record a message.",
    },
    "to_officer": {
        "zh-CN": "📞 {building}号楼{room}室来电留言（{seconds}秒），号码尾号{tail}。",
        "en": "📞 A phone message from building {building} room {room} ({seconds} s), number "
        "ending {tail}.",
    },
    "to_officer_no_audio": {
        "zh-CN": "📞 {building}号楼{room}室来电留言（{seconds}秒），录音请在网页上收听。",
        "en": "📞 A phone message from building {building} room {room} ({seconds} s): play it "
        "on the web page.",
    },
}


def _t(key: str, lang: str, **values: object) -> str:
    catalog = CALL_TEXTS if key in CALL_TEXTS else VOICE_TEXTS
    return text(catalog, key, lang, **values)


def _int(value: str | None) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None


class SurveyCalls:
    """A survey answered by keypad on a call (see the module docstring)."""

    def __init__(
        self, *, runtime: SurveyRuntime, clock: Clock, seen: SeenMarks | None = None
    ) -> None:
        self.runtime = runtime
        self.clock = clock
        self.seen = seen or SeenMarks()

    async def _contact(self, contact_id: int | None) -> Contact | None:
        return await Contact.get_or_none(id=contact_id) if contact_id else None

    # ---- the open question ---------------------------------------------------------------
    async def ask(self, contact_id: int | None, *, intro: bool = True) -> Script:
        """The survey's open question (``intro``: its title first)."""
        contact = await self._contact(contact_id)
        if contact is None:
            return (Hangup(),)
        lang = contact.language
        session = await self.runtime.call_session(contact)
        if session is None:
            return (Say(_t("no_survey", lang), lang), Say(_t("goodbye", lang), lang), Hangup())
        response, defn, state = session
        said: list[Verb] = []
        if intro:
            title = localize(defn.title, lang)
            said.append(Say(_t("survey_intro", lang, title=title), lang))
        return await self._question(contact, response.id, defn, state, said)

    async def _question(
        self,
        contact: Contact,
        response_id: int,
        defn: SurveyDefinition,
        state: SessionState,
        said: list[Verb],
        ask: Ask | None = None,
    ) -> Script:
        lang = contact.language
        if ask is None:
            question = question_at(defn, state.cursor)
            if question is None or state.cursor is None:
                return (*said, Say(_t("goodbye", lang), lang), Hangup())
            ask = Ask(state.cursor, question, state.seq, can_back=bool(state.history))
        asked = prompt_for_ask(defn, ask, lang)
        query = {"c": contact.id, "r": response_id, "s": ask.seq}
        if asked.mode in ("keys", "number", "multi"):
            gather = Gather(
                route("/survey/keys", **query),
                prompt=tuple(Say(line, lang) for line in asked.say),
                num_digits=asked.num_digits or (NUMBER_DIGITS if asked.mode == "number" else 9),
                timeout=8,
                finish_on_key=asked.finish_on_key,
            )
            return (
                *said,
                gather,
                Say(_t("again", lang), lang),
                gather,
                Say(_t("silent", lang), lang),
                Hangup(),
            )
        if asked.mode == "record":
            return (
                *said,
                *(Say(line, lang) for line in asked.say),
                Record(route("/survey/rec", **query), max_length=asked.max_length),
                Redirect(route("/survey/rec", **query, none=1)),
            )
        await self.runtime.call_needs_human(contact, response_id)
        return (
            *said,
            *(Say(line, lang) for line in asked.say),
            Say(_t("unsupported", lang), lang),
            Say(_t("goodbye", lang), lang),
            Hangup(),
        )

    # ---- keys and recordings -----------------------------------------------------------------
    async def _once(self, params: Mapping[str, str], step: str) -> bool:
        call_sid = params.get("CallSid", "")
        if not call_sid:
            return True
        return await self.seen.first_time("voice", f"{call_sid}:{step}", now=self.clock.now())

    async def _open(
        self, contact: Contact, response_id: int, seq: int
    ) -> tuple[SurveyDefinition, Ask, Prompt] | None:
        """The question asked at ``seq``, if it is still the open one."""
        session = await self.runtime.call_session(contact)
        if session is None:
            return None
        response, defn, state = session
        if response.id != response_id or state.seq != seq or state.cursor is None:
            return None
        question = question_at(defn, state.cursor)
        if question is None:
            return None
        ask = Ask(state.cursor, question, state.seq, can_back=bool(state.history))
        return defn, ask, prompt_for_ask(defn, ask, contact.language)

    async def keys(
        self,
        contact_id: int | None,
        response_id: int | None,
        seq: int | None,
        params: Mapping[str, str],
    ) -> Script:
        """Keys pressed on the question asked at ``seq``."""
        contact = await self._contact(contact_id)
        if contact is None or response_id is None or seq is None:
            return (Hangup(),)
        lang = contact.language
        opened = await self._open(contact, response_id, seq)
        if opened is None or not await self._once(params, f"survey:{response_id}:{seq}"):
            return await self.ask(contact.id, intro=False)  # a repeat: the question open now
        defn, ask, asked = opened
        outcome = read_keys(asked, params.get("Digits", ""))
        if isinstance(outcome, Repeat):
            await self._release(params, response_id, seq)
            return await self.ask(contact.id, intro=False)
        if isinstance(outcome, Back):
            inbound: engine.Inbound = engine.Back()
        elif isinstance(outcome, Answer):
            inbound = outcome.inbound
        else:
            await self._release(params, response_id, seq)
            said: list[Verb] = [Say(_t("not_understood", lang), lang)]
            return await self._question(contact, response_id, defn, SessionState("", 0), said, ask)
        return await self._step(contact, response_id, seq, inbound, params)

    async def _release(self, params: Mapping[str, str], response_id: int, seq: int) -> None:
        """A step that changed nothing (a repeat, a wrong key) may come again at this seq."""
        call_sid = params.get("CallSid", "")
        if call_sid:
            await self.seen.forget("voice", f"{call_sid}:survey:{response_id}:{seq}")

    async def record(
        self,
        contact_id: int | None,
        response_id: int | None,
        seq: int | None,
        params: Mapping[str, str],
        *,
        none: bool = False,
    ) -> Script:
        """The recording of a spoken answer (``none``: nothing was recorded)."""
        contact = await self._contact(contact_id)
        if contact is None or response_id is None or seq is None:
            return (Hangup(),)
        opened = await self._open(contact, response_id, seq)
        if opened is None or not await self._once(params, f"survey:{response_id}:{seq}"):
            return await self.ask(contact.id, intro=False)
        _defn, ask, asked = opened
        url = None if none else params.get("RecordingUrl")
        duration = None if none else _int(params.get("RecordingDuration"))
        recorded = read_recording(asked, url=url, duration=duration)
        if not recorded.failed and url:
            await attach_answer(
                response_id=response_id,
                household_id=contact.household_id,  # type: ignore[attr-defined]
                path=path_str(ask.path),
                call_sid=params.get("CallSid", ""),
                sid=params.get("RecordingSid") or f"{params.get('CallSid', '')}:{seq}",
                url=url,
                duration=duration or 0,
                now=self.clock.now(),
            )
        # Silence on an optional question skips it; on a required one the household needs a call.
        needs_call = recorded.failed and not asked.can_skip
        return await self._step(
            contact, response_id, seq, recorded.inbound, params, needs_call=needs_call
        )

    async def _step(
        self,
        contact: Contact,
        response_id: int,
        seq: int,
        inbound: engine.Inbound,
        params: Mapping[str, str],
        *,
        needs_call: bool = False,
    ) -> Script:
        lang = contact.language
        try:
            step = await self.runtime.call_step(
                contact, response_id, seq, inbound, needs_call=needs_call
            )
        except BaseException:
            await self._release(params, response_id, seq)  # Twilio's retry handles it
            raise
        if step is None:
            return await self.ask(contact.id, intro=False)
        if step.state.seq == seq:  # nothing changed (the engine refused it): may come again
            await self._release(params, response_id, seq)
        said: list[Verb] = []
        defn = await self.runtime.definition_of_response(response_id)
        for event in step.events:
            if isinstance(event, Ask) and event.question.type == "note":
                said.append(Say(spoken(localize(event.question.label, lang)), lang))
            elif isinstance(event, Ask):
                return await self._question(contact, response_id, defn, step.state, said, event)
            elif isinstance(event, engine.Completed):
                said.append(Say(text(UI, "completed", lang), lang))
            elif isinstance(event, engine.NeedsHuman):
                said.append(Say(text(TEXTS, "needs_call", lang), lang))
                return (*said, Say(_t("goodbye", lang), lang), Hangup())
            elif isinstance(event, engine.Invalid):
                return await self._question(
                    contact,
                    response_id,
                    defn,
                    step.state,
                    [Say(spoken(text(engine.REASON_TEXT, event.reason, lang)), lang)]
                    if event.reason in engine.REASON_TEXT
                    else [],
                )
        return (*said, Say(_t("goodbye", lang), lang), Hangup())


class CallIn:
    """A resident calling the committee's number (see the module docstring)."""

    def __init__(
        self,
        *,
        surveys: SurveyCalls,
        clock: Clock,
        settings: Settings,
        seen: SeenMarks | None = None,
        media_url: Callable[[str], str] | None = None,
        keep_recording: Callable[[str], Awaitable[str]] | None = None,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.surveys = surveys
        self.clock = clock
        self.settings = settings
        self.seen = seen or surveys.seen
        self.media_url = media_url  # media name -> signed URL (a voice notice)
        self.keep_recording = keep_recording  # Twilio RecordingUrl -> media name
        self.wake = wake

    async def caller(self, number: str) -> Contact | None:
        """The registered contact of a calling number: its voice contact, else its SMS one."""
        if not number:
            return None
        found = await Contact.filter(address=number, channel__in=("voice", "sms")).order_by("id")
        active = [c for c in found if c.status == "active"] or found
        voice = [c for c in active if c.channel == "voice"]
        chosen = voice or active
        return chosen[0] if chosen else None

    def _menu(self, contact: Contact) -> Script:
        lang = contact.language
        gather = Gather(
            route("/callin", c=contact.id),
            prompt=(Say(_t("menu", lang), lang),),
            num_digits=1,
            timeout=8,
        )
        return (
            gather,
            Say(_t("again", lang), lang),
            gather,
            Say(_t("goodbye", lang), lang),
            Hangup(),
        )

    async def answer(self, params: Mapping[str, str]) -> Script:
        """An inbound call: the menu for a registered number, else how to register."""
        contact = await self.caller(params.get("From", ""))
        if contact is None:
            lang = self.settings.language
            return (Say(_t("unknown_caller", lang), lang), Hangup())
        return self._menu(contact)

    async def menu(self, contact_id: int | None, params: Mapping[str, str]) -> Script:
        contact = await Contact.get_or_none(id=contact_id) if contact_id else None
        if contact is None:
            return (Hangup(),)
        lang = contact.language
        digits = params.get("Digits", "").strip()
        if digits == "1":
            return (Redirect(route("/survey", c=contact.id)),)
        if digits == "2":
            return await self._latest_notice(contact)
        if digits == "0":
            return (
                Say(_t("leave_message", lang), lang),
                Record(route("/callin/message", c=contact.id), max_length=MESSAGE_SECONDS),
                Say(_t("message_empty", lang), lang),
                Say(_t("goodbye", lang), lang),
                Hangup(),
            )
        return (Say(_t("not_understood", lang), lang), *self._menu(contact))

    async def _latest_notice(self, contact: Contact) -> Script:
        lang = contact.language
        row = (
            await OutboxMessage.filter(
                household_id=contact.household_id,  # type: ignore[attr-defined]
                purpose="notice",
            )
            .order_by("-id")
            .first()
        )
        if row is None:
            return (Say(_t("no_notice", lang), lang), *self._menu(contact))
        audio = audio_of(row.body.get("extra"))
        said: Verb = (
            Play(self.media_url(audio["name"]))
            if audio and audio.get("name") and self.media_url
            else Say(str(row.body.get("text", "")), lang)
        )
        return (Say(_t("notice", lang), lang), said, Pause(1), *self._menu(contact))

    async def message(self, contact_id: int | None, params: Mapping[str, str]) -> Script:
        """A message left for the building's officer: kept once, sent to the officers."""
        contact = await Contact.get_or_none(id=contact_id) if contact_id else None
        if contact is None:
            return (Hangup(),)
        lang = contact.language
        url = params.get("RecordingUrl", "")
        duration = _int(params.get("RecordingDuration")) or 0
        call_sid = params.get("CallSid", "")
        if not url or duration < 1:
            return (Say(_t("message_empty", lang), lang), Say(_t("goodbye", lang), lang), Hangup())
        if call_sid and not await self.seen.first_time(
            "voice", f"{call_sid}:callin:message", now=self.clock.now()
        ):
            return (Say(_t("message_kept", lang), lang), Hangup())
        now = self.clock.now()
        recording = await leave_message(
            household_id=contact.household_id,  # type: ignore[attr-defined]
            call_sid=call_sid,
            sid=params.get("RecordingSid") or f"{call_sid}:message",
            url=url,
            duration=duration,
            now=now,
        )
        await self._to_officers(contact, recording.id, url, duration, call_sid)
        return (Say(_t("message_kept", lang), lang), Say(_t("goodbye", lang), lang), Hangup())

    async def _to_officers(
        self, contact: Contact, recording_id: int, url: str, duration: int, call_sid: str
    ) -> None:
        household = await Household.get(id=contact.household_id).select_related("building")  # type: ignore[attr-defined]
        building = household.building.number
        members = [m for m in await building_staff(building) if m.role != "point"]
        officers = (
            [m for m in members if m.role == "officer"]
            or [m for m in members if m.role == "cadre"]
            or members
        )
        name = None
        if self.keep_recording is not None:
            try:
                name = await self.keep_recording(url)
            except Exception as exc:
                log.warning("call-in message %d not fetched: %s", recording_id, exc)
        tail = contact.address[-4:]
        items = []
        for member in officers:
            values = {"building": building, "room": household.room, "seconds": duration}
            if name is not None:
                message = Message(
                    _t("to_officer", member.language, tail=tail, **values),
                    extra={"audio": {"name": name}},
                )
            else:
                message = Message(_t("to_officer_no_audio", member.language, **values))
            item = staff_outgoing(
                member,
                message,
                key=f"voice:message:{recording_id}:s{member.id}",
                ref=f"recording:{recording_id}",
                purpose="resident_message",
            )
            if item is not None:
                items.append(item)
        await enqueue_many(items, now=self.clock.now())
        self.wake()
        log.info(
            "call-in message %d from building %d for %d staff", recording_id, building, len(items)
        )
