"""One faster per-chat pace for the tests that are not about pacing.

Telegram allows one message a second to a chat: by default the fake Bot API refuses (429)
anything faster, and the dispatcher keeps that pace (``telegram_rate_per_chat``, 1/s). A test
whose chat gets 14 messages then waits 14 s for a limit it does not check. Such a test runs both
at this pace instead, the same for both: the fake still refuses a send to a chat sooner than
``1 / CHAT_RATE`` s after the last one, and the dispatcher still spaces a chat's messages (with
its margin) to stay under it. The tests of the real 1/s limit and of 429 handling
(tests/notifications/, tests/test_fakes_telegram.py) keep the defaults.
"""

from __future__ import annotations

CHAT_RATE = 20.0  # messages a second to one chat

#: For :class:`tests.fakes.telegram.FakeTelegram`: ``FakeTelegram(token, **FAKE_PACE)``.
FAKE_PACE = {"per_chat_interval": 1.0 / CHAT_RATE}
#: For the settings: ``make_settings(..., **SETTINGS_PACE)``.
SETTINGS_PACE = {"telegram_rate_per_chat": CHAT_RATE}
