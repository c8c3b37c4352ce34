"""The simulator: chat as a household or a staff member, in an SMS-like or a Telegram-like view.

What the page sends goes in through :meth:`bot.router.Router.handle`, the one inbound path of
every channel, and what it shows is read from the outbox rows the dispatcher delivered: the same
engine, runtime, outbox and rendering as the real channels.

* **SMS view**: the page poses as the household's own SMS contact (channel ``sms``, its phone
  number), so SMS rules apply exactly (numbered options, STOP/START/HELP, segment counts). Only
  while SMS is delivered to the browser (no Twilio credentials): with Twilio on, the replies would
  go to the real phone, so the page refuses.
* **Telegram view**: a browser chat of its own (a ``local`` contact of the household, address
  ``h<household id>``) that behaves like a Telegram chat (buttons, edits); the runtime sends it
  the household's current question on /start.
* **With a real provider on** (a Telegram token or Twilio credentials), the household views only
  show, never send: what the page typed would be a real, unattributed answer in a live round and
  could send real alerts. Staff answer for a household with ``/answer`` (an audited proxy
  answer) instead; the page says so.
* **Call view** (a voice household): its calls as a phone plays them. Answering one runs the
  very steps Twilio's requests run (bot/web/webhooks.py :func:`run_step`: the call-up's 1/2/3
  through the drive's reply code, a keypad survey through surveys/keypad.py and the survey
  runtime); the page shows the words the call says (notifications/voice_script.py :func:`heard`),
  speaks them with the browser's own speech synthesis on request, and has a phone keypad.
  Calling the committee in works the same way. Only while voice is delivered to the browser.
* **Staff**: a ``local`` chat of its own (address ``s<staff id>``), so staff commands (``/login``
  ...) run as they would from Telegram. Nothing is stored on the staff member: their real
  Telegram chat (where their alerts and deadline lists go) is never touched, and no real
  message is ever sent to the simulator chat.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from bot.web.dashboard.auth import require_building, scope, staff_of
from bot.web.dashboard.context import fragment, lang_of, page, path_id, small_int, translate
from bot.web.dashboard.live import stream
from bot.web.keys import CALL_IN, CLOCK, HUB, ROUTER, SIMULATED, VOICE
from bot.web.webhooks import run_step
from estate.access import audit, simulator_staff_address
from estate.addresses import parse_building
from estate.contacts import (
    building_numbers,
    ensure_contact,
    household_with_building,
    households_of,
    sms_contact_of,
)
from estate.logins import active_staff, active_staff_list
from estate.models import Household, Staff
from notifications.channels.local import SMS_LIKE, CallLine, SimCall
from notifications.inbound import Inbound
from notifications.message import Message
from notifications.segments import count_segments
from notifications.status import messages_to, newest_message_id
from notifications.voice_script import Gather, Record, Script, heard, press

SHOWN = ("sending", "sent", "accepted", "delivered")
KEPT = 120


@dataclass
class Line:
    dir: str  # in (to the person) | out (from the person)
    at: datetime
    text: str
    buttons: list[list[tuple[str, str]]] = field(default_factory=list)
    request_contact: str | None = None
    message_id: int | None = None
    segments: int = 0
    encoding: str = ""
    order: tuple[int, int, int] = (0, 0, 0)  # outbox id, then what was typed after it


async def transcript(
    channel: str, address: str, typed: list[Any], kept: dict[str, str] | None = None
) -> list[Line]:
    """``kept``: secret texts (login links) the outbox forgot once sent, by provider id."""
    rows = await messages_to(channel, address, SHOWN, KEPT)
    sms = channel in SMS_LIKE
    lines: list[Line] = []
    by_id: dict[int, Line] = {}
    for row in reversed(rows):
        message = Message.from_json(row.body)
        at = row.sent_at or row.updated_at or row.created_at
        provider_id = row.provider_id or ""
        if kept and provider_id in kept:
            message = Message(kept[provider_id])
        provider = int(provider_id) if provider_id.isdigit() else None
        if sms:  # what Twilio would get: the text alone
            info = count_segments(message.text)
            line = Line("in", at, message.text, segments=info.segments, encoding=info.encoding)
        else:
            line = Line(
                "in",
                at,
                message.text,
                buttons=[[(b.label, b.data) for b in r] for r in message.buttons],
                request_contact=message.request_contact,
                message_id=provider,
            )
        line.order = (row.id, 0, 0)
        edit = message.extra.get("edit_message_id")
        if not sms and edit is not None and int(edit) in by_id:
            old = by_id[int(edit)]  # an edit changes the earlier message in place
            old.text, old.buttons = line.text, line.buttons
            continue
        if provider is not None:
            by_id[provider] = line
        lines.append(line)
    lines.extend(Line("out", t.at, t.text, order=(t.after, 1, t.seq)) for t in typed)
    lines.sort(key=lambda line: line.order)
    return lines


# ---- picking -------------------------------------------------------------------------------
async def index(request: web.Request) -> web.Response:
    sc = scope(request)
    numbers = await building_numbers(
        None if sc.everything else sorted(sc.buildings), estate=sc.estate
    )
    building: int | None = None
    households: list[Household] = []
    if "building" in request.query:
        try:
            building = parse_building(request.query["building"])
        except ValueError as exc:
            raise web.HTTPBadRequest(text=f"building: {exc}") from None
        require_building(request, building)
        households = await households_of(building, estate=sc.estate)
    staff = staff_of(request)
    members = await active_staff_list() if sc.everything else [staff]
    return page(
        request,
        "sim_index.html",
        {
            "buildings": numbers,
            "building": building,
            "households": households,
            "staff_members": members,
            "simulated": ", ".join(sorted(_simulated(request))),
            "live_provider": _live_provider(request),
        },
    )


# ---- households ----------------------------------------------------------------------------
async def _household(request: web.Request) -> Household:
    household = await household_with_building(path_id(request, "household_id"))
    if household is None:
        raise web.HTTPNotFound(text="no such household")
    if not scope(request).allows_estate(household.building.estate_id):  # type: ignore[attr-defined]
        raise web.HTTPForbidden(text="a household of another estate")
    require_building(request, household.building.number)
    return household


def _view(request: web.Request, value: str | None = None) -> str:
    view = value or request.query.get("view", "sms")
    return view if view in ("chat", "call") else "sms"


async def _household_chat(
    request: web.Request, household: Household, view: str, *, create: bool = False
) -> tuple[tuple[str, str] | None, str | None]:
    """((channel, address) the page poses as, or None; why not)."""
    t = translate(lang_of(request))
    if view == "chat":
        key = ("local", f"h{household.id}")
        if create:
            await ensure_contact(household, "local", key[1])
        return key, None
    contact = await sms_contact_of(household.id)
    if contact is None:
        return None, t("no_sms_contact")
    if contact.channel not in request.app[SIMULATED]:
        return None, t("sim_live_provider")  # it would pose as a real phone number
    return (contact.channel, contact.address), None


def _live_provider(request: web.Request) -> bool:
    """A real provider is on: nothing is delivered to the browser instead of Telegram/Twilio."""
    return not _simulated(request)


async def household_page(request: web.Request) -> web.Response:
    household = await _household(request)
    view = _view(request)
    if view == "call":
        return await _call_page(request, household)
    key, blocked = await _household_chat(request, household, view)
    lines = (
        await transcript(*key, request.app[HUB].typed_by(key), request.app[HUB].secrets)
        if key
        else []
    )
    who = f"{household.building.number}-{household.room}"
    return page(
        request,
        "sim_chat.html",
        {
            "who": who,
            "view": view,
            "views": ("sms", "chat", "call")
            if household.preferred_channel == "voice"
            else (
                "sms",
                "chat",
            ),
            "blocked": blocked,
            "read_only": _live_provider(request),
            "transcript": lines,
            "base": f"/sim/household/{household.id}",
        },
    )


async def _deliver_typed(
    request: web.Request, key: tuple[str, str], *, view: str, person: str
) -> None:
    form = await request.post()
    text = str(form.get("text", "")).strip()
    choice = str(form.get("choice", "")) or None
    phone = None
    shown = text
    if choice is not None:
        shown = str(form.get("label", "")) or choice
    elif form.get("share"):
        phone = person
        shown = "📱"
    elif not text:
        return
    message_id_text = str(form.get("message_id", ""))
    inbound = Inbound(
        channel=key[0],
        address=key[1],
        text=text if choice is None and phone is None else None,
        choice=choice,
        phone=phone,
        message_id=small_int(message_id_text),
        language=lang_of(request),
    )
    newest = await newest_message_id(*key)
    request.app[HUB].typed(key, request.app[CLOCK].now(), shown, after=newest)
    await request.app[ROUTER].handle(inbound)


async def household_send(request: web.Request) -> web.Response:
    household = await _household(request)
    if _live_provider(request):
        # A real provider is on: typing here would answer a live round for a real household
        # with nobody's name on it. Refused (and audited); staff use /answer instead.
        await audit(
            now=request.app[CLOCK].now(),
            action="simulate_household",
            staff=staff_of(request),
            target=f"household {household.id}",
            allowed=False,
            detail={"why": "a real provider is on"},
        )
        t = translate(lang_of(request))
        raise web.HTTPConflict(text=t("sim_live_provider"))
    form = await request.post()
    view = _view(request, str(form.get("view", "")))
    key, blocked = await _household_chat(request, household, view, create=True)
    if key is None:
        raise web.HTTPConflict(text=blocked or "")
    await _deliver_typed(request, key, view=view, person="")
    raise web.HTTPSeeOther(f"/sim/household/{household.id}?view={view}")


async def household_live(request: web.Request) -> web.StreamResponse:
    household = await _household(request)
    view = _view(request)
    if view == "call":
        voice = await _voice_key(request, household)
        if voice is None or "voice" not in request.app[SIMULATED]:
            raise web.HTTPConflict()
        return await _calls_stream(request, household, voice)
    key, _ = await _household_chat(request, household, view)
    if key is None:
        raise web.HTTPConflict()
    return await _chat_stream(request, key, f"/sim/household/{household.id}", view)


async def _chat_stream(
    request: web.Request, key: tuple[str, str], base: str, view: str
) -> web.StreamResponse:
    hub = request.app[HUB]
    wake = hub.listen(key)

    async def render() -> str:
        lines = await transcript(*key, hub.typed_by(key), hub.secrets)
        return fragment(request, "_chat.html", {"transcript": lines, "base": base, "view": view})

    try:
        return await stream(request, render, wake=wake, every=1.0)
    finally:
        hub.unlisten(key, wake)


# ---- a voice household's calls -----------------------------------------------------------
CALL_STEPS = 8  # redirects followed in one step (a survey call: hello, then its question)
CALLS_SHOWN = 20


async def _voice_key(request: web.Request, household: Household) -> tuple[str, str] | None:
    contact = await sms_contact_of(household.id)
    if contact is None or contact.channel != "voice":
        return None
    return (contact.channel, contact.address)


async def _call_page(request: web.Request, household: Household) -> web.Response:
    t = translate(lang_of(request))
    key = await _voice_key(request, household)
    blocked = None
    if key is None:
        blocked = t("no_voice_contact")
    elif "voice" not in request.app[SIMULATED]:
        blocked = t("sim_live_provider")  # its calls go to a real phone
    calls = await _calls(key) if key and not blocked else []
    call = request.app[HUB].calls.get(key) if key and not blocked else None
    latest = call.step if call else 0
    return page(
        request,
        "sim_call.html",
        {
            "who": f"{household.building.number}-{household.room}",
            "views": ("sms", "chat", "call"),
            "blocked": blocked,
            "calls": calls,
            "call": call,
            "recording": call is not None and isinstance(call.waits, Record),
            "latest": [line for line in call.lines if line.step == latest] if call else [],
            "keys": ("1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"),
            "speech_lang": household.language if household.language == "en" else "zh-CN",
            "base": f"/sim/household/{household.id}",
        },
    )


async def _calls(key: tuple[str, str]) -> list[dict[str, Any]]:
    """The calls placed to a voice household (in the browser), oldest first."""
    rows = await messages_to(*key, SHOWN, CALLS_SHOWN)
    return [
        {"id": row.id, "text": Message.from_json(row.body).text, "purpose": row.purpose}
        for row in reversed(rows)
    ]


async def _calls_stream(
    request: web.Request, household: Household, key: tuple[str, str]
) -> web.StreamResponse:
    """The call list, live: a call placed while the page is open rings in."""
    hub = request.app[HUB]
    wake = hub.listen(key)
    base = f"/sim/household/{household.id}"

    async def render() -> str:
        return fragment(request, "_calls.html", {"calls": await _calls(key), "base": base})

    try:
        return await stream(request, render, wake=wake, every=1.0)
    finally:
        hub.unlisten(key, wake)


async def _play(request: web.Request, call: SimCall, script: Script, lang: str) -> None:
    """What the call says now, following its redirects as Twilio would, up to its next wait."""
    call.step += 1
    for _ in range(CALL_STEPS):
        now = heard(script, lang)
        call.lines.extend(CallLine("in", say.text, say.lang, call.step) for say in now.said)
        call.waits, call.typed = now.waits, ""
        if now.then is None:
            return
        path, _, query = now.then.url.partition("?")
        script = await run_step(request.app, path, _query(query), {"CallSid": call.sid})
    call.waits = None


def _query(text: str) -> dict[str, str]:
    return dict(parse_qsl(text))


def _sid(call_id: object) -> str:
    return f"SIM{call_id}-{next(_SIDS)}"


async def household_call(request: web.Request) -> web.Response:
    """POST ``/sim/household/{id}/call``: answer a call (``do=answer``, ``o``), call the
    committee (``do=callin``), press a key (``do=key``, ``key``) or hang up (``do=hangup``)."""
    household = await _household(request)
    staff = staff_of(request)
    now = request.app[CLOCK].now()
    t = translate(lang_of(request))
    if "voice" not in request.app[SIMULATED]:
        await audit(
            now=now,
            action="simulate_household",
            staff=staff,
            target=f"household {household.id}",
            allowed=False,
            detail={"why": "a real provider is on", "view": "call"},
        )
        raise web.HTTPConflict(text=t("sim_live_provider"))
    key = await _voice_key(request, household)
    if key is None:
        raise web.HTTPConflict(text=t("no_voice_contact"))
    form = await request.post()
    do = str(form.get("do", ""))
    hub = request.app[HUB]
    lang = household.language
    call = hub.calls.get(key)
    if do == "answer":
        outbox_id = small_int(str(form.get("o", "")))
        calls = request.app[VOICE]
        rows = await messages_to(*key, SHOWN, CALLS_SHOWN)
        if calls is None or outbox_id is None or outbox_id not in {row.id for row in rows}:
            raise web.HTTPNotFound(text="no such call")
        call = SimCall(_sid(outbox_id), outbox_id)
        params = {"CallSid": call.sid, "AnsweredBy": "human", "Direction": "outbound-api"}
        await _play(request, call, await calls.answer(outbox_id, params), lang)
        hub.calls[key] = call
    elif do == "callin":
        call_in = request.app[CALL_IN]
        if call_in is None:
            raise web.HTTPConflict(text="calling in is off")
        call = SimCall(_sid("in"), None)
        params = {"CallSid": call.sid, "From": key[1], "Direction": "inbound"}
        await _play(request, call, await call_in.answer(params), lang)
        hub.calls[key] = call
    elif do == "key":
        pressed = str(form.get("key", ""))
        if call is None or call.waits is None or pressed not in KEYPAD:
            raise web.HTTPConflict(text=t("call_not_waiting"))
        waits = call.waits
        if isinstance(waits, Gather):
            digits, send = press(waits, call.typed, pressed)
        else:  # a <Record>: any key ends it (nothing is recorded in the browser)
            digits, send = pressed, True
        call.lines.append(CallLine("out", pressed, lang, call.step))
        call.typed = digits
        if send:
            path, _, query = waits.action.partition("?")
            params = {"CallSid": call.sid, "Digits": digits}
            await _play(
                request, call, await run_step(request.app, path, _query(query), params), lang
            )
    elif do == "hangup":
        hub.calls.pop(key, None)
    else:
        raise web.HTTPBadRequest(text="do: answer, callin, key or hangup")
    await audit(
        now=now,
        action="simulate_call",
        staff=staff,
        target=f"household {household.id}",
        detail={"do": do},  # never the keys: they are answers
    )
    hub.announce(key)
    raise web.HTTPSeeOther(f"/sim/household/{household.id}?view=call")


KEYPAD = frozenset("0123456789*#")
_SIDS = itertools.count(1)


# ---- staff ---------------------------------------------------------------------------------
async def _staff_member(request: web.Request) -> Staff:
    staff_id = path_id(request, "staff_id")
    me = staff_of(request)
    if staff_id != me.id and not scope(request).everything:
        raise web.HTTPForbidden(text="you may only chat as yourself")
    member = await active_staff(staff_id)
    if member is None:
        raise web.HTTPNotFound(text="no such staff member")
    return member


def _staff_key(member: Staff) -> tuple[str, str]:
    return ("local", simulator_staff_address(member.id))


async def staff_page(request: web.Request) -> web.Response:
    member = await _staff_member(request)
    key = _staff_key(member)
    lines = await transcript(*key, request.app[HUB].typed_by(key), request.app[HUB].secrets)
    return page(
        request,
        "sim_chat.html",
        {
            "who": member.name,
            "view": "chat",
            "views": (),
            "blocked": None,
            "staff_chat": True,
            "transcript": lines,
            "base": f"/sim/staff/{member.id}",
            # What they get by SMS (alerts when they have no Telegram, deadline lists): shown
            # here too, read-only.
            "sms_lines": await transcript("sms", member.phone, []) if member.phone else None,
        },
    )


async def staff_send(request: web.Request) -> web.Response:
    member = await _staff_member(request)
    key = _staff_key(member)
    await audit(
        now=request.app[CLOCK].now(),
        action="simulate_staff",
        staff=staff_of(request),
        target=member.name,
    )
    await _deliver_typed(request, key, view="chat", person=member.phone or "")
    raise web.HTTPSeeOther(f"/sim/staff/{member.id}")


async def staff_live(request: web.Request) -> web.StreamResponse:
    member = await _staff_member(request)
    key = _staff_key(member)
    return await _chat_stream(request, key, f"/sim/staff/{member.id}", "chat")


def _simulated(request: web.Request) -> frozenset[str]:
    simulated: frozenset[str] = request.app[SIMULATED]
    return simulated
