"""Every customer is a person (issue 38): a phone number with a name, a language, a zone and a history.

`GET /contacts/{phone}` shows them with their tickets, newest first (the by_contact index: their own
history, never the table's); `PATCH` sets the name, language or zone. The name is then what their
texts use ("Danke Mike - das ist Ticket #3 ..."), and what a ticket shows.
"""
from __future__ import annotations

from datetime import datetime

from chalicelib import phones, store, validate
from chalicelib.domain import words
from chalicelib.domain.contacts import Contact
from chalicelib.errors import BadRequest, Conflict, NotFound

EARLIER = 10  # a ticket shows this many of the customer's earlier tickets


def _number(raw: str) -> str:
    phone = phones.normalize(raw or "")
    if phone is None:
        raise BadRequest("phone", f"{(raw or '')[:32]!r} is not a phone number; use +49 151 1234 5678 or similar")
    return phone


def brief(t) -> dict:
    return {"id": t.id, "status": t.status, "subject": t.subject, "created_at": t.created_at.isoformat()}


def _json(contact: Contact, tickets: list) -> dict:
    return {"phone": contact.phone, "name": contact.name, "language": contact.language,
            "timezone": contact.timezone, "opted_out": contact.opted_out, "tickets": [brief(t) for t in tickets]}


def _known(phone: str) -> tuple[Contact, list]:
    contact = store.get_contact(phone)
    tickets = store.tickets_of(f"phone#{phone}", limit=50)
    if contact.version is None and not tickets:
        raise NotFound("this number never wrote or called us", code="contact_not_found")
    return contact, tickets


def get_json(raw: str) -> dict:
    return _json(*_known(_number(raw)))


def patch(raw: str, body: dict, now: datetime) -> dict:
    """Name, language, zone (each optional; the body was checked by schemas.ContactPatch)."""
    phone = _number(raw)
    contact, tickets = _known(phone)
    if contact.person_id:
        raise Conflict("this number is a staff member's phone: change the person instead (PATCH /people/{id})",
                       code="staff_phone")
    changes = {}
    if "name" in body:
        changes["name"] = validate.text(body, "name", max_len=100, required=False) or None
    if "language" in body:
        changes["language"] = validate.choice(body, "language", words.LANGUAGES, required=False)
    if "timezone" in body:
        changes["timezone"] = validate.timezone(body, "timezone", required=False)
    for _ in range(3):
        try:
            contact = store.save_contact(contact.replace(**changes))
            break
        except store.ConditionFailed:
            contact = store.get_contact(phone)  # a text raced it: apply the change to the fresh contact
    return _json(contact, tickets)


def earlier(t) -> list[dict]:
    """The customer's previous tickets (up to EARLIER, newest first), for a ticket's page."""
    if not t.contact_key:
        return []
    return [brief(o) for o in store.tickets_of(t.contact_key, limit=EARLIER + 1) if o.id != t.id][:EARLIER]


def name_of(phone: str | None) -> str | None:
    """The name the team gave this number, if any."""
    return store.get_contact(phone).name if phone else None
