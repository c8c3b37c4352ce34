from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Drive",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("status", fields.CharField(default="running", max_length=10)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("created_by", fields.CharField(default="cli", max_length=100)),
                ("start_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("interval_s", fields.FloatField()),
                ("lead_s", fields.FloatField()),
                ("order", fields.CharField(default="top-down", max_length=10)),
                ("batch", fields.CharField(default="floor", max_length=12)),
                ("points_spec", fields.CharField(max_length=300)),
                ("pace", fields.CharField(default="fixed", max_length=10)),
                ("share", fields.FloatField(default=0.8)),
                ("min_interval_s", fields.FloatField(default=0)),
                ("max_interval_s", fields.FloatField(default=0)),
                ("round_id", fields.IntField(null=True)),
                (
                    "finished_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("updated_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={"table": "drive", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="DriveBatch",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "drive",
                    fields.ForeignKeyField(
                        "models.Drive",
                        source_field="drive_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="batches",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("point", fields.CharField(max_length=20)),
                ("seq", fields.IntField()),
                ("building", fields.IntField()),
                (
                    "floors",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("part", fields.IntField(default=1)),
                ("parts", fields.IntField(default=1)),
                ("households", fields.IntField(default=0)),
                ("people", fields.IntField(default=0)),
                ("ready_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "call_at",
                    fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False),
                ),
                ("state", fields.CharField(default="waiting", max_length=8)),
                (
                    "ready_sent_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("ready_dropped", fields.BooleanField(default=False)),
                ("called_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "drive_batch",
                "app": "models",
                "unique_together": (("drive", "point", "seq"),),
                "indexes": [Index(fields=["drive_id", "state"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="DriveHousehold",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "drive",
                    fields.ForeignKeyField(
                        "models.Drive",
                        source_field="drive_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="households",
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
                        related_name="drive_parts",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "batch",
                    fields.ForeignKeyField(
                        "models.DriveBatch",
                        source_field="batch_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="members",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("point", fields.CharField(max_length=20)),
                ("building", fields.IntField()),
                ("floor", fields.IntField()),
                ("room", fields.CharField(max_length=20)),
                ("people", fields.IntField(default=0)),
                ("door_reason", fields.CharField(default="", max_length=12)),
                ("reply", fields.SmallIntField(null=True)),
                ("replied_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("marked_by", fields.CharField(null=True, max_length=100)),
                (
                    "last_call_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("silent", fields.BooleanField(default=False)),
                ("skipped", fields.BooleanField(default=False)),
            ],
            options={
                "table": "drive_household",
                "app": "models",
                "unique_together": (("drive", "household"),),
                "indexes": [Index(fields=["household_id", "reply"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="DrivePoint",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "drive",
                    fields.ForeignKeyField(
                        "models.Drive",
                        source_field="drive_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="points",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("name", fields.CharField(max_length=20)),
                ("location", fields.CharField(default="", max_length=100)),
                (
                    "buildings",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("capacity", fields.IntField(null=True)),
                ("paused_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "drive_point",
                "app": "models",
                "unique_together": (("drive", "name"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
