"""Twilio webhooks: inbound SMS (``POST /twilio/sms``) and delivery status (``POST /twilio/status``).

Both are checked with Twilio's signature over ``LOUZHANG_PUBLIC_URL + path``; a bad or missing
signature gets 403 and changes nothing. The requests are parsed by notifications/channels/twilio.py
into an :class:`Inbound` (handed to the router) or a delivery update (recorded by the outbox).

Twilio sends an inbound webhook again when our answer is slow or failing, with the same
``MessageSid``: an inbound SMS is handled once per ``MessageSid`` (notifications/seen.py), and a
repeat is answered with empty TwiML. If handling fails, the mark is removed so that Twilio's
retry is handled.
Voice calls (notifications/calls.py): ``POST /twilio/voice?o=<outbox id>`` answers a call with
TwiML, ``POST /twilio/voice/gather?o=&step=`` takes its keypad digits, ``POST
/twilio/voice/status?o=`` its status callbacks; signed and refused exactly as ``/twilio/sms``
(the signature covers the query string).
Also ``POST /telegram/webhook``: an update handed to python-telegram-bot's queue, only with the
webhook secret (``X-Telegram-Bot-Api-Secret-Token``); without it, 403 and nothing changes. An
update handled before is dropped by bot/telegram/application.py (once per update).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from urllib.parse import parse_qsl

from aiohttp import web
from telegram import Update
from twilio.twiml.messaging_response import MessagingResponse

from bot.web.keys import (
    CALL_IN,
    CLOCK,
    ROUTER,
    SEEN,
    SETTINGS,
    SURVEY_CALLS,
    TELEGRAM,
    VOICE,
)
from estate.phones import mask_phone
from notifications.channels.twilio import parse_inbound, parse_status, signature_ok
from notifications.channels.voice import render_twiml, voices_of
from notifications.outbox import record_delivery
from notifications.voice_script import Hangup, Script

log = logging.getLogger(__name__)


async def _signed_params(request: web.Request) -> dict[str, str] | web.Response:
    """The POSTed parameters when Twilio's signature over them is right; else the refusal:
    403 for a bad or missing signature, 400 for a signed body that is not UTF-8 form data."""
    settings = request.app[SETTINGS]
    base = (settings.public_url or f"{request.scheme}://{request.host}").rstrip("/")
    signature = request.headers.get("X-Twilio-Signature", "")
    try:
        params = {k: str(v) for k, v in (await request.post()).items()}
    except (UnicodeDecodeError, ValueError):
        # Not UTF-8 (Twilio always sends UTF-8): read leniently only to check the signature.
        text = (await request.read()).decode("utf-8", errors="replace")
        lenient = dict(parse_qsl(text, keep_blank_values=True, errors="replace"))
        if not signature_ok(settings.twilio_auth_token, base + request.path_qs, lenient, signature):
            log.warning("twilio request %s with a bad or missing signature refused", request.path)
            return web.Response(status=403, text="invalid signature")
        log.warning("twilio request %s with a body that is not UTF-8 refused", request.path)
        return web.Response(status=400, text="the body is not UTF-8 form data")
    if not signature_ok(settings.twilio_auth_token, base + request.path_qs, params, signature):
        log.warning("twilio request %s with a bad or missing signature refused", request.path)
        return web.Response(status=403, text="invalid signature")
    return params


def twiml(reply: str | None = None) -> web.Response:
    response = MessagingResponse()
    if reply:
        response.message(reply)
    return web.Response(text=str(response), content_type="application/xml")


async def twilio_sms(request: web.Request) -> web.Response:
    params = await _signed_params(request)
    if isinstance(params, web.Response):
        return params
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    if not sid:
        return await _handle_sms(request, params)
    seen = request.app[SEEN]
    if not await seen.first_time("sms", sid, now=request.app[CLOCK].now()):
        log.info("inbound sms %s again (a provider retry): handled already", sid)
        return twiml()
    try:
        return await _handle_sms(request, params)
    except BaseException:
        await seen.forget("sms", sid)  # Twilio's retry handles it
        raise


async def _handle_sms(request: web.Request, params: dict[str, str]) -> web.Response:
    inbound = parse_inbound(params, request.app[SETTINGS].default_region)
    if inbound is None:
        log.info("inbound sms from an invalid number ignored")
        return twiml()
    routed = await request.app[ROUTER].handle(inbound)
    log.debug("sms from %s routed", mask_phone(inbound.address))
    return twiml(routed.direct_reply)


async def twilio_status(request: web.Request) -> web.Response:
    params = await _signed_params(request)
    if isinstance(params, web.Response):
        return params
    update = parse_status(params)
    if update is not None:
        await record_delivery(update, now=request.app[CLOCK].now())
    return web.Response(status=204)


# ---- voice calls ----------------------------------------------------------------------------
def _outbox_id(request: web.Request) -> int | None:
    try:
        return int(request.query.get("o", ""))
    except ValueError:
        return None


def _voice_twiml(request: web.Request, script: Script) -> web.Response:
    settings = request.app[SETTINGS]
    body = render_twiml(script, voices_of(settings), (settings.public_url or "").rstrip("/"))
    return web.Response(text=body, content_type="application/xml")


async def twilio_voice(request: web.Request) -> web.Response:
    params = await _signed_params(request)
    if isinstance(params, web.Response):  # refused: bad signature (403) or body (400)
        return params
    call_in = request.app[CALL_IN]
    if "o" not in request.query and call_in is not None:  # a resident calling us
        return _voice_twiml(request, await call_in.answer(params))
    calls = request.app[VOICE]
    if calls is None:
        return _voice_twiml(request, (Hangup(),))
    return _voice_twiml(request, await calls.answer(_outbox_id(request), params))


async def twilio_voice_gather(request: web.Request) -> web.Response:
    params = await _signed_params(request)
    if isinstance(params, web.Response):  # refused: bad signature (403) or body (400)
        return params
    return _voice_twiml(request, await run_step(request.app, request.path, request.query, params))


async def twilio_voice_status(request: web.Request) -> web.Response:
    params = await _signed_params(request)
    if isinstance(params, web.Response):  # refused: bad signature (403) or body (400)
        return params
    calls = request.app[VOICE]
    if calls is not None:
        await calls.status(_outbox_id(request), params)
    return web.Response(status=204)


# ---- keypad surveys and calling in (surveys/calls.py) -----------------------------------------
async def twilio_voice_step(request: web.Request) -> web.Response:
    """``/twilio/voice/survey[/keys|/rec]`` and ``/twilio/voice/callin[/message]``."""
    params = await _signed_params(request)
    if isinstance(params, web.Response):  # refused: bad signature (403) or body (400)
        return params
    return _voice_twiml(request, await run_step(request.app, request.path, request.query, params))


def _int_of(query: Mapping[str, str], name: str) -> int | None:
    try:
        return int(query.get(name, ""))
    except ValueError:
        return None


async def run_step(
    app: web.Application, path: str, query: Mapping[str, str], params: Mapping[str, str]
) -> Script:
    """The next script of a call step (a Gather's or a Record's action, a Redirect): the one
    table from a route to the runtime that answers it, for Twilio's requests (signature checked
    by the caller) and for the simulator playing a call in the browser."""
    calls, surveys, call_in = app[VOICE], app[SURVEY_CALLS], app[CALL_IN]
    contact, response, seq = (_int_of(query, k) for k in ("c", "r", "s"))
    step = path.removeprefix("/twilio/voice")
    if calls is not None and step == "/gather":
        return await calls.gather(_int_of(query, "o"), query.get("step", ""), params)
    if surveys is not None and step == "/survey":
        return await surveys.ask(contact)
    if surveys is not None and step == "/survey/keys":
        return await surveys.keys(contact, response, seq, params)
    if surveys is not None and step == "/survey/rec":
        none = query.get("none") == "1"
        return await surveys.record(contact, response, seq, params, none=none)
    if call_in is not None and step == "/callin":
        return await call_in.menu(contact, params)
    if call_in is not None and step == "/callin/message":
        return await call_in.message(contact, params)
    return (Hangup(),)


async def telegram_webhook(request: web.Request) -> web.Response:
    app = request.app[TELEGRAM]
    if app is None:
        return web.Response(status=404, text="telegram is off")
    # In webhook mode a secret always exists (made at start when unset: bot/app.py); without
    # one (polling mode) nothing may come in this way.
    secret = request.app[SETTINGS].telegram_webhook_secret
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
        log.warning("telegram webhook without the right secret token refused")
        return web.Response(status=403, text="bad secret token")
    try:
        data = await request.json()
        update = Update.de_json(data, app.bot)
    except Exception:  # not JSON, or not an update (also JSON null: de_json never gives None)
        return web.Response(status=400, text="not a Telegram update")
    await app.update_queue.put(update)
    return web.Response(status=200)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/telegram/webhook", telegram_webhook)
    router.add_post("/twilio/sms", twilio_sms)
    router.add_post("/twilio/status", twilio_status)
    router.add_post("/twilio/voice", twilio_voice)
    router.add_post("/twilio/voice/gather", twilio_voice_gather)
    router.add_post("/twilio/voice/status", twilio_voice_status)
    for step in ("/survey", "/survey/keys", "/survey/rec", "/callin", "/callin/message"):
        router.add_post(f"/twilio/voice{step}", twilio_voice_step)
