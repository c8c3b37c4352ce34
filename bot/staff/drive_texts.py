"""What staff read in the drive commands (zh-CN and en)."""

from __future__ import annotations

DRIVE_STAFF_TEXTS: dict[str, dict[str, str]] = {
    "ask_points": {
        "zh-CN": "发起核酸召集。采样点和各自负责的楼：点按钮，或直接输入，如 A:1-4,B:5-8",
        "en": "New testing call-up. Sampling points and their buildings: tap a button or type "
        "them, e.g. A:1-4,B:5-8",
    },
    "same_as_last": {"zh-CN": "同上次：{spec}", "en": "Same as last: {spec}"},
    "split_six": {"zh-CN": "我的楼平均分给6个采样点", "en": "My buildings split over 6 points"},
    "cancel": {"zh-CN": "取消", "en": "Cancel"},
    "cancelled": {"zh-CN": "已取消。", "en": "Cancelled."},
    "expired": {"zh-CN": "已过期，请重新发送 /drive", "en": "Expired; send /drive again"},
    "bad_points": {
        "zh-CN": "看不懂采样点：{error}。请重新输入，如 A:1-4,B:5-8",
        "en": "Cannot read the points: {error}. Type them again, e.g. A:1-4,B:5-8",
    },
    "no_buildings": {"zh-CN": "您没有负责的楼。", "en": "You have no buildings."},
    "ask_start": {"zh-CN": "什么时候开始？", "en": "When does it start?"},
    "ask_interval": {"zh-CN": "每批间隔多久？", "en": "Time between two batches?"},
    "ask_lead": {"zh-CN": "提前多久发“请准备”？", "en": "How long before do they get ready?"},
    "ask_order": {"zh-CN": "从哪层开始？", "en": "Which floors first?"},
    "ask_batch": {"zh-CN": "每批叫多少？", "en": "How many floors per batch?"},
    "choice_now": {"zh-CN": "现在", "en": "Now"},
    "choice_+10m": {"zh-CN": "10分钟后", "en": "In 10 min"},
    "choice_+30m": {"zh-CN": "30分钟后", "en": "In 30 min"},
    "choice_top-down": {"zh-CN": "从顶层往下", "en": "Top floor first"},
    "choice_bottom-up": {"zh-CN": "从底层往上", "en": "Ground floor first"},
    "choice_floor": {"zh-CN": "一层", "en": "One floor"},
    "choice_half": {"zh-CN": "半栋楼", "en": "Half a building"},
    "choice_2floors": {"zh-CN": "两层", "en": "Two floors"},
    "choice_0s": {"zh-CN": "不提前", "en": "No warning"},
    "confirm": {"zh-CN": "请确认（{points}）：", "en": "Please confirm ({points}):"},
    "start_button": {"zh-CN": "开始召集", "en": "Start"},
    "cannot_plan": {"zh-CN": "无法安排：{error}", "en": "Cannot plan it: {error}"},
    "started": {"zh-CN": "核酸召集 {id} 已开始。", "en": "Call-up {id} started."},
    "no_drive": {"zh-CN": "现在没有进行中的核酸召集。", "en": "No call-up is running."},
    "drive_cancelled": {
        "zh-CN": "核酸召集 {id} 已停止，撤回 {dropped} 条未发消息。",
        "en": "Call-up {id} stopped; {dropped} unsent messages dropped.",
    },
    "voice_usage": {
        "zh-CN": "录一段语音，在语音的说明里写 /drive voice 发给我：正在进行的核酸召集里您负责的楼，"
        "之后的“现在下楼”通知会带上这段语音（电话住户会听到录音，Telegram 住户会收到语音）。",
        "en": "Record a voice note and send it with the caption /drive voice: the running "
        'call-up\'s next "come down now" messages to your buildings carry it (voice households '
        "hear it on the call, Telegram households get the note).",
    },
    "voice_failed": {
        "zh-CN": "语音没能转换成电话可播放的格式，没有附上。请重试或联系管理员。",
        "en": "The voice note could not be converted for the phone; nothing was attached. "
        "Try again or ask the admin.",
    },
    "voice_attached": {
        "zh-CN": "🎙 已把语音附在核酸召集 {id} 的“现在下楼”通知上（{buildings}号楼）："
        "还有 {batches} 批未叫，{calls} 个已排队的电话也会播放。",
        "en": '🎙 Voice note attached to call-up {id}\'s "come down now" messages (buildings '
        "{buildings}): {batches} batches still to call; {calls} calls already queued play it too.",
    },
    "refused": {
        "zh-CN": "无权操作：{why}。已记录。",
        "en": "Not allowed: {why}. This was recorded.",
    },
    "which_point": {"zh-CN": "哪个采样点？", "en": "Which point?"},
    "no_point": {"zh-CN": "没有采样点 {point}。", "en": "There is no point {point}."},
    "nexted": {
        "zh-CN": "{point}点：现在召集 {building}号楼 {floors}层，后面的批次提前。",
        "en": "Point {point}: building {building} floor {floors} is called now; the rest moves up.",
    },
    "paused": {
        "zh-CN": "{point}点已暂停，不再召集新的批次。发送 /resume 恢复。",
        "en": "Point {point} paused: nothing new is called. Send /resume to go on.",
    },
    "resumed": {
        "zh-CN": "{point}点已恢复，后面的批次顺延 {minutes} 分钟。",
        "en": "Point {point} resumed; the rest of its schedule moved {minutes} min later.",
    },
    "skipped": {
        "zh-CN": "{point}点：跳过 {building}号楼 {floors}层。",
        "en": "Point {point}: building {building} floor {floors} skipped.",
    },
    "mark_usage": {
        "zh-CN": "用法：/mark 楼-室 1|2|3，如 /mark 7-1203 1（1 已做，2 无法下楼，3 不需要）",
        "en": "Usage: /mark BUILDING-ROOM 1|2|3, e.g. /mark 7-1203 1 (1 done, 2 cannot come "
        "down, 3 not needed)",
    },
    "marked": {"zh-CN": "已登记 {address}：{value}", "en": "Marked {address}: {value}"},
}
