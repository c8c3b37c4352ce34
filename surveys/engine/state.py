"""The survey session state (pure): everything the engine keeps between two messages, and
the positions ("paths") it points at."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "NEEDS_CALL",
    "STATE_FORMAT",
    "Path",
    "SessionState",
    "Status",
    "path_str",
]

Path = tuple[str | int, ...]
Status = Literal["active", "completed", "cancelled"]
NEEDS_CALL = "needs_call"
STATE_FORMAT = 1


@dataclass(frozen=True, slots=True)
class SessionState:
    """Everything the engine needs between messages. Treat as immutable (``answers`` is a
    plain dict for JSON's sake: never mutate it). ``cursor`` is None once completed."""

    survey: str
    version: int
    answers: dict[str, Any] = field(default_factory=dict)
    cursor: Path | None = None
    status: Status = "active"
    seq: int = 0
    bad_tries: int = 0
    history: tuple[Path, ...] = ()
    pending: tuple[str, ...] = ()
    flags: frozenset[str] = frozenset()
    closed_groups: frozenset[str] = frozenset()  # repeats ended by "no" (Keep-able)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "survey": self.survey,
            "version": self.version,
            "answers": copy.deepcopy(self.answers),
            "cursor": None if self.cursor is None else list(self.cursor),
            "status": self.status,
            "seq": self.seq,
            "bad_tries": self.bad_tries,
            "history": [list(p) for p in self.history],
            "pending": list(self.pending),
            "flags": sorted(self.flags),
            "closed_groups": sorted(self.closed_groups),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SessionState:
        """Inverse of :meth:`to_json`; raises ValueError on malformed data."""
        try:
            status = data["status"]
            if status not in ("active", "completed", "cancelled"):
                raise ValueError(f"bad status {status!r}")
            answers = data.get("answers") or {}
            if not isinstance(answers, dict):
                raise ValueError("answers must be an object")
            cursor = data.get("cursor")
            return cls(
                survey=str(data["survey"]),
                version=int(data["version"]),
                answers=copy.deepcopy(answers),
                cursor=None if cursor is None else _to_path(cursor),
                status=status,
                seq=int(data.get("seq", 0)),
                bad_tries=int(data.get("bad_tries", 0)),
                history=tuple(_to_path(p) for p in data.get("history", [])),
                pending=tuple(str(v) for v in data.get("pending", [])),
                flags=frozenset(str(f) for f in data.get("flags", [])),
                closed_groups=frozenset(str(g) for g in data.get("closed_groups", [])),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed session state: {exc}") from None

    @property
    def needs_call(self) -> bool:
        return NEEDS_CALL in self.flags


def _to_path(raw: Any) -> Path:
    if not isinstance(raw, list | tuple) or not raw:
        raise ValueError(f"bad path {raw!r}")
    parts: list[str | int] = []
    for part in raw:
        if isinstance(part, bool) or not isinstance(part, str | int):
            raise ValueError(f"bad path {raw!r}")
        parts.append(part)
    return tuple(parts)


def path_str(path: Path | None) -> str:
    """``("medicines", 1, "drug")`` → ``"medicines.1.drug"`` (for revision rows, logs)."""
    return "" if path is None else ".".join(str(part) for part in path)
