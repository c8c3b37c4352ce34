"""Texts staff see (zh-CN and en): command menu, replies. Alerts and the not-reached list are
in surveys/alerts.py and surveys/reminders.py."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    # ---- command menu --------------------------------------------------------------------
    "menu_survey": {"zh-CN": "发起调查", "en": "Open a survey round"},
    "menu_status": {"zh-CN": "各楼填报进度", "en": "Completion by building"},
    "menu_report": {"zh-CN": "调查结果表格（XLSX）", "en": "Round results (XLSX)"},
    "menu_remind": {"zh-CN": "立即提醒未填报的住户", "en": "Remind non-responders now"},
    "menu_notice": {"zh-CN": "发通知（可附照片）", "en": "Send a notice (photo optional)"},
    "menu_answer": {"zh-CN": "代住户填报", "en": "Answer for a household"},
    "menu_drive": {
        "zh-CN": "核酸召集：发起 / status / cancel",
        "en": "Testing call-up: start / status / cancel",
    },
    "menu_next": {"zh-CN": "立即召集下一批", "en": "call the next batch now"},
    "menu_pause": {"zh-CN": "暂停本采样点", "en": "pause a point"},
    "menu_resume": {"zh-CN": "恢复本采样点", "en": "resume a point"},
    "menu_skip": {"zh-CN": "跳过下一批", "en": "skip the next batch"},
    "menu_mark": {"zh-CN": "登记住户：/mark 7-1203 1", "en": "mark a household: /mark 7-1203 1"},
    "menu_pickup": {"zh-CN": "配药清单（值班班次）", "en": "Medicine pickup list (shift on duty)"},
    "menu_delivery": {"zh-CN": "大批到货：通知A、B两班", "en": "Large delivery: call both shifts"},
    "menu_questions": {"zh-CN": "今天的居民问题", "en": "Residents' questions today"},
    "menu_reply": {
        "zh-CN": "答复一类问题：/reply 编号 内容",
        "en": "Answer a group: /reply N text",
    },
    # ---- scope ---------------------------------------------------------------------------
    "outside_scope": {
        "zh-CN": "⛔ 您没有权限操作 {buildings} 号楼（您负责：{mine}）。此次操作已记录。",
        "en": "⛔ You may not act on building(s) {buildings} (yours: {mine}). This attempt is "
        "recorded.",
    },
    "outside_scope_toast": {"zh-CN": "没有权限", "en": "Not allowed"},
    "scope_all": {"zh-CN": "全部楼", "en": "all buildings"},
    "scope_none": {"zh-CN": "无", "en": "none"},
    "bad_buildings": {
        "zh-CN": "看不懂楼号“{value}”。请写成 7 或 1-5,7。",
        "en": "Cannot read the buildings “{value}”. Write them as 7 or 1-5,7.",
    },
    # ---- /status -------------------------------------------------------------------------
    "status_none": {
        "zh-CN": "您负责的楼目前没有进行中的调查。",
        "en": "No open round covers your buildings.",
    },
    "status_round": {
        "zh-CN": "📋 第{round}轮「{title}」{deadline}",
        "en": "📋 Round {round} “{title}”{deadline}",
    },
    "status_deadline": {"zh-CN": "，截止 {time}", "en": ", closes {time}"},
    "status_line": {
        "zh-CN": "{building}号楼：已填 {answered}/{total}，填写中 {in_progress}，未联系上 {other}",
        "en": "Building {building}: {answered}/{total} answered, {in_progress} in progress, "
        "{other} not reached",
    },
    # ---- /report -------------------------------------------------------------------------
    "report_none": {
        "zh-CN": "没有找到涉及您负责楼的调查轮次。",
        "en": "No round covers your buildings.",
    },
    "no_round": {"zh-CN": "没有第{round}轮调查。", "en": "There is no round {round}."},
    "report_caption": {
        "zh-CN": "第{round}轮「{title}」结果：{rows}行（{buildings}号楼）",
        "en": "Round {round} “{title}” results: {rows} rows (buildings {buildings})",
    },
    # ---- /remind -------------------------------------------------------------------------
    "remind_done": {
        "zh-CN": "已提醒 {count} 户未填完的住户（第{round}轮）。",
        "en": "Reminded {count} households that have not finished (round {round}).",
    },
    # ---- /notice -------------------------------------------------------------------------
    "notice_usage": {
        "zh-CN": "用法：/notice 楼号 通知内容，例如 /notice 7,8 今天楼道已消毒。要附照片，"
        "请发照片并把这条指令写在照片说明里。",
        "en": "Usage: /notice BUILDINGS TEXT, e.g. /notice 7,8 The stairwells were disinfected "
        "today. To add a photo, send the photo with this command as its caption.",
    },
    "notice_header": {"zh-CN": "【居委会通知】", "en": "[Committee notice] "},
    "notice_voice_text": {
        "zh-CN": "居委会发来一条语音通知，详情请问楼长。",
        "en": "The committee sent a voice notice; ask your building officer for details.",
    },
    "notice_voice_failed": {
        "zh-CN": "这条语音无法转换，通知没有发出，请重新录一条。",
        "en": "That voice note could not be converted; nothing was sent. Please record it again.",
    },
    "notice_voice_usage": {
        "zh-CN": "语音通知：录一条语音，在语音说明里写 /notice 楼号 文字（文字发给短信住户，可省略）。",
        "en": "A voice notice: send a voice note with the caption /notice BUILDINGS TEXT (the text "
        "goes to SMS households; optional).",
    },
    "notice_sent_voice": {
        "zh-CN": "（附语音：Telegram 住户收到语音，电话住户听到您的录音，短信住户收到文字。）",
        "en": "(With your voice note: Telegram households get it, phone households hear it, "
        "SMS households get the text.)",
    },
    "notice_sent": {
        "zh-CN": "通知已发给 {households} 户（{channels}）。短信 {segments} 条，约 ${cost}。",
        "en": "Notice sent to {households} households ({channels}). SMS: {segments} segments, "
        "about ${cost}.",
    },
    # ---- /survey -------------------------------------------------------------------------
    "survey_pick": {"zh-CN": "选择要发起的调查：", "en": "Which survey?"},
    "survey_buildings": {
        "zh-CN": "「{title}」发给哪些楼？",
        "en": "“{title}”: which buildings?",
    },
    "survey_all_mine": {"zh-CN": "我负责的全部楼", "en": "All my buildings"},
    "survey_all": {"zh-CN": "全部楼", "en": "All buildings"},
    "survey_deadline": {
        "zh-CN": "「{title}」（{buildings}）什么时候截止？",
        "en": "“{title}” ({buildings}): when does it close?",
    },
    "survey_hours": {"zh-CN": "{hours}小时后", "en": "in {hours} h"},
    "survey_confirm": {
        "zh-CN": "确认发起「{title}」？\n楼：{buildings}\n截止：{deadline}（截止前2小时和30分钟自动提醒未填完的住户）\n"
        "住户：{households} 户（{channels}）\n短信：{segments} 条，约 ${cost}\n{extra}",
        "en": "Open “{title}”?\nBuildings: {buildings}\nCloses: {deadline} (households not finished are "
        "reminded 2 h and 30 min before)\nHouseholds: {households} ({channels})\nSMS: {segments} segments, "
        "about ${cost}\n{extra}",
    },
    "survey_unreachable": {
        "zh-CN": "{count} 户没有可用的联系方式。",
        "en": "{count} households have no reachable contact.",
    },
    "status_waiting_behind": {
        "zh-CN": "⏳ 排在第{round}轮之后 {count} 户（先答第{round}轮，之后再问本轮）：{addresses}",
        "en": "⏳ Waiting behind round {round}: {count} (they answer round {round} first, this "
        "one afterwards): {addresses}",
    },
    "survey_ahead_of": {
        "zh-CN": "第{round}轮尚未开始填写的 {count} 户会先收到这一份，之后再问第{round}轮。",
        "en": "{count} households have not started round {round}: they get this one first, "
        "round {round} again afterwards.",
    },
    "survey_waiting": {
        "zh-CN": "{count} 户正在填写其他调查，之后会收到这一份。",
        "en": "{count} households are answering another round and get this one next.",
    },
    "survey_open_button": {"zh-CN": "✅ 发起", "en": "✅ Open"},
    "survey_cancel_button": {"zh-CN": "取消", "en": "Cancel"},
    "survey_cancelled": {"zh-CN": "已取消，没有发送。", "en": "Cancelled; nothing was sent."},
    "survey_opened": {
        "zh-CN": "✅ 第{round}轮「{title}」已发起：{households} 户。",
        "en": "✅ Round {round} “{title}” opened: {households} households.",
    },
    "survey_used": {"zh-CN": "已经处理过了", "en": "Already done"},
    "channels_none": {"zh-CN": "无", "en": "none"},
    "channel_count": {"zh-CN": "{channel} {count} 户", "en": "{count} by {channel}"},
    # ---- /answer -------------------------------------------------------------------------
    "answer_usage": {
        "zh-CN": "用法：/answer 楼号-室号 调查，例如 /answer 7-1203 antigen",
        "en": "Usage: /answer BUILDING-ROOM SURVEY, e.g. /answer 7-1203 antigen",
    },
    "answer_no_household": {
        "zh-CN": "没有找到 {address} 这一户。",
        "en": "There is no household {address}.",
    },
    "answer_no_round": {
        "zh-CN": "{address} 没有进行中的「{survey}」调查。",
        "en": "{address} has no open “{survey}” round.",
    },
    "answer_start": {
        "zh-CN": "📞 代 {address} 填报「{title}」。您的回答会记为代填。",
        "en": "📞 Answering “{title}” for {address}. Your answers are recorded as a proxy.",
    },
}
