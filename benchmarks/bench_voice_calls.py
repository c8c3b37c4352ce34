"""Voice calls placed per second against the fake Twilio, at the account's CPS.

The real service (dispatcher + the twilio client + the signed /twilio/voice routes) runs on a
loopback port with its rate limits on; ``--calls`` notice calls to as many voice households are
queued at once, and the fake Twilio places each call, fetches its TwiML, plays it and posts the
status callbacks (a call stays live ``--talk`` seconds after its TwiML ran out). For each CPS in
``--cps`` the run prints the calls placed per second (first to last create), its ratio to the
limit, the most calls live at once against ``--concurrent``, and the breaches the fake counted
(CPS, concurrency, two calls to one number). Never asserts.

    .venv/bin/python benchmarks/bench_voice_calls.py [--cps 1 5] [--calls 20] [--concurrent 10]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web

from bot.app import build_channels, build_services
from bot.web.app import create_app
from config.database import close_db, init_db
from config.settings import Settings
from estate.models import Building, Contact, Estate, Household
from notifications.message import Message
from notifications.models import Priority
from notifications.outbox import Outgoing, enqueue_many
from tests.fakes.twilio import FakeTwilio

SID = "AC" + "0123456789abcdef" * 2
AUTH = "bench-voice-auth"
FROM = "+15005550006"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def one_run(cps: float, args: argparse.Namespace) -> str:
    folder = Path(tempfile.mkdtemp(prefix="louzhang-bench-voice-"))
    url = f"sqlite://{folder}/bench.sqlite3"
    await init_db(url)
    estate = await Estate.create(name="bench")
    building = await Building.create(estate=estate, number=1, floors=40)
    contacts = []
    for i in range(args.calls):
        household = await Household.create(
            building=building, floor=1 + i // 4, room=f"{100 * (1 + i // 4) + i % 4 + 1}"
        )
        contacts.append(
            await Contact.create(household=household, channel="voice", address=f"+8621620{i:05d}")
        )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with FakeTwilio(
        account_sid=SID,
        auth_token=AUTH,
        calls_per_second=cps,
        max_concurrent_calls=args.concurrent,
        talk_seconds=args.talk,
    ) as tw:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=url,
            public_url=base,
            twilio_account_sid=SID,
            twilio_auth_token=AUTH,
            twilio_from=FROM,
            twilio_api_url=tw.url,
            voice_calls_per_second=cps,
            voice_max_concurrent=args.concurrent,
        )
        services = build_services(settings, channels=build_channels(settings))
        runner = web.AppRunner(create_app(services))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await enqueue_many(
            [
                Outgoing(
                    contact=c,
                    message=Message("居委会通知：明天上午九点停水，请提前储水。"),
                    key=f"bench-notice-{i}",
                    priority=Priority.BULK,
                    purpose="notice",
                )
                for i, c in enumerate(contacts)
            ],
            now=datetime.now(UTC),
        )
        services.dispatcher.notify("voice")
        limit = args.calls / cps + args.calls * args.talk + 30
        try:
            async with asyncio.timeout(limit):
                while len(tw.calls) < args.calls or tw.live_calls():  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
        except TimeoutError:
            pass
        await tw.drain(raise_errors=False)
        await runner.cleanup()
    await close_db()
    created = sorted(c.created for c in tw.calls)
    span = created[-1] - created[0] if len(created) > 1 else 0.0
    rate = (len(created) - 1) / span if span > 0 else float("nan")
    answered = sum(1 for c in tw.calls if c.status == "completed" and c.twiml)
    return (
        f"CPS {cps:g}: {len(created)} calls placed in {span:.1f} s = {rate:.2f} calls/s "
        f"(ratio to the limit {rate / cps:.2f}); answered and played {answered}; "
        f"most live at once {tw.max_live_seen} (limit {args.concurrent}); breaches: "
        f"CPS {tw.cps_breaches}, concurrency {tw.concurrency_breaches}, "
        f"same number {tw.same_number_breaches}; TwiML errors {len(tw.twiml_errors)}"
    )


async def run(args: argparse.Namespace) -> None:
    for cps in args.cps:
        calls = args.calls if args.calls else int(max(10, cps * 10))
        print(await one_run(cps, argparse.Namespace(**{**vars(args), "calls": calls})))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cps", type=float, nargs="+", default=[1.0, 5.0])
    parser.add_argument(
        "--calls", type=int, default=0, help="calls per run (default: 10 s worth, at least 10)"
    )
    parser.add_argument("--concurrent", type=int, default=10, help="calls live at once")
    parser.add_argument("--talk", type=float, default=0.5, help="seconds a call stays live")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
