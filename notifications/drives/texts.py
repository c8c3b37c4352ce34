"""What residents and staff read during a drive, in zh-CN and en.

SMS households (many elderly) get short, plain text with the reply digits spelled out; Telegram
households get the same words and three buttons. Every resident SMS starts with the signature
so that an elderly reader knows who is writing.
"""

from __future__ import annotations

from config.i18n import text

SIGNATURE = {"zh-CN": "【楼长助手】", "en": "[Louzhang] "}

DRIVE_TEXTS: dict[str, dict[str, str]] = {
    "where": {"zh-CN": "（{location}）", "en": " ({location})"},
    "ready": {
        "zh-CN": "核酸检测：{building}号楼{room}室请准备，约{minutes}分钟后下楼到{point}采样点"
        "{where}。请戴好口罩，带好手机。",
        "en": "Testing: building {building} room {room}, please get ready. In about {minutes} "
        "min come down to sampling point {point}{where}. Wear a mask.",
    },
    "call": {
        "zh-CN": "现在请{building}号楼{room}室下楼到{point}采样点{where}做核酸。",
        "en": "Bldg {building} room {room}: come down now to testing point {point}{where}.",
    },
    "last_call": {
        "zh-CN": "最后通知：{building}号楼{room}室请现在下楼到{point}采样点{where}做核酸。",
        "en": "Last call, bldg {building} room {room}: come down now to testing point "
        "{point}{where}.",
    },
    "officer_voice": {
        "zh-CN": "🎙 楼长的语音通知（{building}号楼）：请听一下。",
        "en": "🎙 A voice message from your building's officer (bldg {building}).",
    },
    "options_sms": {
        "zh-CN": "回复1 已下楼/已做，2 无法下楼，3 已做过或不在家",
        "en": "Reply 1 coming/done, 2 can't come down, 3 tested already/away",
    },
    "options_chat": {
        "zh-CN": "请点下面的按钮告诉我们：",
        "en": "Please tell us with a button below:",
    },
    "button_1": {"zh-CN": "1 已下楼/已做", "en": "1 On my way / done"},
    "button_2": {"zh-CN": "2 无法下楼", "en": "2 Cannot come down"},
    "button_3": {"zh-CN": "3 已做过/不在家", "en": "3 Already tested / not home"},
    "ack_1": {
        "zh-CN": "收到，谢谢！排队时请保持距离。",
        "en": "Thank you! Please keep your distance in the queue.",
    },
    "ack_2": {
        "zh-CN": "已记录：工作人员会上门采样，请在家等候。",
        "en": "Noted: staff will come to your door to test you. Please stay at home.",
    },
    "ack_3": {"zh-CN": "已记录，谢谢。", "en": "Noted, thank you."},
    "again": {
        "zh-CN": "没看懂您的回复。",
        "en": "Sorry, we did not understand that.",
    },
    "closed": {
        "zh-CN": "这次核酸召集已经结束，谢谢。",
        "en": "This testing call-up has ended. Thank you.",
    },
    "not_called": {
        "zh-CN": "还没有轮到您家，请等召集通知后再回复。",
        "en": "Your household has not been called yet. Please reply once the call-up comes.",
    },
    # staff
    "silent_list": {
        "zh-CN": "核酸召集{drive}：{building}号楼最后通知后仍未回复的{count}户：\n{rooms}",
        "en": "Call-up {drive}: {count} household(s) of building {building} still silent after "
        "the last call:\n{rooms}",
    },
}


def resident_text(key: str, lang: str, *, sms: bool, **values: object) -> str:
    """A resident message: signature, body and (for SMS) the reply digits."""
    location = str(values.pop("location", "") or "")
    where = text(DRIVE_TEXTS, "where", lang, location=location) if location else ""
    body = text(DRIVE_TEXTS, key, lang, where=where, **values)
    if sms and key in ("call", "last_call"):
        body += (
            " " + text(DRIVE_TEXTS, "options_sms", lang)
            if lang == "en"
            else text(DRIVE_TEXTS, "options_sms", lang)
        )
    return SIGNATURE.get(lang, SIGNATURE["zh-CN"]) + body


#: Why a pace command or a reply cannot be done (:class:`~notifications.drives.runtime.DriveError`),
#: for staff in their language.
DRIVE_ERRORS: dict[str, dict[str, str]] = {
    "no_point": {
        "zh-CN": "第 {drive} 次叫号没有采样点 {point!r}（采样点：{points}）",
        "en": "drive {drive} has no point {point!r} (points: {points})",
    },
    "no_points": {"zh-CN": "无", "en": "none"},
    "no_drive": {"zh-CN": "没有第 {drive} 次叫号", "en": "no drive {drive}"},
    "not_running": {"zh-CN": "第 {drive} 次叫号{status}", "en": "drive {drive} is {status}"},
    "status_done": {"zh-CN": "已经结束", "en": "done"},
    "status_cancelled": {"zh-CN": "已经取消", "en": "cancelled"},
    "paused": {
        "zh-CN": "采样点 {point} 已暂停；请先恢复（/resume）",
        "en": "point {point} is paused; /resume first",
    },
    "nothing_to_call": {
        "zh-CN": "采样点 {point} 没有剩下可叫的批次",
        "en": "point {point} has no batch left to call",
    },
    "nothing_to_skip": {
        "zh-CN": "采样点 {point} 没有剩下可跳过的批次",
        "en": "point {point} has no batch left to skip",
    },
    "not_in_drive": {
        "zh-CN": "{building}-{room} 不在第 {drive} 次叫号里",
        "en": "{building}-{room} is not in drive {drive}",
    },
}


def drive_error_text(kind: str, lang: str, **values: object) -> str:
    """A :data:`DRIVE_ERRORS` text; a drive status is written in ``lang`` too."""
    status = values.get("status")
    if status is not None and f"status_{status}" in DRIVE_ERRORS:
        values = {**values, "status": text(DRIVE_ERRORS, f"status_{status}", lang)}
    if kind == "no_point" and not values.get("points"):
        values = {**values, "points": text(DRIVE_ERRORS, "no_points", lang)}
    return text(DRIVE_ERRORS, kind, lang, **values)
