"""A drive (testing call-up) as stored: its points, its batches and every household's part.

The plan (notifications/drives/planner.py) is written out as rows when a drive starts; from then
on the rows are the truth and the runtime (notifications/drives/runtime.py) moves them on. Times are UTC.
"""
# Model classes carry comments, not docstrings (Tortoise SQL-comment bug, see estate/models.py).

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from estate.models import Household


class Drive(Model):
    id = fields.IntField(primary_key=True)
    status = fields.CharField(max_length=10, default="running")  # states.DriveState
    created_at = fields.DatetimeField()
    created_by = fields.CharField(max_length=100, default="cli")
    start_at = fields.DatetimeField()
    interval_s = fields.FloatField()
    lead_s = fields.FloatField()
    order = fields.CharField(max_length=10, default="top-down")
    batch = fields.CharField(max_length=12, default="floor")  # planner.BatchSize as text
    points_spec = fields.CharField(max_length=300)  # "A:1-4,B:5-8" as given
    estate_id = fields.IntField(null=True)  # the estate its buildings are in; None = any
    # Pace: fixed (interval) or adaptive (advance once `share` of the batch replied 1, never
    # sooner than min_interval_s after its call, never later than max_interval_s).
    pace = fields.CharField(max_length=10, default="fixed")
    share = fields.FloatField(default=0.8)
    min_interval_s = fields.FloatField(default=0)
    max_interval_s = fields.FloatField(default=0)
    round_id = fields.IntField(null=True)  # the antigen round whose positives stay home
    # Staff voice notes for the "come down now" call-ups (/drive voice): building number (as
    # text) -> {"name": media file, "file_id": Telegram file_id}; {} = the spoken text only.
    audio: Any = fields.JSONField(null=True)  # None (older rows) = {}
    finished_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "drive"


class DrivePoint(Model):
    id = fields.IntField(primary_key=True)
    drive: fields.ForeignKeyRelation[Drive] = fields.ForeignKeyField(
        "models.Drive", related_name="points", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=20)
    location = fields.CharField(max_length=100, default="")
    buildings: Any = fields.JSONField(default=list)  # in serving order
    capacity = fields.IntField(null=True)
    paused_at = fields.DatetimeField(null=True)  # set while paused: nothing new is called

    class Meta:
        table = "drive_point"
        unique_together = (("drive", "name"),)


class DriveBatch(Model):
    id = fields.IntField(primary_key=True)
    drive: fields.ForeignKeyRelation[Drive] = fields.ForeignKeyField(
        "models.Drive", related_name="batches", on_delete=fields.CASCADE
    )
    point = fields.CharField(max_length=20)
    seq = fields.IntField()
    building = fields.IntField()
    floors: Any = fields.JSONField(default=list)
    part = fields.IntField(default=1)
    parts = fields.IntField(default=1)
    households = fields.IntField(default=0)
    people = fields.IntField(default=0)
    ready_at = fields.DatetimeField()
    call_at = fields.DatetimeField(db_index=True)
    # states.BatchState: waiting -> ready -> called -> done, or skipped (the table is there).
    state = fields.CharField(max_length=8, default="waiting")
    ready_sent_at = fields.DatetimeField(null=True)
    ready_dropped = fields.BooleanField(default=False)  # called before its "get ready" went
    called_at = fields.DatetimeField(null=True)

    class Meta:
        table = "drive_batch"
        unique_together = (("drive", "point", "seq"),)
        indexes = (("drive_id", "state"),)


class DriveHousehold(Model):
    id = fields.IntField(primary_key=True)
    drive: fields.ForeignKeyRelation[Drive] = fields.ForeignKeyField(
        "models.Drive", related_name="households", on_delete=fields.CASCADE
    )
    household: fields.ForeignKeyRelation[Household] = fields.ForeignKeyField(
        "models.Household", related_name="drive_parts", on_delete=fields.CASCADE
    )
    batch: fields.ForeignKeyNullableRelation[DriveBatch] = fields.ForeignKeyField(
        "models.DriveBatch", related_name="members", null=True, on_delete=fields.SET_NULL
    )
    point = fields.CharField(max_length=20)
    building = fields.IntField()
    floor = fields.IntField()
    room = fields.CharField(max_length=20)
    people = fields.IntField(default=0)
    # Why the household is tested at home: home_bound | positive (planned), cannot (replied 2),
    # unreachable (no channel); "" when it is called down.
    door_reason = fields.CharField(max_length=12, default="")
    reply = fields.SmallIntField(null=True)  # 1 coming/done, 2 cannot come down, 3 not needed
    replied_at = fields.DatetimeField(null=True)
    marked_by = fields.CharField(max_length=100, null=True)  # staff who marked it instead
    last_call_at = fields.DatetimeField(null=True)
    silent = fields.BooleanField(default=False)  # no reply even after the last call
    skipped = fields.BooleanField(default=False)  # its batch was skipped

    class Meta:
        table = "drive_household"
        unique_together = (("drive", "household"),)
        indexes = (("household_id", "reply"),)
