"""Residents' questions grouped by similarity (pure: no database, no clock).

Chinese has no spaces, so a text is compared as a *set of tokens*: each run of CJK characters
gives its character bigrams (a lone character gives itself), each run of Latin letters or digits
gives the lower-cased word. Politeness and filler (请问, 吗, 呢, "please", "the" ...) are dropped
first, full-width forms are folded (NFKC). Two texts are similar when the Jaccard index of their
token sets reaches :data:`THRESHOLD`.

Grouping is greedy in the order the questions were asked: a question joins the first earlier
group whose first question is similar to it, else it starts a new group (comparing with the
first question only keeps a group from drifting, link by link, away from what was asked).
Known limit: texts that differ in one short word (今天 / 明天做核酸) can still look alike. A question's group never
changes when later questions arrive, so a group's id (its first question's id) is stable between
``/questions`` and the reply.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

THRESHOLD = 0.5

# Politeness, particles and question scaffolding carry no topic: they are removed before
# tokenising (longest first), so 什么时候解封 and 什么时候买菜 do not look alike.
_CJK_FILLER = sorted(
    (
        "请问一下 请问 你好 您好 麻烦 谢谢 好的 收到 知道了 一下 我们 我家 咱们 是不是 什么时候 什么 怎么办 "
        "怎么样 怎么 为什么 那么 能不能 可不可以 有没有 是否 可以 能够 需要 到底 现在 请 能 还 要 "
        "的 了 吗 呢 啊 吧 呀 嘛 哦 么"
    ).split(),
    key=len,
    reverse=True,
)
_EN_STOP = frozenset(
    "a an the is are was were be do does did to of in on at for and or i we you my our "
    "please hello hi thanks thank can could would will there it this that any when what how "
    "why where who which ok okay yes no got".split()
)
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]+|[^\W_]+", re.UNICODE)
_IS_CJK = re.compile(rf"[{_CJK}]")


def normalise(text: str) -> str:
    """Full-width folded, lower case, filler removed, punctuation and spaces kept as breaks."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    for filler in _CJK_FILLER:
        folded = folded.replace(filler, " ")
    return " ".join(_TOKEN.findall(folded))


def tokens(text: str) -> frozenset[str]:
    """The token set of a text (see the module docstring)."""
    out: set[str] = set()
    for run in normalise(text).split():
        if _IS_CJK.match(run):
            if len(run) == 1:
                out.add(run)
            else:
                out.update(run[i : i + 2] for i in range(len(run) - 1))
        elif run not in _EN_STOP:
            out.add(run)
    return frozenset(out)


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard index of two token sets; 0 when either is empty."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def similar(a: frozenset[str], b: frozenset[str], threshold: float = THRESHOLD) -> bool:
    return similarity(a, b) >= threshold


# Whole messages that only acknowledge or answer a survey that already ended ("跳过" sent to a
# question that is gone): never a question for staff, whatever punctuation follows them.
_ACKNOWLEDGEMENTS = frozenset(
    "跳过 好 好好 好滴 好嘞 好哒 嗯 嗯嗯 行 对 是 是的 否 不是 没有 没 不用 不要 可以 明白 明白了 了解 "
    "已填 填好了 填完了 已完成 完成 ok skip done fine sure 👍 🙏 👌".split()
)


def is_question_like(text: str) -> bool:
    """Text worth storing as a question: it holds a letter or a CJK character and something
    beyond courtesy ("1" sent after a survey ended, 谢谢, 好的, 跳过 or "ok" are not
    questions)."""
    folded = unicodedata.normalize("NFKC", text)
    bare = re.sub(r"[\s\W_]+", "", folded.casefold())
    if bare in _ACKNOWLEDGEMENTS or folded.strip() in _ACKNOWLEDGEMENTS:
        return False
    return any(ch.isalpha() for ch in folded) and bool(tokens(folded))


@dataclass(frozen=True, slots=True)
class Asked:
    """One question as the grouping sees it."""

    id: int
    text: str
    building: int = 0


@dataclass(slots=True)
class Group:
    """Similar questions; ``id`` is the id of the first one asked (it never changes)."""

    id: int
    text: str  # the first question's text
    members: list[Asked] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.members)

    @property
    def ids(self) -> list[int]:
        return [m.id for m in self.members]

    @property
    def buildings(self) -> list[int]:
        return sorted({m.building for m in self.members})


def group_questions(asked: Iterable[Asked], threshold: float = THRESHOLD) -> list[Group]:
    """Group questions (taken in id order = the order they were asked); most asked first,
    ties by the earliest group."""
    groups: list[Group] = []
    leaders: list[frozenset[str]] = []
    for question in sorted(asked, key=lambda q: q.id):
        mine = tokens(question.text)
        for group, leader in zip(groups, leaders, strict=True):
            if similar(mine, leader, threshold):
                group.members.append(question)
                break
        else:
            groups.append(Group(question.id, question.text, [question]))
            leaders.append(mine)
    return sorted(groups, key=lambda g: (-g.count, g.id))


@dataclass(frozen=True, slots=True)
class FaqEntry:
    id: int
    question: str
    buildings: tuple[int, ...] = ()  # () = every building
    estate: int | None = None  # the estate of those buildings; None = every estate


def best_faq(
    text: str, building: int, faqs: Sequence[FaqEntry], threshold: float = THRESHOLD
) -> FaqEntry | None:
    """The FAQ that answers ``text`` asked in ``building``: the most similar one (newest on a
    tie) among those covering the building, if similar enough."""
    mine = tokens(text)
    best: FaqEntry | None = None
    best_score = 0.0
    for faq in faqs:
        if faq.buildings and building not in faq.buildings:
            continue
        score = similarity(mine, tokens(faq.question))
        if score >= threshold and (
            score > best_score or (score == best_score and best and faq.id > best.id)
        ):
            best, best_score = faq, score
    return best
