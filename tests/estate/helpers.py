"""Shared values for the registry tests."""

from __future__ import annotations

from datetime import date
from typing import Any

from estate.models import Building, Contact, Estate, Household, Person

TODAY = date(2022, 4, 10)


async def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every registry row an import may touch, for 'nothing changed' checks."""
    return {
        model.__name__: await model.all().order_by("id").values()
        for model in (Estate, Building, Household, Person, Contact)
    }
