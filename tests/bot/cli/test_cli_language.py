"""The command line speaks the staff language (LOUZHANG_LANGUAGE, zh-CN by default): help,
summaries and errors, each in both languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli.texts import CLI_TEXTS
from config.i18n import check_catalog
from tests.bot.cli.test_cli import GOOD, louzhang

WORDS = {
    "zh-CN": {
        "help": ("用法：louzhang", "小区问卷和核酸叫号", "选项", "显示本帮助并退出"),
        "drive_help": ("开始一次按楼层的核酸叫号", "暂停某采样点"),
        "staff_add_help": ("居委干部", "采样点志愿者"),
        "missing": "缺少必需的参数：point",
        "no_staff": "没有名为 'nobody' 的工作人员",
        "no_drive": "还没有叫号",
        "added": "工作人员 1：王芳（cadre）",
        "list": (
            "问卷：",
            "第 1 轮：antigen（今日抗原检测）进行中",
            "antigen（今日抗原检测）",
            "时间为 Asia/Shanghai，UTC+08:00",
        ),
        "closed": "第 1 轮已关闭",
        "imported": "将新建：1 栋楼，2 户，3 人",
        "problems": "1 处问题；没有导入任何内容",
        "problem_line": "第 2 行：室号 '12'：号码里看不出楼层（请填写楼层一列）",
    },
    "en": {
        "help": ("usage: louzhang", "estate surveys and call-ups", "options", "show this help"),
        "drive_help": ("start a floor-by-floor call-up", "call nothing new at a point"),
        "staff_add_help": ("committee cadre", "sampling-point volunteer"),
        "missing": "the following arguments are required: point",
        "no_staff": "no staff member named 'nobody'",
        "no_drive": "no drive yet",
        "added": "staff 1: 王芳 (cadre)",
        "list": (
            "surveys: antigen (",
            "round 1: antigen open",
            "(times in Asia/Shanghai, UTC+08:00)",
        ),
        "closed": "round 1 closed",
        "imported": "would create: 1 buildings, 2 households, 3 people",
        "problems": "1 problem; nothing was imported",
        "problem_line": "line 2: 室号 '12': has no floor in its number (fill in the floor column)",
    },
}


def test_every_cli_text_exists_in_both_languages() -> None:
    assert check_catalog(CLI_TEXTS) == []


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_help_summaries_and_errors_in_the_staff_language(tmp_path: Path, language: str) -> None:
    words = WORDS[language]

    def cli(*args: str):  # type: ignore[no-untyped-def]
        return louzhang(tmp_path, *args, language=language)

    top = cli("--help")
    assert top.returncode == 0 and all(w in top.stdout for w in words["help"]), top.stdout
    drive = cli("drive", "--help").stdout
    assert all(w in drive for w in words["drive_help"]), drive
    staff = cli("staff", "add", "--help").stdout
    assert all(w in staff for w in words["staff_add_help"]), staff
    missing = cli("drive", "next")
    assert missing.returncode == 2 and words["missing"] in missing.stderr
    assert words["no_staff"] in cli("staff", "remove", "nobody").stderr
    assert words["no_drive"] in cli("drive", "status").stderr
    added = cli("staff", "add", "王芳", "--role", "cadre")
    assert added.returncode == 0 and words["added"] in added.stdout, added.stderr
    residents = tmp_path / "residents.csv"
    residents.write_bytes(GOOD.encode("utf-8"))
    dry = cli("import", "residents", str(residents), "--dry-run")
    assert words["imported"] in dry.stdout, dry.stdout
    broken = tmp_path / "broken.csv"
    broken.write_bytes("\ufeff楼号,楼层,室号,姓名,电话\r\n3,,12,王芳,13800138000\r\n".encode())
    rejected = cli("import", "residents", str(broken))
    assert rejected.returncode == 2 and words["problems"] in rejected.stderr
    assert "室号 '12'" in rejected.stderr  # the header the file used, not "room"
    assert words["problem_line"] in rejected.stderr, rejected.stderr
    assert cli("import", "residents", str(residents)).returncode == 0
    assert cli("survey", "open", "antigen", "--closes-in", "6h").returncode == 0
    listed = cli("survey", "list").stdout
    assert all(w in listed for w in words["list"]), listed
    closed = cli("survey", "close", "1")
    assert closed.returncode == 0 and words["closed"] in closed.stdout


def test_chinese_is_the_default(tmp_path: Path) -> None:
    result = louzhang(tmp_path, "--help", language="")
    assert "用法：louzhang" in result.stdout


def test_run_says_which_channels_are_on_in_chinese(tmp_path: Path) -> None:
    """`louzhang run` (default language) names the channels and the simulator in Chinese."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import free_port

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LOUZHANG_")},
        "LOUZHANG_DATABASE_URL": f"sqlite://{tmp_path}/run.sqlite3",
        "LOUZHANG_HTTP_PORT": str(free_port()),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if "Ctrl-C" in line:
            break
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    output = "".join(seen)
    assert "Telegram：未开启" in output and "短信：未开启" in output, output
    assert "网页后台：打开 http" in output and "按 Ctrl-C 停止。" in output


OPEN_WORDS = {
    "zh-CN": {
        "households": "住户：3 户（短信 2 户）",
        "unreachable": "1 户没有可用的联系方式（见报表）",
        "sms": "短信：",
        "reminders": "截止前提醒：1小时、30分钟",
        "ahead_of": "2 户还没开始填第 1 轮：先收到本轮",
        "no_provider": "注意：没有开启任何服务商",
        "remind_alone": "--remind 需要同时给出 --closes-in",
        "no_estate": "没有名为 '北区' 的小区",
        "no_survey": "没有名为 'nope' 的问卷",
        "empty": "警告：这些楼里没有住户",
        "help": ("发起一轮问卷并发出第一个问题", "多久后截止"),
    },
    "en": {
        "households": "3 households: 2 by sms",
        "unreachable": "1 household with no reachable contact (see the report)",
        "sms": "SMS: ",
        "reminders": "reminders before the deadline: 1h, 30m",
        "ahead_of": "2 households had not started round 1: they get this one first",
        "no_provider": "note: no provider is on",
        "remind_alone": "--remind needs --closes-in",
        "no_estate": "no estate named '北区'",
        "no_survey": "no built-in survey 'nope'",
        "empty": "warning: no households in those buildings",
        "help": ("open a round and send its first question", "e.g. 6h, 90m"),
    },
}

NO_PHONE = (
    "\ufeff楼号,楼层,室号,姓名,电话,出生年份\r\n"
    "3,,1203室,王芳,138 0013 8000,1980\r\n"
    "3,5,502,张伯,136 0013 6000,1940\r\n"
    "3,7,701,赵婆婆,,1935\r\n"
)


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_survey_open_speaks_the_staff_language(tmp_path: Path, language: str) -> None:
    """Households by channel, SMS cost, reminders, rounds waiting behind it, the notes and the
    errors of `survey open` are in the staff language; the last line stays `round N` (scripts
    read it, DESIGN)."""
    words = OPEN_WORDS[language]

    def cli(*args: str):  # type: ignore[no-untyped-def]
        return louzhang(tmp_path, *args, language=language)

    helped = cli("survey", "open", "--help").stdout
    assert all(w in helped for w in words["help"]), helped
    residents = tmp_path / "residents.csv"
    residents.write_bytes(NO_PHONE.encode("utf-8"))
    assert cli("import", "residents", str(residents)).returncode == 0
    refused = cli("survey", "open", "antigen", "--remind", "1h")
    assert refused.returncode == 2 and words["remind_alone"] in refused.stderr, refused.stderr
    nowhere = cli("survey", "open", "antigen", "--estate", "北区")
    assert nowhere.returncode == 2 and words["no_estate"] in nowhere.stderr, nowhere.stderr
    unknown = cli("survey", "open", "nope")
    assert unknown.returncode == 2 and words["no_survey"] in unknown.stderr, unknown.stderr

    opened = cli("survey", "open", "antigen", "--closes-in", "6h", "--remind", "1h,30m")
    assert opened.returncode == 0, opened.stderr
    lines = opened.stdout.splitlines()
    for key in ("households", "unreachable", "sms", "reminders"):
        assert any(words[key] in line for line in lines), (key, opened.stdout)
    assert lines[-1] == "round 1"
    assert words["no_provider"] in opened.stderr
    assert ("segments" in opened.stdout) is (language == "en")

    newer = cli("survey", "open", "medication")
    assert newer.returncode == 0, newer.stderr
    assert words["ahead_of"] in newer.stdout, newer.stdout
    assert newer.stdout.splitlines()[-1] == "round 2"

    empty = cli("survey", "open", "antigen", "--buildings", "9")
    assert empty.returncode == 0 and words["empty"] in empty.stderr, empty.stderr
    assert empty.stdout.splitlines()[-1] == "round 3"


MORE_WORDS = {
    "zh-CN": {
        "backwards": "参数 --buildings：范围 '5-1' 写反了（应写成 1-5）",
        "no_unit": "参数 --closes-in：'5' 没有单位；请加上 s、m 或 h",
        "not_int": "参数 --limit：'x' 不是有效的整数",
        "one_value": "参数 --closes-in 后面要跟一个值",
        "no_round": "没有第 99 轮",
        "staff": (
            "已经有一位名为 '李' 的工作人员",
            "信息员只负责一栋楼",
            "不是有效的电话号码",
            "小区 'default' 没有这些楼：9",
        ),
        "no_point": "第 1 次叫号没有采样点 'Z'（采样点：A）",
        "cancelled": "第 1 次叫号已经取消",
        "demo": ("演示小区“", "已生成：25 栋楼，1800 户", "独居老人"),
    },
    "en": {
        "backwards": "argument --buildings: range '5-1' runs backwards (write 1-5)",
        "no_unit": "argument --closes-in: '5' has no unit; add s, m or h",
        "not_int": "argument --limit: invalid int value: 'x'",
        "one_value": "argument --closes-in: expected one argument",
        "no_round": "no round 99",
        "staff": (
            "a staff member named '李' exists already",
            "an information officer looks after exactly one building",
            "not a valid phone number",
            "no such building(s) in estate 'default': 9",
        ),
        "no_point": "drive 1 has no point 'Z' (points: A)",
        "cancelled": "drive 1 is cancelled",
        "demo": ("demo estate '", "seeded: 25 buildings, 1800 households", "elderly living alone"),
    },
}


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_argument_errors_drive_errors_and_the_demo_in_the_staff_language(
    tmp_path: Path, language: str
) -> None:
    words = MORE_WORDS[language]

    def cli(*args: str):  # type: ignore[no-untyped-def]
        return louzhang(tmp_path, *args, language=language)

    for key, args in (
        ("backwards", ("survey", "open", "antigen", "--buildings", "5-1")),
        ("no_unit", ("survey", "open", "antigen", "--closes-in", "5")),
        ("not_int", ("drive", "status", "--limit", "x")),
        ("one_value", ("survey", "open", "antigen", "--closes-in")),
    ):
        refused = cli(*args)
        assert refused.returncode == 2 and words[key] in refused.stderr, (key, refused.stderr)
    for args in (("survey", "report", "99"), ("pickup", "list", "99")):
        missing = cli(*args)
        assert missing.returncode == 2 and words["no_round"] in missing.stderr, missing.stderr

    residents = tmp_path / "residents.csv"
    residents.write_bytes(GOOD.encode("utf-8"))
    assert cli("import", "residents", str(residents)).returncode == 0
    assert cli("staff", "add", "李", "--role", "cadre").returncode == 0
    for expected, args in zip(
        words["staff"],
        (
            ("staff", "add", "李", "--role", "cadre"),
            ("staff", "add", "周", "--role", "officer"),
            ("staff", "add", "吴", "--role", "cadre", "--phone", "12345"),
            ("staff", "change", "李", "--buildings", "9"),
        ),
        strict=True,
    ):
        refused = cli(*args)
        assert refused.returncode == 2 and expected in refused.stderr, (expected, refused.stderr)
    started = cli(
        "drive", "start", "--points", "A:3", "--start", "now", "--interval", "5m", "--lead", "2m"
    )
    assert started.returncode == 0, started.stderr
    unknown = cli("drive", "pause", "Z")
    assert unknown.returncode == 2 and words["no_point"] in unknown.stderr, unknown.stderr
    assert cli("drive", "cancel").returncode == 0
    late = cli("drive", "next", "A", "--drive", "1")
    assert late.returncode == 2 and words["cancelled"] in late.stderr, late.stderr

    (tmp_path / "demo").mkdir()
    demo = louzhang(tmp_path / "demo", "demo", "seed", language=language)
    assert demo.returncode == 0, demo.stderr
    assert all(w in demo.stdout for w in words["demo"]), demo.stdout
