"""Understanding what people actually type, on Telegram (typed text) and SMS (numbered replies).

Every parser takes the raw text and returns a :class:`Parsed`: ``Parsed.ok`` with a ``value``,
or a failure with a ``reason`` key (see ``REASON_TEXT`` for the resident-facing wording).

Normalisation (:func:`normalize`): Unicode NFKC (full-width digits, letters and most punctuation
become ASCII: ``１２`` → ``12``, ``１．５`` → ``1.5``, ``，`` → ``,``), then surrounding spaces and
punctuation (ASCII and CJK: ``。，、！？.,!?`` …) are stripped. ``-``/``+`` and a leading ``.``
are kept so signs and decimals survive.

Numbers: ASCII digits with an optional decimal part, or Chinese numerals (``零 一 二 两 三 … 十
百 千 万``, formal ``壹 贰 …``, decimals with ``点``: ``一点五`` = 1.5; ``二十`` = 20, ``十二`` = 12,
``三百零五`` = 305, colloquial ``一百五`` = 150), optionally followed by a unit word (``3盒``,
``3 boxes``, ``2人``, ``两个人``, ``5天``). Vague quantities (``十几``, ``3多``, ``3 or more``) are
rejected, and so are numerals written digit by digit (``一二``). ``没有``/``无``/``none`` mean 0.
``"0"`` is always the number zero (never "back").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Generic, TypeVar

T = TypeVar("T")

__all__ = [
    "REASON_TEXT",
    "Keyword",
    "Parsed",
    "classify_keyword",
    "fail",
    "normalize",
    "ok",
    "parse_chinese_number",
    "parse_choice",
    "parse_choices",
    "parse_date",
    "parse_decimal",
    "parse_integer",
    "parse_number",
    "parse_yes_no",
]

# Failure reasons (keys of REASON_TEXT).
EMPTY = "empty"
NOT_A_NUMBER = "not_a_number"
NOT_AN_INTEGER = "not_an_integer"
NOT_YES_NO = "not_yes_no"
NO_SUCH_CHOICE = "no_such_choice"
AMBIGUOUS = "ambiguous"
NOT_A_DATE = "not_a_date"
NEEDS_TODAY = "needs_today"
NUMBER_TOO_LONG = "number_too_long"

#: More digits than this (before or after the decimal point, leading zeros aside) is not a
#: count or a measurement anyone means: refused as too long (Python's int() also refuses
#: strings over 4,300 digits, and a float of 400 digits is infinity).
MAX_DIGITS = 15

REASON_TEXT: dict[str, dict[str, str]] = {
    EMPTY: {"zh-CN": "请输入您的回答。", "en": "Please type your answer."},
    NOT_A_NUMBER: {"zh-CN": "请回复一个数字，如 3。", "en": "Please reply with a number, e.g. 3."},
    NOT_AN_INTEGER: {
        "zh-CN": "请回复一个整数，如 3。",
        "en": "Please reply with a whole number, e.g. 3.",
    },
    NOT_YES_NO: {"zh-CN": "请回答“是”或“否”。", "en": "Please answer yes or no."},
    NO_SUCH_CHOICE: {
        "zh-CN": "请回复选项前面的数字。",
        "en": "Please reply with the number of an option.",
    },
    AMBIGUOUS: {
        "zh-CN": "没看明白，多个选项请用空格隔开，如 1 3。",
        "en": "Sorry, that is unclear. Separate several options with spaces, e.g. 1 3.",
    },
    NOT_A_DATE: {"zh-CN": "请回复日期，如 4月10日。", "en": "Please reply with a date, e.g. 4/10."},
    NEEDS_TODAY: {
        "zh-CN": "请回复具体日期，如 4月10日。",
        "en": "Please reply with a date, e.g. 4/10.",
    },
    NUMBER_TOO_LONG: {
        "zh-CN": "这个数字太长了，超出了范围，请回复一个正常的数字，如 3。",
        "en": "That number is too long (out of range); please reply with an ordinary number, "
        "e.g. 3.",
    },
}


@dataclass(frozen=True, slots=True)
class Parsed(Generic[T]):
    """Outcome of a parser: ``value`` when ``ok``, else a ``reason`` key."""

    value: T | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


def ok(value: T) -> Parsed[T]:
    return Parsed(value=value)


def fail(reason: str) -> Parsed[T]:
    return Parsed(reason=reason)


# ------------------------------------------------------------------------------ normalisation

_PUNCT = "。，、！？.,!?;；:：…~～\"'“”‘’「」『』()（）[]【】《》<>〈〉·•*_=|/\\`"
_STRIP_RIGHT = " \t\r\n\u3000\u00a0" + _PUNCT
_STRIP_LEFT = _STRIP_RIGHT.replace(".", "")


def normalize(text: str) -> str:
    """NFKC, then strip surrounding whitespace and punctuation (internal text is kept)."""
    text = unicodedata.normalize("NFKC", text)
    return text.lstrip(_STRIP_LEFT).rstrip(_STRIP_RIGHT)


def _fold(text: str) -> str:
    """Normalised, case-folded, inner whitespace collapsed: for word and label matching."""
    return " ".join(normalize(text).casefold().split())


# ----------------------------------------------------------------------------------- numbers

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "幺": 1,
    "壹": 1,
    "二": 2,
    "两": 2,
    "贰": 2,
    "三": 3,
    "叁": 3,
    "四": 4,
    "肆": 4,
    "五": 5,
    "伍": 5,
    "六": 6,
    "陆": 6,
    "七": 7,
    "柒": 7,
    "八": 8,
    "捌": 8,
    "九": 9,
    "玖": 9,
}
_CN_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_CN_CHARS = frozenset(_CN_DIGITS) | frozenset(_CN_UNITS) | {"万", "点"}
_NUMBER_RE = re.compile(r"([+-]?\d+(?:\.\d+)?)(.*)", re.S)
_UNIT_RE = re.compile(r"[^\W\d_]+(?:\s+[^\W\d_]+)?")
# A unit starting with one of these makes the quantity vague: 十几, 3多, 二十来, 5余, 一些.
_VAGUE_PREFIXES = ("多", "几", "余", "来", "些", "点", "半")
_VAGUE_WORDS = frozenset({"or", "to", "more", "plus", "ish", "about", "and", "or more", "few"})
_ZERO_WORDS = frozenset({"没有", "没", "无", "无人", "没人", "none", "nobody", "zero", "nil"})


def _cn_section(text: str) -> int | None:
    """A Chinese numeral below 10,000 (``三百零五``, ``十二``, ``一百五``), or None."""
    if not text:
        return None
    total, digit, last_unit, zero_gap = 0, None, 10_000, False
    for ch in text:
        if ch in _CN_DIGITS:
            value = _CN_DIGITS[ch]
            if digit is not None:
                return None  # two digits in a row: 一二, 二零
            if value == 0:
                zero_gap = True
                continue
            digit = value
        elif ch in _CN_UNITS:
            unit = _CN_UNITS[ch]
            if unit >= last_unit:
                return None
            if digit is None:
                if unit != 10:
                    return None
                digit = 1  # 十二, 一百一十 → 一百零十 is not Chinese, but 十 alone is 10
            total += digit * unit
            digit, last_unit, zero_gap = None, unit, False
        else:
            return None
    if digit is not None:
        if not zero_gap and 10 < last_unit < 10_000:
            total += digit * (last_unit // 10)  # 一百五 = 150, 三千二 = 3200
        else:
            total += digit
    return total


def _cn_integer(text: str) -> int | None:
    if "万" not in text:
        return _cn_section(text)
    high, _, low = text.partition("万")
    high_value = _cn_section(high)
    if high_value is None or "万" in low:
        return None
    if not low:
        return high_value * 10_000
    if len(low) == 1 and low in _CN_DIGITS:
        return high_value * 10_000 + _CN_DIGITS[low] * 1000  # 一万五
    low_value = _cn_section(low)
    return None if low_value is None else high_value * 10_000 + low_value


def parse_chinese_number(text: str) -> int | float | None:
    """Value of a whole Chinese numeral (``三百零五``, ``一点五``), or None."""
    if "点" in text:
        whole, _, fraction = text.partition("点")
        whole_value = _cn_integer(whole)
        if whole_value is None or not fraction:
            return None
        digits = [_CN_DIGITS.get(ch) for ch in fraction]
        if any(d is None for d in digits):
            return None
        return float(f"{whole_value}." + "".join(str(d) for d in digits))
    return _cn_integer(text)


def _unit_ok(unit: str) -> bool:
    unit = unit.strip()
    if not unit:
        return True
    if unit.startswith(_VAGUE_PREFIXES) or len(unit) > 16:
        return False
    if any(ch in _CN_CHARS or ch.isdigit() for ch in unit):
        return False
    if not _UNIT_RE.fullmatch(unit):
        return False
    return not any(word in _VAGUE_WORDS for word in unit.casefold().split())


def _too_long(digits: str) -> bool:
    """More than MAX_DIGITS digits before or after the point (leading zeros not counted)."""
    whole, _, fraction = digits.lstrip("+-").partition(".")
    return len(whole.lstrip("0")) > MAX_DIGITS or len(fraction) > MAX_DIGITS


def _split_number(text: str) -> tuple[int | float, str] | None:
    """(number, unit) from a normalised text, or None when it does not start with a number.
    Call only after checking the digits with :func:`_too_long`."""
    match = _NUMBER_RE.fullmatch(text)
    if match:
        digits, unit = match.groups()
        return (float(digits) if "." in digits else int(digits)), unit
    end = 0
    while end < len(text) and text[end] in _CN_CHARS:
        end += 1
    if end == 0:
        return None
    value = parse_chinese_number(text[:end])
    if value is None:
        return None
    return value, text[end:]


def parse_number(text: str, *, integer: bool = False) -> Parsed[int | float]:
    """A number with an optional unit word. With ``integer``, 1.5 fails (1.0 is 1)."""
    cleaned = normalize(text)
    if not cleaned:
        return fail(EMPTY)
    if _fold(cleaned) in _ZERO_WORDS:
        return ok(0)
    match = _NUMBER_RE.fullmatch(cleaned)
    if match and _too_long(match.group(1)):
        return fail(NUMBER_TOO_LONG)
    split = _split_number(cleaned)
    if split is None or not _unit_ok(split[1]):
        return fail(NOT_A_NUMBER)
    value = split[0]
    if integer:
        if isinstance(value, float):
            if not value.is_integer():
                return fail(NOT_AN_INTEGER)
            value = int(value)
        return ok(value)
    return ok(value)


def parse_integer(text: str) -> Parsed[int]:
    result = parse_number(text, integer=True)
    if not result.ok:
        return fail(result.reason or NOT_AN_INTEGER)
    return ok(int(result.value or 0))


def parse_decimal(text: str) -> Parsed[float]:
    result = parse_number(text)
    if not result.ok:
        return fail(result.reason or NOT_A_NUMBER)
    return ok(float(result.value or 0))


def _plain_index(text: str) -> int | None:
    """A bare number (``1``, ``一``, ``１``) as written, or None: no units allowed."""
    if text.isascii() and text.isdigit():
        return None if _too_long(text) else int(text)
    value = parse_chinese_number(text)  # None for any text with a non-numeral character
    return value if isinstance(value, int) else None


# ------------------------------------------------------------------------------------ yes/no

YES_WORDS = frozenset(
    {
        "yes", "y", "yeah", "yep", "yup", "ok", "okay", "sure", "true",
        "是", "是的", "对", "对的", "有", "有的", "好", "好的", "嗯", "要", "需要", "确认", "做了", "测了",
    }
)  # fmt: skip
NO_WORDS = frozenset(
    {
        "no", "n", "nope", "false",
        "否", "不是", "不", "不对", "没有", "没", "无", "不要", "不需要", "不用", "没有的", "没做", "没测",
    }
)  # fmt: skip


def parse_yes_no(text: str, *, numbered: bool = False) -> Parsed[bool]:
    """Yes/no words (Chinese, English, any case). With ``numbered`` (SMS prompts that say
    ``回复 1 = 是，2 = 否``) ``1`` means yes and ``2`` means no as well."""
    word = _fold(text)
    if not word:
        return fail(EMPTY)
    if word in YES_WORDS:
        return ok(True)
    if word in NO_WORDS:
        return ok(False)
    if numbered:
        index = _plain_index(word)
        if index == 1:
            return ok(True)
        if index == 2:
            return ok(False)
    return fail(NOT_YES_NO)


# ----------------------------------------------------------------------------------- choices

_SEPARATORS = re.compile(r"[,;、/+&]|和|及|与|\band\b")


def _match_label(text: str, options: Sequence[Sequence[str]]) -> int | None:
    folded = _fold(text)
    if not folded:
        return None
    for index, aliases in enumerate(options):
        if any(_fold(alias) == folded for alias in aliases if alias):
            return index
    return None


def _one(token: str, options: Sequence[Sequence[str]]) -> Parsed[int]:
    number = _plain_index(token)
    if number is not None:
        if 1 <= number <= len(options):
            return ok(number - 1)
        return fail(NO_SUCH_CHOICE)
    index = _match_label(token, options)
    return fail(NO_SUCH_CHOICE) if index is None else ok(index)


def parse_choice(text: str, options: Sequence[Sequence[str]]) -> Parsed[int]:
    """One option, by its 1-based number (``1``, ``一``, ``１``, `` 1。``) or by one of its
    aliases (value or label, exact after normalisation, case-insensitive).

    ``options[i]`` lists the aliases of option ``i``; the result is the 0-based index.
    """
    cleaned = normalize(text)
    if not cleaned:
        return fail(EMPTY)
    return _one(cleaned, options)


_DIGIT_CHARS = frozenset("123456789") | frozenset(
    ch for ch, value in _CN_DIGITS.items() if 1 <= value <= 9
)


def parse_choices(text: str, options: Sequence[Sequence[str]]) -> Parsed[tuple[int, ...]]:
    """Several options: ``1 3``, ``1,3``, ``1，3``, ``1、3``, ``1和3``, labels, or ``13`` when that
    is unambiguous (at most 9 options and no digit repeated). Returns sorted 0-based indexes."""
    cleaned = normalize(text)
    if not cleaned:
        return fail(EMPTY)
    whole = _match_label(cleaned, options)
    if whole is not None:
        return ok((whole,))
    compact = "".join(cleaned.split())
    if len(compact) > 1 and all(ch in _DIGIT_CHARS for ch in compact) and compact == cleaned:
        if len(options) <= 9:
            if len(set(compact)) != len(compact):
                return fail(AMBIGUOUS)
            cleaned = " ".join(compact)  # 13 -> 1 3
        elif not compact.isdigit():
            return fail(AMBIGUOUS)
    indexes: set[int] = set()
    for part in _SEPARATORS.split(cleaned):
        part = normalize(part)
        if not part:
            continue
        label = _match_label(part, options)
        if label is not None:
            indexes.add(label)
            continue
        for token in part.split():
            result = _one(normalize(token), options)
            if not result.ok or result.value is None:
                return fail(result.reason or NO_SUCH_CHOICE)
            indexes.add(result.value)
    if not indexes:
        return fail(EMPTY)
    return ok(tuple(sorted(indexes)))


# ------------------------------------------------------------------------------------- dates

_RELATIVE_DAYS = {
    "今天": 0, "今日": 0, "today": 0,
    "昨天": -1, "昨日": -1, "yesterday": -1,
    "前天": -2, "明天": 1, "tomorrow": 1,
}  # fmt: skip
_CN_RUN = re.compile("[" + "".join(sorted(_CN_DIGITS) + sorted(_CN_UNITS)) + "]+")
_FULL_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?")
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_MONTH_DAY = re.compile(r"(\d{1,2})\s*[-/月]\s*(\d{1,2})\s*[日号]?")
_DAY_ONLY = re.compile(r"(\d{1,2})\s*[日号]")


def _cn_to_digits(text: str) -> str:
    def repl(match: re.Match[str]) -> str:
        value = _cn_integer(match.group(0))
        return match.group(0) if value is None else str(value)

    return _CN_RUN.sub(repl, text)


def _make_date(year: int, month: int, day: int) -> Parsed[date]:
    try:
        return ok(date(year, month, day))
    except ValueError:
        return fail(NOT_A_DATE)


def parse_date(text: str, *, today: date | None = None) -> Parsed[date]:
    """``2022-04-10``, ``2022/4/10``, ``2022年4月10日``, ``20220410``, ``4/10``, ``4-10``,
    ``4月10日``, ``四月十日``, ``10号``, ``今天``/``today``, ``昨天``/``yesterday``, ``前天``,
    ``明天``/``tomorrow``. Forms without a year, and relative words, need ``today``."""
    cleaned = normalize(text).casefold()
    if not cleaned:
        return fail(EMPTY)
    if cleaned in _RELATIVE_DAYS:
        if today is None:
            return fail(NEEDS_TODAY)
        return ok(today + timedelta(days=_RELATIVE_DAYS[cleaned]))
    cleaned = _cn_to_digits(cleaned)
    for pattern in (_FULL_DATE, _COMPACT_DATE):
        match = pattern.fullmatch(cleaned)
        if match:
            year, month, day = (int(g) for g in match.groups())
            return _make_date(year, month, day)
    match = _MONTH_DAY.fullmatch(cleaned)
    if match:
        if today is None:
            return fail(NEEDS_TODAY)
        month, day = (int(g) for g in match.groups())
        return _make_date(today.year, month, day)
    match = _DAY_ONLY.fullmatch(cleaned)
    if match:
        if today is None:
            return fail(NEEDS_TODAY)
        return _make_date(today.year, today.month, int(match.group(1)))
    return fail(NOT_A_DATE)


# ---------------------------------------------------------------------------------- keywords


class Keyword(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    BACK = "back"
    CANCEL = "cancel"
    KEEP = "keep"  # keep the current answer when revising
    SKIP = "skip"  # skip an optional question


_KEYWORDS: dict[str, Keyword] = {
    **dict.fromkeys(
        ("stop", "stopall", "unsubscribe", "end", "quit", "td", "退订", "取消订阅"), Keyword.OPT_OUT
    ),
    **dict.fromkeys(("start", "unstop", "订阅", "恢复订阅"), Keyword.OPT_IN),
    **dict.fromkeys(("help", "帮助", "求助"), Keyword.HELP),
    **dict.fromkeys(("back", "返回", "上一题", "上一步", "#"), Keyword.BACK),
    **dict.fromkeys(("cancel", "取消"), Keyword.CANCEL),
    **dict.fromkeys(("keep", "same", "保留", "不变", "不改"), Keyword.KEEP),
    **dict.fromkeys(("skip", "跳过"), Keyword.SKIP),
}
_KEYWORD_STRIP = _STRIP_RIGHT


def classify_keyword(text: str) -> Keyword | None:
    """The keyword the whole message is (``STOP``, ``退订``, ``TD``, ``帮助``, ``返回``, ``#``,
    ``取消`` …), case-insensitive, surrounding spaces/punctuation ignored; else None.
    Digits are never keywords (``0`` is the number zero)."""
    word = unicodedata.normalize("NFKC", text).strip(_KEYWORD_STRIP).casefold()
    if word.startswith("#") and word.strip("#") == "":
        return Keyword.BACK
    return _KEYWORDS.get(" ".join(word.split()))
