"""``/drive voice`` in the drive runtime: a staff voice note attached to a running drive goes
with the remaining "come down now" call-ups of its buildings: voice households' calls play it
(queued calls included, those already placed not), Telegram households get the note right
after their call-up, other buildings and "get ready" calls are unchanged; the last call to a silent voice household
plays it too, a chat's last call is the text alone. A note attached before a batch is called
goes out with that batch's call-ups as they are made: the voice call names the recording, the
chat gets the note in its own language, naming its building, as urgent as a call-up's reply and
due with it."""

from __future__ import annotations

from config.clock import FakeClock
from estate.models import Contact, Household
from notifications.drives.models import Drive, DriveBatch
from notifications.drives.runtime import DriveRuntime
from notifications.models import OutboxMessage, Priority
from notifications.voice_script import Play, Say, script_for
from tests.notifications.drives.test_drives import MIN, T0, options, small_estate, start

NOTE = {"name": "ab" * 16 + ".mp3", "file_id": "tg-voice-1"}


async def mixed_drive(clock: FakeClock):  # type: ignore[no-untyped-def]
    """Building 1 (point A): voice households; building 2 (point B): Telegram ones."""
    await small_estate(buildings=2, floors=3, per_floor=1)
    await Contact.filter(household__building__number=1).update(channel="voice")
    await Household.filter(building__number=1).update(preferred_channel="voice")
    for n, contact in enumerate(await Contact.filter(household__building__number=2)):
        contact.channel, contact.address = "telegram", str(900000 + n)
        await contact.save()
    await Household.filter(building__number=2).update(preferred_channel="telegram")
    drive, _ = await start(clock, options())
    return drive, DriveRuntime(clock=clock, enabled={"telegram", "sms", "voice"})


async def calls(drive_id: int, seq: int, point: str) -> list[OutboxMessage]:
    batch = await DriveBatch.get(drive_id=drive_id, seq=seq, point=point)
    return list(await OutboxMessage.filter(ref=f"drive:{drive_id}:b{batch.id}:call"))


async def test_the_note_goes_with_the_remaining_call_ups(db: str) -> None:
    clock = FakeClock(T0)
    drive, runtime = await mixed_drive(clock)
    for minute in (8, 10, 13):  # batch 1 called at both points, batch 2 readied
        clock.set(T0 + minute * MIN)
        await runtime.tick()
    [placed] = await calls(drive.id, 1, "A")
    await OutboxMessage.filter(id=placed.id).update(status="sent")  # already ringing
    [queued] = await calls(drive.id, 2, "A")  # queued with batch 2's "get ready"
    assert queued.status == "queued" and "audio" not in queued.body["extra"]

    attached = await runtime.attach_audio(drive.id, [1, 2], NOTE)
    assert (attached.running, attached.queued_calls, attached.batches) == (True, 1, 4)
    assert (await Drive.get(id=drive.id)).audio == {"1": NOTE, "2": NOTE}
    await queued.refresh_from_db()
    await placed.refresh_from_db()
    assert queued.body["extra"]["audio"] == {"name": NOTE["name"]}  # no Telegram id to Twilio
    assert "audio" not in placed.body["extra"]

    # The call plays the recording before the spoken call-up and its 1/2/3 question.
    script = script_for(queued.body, queued.id, audio_url="https://x/media/n.mp3?sig=1")
    plays = [i for i, verb in enumerate(script) if isinstance(verb, Play)]
    assert plays and script[plays[0]] == Play("https://x/media/n.mp3?sig=1")
    assert isinstance(script[plays[0] - 1], Say) and "楼长的录音" in script[plays[0] - 1].text
    assert any("下楼" in v.text for v in script[plays[0] :] if isinstance(v, Say))
    unchanged = script_for(placed.body, placed.id, audio_url=None)
    assert not any(isinstance(v, Play) for v in unchanged)

    clock.set(T0 + 15 * MIN)  # batch 2 called: Telegram households get the note after it
    await runtime.tick()
    batch2 = await DriveBatch.get(drive_id=drive.id, seq=2, point="B")
    [call_b] = await OutboxMessage.filter(ref=f"drive:{drive.id}:b{batch2.id}:call")
    [note_b] = await OutboxMessage.filter(ref=f"drive:{drive.id}:b{batch2.id}:voice")
    assert "audio" not in (call_b.body.get("extra") or {}) and call_b.body.get("buttons")
    assert note_b.body["extra"]["audio"] == NOTE and note_b.address == call_b.address
    assert note_b.priority > call_b.priority  # the call-up itself goes first
    assert not await OutboxMessage.filter(ref__endswith=":voice", ref__contains=":b1").exists()
    # "get ready" calls never play it.
    for row in await OutboxMessage.filter(channel="voice", ref__endswith=":ready"):
        assert "audio" not in row.body["extra"]


async def test_only_the_given_buildings_and_only_a_running_drive(db: str) -> None:
    clock = FakeClock(T0)
    drive, runtime = await mixed_drive(clock)
    attached = await runtime.attach_audio(drive.id, [2], NOTE)
    assert attached.running and attached.queued_calls == 0
    for minute in (8, 10):
        clock.set(T0 + minute * MIN)
        await runtime.tick()
    [call_a] = await calls(drive.id, 1, "A")
    assert "audio" not in call_a.body["extra"]  # building 1 is not in the note's buildings
    assert await OutboxMessage.filter(ref__endswith=":voice").count() == 1  # building 2's
    await runtime.cancel(drive.id)
    assert not (await runtime.attach_audio(drive.id, [1], NOTE)).running
    assert (await Drive.get(id=drive.id)).audio == {"2": NOTE}


async def test_the_last_call_plays_the_note_to_voice_households_only(db: str) -> None:
    """The last call to a household still silent carries its building's note on a voice call;
    a chat's last call is the text alone (its note went with the call-up)."""
    clock = FakeClock(T0)
    drive, runtime = await mixed_drive(clock)
    await runtime.tick()
    await runtime.attach_audio(drive.id, [1, 2], NOTE)
    for minute in range(1, 120):
        clock.set(T0 + minute * MIN)
        await runtime.tick()
    last = list(await OutboxMessage.filter(ref=f"drive:{drive.id}:last"))
    voice = [row for row in last if row.channel == "voice"]
    chats = [row for row in last if row.channel == "telegram"]
    assert len(voice) == 3 and len(chats) == 3  # nobody replied: every household, once
    for row in voice:
        assert row.body["extra"]["audio"] == {"name": NOTE["name"]}
    for row in chats:
        assert "audio" not in (row.body.get("extra") or {})


async def test_a_note_attached_first_goes_with_each_call_up_as_it_is_made(db: str) -> None:
    clock = FakeClock(T0)
    drive, runtime = await mixed_drive(clock)
    await Contact.filter(household__building__number=2).update(language="en")
    await runtime.tick()
    await runtime.attach_audio(drive.id, [1, 2], NOTE)
    for minute in (8, 10, 13):  # batch 1 called at both points, batch 2 readied
        clock.set(T0 + minute * MIN)
        await runtime.tick()

    [call_a] = await calls(drive.id, 1, "A")
    assert call_a.body["extra"]["audio"] == {"name": NOTE["name"]}  # no Telegram id to Twilio
    readied = await OutboxMessage.filter(ref__endswith=":ready")
    assert readied and all("audio" not in (r.body.get("extra") or {}) for r in readied)

    [call_b] = await calls(drive.id, 1, "B")
    batch_b = await DriveBatch.get(drive_id=drive.id, seq=1, point="B")
    [note_b] = await OutboxMessage.filter(ref=f"drive:{drive.id}:b{batch_b.id}:voice")
    assert "audio" not in (call_b.body.get("extra") or {})
    assert note_b.body["text"] == "🎙 A voice message from your building's officer (bldg 2)."
    assert note_b.body["extra"]["audio"] == NOTE
    assert (note_b.address, note_b.channel) == (call_b.address, "telegram")
    assert (call_b.purpose, note_b.purpose) == ("callup", "callup")
    assert (call_b.priority, note_b.priority) == (int(Priority.CALLUP), int(Priority.REPLY))
    assert note_b.next_attempt_at == call_b.next_attempt_at
