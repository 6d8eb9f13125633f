"""The emergency phone's history: shift records (one timeline, ordered by start)."""
from __future__ import annotations

from datetime import datetime

from chalicelib.domain.rota import ShiftRecord
from chalicelib.store._base import Write
from chalicelib.store.rare_models import Shift

TIMELINE = "rota"
_FIELDS = ShiftRecord._fields


def _record(m: Shift | None) -> ShiftRecord | None:
    return ShiftRecord(**{f: getattr(m, f) for f in _FIELDS}) if m is not None else None


def _model(s: ShiftRecord) -> Shift:
    return Shift(rota=TIMELINE, **{f: getattr(s, f) for f in _FIELDS if getattr(s, f) is not None})


def last_shift() -> ShiftRecord | None:
    """The latest record (the open one while someone holds the phone)."""
    return _record(next(iter(Shift.query(TIMELINE, scan_index_forward=False, limit=1, consistent_read=True)), None))


def shifts_between(start: datetime, end: datetime) -> list[ShiftRecord]:
    """Records overlapping [start, end), in order: the one that began before `start` (if it lasted
    into the window) and those that began inside it."""
    before = next(iter(Shift.query(TIMELINE, Shift.start < start, scan_index_forward=False, limit=1,
                                   consistent_read=True)), None)
    inside = list(Shift.query(TIMELINE, Shift.start.between(start, end), consistent_read=True))
    inside = [s for s in inside if s.start < end]
    head = [before] if before is not None and (before.end is None or before.end > start) else []
    return [_record(m) for m in head + inside]


def new_shift(start: datetime, person_id: str, now: datetime, **attrs) -> ShiftRecord:
    return ShiftRecord(start=start, person_id=person_id, recorded_at=now,
                       **{k: v for k, v in attrs.items() if v is not None})


def open_shift_write(shift: ShiftRecord) -> Write:
    """A record that starts now: written once (a racing sweep's copy fails its condition)."""
    return Write("put", _model(shift), Shift.start.does_not_exist(), tag="shift")


def close_shift_write(shift: ShiftRecord, end: datetime) -> Write:
    """Ends the open record at `end` (only if nobody ended it meanwhile)."""
    return Write("update", Shift(rota=TIMELINE, start=shift.start), Shift.end.does_not_exist(), tag="shift",
                 actions=[Shift.end.set(end)], add_version_condition=False)


def cut_shift_write(shift: ShiftRecord, end: datetime | None) -> Write:
    """A correction shortens a record (or reopens it, end None): unconditional, the admin's word."""
    action = Shift.end.set(end) if end is not None else Shift.end.remove()
    return Write("update", Shift(rota=TIMELINE, start=shift.start), tag="shift", actions=[action],
                 add_version_condition=False)


def replace_shift_write(shift: ShiftRecord) -> Write:
    return Write("put", _model(shift), tag="shift")


def delete_shift_write(shift: ShiftRecord) -> Write:
    return Write("delete", Shift(rota=TIMELINE, start=shift.start), tag="shift", add_version_condition=False)
