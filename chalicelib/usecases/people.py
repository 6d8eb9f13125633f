"""People: the staff who own tickets and hold the emergency phone."""
from __future__ import annotations

import secrets
from datetime import datetime

from chalicelib import auth, store, validate
from chalicelib.domain import words
from chalicelib.domain.people import Person
from chalicelib.errors import BadRequest, Conflict, NotFound
from chalicelib.usecases import tickets, tiers

FIELDS = {"name", "phone", "role", "tier", "timezone", "language"}


def _check_phone_free(phone: str | None, person_id: str | None = None) -> None:
    if phone:
        owner = store.get_contact(phone).person_id
        other = store.get_person(owner) if owner else None
        if other is not None and other.id != person_id:
            raise Conflict(f"phone: another person ({other.name}) already has this number", code="phone_taken")


def create(body: dict, now: datetime) -> tuple[Person, str]:
    validate.unknown_fields(body, FIELDS)
    key = auth.new_key()
    person = Person(
        id="p_" + secrets.token_hex(6),
        name=validate.text(body, "name", max_len=100),
        phone=validate.phone(body, "phone", required=False),
        role=validate.choice(body, "role", auth.ROLES, required=False, default="agent"),
        tier=validate.integer(body, "tier", required=False, minimum=1, maximum=10, default=1),
        timezone=validate.timezone(body, "timezone", required=False, default="Europe/Berlin"),
        language=_language(body),
        created_at=now,
        key_hash=auth.hash_key(key),
    )
    _check_phone_free(person.phone)
    return store.create_person(person, now), key


def _language(body: dict) -> str | None:
    """A person's language (API v1.2): one we write, e.g. "de"; absent or null: the business one."""
    return validate.choice(body, "language", words.LANGUAGES, required=False)


def name_of(person_id: str | None) -> str | None:
    """A person's name (None for nobody, or someone who left)."""
    person = store.get_person(person_id) if person_id else None
    return person.name if person is not None else None


def get(person_id: str) -> Person:
    person = store.get_person(person_id)
    if person is None:
        raise NotFound(f"person {person_id} does not exist", code="person_not_found")
    return person


def update(person_id: str, body: dict) -> Person:
    validate.unknown_fields(body, FIELDS)
    if not body:
        raise BadRequest("body", f"name at least one field to change: {', '.join(sorted(FIELDS))}")
    before = get(person_id)
    changes = {}
    if "name" in body:
        changes["name"] = validate.text(body, "name", max_len=100)
    if "phone" in body:
        changes["phone"] = validate.phone(body, "phone", required=False)
        _check_phone_free(changes["phone"], before.id)
    if "tier" in body:
        changes["tier"] = validate.integer(body, "tier", minimum=1, maximum=10)
    if "timezone" in body:
        changes["timezone"] = validate.timezone(body, "timezone")
    if "language" in body:
        changes["language"] = _language(body)
    if "role" in body:
        changes["role"] = validate.choice(body, "role", auth.ROLES)
    try:
        return store.save_person(before.replace(**changes), before)
    except store.ConditionFailed:
        raise Conflict(f"person {person_id} was changed meanwhile; fetch it and try again",
                       code="person_busy") from None


def delete(person_id: str, actor, now: datetime) -> int:
    """Removes a person and their key; their open tickets get new owners. Returns how many."""
    person = get(person_id)
    rota = store.get_setting("rota") or {}
    if person_id in rota.get("members", []):
        raise Conflict(f"{person.name} is in the rota; take them out with PUT /rota first, so the phone "
                       "is never handed to nobody", code="in_rota")
    future = [o for o in rota.get("overrides", []) if o.get("person_id") == person_id
              and datetime.fromisoformat(o["end"]) > now]
    if future:
        raise Conflict(f"{person.name} holds the phone in override {future[0]['id']} (until {future[0]['end']}); "
                       f"DELETE /rota/overrides/{future[0]['id']} first, so the phone is never handed to nobody",
                       code="in_override")
    store.delete_person(person)
    moved = 0
    for ticket_id in store.open_tickets_of(person_id):
        ticket = store.get_ticket(ticket_id)
        if ticket is None or ticket.owner != person_id:
            continue
        owner = tiers.choose_owner(ticket.tier, priority=ticket.priority, now=now, language=ticket.language)
        tickets.assign(ticket_id, owner, actor, now)  # never an owner who is gone
        moved += 1
    return moved


def list_json(q: dict) -> dict:
    """GET /people: a page of people and the cursor of the next."""
    try:
        cursor = store.decode_cursor(q.get("cursor"), "people")
    except ValueError as exc:
        raise BadRequest("cursor", str(exc)) from None
    items, last = store.list_people(limit=validate.query_int(q, "limit", maximum=100) or 100, cursor=cursor)
    return {"items": [person_json(p) for p in items], "next": store.encode_cursor(last, "people")}


def person_json(p: Person, api_key: str | None = None) -> dict:
    out = {"id": p.id, "name": p.name, "phone": p.phone, "role": p.role, "tier": p.tier,
           "timezone": p.timezone, "language": p.language or words.business(),
           "created_at": p.created_at.isoformat()}
    if api_key:
        out["api_key"] = api_key
    return out
