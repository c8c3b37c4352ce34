"""Drive lateness: planned call time -> first provider API call of each batch, in real time.

The real service (drive runtime + dispatcher + PTB + the twilio client) runs on the demo
estate against the fake Telegram and Twilio servers with rate limits on (Telegram 30/s and
1/s per chat; SMS at ``--sms-rate`` segments/s), while a survey backlog of ``--backlog``
Telegram messages is queued at the same moment the drive starts. Six points call a batch
every ``--interval`` seconds; the time each batch's first "come down now" reaches a fake
server is compared with its planned time (the fakes' clocks are ``time.monotonic``).

    .venv/bin/python benchmarks/bench_drive_lateness.py [--batches 6] [--interval 10] [--lead 5]

The drive is compressed in time (10 s between batches instead of minutes), so the SMS sender
(``--sms-rate``) carries several times its real load; with ``--interval 4`` it saturates and
the lateness measures SMS throughput rather than the dispatcher.

Voice: the SMS households of ``--voice-buildings`` have only a landline (channel voice); their
"come down now" is a call placed ``--voice-lead`` seconds before the batch's time, at
``--voice-cps`` calls a second. For them the lateness printed is when the call was placed and
when it was answered (the fake Twilio answers after two short steps, initiated and ringing)
against the batch's planned time: negative is early.

Prints p50/p95/p99/max lateness and the backlog still waiting at the end (proof that the
call-ups went past it). Never asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web

from bot.app import build_channels, build_services
from bot.staff.drive_launch import build_options, launch, make_preview
from bot.web.app import create_app
from config.database import close_db, init_db
from config.settings import Settings
from estate.demo import seed_demo
from estate.importing.residents import local_day
from estate.models import Contact, Household
from notifications.drives.models import DriveBatch, DriveHousehold
from notifications.drives.setup import contacts_for
from notifications.message import Message
from notifications.models import OutboxMessage, Priority
from notifications.outbox import Outgoing, enqueue_many
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import FakeTwilio

SID = "AC" + "0123456789abcdef" * 2
AUTH = "bench-auth"
BOT = "555:BENCH"
POINTS = "A:1-4,B:5-8,C:9-12,D:13-16,E:17-21,F:22-25"
TELEGRAM_BUILDINGS = (1, 2, 9, 13)  # points A, C, D call Telegram chats; B, E, F SMS
VOICE_BUILDINGS = "5,17"  # points B and E: SMS households there are called instead


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="louzhang-bench-"))
    url = f"sqlite://{folder}/bench.sqlite3"
    await init_db(url)
    await seed_demo(today=local_day())
    households = await Household.filter(building__number__in=TELEGRAM_BUILDINGS)
    await Contact.bulk_create(
        [
            Contact(household_id=h.id, channel="telegram", address=str(7_000_000 + h.id))
            for h in households
        ]
    )
    await Household.filter(id__in=[h.id for h in households]).update(preferred_channel="telegram")
    voice_buildings = [int(b) for b in args.voice_buildings.split(",") if b.strip()]
    landlines = await Household.filter(building__number__in=voice_buildings)
    await Contact.filter(household_id__in=[h.id for h in landlines], channel="sms").update(
        channel="voice"
    )
    await Household.filter(id__in=[h.id for h in landlines], preferred_channel="sms").update(
        preferred_channel="voice"
    )
    port = free_port()
    async with (
        FakeTwilio(
            account_sid=SID,
            auth_token=AUTH,
            enforce_limits=True,
            segments_per_second=args.sms_rate,
            calls_per_second=args.voice_cps,
        ) as tw,
        FakeTelegram(
            token=BOT, enforce_limits=True, strict_chats=False
        ) as tg,  # chats made in the DB
    ):
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=url,
            twilio_account_sid=SID,
            twilio_auth_token=AUTH,
            twilio_from="+15005550006",
            twilio_api_url=tw.url,
            telegram_token=BOT,
            telegram_api_url=tg.url,
            telegram_mode="webhook",
            public_url=f"http://127.0.0.1:{port}",  # the fake Twilio fetches call TwiML here
            sms_segments_per_second=args.sms_rate,
            voice_calls_per_second=args.voice_cps,
            voice_ring_lead=args.voice_lead,
        )
        services = build_services(settings, channels=build_channels(settings))
        runner = web.AppRunner(create_app(services))
        await runner.setup()  # starts the services (cleanup_ctx)
        await web.TCPSite(runner, "127.0.0.1", port).start()
        gc.collect()
        gc.freeze()
        now = datetime.now(UTC)
        start = now + timedelta(seconds=3)
        options = build_options(
            points=POINTS,
            start=start.isoformat(),
            interval=f"{int(args.interval)}s",
            lead=f"{int(args.lead)}s",
            now=now,
            settings=settings,
        )
        enabled = services.channels.reachable
        round_id, preview = await make_preview(options, enabled)
        drive = await launch(options, preview, round_id, now=now, created_by="bench")
        planned = {
            b.id: b.call_at
            for b in await DriveBatch.filter(drive_id=drive.id, seq__lte=args.batches)
        }
        # Later batches are dropped so the run ends after --batches per point.
        await DriveBatch.filter(drive_id=drive.id, seq__gt=args.batches).update(state="skipped")
        # The survey backlog, queued as the drive starts.
        backlog = [
            Outgoing(
                contact=None,
                channel="telegram",
                address=str(8_000_000 + i),
                message=Message(f"survey question {i}: 1 yes 2 no"),
                key=f"bench-backlog-{i}",
                priority=Priority.SURVEY,
                purpose="survey",
            )
            for i in range(args.backlog)
        ]
        for i in range(0, len(backlog), 1000):
            await enqueue_many(backlog[i : i + 1000], now=datetime.now(UTC))
        services.dispatcher.notify()
        services.drives.notify()
        parts = await DriveHousehold.filter(drive_id=drive.id, batch_id__in=list(planned))
        recipients = await contacts_for([p.household_id for p in parts], enabled)  # type: ignore[attr-defined]
        batch_of = {
            recipients[p.household_id].address: p.batch_id  # type: ignore[attr-defined]
            for p in parts
            if p.household_id in recipients  # type: ignore[attr-defined]
        }
        end = max(planned.values()) + timedelta(seconds=5)
        print(
            f"drive {drive.id}: {len(planned)} batches ({args.batches} per point, every "
            f"{args.interval}s, lead {args.lead}s), {args.backlog} survey messages queued; "
            f"running until {end:%H:%M:%S} UTC"
        )
        await asyncio.sleep(max(0.0, (end - datetime.now(UTC)).total_seconds()))
        offset = time.time() - time.monotonic()  # fakes stamp with time.monotonic
        first: dict[int, float] = {}
        by_channel: dict[str, list[float]] = {"telegram": [], "sms": [], "voice": []}
        answered: list[float] = []
        call_ids = {
            int(str(i))
            for i in await OutboxMessage.filter(
                channel="voice", idempotency_key__contains=":call:"
            ).values_list("id", flat=True)
        }
        for voice_call in tw.calls:
            batch = batch_of.get(voice_call.to)
            if batch is None or int(voice_call.url.rsplit("o=", 1)[1]) not in call_ids:
                continue  # a "get ready" call
            placed = voice_call.created + offset
            first[batch] = min(first.get(batch, placed), placed)
            by_channel["voice"].append(placed - planned[batch].timestamp())
            pickup = voice_call.answered_at
            if pickup is not None:
                answered.append(pickup + offset - planned[batch].timestamp())
        for call in tg.calls_to("sendMessage"):
            text = str(call.params.get("text", ""))
            batch = batch_of.get(str(call.params.get("chat_id")))
            if batch is not None and ("现在请" in text or "come down now" in text):
                first[batch] = min(first.get(batch, call.at + offset), call.at + offset)
                by_channel["telegram"].append(call.at + offset - planned[batch].timestamp())
        for message in tw.messages:
            batch = batch_of.get(message.to)
            if batch is not None and ("现在请" in message.body or "come down now" in message.body):
                first[batch] = min(
                    first.get(batch, message.created + offset), message.created + offset
                )
                by_channel["sms"].append(message.created + offset - planned[batch].timestamp())
        late = [first[b] - planned[b].timestamp() for b in planned if b in first]
        called = {
            b.id: b.called_at
            for b in await DriveBatch.filter(id__in=list(planned))
            if b.called_at is not None
        }
        tick_lag = [(called[b] - planned[b]).total_seconds() for b in planned if b in called]
        send_lag = [first[b] - called[b].timestamp() for b in planned if b in first and b in called]
        missing = len(planned) - len(late)
        waiting = await OutboxMessage.filter(purpose="survey", status="queued").count()
        violations = tg.rate_limit_violations
        sms_violations = tw.rate_limit_violations
        voice_breaches, same_number = tw.cps_breaches, tw.same_number_breaches
        await runner.cleanup()
    await close_db()
    if not late:
        print("no batch reached a fake server")
        return
    print(
        f"lateness over {len(late)} batches: p50 {quantile(late, 0.5) * 1000:.0f} ms, "
        f"p95 {quantile(late, 0.95) * 1000:.0f} ms, p99 {quantile(late, 0.99) * 1000:.0f} ms, "
        f"max {max(late) * 1000:.0f} ms (target p99 < 1 s); {missing} batches without a send"
    )
    print(
        f"  of which planned -> batch called by the drive loop: p50 {quantile(tick_lag, 0.5) * 1000:.0f} ms, "
        f"max {max(tick_lag) * 1000:.0f} ms; called -> first provider call: p50 "
        f"{quantile(send_lag, 0.5) * 1000:.0f} ms, max {max(send_lag) * 1000:.0f} ms"
    )
    for channel, values in by_channel.items():
        if values:
            print(
                f"  every call-up message by {channel}: {len(values)}, p50 "
                f"{quantile(values, 0.5) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms"
            )
    if answered:
        print(
            f"  voice call-ups answered: {len(answered)}, p50 {quantile(answered, 0.5) * 1000:.0f}"
            f" ms, max {max(answered) * 1000:.0f} ms (placed {args.voice_lead:g} s early, "
            f"{args.voice_cps:g} calls/s; voice breaches: CPS {voice_breaches}, same number "
            f"{same_number})"
        )
    print(f"survey backlog still queued at the end: {waiting} of {args.backlog}")
    print(f"rate-limit violations seen by the fakes: Telegram {violations}, SMS {sms_violations}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=6, help="batches per point")
    parser.add_argument("--interval", type=int, default=10, help="seconds between batches")
    parser.add_argument("--lead", type=int, default=5, help="seconds of 'get ready' lead")
    parser.add_argument("--backlog", type=int, default=5000)
    parser.add_argument("--sms-rate", type=float, default=10.0, help="SMS segments per second")
    parser.add_argument("--voice-buildings", default=VOICE_BUILDINGS, help="e.g. 5,17; '' none")
    parser.add_argument("--voice-cps", type=float, default=5.0, help="calls placed per second")
    parser.add_argument(
        "--voice-lead", type=float, default=2.0, help="seconds a call-up call is placed early"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
