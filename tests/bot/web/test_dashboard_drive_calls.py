"""The drive page shows calls: a floor's unanswered call-up calls beside its 1/2/3 replies, the
building's total with what happened, and the household the phone did not reach on the silent
list with "无人接听×2"."""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer

from bot.web.app import create_app
from notifications.drives.models import DriveBatch, DriveHousehold
from notifications.models import OutboxMessage
from tests.bot.web.test_dashboard_drive import Scene, login
from tests.bot.web.test_dashboard_drive import scene as scene


async def failed_call(scene: Scene, part: DriveHousehold, n: int, outcomes: list[str]) -> None:
    batch = await DriveBatch.get(id=part.batch_id)  # type: ignore[attr-defined]
    now = scene.clock.now()
    last = n == len(outcomes) - 1
    await OutboxMessage.create(
        created_at=now,
        updated_at=now,
        next_attempt_at=now,
        address="+862161000000",
        channel="voice",
        purpose="callup",
        household_id=part.household_id,  # type: ignore[attr-defined]
        ref=f"drive:{scene.drive}:b{batch.id}:call",
        idempotency_key=f"test:{part.id}:{n}",
        status="no-answer" if outcomes[n] == "no-answer" else "busy",
        error_code=outcomes[n],
        error="not reached: …" if last else f"call {outcomes[n]}",
        body={
            "text": "",
            "extra": {
                "voice": {"step": "call", "kind": "callup", "part": part.id},
                "call": {"try": n + 1, "outcomes": outcomes[:n]},
            },
        },
    )


async def test_the_floor_map_and_silent_list_show_calls(scene: Scene) -> None:
    part = await DriveHousehold.get(drive_id=scene.drive, building=1, floor=3)
    outcomes = ["no-answer", "no-answer"]
    for n in range(len(outcomes)):
        await failed_call(scene, part, n, outcomes)
    app = create_app(scene.services, manage_services=False)
    async with TestClient(TestServer(app)) as client:
        await login(client, scene, scene.one)
        zh = await (await client.get(f"/drives/{scene.drive}?lang=zh-CN")).text()
        en = await (await client.get(f"/drives/{scene.drive}?lang=en")).text()
    floor3 = zh.split('data-floor="3"', 1)[1].split("</div>", 1)[0]
    assert "0/0/0" in floor3 and "☎未接2" in floor3
    assert "电话未接 2：无人接听×2" in zh
    silent = zh.split('id="silent"', 1)[1].split("</table>", 1)[0]
    assert f"<td>{part.room}</td>" in silent and "电话未接通：无人接听×2" in silent
    assert "☎✗2" in en and "not reached by phone: no answer x2" in en
    floor2 = zh.split('data-floor="2"', 1)[1].split("</div>", 1)[0]
    assert "☎" not in floor2
