"""Starting a drive from the CLI or from Telegram: read the options, preview, confirm, create.

Both front ends build a :class:`DriveOptions`, show :func:`preview_lines` (households, batches,
SMS messages and segments with their cost, the expected finish) and call :func:`launch`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from config.clock import CLOCK_TIME, local_time
from config.settings import Settings
from notifications.drives import planner
from notifications.drives.models import Drive
from notifications.drives.parse import parse_batch, parse_points
from notifications.drives.setup import DriveOptions, Preview, create_drive, preview
from notifications.durations import parse_duration, parse_start
from surveys.positives import positive_households


def parse_locations(text: str | None) -> dict[str, str]:
    """``"A=东门广场,B=北门"`` -> {"A": "东门广场", "B": "北门"}."""
    out: dict[str, str] = {}
    if not text:
        return out
    for item in text.replace("，", ",").split(","):
        if not item.strip():
            continue
        name, sep, where = item.partition("=")
        if not sep or not name.strip():
            raise planner.PlanError(f"location {item.strip()!r}: write POINT=where, e.g. A=东门")
        out[name.strip()] = where.strip()
    return out


def build_options(
    *,
    points: str,
    start: str,
    interval: str,
    lead: str,
    now: datetime,
    settings: Settings,
    order: str = "top-down",
    batch: str = "floor",
    locations: str | None = None,
    capacity: int | None = None,
    pace: str = "fixed",
    share: float = 0.8,
    min_interval: str | None = None,
    max_interval: str | None = None,
) -> DriveOptions:
    """Read what staff typed; raises ValueError (PlanError included) with a clear message."""
    if order not in planner.ORDERS:
        raise planner.PlanError(f"order must be top-down or bottom-up, not {order!r}")
    parsed_interval = parse_duration(interval)
    if parsed_interval <= timedelta(0):
        raise planner.PlanError("the interval must be more than 0")
    parsed_lead = parse_duration(lead)
    if pace not in ("fixed", "adaptive"):
        raise planner.PlanError(f"pace must be fixed or adaptive, not {pace!r}")
    low = parse_duration(min_interval) if min_interval else parsed_interval / 2
    high = parse_duration(max_interval) if max_interval else parsed_interval * 2
    if pace == "adaptive" and not (timedelta(0) <= low <= high and high > timedelta(0)):
        raise planner.PlanError("adaptive pace needs 0 <= min-interval <= max-interval")
    if not 0 < share <= 1:
        raise planner.PlanError("share must be more than 0 and at most 1 (e.g. 0.8)")
    if capacity is not None and capacity < 1:
        raise planner.PlanError("capacity must be at least 1")
    return DriveOptions(
        points=parse_points(points),
        start=parse_start(start, now=now, tz=ZoneInfo(settings.timezone)),
        interval=parsed_interval,
        lead=parsed_lead,
        order=order,  # type: ignore[arg-type]
        batch=parse_batch(batch),
        points_spec=points,
        locations=parse_locations(locations),
        capacity=capacity,
        pace=pace,
        share=share,
        min_interval=low,
        max_interval=high,
    )


async def make_preview(options: DriveOptions, enabled: set[str]) -> tuple[int | None, Preview]:
    round_id, positive = await positive_households()
    return round_id, await preview(options, enabled, positive=positive)


def preview_lines(result: Preview, settings: Settings, lang: str = "en") -> list[str]:
    tz = ZoneInfo(settings.timezone)
    finish = local_time(result.finish_at, tz, CLOCK_TIME)
    channels = ", ".join(f"{n} by {c}" for c, n in sorted(result.by_channel.items())) or "none"
    cost = result.sms_segments * settings.sms_cost_per_segment
    voice_cost = result.voice_estimate(settings.voice_price_per_minute).cost
    if lang == "zh-CN":
        lines = [
            f"召集 {result.households} 户（{result.people} 人），分 {result.batches} 批；"
            f"上门采样 {result.door_to_door} 户",
            f"渠道：{channels}"
            + (
                f"；{result.no_channel} 户无法联系（请信息员电话通知）" if result.no_channel else ""
            ),
            f"消息 {result.messages} 条，其中短信 {result.sms_messages} 条、{result.sms_segments} 段，约 ${cost:.2f}",
            f"预计结束 {finish}",
        ]
        if result.voice_calls:
            lines.insert(
                3,
                f"电话 {result.voice_calls} 通，约 {result.voice_minutes} 分钟、${voice_cost:.2f}"
                "（未接的会重拨）",
            )
    else:
        lines = [
            f"{result.households} households ({result.people} people) in {result.batches} "
            f"batches; {result.door_to_door} door-to-door",
            f"channels: {channels}"
            + (
                f"; {result.no_channel} with no channel (their officer must phone)"
                if result.no_channel
                else ""
            ),
            f"{result.messages} messages; SMS: {result.sms_messages} messages, "
            f"{result.sms_segments} segments, about ${cost:.2f}",
            f"expected finish {finish}",
        ]
        if result.voice_calls:
            lines.insert(
                3,
                f"voice: {result.voice_calls} calls, about {result.voice_minutes} min, "
                f"${voice_cost:.2f} (unanswered calls are tried again)",
            )
    return lines


async def launch(
    options: DriveOptions, result: Preview, round_id: int | None, *, now: datetime, created_by: str
) -> Drive:
    return await create_drive(
        options, result.plan, now=now, created_by=created_by, round_id=round_id
    )
