"""Resident-facing texts of the survey runtime (zh-CN and en)."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "round_header": {"zh-CN": "📋 {title}", "en": "📋 {title}"},
    "answered": {"zh-CN": "✓ {value}", "en": "✓ {value}"},
    "stale": {
        "zh-CN": "这个问题已经回答过了。",
        "en": "This question has already been answered.",
    },
    "closed": {
        "zh-CN": "这次调查已经结束，谢谢。",
        "en": "This survey has closed. Thank you.",
    },
    "cancelled": {
        "zh-CN": "已停止填写。您的回答已保存；发送 /start 可以继续。",
        "en": "Stopped. Your answers are kept; send /start to continue.",
    },
    "cancelled_sms": {
        "zh-CN": "已停止填写，回答已保存。",
        "en": "Stopped. Your answers are kept.",
    },
    "needs_call": {
        "zh-CN": "没关系，楼组长会打电话给您。",
        "en": "No problem: your building's information officer will call you.",
    },
    "already_answered": {
        "zh-CN": "您家已经回答了“{title}”：\n{summary}",
        "en": 'Your household has answered "{title}":\n{summary}',
    },
    "revise": {"zh-CN": "修改回答", "en": "Change the answers"},
    "busy_other": {
        "zh-CN": "请先完成当前的调查。",
        "en": "Please finish the current survey first.",
    },
}
