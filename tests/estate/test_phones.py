"""normalise_phone / mask_phone / is_mobile, as a table of what residents actually write."""

from __future__ import annotations

import pytest

from estate.phones import PhoneError, is_mobile, mask_phone, normalise_phone

MOBILE = "+8613800138000"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800138000", MOBILE),
        ("138 0013 8000", MOBILE),
        ("138-0013-8000", MOBILE),
        ("138.0013.8000", MOBILE),
        ("(138) 0013 8000", MOBILE),
        ("  13800138000  ", MOBILE),
        ("+86 138 0013 8000", MOBILE),
        ("+86-13800138000", MOBILE),
        ("0086 138 0013 8000", MOBILE),
        ("008613800138000", MOBILE),
        ("86 138 0013 8000", MOBILE),
        ("8613800138000", MOBILE),
        ("１３８００１３８０００", MOBILE),  # full-width digits
        ("＋８６　１３８　００１３　８０００", MOBILE),  # full-width plus and ideographic spaces
        ("021 6234 5678", "+862162345678"),  # Shanghai landline with its area code
        ("(021) 6234-5678", "+862162345678"),
        ("+86 21 6234 5678", "+862162345678"),
        ("+1 650 253 0000", "+16502530000"),  # foreign residents keep their numbers
        ("+44 7911 123456", "+447911123456"),
    ],
)
def test_accepted(raw: str, expected: str) -> None:
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("12345", "not a valid phone number"),
        ("1380013800", "a mainland mobile number has 11 digits, this one has 10"),
        ("138001380001", "a mainland mobile number has 11 digits, this one has 12"),
        ("62345678", "a landline needs its area code"),
        ("1.38001E+10", "scientific notation"),
        ("138-0013-800O", "contains characters other than digits"),
        ("tel 13800138000", "contains characters other than digits"),
        ("+86+13800138000", "contains characters other than digits"),
        ("400 810 8888", "shared-cost service number"),
        ("800 820 8820", "toll-free"),
        ("95588", "not a valid phone number"),
        ("+999 1234 5678", "unknown country code"),
        ("99999999999999999999", "too long"),
    ],
)
def test_refused_with_reason(raw: str, reason: str) -> None:
    with pytest.raises(PhoneError) as caught:
        normalise_phone(raw)
    assert reason in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_region_applies_to_numbers_without_country_code() -> None:
    assert normalise_phone("650 253 0000", region="US") == "+16502530000"
    assert normalise_phone("650 253 0000", region="us") == "+16502530000"
    assert normalise_phone("+8613800138000", region="US") == MOBILE


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        (MOBILE, "+86 138****8000"),
        ("+862162345678", "+86 216****5678"),
        ("+16502530000", "+1 650****0000"),
        ("+8612345", "+86 ***45"),
        ("garbage", "*"),  # never raises, never shows what it cannot read
    ],
)
def test_mask(e164: str, masked: str) -> None:
    assert mask_phone(e164) == masked


def test_is_mobile() -> None:
    assert is_mobile(MOBILE)
    assert not is_mobile("+862162345678")
    assert not is_mobile("not a number")
