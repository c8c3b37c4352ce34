"""Medicine pickup marks, residents' questions and the FAQ built from the committee's answers."""
# Model classes carry comments, not docstrings (see estate/models.py).

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from estate.models import Contact, Household, Staff
from surveys.models import Response


class PickupMark(Model):
    # What logistics did for one medicine (an item of a medication response's `medicines`).

    id = fields.IntField(primary_key=True)
    response: fields.ForeignKeyRelation[Response] = fields.ForeignKeyField(
        "models.Response", related_name="pickup_marks", on_delete=fields.CASCADE
    )
    item = fields.IntField()  # 1-based place in answers["medicines"]
    card_collected_at = fields.DatetimeField(null=True)
    card_collected_by = fields.CharField(max_length=100, default="")
    delivered_at = fields.DatetimeField(null=True)
    delivered_by = fields.CharField(max_length=100, default="")

    class Meta:
        table = "pickup_mark"
        unique_together = (("response", "item"),)


class Faq(Model):
    # A committee answer kept to answer later similar questions at once.

    id = fields.IntField(primary_key=True)
    question = fields.TextField()
    answer = fields.TextField()
    buildings: Any = fields.JSONField(default=list)  # building numbers it covers; [] = all
    estate_id = fields.IntField(null=True)  # the estate of those buildings; None = every estate
    staff: fields.ForeignKeyNullableRelation[Staff] = fields.ForeignKeyField(
        "models.Staff", related_name="faqs", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField()
    active = fields.BooleanField(default=True)

    class Meta:
        table = "faq"


class Question(Model):
    # Text a resident sent outside any survey.

    id = fields.IntField(primary_key=True)
    household: fields.ForeignKeyRelation[Household] = fields.ForeignKeyField(
        "models.Household", related_name="questions", on_delete=fields.CASCADE
    )
    contact: fields.ForeignKeyNullableRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="questions", null=True, on_delete=fields.SET_NULL
    )
    building = fields.IntField()  # the building number (scope checks without a join)
    text = fields.TextField()
    asked_at = fields.DatetimeField()
    status = fields.CharField(max_length=10, default="open")  # open | answered | faq
    faq: fields.ForeignKeyNullableRelation[Faq] = fields.ForeignKeyField(
        "models.Faq", related_name="questions", null=True, on_delete=fields.SET_NULL
    )
    answered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "question"
        indexes = (("building", "asked_at"),)
