"""What a phone call says and asks (pure): the scripts of louzhang's calls, as plain verbs.

A call is a :data:`Script`, a tuple of verbs (:class:`Say`, :class:`Pause`, :class:`Gather`,
:class:`Play`, :class:`Record`, :class:`Redirect`, :class:`Hangup`) that
``notifications.channels.voice.render_twiml`` turns into TwiML with twilio's VoiceResponse.
No clock, no database, no network: the builders take what they need and the tests read the
scripts as data.

What a voice outbox message carries (``Message.extra["voice"]``, see :func:`callup_spec`):
``kind`` (``callup`` or ``notice``), ``step`` (``ready``, ``call``, ``last_call``), ``lang``,
the texts to say, the drive part to reply for, and for a retry its ``try`` and the earlier
``outcomes``. A message with no voice spec (a notice, a reminder) is spoken as its text.

Routes a call takes (each signed over PUBLIC_URL + path + query):
``/twilio/voice?o=<outbox id>`` answers the call, ``/twilio/voice/gather?o=<id>&step=<step>``
takes the keypad digits of a step, ``/twilio/voice/status?o=<id>`` the call's status. Further
steps (keypad surveys, call-in, recordings) add a step name and a builder here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from config.i18n import text

__all__ = [
    "VOICE_TEXTS",
    "Gather",
    "Hangup",
    "Heard",
    "Pause",
    "Play",
    "Record",
    "Redirect",
    "Say",
    "Script",
    "Voice",
    "ack_script",
    "callup_script",
    "callup_spec",
    "gather_again_script",
    "heard",
    "machine_script",
    "notice_script",
    "outcome_summary",
    "press",
    "route",
    "script_for",
    "spell_digits",
    "survey_script",
    "tts_voice",
]


# ---- verbs -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Say:
    text: str
    lang: str = "zh-CN"
    slow: bool = False  # spoken slowly (SSML prosody): addresses, places


@dataclass(frozen=True, slots=True)
class Pause:
    seconds: int = 1


@dataclass(frozen=True, slots=True)
class Play:
    url: str


@dataclass(frozen=True, slots=True)
class Gather:
    """Keypad input: the prompt is said while Twilio listens; the digits are POSTed to
    ``action``. With no digits the call goes on with the verbs after the Gather."""

    action: str
    prompt: tuple[Say | Pause | Play, ...] = ()
    num_digits: int = 1
    timeout: int = 6
    finish_on_key: str = ""


@dataclass(frozen=True, slots=True)
class Record:
    action: str
    max_length: int = 30


@dataclass(frozen=True, slots=True)
class Redirect:
    url: str


@dataclass(frozen=True, slots=True)
class Hangup:
    pass


Verb = Say | Pause | Play | Gather | Record | Redirect | Hangup
Script = tuple[Verb, ...]


@dataclass(frozen=True, slots=True)
class Voice:
    """A text-to-speech voice and the ``language`` Twilio's ``<Say>`` needs with it."""

    name: str
    language: str


def tts_voice(name: str, lang: str) -> Voice:
    """The Say voice/language for a configured TTS voice name. Google voices carry their
    language in the name (``Google.cmn-CN-Standard-A``); Polly's Zhiyu speaks ``cmn-CN``."""
    if name.startswith("Google.") and name.count("-") >= 2:
        return Voice(name, "-".join(name.removeprefix("Google.").split("-")[:2]))
    known = {"Polly.Zhiyu": "cmn-CN", "Polly.Zhiyu-Neural": "cmn-CN", "Polly.Joanna": "en-US"}
    if name in known:
        return Voice(name, known[name])
    return Voice(name, "cmn-CN" if lang == "zh-CN" else "en-US")


def route(path: str, **query: object) -> str:
    """A call step's path with its query (the outbox id and the step)."""
    return f"/twilio/voice{path}?{urlencode({k: str(v) for k, v in query.items()})}"


# ---- texts -----------------------------------------------------------------------------------
VOICE_TEXTS: dict[str, dict[str, str]] = {
    "hello": {
        "zh-CN": "您好，这里是居委会楼长助手。",
        "en": "Hello, this is the neighbourhood committee's building assistant.",
    },
    "ready": {
        "zh-CN": "请准备做核酸检测，大约{minutes}分钟后下楼。",
        "en": "Please get ready for testing. In about {minutes} minutes, come down.",
    },
    "call": {"zh-CN": "现在请下楼做核酸检测。", "en": "Please come down now for testing."},
    "officer_recording": {
        "zh-CN": "下面是楼长的录音。",
        "en": "Here is a recording from your building's officer.",
    },
    "last_call": {
        "zh-CN": "最后通知：现在请下楼做核酸检测。",
        "en": "Last call: please come down now for testing.",
    },
    "where": {
        "zh-CN": "{building}号楼，{floor}层，{room}室。请到{point}采样点{location}。",
        "en": "Building {building}, floor {floor}, room {room}. Go to sampling point {point}"
        "{location}.",
    },
    "again": {"zh-CN": "再说一遍：", "en": "Once more:"},
    "options": {
        "zh-CN": "如果您现在下楼，请按1。如果您无法下楼，需要工作人员上门，请按2。"
        "如果您已经做过检测，请按3。",
        "en": "Press 1 if you are coming down. Press 2 if you cannot come down and need someone "
        "at your door. Press 3 if you have already been tested.",
    },
    "not_understood": {
        "zh-CN": "没有听清您的按键。",
        "en": "Sorry, we did not get that key.",
    },
    "goodbye": {"zh-CN": "谢谢，再见。", "en": "Thank you. Goodbye."},
    "machine": {
        "zh-CN": "您好，这里是居委会楼长助手，有重要通知，我们稍后再打给您。",
        "en": "Hello, this is the neighbourhood committee with an important notice. We will "
        "call you again later.",
    },
    "notice": {"zh-CN": "居委会通知：", "en": "A notice from the committee:"},
    "played": {"zh-CN": "（播放一段录音）", "en": "(a recording is played)"},
    "photo": {
        "zh-CN": "这条通知有一张图片，贴在您楼门口，也可以向楼长索取。",
        "en": "This notice comes with a picture: it is posted at your building's door, or ask "
        "your building officer.",
    },
    "noted": {"zh-CN": "已记录，谢谢。", "en": "Noted, thank you."},
    "closed": {
        "zh-CN": "这次核酸召集已经结束，谢谢。",
        "en": "This testing call-up has ended. Thank you.",
    },
    # outcomes, for the staff's not-reached list
    "outcome_busy": {"zh-CN": "占线", "en": "busy"},
    "outcome_no-answer": {"zh-CN": "无人接听", "en": "no answer"},
    "outcome_failed": {"zh-CN": "呼叫失败", "en": "call failed"},
    "outcome_canceled": {"zh-CN": "已取消", "en": "cancelled"},
    "outcome_machine": {"zh-CN": "答录机", "en": "answering machine"},
    "not_reached": {
        "zh-CN": "电话未接通：{building}号楼{room}室（{outcomes}），请联系这户。",
        "en": "Not reached by phone: building {building} room {room} ({outcomes}); please "
        "contact them.",
    },
}

_ZH_DIGITS = dict(zip("0123456789", "零一二三四五六七八九", strict=True))


def spell_digits(value: object, lang: str) -> str:
    """A room number said digit by digit (1203: 一二零三, "1 2 0 3"): an elderly listener
    knows the door by its digits, not as one thousand two hundred and three."""
    raw = str(value)
    if lang == "zh-CN":
        return "".join(_ZH_DIGITS.get(c, c) for c in raw)
    return " ".join(raw)


def outcome_summary(outcomes: Sequence[str], lang: str) -> str:
    """``["no-answer"] * 3`` -> "无人接听×3"; several kinds: "占线×1、无人接听×2"."""
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome] = counts.get(outcome, 0) + 1
    sep = "、" if lang == "zh-CN" else ", "
    parts = []
    for outcome, n in counts.items():
        key = f"outcome_{outcome}"
        name = text(VOICE_TEXTS, key, lang) if key in VOICE_TEXTS else outcome
        parts.append(f"{name}×{n}" if lang == "zh-CN" else f"{name} x{n}")
    return sep.join(parts)


# ---- what a voice message carries ----------------------------------------------------------
def callup_spec(
    step: str,
    *,
    lang: str,
    part: int,
    building: int,
    floor: int,
    room: str,
    point: str,
    location: str = "",
    minutes: int = 0,
) -> dict[str, Any]:
    """``Message.extra["voice"]`` of a drive call-up (``step``: ready, call, last_call)."""
    where = {"zh-CN": f"（{location}）", "en": f" ({location})"}[lang] if location else ""
    return {
        "kind": "callup",
        "step": step,
        "lang": lang,
        "part": part,
        "lead": text(VOICE_TEXTS, step, lang, minutes=minutes),
        "where": text(
            VOICE_TEXTS,
            "where",
            lang,
            building=building,
            floor=floor,
            room=spell_digits(room, lang),
            point=point,
            location=where,
        ),
        "building": building,
        "room": room,
    }


# ---- scripts ---------------------------------------------------------------------------------
def callup_script(
    spec: Mapping[str, Any], outbox_id: int, *, audio_url: str | None = None
) -> Script:
    """A call-up: hello, what to do, the place said slowly twice with a pause; then (for
    "come down now") the 1/2/3 question, asked twice, then goodbye. With ``audio_url`` (a
    staff member's voice note attached with ``/drive voice``, signed) the recording is played
    first, then the spoken call-up as usual (the recording may be in dialect)."""
    lang = str(spec.get("lang") or "zh-CN")
    where = str(spec["where"])
    recording: list[Verb] = (
        [Say(text(VOICE_TEXTS, "officer_recording", lang), lang), Play(audio_url), Pause(1)]
        if audio_url
        else []
    )
    said: list[Verb] = [
        Say(text(VOICE_TEXTS, "hello", lang), lang),
        *recording,
        Say(str(spec["lead"]), lang),
        Say(where, lang, slow=True),
        Pause(1),
        Say(text(VOICE_TEXTS, "again", lang), lang),
        Say(where, lang, slow=True),
        Pause(1),
    ]
    if spec.get("step") == "ready":
        return (*said, Say(text(VOICE_TEXTS, "goodbye", lang), lang), Hangup())
    return (*said, *_options(lang, outbox_id, "drive"))


def _options(lang: str, outbox_id: int, step: str) -> Script:
    gather = Gather(
        route("/gather", o=outbox_id, step=step),
        prompt=(Say(text(VOICE_TEXTS, "options", lang), lang),),
    )
    return (
        gather,
        Say(text(VOICE_TEXTS, "again", lang), lang),
        gather,
        Say(text(VOICE_TEXTS, "goodbye", lang), lang),
        Hangup(),
    )


def notice_script(
    message_text: str, lang: str, *, photo: bool = False, audio_url: str | None = None
) -> Script:
    """A notice or reminder: its text, said twice; a photo is described, not shown. With
    ``audio_url`` (a staff member's voice note, signed) the recording is played instead."""
    spoken = message_text.strip()
    for signature in ("【楼长助手】", "[Louzhang] "):
        spoken = spoken.removeprefix(signature)
    said: Verb = Play(audio_url) if audio_url else Say(spoken, lang)
    body: list[Verb] = [Say(text(VOICE_TEXTS, "notice", lang), lang), said]
    if photo:
        body.append(Say(text(VOICE_TEXTS, "photo", lang), lang))
    return (
        Say(text(VOICE_TEXTS, "hello", lang), lang),
        *body,
        Pause(1),
        Say(text(VOICE_TEXTS, "again", lang), lang),
        *body,
        Say(text(VOICE_TEXTS, "goodbye", lang), lang),
        Hangup(),
    )


def machine_script(lang: str) -> Script:
    """An answering machine hears one short sentence; the call is tried again later."""
    return (Say(text(VOICE_TEXTS, "machine", lang), lang), Hangup())


def ack_script(said: str, lang: str) -> Script:
    """The answer to a keypad reply (the same words an SMS reply gets), then goodbye."""
    return (Say(said, lang), Say(text(VOICE_TEXTS, "goodbye", lang), lang), Hangup())


def gather_again_script(lang: str, outbox_id: int, step: str) -> Script:
    """A key that is not an answer: say so, and ask again."""
    return (Say(text(VOICE_TEXTS, "not_understood", lang), lang), *_options(lang, outbox_id, step))


def survey_script(spec: Mapping[str, Any], lang: str) -> Script:
    """A keypad survey (``kind = "survey"``): hello, then the survey's own route asks the
    questions (surveys/calls.py, ``/twilio/voice/survey?c=<contact>&r=<response>``)."""
    return (
        Say(text(VOICE_TEXTS, "hello", lang), lang),
        Redirect(route("/survey", c=spec.get("contact", ""), r=spec.get("response", ""))),
    )


def script_for(
    body: Mapping[str, Any],
    outbox_id: int,
    *,
    answered_by: str = "",
    default_lang: str = "zh-CN",
    audio_url: str | None = None,
) -> Script:
    """What a call placed for this outbox message (``Message.to_json()``) says when answered
    (``audio_url``: the signed URL of its ``extra["audio"]``, played instead of its text)."""
    extra: Mapping[str, Any] = body.get("extra") or {}
    spec: Mapping[str, Any] = extra.get("voice") or {}
    lang = str(spec.get("lang") or extra.get("lang") or default_lang)
    if answered_by.startswith("machine") or answered_by == "fax":
        return machine_script(lang)
    if spec.get("kind") == "callup":
        return callup_script(spec, outbox_id, audio_url=audio_url)
    if spec.get("kind") == "survey":
        return survey_script(spec, lang)
    return notice_script(
        str(body.get("text", "")), lang, photo=bool(body.get("photo")), audio_url=audio_url
    )


# ---- what a caller hears (the browser simulator plays calls with these) ----------------------
@dataclass(frozen=True, slots=True)
class Heard:
    """A script as a caller lives it: what is said until the call waits for keys (``waits``: a
    :class:`Gather` or a :class:`Record`), goes on elsewhere (``then``: a :class:`Redirect`), or
    ends (``ended``). A <Play> is heard as one line saying a recording plays."""

    said: tuple[Say, ...]
    waits: Gather | Record | None = None
    then: Redirect | None = None

    @property
    def ended(self) -> bool:
        return self.waits is None and self.then is None


def heard(script: Script, lang: str = "zh-CN") -> Heard:
    """What is heard of ``script`` up to its first wait, redirect or hang-up (a Gather's prompt
    is heard while it waits; the verbs after a wait follow only when no key is pressed)."""
    said: list[Say] = []

    def hear(verb: Say | Pause | Play) -> None:
        if isinstance(verb, Say):
            said.append(verb)
        elif isinstance(verb, Play):
            voice = said[-1].lang if said else lang
            said.append(Say(text(VOICE_TEXTS, "played", voice), voice))

    for verb in script:
        if isinstance(verb, Say | Pause | Play):
            hear(verb)
        elif isinstance(verb, Gather):
            for inner in verb.prompt:
                hear(inner)
            return Heard(tuple(said), waits=verb)
        elif isinstance(verb, Record):
            return Heard(tuple(said), waits=verb)
        elif isinstance(verb, Redirect):
            return Heard(tuple(said), then=verb)
        else:
            break
    return Heard(tuple(said))


def press(gather: Gather, typed: str, key: str) -> tuple[str, bool]:
    """One more key on a Gather, as Twilio takes it: (the digits so far, whether they are sent
    now). Its finish key sends what was typed (without it); ``num_digits`` keys send at once."""
    if gather.finish_on_key and key == gather.finish_on_key:
        return typed, True
    typed += key
    return typed, len(typed) >= gather.num_digits
