"""The local channel: delivers to the browser (the simulator page) instead of Telegram or Twilio.

Used when no provider token is set, so that a fresh ``make run`` is a working louzhang. One
:class:`LocalChannel` is registered with the dispatcher under each channel name that has no real
provider (``telegram``, ``sms``, ``voice``) and under ``local`` (the simulator's own chats). A
message reaches it exactly as it would reach the real gateway: through the outbox, claimed by
the dispatcher, with the same rendering (an SMS stand-in counts segments like Twilio does).

Delivery is recorded in the outbox row itself (status ``sent``, ``provider_id``), so the page
reads a chat's messages from the outbox by (channel, address); :class:`LocalHub` only tells the
pages that are open on that chat to look again, and keeps what the simulated person typed.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from notifications.channels.base import SendResult
from notifications.message import Message
from notifications.segments import count_segments
from notifications.voice_script import Gather, Record

Key = tuple[str, str]  # (channel, address)

SMS_LIKE = frozenset({"sms", "voice"})
INBOUND_KEPT = 200  # typed messages remembered per chat (in memory only)


@dataclass(frozen=True, slots=True)
class TypedMessage:
    """Something the simulated person sent: text, or the label of a button they pressed."""

    at: datetime
    text: str
    seq: int
    after: int = 0  # the chat's newest outbox row when it was typed (orders the transcript)


@dataclass(frozen=True, slots=True)
class CallLine:
    """One line of a call the simulator plays: said by the call (``in``) or keys pressed
    (``out``); ``step``: the lines of one step (a key's answer) share it."""

    dir: str
    text: str
    lang: str
    step: int


@dataclass
class SimCall:
    """A phone call the simulator plays for a voice household (in memory, this process only):
    what it said, what it waits for, and the keys typed towards it."""

    sid: str
    outbox_id: int | None  # None: the household called in
    lines: list[CallLine] = field(default_factory=list)
    waits: Gather | Record | None = None
    typed: str = ""
    step: int = 0

    @property
    def ended(self) -> bool:
        return self.waits is None


class LocalHub:
    """Where local deliveries are announced and what the simulated people typed is kept."""

    def __init__(self) -> None:
        self._listeners: dict[Key, set[asyncio.Event]] = {}
        self._typed: dict[Key, deque[TypedMessage]] = {}
        self._seq = itertools.count(1)
        self.delivered = 0
        # Secret texts delivered here (a login link), by provider id: the outbox forgets them
        # once sent, and the simulator shows them from here instead (this process only).
        self.secrets: dict[str, str] = {}
        # The call each voice household's simulator page is on, by (channel, address).
        self.calls: dict[Key, SimCall] = {}

    def listen(self, key: Key) -> asyncio.Event:
        event = asyncio.Event()
        self._listeners.setdefault(key, set()).add(event)
        return event

    def unlisten(self, key: Key, event: asyncio.Event) -> None:
        listeners = self._listeners.get(key)
        if listeners is not None:
            listeners.discard(event)
            if not listeners:
                del self._listeners[key]

    def announce(self, key: Key) -> None:
        for event in self._listeners.get(key, ()):
            event.set()

    def typed(self, key: Key, at: datetime, text: str, *, after: int = 0) -> None:
        self._typed.setdefault(key, deque(maxlen=INBOUND_KEPT)).append(
            TypedMessage(at, text, next(self._seq), after)
        )
        self.announce(key)

    def typed_by(self, key: Key) -> list[TypedMessage]:
        return list(self._typed.get(key, ()))


_provider_ids = itertools.count(int(time.time() * 1000) % 1_000_000_000)


class LocalChannel:
    """A channel adapter that delivers to the browser; ``name`` is the channel it stands in for."""

    def __init__(self, name: str, hub: LocalHub) -> None:
        self.name = name
        self.hub = hub

    def sender_key(self) -> str:
        return f"local:{self.name}"

    def cost(self, message: Message) -> int:
        return count_segments(message.text).segments if self.name in SMS_LIKE else 1

    async def send(self, address: str, message: Message) -> SendResult:
        edit_id = message.extra.get("edit_message_id")
        provider_id = str(edit_id) if edit_id is not None else str(next(_provider_ids))
        self.hub.delivered += 1
        if message.extra.get("secret"):
            if len(self.hub.secrets) >= 1000:
                self.hub.secrets.clear()
            self.hub.secrets[provider_id] = message.text
        self.hub.announce((self.name, address))
        return SendResult(provider_id=provider_id, status="delivered", segments=self.cost(message))
