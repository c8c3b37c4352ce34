"""A cap on our automatic replies to one number, so that two auto-responders (or a phone's "I'm
driving" answer) cannot ping-pong with us forever at our cost.

An *automatic reply* is one we send because a message did not move anything on: a survey
question asked again with an error, "nothing is open", the HELP text, a call-up's options again,
an acknowledged free question. The survey's own next question (after an answer was taken), a
call-up's confirmation and STOP/START confirmations are not automatic replies and are never
capped. At most :data:`AUTO_REPLIES` automatic replies go to one number in any :data:`WINDOW`
seconds; beyond that the message is still handled (an answer still counts) but not answered.

Kept in memory per process (what a loop would cost is bounded per process; a restart forgets
it). Pure: time is passed in (``now``: a monotonic clock in seconds).
"""

from __future__ import annotations

from collections import deque

#: Automatic replies per number in any WINDOW: enough for a confused person to be helped
#: a few times an hour, few enough that a loop costs a handful of SMS an hour.
AUTO_REPLIES = 5
WINDOW = 3600.0
_MAX_NUMBERS = 50_000


class ReplyCap:
    def __init__(self, limit: int = AUTO_REPLIES, window: float = WINDOW) -> None:
        self.limit = limit
        self.window = window
        self._sent: dict[str, deque[float]] = {}

    def _recent(self, address: str, now: float) -> deque[float]:
        times = self._sent.get(address)
        if times is None:
            if len(self._sent) >= _MAX_NUMBERS:
                self._forget_old(now)
            times = self._sent[address] = deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def _forget_old(self, now: float) -> None:
        for address in [a for a, t in self._sent.items() if not t or t[-1] <= now - self.window]:
            del self._sent[address]

    def allowed(self, address: str, now: float) -> bool:
        """May ``address`` get one more automatic reply now?"""
        return len(self._recent(address, now)) < self.limit

    def spend(self, address: str, now: float) -> bool:
        """Count one automatic reply sent; True when this one used up the window's last."""
        times = self._recent(address, now)
        times.append(now)
        return len(times) == self.limit
