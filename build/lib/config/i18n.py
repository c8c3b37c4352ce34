"""Resident-facing text in zh-CN and en. Each package keeps its own catalog of texts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LANGUAGES = ("zh-CN", "en")
Catalog = Mapping[str, Mapping[str, str]]


def normalise_language(value: str | None, default: str = "zh-CN") -> str:
    if not value:
        return default
    low = value.strip().lower()
    if low.startswith("en"):
        return "en"
    if low.startswith("zh") or low in ("cn", "中文"):
        return "zh-CN"
    return default


def text(catalog: Catalog, key: str, lang: str, **values: Any) -> str:
    entry = catalog[key]
    template = entry.get(lang) or entry["zh-CN"]
    return template.format(**values) if values else template


def check_catalog(catalog: Catalog) -> list[str]:
    """Keys missing a language (tests call this for every catalog)."""
    return [
        f"{key}: no {lang}"
        for key, entry in catalog.items()
        for lang in LANGUAGES
        if not entry.get(lang)
    ]
