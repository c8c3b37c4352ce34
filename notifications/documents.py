"""Documents (an XLSX list, a report) as outbox messages.

The outbox stores a message as JSON, so a small document travels inside it, base64-encoded in
``Message.extra["document"]``; the Telegram gateway sends it with ``sendDocument`` and the
message text as its caption. SMS cannot carry a document: it sends the caption only.
"""

from __future__ import annotations

import base64

from notifications.message import Message

MAX_DOCUMENT_BYTES = 5_000_000  # keep the outbox row reasonable; Telegram allows 50 MB


def document_message(caption: str, filename: str, data: bytes) -> Message:
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ValueError(
            f"document {filename!r} is {len(data)} bytes; the limit is {MAX_DOCUMENT_BYTES}"
        )
    return Message(
        caption,
        extra={"document": {"filename": filename, "data": base64.b64encode(data).decode("ascii")}},
    )


def document_of(message: Message) -> tuple[str, bytes] | None:
    """(filename, bytes) of a document message, else ``None``."""
    doc = message.extra.get("document")
    if not isinstance(doc, dict):
        return None
    return str(doc.get("filename") or "document"), base64.b64decode(doc.get("data") or "")
