"""Grouping residents' questions: similar questions (Chinese has no spaces) fall in one group,
different ones stay apart, groups are stable as questions arrive, FAQ matching."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.i18n import check_catalog
from surveys.pickups.texts import TEXTS
from surveys.questions.grouping import (
    Asked,
    FaqEntry,
    best_faq,
    group_questions,
    is_question_like,
    similarity,
    tokens,
)

SAME = [
    ("请问什么时候解封？", "什么时候解封啊"),
    ("请问什么时候解封？", "小区什么时候能解封"),
    ("今天还做核酸吗", "今天要做核酸吗？"),
    ("药什么时候送到", "我家的药什么时候送到？"),
    ("When will the lockdown end?", "when does the lockdown end"),
    ("团购的菜什么时候到？", "团购的菜什么时候到"),
    ("ＷＨＥＮ is the next test?", "when is the next test"),  # full-width letters fold
]
DIFFERENT = [
    ("什么时候解封", "什么时候可以买菜"),
    ("今天做核酸吗", "核酸结果在哪里查？"),
    ("药什么时候送到", "什么时候解封"),
    ("降压药什么时候能送来", "团购的菜什么时候到"),
    ("When will the lockdown end?", "Where do I get my medicine?"),
]


@pytest.mark.parametrize(("a", "b"), SAME)
def test_similar_questions_match(a: str, b: str) -> None:
    assert similarity(tokens(a), tokens(b)) >= 0.5
    [group] = group_questions([Asked(1, a), Asked(2, b)])
    assert group.count == 2 and group.id == 1 and group.text == a


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different_questions_stay_apart(a: str, b: str) -> None:
    assert len(group_questions([Asked(1, a), Asked(2, b)])) == 2


def test_groups_most_asked_first_with_counts() -> None:
    asked = [
        Asked(1, "什么时候可以买菜？", 7),
        Asked(2, "请问什么时候解封？", 7),
        Asked(3, "什么时候解封啊", 8),
        Asked(4, "小区什么时候能解封", 7),
        Asked(5, "团购的菜什么时候到", 8),
        Asked(6, "团购的菜什么时候到？", 7),
    ]
    groups = group_questions(asked)
    assert [(g.id, g.count) for g in groups] == [(2, 3), (5, 2), (1, 1)]
    assert groups[0].ids == [2, 3, 4] and groups[0].buildings == [7, 8]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("什么时候解封", True),
        ("水管漏水", True),
        ("water leak", True),
        ("hello", False),
        ("谢谢！", False),
        ("好的，收到", False),
        ("OK thanks", False),
        ("1", False),
        ("３", False),
        ("？？", False),
        ("", False),
        ("跳过", False),  # sent to a question of a survey that already ended
        ("跳过。", False),
        ("好", False),
        ("嗯嗯", False),
        ("skip", False),
        ("Done!", False),
        ("跳过检测可以吗", True),
        ("好几天没有菜了", True),
    ],
)
def test_question_like(body: str, expected: bool) -> None:
    assert is_question_like(body) is expected


def test_best_faq_by_building_and_similarity() -> None:
    faqs = [
        FaqEntry(1, "什么时候解封？", (7, 8)),
        FaqEntry(2, "药什么时候送到", ()),
    ]
    assert best_faq("请问小区什么时候解封", 7, faqs) == faqs[0]
    assert best_faq("请问小区什么时候解封", 9, faqs) is None  # the FAQ covers 7 and 8 only
    assert best_faq("我家的药什么时候送到？", 20, faqs) == faqs[1]
    assert best_faq("可以买菜吗", 7, faqs) is None
    newer = [*faqs, FaqEntry(3, "什么时候解封", (7,))]
    assert best_faq("什么时候解封", 7, newer) == newer[2]  # a tie goes to the newest answer


def test_texts_exist_in_both_languages() -> None:
    assert check_catalog(TEXTS) == []


TOPICS = ["解封", "买菜", "核酸", "送药", "团购", "医保卡", "lockdown", "medicine", "快递", "垃圾"]
FILLERS = ["", "请问", "什么时候", "吗", "？", "我家的", "能不能", " please", "啊"]
question_text = st.builds(
    lambda a, t, b: a + t + b,
    st.sampled_from(FILLERS),
    st.sampled_from(TOPICS),
    st.sampled_from(FILLERS),
) | st.text(min_size=0, max_size=20)


@given(st.lists(question_text, max_size=30))
def test_grouping_is_a_partition_and_stable(texts: list[str]) -> None:
    asked = [Asked(i + 1, t) for i, t in enumerate(texts)]
    groups = group_questions(asked)
    ids = sorted(i for g in groups for i in g.ids)
    assert ids == [q.id for q in asked]  # every question in exactly one group
    assert all(g.id == min(g.ids) for g in groups)  # a group's id is its first question
    counts = [(-g.count, g.id) for g in groups]
    assert counts == sorted(counts)  # most asked first
    # Questions arriving later never move earlier ones: grouping a prefix gives the same groups.
    cut = len(asked) // 2
    earlier = {tuple(g.ids) for g in group_questions(asked[:cut])}
    later = {tuple(i for i in g.ids if i <= cut) for g in groups}
    assert earlier == {ids for ids in later if ids}


@given(question_text, question_text)
def test_similarity_symmetric_and_bounded(a: str, b: str) -> None:
    ta, tb = tokens(a), tokens(b)
    assert similarity(ta, tb) == similarity(tb, ta)
    assert 0.0 <= similarity(ta, tb) <= 1.0
    if ta:
        assert similarity(ta, ta) == 1.0
