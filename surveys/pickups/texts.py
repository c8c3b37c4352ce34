"""Texts of medicine pickups and residents' questions (zh-CN and en), for residents and staff."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    # ---- pickup lists (staff) ----
    "pk_header": {
        "zh-CN": "💊 配药清单 · 第{round}轮 · 值班：{shift}班（{hours}）{names}",
        "en": "💊 Medicine pickup list · round {round} · on duty: shift {shift} ({hours}){names}",
    },
    "pk_totals": {
        "zh-CN": "{building}号楼：{households}户，{items}种药，{cards}张医保卡待收，{open}项未送达",
        "en": "Building {building}: {households} households, {items} medicines, {cards} insurance "
        "cards to collect, {open} not delivered yet",
    },
    "pk_empty": {
        "zh-CN": "{building}号楼目前没有需要配药的住户。",
        "en": "Building {building}: no household needs medicine now.",
    },
    "pk_no_round": {
        "zh-CN": "还没有配药登记（medication）的调查轮次。",
        "en": "There is no medication round yet.",
    },
    "pk_household": {"zh-CN": "【{floor}楼】{address}", "en": "[floor {floor}] {address}"},
    "pk_for": {"zh-CN": "（{patient}用）", "en": " (for {patient})"},
    "pk_days_left": {"zh-CN": " · 余{days}天", "en": " · {days} days left"},
    "pk_card_todo": {"zh-CN": "💳需收医保卡", "en": "💳 collect insurance card"},
    "pk_card_done": {"zh-CN": "💳医保卡已收", "en": "💳 card collected"},
    "pk_delivered": {"zh-CN": "✅已送达", "en": "✅ delivered"},
    "pk_btn_card": {"zh-CN": "💳已收卡 {name}", "en": "💳 Card {name}"},
    "pk_btn_delivered": {"zh-CN": "📦已送达 {name}", "en": "📦 Delivered {name}"},
    "urgency_today": {"zh-CN": "今天要", "en": "needed today"},
    "urgency_within_3_days": {"zh-CN": "3天内", "en": "within 3 days"},
    "urgency_this_week": {"zh-CN": "本周内", "en": "this week"},
    "pk_marked_card": {"zh-CN": "已记录：医保卡已收。", "en": "Recorded: card collected."},
    "pk_marked_delivered": {
        "zh-CN": "已记录：已送达，已通知住户。",
        "en": "Recorded: delivered; the household was told.",
    },
    "pk_already": {"zh-CN": "这一项已经标记过了。", "en": "This was marked already."},
    "pk_gone": {"zh-CN": "找不到这一项。", "en": "This item no longer exists."},
    "pk_recording": {
        "zh-CN": "🎙 {building}号楼{room}室 · 第{item}项 · {question}（{seconds}秒）",
        "en": "🎙 Building {building} room {room} · #{item} · {question} ({seconds} s)",
    },
    "pk_recording_gone": {
        "zh-CN": "🎙 {building}号楼{room}室的录音暂时取不到，请在网页上收听或电话联系。",
        "en": "🎙 The recording of building {building} room {room} cannot be fetched now; play "
        "it on the web page or phone them.",
    },
    "pk_xlsx_caption": {
        "zh-CN": "配药清单（{buildings}号楼）",
        "en": "Medicine pickup list (buildings {buildings})",
    },
    "delivery_call": {
        "zh-CN": "📦 大批药品到货，请A、B两班都来帮忙配送：{buildings}号楼，共{households}户{items}种药。"
        "{note}（{by}）",
        "en": "📦 A large delivery has arrived: both shifts A and B are needed, buildings "
        "{buildings}, {households} households, {items} medicines. {note}({by})",
    },
    "delivery_sent": {
        "zh-CN": "已通知两班共{count}位后勤人员。",
        "en": "Both shifts told: {count} logistics staff.",
    },
    "delivery_nobody": {
        "zh-CN": "这些楼没有登记后勤人员。",
        "en": "No logistics staff are registered for these buildings.",
    },
    # ---- pickup (residents) ----
    "pk_at_door": {
        "zh-CN": "【楼长助手】您家登记的药（{drugs}）已送到门口，请及时取回。",
        "en": "[Louzhang] Your medicine ({drugs}) is at your door. Please take it in.",
    },
    # ---- questions (residents) ----
    "q_received": {
        "zh-CN": "【楼长助手】已收到您的问题，居委会工作人员会尽快答复，答复会发到这里。",
        "en": "[Louzhang] We received your question. The committee will answer you here soon.",
    },
    "q_answer": {
        "zh-CN": "【楼长助手】关于您的问题“{question}”，居委会答复：{answer}",
        "en": "[Louzhang] About your question “{question}”, the committee answers: {answer}",
    },
    "q_faq": {
        "zh-CN": "【楼长助手】常见问题“{question}”的答复：{answer}\n如仍有疑问，请联系您楼的信息员。",
        "en": "[Louzhang] Answer to the common question “{question}”: {answer}\nStill unsure? "
        "Contact your building's information officer.",
    },
    # ---- questions (staff) ----
    "q_header": {
        "zh-CN": "❓ 今天的居民问题（{buildings}）：{questions}条，{groups}类",
        "en": "❓ Residents' questions today ({buildings}): {questions} in {groups} groups",
    },
    "q_none": {"zh-CN": "今天暂无待答复的居民问题。", "en": "No open questions today."},
    "q_auto": {
        "zh-CN": "另有{count}条已由常见问题自动答复。",
        "en": "{count} more were answered at once from the FAQ.",
    },
    "q_group": {
        "zh-CN": "#{id} ×{count}（{buildings}号楼）{text}",
        "en": "#{id} ×{count} (building {buildings}) {text}",
    },
    "q_hint": {
        "zh-CN": "点“答复”后发送答复内容，或发送 /reply 编号 答复内容。",
        "en": "Tap “Answer” and send the answer, or send /reply NUMBER answer.",
    },
    "q_btn_answer": {"zh-CN": "答复 #{id}", "en": "Answer #{id}"},
    "q_type_answer": {
        "zh-CN": "请发送对 #{id}（{count}人问）的答复：{text}",
        "en": "Send your answer to #{id} (asked by {count}): {text}",
    },
    "q_answered": {
        "zh-CN": "已答复 #{id}：{count}位居民会收到，并已存为常见问题。",
        "en": "Answered #{id}: sent to {count} residents and kept as an FAQ.",
    },
    "q_no_group": {
        "zh-CN": "没有待答复的问题 #{id}。",
        "en": "There is no open question #{id}.",
    },
    "q_reply_usage": {"zh-CN": "用法：/reply 编号 答复内容", "en": "Usage: /reply NUMBER answer"},
    "refused": {
        "zh-CN": "您没有权限查看或处理这些楼的内容。",
        "en": "You may not see or act on these buildings.",
    },
    "pk_usage": {"zh-CN": "用法：/pickup [楼号]", "en": "Usage: /pickup [building]"},
}
