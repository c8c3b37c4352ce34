"""What a resident sends to the survey engine (pure): typed text, a button press, a photo,
or a navigation word (Back, Skip, Keep, Cancel, Done)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Back",
    "Cancel",
    "Choice",
    "Done",
    "Inbound",
    "Keep",
    "Photo",
    "Skip",
    "Text",
    "Toggle",
]


@dataclass(frozen=True, slots=True)
class Text:
    """Typed text (Telegram message or SMS body)."""

    text: str


@dataclass(frozen=True, slots=True)
class Choice:
    """A button press: a choice value of a select_one, or ``"yes"``/``"no"``."""

    value: str


@dataclass(frozen=True, slots=True)
class Toggle:
    """A select_multiple button press: flip one choice value."""

    value: str


@dataclass(frozen=True, slots=True)
class Done:
    """Finish a select_multiple answered with toggles."""


@dataclass(frozen=True, slots=True)
class Photo:
    file_id: str


@dataclass(frozen=True, slots=True)
class Skip:
    """Leave an optional question unanswered (saved as None)."""


@dataclass(frozen=True, slots=True)
class Keep:
    """Keep the previous answer (revising, or after Back)."""


@dataclass(frozen=True, slots=True)
class Back:
    pass


@dataclass(frozen=True, slots=True)
class Cancel:
    pass


Inbound = Text | Choice | Toggle | Done | Photo | Skip | Keep | Back | Cancel
