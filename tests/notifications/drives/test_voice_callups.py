"""Voice call-ups in the drive runtime: a "come down now" call is queued with the "get ready",
due the ring lead (30 s) before the batch's call time, and moves when the batch moves (/next,
/pause, /resume); the "get ready" call expires before the call-up call is due."""

from __future__ import annotations

from datetime import timedelta

from config.clock import FakeClock
from estate.models import Contact, Household
from notifications.drives.models import DriveBatch
from notifications.drives.runtime import DriveRuntime
from notifications.models import OutboxMessage
from tests.notifications.drives.test_drives import MIN, T0, options, small_estate, start

LEAD = timedelta(seconds=30)


async def voice_drive(clock: FakeClock):  # type: ignore[no-untyped-def]
    await small_estate(buildings=1, floors=3, per_floor=1)
    await Contact.all().update(channel="voice")
    await Household.all().update(preferred_channel="voice")
    drive, _ = await start(clock, options(points=[("A", [1])]))
    return drive, DriveRuntime(clock=clock, enabled={"telegram", "sms", "voice"})


async def rows(drive_id: int, seq: int, kind: str) -> list[OutboxMessage]:
    batch = await DriveBatch.get(drive_id=drive_id, seq=seq)
    return list(await OutboxMessage.filter(ref=f"drive:{drive_id}:b{batch.id}:{kind}"))


async def test_a_voice_call_up_is_placed_the_ring_lead_early(db: str) -> None:
    clock = FakeClock(T0)
    drive, runtime = await voice_drive(clock)
    clock.set(T0 + 8 * MIN)  # batch 1's "get ready"
    await runtime.tick()
    [ready] = await rows(drive.id, 1, "ready")
    [call] = await rows(drive.id, 1, "call")
    assert (ready.channel, ready.expires_at) == ("voice", T0 + 10 * MIN - LEAD)
    assert call.next_attempt_at == T0 + 10 * MIN - LEAD and call.status == "queued"
    spec = call.body["extra"]["voice"]
    assert (spec["step"], spec["kind"], spec["building"]) == ("call", "callup", 1)
    clock.set(T0 + 10 * MIN)
    result = await runtime.tick()  # called: the same row, nothing enqueued twice
    assert result.called == 1
    assert [r.id for r in await rows(drive.id, 1, "call")] == [call.id]


async def test_voice_call_ups_move_with_their_batch(db: str) -> None:
    clock = FakeClock(T0)
    drive, runtime = await voice_drive(clock)
    for minute in (8, 10, 13):  # batch 1 readied and called, batch 2's "get ready"
        clock.set(T0 + minute * MIN)
        await runtime.tick()
    [call2] = await rows(drive.id, 2, "call")
    batch2 = await DriveBatch.get(drive_id=drive.id, seq=2)
    assert call2.next_attempt_at == batch2.call_at - LEAD
    await runtime.pause(drive.id, "A")
    await call2.refresh_from_db()
    assert call2.next_attempt_at > T0 + timedelta(hours=12)  # nothing rings while paused
    clock.set(T0 + 14 * MIN)
    await runtime.resume(drive.id, "A")
    await call2.refresh_from_db()
    batch2 = await DriveBatch.get(drive_id=drive.id, seq=2)
    assert call2.next_attempt_at == batch2.call_at - LEAD
    await runtime.call_next(drive.id, "A")  # /next: batch 2 now
    await runtime.tick()
    await call2.refresh_from_db()
    assert call2.next_attempt_at <= clock.now()
