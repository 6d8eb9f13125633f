"""Swaps: asked by anyone who holds the phone, an override only once the colleague accepts (by SMS YES
<code> or in the console)."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from chalicelib import outbox, store, validate
from chalicelib.domain import rota as rules
from chalicelib.domain import texts
from chalicelib.domain.people import Person
from chalicelib.errors import BadRequest, Conflict, Forbidden, NotFound
from chalicelib.usecases.oncall import _change_with_notices, _doc, _person

SWAP_MAX_DAYS = 31


def _swap_json(s: dict, people: dict) -> dict:
    return {"id": s["id"], "from": _person(s["from"], people), "to": _person(s["to"], people),
            "start": s["start"], "end": s["end"], "status": s["status"], "created_at": s["created_at"],
            **({"override_id": s["override_id"]} if s.get("override_id") else {})}


def ask_swap(requester: Person | None, body: dict, now: datetime) -> dict:
    """Someone who holds the phone asks a colleague to hold it for a while: the colleague gets an SMS
    with a code (committed with the request); nothing changes on the rota until they accept."""
    if requester is None:
        raise Forbidden("the bootstrap admin key is nobody: sign in as the person who holds the phone",
                        code="not_a_person")
    validate.unknown_fields(body, {"person_id", "start", "end"})
    colleague = store.get_person(validate.text(body, "person_id", max_len=64))
    if colleague is None or colleague.id == requester.id:
        raise BadRequest("person_id", "must be the id of a colleague (see GET /team), not yourself")
    if not colleague.phone:
        raise BadRequest("person_id", f"{colleague.name} has no phone to answer with")
    start = validate.instant(validate.text(body, "start", max_len=40), "start")
    end = validate.instant(validate.text(body, "end", max_len=40), "end")
    if end <= start or start < now - timedelta(minutes=5):
        raise BadRequest("start" if start < now - timedelta(minutes=5) else "end",
                         "a swap runs from now or later, and ends after it starts")
    if end - start > timedelta(days=SWAP_MAX_DAYS):
        raise BadRequest("end", f"a swap lasts at most {SWAP_MAX_DAYS} days")
    rot = rules.from_document(_doc())
    if any(seg["person_id"] != requester.id for seg in rot.schedule(start, end)):
        raise BadRequest("start", "you do not hold the phone for all of that time; ask for the part you hold")
    pending = [s for s in _doc().get("swaps", []) if s["status"] == "asked"]
    code = next(c for c in (f"{secrets.randbelow(9000) + 1000}" for _ in range(100))
                if c not in {s["code"] for s in pending})
    swap = {"id": "s_" + secrets.token_hex(5), "from": requester.id, "to": colleague.id, "code": code,
            "start": start.astimezone(timezone.utc).isoformat(), "end": end.astimezone(timezone.utc).isoformat(),
            "status": "asked", "created_at": now.isoformat()}
    zone = ZoneInfo(colleague.timezone) if colleague.timezone else rot.zone
    text = texts.swap_asked(requester.name, start, end, zone, code, colleague.language)

    def change(doc: dict) -> dict:
        doc["swaps"] = [s for s in doc.get("swaps", []) if datetime.fromisoformat(s["end"]) > now] + [swap]
        return doc

    item = outbox.sms(colleague.phone, text, purpose="notice", now=now, person_id=colleague.id,
                      key=f"swap#{swap['id']}")
    for _ in range(3):
        try:
            store.transact([store.setting_write("rota", change, now), store.outbox_put(item)])
            break
        except store.ConditionFailed:
            continue
    else:
        raise Conflict("the rota is being changed by someone else; try again", code="rota_busy")
    store.forget_setting("rota")
    outbox.dispatch([item.id], now)
    return _swap_json(swap, {p.id: p for p in store.all_people()})


def swaps_for(person_id: str | None, now: datetime) -> dict:
    """The swaps asked by or of a person (every swap for the bootstrap admin), newest first."""
    people = {p.id: p for p in store.all_people()}
    mine = [s for s in (store.get_setting("rota") or {}).get("swaps", [])
            if person_id is None or person_id in (s["from"], s["to"])]
    return {"items": [_swap_json(s, people) for s in sorted(mine, key=lambda s: s["created_at"], reverse=True)]}


def accept_swap(person: Person, now: datetime, *, swap_id: str | None = None, code: str | None = None) -> dict:
    """The colleague accepts (in the console, or by SMS `YES <code>`): the override exists from now,
    and everyone whose time on the phone moves is told, in one transaction."""
    swaps = _doc().get("swaps", [])
    swap = next((s for s in swaps if s["status"] == "asked" and s["to"] == person.id
                 and (s["id"] == swap_id or (code is not None and s["code"] == code))), None)
    if swap is None:
        raise NotFound("no swap waits for your answer with that code" if code else "no such swap asked of you",
                       code="swap_not_found")
    if datetime.fromisoformat(swap["end"]) <= now:
        raise Conflict("that swap has already ended", code="swap_over")
    override_id = "o_" + secrets.token_hex(5)
    override = {"id": override_id, "person_id": person.id, "start": max(datetime.fromisoformat(swap["start"]), now)
                .astimezone(timezone.utc).isoformat(), "end": swap["end"], "created_at": now.isoformat(),
                "swap": swap["id"]}

    def change(doc: dict) -> dict:
        current = next((s for s in doc.get("swaps", []) if s["id"] == swap["id"]), None)
        if current is None or current["status"] != "asked":
            raise Conflict("that swap was answered already", code="swap_answered")
        current.update(status="accepted", override_id=override_id, answered_at=now.isoformat())
        doc["overrides"] = doc.get("overrides", []) + [override]
        return doc

    people = {p.id: p for p in store.all_people()}
    window = (datetime.fromisoformat(override["start"]), datetime.fromisoformat(override["end"]))
    _change_with_notices(change, rules.from_document(_doc()), now, people, window=window)
    return _swap_json({**swap, "status": "accepted", "override_id": override_id}, people)
