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
