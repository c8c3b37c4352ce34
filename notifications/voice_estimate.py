"""How many minutes a send's phone calls take and what they cost, for the previews staff confirm.

One estimate for every preview: the drive preview (``notifications/drives/setup.py``) and the
round preview (``surveys/preview.py``) both count the calls they would place and ask this
module for minutes and dollars. Twilio bills each call by the started minute, so a call's
minutes are rounded up; a call that is not answered is tried again (not counted here: the
previews say so). Pure: no database, no clock, no network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

CALL_MINUTES = 1  # a call-up said twice with its 1/2/3 question takes under a minute
INTRO_SECONDS = 20  # a survey call's greeting and "press 9 to hear it again"
QUESTION_SECONDS = 25  # one keypad question: said, answered, confirmed


@dataclass(frozen=True, slots=True)
class CallEstimate:
    calls: int = 0
    minutes: int = 0
    cost: float = 0.0  # USD


def survey_call_minutes(questions: int) -> int:
    """Billed minutes of one call that asks ``questions`` keypad questions (at least one)."""
    seconds = INTRO_SECONDS + max(0, questions) * QUESTION_SECONDS
    return max(1, math.ceil(seconds / 60))


def estimate(calls: int, price_per_minute: float, minutes_each: int = CALL_MINUTES) -> CallEstimate:
    """``calls`` calls of ``minutes_each`` billed minutes at ``price_per_minute``."""
    minutes = max(0, calls) * max(1, minutes_each)
    return CallEstimate(calls=max(0, calls), minutes=minutes, cost=minutes * price_per_minute)
