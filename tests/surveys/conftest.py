"""Survey test fixtures."""

from __future__ import annotations

import pytest

from surveys.engine.expressions import parse


@pytest.fixture(autouse=True)
def _fresh_expression_cache() -> None:
    """Every test parses its expressions itself: ``parse`` is cached, and an Expr cached by an
    earlier test (or by the process a mutation run forks from) would hide a broken parser."""
    parse.cache_clear()
