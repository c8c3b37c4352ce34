"""How many SMS segments a text needs, and in which encoding.

A text made only of GSM 03.38 characters is sent as GSM-7: 160 septets in a single message,
153 per part once it must be split (the user data header takes the rest). Characters of the
extension table (``^ { } \\ [ ~ ] | €`` and form feed) take two septets (escape + char).
Anything else forces UCS-2: 70 UTF-16 code units in a single message, 67 per part; characters
outside the Basic Multilingual Plane (most emoji) are two code units.

When splitting, an escaped GSM character or a UTF-16 surrogate pair is never cut across two
parts (that is what real encoders do), so a part may carry one unit less than its maximum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Encoding", "SegmentInfo", "count_segments", "is_gsm7"]

Encoding = Literal["GSM-7", "UCS-2"]

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    encoding: Encoding
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int

    @property
    def per_segment(self) -> int:
        """Units one segment can hold for this text (single message or multipart)."""
        if self.encoding == "GSM-7":
            return GSM7_SINGLE if self.segments == 1 else GSM7_PART
        return UCS2_SINGLE if self.segments == 1 else UCS2_PART


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _char_units(text: str, encoding: Encoding) -> list[int]:
    if encoding == "GSM-7":
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _pack(widths: list[int], per_part: int) -> int:
    """Parts needed when characters (of the given widths) may not straddle a part boundary."""
    parts, used = 1, 0
    for width in widths:
        if used + width > per_part:
            parts += 1
            used = 0
        used += width
    return parts


def count_segments(text: str) -> SegmentInfo:
    """Encoding, size in units and number of segments of ``text`` (empty text = 1 segment)."""
    encoding: Encoding = "GSM-7" if is_gsm7(text) else "UCS-2"
    widths = _char_units(text, encoding)
    units = sum(widths)
    single, per_part = (GSM7_SINGLE, GSM7_PART) if encoding == "GSM-7" else (UCS2_SINGLE, UCS2_PART)
    segments = 1 if units <= single else _pack(widths, per_part)
    return SegmentInfo(encoding=encoding, units=units, segments=segments)
