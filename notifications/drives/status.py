"""Where a drive stands, per point and building: floors done / called / ready / waiting,
replies counted, the door-to-door list and the households still silent after the last call.
Voice households' calls count too: per floor and building the call-up calls that were not
answered (busy, no answer, failed, a machine), and a household whose last call try failed is on
the silent list with what happened ("无人接听×3"), as the officers' not-reached message says.

:func:`load_status` reads the rows (limited to a staff member's buildings when given);
:func:`render_status` turns the result into the text the CLI prints and Telegram shows.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from config.clock import CLOCK_SECONDS, local_time
from estate.contacts import building_floors
from notifications.channels.voice import RETRIED_OUTCOMES
from notifications.drives.models import Drive, DriveBatch, DriveHousehold, DrivePoint
from notifications.drives.states import PENDING, BatchState, DriveState
from notifications.models import OutboxMessage
from notifications.voice_script import outcome_summary

#: What a floor shows when none of its households is called down: all of them are tested at
#: home (positive, home-bound, no channel) - a floor the sampling team visits, not an empty one.
DOOR = "door"
#: A floor with no household of the drive (nobody lives there, or not on the list).
EMPTY = ""


def _reply_counts() -> dict[str, int]:
    return {"1": 0, "2": 0, "3": 0, "none": 0}


@dataclass
class FloorStatus:
    """One floor of one building at one point: its state and what its households said."""

    number: int
    state: str = EMPTY  # a BatchState value, DOOR or EMPTY
    households: int = 0
    door: int = 0  # households tested at home (door-to-door)
    replies: dict[str, int] = field(default_factory=_reply_counts)  # called households only
    extra: dict[str, int] = field(default_factory=dict)  # room for other counts
    calls: dict[str, int] = field(default_factory=dict)  # unanswered calls: outcome -> count

    @property
    def unanswered(self) -> int:
        return sum(self.calls.values())

    def calls_text(self, lang: str) -> str:
        return calls_summary(self.calls, lang)


@dataclass
class BuildingStatus:
    number: int
    floors: dict[int, str] = field(default_factory=dict)  # floor -> state (called floors)
    households: int = 0
    replies: dict[str, int] = field(default_factory=_reply_counts)
    top: int = 0  # the building's highest floor (from the estate, else the drive's)
    by_floor: dict[int, FloorStatus] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)  # unanswered calls: outcome -> count

    @property
    def unanswered(self) -> int:
        return sum(self.calls.values())

    def calls_text(self, lang: str) -> str:
        """ "无人接听×2、占线×1" ("" when every call was answered)."""
        return calls_summary(self.calls, lang)

    def floors_in(self, state: str) -> list[int]:
        return sorted(f for f, s in self.floors.items() if s == state)

    def column(self) -> list[FloorStatus]:
        """Every floor from the top down to the first, empty ones included (a floor map)."""
        top = max([self.top, *self.by_floor, *self.floors, 0])
        return [self.by_floor.get(f) or FloorStatus(f) for f in range(top, 0, -1)]


@dataclass
class PointStatus:
    name: str
    location: str
    paused: bool
    batches: int = 0
    batches_called: int = 0
    current: DriveBatch | None = None
    next_call_at: datetime | None = None
    buildings: list[BuildingStatus] = field(default_factory=list)
    next_batch: DriveBatch | None = None  # the batch called next (None when nothing is left)
    finish_at: datetime | None = None  # when this point's last batch's slot ends
    skipped: int = 0

    @property
    def left(self) -> int:
        """Batches still to call at this point."""
        return self.batches - self.batches_called - self.skipped


@dataclass
class Visit:
    building: int
    floor: int
    room: str
    people: int
    reason: str
    outcomes: tuple[str, ...] = ()  # the tries of the last call-up call that failed, in order

    def calls_text(self, lang: str) -> str:
        """What the calls met: "无人接听×3" ("" when no call failed to the end)."""
        return outcome_summary(self.outcomes, lang) if self.outcomes else ""


def calls_summary(calls: dict[str, int], lang: str) -> str:
    return outcome_summary([o for o, n in sorted(calls.items()) for _ in range(n)], lang)


@dataclass
class CallLog:
    """A drive's voice call-up calls that were not answered, per part (DriveHousehold id)."""

    unanswered: dict[int, dict[str, int]] = field(default_factory=dict)  # part -> outcome -> n
    not_reached: dict[int, tuple[str, ...]] = field(default_factory=dict)  # part -> outcomes


async def load_calls(drive_id: int) -> CallLog:
    """The drive's call-up calls that ended unanswered (their outbox rows, ``ref``
    ``drive:ID:…``), and the parts whose last try failed (``error`` "not reached: …")."""
    log = CallLog()
    rows = await OutboxMessage.filter(
        channel="voice",
        ref__startswith=f"drive:{drive_id}:",
        error_code__in=sorted(RETRIED_OUTCOMES),
    ).values("id", "body", "error_code", "error")
    for row in sorted(rows, key=lambda r: r["id"]):
        extra = (row["body"] or {}).get("extra") or {}
        part = (extra.get("voice") or {}).get("part")
        if not part:
            continue
        outcome = str(row["error_code"])
        counts = log.unanswered.setdefault(int(part), {})
        counts[outcome] = counts.get(outcome, 0) + 1
        if str(row["error"] or "").startswith("not reached"):
            earlier = (extra.get("call") or {}).get("outcomes") or []
            log.not_reached[int(part)] = (*map(str, earlier), outcome)
    return log


@dataclass
class DriveStatus:
    drive: Drive
    points: list[PointStatus]
    door_to_door: list[Visit]
    silent: list[Visit]
    finish_at: datetime | None

    @property
    def running(self) -> bool:
        return self.drive.status == DriveState.RUNNING


def floor_state(states: Collection[str]) -> str:
    """One floor's state from the states of the batches (parts) that call it."""
    unique = set(states)
    if BatchState.CALLED in unique:
        return BatchState.CALLED
    if BatchState.READY in unique:
        return BatchState.READY
    if unique <= {BatchState.SKIPPED}:
        return BatchState.SKIPPED
    if unique <= {BatchState.DONE, BatchState.SKIPPED}:
        return BatchState.DONE
    if BatchState.DONE in unique:  # some parts done, some still waiting
        return BatchState.CALLED
    return BatchState.WAITING


def _building(
    number: int,
    mine: list[DriveBatch],
    parts: list[DriveHousehold],
    top: int,
    calls: CallLog | None = None,
) -> BuildingStatus:
    """One building at one point: its floors' states from the batches, its households' replies
    and door-to-door visits from their parts."""
    building = BuildingStatus(number, top=top)
    floor_states: dict[int, list[str]] = {}
    for batch in mine:
        if batch.building == number:
            for floor in batch.floors:
                floor_states.setdefault(floor, []).append(batch.state)
    building.floors = {f: floor_state(s) for f, s in floor_states.items()}
    for floor, state in building.floors.items():
        building.by_floor[floor] = FloorStatus(floor, state)
    for part in parts:
        row = building.by_floor.setdefault(part.floor, FloorStatus(part.floor))
        row.households += 1
        if part.door_reason:
            row.door += 1
        for outcome, n in (calls.unanswered.get(part.id, {}) if calls else {}).items():
            row.calls[outcome] = row.calls.get(outcome, 0) + n
            building.calls[outcome] = building.calls.get(outcome, 0) + n
        if part.batch_id is not None:  # type: ignore[attr-defined]
            key = str(part.reply) if part.reply in (1, 2, 3) else "none"
            building.households += 1
            building.replies[key] += 1
            row.replies[key] += 1
    for row in building.by_floor.values():
        if row.state == EMPTY and row.households:
            row.state = DOOR  # nobody on it is called down: all are visited at home
    return building


async def load_status(
    drive_id: int, buildings: Collection[int] | None = None
) -> DriveStatus | None:
    """The drive's status; ``buildings`` limits it to those (a staff member's scope).

    A drive that is no longer running (finished or cancelled) has no next call and no finish
    estimate: nothing more will be called."""
    drive = await Drive.get_or_none(id=drive_id)
    if drive is None:
        return None
    running = drive.status == DriveState.RUNNING
    allowed = set(buildings) if buildings is not None else None
    batches = await DriveBatch.filter(drive_id=drive_id).order_by("point", "seq")
    parts = await DriveHousehold.filter(drive_id=drive_id).order_by("building", "floor", "room")
    of_building: dict[tuple[str, int], list[DriveHousehold]] = {}
    for part in parts:
        of_building.setdefault((part.point, part.building), []).append(part)
    points_rows = await DrivePoint.filter(drive_id=drive_id).order_by("id")
    heights = await building_floors(sorted({n for p in points_rows for n in p.buildings}))
    calls = await load_calls(drive_id)
    slot = timedelta(seconds=drive.max_interval_s if drive.pace == "adaptive" else drive.interval_s)
    points: list[PointStatus] = []
    finish: datetime | None = None
    for point in points_rows:
        served = [b for b in point.buildings if allowed is None or b in allowed]
        if not served:
            continue
        status = PointStatus(point.name, point.location, point.paused_at is not None)
        mine = [b for b in batches if b.point == point.name]
        status.batches = len(mine)
        status.batches_called = sum(
            1 for b in mine if b.state in (BatchState.CALLED, BatchState.DONE)
        )
        status.skipped = sum(1 for b in mine if b.state == BatchState.SKIPPED)
        if running:
            status.current = next((b for b in mine if b.state == BatchState.CALLED), None)
            waiting = [b for b in mine if b.state in PENDING]
            status.next_batch = waiting[0] if waiting else None
            status.next_call_at = waiting[0].call_at if waiting else None
            planned = [b.call_at for b in mine if b.state != BatchState.SKIPPED]
            if planned:
                status.finish_at = max(planned) + slot
                if finish is None or status.finish_at > finish:
                    finish = status.finish_at
        for number in served:
            status.buildings.append(
                _building(
                    number,
                    mine,
                    of_building.get((point.name, number), []),
                    heights.get(number, 0),
                    calls,
                )
            )
        points.append(status)
    door = [
        Visit(p.building, p.floor, p.room, p.people, p.door_reason, calls.not_reached.get(p.id, ()))
        for p in parts
        if p.door_reason and (allowed is None or p.building in allowed)
    ]
    # Silent: no reply after the last call, or a voice household the phone did not reach (its
    # last try failed) even before the drive marks it silent.
    silent = [
        Visit(p.building, p.floor, p.room, p.people, "silent", calls.not_reached.get(p.id, ()))
        for p in parts
        if p.reply is None
        and (p.silent or (p.id in calls.not_reached and not p.door_reason and not p.marked_by))
        and (allowed is None or p.building in allowed)
    ]
    return DriveStatus(drive, points, door, silent, finish)


def ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 5, 7, 8] -> "1-3,5,7-8" (any order in; "-" for none)."""
    if not numbers:
        return "-"
    ordered = sorted(set(numbers))
    out: list[str] = []
    start = prev = ordered[0]
    for n in ordered[1:]:
        if n == prev + 1:
            prev = n
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = n
    out.append(str(start) if start == prev else f"{start}-{prev}")
    return ",".join(out)


LABELS = {
    "en": {
        "title": "Drive {id}: {status}, {order}, batch {batch}, every {interval} (lead {lead})",
        "finish": "expected finish {at}",
        "point": "Point {name}{where}",
        "paused": " — PAUSED",
        "current": "now calling building {building} {floors} (batch {done}/{total})",
        "next": "next call {at}",
        "idle": "nothing called now ({done}/{total} batches)",
        "building": "  Building {n}: done {done} | called {called} | ready {ready} | waiting {waiting}"
        " | replies 1:{r1} 2:{r2} 3:{r3} none:{none}",
        "door": "Door-to-door ({count}):",
        "silent": "Silent after the last call ({count}):",
        "visit": "  {b}-{room} ({people} people, {reason})",
        "calls": " | calls not answered {n}: {what}",
        "call_visit": "not reached by phone: {what}",
        "reasons": "home_bound=home-bound,positive=positive,cannot=cannot come down,silent=silent",
        "floors": "floors",
        "running": "running",
        "done": "finished",
        "cancelled": "cancelled",
        "stopped": "  nothing more will be called",
    },
    "zh-CN": {
        "title": "核酸召集 {id}：{status}，{order}，每批 {batch}，间隔 {interval}（提前 {lead} 通知）",
        "finish": "预计结束 {at}",
        "point": "采样点 {name}{where}",
        "paused": " — 已暂停",
        "current": "正在召集 {building}号楼 {floors}（第 {done}/{total} 批）",
        "next": "下一批 {at}",
        "idle": "当前没有召集（已召集 {done}/{total} 批）",
        "building": "  {n}号楼：已完成 {done} | 召集中 {called} | 准备 {ready} | 等待 {waiting}"
        " | 回复 1:{r1} 2:{r2} 3:{r3} 未回复:{none}",
        "door": "上门采样（{count}户）：",
        "silent": "最后通知后仍未回复（{count}户）：",
        "visit": "  {b}-{room}（{people}人，{reason}）",
        "calls": " | 电话未接 {n}：{what}",
        "call_visit": "电话未接通：{what}",
        "reasons": "home_bound=行动不便,positive=阳性,cannot=无法下楼,silent=未回复",
        "floors": "层",
        "running": "进行中",
        "done": "已结束",
        "cancelled": "已取消",
        "stopped": "  不会再召集",
    },
}


def render_status(status: DriveStatus, lang: str, tz: tzinfo, *, limit: int = 60) -> str:
    lang_key = "en" if lang == "en" else "zh-CN"
    labels = LABELS[lang_key]
    reasons = dict(item.split("=") for item in labels["reasons"].split(","))
    drive = status.drive

    def hhmm(moment: datetime | None) -> str:
        return local_time(moment, tz, CLOCK_SECONDS)

    interval = drive.max_interval_s if drive.pace == "adaptive" else drive.interval_s
    lines = [
        labels["title"].format(
            id=drive.id,
            status=labels.get(drive.status, drive.status),
            order=drive.order,
            batch=drive.batch,
            interval=f"{interval:g}s",
            lead=f"{drive.lead_s:g}s",
        )
    ]
    if status.finish_at and drive.status == DriveState.RUNNING:
        lines.append(labels["finish"].format(at=hhmm(status.finish_at)))
    for point in status.points:
        where = f" ({point.location})" if point.location else ""
        head = labels["point"].format(name=point.name, where=where)
        if point.paused:
            head += labels["paused"]
        lines.append(head)
        if point.current is not None:
            lines.append(
                "  "
                + labels["current"].format(
                    building=point.current.building,
                    floors=ranges(list(point.current.floors)),
                    done=point.batches_called,
                    total=point.batches,
                )
            )
        else:
            lines.append(
                "  " + labels["idle"].format(done=point.batches_called, total=point.batches)
            )
        if not status.running:
            lines.append(labels["stopped"])
        if point.next_call_at is not None and not point.paused:
            lines.append("  " + labels["next"].format(at=hhmm(point.next_call_at)))
        for building in point.buildings:
            lines.append(
                labels["building"].format(
                    n=building.number,
                    done=ranges(building.floors_in("done")),
                    called=ranges(building.floors_in("called")),
                    ready=ranges(building.floors_in("ready")),
                    waiting=ranges(building.floors_in("waiting")),
                    r1=building.replies["1"],
                    r2=building.replies["2"],
                    r3=building.replies["3"],
                    none=building.replies["none"],
                )
                + (
                    labels["calls"].format(
                        n=building.unanswered, what=building.calls_text(lang_key)
                    )
                    if building.unanswered
                    else ""
                )
            )
    for title, visits in (("door", status.door_to_door), ("silent", status.silent)):
        if not visits:
            continue
        lines.append(labels[title].format(count=len(visits)))
        for visit in visits[:limit]:
            reason = reasons.get(visit.reason, visit.reason)
            if visit.outcomes:
                called = labels["call_visit"].format(what=visit.calls_text(lang_key))
                reason = called if visit.reason == "silent" else f"{reason}, {called}"
            lines.append(
                labels["visit"].format(
                    b=visit.building, room=visit.room, people=visit.people, reason=reason
                )
            )
        if len(visits) > limit:
            lines.append(f"  … +{len(visits) - limit}")
    return "\n".join(lines)


# ---- lookups for the staff commands --------------------------------------------------------
async def running_drive() -> Drive | None:
    """The newest running drive."""
    return await Drive.filter(status="running").order_by("-id").first()


async def latest_drive() -> Drive | None:
    """The newest drive, whatever its status."""
    return await Drive.all().order_by("-id").first()


async def find_drive(drive_id: int) -> Drive | None:
    if not 0 < drive_id < 2**31:  # no drive has an id the database could not hold
        return None
    return await Drive.get_or_none(id=drive_id)


async def drive_points(drive_id: int) -> list[DrivePoint]:
    """A drive's points, in the order they were planned."""
    return list(await DrivePoint.filter(drive_id=drive_id).order_by("id"))


async def find_point(drive_id: int, name: str) -> DrivePoint | None:
    return await DrivePoint.get_or_none(drive_id=drive_id, name=name)


async def drive_by_id(drive_id: int) -> Drive | None:
    if not 0 < drive_id < 2**31:  # no drive has an id the database could not hold
        return None
    return await Drive.get_or_none(id=drive_id)


async def recent_drives(limit: int = 50) -> list[Drive]:
    """The newest drives first."""
    return list(await Drive.all().order_by("-id").limit(limit))


async def drive_buildings(drive_id: int) -> list[int]:
    """The building numbers of a drive's points, in the order each point serves them."""
    numbers: list[int] = []
    for buildings in await DrivePoint.filter(drive_id=drive_id).values_list("buildings", flat=True):
        numbers.extend(int(b) for b in buildings or [])  # type: ignore[union-attr]
    return numbers
