from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="Estate",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("name", fields.CharField(unique=True, max_length=100)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "estate", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Building",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "estate",
                    fields.ForeignKeyField(
                        "models.Estate",
                        source_field="estate_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="buildings",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("number", fields.IntField()),
                ("name", fields.CharField(default="", max_length=50)),
                ("floors", fields.IntField(default=0)),
            ],
            options={
                "table": "building",
                "app": "models",
                "unique_together": (("estate", "number"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Household",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "building",
                    fields.ForeignKeyField(
                        "models.Building",
                        source_field="building_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="households",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("floor", fields.IntField()),
                ("room", fields.CharField(max_length=20)),
                ("entrance", fields.CharField(default="", max_length=20)),
                ("elderly", fields.BooleanField(default=False)),
                ("lives_alone", fields.BooleanField(default=False)),
                ("home_bound", fields.BooleanField(default=False)),
                ("language", fields.CharField(default="zh-CN", max_length=8)),
                ("preferred_channel", fields.CharField(default="sms", max_length=10)),
                ("notes", fields.TextField(default="", unique=False)),
            ],
            options={
                "table": "household",
                "app": "models",
                "unique_together": (("building", "entrance", "room"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Person",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "household",
                    fields.ForeignKeyField(
                        "models.Household",
                        source_field="household_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="people",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("name", fields.CharField(max_length=100)),
                ("birth_year", fields.IntField(null=True)),
                ("phone", fields.CharField(null=True, db_index=True, max_length=20)),
                ("channel", fields.CharField(default="sms", max_length=10)),
                ("language", fields.CharField(default="zh-CN", max_length=8)),
                ("home_bound", fields.BooleanField(default=False)),
                ("notes", fields.TextField(default="", unique=False)),
            ],
            options={
                "table": "person",
                "app": "models",
                "unique_together": (("household", "name"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Contact",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "household",
                    fields.ForeignKeyField(
                        "models.Household",
                        source_field="household_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="contacts",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "person",
                    fields.ForeignKeyField(
                        "models.Person",
                        source_field="person_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="contacts",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("channel", fields.CharField(max_length=10)),
                ("address", fields.CharField(max_length=40)),
                ("status", fields.CharField(default="active", max_length=12)),
                ("language", fields.CharField(default="zh-CN", max_length=8)),
                ("status_reason", fields.CharField(default="", max_length=100)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "contact",
                "app": "models",
                "unique_together": (("household", "channel", "address"),),
                "indexes": [Index(fields=["channel", "address"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="OutboxMessage",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "contact",
                    fields.ForeignKeyField(
                        "models.Contact",
                        source_field="contact_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="outbox",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("address", fields.CharField(max_length=40)),
                (
                    "household",
                    fields.ForeignKeyField(
                        "models.Household",
                        source_field="household_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="outbox",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("channel", fields.CharField(max_length=10)),
                (
                    "body",
                    fields.JSONField(
                        encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
                ("priority", fields.SmallIntField(default=3)),
                ("idempotency_key", fields.CharField(unique=True, max_length=190)),
                ("purpose", fields.CharField(default="", max_length=20)),
                ("ref", fields.CharField(default="", db_index=True, max_length=60)),
                ("status", fields.CharField(default="queued", max_length=12)),
                ("attempts", fields.IntField(default=0)),
                ("next_attempt_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("expires_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("segments", fields.SmallIntField(default=1)),
                ("provider_id", fields.CharField(null=True, db_index=True, max_length=64)),
                ("error_code", fields.CharField(null=True, max_length=20)),
                ("error", fields.CharField(null=True, max_length=300)),
                ("sent_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("updated_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("lease_owner", fields.CharField(null=True, max_length=64)),
                (
                    "lease_until",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "outbox",
                "app": "models",
                "indexes": [
                    Index(fields=["status", "channel", "priority", "id"]),
                    Index(fields=["household_id", "status"]),
                ],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Round",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("survey", fields.CharField(max_length=50)),
                ("version", fields.IntField()),
                (
                    "definition",
                    fields.JSONField(
                        encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
                (
                    "buildings",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("status", fields.CharField(default="open", max_length=10)),
                ("opened_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("closes_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("created_by", fields.CharField(default="cli", max_length=100)),
                (
                    "reminders",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
            ],
            options={"table": "survey_round", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Response",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "round",
                    fields.ForeignKeyField(
                        "models.Round",
                        source_field="round_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="responses",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "household",
                    fields.ForeignKeyField(
                        "models.Household",
                        source_field="household_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="responses",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("status", fields.CharField(default="not_reached", max_length=12)),
                ("stage", fields.CharField(default="pending", max_length=8)),
                (
                    "state",
                    fields.JSONField(
                        null=True,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "answers",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("channel", fields.CharField(null=True, max_length=10)),
                ("answered_channel", fields.CharField(null=True, max_length=10)),
                ("proxy", fields.BooleanField(default=False)),
                ("needs_call", fields.BooleanField(default=False)),
                ("updated_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "completed_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "survey_response",
                "app": "models",
                "unique_together": (("round", "household"),),
                "indexes": [Index(fields=["household_id", "stage"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Staff",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("name", fields.CharField(unique=True, max_length=100)),
                ("role", fields.CharField(max_length=20)),
                ("phone", fields.CharField(null=True, db_index=True, max_length=20)),
                ("telegram_chat_id", fields.BigIntField(null=True, db_index=True)),
                ("shift", fields.CharField(null=True, max_length=1)),
                ("point", fields.CharField(null=True, max_length=20)),
                ("language", fields.CharField(default="zh-CN", max_length=8)),
                ("active", fields.BooleanField(default=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "staff", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="AuditEntry",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "staff",
                    fields.ForeignKeyField(
                        "models.Staff",
                        source_field="staff_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="audit",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("actor", fields.CharField(max_length=100)),
                ("action", fields.CharField(max_length=50)),
                ("target", fields.CharField(default="", max_length=200)),
                ("allowed", fields.BooleanField(default=True)),
                (
                    "detail",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
            ],
            options={"table": "audit_entry", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Revision",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "response",
                    fields.ForeignKeyField(
                        "models.Response",
                        source_field="response_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="revisions",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("path", fields.CharField(max_length=100)),
                (
                    "value",
                    fields.JSONField(
                        null=True,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "contact",
                    fields.ForeignKeyField(
                        "models.Contact",
                        source_field="contact_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="revisions",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                (
                    "staff",
                    fields.ForeignKeyField(
                        "models.Staff",
                        source_field="staff_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="revisions",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
            ],
            options={"table": "survey_revision", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="StaffBuilding",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "staff",
                    fields.ForeignKeyField(
                        "models.Staff",
                        source_field="staff_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="scope",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "building",
                    fields.ForeignKeyField(
                        "models.Building",
                        source_field="building_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="staff_links",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
            ],
            options={
                "table": "staff_building",
                "app": "models",
                "unique_together": (("staff", "building"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Timer",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("key", fields.CharField(unique=True, max_length=190)),
                ("kind", fields.CharField(max_length=30)),
                ("due_at", fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                (
                    "payload",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("status", fields.CharField(default="pending", max_length=10)),
            ],
            options={"table": "timer", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
    ]
