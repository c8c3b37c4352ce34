"""What one provider message may hold, and splitting a longer :class:`Message` into parts.

Telegram refuses a text over 4096 characters ("message is too long") and a caption over 1024;
Twilio refuses a Body over 1600 characters (error 21617). A message is never sent to be refused:
:func:`split_message` makes the parts when the message is enqueued (each part is its own outbox
row, so each is paced, retried and made idempotent on its own), and :func:`shorten` is the last
resort for what cannot be split (an edit of a Telegram message).

Lengths are counted in UTF-16 code units, which is what Telegram counts and never less than the
characters Twilio counts. A cut is made at a paragraph, then a line, then a sentence or a space,
and only inside a word (never inside a surrogate pair) when nothing better is in reach.
"""

from __future__ import annotations

from notifications.message import Message

TELEGRAM_TEXT = 4096
TELEGRAM_CAPTION = 1024
SMS_BODY = 1600
ELLIPSIS = "…"

#: Where a cut may fall, best first: after a blank line, a line, a sentence, a space.
_BREAKS = ("\n\n", "\n", "。", "！", "？", ". ", "! ", "? ", "；", "，", ", ", " ")
#: A break this far back (as a share of the limit) is still better than cutting a word.
_MIN_SHARE = 0.5


def units(text: str) -> int:
    """Length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, limit: int) -> int:
    """The longest prefix length (in characters) whose UTF-16 length is at most ``limit``."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def cut(text: str, limit: int) -> tuple[str, str]:
    """``(head, rest)``: head fits ``limit`` and ends at the best break; rest is what follows
    (both stripped of the whitespace at the cut). ``rest`` is empty when ``text`` fits."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if units(text) <= limit:
        return text, ""
    end = _fit(text, limit)
    window = text[:end]
    for mark in _BREAKS:
        at = window.rfind(mark)
        if at > 0 and at + len(mark) >= end * _MIN_SHARE:
            head = window[: at + len(mark)].rstrip()
            if head:
                return head, text[at + len(mark) :].lstrip()
    return window, text[end:].lstrip()


def split_text(text: str, limit: int) -> list[str]:
    """``text`` as parts of at most ``limit`` UTF-16 units each (one part when it fits)."""
    parts: list[str] = []
    rest = text
    while True:
        head, rest = cut(rest, limit)
        parts.append(head)
        if not rest:
            return parts


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` units, ending with an ellipsis when something was left out."""
    if units(text) <= limit:
        return text
    head, _rest = cut(text, limit - units(ELLIPSIS))
    return head + ELLIPSIS


def split_message(channel: str, message: Message) -> list[Message]:
    """The messages to send on ``channel`` for ``message``: itself when it fits, else parts.

    Telegram: an attachment (photo, document) goes first with as much text as a caption holds;
    the keyboard (buttons, contact request or removal) goes with the last part, so a button
    press refers to the message that shows it. SMS: the text in parts of at most 1600
    characters. Continuation parts carry ``extra["part"]`` (2, 3 ...); the first part keeps the
    message's ``extra`` and, when it has no ``alt`` rendering, the whole text under
    ``extra["whole_text"]`` (what a fallback to another channel sends). An edit is never split.
    """
    if "edit_message_id" in message.extra:
        return [message]
    if channel == "sms":
        texts = split_text(message.text, SMS_BODY)
        attached = False
    elif channel == "telegram":
        attached = bool(message.photo or message.document())
        if attached:
            head, rest = cut(message.text, TELEGRAM_CAPTION)
            texts = [head, *(split_text(rest, TELEGRAM_TEXT) if rest else [])]
        else:
            texts = split_text(message.text, TELEGRAM_TEXT)
    else:
        return [message]
    if len(texts) == 1:
        return [message]
    first_extra = dict(message.extra)
    if "alt" not in first_extra:
        first_extra["whole_text"] = message.text
    parts: list[Message] = []
    for number, text in enumerate(texts, start=1):
        last = number == len(texts)
        if number == 1:
            extra = first_extra
        else:
            extra = {"part": number}
        if number > 1 or not attached:
            extra.pop("document", None)
        parts.append(
            Message(
                text=text,
                buttons=message.buttons if last else (),
                photo=message.photo if number == 1 else None,
                request_contact=message.request_contact if last else None,
                remove_keyboard=message.remove_keyboard and last,
                extra=extra,
            )
        )
    return parts


__all__ = [
    "ELLIPSIS",
    "SMS_BODY",
    "TELEGRAM_CAPTION",
    "TELEGRAM_TEXT",
    "cut",
    "shorten",
    "split_message",
    "split_text",
    "units",
]
