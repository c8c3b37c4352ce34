"""Phone numbers as residents write them, turned into E.164 (``+8613800138000``) with phonenumbers.

Accepted: spaces, dashes, dots, parentheses, full-width digits (１３８…), a leading ``+86``,
``0086`` or ``86``, area codes with their trunk ``0`` (``021 6234 5678``). Refused, with a reason a
committee member can act on: letters, Excel's scientific notation (``1.38001E+10``: the digits are
already lost), numbers that are not valid for their country, and service numbers (toll-free,
premium, shared-cost) that cannot belong to a resident.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType
from phonenumbers import ValidationResult as Possible

__all__ = ["PhoneError", "is_mobile", "mask_phone", "normalise_phone"]

_ALLOWED = re.compile(r"\+?[\d\s\-.()/]+")
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:\.\d+)?[eE][+-]?\d+")
_PERSONAL_TYPES = frozenset(
    {
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
        PhoneNumberType.VOIP,
        PhoneNumberType.PERSONAL_NUMBER,
    }
)
_SERVICE_TYPES = {
    PhoneNumberType.TOLL_FREE: "a toll-free service number",
    PhoneNumberType.PREMIUM_RATE: "a premium-rate service number",
    PhoneNumberType.SHARED_COST: "a shared-cost service number (400/800)",
    PhoneNumberType.UAN: "a company switchboard number",
    PhoneNumberType.PAGER: "a pager number",
    PhoneNumberType.VOICEMAIL: "a voicemail access number",
}
_POSSIBLE_REASONS = {
    Possible.TOO_SHORT: "not a valid phone number (too short)",
    Possible.TOO_LONG: "not a valid phone number (too long)",
    Possible.INVALID_LENGTH: "not a valid phone number (wrong number of digits)",
    Possible.INVALID_COUNTRY_CODE: "not a valid phone number (unknown country code)",
}


class PhoneError(ValueError):
    """A phone number that cannot be used; ``str(error)`` is the reason, in plain words."""


@lru_cache(maxsize=65_536)  # every inbound SMS parses its sender: phonenumbers is slow
def normalise_phone(raw: str, region: str = "CN") -> str:
    """Return ``raw`` as an E.164 number, or raise :class:`PhoneError` saying why it is unusable.

    ``region`` is the ISO country assumed for numbers written without ``+country``.
    """
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        raise PhoneError("empty")
    if _SCIENTIFIC.fullmatch(text):
        raise PhoneError(
            "written in scientific notation, so its digits are lost "
            "(format the column as text in Excel and type the number again)"
        )
    if not _ALLOWED.fullmatch(text):
        raise PhoneError("contains characters other than digits, spaces, '+', '-', '.', '()'")
    region = region.upper()
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        raise PhoneError(_parse_reason(exc)) from None
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible in _POSSIBLE_REASONS:
        raise PhoneError(_POSSIBLE_REASONS[possible])
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(_invalid_reason(number, text))
    kind = phonenumbers.number_type(number)
    if kind not in _PERSONAL_TYPES:
        raise PhoneError(_SERVICE_TYPES.get(kind, "not a personal phone number"))
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def is_mobile(e164: str) -> bool:
    """True when an E.164 number may take SMS (mobile, or a country's mixed fixed/mobile range)."""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return False
    kind = phonenumbers.number_type(number)
    return kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


def mask_phone(e164: str) -> str:
    """A number fit for logs: ``+8613800138000`` -> ``+86 138****8000``. Never raises."""
    try:
        number = phonenumbers.parse(e164, None)
        national = phonenumbers.national_significant_number(number)
        prefix = f"+{number.country_code} "
    except NumberParseException:
        national = re.sub(r"\D", "", e164)
        prefix = ""
    if len(national) >= 8:
        return f"{prefix}{national[:3]}****{national[-4:]}"
    return prefix + "*" * max(len(national) - 2, 1) + national[-2:]


def _parse_reason(exc: NumberParseException) -> str:
    detail = {
        NumberParseException.INVALID_COUNTRY_CODE: " (unknown country code)",
        NumberParseException.TOO_SHORT_AFTER_IDD: " (too short)",
        NumberParseException.TOO_SHORT_NSN: " (too short)",
        NumberParseException.TOO_LONG: " (too long)",
    }.get(exc.error_type, "")
    return f"not a valid phone number{detail}"


def _invalid_reason(number: phonenumbers.PhoneNumber, text: str) -> str:
    national = phonenumbers.national_significant_number(number)
    reason = "not a valid phone number"
    if number.country_code == 86:
        if national.startswith("1") and 9 <= len(national) <= 13 and len(national) != 11:
            return (
                f"{reason} (a mainland mobile number has 11 digits, this one has {len(national)})"
            )
        if not text.startswith(("+", "0")) and len(national) in (7, 8):
            return f"{reason} (a landline needs its area code, e.g. 021)"
    return reason
