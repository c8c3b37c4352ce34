"""Delivery status over Twilio: POST /twilio/status callbacks (signed by FakeTwilio) recorded on
the outbox row, only ever forwards; error codes on callbacks and on send; no double sends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from estate.models import Contact
from notifications.models import OutboxMessage
from surveys.report import build_report
from tests.e2e.test_sms_e2e import (
    CHEN,
    ZHANG,
    ZHOU,
    quiet,
    reply,
    report_row,
    running_app,
    snapshot,
    stored,
    wait_for,
)
from tests.fakes.twilio import FakeTwilio

SERVICE = "MG" + "ab" * 16


@pytest.fixture
async def live(db: str, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    async with running_app(db, tmp_path) as app:
        yield app


async def test_status_callbacks_move_forwards_only(live: dict[str, Any]) -> None:
    tw: FakeTwilio = live["tw"]
    services = live["services"]
    opened = await services.runtime.open_round("antigen", buildings=[8])
    first = (await tw.wait_sent(ZHANG))[0]
    row = await stored(first.sid)
    assert row.status == "accepted" and row.segments == 1  # Twilio answered "queued"

    # queued → sent → delivered.
    assert await tw.deliver(first.sid, "queued") == 204
    assert (await OutboxMessage.get(id=row.id)).status == "accepted"
    assert await tw.deliver(first.sid, "sent") == 204
    assert (await OutboxMessage.get(id=row.id)).status == "sent"
    assert await tw.deliver(first.sid, "delivered") == 204
    assert (await OutboxMessage.get(id=row.id)).status == "delivered"
    # Late and duplicate callbacks change nothing.
    assert await tw.deliver(first.sid, "sent") == 204
    assert await tw.deliver(first.sid, "delivered") == 204
    assert await tw.deliver(first.sid, "queued") == 204
    final = await OutboxMessage.get(id=row.id)
    assert (final.status, final.error_code) == ("delivered", None)
    assert first.history == ["queued", "queued", "sent", "delivered", "sent", "delivered", "queued"]

    # Out of order from the start: delivered, then sent.
    second = await reply(live, ZHANG, "1", 2)
    assert "几人" in second
    message = tw.sent_to(ZHANG)[1]
    row2 = await stored(message.sid)
    await tw.deliver(message.sid, "delivered")
    await tw.deliver(message.sid, "sent")
    assert (await OutboxMessage.get(id=row2.id)).status == "delivered"

    # Failed with Twilio's error code.
    await reply(live, ZHANG, "2", 3)
    message = tw.sent_to(ZHANG)[2]
    row3 = await stored(message.sid)
    await tw.deliver(message.sid, "sent")
    await tw.deliver(message.sid, "failed", error_code=30007)
    failed = await OutboxMessage.get(id=row3.id)
    assert (failed.status, failed.error_code) == ("failed", "30007")
    await tw.deliver(message.sid, "delivered")  # a final status stays final
    assert (await OutboxMessage.get(id=row3.id)).status == "failed"
    # A carrier failure of one message does not give up on the contact.
    assert (await Contact.get(channel="sms", address=ZHANG)).status == "active"

    # Unknown sids and statuses are acknowledged and ignored.
    before = await snapshot()
    session = await tw.session()
    url = f"{live['base']}/twilio/status"
    for params in (
        {"MessageSid": "SM" + "f" * 32, "MessageStatus": "delivered"},
        {"MessageSid": first.sid, "MessageStatus": "exploded"},
    ):
        headers = {"X-Twilio-Signature": tw.sign(url, params)}
        async with session.post(url, data=params, headers=headers) as resp:
            assert resp.status == 204
    assert await snapshot() == before

    report = report_row(await build_report(opened.round.id), "302")
    assert report["first_message"] == "delivered"


async def test_concurrent_callbacks_keep_the_latest_status(live: dict[str, Any]) -> None:
    """Twilio posts `sent` and `delivered` close together; neither may be lost."""
    tw: FakeTwilio = live["tw"]
    await live["services"].runtime.open_round("antigen", buildings=[8])
    first = (await tw.wait_sent(ZHANG))[0]
    row = await stored(first.sid)
    await asyncio.gather(tw.deliver(first.sid, "sent"), tw.deliver(first.sid, "delivered"))
    assert (await OutboxMessage.get(id=row.id)).status == "delivered"

    second = await reply(live, ZHANG, "1", 2)
    assert second
    message = tw.sent_to(ZHANG)[1]
    row2 = await stored(message.sid)
    await asyncio.gather(
        tw.deliver(message.sid, "sent"),
        tw.deliver(message.sid, "undelivered", error_code=30005),
    )
    final = await OutboxMessage.get(id=row2.id)
    assert (final.status, final.error_code) == ("undelivered", "30005")


async def test_error_codes_on_callbacks_mark_contacts(live: dict[str, Any]) -> None:
    tw: FakeTwilio = live["tw"]
    await live["services"].runtime.open_round("antigen", buildings=[8, 10])
    sent = {n: (await tw.wait_sent(n))[0] for n in (ZHANG, CHEN, ZHOU)}
    for message in sent.values():
        await stored(message.sid)

    await tw.deliver(sent[ZHANG].sid, "undelivered")  # 30003: handset off, try again later
    await tw.deliver(sent[CHEN].sid, "failed", error_code=21610)  # blocked after a STOP
    await tw.deliver(sent[ZHOU].sid, "undelivered", error_code=30005)  # unknown handset
    statuses = dict(
        await Contact.filter(address__in=[ZHANG, CHEN, ZHOU]).values_list("address", "status")
    )
    assert statuses == {ZHANG: "active", CHEN: "opted_out", ZHOU: "unreachable"}
    codes = dict(
        await OutboxMessage.filter(provider_id__in=[m.sid for m in sent.values()]).values_list(
            "address", "error_code"
        )
    )
    assert codes == {ZHANG: "30003", CHEN: "21610", ZHOU: "30005"}


async def test_server_error_on_send_is_retried_by_the_outbox_not_the_library(
    live: dict[str, Any],
) -> None:
    tw: FakeTwilio = live["tw"]
    services = live["services"]
    tw.fail_next(500)
    await services.runtime.open_round("antigen", buildings=[8])
    row = await wait_for(lambda: OutboxMessage.get_or_none(address=ZHANG, error_code="20500"))
    assert (row.status, row.attempts, row.provider_id) == ("queued", 1, None)
    assert row.next_attempt_at > datetime.now(UTC)  # backed off
    assert [r[3] for r in tw.requests if r[0] == "POST"] == [500]  # the library did not retry

    # Due now: the outbox sends it once more, and only once.
    await OutboxMessage.filter(id=row.id).update(next_attempt_at=datetime.now(UTC))
    services.dispatcher.notify("sms")
    message = (await tw.wait_sent(ZHANG))[0]
    row = await stored(message.sid)
    assert (row.status, row.attempts) == ("accepted", 2)
    await quiet()
    assert [r[3] for r in tw.requests if r[0] == "POST"] == [500, 201]
    assert len(tw.sent_to(ZHANG)) == 1


async def test_messaging_service_sender(db: str, tmp_path: Path) -> None:
    async with running_app(db, tmp_path, twilio_from=SERVICE) as live:
        tw: FakeTwilio = live["tw"]
        await live["services"].runtime.open_round("antigen", buildings=[8])
        message = (await tw.wait_sent(ZHANG))[0]
        assert message.messaging_service_sid == SERVICE and message.from_ is None
        row = await stored(message.sid)
        assert row.status == "accepted"
        await tw.deliver(message.sid, "sent")
        await tw.deliver(message.sid, "delivered")
        assert (await OutboxMessage.get(id=row.id)).status == "delivered"
        assert tw.callbacks[-1].params["MessagingServiceSid"] == SERVICE


async def test_immediate_callbacks_are_not_lost(db: str, tmp_path: Path) -> None:
    """Twilio may call back within milliseconds of the create; every status must land."""
    fake = {"auto_callbacks": True, "callback_delay": 0.0}
    async with running_app(db, tmp_path, fake=fake) as live:
        tw: FakeTwilio = live["tw"]
        await live["services"].runtime.open_round("antigen", buildings=[8, 9, 10])
        # queued, sent, delivered for each of the four messages, in Twilio's order
        await wait_for(lambda: len(tw.callbacks) == 12)
        assert {c.status for c in tw.callbacks} == {204}
        rows = await OutboxMessage.filter(channel="sms").values_list("status", flat=True)
        assert rows == ["delivered"] * 4


async def test_signature_over_public_url_not_the_host_header(db: str, tmp_path: Path) -> None:
    """Behind a proxy the app is reached on loopback but Twilio signs the public URL."""
    public = "https://louzhang.example.org"
    async with running_app(db, tmp_path, public_url=public) as live:
        tw: FakeTwilio = live["tw"]
        local = f"{live['base']}/twilio/sms"
        before = await snapshot()
        assert (await tw.inbound(local, ZHANG, "HELP"))[0] == 403  # signed over loopback
        assert await snapshot() == before
        status, _ = await tw.inbound(local, ZHANG, "HELP", sign_url=f"{public}/twilio/sms")
        assert status == 200
