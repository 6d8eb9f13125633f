"""The emergency phone as it really happened: shift records, and the counts made from them.

The handoff sweep records every change of holder as it happens (`record`):
who held the phone from when to when, whom the rota scheduled, and why (the
rota, an override, a TAKE that was missed). An admin's override that reaches
into the past is a correction: it replaces the records it covers and names
the admin (`correct`). Stats, the report's on-call section and the calendar's
past come from these records only — editing the rota never rewrites history,
and nothing is counted before the rota began or after now.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time, timedelta, timezone

from chalicelib import settings, store
from chalicelib.domain import rota as rules
from chalicelib.errors import BadRequest
from chalicelib.logs import logger

WEEK = timedelta(days=7)


def _who(rot: rules.Rotation, t: datetime) -> dict:
    o = rot.override_at(t)
    how = ("untaken" if o.auto == "untaken" else "override") if o else "rota"
    return {"person_id": o.person_id if o else rot.shift_at(t)[0], "scheduled_id": rot.shift_at(t)[0],
            "how": how, "override_id": o.id if o else None}


def _took_at(t: datetime) -> datetime | None:
    state = store.claim_state(f"taken#{t.astimezone(timezone.utc).isoformat()}")
    return state.created_at if state is not None else None


def record(now: datetime, doc: dict | None = None) -> int:
    """Writes the changes of holder since the last record, at the instants they happened.

    Idempotent: every record is written once (conditional), so racing or repeated sweeps agree;
    a sweep that missed hours catches up change by change. Returns how many records it opened.
    """
    doc = doc if doc is not None else store.get_setting("rota")
    if not doc or not doc.get("members"):
        return 0
    rot = rules.from_document(doc)
    first = began(doc)
    if now < first:
        return 0
    current = store.last_shift()
    opened = 0
    if current is None or current.end is not None:
        at = first if current is None else current.end
        new = store.new_shift(at, now=now, took_at=_took_at(at), **_who(rot, at))
        if not _commit([store.open_shift_write(new)]):
            return 0
        current, opened = new, 1
    else:
        who = _who(rot, current.start)
        if who["how"] == "untaken" and current.how != "untaken":
            # The TAKE was missed: the previous holder kept the phone from the handoff itself
            # (the sweep that saw the handoff recorded the scheduled person a minute earlier).
            kept = store.new_shift(current.start, now=now, **who)
            _commit([store.replace_shift_write(kept)])
            current = kept
    # A rota edit counts from when it was made: its new boundaries never rewrite what happened.
    changed = datetime.fromisoformat(doc["changed_at"]) if doc.get("changed_at") else None
    floor = max(current.start, changed) if changed and changed > current.start else current.start
    candidates = set(rot.changes(floor, now))
    if changed and current.start < changed <= now:
        candidates.add(changed)
    for at in sorted(candidates):
        who = _who(rot, at)
        if (who["person_id"], who["scheduled_id"]) == (current.person_id, current.scheduled_id):
            continue
        new = store.new_shift(at, now=now, took_at=_took_at(at), **who)
        if not _commit([store.close_shift_write(current, at), store.open_shift_write(new)]):
            return opened  # another sweep is recording the same change
        current, opened = new, opened + 1
    return opened


def began(doc: dict) -> datetime:
    """When the rota's history begins: its first handoff, or when it was set up if that was later
    (a rota dated in the past did not happen before it existed)."""
    first = rules.from_document(doc).begins_at
    created = datetime.fromisoformat(doc["created_at"]) if doc.get("created_at") else first
    return max(first, created)


def _commit(writes: list) -> bool:
    try:
        store.transact(writes)
        return True
    except store.ConditionFailed:
        logger.info("shift record written by another sweep")
        return False


def correct(person_id: str, start: datetime, end: datetime, admin_id: str, now: datetime,
            override_id: str | None = None) -> None:
    """An admin says who really held the phone in [start, end) of the past: the records there are
    replaced (cut at the edges), in one transaction, and the new one names the admin."""
    writes = correction_writes(person_id, start, end, admin_id, now, override_id=override_id)
    if writes:
        store.transact(writes)


def correction_writes(person_id: str, start: datetime, end: datetime, admin_id: str, now: datetime,
                      override_id: str | None = None, rot: rules.Rotation | None = None) -> list:
    """correct()'s writes, for the caller's transaction (an override into the past commits them with
    the rota's change: never one without the other). `rot`: the rota as it will be (who holds the
    phone from now on). A record replaced at the same start is overwritten, not deleted and put
    again (DynamoDB refuses two operations on one item in a transaction: issue 23)."""
    end = min(end, now)
    if end <= start:
        return []
    records = store.shifts_between(start, end)
    if not records:
        return []  # nothing was recorded there (before the rota began): nothing to correct
    start = max(start, records[0].start)
    writes, tail = [], None
    for s in records:
        s_end = s.end  # None: the open record
        if s.start < start:
            writes.append(store.cut_shift_write(s, start))
        else:
            writes.append(store.delete_shift_write(s))
        if s_end is None and end == now:
            rot = rot or settings.current_rota()  # the open record goes on as the rota (with this override) says
            tail = store.new_shift(end, now=now, **_who(rot, now)) if rot else None
        elif s_end is None or s_end > end:
            tail = store.new_shift(end, s.person_id, now, end=s_end, scheduled_id=s.scheduled_id, how=s.how,
                                   override_id=s.override_id, took_at=s.took_at, corrected_by=s.corrected_by)
    puts = [store.new_shift(start, person_id, now, end=end, how="correction", override_id=override_id,
                            corrected_by=admin_id)]
    if tail is not None and tail.start != start:
        puts.append(tail)
    replaced = {p.start for p in puts}
    writes = [w for w, s in zip(writes, records, strict=True) if not (w.op == "delete" and s.start in replaced)]
    return writes + [store.replace_shift_write(p) for p in puts]


def held(start: datetime, end: datetime, now: datetime, zone) -> dict[str, dict]:
    """{person: {seconds, weekend_days, weekends}} in [start, min(end, now)) from the records.

    A weekend day counts for whoever held the phone at its local noon; a weekend for whoever held
    it Saturday noon (PRODUCT.md: a compensation day per week held, weekends counted apart)."""
    end = min(end, now)
    out: dict[str, dict] = defaultdict(lambda: {"seconds": 0.0, "weekend_days": 0, "weekends": 0})
    if end <= start:
        return {}
    for s in store.shifts_between(start, end):
        a, b = max(s.start, start), min(s.end or now, end)
        if b <= a:
            continue
        row = out[s.person_id]
        row["seconds"] += (b - a).total_seconds()
        day = a.astimezone(zone).date()
        while day <= b.astimezone(zone).date():
            noon = datetime.combine(day, time(12), tzinfo=zone)
            if day.weekday() >= 5 and a <= noon < b:
                row["weekend_days"] += 1
                row["weekends"] += day.weekday() == 5
            day += timedelta(days=1)
    return dict(out)


HISTORY_DEFAULT = timedelta(days=28)
HISTORY_LONGEST = timedelta(days=366)


def history_json(start: datetime | None, end: datetime | None, now: datetime) -> dict:
    """GET /rota/shifts: the records between `start` and `end` (default: the last four weeks)."""
    start = start or now - HISTORY_DEFAULT
    end = end or now
    if end <= start or end - start > HISTORY_LONGEST:
        raise BadRequest("to", "must be after from, at most 366 days later")
    return {"items": history(start.astimezone(timezone.utc), end.astimezone(timezone.utc), now)}


def history(start: datetime, end: datetime, now: datetime) -> list[dict]:
    """The records in [start, end) as the API shows them."""
    return [{"person_id": s.person_id, "start": s.start.isoformat(), "end": s.end.isoformat() if s.end else None,
             "scheduled_id": s.scheduled_id, "how": s.how, "override_id": s.override_id,
             "took_at": s.took_at.isoformat() if s.took_at else None, "corrected_by": s.corrected_by}
            for s in store.shifts_between(start, min(end, now))]


def stats(year: int, now: datetime) -> dict:
    """Per person in `year`, from the records: weeks and weekend days held, compensation days
    (one per week held), pages received and acknowledged; and, apart, the coming shifts."""
    rot = settings.current_rota()
    zone = rot.zone if rot else timezone.utc
    start = datetime(year, 1, 1, tzinfo=zone).astimezone(timezone.utc)
    end = datetime(year + 1, 1, 1, tzinfo=zone).astimezone(timezone.utc)
    rows = held(start, end, now, zone)
    pages = _pages(start, min(end, now))
    people = {p.id: p for p in store.all_people()}
    items = []
    for pid in sorted(set(rows) | set(pages), key=lambda p: -rows.get(p, {}).get("seconds", 0)):
        h = rows.get(pid, {"seconds": 0.0, "weekend_days": 0})
        weeks = h["seconds"] / WEEK.total_seconds()
        received, acked = pages.get(pid, (0, 0))
        items.append({"person_id": pid, "name": people[pid].name if pid in people else None,
                      "weeks_held": round(weeks, 2), "weekend_days_held": h["weekend_days"],
                      "compensation_days": int(weeks + 0.5), "pages_received": received,
                      "pages_acknowledged": acked})
    planned = []
    if rot is not None and end > now:
        frm = max(now, start, rot.begins_at)
        planned = [{"person_id": s["person_id"], "start": s["start"].astimezone(zone).isoformat(),
                    "end": s["end"].astimezone(zone).isoformat(), "override": s["override"]}
                   for s in rot.schedule(frm, min(end, frm + timedelta(days=84)))][:12]
    return {"year": year, "items": items, "planned": planned, "source": "shift records"}


def _pages(start: datetime, end: datetime) -> dict[str, tuple[int, int]]:
    """(pages received, pages acknowledged) per person from the tickets' events in [start, end)."""
    received: dict[str, int] = defaultdict(int)
    acked: dict[str, int] = defaultdict(int)
    if end <= start:
        return {}
    paged: dict[tuple[int, str], bool] = {}
    for e in sorted(store.events_between(start, end), key=lambda e: (e.at, e.id)):
        data = e.data or {}
        if e.type == "paged" and data.get("to"):
            received[data["to"]] += 1
            paged[(e.ticket_id, data["to"])] = True
        elif e.type == "acked" and paged.pop((e.ticket_id, e.actor), False):
            acked[e.actor] += 1
    return {p: (received[p], acked[p]) for p in set(received) | set(acked)}
