"""The registry: estates, buildings, households, people, contacts, staff and the audit log."""
# Model classes carry comments, not docstrings: Tortoise turns a docstring into an SQL comment
# that breaks the SQLite DDL of its migrations (tortoise-orm 1.1.9).

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

ELDERLY_AGE = 60


class Estate(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "estate"


class Building(Model):
    id = fields.IntField(primary_key=True)
    estate: fields.ForeignKeyRelation[Estate] = fields.ForeignKeyField(
        "models.Estate", related_name="buildings", on_delete=fields.CASCADE
    )
    number = fields.IntField()
    name = fields.CharField(max_length=50, default="")
    floors = fields.IntField(default=0)

    class Meta:
        table = "building"
        unique_together = (("estate", "number"),)


class Household(Model):
    id = fields.IntField(primary_key=True)
    building: fields.ForeignKeyRelation[Building] = fields.ForeignKeyField(
        "models.Building", related_name="households", on_delete=fields.CASCADE
    )
    floor = fields.IntField()
    room = fields.CharField(max_length=20)
    entrance = fields.CharField(max_length=20, default="")
    elderly = fields.BooleanField(default=False)  # anyone aged 60+
    lives_alone = fields.BooleanField(default=False)
    home_bound = fields.BooleanField(default=False)
    language = fields.CharField(max_length=8, default="zh-CN")
    preferred_channel = fields.CharField(max_length=10, default="sms")
    notes = fields.TextField(default="")

    contacts: fields.ReverseRelation[Contact]
    people: fields.ReverseRelation[Person]

    class Meta:
        table = "household"
        unique_together = (("building", "entrance", "room"),)


class Person(Model):
    id = fields.IntField(primary_key=True)
    household: fields.ForeignKeyRelation[Household] = fields.ForeignKeyField(
        "models.Household", related_name="people", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=100)
    birth_year = fields.IntField(null=True)
    phone = fields.CharField(max_length=20, null=True, db_index=True)  # E.164
    channel = fields.CharField(max_length=10, default="sms")  # preferred: telegram | sms | voice
    language = fields.CharField(max_length=8, default="zh-CN")
    home_bound = fields.BooleanField(default=False)
    notes = fields.TextField(default="")

    class Meta:
        table = "person"
        unique_together = (("household", "name"),)


class Contact(Model):
    # A way to reach a person: a Telegram chat or a phone number (SMS, voice).

    id = fields.IntField(primary_key=True)
    household: fields.ForeignKeyRelation[Household] = fields.ForeignKeyField(
        "models.Household", related_name="contacts", on_delete=fields.CASCADE
    )
    person: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="contacts", null=True, on_delete=fields.SET_NULL
    )
    channel = fields.CharField(max_length=10)  # telegram | sms | voice | local
    address = fields.CharField(max_length=40)  # chat id or E.164 number
    status = fields.CharField(max_length=12, default="active")  # active | opted_out | unreachable
    language = fields.CharField(max_length=8, default="zh-CN")
    status_reason = fields.CharField(max_length=100, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "contact"
        unique_together = (("household", "channel", "address"),)
        indexes = (("channel", "address"),)


class Staff(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100, unique=True)
    role = fields.CharField(max_length=20)  # one of estate.staff.ROLES
    phone = fields.CharField(max_length=20, null=True, db_index=True)
    telegram_chat_id = fields.BigIntField(null=True, db_index=True)
    shift = fields.CharField(max_length=1, null=True)  # logistics: A | B
    point = fields.CharField(max_length=20, null=True)  # point volunteers: the sampling point
    language = fields.CharField(max_length=8, default="zh-CN")
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    scope: fields.ReverseRelation[StaffBuilding]

    class Meta:
        table = "staff"


class StaffBuilding(Model):
    id = fields.IntField(primary_key=True)
    staff: fields.ForeignKeyRelation[Staff] = fields.ForeignKeyField(
        "models.Staff", related_name="scope", on_delete=fields.CASCADE
    )
    building: fields.ForeignKeyRelation[Building] = fields.ForeignKeyField(
        "models.Building", related_name="staff_links", on_delete=fields.CASCADE
    )

    class Meta:
        table = "staff_building"
        unique_together = (("staff", "building"),)


class AuditEntry(Model):
    # Every staff action, allowed or refused.

    id = fields.IntField(primary_key=True)
    at = fields.DatetimeField()
    staff: fields.ForeignKeyNullableRelation[Staff] = fields.ForeignKeyField(
        "models.Staff", related_name="audit", null=True, on_delete=fields.SET_NULL
    )
    actor = fields.CharField(max_length=100)  # staff name, "cli" or "system"
    action = fields.CharField(max_length=50)
    target = fields.CharField(max_length=200, default="")
    allowed = fields.BooleanField(default=True)
    detail: Any = fields.JSONField(default=dict)

    class Meta:
        table = "audit_entry"


class LoginToken(Model):
    # A one-time dashboard login link: only the SHA-256 of the token is stored.

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    staff: fields.ForeignKeyRelation[Staff] = fields.ForeignKeyField(
        "models.Staff", related_name="login_tokens", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "login_token"


class WebSession(Model):
    """A staff member's signed-in browser. The cookie carries a random secret (also the
    session's CSRF token); only its SHA-256 is stored. Deleting the row ends the session:
    logout ends one, removing a staff member or changing their role or buildings ends all."""

    id = fields.IntField(primary_key=True)
    key_hash = fields.CharField(max_length=64, unique=True)
    staff: fields.ForeignKeyRelation[Staff] = fields.ForeignKeyField(
        "models.Staff", related_name="web_sessions", on_delete=fields.CASCADE
    )
    # SHA-256 of the role and buildings the session was opened with: a change ends it.
    grants_hash = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "web_session"
