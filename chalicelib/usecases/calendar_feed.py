"""The on-call calendar feed (GET /rota.ics): the last four weeks as they happened, twelve weeks of the plan,
stable events with the zone's VTIMEZONE."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from chalicelib import store
from chalicelib.domain import rota as rules
from chalicelib.usecases import shifts

FEED_PAST = timedelta(days=28)  # the last four weeks, as they happened (shift records)
FEED_AHEAD = timedelta(days=84)  # twelve weeks of the plan


def feed_events(doc: dict, now: datetime) -> list[dict]:
    """The feed's shifts: [{person_id, start, end, override, actual}] — what happened in the last
    four weeks (the records), the current shift, then the plan for twelve weeks. Each starts
    where the shift really starts (never at `now`), so two fetches give the same events."""
    rot = rules.from_document(doc)
    first = shifts.began(doc)
    horizon = rot.boundary(rot.shift_index(now + FEED_AHEAD) + 1)  # whole shifts: stable for a week
    anchor = max(rot.boundary(rot.shift_index(now)), first)
    plan = [s for s in rot.schedule(anchor, horizon) if s["end"] > now] if horizon > anchor else []
    events: list[dict] = []
    for r in store.shifts_between(now - FEED_PAST, now):
        if r.start < first:
            continue
        end = r.end
        if end is None:  # the open record: its end is the plan's
            current = next((s for s in plan if s["start"] <= now < s["end"]), None)
            end = current["end"] if current and current["person_id"] == r.person_id else now
            plan = [s for s in plan if s["start"] >= end]
        last = events[-1] if events else None
        if last and last["person_id"] == r.person_id and last["end"] == r.start:
            last["end"] = end  # the same person on: one event
        else:
            events.append({"person_id": r.person_id, "start": r.start, "end": end,
                           "override": r.how in ("override", "untaken", "correction"), "actual": True})
    if events:
        plan = [s for s in plan if s["start"] >= events[-1]["end"]]
    events += [dict(s, actual=False) for s in plan if s["start"] >= first]
    return events


def ics(doc: dict, now: datetime) -> str:
    """The calendar feed (RFC 5545): one VEVENT per shift, local times with the zone's VTIMEZONE,
    UIDs from the person and the shift's start (stable across fetches and unrelated rota edits)."""
    from icalendar import Calendar, Event

    rot = rules.from_document(doc)
    people = {p.id: p for p in store.all_people()}
    stamp = datetime.fromisoformat(doc.get("changed_at") or doc.get("created_at") or "2026-01-01T00:00:00+00:00")
    cal = Calendar()
    cal.add("prodid", "-//Friday Night//rota//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "Emergency phone rota")
    cal.add("x-wr-timezone", rot.timezone)
    for seg in feed_events(doc, now):
        person = people.get(seg["person_id"])
        start = seg["start"].astimezone(timezone.utc)
        uid = hashlib.sha256(f"{seg['person_id']}|{start.isoformat()}".encode()).hexdigest()[:24]
        event = Event()
        event.add("uid", f"{uid}@friday-night")
        event.add("summary", f"Emergency phone: {person.name if person else seg['person_id']}"
                  + (" (override)" if seg["override"] else ""))
        event.add("dtstart", seg["start"].astimezone(rot.zone))
        event.add("dtend", seg["end"].astimezone(rot.zone))
        event.add("dtstamp", stamp)
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical().decode()


# --- policy ----------------------------------------------------------------------
