"""The dispatcher with calls: never more than LOUZHANG_VOICE_MAX_CONCURRENT live (a call is live
until its final status), never two at once to one number, call-ups before waiting notices, and
a status callback that beats the dispatcher's record of the call is not overwritten.

Promises:
- a placed call is recorded on its own row only: accepted when Twilio answered, its call sid,
  no error left from an earlier attempt, and it counts as sent in the dispatcher's figures.
- the numbers with a live call are the numbers of the voice rows placed and not final (an SMS
  to the same number, or a call that ended, does not count); a call with no news for
  voice_call_timeout seconds no longer counts.
- a second notice to a number in one claim waits CALL_SPACING seconds (attempt unspent) and the
  rest of the claim is still called; a number on a call is passed over at the claim."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from config.clock import FakeClock, SystemClock
from estate.models import Building, Contact, Estate, Household
from notifications.channels.base import SendResult
from notifications.dispatch.dispatcher import CALL_SPACING, Dispatcher, live_calls
from notifications.message import Message
from notifications.models import OutboxMessage, Priority
from notifications.outbox import Outgoing, enqueue_many
from tests.conftest import make_settings


@dataclass
class StubCalls:
    """A voice adapter that places calls instantly and remembers them."""

    name: str = "voice"
    live_calls: bool = True
    placed: list[tuple[str, int]] = field(default_factory=list)  # (number, outbox id)
    on_send: object = None

    def sender_key(self) -> str:
        return "voice:+15005550006"

    def cost(self, message: Message) -> int:
        return 1

    async def send(self, address: str, message: Message) -> SendResult:
        outbox_id = int(message.extra["outbox_id"])
        self.placed.append((address, outbox_id))
        if callable(self.on_send):
            await self.on_send(outbox_id)
        return SendResult(provider_id=f"CA{outbox_id:032d}", status="accepted")


async def voice_contacts(n: int) -> list[Contact]:
    estate = await Estate.create(name="e")
    building = await Building.create(estate=estate, number=1, floors=10)
    contacts = []
    for i in range(n):
        household = await Household.create(building=building, floor=1, room=f"10{i}")
        contacts.append(
            await Contact.create(household=household, channel="voice", address=f"+86216200010{i}")
        )
    return contacts


def dispatcher(stub: StubCalls, **settings: object) -> Dispatcher:
    return Dispatcher(
        {"voice": stub},  # type: ignore[dict-item]
        clock=SystemClock(),
        settings=make_settings(voice_calls_per_second=1000, **settings),
    )


async def end_calls(ids: list[int], status: str = "delivered") -> None:
    await OutboxMessage.filter(id__in=ids).update(status=status)


async def test_live_calls_are_capped_and_one_number_waits_for_its_call(db: str) -> None:
    contacts = await voice_contacts(4)
    now = SystemClock().now()
    items = [
        Outgoing(contact=c, message=Message(f"notice {i}"), key=f"n{i}", priority=Priority.BULK)
        for i, c in enumerate(contacts)
    ]
    items.append(  # a second message to the first number
        Outgoing(contact=contacts[0], message=Message("again"), key="n0b", priority=Priority.BULK)
    )
    await enqueue_many(items, now=now)
    stub = StubCalls()
    d = dispatcher(stub, voice_max_concurrent=2)
    await d.run_once("voice")
    await d.drain_in_flight()
    assert [a for a, _ in stub.placed] == [contacts[0].address, contacts[1].address]
    await d.run_once("voice")  # both live: nothing more
    await d.drain_in_flight()
    assert len(stub.placed) == 2
    await end_calls([stub.placed[0][1]])  # the first call ended
    await d.run_once("voice")
    await d.drain_in_flight()
    # The free slot goes to the next number, not to the first number's second message... and
    # the first number's second message waits behind nothing else once it is free.
    assert stub.placed[2][0] == contacts[2].address
    await end_calls([i for _, i in stub.placed])
    for _ in range(3):
        await OutboxMessage.filter(status="queued").update(next_attempt_at=SystemClock().now())
        await d.run_once("voice")
        await d.drain_in_flight()
        await end_calls([i for _, i in stub.placed])
    numbers = [a for a, _ in stub.placed]
    assert sorted(numbers) == sorted([c.address for c in contacts] + [contacts[0].address])


async def test_a_call_up_takes_the_next_free_slot(db: str) -> None:
    contacts = await voice_contacts(4)
    now = SystemClock().now()
    await enqueue_many(
        [
            Outgoing(contact=c, message=Message("notice"), key=f"n{i}", priority=Priority.BULK)
            for i, c in enumerate(contacts[:3])
        ],
        now=now,
    )
    stub = StubCalls()
    d = dispatcher(stub, voice_max_concurrent=1)
    await d.run_once("voice")
    await d.drain_in_flight()
    await enqueue_many(
        [
            Outgoing(
                contact=contacts[3],
                message=Message("come down"),
                key="callup",
                priority=Priority.CALLUP,
            )
        ],
        now=now,
    )
    await end_calls([stub.placed[0][1]])
    await d.run_once("voice")
    await d.drain_in_flight()
    assert stub.placed[1][0] == contacts[3].address


async def test_a_final_status_before_the_create_answer_is_kept(db: str) -> None:
    (contact,) = await voice_contacts(1)
    await enqueue_many(
        [Outgoing(contact=contact, message=Message("x"), key="k")], now=SystemClock().now()
    )
    stub = StubCalls()

    async def ended_at_once(outbox_id: int) -> None:  # Twilio's callbacks won the race
        await OutboxMessage.filter(id=outbox_id).update(status="undelivered", error_code="busy")

    stub.on_send = ended_at_once
    d = dispatcher(stub)
    await d.run_once("voice")
    await d.drain_in_flight()
    row = await OutboxMessage.get(idempotency_key="k")
    assert (row.status, row.error_code) == ("undelivered", "busy")
    assert row.provider_id == f"CA{row.id:032d}" and row.sent_at is not None


async def test_a_placed_call_is_recorded_on_its_row_and_counted(db: str) -> None:
    contacts = await voice_contacts(2)
    clock = FakeClock()
    start = clock.now()
    items = [Outgoing(contact=c, message=Message("x"), key=f"k{i}") for i, c in enumerate(contacts)]
    items.append(Outgoing(None, Message("s"), "s", channel="sms", address="+8613800138000"))
    await enqueue_many(items, now=start - timedelta(hours=1))
    # the first call failed once before; a text message is being sent meanwhile
    await OutboxMessage.filter(idempotency_key="k0").update(error="twilio 500", error_code="20500")
    await OutboxMessage.filter(idempotency_key="s").update(status="sending")

    async def slow_answer(outbox_id: int) -> None:  # Twilio takes 30 s to answer
        clock.advance(30)

    stub = StubCalls(on_send=slow_answer)
    d = Dispatcher(
        {"voice": stub},  # type: ignore[dict-item]
        clock=clock,
        settings=make_settings(voice_calls_per_second=1000),
    )
    await d.run_once("voice")
    await d.drain_in_flight()
    rows = {row.idempotency_key: row for row in await OutboxMessage.all()}
    for key in ("k0", "k1"):
        row = rows[key]
        assert (row.status, row.error, row.error_code, row.lease_owner) == ("accepted",) + (
            None,
        ) * 3
        assert row.provider_id == f"CA{row.id:032d}"
        # recorded when Twilio answered: the call is live from then on
        assert row.sent_at is not None and row.sent_at > start
        assert row.updated_at == row.sent_at
    assert rows["s"].status == "sending"
    assert d.stats.sent == 2


async def test_the_numbers_with_a_live_call_are_those_of_calls_not_yet_ended(db: str) -> None:
    clock = FakeClock()
    now = clock.now()
    await enqueue_many(
        [
            Outgoing(contact=None, message=Message(k), key=k, channel=ch, address=a)
            for k, ch, a in [
                ("live", "voice", "+8613800000001"),
                ("ended", "voice", "+8613800000002"),
                ("sms", "sms", "+8613800000003"),
            ]
        ],
        now=now,
    )
    for key, status in [("live", "accepted"), ("ended", "delivered"), ("sms", "accepted")]:
        await OutboxMessage.filter(idempotency_key=key).update(status=status, updated_at=now)
    assert await live_calls("voice", now, 60.0) == ["+8613800000001"]


async def test_a_second_message_to_a_number_in_one_claim_waits_behind_the_first(
    db: str,
) -> None:
    """Two notices to one number in one claim: the first is called, the second is given back
    (attempt unspent) for CALL_SPACING seconds, and the rest of the claim is still called."""
    c0, c1 = await voice_contacts(2)
    clock = FakeClock()
    await enqueue_many(
        [
            Outgoing(contact=c0, message=Message("a"), key="a"),
            Outgoing(contact=c0, message=Message("b"), key="b"),
            Outgoing(contact=c1, message=Message("c"), key="c"),
        ],
        now=clock.now(),
    )
    stub = StubCalls()
    d = Dispatcher(
        {"voice": stub},  # type: ignore[dict-item]
        clock=clock,
        settings=make_settings(voice_calls_per_second=1000, voice_max_concurrent=3),
    )
    assert await d.run_once("voice") == 3
    await d.drain_in_flight()
    assert [a for a, _ in stub.placed] == [c0.address, c1.address]
    waiting = await OutboxMessage.get(idempotency_key="b")
    assert (waiting.status, waiting.attempts, waiting.lease_owner) == ("queued", 0, None)
    assert waiting.next_attempt_at == clock.now() + timedelta(seconds=CALL_SPACING)


async def test_a_number_with_a_live_call_is_passed_over_at_the_claim(db: str) -> None:
    """The next notice in line is to a number still on a call: the free line goes to the next
    number instead."""
    c0, c1 = await voice_contacts(2)
    clock = FakeClock()
    await enqueue_many([Outgoing(contact=c0, message=Message("a"), key="a")], now=clock.now())
    stub = StubCalls()
    d = Dispatcher(
        {"voice": stub},  # type: ignore[dict-item]
        clock=clock,
        settings=make_settings(voice_calls_per_second=1000, voice_max_concurrent=2),
    )
    await d.run_once("voice")
    await d.drain_in_flight()
    await enqueue_many(
        [
            Outgoing(contact=c0, message=Message("b"), key="b"),
            Outgoing(contact=c1, message=Message("c"), key="c"),
        ],
        now=clock.now(),
    )
    await d.run_once("voice")
    await d.drain_in_flight()
    assert [a for a, _ in stub.placed] == [c0.address, c1.address]
    assert (await OutboxMessage.get(idempotency_key="b")).status == "queued"


async def test_a_call_with_no_news_for_too_long_stops_counting_as_live(db: str) -> None:
    clock = FakeClock()
    now = clock.now()
    await enqueue_many(
        [
            Outgoing(contact=None, message=Message(k), key=k, channel="voice", address=a)
            for k, a in [("recent", "+8613800000001"), ("silent", "+8613800000002")]
        ],
        now=now,
    )
    await OutboxMessage.filter(idempotency_key="recent").update(
        status="accepted", updated_at=now - timedelta(seconds=60)
    )
    await OutboxMessage.filter(idempotency_key="silent").update(
        status="accepted", updated_at=now - timedelta(seconds=61)
    )
    assert await live_calls("voice", now, 60.0) == ["+8613800000001"]
