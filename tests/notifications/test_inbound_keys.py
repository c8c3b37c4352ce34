"""Idempotency keys of answers to an inbound: the same for a retried delivery, never built
from a counter that makes every key unique."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from notifications.inbound import Inbound, reply_key
from notifications.message import Message

NOW = datetime(2022, 4, 10, 6, 0, tzinfo=UTC)


def test_a_retried_delivery_gets_the_same_key() -> None:
    first = Inbound("sms", "+8613800000001", text="1", id="SM0001")
    again = Inbound("sms", "+8613800000001", text="1", id="SM0001")
    later = NOW + timedelta(seconds=30)  # the provider retried half a minute later
    assert reply_key("reply", first, Message("ok"), NOW) == reply_key(
        "reply", again, Message("ok"), later
    )


def test_different_inbounds_or_answers_get_different_keys() -> None:
    one = Inbound("telegram", "7001", text="hi", id="u1")
    two = Inbound("telegram", "7001", text="hi", id="u2")
    assert reply_key("reply", one, Message("a"), NOW) != reply_key("reply", two, Message("a"), NOW)
    assert reply_key("reply", one, Message("a"), NOW) != reply_key("reply", one, Message("b"), NOW)
    assert reply_key("reply", one, Message("a"), NOW) != reply_key("drive", one, Message("a"), NOW)


def test_without_a_provider_id_the_moment_and_the_words_count() -> None:
    bare = Inbound("local", "7001", text="hi")
    assert bare.ref(NOW) == Inbound("local", "7001", text="hi").ref(NOW)
    assert bare.ref(NOW) != Inbound("local", "7001", text="ho").ref(NOW)
    assert bare.ref(NOW) != bare.ref(NOW + timedelta(microseconds=1))
    assert Inbound("sms", "+86138", id="SM9").ref(NOW) == "SM9"
