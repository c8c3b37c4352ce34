"""Rounds, per-household responses (with their engine session state) and every revision."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from estate.models import Contact, Household, Staff


class Round(Model):
    id = fields.IntField(primary_key=True)
    survey = fields.CharField(max_length=50)
    version = fields.IntField()
    definition: Any = (
        fields.JSONField()
    )  # snapshot: a round keeps the definition it was opened with
    buildings: Any = fields.JSONField(default=list)  # building numbers targeted; [] = all
    # The estate those numbers are in (a staff member's scope names one); None = every estate.
    estate_id = fields.IntField(null=True)
    status = fields.CharField(max_length=10, default="open")  # states.RoundStatus
    opened_at = fields.DatetimeField()
    closes_at = fields.DatetimeField(null=True)
    created_by = fields.CharField(max_length=100, default="cli")
    reminders: Any = fields.JSONField(default=list)  # seconds before closes_at

    class Meta:
        table = "survey_round"


class Response(Model):
    # The answers of one household to one round; the engine state is shared by all members.

    id = fields.IntField(primary_key=True)
    round: fields.ForeignKeyRelation[Round] = fields.ForeignKeyField(
        "models.Round", related_name="responses", on_delete=fields.CASCADE
    )
    household: fields.ForeignKeyRelation[Household] = fields.ForeignKeyField(
        "models.Household", related_name="responses", on_delete=fields.CASCADE
    )
    status = fields.CharField(max_length=12, default="not_reached")  # states.ResponseStatus
    # The household talks to one round at a time: states.ResponseStage (pending | active | done).
    stage = fields.CharField(max_length=8, default="pending")
    state: Any = fields.JSONField(null=True)  # engine SessionState.to_json()
    answers: Any = fields.JSONField(default=dict)
    channel = fields.CharField(max_length=10, null=True)  # channel the round was sent by
    answered_channel = fields.CharField(max_length=10, null=True)
    proxy = fields.BooleanField(default=False)
    needs_call = fields.BooleanField(default=False)
    updated_at = fields.DatetimeField()
    completed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "survey_response"
        unique_together = (("round", "household"),)
        indexes = (("household_id", "stage"),)


class Revision(Model):
    # Every saved answer, with who gave it. Nothing is overwritten: a revision adds a row.

    id = fields.IntField(primary_key=True)
    response: fields.ForeignKeyRelation[Response] = fields.ForeignKeyField(
        "models.Response", related_name="revisions", on_delete=fields.CASCADE
    )
    at = fields.DatetimeField()
    path = fields.CharField(max_length=100)
    value: Any = fields.JSONField(null=True)  # {"v": answer}; {"v": null} when cleared
    contact: fields.ForeignKeyNullableRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="revisions", null=True, on_delete=fields.SET_NULL
    )
    staff: fields.ForeignKeyNullableRelation[Staff] = fields.ForeignKeyField(
        "models.Staff", related_name="revisions", null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "survey_revision"


class Recording(Model):
    """A resident's voice recorded on a call: an answer said aloud (``kind = "answer"``, with
    its response and the answer's path, e.g. ``medicines.1.drug``), or a message left for the
    building's officer (``kind = "message"``). The audio stays at Twilio (``url``, fetched with
    the account's credentials); staff play it through the dashboard or get it in chat."""

    id = fields.IntField(primary_key=True)
    household: fields.ForeignKeyRelation[Household] = fields.ForeignKeyField(
        "models.Household", related_name="recordings", on_delete=fields.CASCADE
    )
    response: fields.ForeignKeyNullableRelation[Response] = fields.ForeignKeyField(
        "models.Response", related_name="recordings", null=True, on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=10, default="answer")  # answer | message
    path = fields.CharField(max_length=100, default="")  # the answer's path; "" for a message
    call_sid = fields.CharField(max_length=40)
    sid = fields.CharField(max_length=40, unique=True)  # Twilio's RecordingSid
    url = fields.CharField(max_length=500)  # Twilio's RecordingUrl (no extension)
    duration = fields.IntField(default=0)  # seconds
    at = fields.DatetimeField()

    class Meta:
        table = "survey_recording"
        indexes = (("response_id", "path"),)
