"""The outbox (the only way anything is sent) and durable timers."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from estate.models import Contact, Household


class Priority(IntEnum):
    """Lower sends first: a call-up is never stuck behind a survey broadcast."""

    CALLUP = 0
    REPLY = 1  # direct answers to something a person just did
    REMINDER = 2
    SURVEY = 3
    BULK = 4


class OutboxMessage(Model):
    id = fields.IntField(primary_key=True)
    created_at = fields.DatetimeField()
    # The recipient: a registered contact, or just an address (a reply to an unknown number).
    contact: fields.ForeignKeyNullableRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="outbox", null=True, on_delete=fields.CASCADE
    )
    address = fields.CharField(max_length=40)
    household: fields.ForeignKeyNullableRelation[Household] = fields.ForeignKeyField(
        "models.Household", related_name="outbox", null=True, on_delete=fields.SET_NULL
    )
    channel = fields.CharField(max_length=10)
    body: Any = fields.JSONField()  # notifications.message.Message.to_json()
    priority = fields.SmallIntField(default=int(Priority.SURVEY))
    idempotency_key = fields.CharField(max_length=190, unique=True)
    purpose = fields.CharField(max_length=20, default="")  # survey | reminder | callup | reply ...
    ref = fields.CharField(max_length=60, default="", db_index=True)  # e.g. "response:12"
    status = fields.CharField(max_length=12, default="queued")  # states.OutboxStatus
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(null=True)  # not sent after this (a late "get ready")
    segments = fields.SmallIntField(default=1)
    provider_id = fields.CharField(max_length=64, null=True, db_index=True)
    error_code = fields.CharField(max_length=20, null=True)
    error = fields.CharField(max_length=300, null=True)
    sent_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField()
    # A dispatcher claims rows before it sends them; a claim whose lease ran out is free again.
    lease_owner = fields.CharField(max_length=64, null=True)
    lease_until = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox"
        indexes = (("status", "channel", "priority", "id"), ("household_id", "status"))


class Timer(Model):
    # Something due later: a reminder, the next batch of a drive, the deadline of a round.

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=190, unique=True)
    kind = fields.CharField(max_length=30)
    due_at = fields.DatetimeField(db_index=True)
    payload: Any = fields.JSONField(default=dict)
    status = fields.CharField(max_length=10, default="pending")  # states.TimerStatus

    class Meta:
        table = "timer"


class InboundSeen(Model):
    """A provider message that has been handled: each has at most one effect, however often the
    provider sends it (Twilio retries a slow or failing webhook with the same ``MessageSid``)."""

    id = fields.IntField(primary_key=True)
    # "sms": the key is the Twilio MessageSid; "telegram": update_id:chat:message (seen.py)
    provider = fields.CharField(max_length=16)
    key = fields.CharField(max_length=64)
    seen_at = fields.DatetimeField()

    class Meta:
        table = "inbound_seen"
        unique_together = (("provider", "key"),)
