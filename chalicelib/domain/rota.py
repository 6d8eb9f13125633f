"""The emergency phone rota: who holds the phone at instant t. Pure; no I/O.

Members hold the phone in turn; shift k starts at the k-th handoff, the
handoff being a weekday and a local wall-clock time in an IANA zone, so the
handoff stays at 18:00 local on both sides of a DST change (Grafana OnCall
#3261 shifted by an hour; GoAlert wrote its DST rules down, PR #1252).

Shift k covers [boundary(k), boundary(k+1)) and belongs to members[k mod n];
before the first handoff the rotation simply runs backwards (k = -1 is the
last member, k = -2 the one before), so exactly one person holds the phone
at every instant.

Overrides replace the holder for a window; where overrides overlap, the one
created last wins (documented in the API: no 409, the newest intent counts).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from chalicelib.domain.record import Record

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class ShiftRecord(Record):
    """What happened on the emergency phone: who held it from when to when (``end`` is None while
    they still hold it), whom the rota scheduled, and why (rota | override | untaken | correction)."""

    start: datetime
    person_id: str
    recorded_at: datetime
    end: datetime | None = None
    scheduled_id: str | None = None
    how: str = "rota"
    override_id: str | None = None
    took_at: datetime | None = None  # the TAKE that confirmed it
    corrected_by: str | None = None


class Override(Record):
    id: str
    person_id: str
    start: datetime
    end: datetime
    created_at: datetime
    auto: str | None = None  # "untaken": the previous holder kept the phone (TAKE missed); "rota-change"


class Rotation(Record):
    timezone: str
    handoff_weekday: int  # 0 = Monday
    handoff_time: time
    shift_days: int
    members: tuple[str, ...]
    start: date
    overrides: tuple[Override, ...] = ()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    # --- boundaries -------------------------------------------------------

    def _first_handoff_date(self) -> date:
        return self.start + timedelta(days=(self.handoff_weekday - self.start.weekday()) % 7)

    def boundary(self, k: int) -> datetime:
        """The k-th handoff as an aware UTC instant (local wall time, DST-correct)."""
        local_day = self._first_handoff_date() + timedelta(days=k * self.shift_days)
        local = datetime.combine(local_day, self.handoff_time, tzinfo=self.zone)
        # A wall time skipped by a spring-forward gap normalises to the instant after it.
        return local.astimezone(timezone.utc)

    def shift_index(self, t: datetime) -> int:
        local = t.astimezone(self.zone).replace(tzinfo=None)
        first = datetime.combine(self._first_handoff_date(), self.handoff_time)
        k = (local - first) // timedelta(days=self.shift_days)
        while self.boundary(k) > t:
            k -= 1
        while self.boundary(k + 1) <= t:
            k += 1
        return k

    def member(self, k: int) -> str:
        return self.members[k % len(self.members)]

    # --- questions --------------------------------------------------------

    def shift_at(self, t: datetime) -> tuple[str, datetime, datetime]:
        """(rotation member, shift start, shift end) at t, ignoring overrides."""
        k = self.shift_index(t)
        return self.member(k), self.boundary(k), self.boundary(k + 1)

    def override_at(self, t: datetime) -> Override | None:
        active = [o for o in self.overrides if o.start <= t < o.end]
        return max(active, key=lambda o: (o.created_at, o.id)) if active else None

    def holder_at(self, t: datetime) -> str:
        o = self.override_at(t)
        return o.person_id if o else self.shift_at(t)[0]

    def holding_at(self, t: datetime, horizon: timedelta = timedelta(days=92)) -> tuple[str, datetime, datetime]:
        """(holder, since, until) at t: the whole stretch in which that person holds the phone, over
        handoffs and override edges that do not change the holder; an override ending early, or one
        nested inside another, ends or starts it where the phone really changes hands."""
        person = self.holder_at(t)
        start = max(self.begins_at, t - horizon)
        for edge in reversed(self.changes(start, t)):
            if self.holder_at(edge - timedelta(microseconds=1)) != person:
                start = edge
                break
        end = t + horizon
        for edge in self.changes(t, t + horizon):
            if self.holder_at(edge) != person:
                end = edge
                break
        return person, start, end

    def intended_holder(self, t: datetime) -> str:
        """Who should hold the phone at t: overrides count, except the automatic one that keeps the
        previous holder on when a TAKE was missed (the TAKE handshake asks this person)."""
        active = [o for o in self.overrides if o.start <= t < o.end and o.auto != "untaken"]
        return max(active, key=lambda o: (o.created_at, o.id)).person_id if active else self.shift_at(t)[0]

    @property
    def begins_at(self) -> datetime:
        """The first handoff: the rota holds nothing before it (its history starts here)."""
        return self.boundary(0)

    def changes(self, after: datetime, until: datetime) -> list[datetime]:
        """Every instant in (after, until] at which the holder or the scheduled member may change:
        the handoffs and the overrides' edges, in order."""
        cuts = set()
        k = self.shift_index(after)
        while self.boundary(k + 1) <= until:
            k += 1
            cuts.add(self.boundary(k))
        for o in self.overrides:
            cuts.update(edge for edge in (o.start, o.end) if after < edge <= until)
        return sorted(cuts)

    def backup_at(self, t: datetime) -> str | None:
        """The next member of the rotation after the scheduled holder."""
        holder = self.holder_at(t)
        k = self.shift_index(t)
        for step in range(1, len(self.members) + 1):
            candidate = self.member(k + step)
            if candidate != holder:
                return candidate
        return None

    def schedule(self, start: datetime, end: datetime) -> list[dict]:
        """Segments [{person_id, start, end, override}] covering [start, end) exactly."""
        if end <= start:
            return []
        cuts = {start, end}
        k = self.shift_index(start)
        while self.boundary(k + 1) < end:
            k += 1
            cuts.add(self.boundary(k))
        for o in self.overrides:
            for edge in (o.start, o.end):
                if start < edge < end:
                    cuts.add(edge)
        points = sorted(cuts)
        segments: list[dict] = []
        for a, b in zip(points, points[1:], strict=False):
            o = self.override_at(a)
            person = o.person_id if o else self.shift_at(a)[0]
            is_override = o is not None
            last = segments[-1] if segments else None
            if last and last["person_id"] == person and last["override"] == is_override and last["end"] == a:
                last["end"] = b
            else:
                segments.append({"person_id": person, "start": a, "end": b, "override": is_override})
        return segments


def from_document(doc: dict) -> Rotation:
    """The stored rota document (as PUT /rota validated it) → Rotation."""
    hh, mm = (int(x) for x in doc["handoff"]["time"].split(":"))
    overrides = tuple(
        Override(o["id"], o["person_id"], datetime.fromisoformat(o["start"]), datetime.fromisoformat(o["end"]),
                 datetime.fromisoformat(o["created_at"]), o.get("auto"))
        for o in doc.get("overrides", []))
    return Rotation(timezone=doc["timezone"], handoff_weekday=WEEKDAYS.index(doc["handoff"]["weekday"]),
                    handoff_time=time(hh, mm), shift_days=doc["shift_days"], members=tuple(doc["members"]),
                    start=date.fromisoformat(doc["start"]), overrides=overrides)
