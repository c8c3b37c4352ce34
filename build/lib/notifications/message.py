"""The channel-neutral outbound message that engines and runtimes produce.

A channel adapter renders it: Telegram shows ``buttons`` as an inline keyboard; SMS shows the
text only (the SMS renderer of a question has already numbered the options inside the text).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Button:
    """One inline button. ``data`` is the Telegram callback_data: at most 64 bytes in UTF-8."""

    label: str
    data: str

    def __post_init__(self) -> None:
        if len(self.data.encode("utf-8")) > 64:
            raise ValueError(f"callback data over 64 bytes: {self.data!r}")


@dataclass(frozen=True, slots=True)
class Message:
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    photo: str | None = None  # a Telegram file_id or URL, sent with text as caption
    request_contact: str | None = None  # label of a "share my phone number" reply button
    remove_keyboard: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.text}
        if self.buttons:
            out["buttons"] = [[[b.label, b.data] for b in row] for row in self.buttons]
        if self.photo:
            out["photo"] = self.photo
        if self.request_contact:
            out["request_contact"] = self.request_contact
        if self.remove_keyboard:
            out["remove_keyboard"] = True
        if self.extra:
            out["extra"] = self.extra
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Message:
        rows = tuple(
            tuple(Button(label=b[0], data=b[1]) for b in row) for row in data.get("buttons", [])
        )
        return cls(
            text=data["text"],
            buttons=rows,
            photo=data.get("photo"),
            request_contact=data.get("request_contact"),
            remove_keyboard=bool(data.get("remove_keyboard", False)),
            extra=dict(data.get("extra", {})),
        )
