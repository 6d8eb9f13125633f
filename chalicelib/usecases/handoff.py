"""The handoff handshake, shift reminders, the dry-run plan and fairness stats.

Hours before a handoff the next holder is asked to reply TAKE. Without TAKE
by the handoff, the current holder stays primary (an automatic override)
and the admins are told; a late TAKE ends that override at once.
"""
from __future__ import annotations

import os
import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from chalicelib import outbox, settings, store
from chalicelib.domain import rota as rules
from chalicelib.domain import texts
from chalicelib.domain.outbox import Item
from chalicelib.domain.people import Person
from chalicelib.logs import logger
from chalicelib.usecases import paging, shifts


def notice() -> timedelta:
    return timedelta(hours=float(os.environ.get("TAKE_NOTICE_HOURS", "4")))


def _upcoming(rot: rules.Rotation, now: datetime) -> tuple[datetime, str, str]:
    """(next handoff, who should hold the phone before it, who should hold it after it): overrides
    count (an admin's override decides who is asked to TAKE), the automatic keep-on does not."""
    boundary = rot.boundary(rot.shift_index(now) + 1)
    return boundary, rot.intended_holder(boundary - _INSTANT), rot.intended_holder(boundary)


_INSTANT = timedelta(microseconds=1)


def _person(person_id: str) -> Person | None:
    """One read per person and sweep: their zone, language and phone come from the same item."""
    return next((p for p in store.all_people() if p.id == person_id), None)


def _zone(person_id: str, rot: rules.Rotation) -> ZoneInfo:
    """The zone a person reads times in (their own; the rota's when they have none)."""
    person = _person(person_id)
    return ZoneInfo(person.timezone) if person is not None and person.timezone else rot.zone


def _lang(person_id: str) -> str | None:
    """The language a person reads (theirs; None: the business language)."""
    person = _person(person_id)
    return person.language if person is not None else None


def _notice(person_id: str, text: str, now: datetime, key: str) -> Item | None:
    person = _person(person_id)
    if person is None or not person.phone:
        logger.warning("handoff message not sent: no phone", extra={"person": person_id})
        return None
    return outbox.sms(person.phone, text, purpose="notice", now=now, person_id=person_id,
                      key=f"notice#{key}#{person_id}")


def _send(person_id: str, text: str, now: datetime, key: str) -> None:
    """A notice to a staff phone, through the outbox (once per `key`)."""
    item = _notice(person_id, text, now, key)
    if item is None:
        return
    try:
        store.transact([store.outbox_put(item)])
    except store.ConditionFailed:
        pass  # written before (a retried sweep): the outbox delivers it
    outbox.dispatch([item.id], now)


def sweep(now: datetime) -> None:
    """Runs every minute: record what happened, ask for TAKE, keep the phone held."""
    doc = store.get_setting("rota")
    shifts.record(now, doc)
    rot = settings.current_rota()
    if rot is None or len(set(rot.members)) < 2:
        return
    boundary, current, nxt = _upcoming(rot, now)
    key = boundary.isoformat()
    if current != nxt and boundary - notice() <= now < boundary and not _taken(key):
        if store.claim(f"take-ask#{key}", now, ttl=timedelta(days=30)):
            end = rot.holding_at(boundary)[2]  # until the phone changes hands again (overrides count)
            _send(nxt, texts.take_ask(boundary, end, _zone(nxt, rot), _lang(nxt)), now, key=f"take-ask#{key}")
    # The handoff that just happened: was it taken?
    k = rot.shift_index(now)
    last = rot.boundary(k)
    prev, holder = rot.intended_holder(last - _INSTANT), rot.intended_holder(last)
    if prev == holder or now - last > timedelta(hours=12) or last <= shifts.began(doc):
        return
    if _taken(last.isoformat()):
        if store.claim(f"shift-start#{last.isoformat()}", now, ttl=timedelta(days=30)):
            _send(holder, texts.shift_started(rot.holding_at(now)[2], _zone(holder, rot), _lang(holder)), now,
                  key=f"shift-start#{last.isoformat()}")
        return
    if not store.claim_exists(f"take-missed#{last.isoformat()}"):
        _keep_previous_holder(rot, prev, holder, last, now)


def _taken(boundary_key: str) -> bool:
    return store.claim_exists(f"taken#{boundary_key}")


def _keep_previous_holder(rot: rules.Rotation, prev: str, holder: str, boundary: datetime, now: datetime) -> None:
    """Nobody took the phone: the previous holder keeps it (an automatic override), and they and
    the admins are told — the claim, the override and the texts in one transaction."""
    end = rot.boundary(rot.shift_index(boundary) + 1)
    override = {"id": "o_" + secrets.token_hex(5), "person_id": prev, "start": boundary.isoformat(),
                "end": end.isoformat(), "created_at": now.isoformat(), "auto": "untaken", "for": holder}
    people = {p.id: p for p in store.all_people()}
    new_name = people[holder].name if holder in people else holder
    kept_name = people[prev].name if prev in people else prev
    key = f"take-missed#{boundary.isoformat()}"
    items = [_notice(prev, texts.take_missed_holder(new_name, _lang(prev)), now, key)]
    items += [_notice(p.id, texts.take_missed_admin(new_name, kept_name, p.language), now, key)
              for p in people.values() if p.role == "admin" and p.id != prev]
    items = [i for i in items if i is not None]

    def change(doc: dict) -> dict:
        doc["overrides"] = doc.get("overrides", []) + [override]
        return doc

    try:
        store.transact([store.claim_write(key, now, ttl=timedelta(days=30)),
                        store.setting_write("rota", change, now)] + [store.outbox_put(i) for i in items])
    except store.ConditionFailed:
        return  # another sweep kept the phone held (or the rota changed: the next minute decides again)
    store.forget_setting("rota")
    outbox.dispatch([i.id for i in items], now)
    shifts.record(now)


def take(person: Person, now: datetime) -> str:
    """A TAKE from a staff phone: confirm the coming (or missed) handoff."""
    rot = settings.current_rota()
    if rot is None:
        return texts.no_rota(person.language)
    boundary, _, nxt = _upcoming(rot, now)
    k = rot.shift_index(now)
    if nxt == person.id and now >= boundary - notice():
        store.claim(f"taken#{boundary.isoformat()}", now, ttl=timedelta(days=30))
        return texts.take_thanks(boundary, rot.holding_at(boundary)[2], ZoneInfo(person.timezone), person.language)
    last = rot.boundary(k)
    if rot.intended_holder(last) == person.id and rot.intended_holder(now) == person.id:
        store.claim(f"taken#{last.isoformat()}", now, ttl=timedelta(days=30))

        def change(doc: dict) -> dict:
            for o in doc.get("overrides", []):
                if o.get("auto") == "untaken" and o.get("for") == person.id and o["start"] == last.isoformat():
                    o["end"] = max(now, datetime.fromisoformat(o["start"])).isoformat()
            return doc

        store.change_setting("rota", change, now)
        shifts.record(now)
        return texts.take_thanks(None, rot.holding_at(now)[2], ZoneInfo(person.timezone), person.language)
    return texts.nothing_to_take(person.language)


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


def stats(year: int, now: datetime) -> dict:
    """GET /rota/stats: from the shift records (usecases/shifts.py), never from the rota."""
    return shifts.stats(year, now)
