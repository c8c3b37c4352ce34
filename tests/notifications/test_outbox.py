"""Withdrawing queued messages (notifications/outbox.py :func:`cancel`).

Promises:
- cancelling refs withdraws their queued messages: they are never sent, and each keeps the
  reason and the moment it was withdrawn;
- messages of other refs, and messages a dispatcher claimed or that already left, are not touched;
- the count returned is the number of messages withdrawn;
- once a one-time login link has left the outbox its text is removed from the database; other
  messages keep theirs;
- a message to an SMS number is stored with the number of SMS segments it costs (GSM-7 and
  UCS-2 alike, by contact or by a bare number); any other channel is one;
- a key, and each part's key of a split message, fits the outbox column (190 characters);
- enqueueing nothing stores nothing and reports 0;
- a provider's delivery report only moves a message forwards (a late or repeated report
  changes nothing), keeps the error code, and marks the contact only when the code says the
  contact opted out or cannot be reached.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from estate.models import Building, Contact, Estate, Household
from notifications.inbound import ContactEffect, DeliveryUpdate
from notifications.message import Message
from notifications.models import OutboxMessage
from notifications.outbox import (
    FORGOTTEN,
    Outgoing,
    cancel,
    enqueue_many,
    forget_secrets,
    part_key,
    record_delivery,
)

NOW = datetime(2026, 4, 10, 6, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)


async def seed() -> None:
    estate = await Estate.create(name="o")
    building = await Building.create(estate=estate, number=1, floors=10)
    household = await Household.create(building=building, floor=1, room="101")
    contact = await Contact.create(household=household, channel="sms", address="+8613800138000")
    await enqueue_many(
        [
            Outgoing(contact=contact, message=Message("q1"), key="a1", ref="response:1"),
            Outgoing(contact=contact, message=Message("c1"), key="a2", ref="response:1"),
            Outgoing(contact=contact, message=Message("s1"), key="a3", ref="response:1"),
            Outgoing(contact=contact, message=Message("q2"), key="b1", ref="response:2"),
            Outgoing(contact=contact, message=Message("q3"), key="c1", ref="response:3"),
        ],
        now=NOW,
    )
    await OutboxMessage.filter(idempotency_key="a2").update(status="claimed")
    await OutboxMessage.filter(idempotency_key="a3").update(status="sent")


async def states() -> dict[str, tuple[str, str | None, datetime]]:
    rows = await OutboxMessage.all()
    return {r.idempotency_key: (r.status, r.error, r.updated_at) for r in rows}


async def test_cancel_withdraws_the_waiting_messages_of_the_refs_only(db: str) -> None:
    await seed()
    dropped = await cancel(["response:1", "response:3"], now=LATER, reason="round closed")
    assert dropped == 2
    assert await states() == {
        "a1": ("cancelled", "round closed", LATER),
        "a2": ("claimed", None, NOW),  # a dispatcher has it: not withdrawn
        "a3": ("sent", None, NOW),  # already left: not withdrawn
        "b1": ("queued", None, NOW),  # another round's message
        "c1": ("cancelled", "round closed", LATER),
    }


async def test_cancelling_nothing_withdraws_nothing(db: str) -> None:
    await seed()
    assert await cancel([], now=LATER, reason="round closed") == 0
    assert await cancel(iter(["response:1"]), now=LATER, reason="a newer round goes first") == 1
    assert (await states())["a1"] == ("cancelled", "a newer round goes first", LATER)
    assert await cancel(["response:1"], now=LATER, reason="again") == 0


async def test_a_login_link_that_left_is_forgotten_and_other_texts_are_kept(db: str) -> None:
    link = Message("https://bot.example/login/secret-token")
    await enqueue_many(
        [
            Outgoing(None, link, "l1", purpose="login", channel="telegram", address="1"),
            Outgoing(None, link, "l2", purpose="login", channel="telegram", address="2"),
            Outgoing(
                None, Message("hello"), "h", purpose="survey", channel="telegram", address="1"
            ),
        ],
        now=NOW,
    )
    rows = await OutboxMessage.filter(idempotency_key__in=["l1", "h"])
    assert await forget_secrets(rows) == 1
    bodies = dict(await OutboxMessage.all().values_list("idempotency_key", "body"))
    assert bodies == {
        "l1": FORGOTTEN.to_json(),
        "l2": link.to_json(),  # not sent yet
        "h": Message("hello").to_json(),
    }
    assert await forget_secrets([row for row in rows if row.purpose != "login"]) == 0
    assert await forget_secrets([]) == 0


async def test_delivery_reports_move_a_message_forwards_only(db: str) -> None:
    await seed()
    await OutboxMessage.filter(idempotency_key="a1").update(status="accepted", provider_id="SM1")

    async def report(status: str, code: str | None = None) -> bool:
        return await record_delivery(DeliveryUpdate("SM1", status, code), now=LATER)

    assert await report("queued") is False  # not a later state
    assert await report("sending") is False  # earlier than accepted
    assert await report("accepted") is False  # a repeat
    assert (await states())["a1"] == ("accepted", None, NOW)
    assert await report("sent") is True
    assert (await states())["a1"] == ("sent", None, LATER)
    assert await report("delivered", "") is True
    assert await report("delivered") is False
    assert await report("sent") is False  # late
    row = await OutboxMessage.get(idempotency_key="a1")
    assert (row.status, row.error_code, row.updated_at) == ("delivered", None, LATER)


@pytest.mark.parametrize(
    ("effect", "contact_status"),
    [
        (ContactEffect.UNREACHABLE, "unreachable"),
        (ContactEffect.OPTED_OUT, "opted_out"),
        (ContactEffect.NONE, "active"),
    ],
)
async def test_an_error_code_marks_the_contact_only_when_it_is_about_the_contact(
    db: str, effect: ContactEffect, contact_status: str
) -> None:
    await seed()
    await OutboxMessage.filter(idempotency_key="a1").update(status="sent", provider_id="SM1")
    update = DeliveryUpdate("SM1", "undelivered", "30006", effect)
    assert await record_delivery(update, now=LATER) is True
    row = await OutboxMessage.get(idempotency_key="a1")
    assert (row.status, row.error_code) == ("undelivered", "30006")
    contact = await Contact.get()
    assert (contact.status, contact.status_reason) == (
        (contact_status, "30006") if effect is not ContactEffect.NONE else ("active", "")
    )
    # a repeat of the report changes nothing, and does not mark the contact again
    await Contact.all().update(status="active", status_reason="")
    assert await record_delivery(update, now=LATER) is False
    assert (await Contact.get()).status == "active"


async def test_a_report_without_an_error_code_leaves_the_contact_alone(db: str) -> None:
    await seed()
    await OutboxMessage.filter(idempotency_key="a1").update(status="sent", provider_id="SM1")
    update = DeliveryUpdate("SM1", "failed", None, ContactEffect.UNREACHABLE)
    assert await record_delivery(update, now=LATER) is True
    assert (await Contact.get()).status == "active"


async def test_an_sms_is_stored_with_the_segments_it_costs(db: str) -> None:
    estate = await Estate.create(name="s")
    building = await Building.create(estate=estate, number=1, floors=10)
    home = await Household.create(building=building, floor=1, room="101")
    sms = await Contact.create(household=home, channel="sms", address="+8613800138000")
    chat = await Contact.create(household=home, channel="telegram", address="42")
    long_latin, long_chinese = "a" * 200, "楼" * 71  # 2 parts of 153 GSM-7 / 67 UCS-2
    count = await enqueue_many(
        [
            Outgoing(contact=sms, message=Message("short"), key="one"),
            Outgoing(contact=sms, message=Message(long_latin), key="latin"),
            Outgoing(contact=sms, message=Message(long_chinese), key="chinese"),
            Outgoing(
                contact=None,
                message=Message(long_latin),
                key="bare",
                channel="sms",
                address="+8613800138001",
            ),
            Outgoing(contact=chat, message=Message(long_latin), key="chat"),
        ],
        now=NOW,
    )
    assert count == 5
    rows = {r.idempotency_key: r for r in await OutboxMessage.all()}
    assert {key: row.segments for key, row in rows.items()} == {
        "one": 1,
        "latin": 2,
        "chinese": 2,
        "bare": 2,
        "chat": 1,
    }
    assert {row.status for row in rows.values()} == {"queued"}


async def test_enqueueing_nothing_stores_nothing(db: str) -> None:
    assert await enqueue_many([], now=NOW) == 0
    assert await OutboxMessage.all().count() == 0


def test_every_key_fits_the_outbox_column() -> None:
    long = "k" * 300
    assert part_key(long, 1) == "k" * 190
    assert part_key("short", 1) == "short"
    assert part_key(long, 2) == "k" * 184 + "|part2"
    assert part_key("short", 12) == "short|part12"
    assert all(len(part_key(long, n)) == 190 for n in (1, 2, 10, 100))
