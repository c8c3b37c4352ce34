"""The survey engine (pure): one inbound in, the new session state and events out.

Public API, re-exported from the submodules (modules inside this package import from the
exact submodule, never from here):

* :mod:`~surveys.engine.inputs` - what a resident sends: ``Text``, ``Choice``, ``Toggle``,
  ``Done``, ``Photo``, ``Skip``, ``Keep``, ``Back``, ``Cancel`` (``Inbound`` is their union);
* :mod:`~surveys.engine.events` - what the engine emits: ``Ask``, ``AnswerSaved``,
  ``AnswerCleared``, ``Completed``, ``Cancelled``, ``Alert``, ``NeedsHuman``, ``Invalid``
  (``Event`` is their union);
* :mod:`~surveys.engine.state` - ``SessionState`` and positions (``Path``, ``path_str``);
* :mod:`~surveys.engine.walk` - the stepping logic: ``start``, ``handle``, ``Step``,
  ``question_at``, ``check_state``, ``reason_text``;
* :mod:`~surveys.engine.answers` (parsing what people type) and
  :mod:`~surveys.engine.expressions` (``relevant``/``constraint``/alert expressions).
"""

from surveys.engine.events import (
    Alert,
    AnswerCleared,
    AnswerSaved,
    Ask,
    Cancelled,
    Completed,
    Event,
    Invalid,
    NeedsHuman,
)
from surveys.engine.inputs import (
    Back,
    Cancel,
    Choice,
    Done,
    Inbound,
    Keep,
    Photo,
    Skip,
    Text,
    Toggle,
)
from surveys.engine.state import Path, SessionState, path_str
from surveys.engine.walk import (
    REASON_TEXT,
    TEXT_ONLY_CHANNELS,
    Step,
    check_state,
    handle,
    question_at,
    reason_text,
    start,
)

__all__ = [
    "REASON_TEXT",
    "TEXT_ONLY_CHANNELS",
    "Alert",
    "AnswerCleared",
    "AnswerSaved",
    "Ask",
    "Back",
    "Cancel",
    "Cancelled",
    "Choice",
    "Completed",
    "Done",
    "Event",
    "Inbound",
    "Invalid",
    "Keep",
    "NeedsHuman",
    "Path",
    "Photo",
    "SessionState",
    "Skip",
    "Step",
    "Text",
    "Toggle",
    "check_state",
    "handle",
    "path_str",
    "question_at",
    "reason_text",
    "start",
]
