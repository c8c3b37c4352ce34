"""Resident-facing texts of the bot (zh-CN and en)."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "welcome": {
        "zh-CN": "您好！这里是小区居委会的楼长助手。请点下面的按钮分享您的手机号，以便确认您家的房号。",
        "en": "Hello! This is the neighbourhood committee's assistant. Please tap the button below "
        "to share your phone number so we can find your household.",
    },
    "share_button": {"zh-CN": "📱 分享我的手机号", "en": "📱 Share my phone number"},
    "share_own": {
        "zh-CN": "请用下面的按钮分享您自己的手机号。",
        "en": "Please share your own phone number with the button below.",
    },
    "unknown_number": {
        "zh-CN": "没有找到这个手机号的登记。请联系您楼的信息员（楼组长）登记后再试。",
        "en": "This phone number is not registered. Please contact your building's information "
        "officer to register, then try again.",
    },
    "linked": {
        "zh-CN": "已确认：{addresses}。有调查时我们会在这里通知您。",
        "en": "Confirmed: {addresses}. We will send you surveys and notices here.",
    },
    "linked_staff": {
        "zh-CN": "已确认工作人员身份：{name}。",
        "en": "Confirmed as staff: {name}.",
    },
    "nothing_open": {
        "zh-CN": "目前没有需要填写的调查。有事请联系您楼的信息员。",
        "en": "There is no survey to answer right now. For anything else, contact your "
        "building's information officer.",
    },
    "unknown_command": {
        "zh-CN": "不认识这个指令。发送 /start 开始。",
        "en": "Unknown command. Send /start to begin.",
    },
    "not_linked": {
        "zh-CN": "请先发送 /start 并分享手机号。",
        "en": "Please send /start and share your phone number first.",
    },
    "sms_unknown": {
        "zh-CN": "【楼长助手】您的号码未登记。请联系居委会或您楼的信息员。",
        "en": "[Louzhang] Your number is not registered. Please contact the neighbourhood "
        "committee or your building's information officer.",
    },
    "sms_help": {
        "zh-CN": "【楼长助手】居委会调查与核酸通知。按提示回复数字即可。回复 返回 改上一题，"
        "回复 退订 停止接收。有事请联系您楼的信息员。",
        "en": "[Louzhang] Committee surveys and testing call-ups. Reply with the number shown. "
        "BACK = previous question, STOP = no more messages. Questions: your building's "
        "information officer.",
    },
    "sms_stopped": {
        "zh-CN": "【楼长助手】已退订，不再发送短信。回复 订阅 可恢复。",
        "en": "[Louzhang] You are unsubscribed and will get no more messages. Reply START to "
        "subscribe again.",
    },
    "sms_started": {
        "zh-CN": "【楼长助手】已恢复接收短信。",
        "en": "[Louzhang] You will receive messages again.",
    },
    "private_only": {
        "zh-CN": "您好！为保护住户信息，我只在私聊中工作：登记、调查、核酸通知和工作人员指令都不在群里进行。"
        "请点这里私聊我：{link}",
        "en": "Hello! To keep households' details private I only work in private chats: "
        "registration, surveys, testing call-ups and staff commands never happen in a group. "
        "Please write to me privately: {link}",
    },
    "private_only_short": {
        "zh-CN": "我只在私聊中工作，请私聊我：{link}",
        "en": "I only work in private chats. Please write to me privately: {link}",
    },
    "edited": {
        "zh-CN": "修改过的消息我们不会读取。如需更正答案，请重新发送正确的答案，或点 ⬅️ 返回上一题。",
        "en": "Edited messages are not read. To correct an answer, please send the corrected "
        "answer again, or use ⬅️ back to go to the previous question.",
    },
    "button_invalid": {
        "zh-CN": "这个按钮无效或已过期，没有做任何更改。请使用最新消息里的按钮，或发送 /start。",
        "en": "This button is invalid or out of date; nothing was changed. Please use the "
        "buttons of the latest message, or send /start.",
    },
    "system_error": {
        "zh-CN": "系统出错了，请稍后再试。",
        "en": "Something went wrong. Please try again later.",
    },
}
