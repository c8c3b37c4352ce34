"""Parsing what residents really type: table tests.

Promises of ``surveys.engine.answers`` (each has a test below that fails when it breaks):

* full-width digits and punctuation read as ASCII (``１２`` = 12, ``１．５`` = 1.5)
  -> test_normalize, test_parse_integer_ok, test_parse_decimal
* surrounding spaces and punctuation are ignored, signs and a leading ``.`` survive
  -> test_normalize
* Chinese numerals: ``十二`` = 12, ``二十`` = 20, ``三百零五`` = 305, ``一百五`` = 150,
  ``一万五`` = 15000, ``一点五`` = 1.5; whole numerals are ints, never floats
  -> test_chinese_numerals, test_chinese_whole_numerals_are_ints
* numerals written digit by digit (``一二``) and malformed numerals are not numbers, and never
  crash the parser -> test_chinese_numerals, test_malformed_chinese_numerals_are_not_numbers
* a unit word after a number is accepted (``3盒``, ``3 boxes``, ``两个人``); vague quantities
  (``十几``, ``3多``, ``3 or more``) are rejected -> test_parse_integer_ok, test_parse_integer_fail
* ``没有``/``无``/``none`` mean 0, and ``0`` is the number zero, never "back"
  -> test_parse_integer_ok, test_classify_keyword
* an integer question rejects ``1.5`` (not_an_integer) but takes ``1.0`` as 1
  -> test_parse_integer_fail, test_parse_integer_ok
* yes/no words in Chinese and English, any case; digits only when the prompt is numbered
  (SMS: 1 = yes, 2 = no) -> test_yes_no, test_yes_no_rejects, test_yes_no_numbered
* a choice is picked by its 1-based number or a whole alias, never by part of an alias
  -> test_parse_choice, test_choice_alias_must_match_whole
* a fraction (``一点五``) or a number of thousands of digits is no choice, and never crashes
  the parser -> test_parse_choice_fail
* a zero word is the number 0 itself, as ``0`` is -> test_parse_number_zero_words
* several choices: separators, compact ``13`` only when unambiguous; sorted, no duplicates
  -> test_parse_choices, test_parse_choices_fail
* dates in the usual forms; forms without a year need today; impossible dates fail
  -> test_parse_date, test_parse_date_fail, test_relative_dates_need_today
* an SMS ``##`` or ``#`` or ``返回`` is "back"; STOP/退订/TD opt out; only a whole message is
  a keyword; digits are never keywords -> test_sms_hashes_mean_back, test_classify_keyword
* a number may have at most 15 digits before and 15 after the point (sign and leading zeros
  not counted); one more is number_too_long -> test_number_length_limit
* a unit word may be up to 16 letters long; a longer one is not_a_number
  -> test_number_length_limit
"""

from __future__ import annotations

from datetime import date

import pytest

from surveys.engine.answers import (
    Keyword,
    classify_keyword,
    normalize,
    parse_chinese_number,
    parse_choice,
    parse_choices,
    parse_date,
    parse_decimal,
    parse_integer,
    parse_number,
    parse_yes_no,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" 1。", "1"),
        ("１２", "12"),
        ("１．５", "1.5"),
        ("“是的！”", "是的"),
        ("  3盒， ", "3盒"),
        ("\u30003\u3000", "3"),
        ("-3", "-3"),
        (".5", ".5"),
        ("3.", "3"),
        ("1，3", "1,3"),
        ("（1）", "1"),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("零", 0),
        ("〇", 0),
        ("一", 1),
        ("二", 2),
        ("两", 2),
        ("十", 10),
        ("十二", 12),
        ("二十", 20),
        ("二十五", 25),
        ("一百", 100),
        ("一百零五", 105),
        ("三百零五", 305),
        ("一百五", 150),
        ("一百五十", 150),
        ("两百", 200),
        ("一千零一", 1001),
        ("三千二", 3200),
        ("一万", 10000),
        ("一万五", 15000),
        ("一万零五十", 10050),
        ("贰拾", 20),
        ("一点五", 1.5),
        ("零点二五", 0.25),
        ("一二", None),
        ("二零二二", None),
        ("十十", None),
        ("百", None),
        ("一点", None),
        ("", None),
    ],
)
def test_chinese_numerals(text: str, expected: int | float | None) -> None:
    assert parse_chinese_number(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3", 3),
        (" 3 ", 3),
        ("3。", 3),
        ("３", 3),
        ("１２", 12),
        ("0", 0),
        ("００", 0),
        ("-2", -2),
        ("+2", 2),
        ("1.0", 1),
        ("3盒", 3),
        ("3 盒", 3),
        ("３盒。", 3),
        ("3 boxes", 3),
        ("3 Boxes.", 3),
        ("2人", 2),
        ("2个人", 2),
        ("两个人", 2),
        ("5天", 5),
        ("五天", 5),
        ("十二天", 12),
        ("二十", 20),
        ("三百零五", 305),
        ("一百", 100),
        ("零", 0),
        ("没有", 0),
        ("无", 0),
        ("None", 0),
    ],
)
def test_parse_integer_ok(text: str, expected: int) -> None:
    result = parse_integer(text)
    assert result.ok, result.reason
    assert result.value == expected
    assert isinstance(result.value, int)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("  。", "empty"),
        ("abc", "not_a_number"),
        ("三个或四个", "not_a_number"),
        ("3-4", "not_a_number"),
        ("3到4", "not_a_number"),
        ("3 or 4", "not_a_number"),
        ("3 or more", "not_a_number"),
        ("十几", "not_a_number"),
        ("二十多", "not_a_number"),
        ("3多", "not_a_number"),
        ("一些", "not_a_number"),
        ("一二", "not_a_number"),
        ("1.5", "not_an_integer"),
        ("１．５", "not_an_integer"),
        ("一点五", "not_an_integer"),
        ("第三", "not_a_number"),
        ("3百", "not_a_number"),
        ("1,000", "not_a_number"),
        ("3 pills per day", "not_a_number"),
    ],
)
def test_parse_integer_fail(text: str, reason: str) -> None:
    result = parse_integer(text)
    assert not result.ok
    assert result.reason == reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.5", 1.5),
        ("１．５", 1.5),
        ("1.5盒", 1.5),
        ("2", 2.0),
        ("一点五", 1.5),
        ("0.25 kg", 0.25),
        ("-0.5", -0.5),
    ],
)
def test_parse_decimal(text: str, expected: float) -> None:
    result = parse_decimal(text)
    assert result.ok
    assert result.value == expected
    assert isinstance(result.value, float)


def test_parse_number_keeps_int_or_float() -> None:
    assert parse_number("3").value == 3
    assert isinstance(parse_number("3").value, int)
    assert parse_number("3.5").value == 3.5


@pytest.mark.parametrize("text", ["没有", "无人", "None", "nobody", " zero。"])
def test_parse_number_zero_words(text: str) -> None:
    assert parse_number(text) == parse_number("0")
    assert parse_number(text).value == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", True),
        ("YES", True),
        ("Yes!", True),
        ("y", True),
        ("Y", True),
        ("ok", True),
        ("是", True),
        ("是的", True),
        ("是的。", True),
        ("对", True),
        ("有", True),
        ("好", True),
        ("好的", True),
        ("ｙｅｓ", True),
        ("no", False),
        ("NO", False),
        ("n", False),
        ("否", False),
        ("不是", False),
        ("不", False),
        ("没有", False),
        ("没有。", False),
        ("无", False),
        ("不需要", False),
    ],
)
def test_yes_no(text: str, expected: bool) -> None:
    result = parse_yes_no(text)
    assert result.ok, text
    assert result.value is expected


@pytest.mark.parametrize("text", ["1", "2", "maybe", "也许", "是不是", "yes no", "0"])
def test_yes_no_rejects(text: str) -> None:
    assert parse_yes_no(text).reason == "not_yes_no"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", True), ("１", True), ("1。", True), ("一", True), ("2", False), ("二", False)],
)
def test_yes_no_numbered(text: str, expected: bool) -> None:
    assert parse_yes_no(text, numbered=True).value is expected


@pytest.mark.parametrize("text", ["0", "3", "12"])
def test_yes_no_numbered_rejects(text: str) -> None:
    assert not parse_yes_no(text, numbered=True).ok


URGENCY = [
    ("today", "今天", "Today"),
    ("within_3_days", "3天内", "within 3 days"),
    ("this_week", "本周内", "This week"),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 0),
        (" 1。", 0),
        ("１", 0),
        ("一", 0),
        ("2", 1),
        ("二", 1),
        ("3", 2),
        ("今天", 0),
        ("today", 0),
        ("TODAY", 0),
        ("This Week", 2),
        ("本周内", 2),
        ("3天内", 1),
        ("this_week", 2),
        ("“今天”", 0),
    ],
)
def test_parse_choice(text: str, expected: int) -> None:
    result = parse_choice(text, URGENCY)
    assert result.ok, result.reason
    assert result.value == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0", "no_such_choice"),
        ("4", "no_such_choice"),
        ("明天", "no_such_choice"),
        ("", "empty"),
        ("一点五", "no_such_choice"),
        ("1" * 5000, "no_such_choice"),
    ],
)
def test_parse_choice_fail(text: str, reason: str) -> None:
    assert parse_choice(text, URGENCY).reason == reason


SYMPTOMS = [(f"s{i}", f"症状{i}", f"symptom {i}") for i in range(1, 6)]
MANY = [(f"v{i}", f"选项{i}", f"option {i}") for i in range(1, 13)]


@pytest.mark.parametrize(
    ("text", "options", "expected"),
    [
        ("1", SYMPTOMS, (0,)),
        ("1 3", SYMPTOMS, (0, 2)),
        ("1,3", SYMPTOMS, (0, 2)),
        ("1，3", SYMPTOMS, (0, 2)),
        ("1、3", SYMPTOMS, (0, 2)),
        ("1;3", SYMPTOMS, (0, 2)),
        ("1 , 3", SYMPTOMS, (0, 2)),
        ("1和3", SYMPTOMS, (0, 2)),
        ("1 and 3", SYMPTOMS, (0, 2)),
        ("3 1", SYMPTOMS, (0, 2)),
        ("13", SYMPTOMS, (0, 2)),
        ("135", SYMPTOMS, (0, 2, 4)),
        ("１３", SYMPTOMS, (0, 2)),
        ("一三", SYMPTOMS, (0, 2)),
        ("一 三", SYMPTOMS, (0, 2)),
        ("1 1", SYMPTOMS, (0,)),
        ("症状2", SYMPTOMS, (1,)),
        ("symptom 2, symptom 4", SYMPTOMS, (1, 3)),
        ("症状1、症状5", SYMPTOMS, (0, 4)),
        ("12", MANY, (11,)),
        ("1 12", MANY, (0, 11)),
        ("10", MANY, (9,)),
    ],
)
def test_parse_choices(
    text: str, options: list[tuple[str, ...]], expected: tuple[int, ...]
) -> None:
    result = parse_choices(text, options)
    assert result.ok, result.reason
    assert result.value == expected


@pytest.mark.parametrize(
    ("text", "options", "reason"),
    [
        ("11", SYMPTOMS, "ambiguous"),
        ("133", SYMPTOMS, "ambiguous"),
        ("16", SYMPTOMS, "no_such_choice"),
        ("1 6", SYMPTOMS, "no_such_choice"),
        ("0", SYMPTOMS, "no_such_choice"),
        ("13", MANY, "no_such_choice"),
        ("一三", MANY, "ambiguous"),
        ("1 x", SYMPTOMS, "no_such_choice"),
        ("", SYMPTOMS, "empty"),
    ],
)
def test_parse_choices_fail(text: str, options: list[tuple[str, ...]], reason: str) -> None:
    assert parse_choices(text, options).reason == reason


TODAY = date(2022, 4, 12)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-04-10", date(2022, 4, 10)),
        ("2022/4/10", date(2022, 4, 10)),
        ("2022.4.10", date(2022, 4, 10)),
        ("2022年4月10日", date(2022, 4, 10)),
        ("２０２２年４月１０日", date(2022, 4, 10)),
        ("20220410", date(2022, 4, 10)),
        ("4/10", date(2022, 4, 10)),
        ("4-10", date(2022, 4, 10)),
        ("4月10日", date(2022, 4, 10)),
        ("4月10号", date(2022, 4, 10)),
        ("4月10", date(2022, 4, 10)),
        ("四月十日", date(2022, 4, 10)),
        ("四月十号。", date(2022, 4, 10)),
        ("10号", date(2022, 4, 10)),
        ("今天", TODAY),
        ("today", TODAY),
        ("Today.", TODAY),
        ("昨天", date(2022, 4, 11)),
        ("yesterday", date(2022, 4, 11)),
        ("前天", date(2022, 4, 10)),
        ("明天", date(2022, 4, 13)),
    ],
)
def test_parse_date(text: str, expected: date) -> None:
    result = parse_date(text, today=TODAY)
    assert result.ok, result.reason
    assert result.value == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2022-02-30", "not_a_date"),
        ("13/1", "not_a_date"),
        ("someday", "not_a_date"),
        ("", "empty"),
    ],
)
def test_parse_date_fail(text: str, reason: str) -> None:
    assert parse_date(text, today=TODAY).reason == reason


@pytest.mark.parametrize("text", ["今天", "4/10", "10号"])
def test_relative_dates_need_today(text: str) -> None:
    assert parse_date(text).reason == "needs_today"


def test_full_date_without_today() -> None:
    assert parse_date("2022-04-10").value == date(2022, 4, 10)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("STOP", Keyword.OPT_OUT),
        ("stop", Keyword.OPT_OUT),
        (" Stop. ", Keyword.OPT_OUT),
        ("退订", Keyword.OPT_OUT),
        ("TD", Keyword.OPT_OUT),
        ("td", Keyword.OPT_OUT),
        ("ＴＤ", Keyword.OPT_OUT),
        ("unsubscribe", Keyword.OPT_OUT),
        ("START", Keyword.OPT_IN),
        ("订阅", Keyword.OPT_IN),
        ("HELP", Keyword.HELP),
        ("帮助", Keyword.HELP),
        ("帮助？", Keyword.HELP),
        ("返回", Keyword.BACK),
        ("BACK", Keyword.BACK),
        ("back", Keyword.BACK),
        ("#", Keyword.BACK),
        ("＃", Keyword.BACK),
        (" # ", Keyword.BACK),
        ("取消", Keyword.CANCEL),
        ("CANCEL", Keyword.CANCEL),
        ("取消。", Keyword.CANCEL),
        ("保留", Keyword.KEEP),
        ("keep", Keyword.KEEP),
        ("跳过", Keyword.SKIP),
        ("Skip", Keyword.SKIP),
        ("0", None),
        ("1", None),
        ("", None),
        ("stop it", None),
        ("是", None),
        ("退订了吗", None),
        ("tdd", None),
    ],
)
def test_classify_keyword(text: str, expected: Keyword | None) -> None:
    assert classify_keyword(text) == expected


def test_chinese_whole_numerals_are_ints() -> None:
    for text in ("一百五", "三千二", "二十五", "一万五", "一万零五十"):
        value = parse_chinese_number(text)
        assert type(value) is int, (text, value)
    assert type(parse_chinese_number("一点五")) is float


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("万", None),
        ("十十万", None),
        ("一万十", 10010),
        ("一万十十", None),
        ("一万万", None),
        ("一万二万", None),
        ("一万五千", 15000),
        ("两万三千零一", 23001),
        ("一点五点", None),
        ("十十点五", None),
        ("一点十", None),
        ("三千二百", 3200),
        ("三千零二", 3002),
        ("百二", None),
    ],
)
def test_malformed_chinese_numerals_are_not_numbers(text: str, expected: int | None) -> None:
    assert parse_chinese_number(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("二零二二年四月十日", "not_a_date"),
        ("四月十十日", "not_a_date"),
        ("2022年13月1日", "not_a_date"),
        ("20221301", "not_a_date"),
        ("4月31日", "not_a_date"),
        ("32号", "not_a_date"),
    ],
)
def test_malformed_dates_fail(text: str, reason: str) -> None:
    assert parse_date(text, today=TODAY).reason == reason


@pytest.mark.parametrize("text", ["##", "###", "＃＃", " ## ", "##。"])
def test_sms_hashes_mean_back(text: str) -> None:
    """Promise: an SMS ``##`` or ``#`` or 返回 goes one question back."""
    assert classify_keyword(text) is Keyword.BACK


@pytest.mark.parametrize("text", ["#1", "1#", "# 1", "#返回x"])
def test_hashes_with_more_are_not_back(text: str) -> None:
    assert classify_keyword(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("上一题", Keyword.BACK), ("上一步", Keyword.BACK), ("不变", Keyword.KEEP)],
)
def test_more_keywords(text: str, expected: Keyword) -> None:
    assert classify_keyword(text) is expected


@pytest.mark.parametrize("text", ["今", "Toda", "day", "this", "3天", "本周"])
def test_choice_alias_must_match_whole(text: str) -> None:
    assert parse_choice(text, URGENCY).reason == "no_such_choice"


NINE = [(f"v{i}", f"选项{i}", f"option {i}") for i in range(1, 10)]
TEN = [(f"v{i}", f"选项{i}", f"option {i}") for i in range(1, 11)]
FOODS = [("pb", "花生和豆类", "peanuts and beans"), ("milk", "牛奶", "milk")]


@pytest.mark.parametrize(
    ("text", "options", "expected"),
    [
        ("13", NINE, (0, 2)),
        ("13", TEN, "no_such_choice"),
        ("一", MANY, (0,)),
        ("1,,3", SYMPTOMS, (0, 2)),
        ("1、、3", SYMPTOMS, (0, 2)),
        ("和", SYMPTOMS, "empty"),
        ("花生和豆类", FOODS, (0,)),
        ("peanuts and beans", FOODS, (0,)),
    ],
)
def test_parse_choices_edges(text: str, options: list[tuple[str, ...]], expected: object) -> None:
    result = parse_choices(text, options)
    if isinstance(expected, str):
        assert result.reason == expected
        assert not result.ok
    else:
        assert result.value == expected


@pytest.mark.parametrize(
    ("text", "value", "reason"),
    [("0", 0.0, None), ("没有", 0.0, None), ("abc", None, "not_a_number"), ("", None, "empty")],
)
def test_parse_decimal_edges(text: str, value: float | None, reason: str | None) -> None:
    result = parse_decimal(text)
    assert result.reason == reason
    assert result.value == value


@pytest.mark.parametrize(
    ("text", "value", "reason"),
    [
        ("1" * 15, 111_111_111_111_111, None),
        ("1" * 16, None, "number_too_long"),
        ("-" + "1" * 15, -111_111_111_111_111, None),
        ("+" + "1" * 15, 111_111_111_111_111, None),
        ("-" + "1" * 16, None, "number_too_long"),
        ("00000" + "1" * 15, 111_111_111_111_111, None),
        ("0." + "1" * 15, 0.111_111_111_111_111, None),
        ("0." + "1" * 16, None, "number_too_long"),
        ("1" * 15 + ".5", 111_111_111_111_111.5, None),
        ("3 " + "a" * 16, 3, None),
        ("3 " + "a" * 17, None, "not_a_number"),
    ],
)
def test_number_length_limit(text: str, value: float | None, reason: str | None) -> None:
    result = parse_number(text)
    assert result.reason == reason
    assert result.value == value
