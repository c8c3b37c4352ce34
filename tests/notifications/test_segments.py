"""SMS segment counting: GSM-7 vs UCS-2, boundaries, extension characters, emoji."""

from __future__ import annotations

import pytest

from notifications.segments import SegmentInfo, count_segments, is_gsm7


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", SegmentInfo("GSM-7", 0, 1)),
        ("hello", SegmentInfo("GSM-7", 5, 1)),
        ("a" * 160, SegmentInfo("GSM-7", 160, 1)),
        ("a" * 161, SegmentInfo("GSM-7", 161, 2)),
        ("a" * 306, SegmentInfo("GSM-7", 306, 2)),
        ("a" * 307, SegmentInfo("GSM-7", 307, 3)),
        ("你" * 70, SegmentInfo("UCS-2", 70, 1)),
        ("你" * 71, SegmentInfo("UCS-2", 71, 2)),
        ("你" * 134, SegmentInfo("UCS-2", 134, 2)),
        ("你" * 135, SegmentInfo("UCS-2", 135, 3)),
        ("今天家里做抗原检测了吗？", SegmentInfo("UCS-2", 12, 1)),
        # one Chinese character makes the whole message UCS-2
        ("a" * 69 + "你", SegmentInfo("UCS-2", 70, 1)),
        ("a" * 70 + "你", SegmentInfo("UCS-2", 71, 2)),
        # extension characters count two septets
        ("€", SegmentInfo("GSM-7", 2, 1)),
        ("{}[]~|^\\", SegmentInfo("GSM-7", 16, 1)),
        ("a" * 158 + "€", SegmentInfo("GSM-7", 160, 1)),
        ("a" * 159 + "€", SegmentInfo("GSM-7", 161, 2)),
        # an escape pair is never split across parts: 152 + 2 does not fit in 153
        ("a" * 152 + "€" + "a" * 152, SegmentInfo("GSM-7", 306, 3)),
        # basic-table accented letters are GSM-7, others are not
        ("éèùìòÇÄÖÑÜäöñüà£¥§¿¡", SegmentInfo("GSM-7", 20, 1)),
        ("ç", SegmentInfo("UCS-2", 1, 1)),
        # emoji outside the BMP are two UTF-16 units
        ("👍", SegmentInfo("UCS-2", 2, 1)),
        ("👍" * 35, SegmentInfo("UCS-2", 70, 1)),
        ("👍" * 36, SegmentInfo("UCS-2", 72, 2)),
        # surrogate pairs are not split: 66 + 2 does not fit in 67
        ("你" * 66 + "👍" + "你" * 66, SegmentInfo("UCS-2", 134, 3)),
        ("✓", SegmentInfo("UCS-2", 1, 1)),
        ("Reply 1 = 是，2 = 否", SegmentInfo("UCS-2", 17, 1)),
    ],
)
def test_count_segments(text: str, expected: SegmentInfo) -> None:
    assert count_segments(text) == expected


def test_curly_quotes_force_ucs2() -> None:
    assert not is_gsm7("Reply “KEEP”")
    assert is_gsm7('Reply "KEEP"')


def test_newlines_are_gsm() -> None:
    info = count_segments("line one\nline two\r\n")
    assert info.encoding == "GSM-7"
    assert info.units == 19


def test_per_segment() -> None:
    assert count_segments("a").per_segment == 160
    assert count_segments("a" * 200).per_segment == 153
    assert count_segments("你").per_segment == 70
    assert count_segments("你" * 100).per_segment == 67
