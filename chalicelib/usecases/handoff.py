"""The handoff handshake, shift reminders, the dry-run plan and fairness stats.

Hours before a handoff the next holder is asked to reply TAKE. Without TAKE
by the handoff, the current holder stays primary (an automatic override)
and the admins are told; a late TAKE ends that override at once.
"""
from __future__ import annotations

import os
import secrets
from datetime import datetime, timedelta, timezone

from chalicelib import outbox, settings, store
from chalicelib.domain import rota as rules
from chalicelib.domain import texts
from chalicelib.logs import logger
from chalicelib.usecases import paging


def notice() -> timedelta:
    return timedelta(hours=float(os.environ.get("TAKE_NOTICE_HOURS", "4")))


def _upcoming(rot: rules.Rotation, now: datetime) -> tuple[datetime, str, str]:
    """(next handoff, who holds before it, who holds after it)."""
    k = rot.shift_index(now)
    boundary = rot.boundary(k + 1)
    return boundary, rot.member(k), rot.member(k + 1)


def _send(person_id: str, text: str, now: datetime, key: str | None = None) -> None:
    """A notice to a staff phone, through the outbox (once per `key`)."""
    person = store.get_person(person_id)
    if person is None or not person.phone:
        logger.warning("handoff message not sent: no phone", extra={"person": person_id})
        return
    item = outbox.sms(person.phone, text, purpose="notice", now=now, person_id=person_id,
                      key=f"notice#{key}#{person_id}" if key else None)
    try:
        store.transact([store.outbox_put(item)])
    except store.ConditionFailed:
        pass  # written before (a retried sweep): the outbox delivers it
    outbox.dispatch([item.id], now)


def sweep(now: datetime) -> None:
    """Runs every minute: ask for TAKE, remind, and keep the phone held."""
    rot = settings.current_rota()
    if rot is None or len(set(rot.members)) < 2:
        return
    boundary, current, nxt = _upcoming(rot, now)
    key = boundary.isoformat()
    if current != nxt and boundary - notice() <= now < boundary and not _taken(key):
        if store.claim(f"take-ask#{key}", now, ttl=timedelta(days=30)):
            end = rot.boundary(rot.shift_index(boundary) + 1)
            _send(nxt, texts.take_ask(boundary, end, rot.zone), now, key=f"take-ask#{key}")
    # The handoff that just happened: was it taken?
    k = rot.shift_index(now)
    last = rot.boundary(k)
    prev, holder = rot.member(k - 1), rot.member(k)
    if prev == holder or now - last > timedelta(hours=12):
        return
    if _taken(last.isoformat()):
        if store.claim(f"shift-start#{last.isoformat()}", now, ttl=timedelta(days=30)):
            _send(holder, texts.shift_started(rot.boundary(k + 1), rot.zone), now,
                  key=f"shift-start#{last.isoformat()}")
        return
    if store.claim(f"take-missed#{last.isoformat()}", now, ttl=timedelta(days=30)):
        _keep_previous_holder(rot, prev, holder, last, now)


def _taken(boundary_key: str) -> bool:
    return store.claim_exists(f"taken#{boundary_key}")


def _keep_previous_holder(rot: rules.Rotation, prev: str, holder: str, boundary: datetime, now: datetime) -> None:
    end = rot.boundary(rot.shift_index(boundary) + 1)
    override = {"id": "o_" + secrets.token_hex(5), "person_id": prev, "start": boundary.isoformat(),
                "end": end.isoformat(), "created_at": now.isoformat(), "auto": "untaken", "for": holder}

    def change(doc: dict) -> dict:
        doc["overrides"] = doc.get("overrides", []) + [override]
        return doc

    store.change_setting("rota", change, now)
    people = {p.id: p for p in store.all_people()}
    new_name = people[holder].name if holder in people else holder
    _send(prev, texts.take_missed_holder(new_name), now,
          key=f"take-missed#{boundary.isoformat()}")
    for p in people.values():
        if p.role == "admin" and p.id != prev:
            _send(p.id, texts.take_missed_admin(new_name, people[prev].name if prev in people else prev), now,
                  key=f"take-missed#{boundary.isoformat()}")


def take(person: store.Person, now: datetime) -> str:
    """A TAKE from a staff phone: confirm the coming (or missed) handoff."""
    rot = settings.current_rota()
    if rot is None:
        return "No rota is set up yet."
    boundary, _, nxt = _upcoming(rot, now)
    k = rot.shift_index(now)
    if nxt == person.id and now >= boundary - notice():
        store.claim(f"taken#{boundary.isoformat()}", now, ttl=timedelta(days=30))
        end = rot.boundary(rot.shift_index(boundary) + 1)
        return texts.take_thanks(boundary, end, rot.zone)
    if rot.member(k) == person.id:
        last = rot.boundary(k)
        store.claim(f"taken#{last.isoformat()}", now, ttl=timedelta(days=30))

        def change(doc: dict) -> dict:
            for o in doc.get("overrides", []):
                if o.get("auto") == "untaken" and o.get("for") == person.id and o["start"] == last.isoformat():
                    o["end"] = max(now, datetime.fromisoformat(o["start"])).isoformat()
            return doc

        store.change_setting("rota", change, now)
        end = rot.boundary(k + 1)
        return texts.take_thanks(None, end, rot.zone)
    return "There is no handoff for you to take right now. Text WHO to see who holds the phone."


# --- dry run and fairness ----------------------------------------------------------


def plan(at: datetime) -> dict:
    """The timeline an urgent ticket at `at` would produce: who, when, which channel."""
    timeout = settings.ack_timeout()
    rounds = settings.max_page_rounds()
    people = {p.id: p for p in store.all_people()}
    chain = paging.chain_at(at)
    steps, gaps, t = [], [], at
    for link in chain:
        person = people.get(link["person_id"])
        if person is None or not person.phone:
            gaps.append(f"{person.name if person else link['person_id']} ({link['role']}) has no phone: skipped")
    for round_ in range(rounds):
        for link in chain:
            person = people.get(link["person_id"])
            if person is None or not person.phone:
                continue
            for channel in ("sms", "call"):
                steps.append({"at": t.isoformat(), "person_id": person.id, "name": person.name,
                              "role": link["role"], "channel": channel, "round": round_ + 1})
                t += timeout
    if not steps:
        gaps.append("nobody can be paged: set up the rota and phone numbers")
    admins = [p.name for p in people.values() if p.role == "admin" and p.phone]
    return {"at": at.isoformat(), "rounds": rounds, "steps": steps, "gaps": gaps, "exhausted_at": t.isoformat(),
            "then": f"if nobody acknowledges: an SMS to every admin ({', '.join(admins) or 'none with a phone'})"}


def stats(year: int) -> dict:
    """Weeks each person held the phone in `year`, and the compensation days earned (one per week)."""
    rot = settings.current_rota()
    if rot is None:
        return {"year": year, "items": []}
    start = datetime(year, 1, 1, tzinfo=rot.zone).astimezone(timezone.utc)
    end = datetime(year + 1, 1, 1, tzinfo=rot.zone).astimezone(timezone.utc)
    held: dict[str, timedelta] = {}
    for seg in rot.schedule(start, end):
        held[seg["person_id"]] = held.get(seg["person_id"], timedelta()) + (seg["end"] - seg["start"])
    people = {p.id: p for p in store.all_people()}
    items = []
    for pid, total in sorted(held.items(), key=lambda kv: -kv[1]):
        weeks = total / timedelta(days=7)
        items.append({"person_id": pid, "name": people[pid].name if pid in people else None,
                      "weeks_held": round(weeks, 2), "compensation_days": int(weeks + 0.5)})
    return {"year": year, "items": items}
