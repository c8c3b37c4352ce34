"""A fake Telegram Bot API server on loopback that the real python-telegram-bot talks to.

Usage::

    async with FakeTelegram(token="123:ABC") as tg:
        bot = telegram.Bot("123:ABC", base_url=f"{tg.url}/bot", base_file_url=f"{tg.url}/file/bot")
        await bot.send_message(42, "hi")
        assert tg.last_message(42)["text"] == "hi"
        await tg.user_message(42, "hello")          # queued for getUpdates, or POSTed to a webhook

Requests arrive at ``/bot{token}/{method}`` (GET query, JSON, urlencoded form or multipart;
PTB 22 sends urlencoded form, multipart when uploading, with every non-string value
JSON-encoded). The fake decodes them into :attr:`Call.params` with real types (``chat_id`` an
int, ``reply_markup`` a dict...). Responses are Bot API JSON that PTB de-jsons.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import math
import re
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from tests.fakes._server import Clock, LoopbackServer

JSON = dict[str, Any]
ChatId = int | str

# --------------------------------------------------------------------------------------------
# Limits and messages as Telegram words them
# --------------------------------------------------------------------------------------------
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
#: Seconds after which a callback query can no longer be answered (Telegram gives up on the
#: client's spinner after about 15 s and refuses a late answerCallbackQuery).
CALLBACK_QUERY_TIMEOUT = 15.0

ERR_UNAUTHORIZED = "Unauthorized"
ERR_NOT_FOUND = "Not Found: method not found"
ERR_TEXT_EMPTY = "Bad Request: message text is empty"
ERR_CHAT_ID_EMPTY = "Bad Request: chat_id is empty"
ERR_TOO_LONG = "Bad Request: message is too long"
ERR_CAPTION_TOO_LONG = "Bad Request: message caption is too long"
ERR_BUTTON_DATA = "Bad Request: BUTTON_DATA_INVALID"
ERR_BLOCKED = "Forbidden: bot was blocked by the user"
ERR_CANT_INITIATE = "Forbidden: bot can't initiate conversation with a user"
ERR_CHAT_NOT_FOUND = "Bad Request: chat not found"
ERR_EDIT_NOT_FOUND = "Bad Request: message to edit not found"
ERR_CANT_EDIT = "Bad Request: message can't be edited"
ERR_DELETE_NOT_FOUND = "Bad Request: message to delete not found"
ERR_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
ERR_QUERY_INVALID = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)
ERR_FILE_ID = "Bad Request: invalid file_id"
ERR_KEYBOARD = "Bad Request: can't parse inline keyboard button"
ERR_WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
ERR_OTHER_GETUPDATES = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: ERR_UNAUTHORIZED,
    403: ERR_BLOCKED,
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}

# Parameters PTB sends JSON-encoded inside form fields.
_JSON_PARAMS = frozenset(
    (
        "reply_markup entities caption_entities link_preview_options reply_parameters "
        "allowed_updates commands scope media"
    ).split()
)
_INT_PARAMS = frozenset(
    (
        "message_id offset limit timeout reply_to_message_id cache_time max_connections "
        "message_thread_id from_chat_id"
    ).split()
)
_BOOL_PARAMS = frozenset(
    (
        "disable_notification protect_content show_alert drop_pending_updates "
        "disable_web_page_preview allow_sending_without_reply has_spoiler "
        "disable_content_type_detection show_caption_above_media"
    ).split()
)
_CHAT_PARAMS = frozenset({"chat_id", "from_chat_id"})
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
# What a user's photo downloads as unless a test passes its own bytes.
DEFAULT_PHOTO_BYTES = b"\xff\xd8\xff\xe0fake-jpeg\xff\xd9"


class TelegramApiError(Exception):
    """Raised inside the fake to answer ``{"ok": false, ...}``."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        """The Bot API error object."""
        out: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            out["parameters"] = self.parameters
        return out


@dataclass
class UploadedFile:
    """A file part of a multipart request."""

    field: str
    filename: str | None
    content_type: str | None
    content: bytes


@dataclass
class Call:
    """One request the fake received (also failed ones: see :attr:`status`)."""

    method: str
    params: dict[str, Any]
    at: float
    status: int = 200
    files: dict[str, UploadedFile] = field(default_factory=dict)
    #: The ``description`` of an error answer (``None`` when ``ok``).
    error: str | None = None
    #: Request Content-Type ("" for a bodiless GET/POST).
    content_type: str = ""


@dataclass
class Delivery:
    """One update handed to the bot: POSTed to the webhook (``status`` set) or queued."""

    update: JSON
    #: HTTP status the webhook answered; ``None`` when queued for getUpdates or filtered.
    status: int | None
    body: str | None = None
    filtered: bool = False


@dataclass
class StoredFile:
    """A file the fake knows (uploaded by the bot or sent by a user)."""

    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    file_name: str | None = None
    mime_type: str | None = None


@dataclass
class _Failure:
    method: str | None
    status: int
    description: str
    parameters: JSON | None
    remaining: int


Handler = Callable[[dict[str, Any], dict[str, UploadedFile]], Awaitable[Any]]


def _update_type(update: JSON) -> str:
    return next(k for k in update if k != "update_id")


def _utf8_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


_HTML_TAGS = frozenset(
    "b strong i em u ins s strike del span tg-spoiler a code pre blockquote tg-emoji".split()
)
_HTML_TOKEN = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)?([^<>]*)(>?)")


def parse_html(text: str) -> str:
    """Check Telegram HTML the way the Bot API does (roughly) and return the plain text.

    Raises :class:`TelegramApiError` 400 "can't parse entities" on unknown, unclosed or
    mismatched tags and on a bare ``<``.
    """
    stack: list[str] = []
    plain: list[str] = []
    pos = 0
    for m in _HTML_TOKEN.finditer(text):
        plain.append(text[pos : m.start()])
        pos = m.end()
        closing, name, _attrs, end = m.group(1), (m.group(2) or "").lower(), m.group(3), m.group(4)
        offset = _utf8_offset(text, m.start())
        if not name or not end:
            raise TelegramApiError(
                400,
                f'Bad Request: can\'t parse entities: Unsupported start tag "{name}" '
                f"at byte offset {offset}",
            )
        if name not in _HTML_TAGS:
            raise TelegramApiError(
                400,
                f'Bad Request: can\'t parse entities: Unsupported start tag "{name}" '
                f"at byte offset {offset}",
            )
        if closing:
            if not stack or stack[-1] != name:
                expected = f'"</{stack[-1]}>"' if stack else "nothing"
                raise TelegramApiError(
                    400,
                    f"Bad Request: can't parse entities: Unmatched end tag at byte offset "
                    f'{offset}, expected {expected}, found "</{name}>"',
                )
            stack.pop()
        else:
            stack.append(name)
    plain.append(text[pos:])
    if stack:
        raise TelegramApiError(
            400,
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag "
            f'"{stack[-1]}"',
        )
    return html.unescape("".join(plain))


_MDV2_ALWAYS_ESCAPED = frozenset("#+-={}.!")


def parse_markdown_v2(text: str) -> str:
    """Check the MarkdownV2 escaping rules that bite most often; return approximate plain text.

    Outside code, ``# + - = { } . !`` must be escaped with ``\\``, ``>`` only starts a quote at
    the beginning of a line, ``(`` only follows ``]`` of a link and ``)`` only closes it.
    """
    plain: list[str] = []
    i = 0
    code: str | None = None  # "`" or "```"
    link_depth = 0
    in_url = False
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            plain.append(text[i + 1])
            i += 2
            continue
        if text.startswith("```", i) and code in (None, "```"):
            code = None if code else "```"
            i += 3
            continue
        if c == "`" and code in (None, "`"):
            code = None if code else "`"
            i += 1
            continue
        if code:
            plain.append(c)
            i += 1
            continue
        if in_url:
            if c == ")":
                in_url = False
            i += 1
            continue
        bad = c in _MDV2_ALWAYS_ESCAPED
        if c == ">" and not (i == 0 or text[i - 1] == "\n"):
            bad = True
        if c == "[":
            link_depth += 1
        elif c == "]":
            if link_depth == 0:
                bad = True
            else:
                link_depth -= 1
                if text.startswith("(", i + 1):
                    in_url = True
                    i += 2
                    continue
        elif c in "()":
            bad = True
        elif c == "|" and not (text.startswith("||", i) or (i and text[i - 1] == "|")):
            bad = True
        if bad:
            raise TelegramApiError(
                400,
                f"Bad Request: can't parse entities: Character '{c}' is reserved and must be "
                "escaped with the preceding '\\'",
            )
        if c not in "*_~|[]>":
            plain.append(c)
        i += 1
    return "".join(plain)


class FakeTelegram(LoopbackServer):
    """Fake Telegram Bot API server. See the module docstring for the wiring.

    Args:
        token: the only bot token accepted; other tokens get 401 "Unauthorized".
        clock: monotonic clock for :attr:`Call.at` and the rate limits (default
            :func:`time.monotonic`).
        enforce_limits: answer 429 (``parameters.retry_after``) when more than
            ``global_per_second`` sends happen in any 1-second sliding window, or when a chat
            gets a second send within ``per_chat_interval`` seconds (counted in
            :attr:`rate_limit_violations`). On by default, as on the real Bot API.
        strict_chats: refuse sends (403 "bot can't initiate conversation with a user") to private
            chats that never wrote to the bot (no ``user_*`` call and not in ``known_chats``;
            :meth:`start_chat` adds one). On by default, as on the real Bot API.
        callback_query_timeout: answerCallbackQuery later than this (``clock`` seconds after
            the press) gets 400 "query is too old ...", like a second answer does.
        bot_username / bot_first_name: what getMe returns.
    """

    def __init__(
        self,
        token: str = "123:ABC",
        clock: Clock | None = None,
        *,
        enforce_limits: bool = True,
        global_per_second: int = 30,
        per_chat_interval: float = 1.0,
        strict_chats: bool = True,
        known_chats: set[int] | None = None,
        callback_query_timeout: float = CALLBACK_QUERY_TIMEOUT,
        bot_username: str = "louzhang_test_bot",
        bot_first_name: str = "Louzhang Test Bot",
    ) -> None:
        super().__init__(clock)
        self.token = token
        bot_id = token.split(":", 1)[0]
        self.bot_user: JSON = {
            "id": int(bot_id) if bot_id.isdigit() else 123,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.enforce_limits = enforce_limits
        self.global_per_second = global_per_second
        self.per_chat_interval = per_chat_interval
        self.strict_chats = strict_chats
        self.callback_query_timeout = callback_query_timeout

        #: Every request, in order.
        self.calls: list[Call] = []
        #: Every update built by a ``user_*`` / ``make_*`` helper, in order.
        self.updates: list[JSON] = []
        #: Every :meth:`deliver` outcome.
        self.deliveries: list[Delivery] = []
        #: Answers to callback queries: query id -> answerCallbackQuery params.
        self.callback_answers: dict[str, dict[str, Any]] = {}
        #: Bot commands: (scope JSON, language_code) -> list of {"command", "description"}.
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        #: Number of 429 answers produced by ``enforce_limits``.
        self.rate_limit_violations = 0
        #: Current webhook (``None`` = polling).
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.files: dict[str, StoredFile] = {}

        self._known_chats: set[int] = set(known_chats or ())
        self._blocked: set[int] = set()
        self._not_found: set[int] = set()
        self._chat_names: dict[int, str] = {}
        self._chat_types: dict[int, str] = {}
        self._failures: list[_Failure] = []
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._messages: dict[tuple[int, int], JSON] = {}
        self._sent: dict[int, list[JSON]] = {}
        #: Unanswered callback queries: id -> (query, ``clock()`` at the press).
        self._pending_queries: dict[str, tuple[JSON, float]] = {}
        self._update_ids = itertools.count(100_000_001)
        self._query_ids = itertools.count(4_382_000_000_000_000_001)
        self._file_seq = itertools.count(1)
        self._queue: deque[JSON] = deque()
        self._allowed_updates: list[str] | None = None
        self._webhook_error: tuple[int, str] | None = None
        self._cond: asyncio.Condition | None = None
        self._poll_generation = 0
        self._closing = False
        self._send_times: deque[float] = deque()
        self._chat_last_send: dict[int, float] = {}
        self._sent_event: asyncio.Event | None = None
        self._handlers: dict[str, tuple[str, Handler]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "logOut": self._true,
                "close": self._true,
                "getUpdates": self._get_updates,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "sendMessage": self._send_message,
                "sendPhoto": self._send_photo,
                "sendDocument": self._send_document,
                "sendVoice": self._send_voice,
                "sendAudio": self._send_audio,
                "sendChatAction": self._send_chat_action,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "getFile": self._get_file,
                "setMyCommands": self._set_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "getMyCommands": self._get_my_commands,
            }.items()
        }

    # =========================================================================================
    # Inspection helpers
    # =========================================================================================
    def sent_to(self, chat_id: ChatId) -> list[JSON]:
        """Messages the bot sent (sendMessage/sendPhoto/sendDocument) to ``chat_id``, in order.

        These are the stored Message objects: later edits (editMessageText/ReplyMarkup) are
        reflected in them (``edit_date`` is set); :attr:`calls` keeps the history.
        """
        return list(self._sent.get(self._chat_key(chat_id), []))

    def last_message(self, chat_id: ChatId) -> JSON | None:
        """The last message the bot sent to ``chat_id`` or ``None``."""
        sent = self._sent.get(self._chat_key(chat_id))
        return sent[-1] if sent else None

    def texts(self, chat_id: ChatId) -> list[str]:
        """Text (or caption) of every message sent to ``chat_id``, in order."""
        return [str(m.get("text") or m.get("caption") or "") for m in self.sent_to(chat_id)]

    def calls_to(self, method: str) -> list[Call]:
        """All recorded calls of one Bot API method (case-insensitive)."""
        return [c for c in self.calls if c.method.lower() == method.lower()]

    def message(self, chat_id: ChatId, message_id: int) -> JSON | None:
        """Any stored message (the bot's or a user's) by chat and id."""
        return self._messages.get((self._chat_key(chat_id), message_id))

    async def wait_sent(
        self,
        chat_id: ChatId,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[JSON]:
        """Wait until at least ``count`` messages were sent to ``chat_id``; return them all.

        Raises :class:`TimeoutError` after ``timeout`` real seconds.
        """
        key = self._chat_key(chat_id)
        async with asyncio.timeout(timeout):
            while len(self._sent.get(key, [])) < count:
                event = self._sent_event = self._sent_event or asyncio.Event()
                await event.wait()
        return self.sent_to(key)

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates queued for getUpdates and not yet confirmed by an offset."""
        return list(self._queue)

    # =========================================================================================
    # Failure injection
    # =========================================================================================
    def fail_next(
        self,
        method: str | None,
        status: int = 429,
        retry_after: int = 3,
        times: int = 1,
        description: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (``None`` = any method) fail.

        429 answers carry ``parameters.retry_after`` (PTB raises ``RetryAfter``); other
        statuses get Telegram's usual description unless ``description`` is given.
        """
        parameters: JSON | None = None
        if status == 429:
            description = description or f"Too Many Requests: retry after {retry_after}"
            parameters = {"retry_after": retry_after}
        description = description or _DEFAULT_DESCRIPTIONS.get(status, "Error")
        self._failures.append(
            _Failure(method.lower() if method else None, status, description, parameters, times)
        )

    def block(self, chat_id: ChatId) -> None:
        """The user blocked the bot: sends and edits to the chat answer 403."""
        self._blocked.add(self._chat_key(chat_id))

    def unblock(self, chat_id: ChatId) -> None:
        """Undo :meth:`block`."""
        self._blocked.discard(self._chat_key(chat_id))

    def start_chat(self, *chat_ids: ChatId) -> None:
        """These users have started the bot before (``strict_chats`` lets sends to them pass)."""
        self._known_chats.update(self._chat_key(c) for c in chat_ids)

    def chat_not_found(self, chat_id: ChatId) -> None:
        """Sends to the chat answer 400 "Bad Request: chat not found"."""
        self._not_found.add(self._chat_key(chat_id))

    def add_file(
        self,
        content: bytes,
        *,
        file_id: str | None = None,
        file_path: str | None = None,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> StoredFile:
        """Register a downloadable file (getFile + ``/file/bot{token}/{file_path}``)."""
        seq = next(self._file_seq)
        file_id = file_id or f"AgACAgUAAxkBAAI{secrets.token_urlsafe(24)}"
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=f"AQAD{secrets.token_urlsafe(9)}",
            file_path=file_path or f"documents/file_{seq}",
            content=content,
            file_name=file_name,
            mime_type=mime_type,
        )
        self.files[file_id] = stored
        return stored

    # =========================================================================================
    # The user side: building and delivering updates
    # =========================================================================================
    def _user(self, user_id: int, first_name: str, language_code: str | None) -> JSON:
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code:
            user["language_code"] = language_code
        return user

    def _chat(self, chat_id: int) -> JSON:
        kind = self._chat_types.get(chat_id)
        if kind is not None and kind != "private":
            return {"id": chat_id, "type": kind, "title": f"Chat {chat_id}"}
        if chat_id < 0 and kind is None:
            return {"id": chat_id, "type": "group", "title": f"Group {chat_id}"}
        return {
            "id": chat_id,
            "type": "private",
            "first_name": self._chat_names.get(chat_id, "Resident"),
        }

    def _next_message_id(self, chat_id: int) -> int:
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        return next(counter)

    def _user_message(
        self,
        chat_id: int,
        user_id: int | None,
        first_name: str,
        language_code: str | None,
        **content: Any,
    ) -> JSON:
        self._known_chats.add(chat_id)
        self._chat_names.setdefault(chat_id, first_name)
        message: JSON = {
            "message_id": self._next_message_id(chat_id),
            "from": self._user(
                user_id if user_id is not None else chat_id, first_name, language_code
            ),
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            **content,
        }
        self._messages[(chat_id, message["message_id"])] = message
        return {"update_id": next(self._update_ids), "message": message}

    def make_message_update(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        first_name: str = "Resident",
        language_code: str | None = None,
        entities: list[JSON] | None = None,
        reply_to_message_id: int | None = None,
    ) -> JSON:
        """Build (not deliver) an Update with a user's text message."""
        content: JSON = {"text": text}
        if entities:
            content["entities"] = entities
        if reply_to_message_id is not None:
            replied = self._messages.get((chat_id, reply_to_message_id))
            if replied is not None:
                content["reply_to_message"] = replied
        update = self._user_message(chat_id, user_id, first_name, language_code, **content)
        self.updates.append(update)
        return update

    def make_command_update(
        self,
        chat_id: int,
        command: str,
        *,
        user_id: int | None = None,
        first_name: str = "Resident",
        language_code: str | None = None,
    ) -> JSON:
        """Build an Update with ``/command args``: text plus a ``bot_command`` entity."""
        if not command.startswith("/"):
            command = "/" + command
        length = len(command.split(maxsplit=1)[0].encode("utf-16-le")) // 2
        entities = [{"type": "bot_command", "offset": 0, "length": length}]
        return self.make_message_update(
            chat_id,
            command,
            user_id=user_id,
            first_name=first_name,
            language_code=language_code,
            entities=entities,
        )

    def make_contact_update(
        self,
        chat_id: int,
        phone_number: str,
        *,
        user_id: int | None = None,
        first_name: str = "Resident",
        last_name: str | None = None,
        language_code: str | None = None,
    ) -> JSON:
        """Build an Update with a shared contact; ``contact.user_id`` = ``user_id`` or chat id.

        Pass ``phone_number`` as the client would: Telegram clients usually send the user's own
        number as digits without ``+`` (e.g. ``"8613800138000"``).
        """
        uid = user_id if user_id is not None else chat_id
        contact: JSON = {"phone_number": phone_number, "first_name": first_name, "user_id": uid}
        if last_name:
            contact["last_name"] = last_name
        update = self._user_message(chat_id, uid, first_name, language_code, contact=contact)
        self.updates.append(update)
        return update

    def make_photo_update(
        self,
        chat_id: int,
        file_id: str | None = None,
        *,
        caption: str | None = None,
        content: bytes = DEFAULT_PHOTO_BYTES,
        user_id: int | None = None,
        first_name: str = "Resident",
        language_code: str | None = None,
    ) -> JSON:
        """Build an Update with a user's photo; ``file_id`` (largest size) becomes downloadable."""
        stored = self.files.get(file_id or "") or self.add_file(
            content, file_id=file_id, file_path=f"photos/file_{next(self._file_seq)}.jpg"
        )
        extra: JSON = {"photo": self._photo_sizes(stored)}
        if caption is not None:
            extra["caption"] = caption
        update = self._user_message(chat_id, user_id, first_name, language_code, **extra)
        self.updates.append(update)
        return update

    def make_voice_update(
        self,
        chat_id: int,
        content: bytes,
        *,
        caption: str | None = None,
        duration: int = 3,
        user_id: int | None = None,
        first_name: str = "Resident",
        language_code: str | None = None,
    ) -> JSON:
        """Build an Update with a user's voice note (OGG/Opus ``content``, downloadable)."""
        stored = self.add_file(
            content,
            file_path=f"voice/file_{next(self._file_seq)}.oga",
            mime_type="audio/ogg",
        )
        voice: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(content),
        }
        extra: JSON = {"voice": voice}
        if caption is not None:
            extra["caption"] = caption
        update = self._user_message(chat_id, user_id, first_name, language_code, **extra)
        self.updates.append(update)
        return update

    async def user_voice(self, chat_id: int, content: bytes, **kwargs: Any) -> int | None:
        """A user sends a voice note (``caption`` e.g. ``/notice 3 ...``). See :meth:`deliver`."""
        return await self.deliver(self.make_voice_update(chat_id, content, **kwargs))

    def make_callback_update(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        user_id: int | None = None,
        first_name: str = "Resident",
        language_code: str | None = None,
    ) -> JSON:
        """Build an Update with a callback_query for a button on message ``message_id``."""
        self._known_chats.add(chat_id)
        message = self._messages.get((chat_id, message_id)) or {
            "message_id": message_id,
            "from": self.bot_user,
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            "text": "",
        }
        query_id = str(next(self._query_ids))
        query: JSON = {
            "id": query_id,
            "from": self._user(
                user_id if user_id is not None else chat_id, first_name, language_code
            ),
            "message": json.loads(json.dumps(message)),
            "chat_instance": str(-((abs(chat_id) * 7_919_993) % 10**18) or -1),
            "data": data,
        }
        self._pending_queries[query_id] = (query, self.clock())
        update = {"update_id": next(self._update_ids), "callback_query": query}
        self.updates.append(update)
        return update

    def make_edit_update(self, chat_id: int, message_id: int, text: str) -> JSON:
        """Build an Update for a user editing their message ``message_id`` to ``text``
        (``edited_message``; ``edited_channel_post`` in a channel), as Telegram sends it: the
        whole message again with the new text and an ``edit_date``."""
        original = self._messages.get((chat_id, message_id))
        if original is None:
            raise KeyError(f"no message {message_id} in chat {chat_id}")
        edited = json.loads(json.dumps(original))
        edited["text"] = text
        edited["edit_date"] = int(time.time())
        self._messages[(chat_id, message_id)] = edited
        kind = (
            "edited_channel_post" if edited["chat"].get("type") == "channel" else "edited_message"
        )
        update = {"update_id": next(self._update_ids), kind: edited}
        self.updates.append(update)
        return update

    async def user_edit(self, chat_id: int, message_id: int, text: str) -> int | None:
        """A user edits one of their messages. See :meth:`deliver`."""
        return await self.deliver(self.make_edit_update(chat_id, message_id, text))

    def set_chat_type(
        self, chat_id: int, chat_type: Literal["private", "group", "supergroup", "channel"]
    ) -> None:
        """Updates built for ``chat_id`` from now on come from a chat of this type (negative
        ids are groups unless told otherwise)."""
        self._chat_types[chat_id] = chat_type

    def make_update_json(
        self,
        kind: Literal["message", "command", "contact", "photo", "callback"],
        chat_id: int,
        *args: Any,
        **kwargs: Any,
    ) -> JSON:
        """Dispatch to the ``make_*_update`` helpers, e.g. ``make_update_json("message", 1, "hi")``.

        ``callback`` takes ``(chat_id, message_id, data)``, the others ``(chat_id, value)``.
        """
        builders: dict[str, Callable[..., JSON]] = {
            "message": self.make_message_update,
            "command": self.make_command_update,
            "contact": self.make_contact_update,
            "photo": self.make_photo_update,
            "callback": self.make_callback_update,
        }
        return builders[kind](chat_id, *args, **kwargs)

    async def user_message(
        self,
        chat_id: int,
        text: str,
        user_id: int | None = None,
        first_name: str = "Resident",
        **kwargs: Any,
    ) -> int | None:
        """A user writes ``text``. Returns the webhook's HTTP status, or ``None`` when queued."""
        update = self.make_message_update(
            chat_id, text, user_id=user_id, first_name=first_name, **kwargs
        )
        return await self.deliver(update)

    async def user_command(
        self, chat_id: int, command: str, user_id: int | None = None, **kwargs: Any
    ) -> int | None:
        """A user sends ``/command [args]`` (with a ``bot_command`` entity). See :meth:`deliver`."""
        return await self.deliver(
            self.make_command_update(chat_id, command, user_id=user_id, **kwargs)
        )

    async def user_contact(
        self, chat_id: int, phone_number: str, user_id: int | None = None, **kwargs: Any
    ) -> int | None:
        """A user shares a contact (``contact.user_id`` defaults to ``chat_id``)."""
        return await self.deliver(
            self.make_contact_update(chat_id, phone_number, user_id=user_id, **kwargs)
        )

    async def user_photo(
        self, chat_id: int, file_id: str | None = None, **kwargs: Any
    ) -> int | None:
        """A user sends a photo; ``getFile(file_id)`` then works and the bytes can be downloaded."""
        return await self.deliver(self.make_photo_update(chat_id, file_id, **kwargs))

    async def user_press(self, chat_id: int, message_id: int, data: str, **kwargs: Any) -> str:
        """A user presses an inline button. Returns the callback query id.

        The delivery outcome is in ``tg.deliveries[-1]``.
        """
        update = self.make_callback_update(chat_id, message_id, data, **kwargs)
        await self.deliver(update)
        return str(update["callback_query"]["id"])

    async def deliver(self, update: JSON) -> int | None:
        """Hand an update to the bot.

        With a webhook set, POST it as JSON (with ``X-Telegram-Bot-Api-Secret-Token`` when a
        secret was set) and return the HTTP status; a connection error propagates. Otherwise
        queue it for getUpdates (waking a long poll) and return ``None``. Updates whose type is
        not in the bot's ``allowed_updates`` are dropped (``Delivery.filtered``).
        """
        if self._allowed_updates and _update_type(update) not in self._allowed_updates:
            self.deliveries.append(Delivery(update, None, filtered=True))
            return None
        if self.webhook_url:
            status, body = await self._post_webhook(update)
            self.deliveries.append(Delivery(update, status, body))
            return status
        self._queue.append(update)
        self.deliveries.append(Delivery(update, None))
        await self._notify()
        return None

    async def _post_webhook(self, update: JSON) -> tuple[int, str]:
        assert self.webhook_url is not None
        headers = {"Content-Type": "application/json"}
        if self.webhook_secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret
        session = await self.session()
        async with session.post(self.webhook_url, data=json.dumps(update), headers=headers) as resp:
            body = await resp.text()
            if not 200 <= resp.status < 300:
                self._webhook_error = (
                    int(time.time()),
                    f"Wrong response from the webhook: {resp.status} {resp.reason}",
                )
            return resp.status, body

    async def _notify(self) -> None:
        cond = self._condition()
        async with cond:
            cond.notify_all()

    def _condition(self) -> asyncio.Condition:
        if self._cond is None:
            self._cond = asyncio.Condition()
        return self._cond

    async def _on_close(self) -> None:
        self._closing = True
        await self._notify()

    # =========================================================================================
    # HTTP plumbing
    # =========================================================================================
    def _routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)

    @staticmethod
    def _chat_key(chat_id: ChatId) -> int:
        if isinstance(chat_id, int):
            return chat_id
        text = str(chat_id).strip()
        if text.lstrip("-").isdigit():
            return int(text)
        raise TelegramApiError(400, ERR_CHAT_NOT_FOUND)

    @staticmethod
    def _decode(name: str, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            if name in _JSON_PARAMS:
                return json.loads(value)
            if name in _INT_PARAMS or (name in _CHAT_PARAMS and value.lstrip("-").isdigit()):
                return int(value)
            if name in _BOOL_PARAMS:
                return value.strip().lower() in ("true", "1")
        except ValueError:
            return value
        return value

    async def _read_params(
        self, request: web.Request
    ) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
        raw: dict[str, Any] = dict(request.query)
        files: dict[str, UploadedFile] = {}
        if request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    raw.update(body)
            else:
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        files[key] = UploadedFile(
                            key, value.filename, value.content_type, value.file.read()
                        )
                    else:
                        raw[key] = value
        params = {k: self._decode(k, v) for k, v in raw.items()}
        return params, files

    async def _handle_method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(TelegramApiError(401, ERR_UNAUTHORIZED).body(), status=401)
        method = request.match_info["method"]
        content_type = request.content_type if request.can_read_body else ""
        params, files = await self._read_params(request)
        found = self._handlers.get(method.lower())
        call = Call(
            found[0] if found else method,
            params,
            self.clock(),
            files=files,
            content_type=content_type,
        )
        self.calls.append(call)
        try:
            if found is None:
                raise TelegramApiError(404, ERR_NOT_FOUND)
            self._injected_failure(found[0])
            result = await found[1](params, files)
        except TelegramApiError as exc:
            call.status, call.error = exc.status, exc.description
            return web.json_response(exc.body(), status=exc.status)
        return web.json_response({"ok": True, "result": result})

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(TelegramApiError(401, ERR_UNAUTHORIZED).body(), status=401)
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.file_path == path:
                return web.Response(
                    body=stored.content,
                    content_type=stored.mime_type or "application/octet-stream",
                )
        return web.json_response(TelegramApiError(404, "Not Found").body(), status=404)

    def _injected_failure(self, method: str) -> None:
        for failure in self._failures:
            if failure.remaining > 0 and failure.method in (None, method.lower()):
                failure.remaining -= 1
                self._failures = [f for f in self._failures if f.remaining > 0]
                raise TelegramApiError(failure.status, failure.description, failure.parameters)

    # =========================================================================================
    # Validation helpers
    # =========================================================================================
    def _require_chat(self, params: dict[str, Any]) -> int:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise TelegramApiError(400, ERR_CHAT_ID_EMPTY)
        return self._chat_key(chat_id)

    def _check_reachable(self, chat_id: int) -> None:
        if chat_id in self._not_found:
            raise TelegramApiError(400, ERR_CHAT_NOT_FOUND)
        if chat_id in self._blocked:
            raise TelegramApiError(403, ERR_BLOCKED)
        if self.strict_chats and chat_id > 0 and chat_id not in self._known_chats:
            raise TelegramApiError(403, ERR_CANT_INITIATE)

    def _check_rate(self, chat_id: int) -> None:
        if not self.enforce_limits:
            return
        now = self.clock()
        while self._send_times and self._send_times[0] <= now - 1.0:
            self._send_times.popleft()
        retry_after = 0.0
        if len(self._send_times) >= self.global_per_second:
            retry_after = self._send_times[0] + 1.0 - now
        last = self._chat_last_send.get(chat_id)
        if last is not None and now - last < self.per_chat_interval:
            retry_after = max(retry_after, last + self.per_chat_interval - now)
        if retry_after > 0:
            self.rate_limit_violations += 1
            seconds = max(1, math.ceil(retry_after))
            raise TelegramApiError(
                429,
                f"Too Many Requests: retry after {seconds}",
                {"retry_after": seconds},
            )
        self._send_times.append(now)
        self._chat_last_send[chat_id] = now

    @staticmethod
    def _check_markup(markup: Any) -> JSON | None:
        """Validate reply_markup; return it if it is an inline keyboard (only those are echoed)."""
        if markup in (None, ""):
            return None
        if not isinstance(markup, dict):
            raise TelegramApiError(
                400, "Bad Request: can't parse reply keyboard markup JSON object"
            )
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise TelegramApiError(
                    400,
                    f'{ERR_KEYBOARD}: field "inline_keyboard" must be an Array',
                )
            for row in rows:
                for button in row:
                    if not isinstance(button, dict) or not button.get("text"):
                        raise TelegramApiError(
                            400,
                            f"{ERR_KEYBOARD}: Text must be non-empty",
                        )
                    if "callback_data" in button:
                        data = str(button["callback_data"]).encode("utf-8")
                        if not 1 <= len(data) <= MAX_CALLBACK_DATA_BYTES:
                            raise TelegramApiError(400, ERR_BUTTON_DATA)
                    elif len(button) == 1:
                        raise TelegramApiError(
                            400,
                            f"{ERR_KEYBOARD}: Text buttons are unallowed in the inline keyboard",
                        )
            return markup
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise TelegramApiError(
                    400, "Bad Request: can't parse reply keyboard markup JSON object"
                )
        return None

    @staticmethod
    def _plain_text(text: str, parse_mode: Any) -> str:
        mode = str(parse_mode or "").lower()
        if mode == "html":
            return parse_html(text)
        if mode == "markdownv2":
            return parse_markdown_v2(text)
        return text

    def _check_text(self, params: dict[str, Any]) -> str:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise TelegramApiError(400, ERR_TEXT_EMPTY)
        plain = self._plain_text(text, params.get("parse_mode"))
        if not plain.strip():
            raise TelegramApiError(400, ERR_TEXT_EMPTY)
        if len(plain) > MAX_TEXT_LENGTH:
            raise TelegramApiError(400, ERR_TOO_LONG)
        return plain

    def _check_caption(self, params: dict[str, Any]) -> str | None:
        caption = params.get("caption")
        if caption in (None, ""):
            return None
        plain = self._plain_text(str(caption), params.get("parse_mode"))
        if len(plain) > MAX_CAPTION_LENGTH:
            raise TelegramApiError(400, ERR_CAPTION_TOO_LONG)
        return plain

    def _store_sent(self, chat_id: int, message: JSON) -> JSON:
        self._messages[(chat_id, message["message_id"])] = message
        self._sent.setdefault(chat_id, []).append(message)
        if self._sent_event is not None:
            self._sent_event.set()
            self._sent_event = None
        return json.loads(json.dumps(message))

    def _bot_message(self, chat_id: int, params: dict[str, Any], **content: Any) -> JSON:
        message: JSON = {
            "message_id": self._next_message_id(chat_id),
            "from": self.bot_user,
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            **content,
        }
        reply_to = params.get("reply_to_message_id")
        reply_parameters = params.get("reply_parameters")
        if isinstance(reply_parameters, dict):
            reply_to = reply_parameters.get("message_id", reply_to)
        if reply_to is not None and (chat_id, reply_to) in self._messages:
            message["reply_to_message"] = self._messages[(chat_id, reply_to)]
        return message

    def _resolve_file(
        self, value: Any, files: dict[str, UploadedFile], name: str
    ) -> tuple[StoredFile, bool]:
        """The stored file for an upload / attach:// / file_id / URL, and whether it is new."""
        upload = files.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value.removeprefix("attach://"))
        if upload is not None:
            folder = "photos" if name == "photo" else "documents"
            suffix = ".jpg" if name == "photo" else ""
            stored = self.add_file(
                upload.content,
                file_path=f"{folder}/file_{next(self._file_seq)}{suffix}",
                file_name=upload.filename,
                mime_type=upload.content_type,
            )
            return stored, True
        if not isinstance(value, str) or not value:
            raise TelegramApiError(400, f"Bad Request: there is no {name} in the request")
        if value in self.files:
            return self.files[value], False
        if value.startswith(("http://", "https://")):
            return self.add_file(b"", file_name=value.rsplit("/", 1)[-1] or None), True
        raise TelegramApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    def _photo_sizes(self, stored: StoredFile) -> list[JSON]:
        sizes = []
        for i, (w, h) in enumerate(((90, 68), (320, 240), (800, 600))):
            last = i == 2
            sizes.append(
                {
                    "file_id": stored.file_id if last else f"{stored.file_id}_{w}",
                    "file_unique_id": stored.file_unique_id
                    if last
                    else f"{stored.file_unique_id}{i}",
                    "file_size": len(stored.content)
                    if last
                    else max(1, len(stored.content) // (4 - i)),
                    "width": w,
                    "height": h,
                }
            )
        return sizes

    def _editable(self, params: dict[str, Any]) -> tuple[int, JSON]:
        if params.get("inline_message_id"):
            raise TelegramApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        chat_id = self._require_chat(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise TelegramApiError(400, "Bad Request: message identifier is not specified")
        self._check_reachable(chat_id)
        message = self._messages.get((chat_id, message_id))
        if message is None or message.get("deleted"):
            raise TelegramApiError(400, ERR_EDIT_NOT_FOUND)
        if message.get("from", {}).get("id") != self.bot_user["id"]:
            raise TelegramApiError(400, ERR_CANT_EDIT)
        return chat_id, message

    # =========================================================================================
    # Bot API methods
    # =========================================================================================
    async def _true(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> bool:
        return True

    async def _get_me(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> JSON:
        return dict(self.bot_user)

    async def _get_updates(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> list[JSON]:
        if self.webhook_url:
            raise TelegramApiError(409, ERR_WEBHOOK_ACTIVE)
        offset = params.get("offset")
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(a) for a in allowed] or None
        if isinstance(offset, int) and offset < 0:
            while len(self._queue) > -offset:
                self._queue.popleft()
        elif isinstance(offset, int) and offset > 0:
            while self._queue and self._queue[0]["update_id"] < offset:
                self._queue.popleft()
        self._poll_generation += 1
        generation = self._poll_generation
        await self._notify()  # an older long poll still waiting gets 409 Conflict
        cond = self._condition()
        if not self._queue and timeout > 0 and not self._closing:
            async with cond:
                try:
                    async with asyncio.timeout(timeout):
                        await cond.wait_for(
                            lambda: (
                                bool(self._queue)
                                or self._closing
                                or generation != self._poll_generation
                            )
                        )
                except TimeoutError:
                    pass
        if generation != self._poll_generation:
            raise TelegramApiError(409, ERR_OTHER_GETUPDATES)
        return [u for u in itertools.islice(self._queue, limit)]

    async def _set_webhook(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return await self._delete_webhook(params, files)
        if not url.startswith(("http://", "https://")):
            raise TelegramApiError(
                400,
                "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443",
            )
        secret = params.get("secret_token")
        if secret and not _SECRET_RE.match(str(secret)):
            raise TelegramApiError(400, "Bad Request: secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._queue.clear()
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(a) for a in allowed] or None
        self.webhook_url = url
        self.webhook_secret = str(secret) if secret else None
        self._webhook_error = None
        await self._notify()  # a waiting getUpdates is answered with its (empty) result
        if self._queue:
            self._spawn(self._flush_queue_to_webhook())
        return True

    async def _flush_queue_to_webhook(self) -> None:
        while self._queue and self.webhook_url:
            update = self._queue.popleft()
            status, body = await self._post_webhook(update)
            self.deliveries.append(Delivery(update, status, body))

    async def _delete_webhook(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> bool:
        if params.get("drop_pending_updates"):
            self._queue.clear()
        self.webhook_url = None
        self.webhook_secret = None
        return True

    async def _get_webhook_info(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> JSON:
        info: JSON = {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
        }
        if self.webhook_url:
            info["max_connections"] = 40
            info["ip_address"] = "127.0.0.1"
        if self._allowed_updates:
            info["allowed_updates"] = list(self._allowed_updates)
        if self._webhook_error:
            info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    async def _send_message(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> JSON:
        chat_id = self._require_chat(params)
        text = self._check_text(params)  # with parse_mode: the plain text, as Telegram returns
        markup = self._check_markup(params.get("reply_markup"))
        self._check_reachable(chat_id)
        self._check_rate(chat_id)
        message = self._bot_message(chat_id, params, text=text)
        if params.get("entities"):
            message["entities"] = params["entities"]
        if markup:
            message["reply_markup"] = markup
        return self._store_sent(chat_id, message)

    async def _send_photo(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> JSON:
        chat_id = self._require_chat(params)
        caption = self._check_caption(params)
        markup = self._check_markup(params.get("reply_markup"))
        stored, _new = self._resolve_file(params.get("photo"), files, "photo")
        self._check_reachable(chat_id)
        self._check_rate(chat_id)
        message = self._bot_message(chat_id, params, photo=self._photo_sizes(stored))
        if caption:
            message["caption"] = caption
        if markup:
            message["reply_markup"] = markup
        return self._store_sent(chat_id, message)

    async def _send_document(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> JSON:
        chat_id = self._require_chat(params)
        caption = self._check_caption(params)
        markup = self._check_markup(params.get("reply_markup"))
        stored, _new = self._resolve_file(params.get("document"), files, "document")
        self._check_reachable(chat_id)
        self._check_rate(chat_id)
        document: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
        }
        if stored.file_name:
            document["file_name"] = stored.file_name
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        message = self._bot_message(chat_id, params, document=document)
        if caption:
            message["caption"] = caption
        if markup:
            message["reply_markup"] = markup
        return self._store_sent(chat_id, message)

    async def _send_voice(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> JSON:
        return self._send_sound(params, files, "voice")

    async def _send_audio(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> JSON:
        return self._send_sound(params, files, "audio")

    def _send_sound(
        self, params: dict[str, Any], files: dict[str, UploadedFile], kind: str
    ) -> JSON:
        """sendVoice / sendAudio: the message carries ``voice`` / ``audio`` (with the file)."""
        chat_id = self._require_chat(params)
        caption = self._check_caption(params)
        markup = self._check_markup(params.get("reply_markup"))
        stored, _new = self._resolve_file(params.get(kind), files, kind)
        if not stored.content:
            raise TelegramApiError(400, "Bad Request: file must be non-empty")
        self._check_reachable(chat_id)
        self._check_rate(chat_id)
        sound: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": int(params.get("duration") or 1),
            "file_size": len(stored.content),
        }
        if stored.file_name:
            sound["file_name"] = stored.file_name
        message = self._bot_message(chat_id, params, **{kind: sound})
        if caption:
            message["caption"] = caption
        if markup:
            message["reply_markup"] = markup
        return self._store_sent(chat_id, message)

    async def _send_chat_action(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> bool:
        chat_id = self._require_chat(params)
        if not params.get("action"):
            raise TelegramApiError(400, "Bad Request: action is empty")
        self._check_reachable(chat_id)
        return True

    async def _edit_message_text(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> JSON:
        text = self._check_text(params)
        markup = self._check_markup(params.get("reply_markup"))
        _chat_id, message = self._editable(params)
        # Telegram drops the inline keyboard when editMessageText comes without reply_markup.
        if message.get("text") == text and message.get("reply_markup") == markup:
            raise TelegramApiError(400, ERR_NOT_MODIFIED)
        message["text"] = text
        message["edit_date"] = int(time.time())
        if params.get("entities"):
            message["entities"] = params["entities"]
        else:
            message.pop("entities", None)
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return json.loads(json.dumps(message))

    async def _edit_message_reply_markup(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> JSON:
        markup = self._check_markup(params.get("reply_markup"))
        _chat_id, message = self._editable(params)
        if message.get("reply_markup") == markup:
            raise TelegramApiError(400, ERR_NOT_MODIFIED)
        message["edit_date"] = int(time.time())
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return json.loads(json.dumps(message))

    async def _delete_message(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> bool:
        chat_id = self._require_chat(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise TelegramApiError(400, "Bad Request: message identifier is not specified")
        message = self._messages.get((chat_id, message_id))
        if message is None or message.get("deleted"):
            raise TelegramApiError(400, ERR_DELETE_NOT_FOUND)
        message["deleted"] = True
        return True

    async def _answer_callback_query(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        pending = self._pending_queries.get(query_id)
        if pending is None:  # unknown or answered already
            raise TelegramApiError(400, ERR_QUERY_INVALID)
        if self.clock() - pending[1] > self.callback_query_timeout:
            del self._pending_queries[query_id]
            raise TelegramApiError(400, ERR_QUERY_INVALID)
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise TelegramApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        del self._pending_queries[query_id]
        self.callback_answers[query_id] = dict(params)
        return True

    async def _get_file(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> JSON:
        file_id = str(params.get("file_id") or "")
        stored = self.files.get(file_id)
        if stored is None and "_" in file_id:  # a smaller photo size
            stored = self.files.get(file_id.rsplit("_", 1)[0])
        if stored is None:
            raise TelegramApiError(400, ERR_FILE_ID)
        return {
            "file_id": file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _set_my_commands(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise TelegramApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_RE.match(
                str(command.get("command", ""))
            ):
                raise TelegramApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise TelegramApiError(400, "Bad Request: command description is empty")
        key = self._commands_key(params)
        if commands:
            self.commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self.commands.pop(key, None)
        return True

    async def _delete_my_commands(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    async def _get_my_commands(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> list[JSON]:
        return list(self.commands.get(self._commands_key(params), []))
