"""``GET /metrics``: the outbox and the dispatcher as Prometheus metrics (prometheus-client)."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

from bot.web.keys import CLOCK, DISPATCHER
from config.clock import Clock
from notifications.dispatch.dispatcher import Dispatcher
from notifications.models import Priority
from notifications.status import outbox_summary


async def render_metrics(clock: Clock, dispatcher: Dispatcher) -> bytes:
    summary = await outbox_summary(clock.now())
    registry = CollectorRegistry()
    messages = Gauge(
        "louzhang_outbox_messages",
        "Outbox messages by status, channel and priority",
        ["status", "channel", "priority"],
        registry=registry,
    )
    for (status, channel, priority), n in summary.counts.items():
        name = (
            Priority(priority).name.lower()
            if priority in Priority._value2member_map_
            else str(priority)
        )
        messages.labels(status, channel, name).set(n)
    Gauge(
        "louzhang_outbox_oldest_waiting_seconds",
        "Age of the oldest message due and not yet sent",
        registry=registry,
    ).set(summary.oldest_waiting_seconds or 0.0)
    Gauge(
        "louzhang_voice_calls_in_flight",
        "Voice calls placed whose final status has not come yet",
        registry=registry,
    ).set(summary.calls_in_flight)
    calls = Gauge(
        "louzhang_voice_calls",
        "Voice calls that ended, by outcome (answered, busy, no-answer, failed, machine, ...)",
        ["outcome"],
        registry=registry,
    )
    for outcome, n in summary.calls.items():
        calls.labels(outcome).set(n)
    stats = dispatcher.stats
    dispatched = Gauge(
        "louzhang_dispatcher_messages",
        "Messages this process handled since it started, by outcome",
        ["outcome"],
        registry=registry,
    )
    for outcome in ("sent", "retried", "failed", "unreachable", "expired", "deferred"):
        dispatched.labels(outcome).set(getattr(stats, outcome))
    Gauge(
        "louzhang_dispatcher_recovered_in_flight",
        "Messages in flight at the previous stop, sent again at start-up",
        registry=registry,
    ).set(stats.recovered_in_flight)
    return generate_latest(registry)


async def metrics(request: web.Request) -> web.Response:
    body = await render_metrics(request.app[CLOCK], request.app[DISPATCHER])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
