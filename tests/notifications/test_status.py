"""`louzhang outbox status` figures and the same figures on GET /metrics."""

from __future__ import annotations

from datetime import timedelta

from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_services
from bot.web.app import create_app
from config.clock import SystemClock
from estate.models import Building, Contact, Estate, Household
from notifications.message import Message
from notifications.models import OutboxMessage, Priority
from notifications.outbox import Outgoing, enqueue_many
from notifications.status import outbox_summary
from tests.conftest import make_settings


async def seed_outbox() -> None:
    estate = await Estate.create(name="s")
    building = await Building.create(estate=estate, number=1, floors=10)
    household = await Household.create(building=building, floor=1, room="101")
    contact = await Contact.create(household=household, channel="sms", address="+8613800138000")
    now = SystemClock().now()
    await enqueue_many(
        [Outgoing(contact=contact, message=Message(f"m{i}"), key=f"k{i}") for i in range(3)]
        + [Outgoing(contact=contact, message=Message("go"), key="c", priority=Priority.CALLUP)],
        now=now - timedelta(seconds=90),
    )
    await OutboxMessage.filter(idempotency_key="k0").update(
        status="failed", error="twilio 21211: invalid number", error_code="21211"
    )


async def test_summary_counts_ages_and_errors(db: str) -> None:
    await seed_outbox()
    summary = await outbox_summary(SystemClock().now())
    assert summary.counts[("queued", "sms", int(Priority.SURVEY))] == 2
    assert summary.counts[("queued", "sms", int(Priority.CALLUP))] == 1
    assert summary.counts[("failed", "sms", int(Priority.SURVEY))] == 1
    assert summary.oldest_waiting_seconds is not None and summary.oldest_waiting_seconds >= 89
    assert summary.last_errors[0][2] == "21211"
    text = "\n".join(summary.lines())
    assert "callup" in text and "waiting: 3" in text and "21211" in text


async def test_metrics_endpoint_exports_the_same_figures(db: str) -> None:
    await seed_outbox()
    services = build_services(make_settings(database_url=db))
    async with TestClient(TestServer(create_app(services, manage_services=False))) as client:
        response = await client.get("/metrics")
        assert response.status == 200
        body = await response.text()
    assert 'louzhang_outbox_messages{channel="sms",priority="survey",status="queued"} 2.0' in body
    assert 'louzhang_outbox_messages{channel="sms",priority="callup",status="queued"} 1.0' in body
    assert "louzhang_outbox_oldest_waiting_seconds" in body
    assert 'louzhang_dispatcher_messages{outcome="sent"} 0.0' in body


CALL_ENDS = [
    ("accepted", None),
    ("sent", None),
    ("delivered", None),
    ("undelivered", "busy"),
    ("undelivered", "busy"),
    ("undelivered", "machine"),
    ("failed", "failed"),
]


async def seed_calls() -> None:
    estate = await Estate.create(name="v")
    building = await Building.create(estate=estate, number=2, floors=10)
    items = []
    for i in range(len(CALL_ENDS)):
        household = await Household.create(building=building, floor=1, room=f"10{i}")
        contact = await Contact.create(household=household, channel="voice", address=f"+86216{i}")
        items.append(Outgoing(contact=contact, message=Message("call"), key=f"v{i}"))
    await enqueue_many(items, now=SystemClock().now())
    for i, (status, code) in enumerate(CALL_ENDS):
        await OutboxMessage.filter(idempotency_key=f"v{i}").update(status=status, error_code=code)


async def test_calls_in_flight_and_how_calls_ended(db: str) -> None:
    await seed_calls()
    summary = await outbox_summary(SystemClock().now())
    assert summary.calls_in_flight == 2  # ringing or talking: no final status yet
    assert summary.calls == {"answered": 1, "busy": 2, "machine": 1, "failed": 1}
    assert "calls in flight: 2; calls ended: answered 1, busy 2, failed 1, machine 1" in (
        summary.lines()
    )
    services = build_services(make_settings(database_url=db))
    async with TestClient(TestServer(create_app(services, manage_services=False))) as client:
        body = await (await client.get("/metrics")).text()
    assert "louzhang_voice_calls_in_flight 2.0" in body
    assert 'louzhang_voice_calls{outcome="busy"} 2.0' in body
