"""The one place that reads the wall clock.

Handlers call `now()` and pass the result down; domain code takes `now` as
an argument. Tests replace the clock with `set_now()` to move time.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

_frozen: datetime | None = None
_offset = timedelta()  # local mode only: a clock that starts at another time and runs on from there


def now() -> datetime:
    return _frozen if _frozen is not None else datetime.now(timezone.utc) + _offset


def start_at(value: datetime) -> None:
    """The clock reads `value` now and runs on in real time (`make run START=...`: try a Friday
    night at any hour)."""
    global _offset
    if value.tzinfo is None:
        raise ValueError("the clock needs a zone-aware datetime")
    _offset = value - datetime.now(timezone.utc)


def set_now(value: datetime | None) -> None:
    """Freeze the clock at `value` (zone-aware); None returns to real time."""
    global _frozen
    if value is not None and value.tzinfo is None:
        raise ValueError("the clock needs a zone-aware datetime")
    _frozen = value.astimezone(timezone.utc) if value else None
