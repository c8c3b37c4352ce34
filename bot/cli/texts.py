"""What the command line says, in the staff language (``LOUZHANG_LANGUAGE``, zh-CN by default):
help, summaries and errors. ``say(key, **values)`` picks the language; ``count(n, noun)`` writes
"1 household" / "2 households" in English and "2 户" in Chinese."""

from __future__ import annotations

import os
from typing import Any

from config.i18n import Catalog, normalise_language, text

CLI_TEXTS: Catalog = {
    # ---- louzhang ----
    "description": {
        "zh-CN": "楼长 louzhang：小区问卷和核酸叫号",
        "en": "楼长 louzhang: estate surveys and call-ups",
    },
    "unexpected": {"zh-CN": "出错了", "en": "error"},
    "demo_note": {
        "zh-CN": "演示数据：这个数据库里是演示小区（虚构的住户）；第一次 `import residents` "
        "导入您的住户名单时会替换它",
        "en": "DEMO DATA: this database holds the demo estate (fake residents); your first "
        "`import residents` replaces it",
    },
    # ---- groups ----
    "g_db": {"zh-CN": "数据库结构", "en": "database schema"},
    "g_import": {"zh-CN": "导入数据", "en": "import data"},
    "g_demo": {"zh-CN": "演示数据", "en": "demo data"},
    "g_staff": {"zh-CN": "居委工作人员", "en": "committee staff"},
    "g_survey": {"zh-CN": "问卷轮次", "en": "survey rounds"},
    "g_outbox": {"zh-CN": "待发送的消息队列", "en": "the queue of outbound messages"},
    "g_drive": {"zh-CN": "核酸叫号，一层一层叫", "en": "testing call-ups, floor by floor"},
    "h_audit": {
        "zh-CN": "工作人员操作记录（最新的在前）",
        "en": "the audit log of staff actions, newest first",
    },
    "h_audit_staff": {
        "zh-CN": "只看这位工作人员的操作（姓名）",
        "en": "only this staff member's actions (their name)",
    },
    "h_limit": {"zh-CN": "最多显示几条", "en": "how many lines at most"},
    "h_run": {
        "zh-CN": "启动服务（网页、发送、Telegram）",
        "en": "start the service (web server, dispatcher, Telegram)",
    },
    "h_worker": {
        "zh-CN": "只从发送队列发送（多个 worker 可共用一个 PostgreSQL 队列）",
        "en": "send from the outbox only (more workers may share a PostgreSQL outbox)",
    },
    "g_pickup": {"zh-CN": "取药名单", "en": "medicine pickup lists"},
    "h_pickup_list": {
        "zh-CN": "一轮用药问卷的取药名单，按楼和楼层（文本，或用 -o 写 XLSX）",
        "en": "a medication round's pickup lists, by building and floor (text, or XLSX with -o)",
    },
    "h_pickup_building": {
        "zh-CN": "如 7 或 1-5,7（默认：全部楼）",
        "en": "e.g. 7 or 1-5,7 (default: every building)",
    },
    "h_xlsx_output": {"zh-CN": "写成 XLSX 文件", "en": "write an XLSX file"},
    # argparse's own words
    "usage": {"zh-CN": "用法：", "en": "usage: "},
    "positionals": {"zh-CN": "参数", "en": "positional arguments"},
    "optionals": {"zh-CN": "选项", "en": "options"},
    "h_help": {"zh-CN": "显示本帮助并退出", "en": "show this help message and exit"},
    "arg_error": {"zh-CN": "{prog}：错误：{message}", "en": "{prog}: error: {message}"},
    "arg_required": {
        "zh-CN": "缺少必需的参数：{names}",
        "en": "the following arguments are required: {names}",
    },
    "arg_choice": {
        "zh-CN": "参数 {name}：不能是 {value}",
        "en": "argument {name}: invalid choice: {value}",
    },
    "arg_unknown": {"zh-CN": "不认识的参数：{names}", "en": "unrecognized arguments: {names}"},
    "arg_value": {
        "zh-CN": "参数 {name}：{value} 不是有效的{type}",
        "en": "argument {name}: invalid {type} value: {value}",
    },
    "type_int": {"zh-CN": "整数", "en": "int"},
    "type_float": {"zh-CN": "数字", "en": "float"},
    "arg_expected_one": {
        "zh-CN": "参数 {name} 后面要跟一个值",
        "en": "argument {name}: expected one argument",
    },
    "arg_not_with": {
        "zh-CN": "参数 {name} 不能和 {other} 一起用",
        "en": "argument {name}: not allowed with argument {other}",
    },
    "arg_ambiguous": {
        "zh-CN": "选项 {option} 不明确，可能是 {matches}",
        "en": "ambiguous option: {option} could match {matches}",
    },
    "arg_one_of": {
        "zh-CN": "必须给出其中一个参数：{names}",
        "en": "one of the arguments {names} is required",
    },
    "arg_reason": {"zh-CN": "参数 {name}：{reason}", "en": "argument {name}: {reason}"},
    "h_phone": {
        "zh-CN": "手机号（收短信提醒；没有 Telegram 时用）",
        "en": "mobile number (SMS alerts when there is no Telegram)",
    },
    "h_shift": {"zh-CN": "后勤班次 A 或 B", "en": "logistics shift A or B"},
    "h_staff_point": {
        "zh-CN": "采样点志愿者的采样点，如 B",
        "en": "a point volunteer's point, e.g. B",
    },
    # ---- run / worker ----
    "running_on": {
        "zh-CN": "louzhang 已在 {url} 运行（数据库：{db}）",
        "en": "louzhang on {url} (database: {db})",
    },
    "telegram_on": {"zh-CN": "Telegram：已开启（{mode}）", "en": "Telegram: on ({mode})"},
    "telegram_off": {
        "zh-CN": "Telegram：未开启（设置 LOUZHANG_TELEGRAM_TOKEN 即可开启）",
        "en": "Telegram: off (set LOUZHANG_TELEGRAM_TOKEN to turn it on)",
    },
    "sms_on": {"zh-CN": "短信：已开启（Twilio）", "en": "SMS: on (Twilio)"},
    "sms_off": {
        "zh-CN": "短信：未开启（设置 LOUZHANG_TWILIO_ACCOUNT_SID、LOUZHANG_TWILIO_AUTH_TOKEN 和 "
        "LOUZHANG_TWILIO_FROM 即可开启）",
        "en": "SMS: off (set LOUZHANG_TWILIO_ACCOUNT_SID, LOUZHANG_TWILIO_AUTH_TOKEN and "
        "LOUZHANG_TWILIO_FROM to turn it on)",
    },
    "simulated": {
        "zh-CN": "模拟器：{channels} 的消息都送到浏览器（没有设置服务商令牌）",
        "en": "Simulator: messages by {channels} are delivered to the browser (no provider "
        "token is set)",
    },
    "dashboard_link": {
        "zh-CN": "网页后台：打开 {link} 以 {name} 的身份登录（一次性链接）",
        "en": "dashboard: open {link} to log in as {name} (one-time link)",
    },
    "more_links": {
        "zh-CN": "需要更多链接：{command} staff login {name}",
        "en": "more links: {command} staff login {name}",
    },
    "no_staff_yet": {
        "zh-CN": "还没有工作人员：先添加第一位管理员 `{command} staff add 姓名 --role admin "
        "--phone +86...`，再用 `{command} staff login 姓名` 获取网页后台链接",
        "en": "no staff yet: add the first admin with `{command} staff add NAME --role admin "
        "--phone +86...`, then `{command} staff login NAME` for a dashboard link",
    },
    "ctrl_c": {"zh-CN": "按 Ctrl-C 停止。", "en": "Ctrl-C stops."},
    "stopping": {
        "zh-CN": "正在停止：发完正在发送的消息……",
        "en": "stopping: finishing messages in flight ...",
    },
    "worker_on": {
        "zh-CN": "worker {id}：通过 {channels} 发送",
        "en": "worker {id}: sending by {channels}",
    },
    "no_channel": {"zh-CN": "（没有开启任何渠道）", "en": "nothing (no channel is on)"},
    "worker_stopped": {
        "zh-CN": "worker 已停止：发送 {sent}，重试 {retried}，失败 {failed}，上次停止时有 {recovered} "
        "条正在发送",
        "en": "worker stopped: {sent} sent, {retried} retried, {failed} failed, {recovered} were "
        "in flight at the previous stop",
    },
    # ---- db ----
    "h_db_upgrade": {"zh-CN": "升级数据库结构", "en": "apply migrations"},
    "h_db_makemigrations": {
        "zh-CN": "（开发者）为模型的改动写迁移",
        "en": "(developers) write a migration for model changes",
    },
    "db_up_to_date": {"zh-CN": "数据库已是最新", "en": "database is up to date"},
    # ---- demo ----
    "h_demo_seed": {
        "zh-CN": "生成一个逼真的演示小区（25 栋楼，约 5000 位住户）",
        "en": "create a realistic demo estate (25 buildings, ~5,000 residents)",
    },
    "demo_seeded": {
        "zh-CN": "演示小区“{estate}”{state}：{buildings} 栋楼，{households} 户，{people} 人"
        "（{elderly_people} 人 {age} 岁以上），{contacts} 个联系方式；住户中：老人户 "
        "{elderly_households}，独居老人 {elderly_alone_households}，用短信 {sms_households}，"
        "用 Telegram {telegram_households}，说英语 {english_households}，行动不便 "
        "{home_bound_households}",
        "en": "demo estate '{estate}' {state}: {buildings} buildings, {households} households, "
        "{people} people ({elderly_people} aged {age}+), {contacts} contacts; households: "
        "{elderly_households} elderly, {elderly_alone_households} elderly living alone, "
        "{sms_households} SMS-preferred, {telegram_households} Telegram, "
        "{english_households} English-speaking, {home_bound_households} home-bound",
    },
    "demo_state_seeded": {"zh-CN": "已生成", "en": "seeded"},
    "demo_state_already": {
        "zh-CN": "早已生成，没有改动",
        "en": "already seeded, nothing changed",
    },
    "demo_beside_real": {
        "zh-CN": "这个数据库里已有真实住户，演示小区不能和他们放在一起。请放进单独的数据库，例如 "
        "LOUZHANG_DATABASE_URL=data/demo.sqlite3 louzhang demo seed",
        "en": "this database holds real residents; the demo estate never goes beside them. "
        "Seed it into a database of its own, e.g. "
        "LOUZHANG_DATABASE_URL=data/demo.sqlite3 louzhang demo seed",
    },
    # ---- import ----
    "h_import_residents": {
        "zh-CN": "从 CSV 或 XLSX 导入住户",
        "en": "import residents from CSV or XLSX",
    },
    "h_file": {"zh-CN": "住户名单文件（CSV 或 XLSX）", "en": "the residents file (CSV or XLSX)"},
    "h_dry_run_import": {"zh-CN": "只检查文件，不写入", "en": "check the file, write nothing"},
    "h_estate": {
        "zh-CN": "小区名称（默认：%(default)s）",
        "en": "estate name (default: %(default)s)",
    },
    "h_import_template": {
        "zh-CN": "写一个空白住户名单（XLSX 或 CSV），带中英文表头",
        "en": "write an empty residents file (XLSX or CSV) with both header languages",
    },
    "h_default": {"zh-CN": "（默认：%(default)s）", "en": "(default: %(default)s)"},
    "nothing_imported": {"zh-CN": "没有导入任何内容：{why}", "en": "nothing imported: {why}"},
    "import_dry_demo": {
        "zh-CN": "注意：这个数据库里是演示小区（虚构的住户）；正式导入这个文件会替换它",
        "en": "note: this database holds the demo estate (fake residents); importing this "
        "file for real replaces it",
    },
    "demo_gone": {
        "zh-CN": "演示小区已删除（{households}；演示工作人员：{staff}）：这个数据库现在只有您的住户",
        "en": "the demo estate is gone ({households}; demo staff: {staff}): this database now "
        "holds your residents only",
    },
    "template_written": {
        "zh-CN": "已写出住户名单模板 {path}（每人一行，填好后运行：louzhang import residents "
        "{path} --dry-run）",
        "en": "wrote a residents template to {path} (fill one row per person, then: "
        "louzhang import residents {path} --dry-run)",
    },
    "none": {"zh-CN": "无", "en": "none"},
    # ---- staff ----
    "h_staff_add": {"zh-CN": "添加工作人员", "en": "add a staff member"},
    "d_staff_add": {
        "zh-CN": """添加一位工作人员。角色：
  admin      管理员：全部楼栋；可添加工作人员，看到一切
  cadre      居委干部，负责 --buildings（如 1-5）：问卷、报表、通知、叫号
  officer    一栋楼的信息员（--buildings 7）：问卷、代答
  logistics  后勤志愿者（--shift A 或 B），负责 --buildings：取药、配送
  point      采样点志愿者（--point B）：控制和登记该采样点的叫号
每个操作都只限于本人负责的楼栋，并写入操作记录。

负责范围只属于一个小区：不同小区的楼号会重复（用 `import residents --estate` 导入的第二个小区
有自己的 1、2…号楼）。--buildings 可写成 小区:楼号（如 --buildings "东区:1-5,7"）来指明小区；
不写小区名时，范围属于唯一的小区，或唯一拥有这些楼号的小区；若多个小区都有这些楼号，
staff add 会拒绝并要求写明小区。以前添加的工作人员（未写小区）保留其所关联楼栋的小区；
其他小区的任何内容都不会显示给他们。""",
        "en": """Add a staff member. Roles:
  admin      every building; adds staff, sees everything
  cadre      committee cadre for --buildings (e.g. 1-5): surveys, reports, notices, call-ups
  officer    the information officer of ONE building (--buildings 7): surveys, proxy answers
  logistics  logistics volunteer (--shift A or B) for --buildings: medicine pickups, deliveries
  point      sampling-point volunteer (--point B): paces and marks that point's call-up
Every action is limited to the staff member's buildings and written to the audit log.

A scope names ONE estate: building numbers repeat across estates (a second estate imported
with `import residents --estate` has its own buildings 1, 2, ...). Write --buildings as
ESTATE:RANGES (e.g. --buildings "东区:1-5,7") to name it; without a name the scope is in the
only estate, or in the one estate that has all those buildings; when several estates have them,
staff add refuses and asks for the name. Staff added before (no estate written) keep the estate
of the buildings they were linked to; nothing of another estate is ever shown to them.""",
    },
    "h_role": {"zh-CN": "见上面的角色说明", "en": "see the roles above"},
    "h_buildings": {
        "zh-CN": "[小区:]楼号，如 1-5,7 或 东区:1-5,7（见上：负责范围只属于一个小区）",
        "en": "[ESTATE:]RANGES, e.g. 1-5,7 or 东区:1-5,7 (see above: a scope names one estate)",
    },
    "h_staff_list": {"zh-CN": "列出工作人员", "en": "list staff"},
    "h_staff_login": {
        "zh-CN": "打印一个网页后台的一次性登录链接",
        "en": "print a one-time login link to the web dashboard",
    },
    "h_staff_remove": {
        "zh-CN": "移除工作人员（其网页登录随之失效）",
        "en": "remove a staff member (ends their web sessions)",
    },
    "h_staff_change": {
        "zh-CN": "修改工作人员的角色或楼栋（其网页登录随之失效）",
        "en": "change a staff member's role or buildings (ends their web sessions)",
    },
    "d_staff_change": {
        "zh-CN": "修改工作人员的角色、楼栋、班次或采样点；未给出的保持不变。其网页登录失效，需重新登录。",
        "en": "Change a staff member's role, buildings, shift or point; what is not given stays. "
        "Their web sessions end: they log in again.",
    },
    "h_buildings_change": {
        "zh-CN": "[小区:]楼号，如 1-5,7（替换原来的楼栋）",
        "en": "[ESTATE:]RANGES, e.g. 1-5,7 (replaces the list)",
    },
    "staff_changed": {
        "zh-CN": "工作人员 {id}：{name}（{role}）；其网页登录已失效",
        "en": "staff {id}: {name} ({role}); their web sessions were ended",
    },
    "staff_added": {
        "zh-CN": "工作人员 {id}：{name}（{role}）",
        "en": "staff {id}: {name} ({role})",
    },
    "staff_removed": {"zh-CN": "已移除 {name}", "en": "removed {name}"},
    "no_staff_named": {
        "zh-CN": "没有名为 {name!r} 的工作人员",
        "en": "no staff member named {name!r}",
    },
    "no_active_staff_named": {
        "zh-CN": "没有名为 {name!r} 的在职工作人员",
        "en": "no active staff member named {name!r}",
    },
    "login_link_for": {
        "zh-CN": "{name} 的一次性登录链接，{minutes:g} 分钟内有效：",
        "en": "one-time login link for {name}, valid {minutes:g} minutes:",
    },
    # ---- survey (list, report, close) ----
    "h_survey_report": {"zh-CN": "导出一轮问卷的结果", "en": "write a round's results"},
    "h_survey_list": {"zh-CN": "列出问卷和轮次", "en": "list surveys and rounds"},
    "h_survey_close": {"zh-CN": "关闭一轮问卷", "en": "close a round"},
    "surveys": {"zh-CN": "问卷：{slugs}", "en": "surveys: {slugs}"},
    "survey_item": {"zh-CN": "{slug}（{title}）", "en": "{slug} ({title})"},
    "times_in": {"zh-CN": "（时间为 {zone}，{offset}）", "en": "(times in {zone}, {offset})"},
    "round_line": {
        "zh-CN": "第 {id} 轮：{survey}（{title}）{status}，{opened} 发起{closes}",
        "en": "round {id}: {survey} {status}, opened {opened}{closes}",
    },
    "round_closes": {"zh-CN": "，{at} 截止", "en": ", closes {at}"},
    "round_no_deadline": {"zh-CN": "，无截止时间", "en": ", no deadline"},
    "status_open": {"zh-CN": "进行中", "en": "open"},
    "status_closed": {"zh-CN": "已关闭", "en": "closed"},
    "no_round": {"zh-CN": "没有第 {id} 轮", "en": "no round {id}"},
    "not_medication_round": {
        "zh-CN": "第 {id} 轮是 {survey!r} 问卷，不是用药问卷（medication）",
        "en": "round {id} is a {survey!r} round, not 'medication'",
    },
    "pickup_written": {
        "zh-CN": "已把 {buildings} 栋楼的 {items} 种药写到 {path}",
        "en": "wrote {items} medicines of {buildings} building(s) to {path}",
    },
    "h_slug": {"zh-CN": "问卷名称，如 antigen", "en": "the survey, e.g. antigen"},
    "h_round": {
        "zh-CN": "轮次编号（见 survey list）",
        "en": "the round's number (see survey list)",
    },
    "h_report_format": {
        "zh-CN": "csv 或 xlsx（默认按 -o 的扩展名）",
        "en": "csv or xlsx (default: from the -o file name)",
    },
    "h_report_output": {
        "zh-CN": "写到这个文件（默认：CSV 打印到屏幕）",
        "en": "write to this file (default: CSV on the screen)",
    },
    "h_seed": {
        "zh-CN": "随机种子（默认：%(default)s）",
        "en": "random seed (default: %(default)s)",
    },
    "h_outbox_status": {
        "zh-CN": "按状态、渠道和优先级计数；最久的等待；最近的错误",
        "en": "counts by status, channel and priority; oldest waiting; last errors",
    },
    "xlsx_needs_output": {
        "zh-CN": "--format xlsx 需要 -o 文件名",
        "en": "--format xlsx needs -o FILE",
    },
    "wrote_rows": {"zh-CN": "已写出 {rows} 行到 {path}", "en": "wrote {rows} rows to {path}"},
    "no_open_round": {"zh-CN": "没有进行中的第 {id} 轮", "en": "no open round {id}"},
    "round_closed": {
        "zh-CN": "第 {id} 轮已关闭；{dropped}已取消",
        "en": "round {id} closed; {dropped} dropped",
    },
    # ---- survey open ----
    "h_survey_open": {
        "zh-CN": "发起一轮问卷并发出第一个问题",
        "en": "open a round and send its first question",
    },
    "h_open_buildings": {
        "zh-CN": "如 1-5,7（默认：全部楼）",
        "en": "e.g. 1-5,7 (default: every building)",
    },
    "h_open_estate": {
        "zh-CN": "只发给这个小区的楼（不同小区楼号会重复；默认：全部小区）",
        "en": "only this estate's buildings (numbers repeat across estates; default: every estate)",
    },
    "h_closes_in": {"zh-CN": "多久后截止，如 6h、90m", "en": "e.g. 6h, 90m"},
    "h_remind": {
        "zh-CN": "截止前多久提醒没填完的住户（默认：2h,30m）",
        "en": "reminders to households not finished, before the deadline (default: 2h,30m)",
    },
    "h_dry_run_open": {
        "zh-CN": "只打印将要发送的内容（各渠道户数、短信费用、截止和提醒时间），不做任何改动",
        "en": "print what would be sent (households by channel, SMS cost, deadline, reminders) "
        "and change nothing",
    },
    "remind_needs_deadline": {
        "zh-CN": "--remind 需要同时给出 --closes-in（提醒是从截止时间往前算的）",
        "en": "--remind needs --closes-in (reminders are counted back from the deadline)",
    },
    "no_survey_named": {
        "zh-CN": "没有名为 {slug!r} 的问卷（已有：{known}）",
        "en": "no built-in survey {slug!r} (known: {known})",
    },
    "no_estate_named": {"zh-CN": "没有名为 {name!r} 的小区", "en": "no estate named {name!r}"},
    "no_provider_note": {
        "zh-CN": "注意：没有开启任何服务商（没有 Telegram 或 Twilio 令牌），正在运行的 "
        "`louzhang run` 会把这些消息送到浏览器模拟器；真实住户收不到",
        "en": "note: no provider is on (no Telegram or Twilio token), so a running `louzhang run` "
        "delivers these messages to the browser simulator; real residents get nothing",
    },
    "no_households_warning": {
        "zh-CN": "警告：这些楼里没有住户（请先导入住户）",
        "en": "warning: no households in those buildings (import residents first)",
    },
    "opened_households": {"zh-CN": "住户：{households}", "en": "{households}"},
    "opened_by_channels": {
        "zh-CN": "住户：{households}（{channels}）",
        "en": "{households}: {channels}",
    },
    "by_channel": {"zh-CN": "{channel} {count} 户", "en": "{count} by {channel}"},
    "channel_sep": {"zh-CN": "，", "en": ", "},
    "channel_telegram": {"zh-CN": "Telegram", "en": "telegram"},
    "channel_sms": {"zh-CN": "短信", "en": "sms"},
    "channel_voice": {"zh-CN": "电话语音", "en": "voice"},
    "channel_local": {"zh-CN": "模拟器", "en": "local"},
    "opened_sms": {
        "zh-CN": "短信：{segments} 条计费段，约 ${cost}",
        "en": "SMS: {segments} segments, about ${cost}",
    },
    "opened_waiting": {
        "zh-CN": "{households}正在填写其他问卷，填完后收到本轮",
        "en": "{households} answering another round get this one next",
    },
    "opened_ahead_of": {
        "zh-CN": "{households}还没开始填第 {older} 轮：先收到本轮",
        "en": "{households} had not started round {older}: they get this one first",
    },
    "opened_unreachable": {
        "zh-CN": "{households}没有可用的联系方式（见报表）",
        "en": "{households} with no reachable contact (see the report)",
    },
    "opened_reminders": {
        "zh-CN": "截止前提醒：{offsets}",
        "en": "reminders before the deadline: {offsets}",
    },
    "offset_sep": {"zh-CN": "、", "en": ", "},
    # ---- drive ----
    "h_drive_start": {"zh-CN": "开始一次按楼层的核酸叫号", "en": "start a floor-by-floor call-up"},
    "h_points": {
        "zh-CN": '采样点和它们负责的楼，如 "A:1-4,B:5-8"',
        "en": 'points and their buildings, e.g. "A:1-4,B:5-8"',
    },
    "h_start": {"zh-CN": "now、HH:MM 或 ISO-8601", "en": "now, HH:MM or ISO-8601"},
    "h_interval": {"zh-CN": "两批之间的间隔，如 5m", "en": "time between batches, e.g. 5m"},
    "h_lead": {"zh-CN": "提前多久发“准备”，如 10m", "en": '"get ready" this long before, e.g. 10m'},
    "h_batch": {
        "zh-CN": "floor（一层）、half（半栋）或 Nfloors（默认：floor）",
        "en": "floor, half or Nfloors (default: floor)",
    },
    "h_locations": {
        "zh-CN": '各采样点的位置，如 "A=东门广场,B=北门"',
        "en": 'where each point is, e.g. "A=东门广场,B=北门"',
    },
    "h_capacity": {"zh-CN": "每批在一个采样点最多几人", "en": "most people per batch at a point"},
    "h_share": {
        "zh-CN": "adaptive：回复 1 的比例达到多少就叫下一批",
        "en": "adaptive: share of 1-replies to advance",
    },
    "h_min_interval": {
        "zh-CN": "adaptive：最短间隔（默认：interval/2）",
        "en": "adaptive: never sooner (default: interval/2)",
    },
    "h_max_interval": {
        "zh-CN": "adaptive：最长间隔（默认：interval*2）",
        "en": "adaptive: never later (default: interval*2)",
    },
    "h_dry_run_drive": {"zh-CN": "只预览，不开始", "en": "show the preview, start nothing"},
    "h_drive_status": {
        "zh-CN": "各楼层已完成/召集中/准备/等待、回复、上门名单",
        "en": "floors done/called/ready/waiting, replies, door-to-door",
    },
    "h_drive_id": {
        "zh-CN": "叫号编号（默认：最新进行中的）",
        "en": "drive id (default: the latest running)",
    },
    "h_drive_limit": {"zh-CN": "每个名单最多列几户", "en": "most households listed per list"},
    "h_next": {
        "zh-CN": "立即叫某采样点的下一批；后面的时间表提前",
        "en": "call a point's next batch now; the rest of its schedule moves up",
    },
    "h_pause": {
        "zh-CN": "暂停某采样点，恢复前不叫新的批次",
        "en": "call nothing new at a point until resume",
    },
    "h_resume": {
        "zh-CN": "恢复某采样点；时间表顺延暂停的时长",
        "en": "resume a point; its schedule moves later by the pause",
    },
    "h_skip": {"zh-CN": "不叫某采样点的下一批", "en": "do not call a point's next batch"},
    "h_cancel": {
        "zh-CN": "停止叫号；排队中的通知不再发送",
        "en": "stop a drive; queued call-ups are dropped",
    },
    "h_point": {"zh-CN": "采样点名称，如 A", "en": "the point's name, e.g. A"},
    "nobody_to_call": {
        "zh-CN": "警告：这些楼里没有可叫的住户（请先导入住户）",
        "en": "warning: nobody to call in those buildings (import residents first)",
    },
    "drive_dry_run": {"zh-CN": "预览：没有开始叫号", "en": "dry run: nothing was started"},
    "no_drive_yet": {
        "zh-CN": "还没有叫号（用 louzhang drive start 开始）",
        "en": "no drive yet (start one with louzhang drive start)",
    },
    "no_drive": {"zh-CN": "没有第 {id} 次叫号", "en": "no drive {id}"},
    "drive_cancelled": {
        "zh-CN": "第 {id} 次叫号已取消；{dropped} 条排队中的消息不再发送",
        "en": "drive {id} cancelled; {dropped} queued messages dropped",
    },
    "point_nexted": {
        "zh-CN": "采样点 {point}：第 {seq} 批（{building}号楼）现在开始叫",
        "en": "point {point}: batch {seq} (building {building}) is called now",
    },
    "point_paused": {"zh-CN": "采样点 {point} 已暂停", "en": "point {point} paused"},
    "point_resumed": {
        "zh-CN": "采样点 {point} 已恢复；时间表顺延 {seconds} 秒",
        "en": "point {point} resumed; its schedule moved {seconds}s later",
    },
    "point_skipped": {
        "zh-CN": "采样点 {point}：第 {seq} 批（{building}号楼）已跳过",
        "en": "point {point}: batch {seq} (building {building}) skipped",
    },
}

#: Why a value of --buildings, --closes-in, --remind, --interval ... cannot be read, in Chinese
#: (the parsers of the lower layers say it in English; en keeps their words).
ARG_REASONS_ZH: tuple[tuple[str, str], ...] = (
    (
        r"empty duration; .*",
        "时长为空；请写成整数加 s、m 或 h，如 20s、5m、1h30m",
    ),
    (
        r"(?P<v>.+) has no unit; add s, m or h \(e\.g\. (?P<a>\S+) or (?P<b>\S+)\)",
        r"\g<v> 没有单位；请加上 s、m 或 h（如 \g<a> 或 \g<b>）",
    ),
    (
        r"(?P<v>.+) is not a duration; .*",
        r"\g<v> 不是时长；请用整数加 s、m 或 h，大单位在前，如 20s、5m、1h 或 1h30m",
    ),
    (r"no buildings given \(expected something like 1-5,7\)", "没有给出楼号（应写成 1-5,7 这样）"),
    (
        r"(?P<v>.+) is not a building number or range \(expected something like 1-5,7\)",
        r"\g<v> 不是楼号或楼号范围（应写成 1-5,7 这样）",
    ),
    (r"range (?P<v>.+) runs backwards \(write (?P<w>\S+)\)", r"范围 \g<v> 写反了（应写成 \g<w>）"),
    (r"an estate name goes before the ':' \(东区:1-5\)", "小区名写在“:”前面（如 东区:1-5）"),
)


#: Nouns that are counted: English singular and plural, Chinese measure word and noun.
NOUNS: dict[str, dict[str, tuple[str, str]]] = {
    "household": {"en": ("household", "households"), "zh-CN": ("户", "户")},
    "fake household": {"en": ("fake household", "fake households"), "zh-CN": ("户虚构住户", "")},
    "unsent message": {
        "en": ("unsent message", "unsent messages"),
        "zh-CN": ("条未发送的消息", ""),
    },
}


def cli_language() -> str:
    """The staff language: ``LOUZHANG_LANGUAGE`` (settings, then the environment), zh-CN by
    default. Never fails: a broken setting elsewhere must not hide the help."""
    try:
        from config.settings import get_settings

        return normalise_language(get_settings().language)
    except Exception:
        return normalise_language(os.environ.get("LOUZHANG_LANGUAGE"))


def say(key: str, **values: Any) -> str:
    return text(CLI_TEXTS, key, cli_language(), **values)


def arg_reason(reason: str) -> str:
    """An argument type's reason (English, from the parsers) in the staff language."""
    import re

    if cli_language() == "en":
        return reason
    for pattern, chinese in ARG_REASONS_ZH:
        found = re.fullmatch(pattern, reason)
        if found:
            return found.expand(chinese)
    return reason


def count(n: int, noun: str) -> str:
    """ "1 household", "2 households"; "2 户" in Chinese."""
    lang = cli_language()
    one, many = NOUNS[noun][lang]
    if lang == "en":
        return f"{n} {one if n == 1 else many}"
    return f"{n} {one}"
