"""The staff text of a survey alert: one per alert kind of the built-in definitions, filled from
the household's answers; an unknown kind gets the generic text."""

from __future__ import annotations

from config.i18n import check_catalog
from surveys.alerts import TEXTS, alert_text
from surveys.definition import builtin_slugs, load_builtin


def test_every_alert_kind_of_a_builtin_survey_has_its_text() -> None:
    assert check_catalog(TEXTS) == []
    kinds = {rule.kind for slug in builtin_slugs() for rule in load_builtin(slug).alerts}
    assert kinds, "the built-in surveys raise no alert at all?"
    assert {f"alert_{kind}" for kind in kinds} <= set(TEXTS)


def test_an_alert_quotes_the_answers_and_marks_what_is_missing() -> None:
    values = {"positive": 2, "tested": 3}
    assert alert_text("positive_antigen", "en", "7-1203", values) == (
        "🚨 Positive antigen result: 7-1203, 2 positive (3 tested)."
    )
    assert alert_text("positive_antigen", "zh-CN", "7-1203", {"positive": 1}) == (
        "🚨 阳性报告：7-1203，1 人阳性（共检测 ? 人）。"
    )


def test_a_kind_without_its_own_text_gets_the_generic_one() -> None:
    assert alert_text("fever", "en", "8-302", {"positive": 1}) == "🚨 Alert (fever): 8-302."
