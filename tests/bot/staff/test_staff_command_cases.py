"""Every staff command as data: who sends what, and the reply (or refusal) they get.

Like goflow's test cases: each row is (command, role, what is sent) -> a piece of the reply and
whether the attempt is refused (audited with ``allowed=False``). The commands run through the
real dispatcher built by :func:`bot.staff.registry.build_staff_commands`, with the replies
captured instead of sent. :func:`test_every_command_has_a_case` fails when a command of
:data:`bot.staff.registry.COMMANDS` has no row, so a new command comes with its cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.staff.base import StaffContext
from bot.staff.registry import COMMANDS, build_staff_commands
from config.clock import FakeClock
from estate.importing.residents import import_residents
from estate.models import AuditEntry, Staff
from estate.staff import ROLES, add_staff
from notifications.drives.runtime import DriveRuntime
from notifications.inbound import Inbound
from notifications.message import Message
from notifications.models import OutboxMessage
from surveys.questions.desk import QuestionDesk
from surveys.runtime import SurveyRuntime
from tests.conftest import make_settings

CSV = (
    "building,floor,room,name,phone,birth_year,channel,language,home_bound,notes\r\n"
    "7,,1203,王芳,13800138000,1980,telegram,,,\r\n"
    "7,,1204,李伯,13700137004,1944,sms,,,\r\n"
    "8,3,302,张伯,13600136000,1940,sms,,yes,独居\r\n"
    "9,2,201,李婆婆,13700137001,1942,sms,,,\r\n"
)
# who -> (role, buildings, chat id)
STAFF: dict[str, tuple[str, list[int], int]] = {
    "admin": ("admin", [], 8000001),
    "cadre": ("cadre", [7, 8], 8000002),
    "officer7": ("officer", [7], 8000007),
    "officer9": ("officer", [9], 8000009),
    "logistics": ("logistics", [9], 8000010),
    "point": ("point", [7], 8000011),
}


@dataclass(frozen=True)
class Case:
    command: str  # the command's name in COMMANDS
    who: str  # a key of STAFF
    send: str  # "/status 7"; "press:sv:x" presses a button with that data
    reply: str | None  # a piece of the reply; None: no reply at all
    refused: bool = False  # the attempt is audited as not allowed
    round: bool = False  # an antigen round is open for building 7 first
    extra: dict[str, Any] = field(default_factory=dict)
    voice: str | None = None  # sent as a voice note's caption (its Telegram file_id)

    @property
    def id(self) -> str:
        return f"{self.who}:{self.send}{':round' if self.round else ''}{':voice' if self.voice else ''}"


CASES = (
    # ---- surveys ---------------------------------------------------------------------------
    Case("survey", "officer7", "/survey", "选择要发起的调查"),
    Case("survey", "logistics", "/survey", None, refused=True),  # not for their role
    Case("survey", "officer7", "press:sv:x", "已取消，没有发送"),
    Case("survey", "officer9", "press:sv:b:antigen:7", "没有权限", refused=True),
    Case("status", "admin", "/status", "没有进行中的调查"),
    Case("status", "officer7", "/status", "7号楼：已填 0/2", round=True),
    Case("status", "officer7", "/status x", "看不懂楼号"),
    Case("status", "officer9", "/status 7", "没有权限", refused=True),
    Case("report", "admin", "/report", "没有找到涉及您负责楼的调查轮次"),
    Case("report", "admin", "/report 99", "没有第99轮调查"),
    Case("report", "officer9", "/report 1", "没有权限", refused=True, round=True),
    Case("report", "point", "/report", None, refused=True),
    Case("remind", "officer7", "/remind", "没有进行中的调查"),
    Case("remind", "officer7", "/remind", "已提醒 2 户", round=True),
    Case("remind", "officer9", "/remind 1", "没有权限", refused=True, round=True),
    Case("notice", "officer7", "/notice", "用法：/notice"),
    Case("notice", "officer7", "/notice 7 楼道已消毒", "通知已发给 2 户"),
    Case("notice", "officer9", "/notice 7 楼道已消毒", "没有权限", refused=True),
    Case("answer", "officer7", "/answer", "用法：/answer"),
    Case("answer", "officer7", "/answer 7-1203", "没有进行中的「-」调查"),
    Case("answer", "officer7", "/answer 7-1203 antigen", "📞 代 7-1203 填报", round=True),
    Case("answer", "officer7", "/answer 7-9999", "没有找到 7-9999 这一户"),
    Case("answer", "officer9", "/answer 7-1203", "没有权限", refused=True),
    Case("login", "officer9", "/login", "一次性登录链接"),
    # ---- call-ups --------------------------------------------------------------------------
    Case("drive", "cadre", "/drive", "发起核酸召集"),
    Case("drive", "officer7", "/drive", "无权操作：role officer", refused=True),
    Case("drive", "admin", "/drive status", "现在没有进行中的核酸召集"),
    Case("drive", "admin", "/drive cancel", "现在没有进行中的核酸召集"),
    Case("drive", "logistics", "/drive status", None, refused=True),
    Case("drive", "cadre", "press:dr:go", None),  # no wizard: only a toast
    Case("drive", "officer7", "/drive voice", "录一段语音"),  # no voice note: how to
    Case("drive", "point", "/drive voice", "无权操作：role point", refused=True, voice="v1"),
    Case("drive", "officer7", "/drive voice", "现在没有进行中的核酸召集", voice="v1"),
    Case("next", "point", "/next", "现在没有进行中的核酸召集"),
    Case("next", "admin", "press:dr:pace:next:1:A", "没有采样点 A"),  # not the /drive wizard's
    Case("pause", "admin", "/pause A", "现在没有进行中的核酸召集"),
    Case("resume", "cadre", "/resume", "现在没有进行中的核酸召集"),
    Case("skip", "officer7", "/skip", "现在没有进行中的核酸召集"),
    Case("skip", "logistics", "/skip", None, refused=True),
    Case("mark", "point", "/mark 7-1203 1", "现在没有进行中的核酸召集"),
    # ---- medicine pickups and residents' questions ------------------------------------------
    Case("pickup", "admin", "/pickup", "还没有配药登记"),
    Case("pickup", "logistics", "/pickup x", "用法：/pickup"),
    Case("pickup", "logistics", "/pickup 7", "您没有权限查看", refused=True),
    Case("pickup", "point", "/pickup", None, refused=True),
    Case("delivery", "cadre", "/delivery 7", "这些楼没有登记后勤人员"),
    Case("delivery", "logistics", "/delivery 7", "您没有权限查看", refused=True),
    Case("delivery", "officer7", "/delivery", None, refused=True),
    Case("questions", "officer7", "/questions", "今天暂无待答复的居民问题"),
    Case("questions", "logistics", "/questions", None, refused=True),
    Case("reply", "officer7", "/reply", "用法：/reply"),
    Case("reply", "officer7", "/reply 3 好的", "没有待答复的问题 #3"),
    Case("reply", "logistics", "/reply 1 好的", None, refused=True),
)


def test_every_command_has_a_case() -> None:
    names = [command.name for command in COMMANDS]
    assert len(names) == len(set(names)), "two commands share a name"
    covered = {case.command for case in CASES}
    missing = sorted(set(names) - covered)
    assert not missing, f"staff commands without a case in CASES: {missing}"
    assert covered <= set(names), f"cases of unknown commands: {sorted(covered - set(names))}"
    for command in COMMANDS:
        assert set(command.roles) <= set(ROLES), command.name
        assert set(command.description) == {"zh-CN", "en"}, command.name


def test_every_registered_command_is_in_the_menu() -> None:
    ctx = _context(make_settings(), FakeClock(), lambda *a, **k: None)
    commands = build_staff_commands(ctx)
    assert [name for name, _ in commands.menu("en")] == sorted(c.name for c in COMMANDS)
    assert ("drive", "Testing call-up: start / status / cancel") in commands.menu("en", "cadre")
    assert "drive" not in dict(commands.menu("zh-CN", "logistics"))


def _context(settings: Any, clock: FakeClock, send: Any) -> StaffContext:
    runtime = SurveyRuntime(clock=clock, settings=settings)

    async def login_link(staff: Staff) -> str:
        return f"http://127.0.0.1:8080/login/token-{staff.id}"

    return StaffContext(
        settings=settings,
        clock=clock,
        runtime=runtime,
        drives=DriveRuntime(clock=clock),
        send=send,
        wake=lambda: None,
        desk=QuestionDesk(tz=runtime.tz),
        login_link=login_link,
    )


async def _world(db: str, tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "residents.csv"
    path.write_bytes(CSV.encode("utf-8"))
    await import_residents(path)
    for name, (role, buildings, chat) in STAFF.items():
        staff = await add_staff(name, role=role, buildings=buildings, point="A")
        await Staff.filter(id=staff.id).update(telegram_chat_id=chat)
    clock = FakeClock()
    sent: list[tuple[str, Message]] = []

    async def send(inbound: Inbound, message: Message, *_: Any, **__: Any) -> None:
        sent.append((inbound.address, message))

    ctx = _context(make_settings(database_url=db), clock, send)
    return {"ctx": ctx, "commands": build_staff_commands(ctx), "sent": sent}


@pytest.mark.parametrize("case", CASES, ids=[f"{c.command}-{c.id}" for c in CASES])
async def test_staff_command_case(case: Case, db: str, tmp_path: Path) -> None:
    world = await _world(db, tmp_path)
    if case.round:
        await world["ctx"].runtime.open_round(
            "antigen", buildings=[7], closes_in=timedelta(hours=6)
        )
    chat = str(STAFF[case.who][2])
    if case.send.startswith("press:"):
        inbound = Inbound("telegram", chat, choice=case.send[len("press:") :], message_id=1)
    else:
        inbound = Inbound("telegram", chat, text=case.send, voice=case.voice)
    handled = await world["commands"].handle(inbound)

    replies = [m.text for address, m in world["sent"] if address == chat]
    replies += [  # what a command queues itself (the login link)
        row.body.get("text") or ""
        for row in await OutboxMessage.filter(address=chat, purpose__in=["reply", "login"])
    ]
    if case.reply is None:
        assert replies == [], replies
    else:
        assert handled is not None
        assert any(case.reply in r for r in replies), replies
    refusals = await AuditEntry.filter(allowed=False).count()
    assert refusals == (1 if case.refused else 0)


async def test_a_request_knows_its_language(db: str, tmp_path: Path) -> None:
    world = await _world(db, tmp_path)
    await Staff.filter(name="admin").update(language="en")
    await world["commands"].handle(Inbound("telegram", str(STAFF["admin"][2]), text="/status"))
    ((_, message),) = world["sent"]
    assert message.text == "No open round covers your buildings."
