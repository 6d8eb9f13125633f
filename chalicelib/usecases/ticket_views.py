"""Tickets as the API shows them: reading, lists with cursors, JSON shapes."""
from __future__ import annotations

from chalicelib import expectations, store, validate
from chalicelib.domain.tickets import CHANNELS, PHONE_CHANNELS, PRIORITIES, STATUSES, TIER_CLOCK, Event, Message, Ticket
from chalicelib.domain.tiers import UP_FOR_GRABS
from chalicelib.errors import BadRequest, NotFound
from chalicelib.usecases import contacts

# --- reading ------------------------------------------------------------------


def get(ticket_id: int) -> Ticket:
    ticket = store.get_ticket(ticket_id)
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} does not exist", code="ticket_not_found")
    return ticket


def history(ticket_id: int) -> tuple[list[Message], list[Event]]:
    """(messages, events) of a ticket in order; one Query."""
    items = store.ticket_items(ticket_id)
    # Events written without the ticket (sweeps, sends) are keyed by time: order all events by time
    # (a stable sort keeps the ticket's own sequence within one instant).
    events = sorted((i for i in items if type(i) is Event), key=lambda e: (e.at, e.id))
    return [i for i in items if type(i) is Message], events


# --- views --------------------------------------------------------------------


def list_json(q: dict, me: str | None = None) -> dict:
    """GET /tickets: newest first through the most selective index; a page and the next cursor.
    `owner=me` means the caller (`me`: their person id; None for the bootstrap key, which is nobody)."""
    status = q.get("status") or None
    if status is not None and status not in STATUSES:
        raise BadRequest("status", f"must be one of {', '.join(STATUSES)}")
    channel = q.get("channel") or None
    if channel is not None and channel not in CHANNELS:
        raise BadRequest("channel", f"must be one of {', '.join(CHANNELS)}")
    owner = q.get("owner") or None
    if owner == "me":
        if me is None:
            raise BadRequest("owner", "'me' is a person: the bootstrap admin key is nobody; use a person id")
        owner = me
    if owner is not None and len(owner) > 64:
        raise BadRequest("owner", "must be a person id (see GET /people)")
    tier = validate.query_int(q, "tier", maximum=10)
    priority = q.get("priority")  # the console's Urgent view reads its own list (issue 36)
    if priority is not None and priority not in PRIORITIES:  # an empty one too
        raise BadRequest("priority", f"must be one of {', '.join(PRIORITIES)}")
    scope = f"tickets|{status}|{owner}|{tier}|{channel}" + (f"|{priority}" if priority else "")
    try:
        cursor = store.decode_cursor(q.get("cursor"), scope)
    except ValueError as exc:
        raise BadRequest("cursor", str(exc)) from None
    items, last = store.query_tickets(
        status=status, owner=owner, tier=tier, channel=channel, priority=priority,
        limit=validate.query_int(q, "limit", maximum=100) or 50, cursor=cursor)
    names = owner_names()
    return {"items": [summary_json(t, names) for t in items], "next": store.encode_cursor(last, scope)}


def owner_names() -> dict[str, str]:
    """Person id → name, for lists people read (names, not ids); one read of the people per request."""
    return {UP_FOR_GRABS: "up for grabs", **{p.id: p.name for p in store.all_people()}}


def summary_json(t: Ticket, names: dict[str, str] | None = None) -> dict:
    out = {
        "id": t.id,
        "status": t.status,
        "channel": t.channel,
        "priority": t.priority,
        "tier": t.tier,
        "owner": t.owner,
        "customer": {"name": t.customer_name, "contact": t.customer_contact,
                     "timezone": expectations.customer_zone(t).key},
        "subject": t.subject,
        "language": expectations.language(t),
        "created_at": t.created_at.isoformat(),
        "updated_at": t.updated_at.isoformat(),
        "tier_due_at": t.tier_due_at.isoformat() if t.tier_due_at and t.clock == TIER_CLOCK else None,
        "acked_at": t.acked_at.isoformat() if t.acked_at else None,
        "resolved_at": t.resolved_at.isoformat() if t.resolved_at else None,
        "reopen_count": t.reopen_count or 0,
        "version": t.version,
    }
    if names is not None:
        out["owner_name"] = names.get(t.owner)
    if t.last_text is not None:
        out["last_message"] = {"author": t.last_author, "text": t.last_text}
    return out


def message_json(m: Message) -> dict:
    out = {"id": m.id, "author": m.author, "text": m.text, "at": m.at.isoformat(), "channel": m.channel}
    if m.author_name:
        out["author_name"] = m.author_name
    if m.media:
        out["media"] = list(m.media)
    return out


def event_json(e: Event) -> dict:
    out = {"type": e.type, "at": e.at.isoformat(), "actor": e.actor}
    if e.data:
        out.update({k: v for k, v in e.data.items() if k not in out})
    return out


def survey_json(t: Ticket) -> dict | None:
    """The survey the ticket's resolve asked: where it stands, the answers, the comment."""
    if not t.survey_state:
        return None
    return {"state": t.survey_state, "answer": t.survey_answer, "comment": t.survey_comment,
            "expires_at": t.survey_expires_at.isoformat() if t.survey_expires_at else None}


# A ticket shows its newest messages and events; older ones are a cursor away (issue 23: a chat
# that talks for hours must not grow one answer past Lambda's 6 MB).
LATEST = 50
_KINDS = {"messages": ("msg#", message_json), "events": ("evt#", event_json)}


def older_json(ticket_id: int, kind: str, q: dict) -> dict:
    """GET /tickets/{id}/messages|events: the page before `cursor` (the newest without one), oldest
    first, in the contract's list shape; `next` pages further back."""
    get(ticket_id)
    scope = f"ticket|{ticket_id}|{kind}"
    try:
        key = store.decode_cursor(q.get("cursor"), scope)
    except ValueError as exc:
        raise BadRequest("cursor", str(exc)) from None
    limit = validate.query_int(q, "limit", maximum=100) or LATEST
    items, next_key = _newest(ticket_id, kind, (key or {}).get("sk", {}).get("S"), limit)
    return {"items": items, "next": next_key and store.encode_cursor({"sk": {"S": next_key}}, scope)}


def _newest(ticket_id: int, kind: str, before: str | None, limit: int) -> tuple[list[dict], str | None]:
    prefix, shape = _KINDS[kind]
    items, older = store.ticket_items_newest(ticket_id, prefix, before, limit)
    if kind == "events":  # events written beside the ticket are keyed by time: show them by time
        items = sorted(items, key=lambda e: (e.at, e.id))
    return [shape(i) for i in items], older


def detail_json(t: Ticket) -> dict:
    """A ticket with its newest LATEST messages and events (two Queries); `older` holds the cursor
    of each list's earlier page (GET /tickets/{id}/messages?cursor=…), null when there is none."""
    out = summary_json(t, owner_names())
    # Every customer is a person (issue 38): the name the team gave their number, and their earlier tickets.
    if not out["customer"]["name"] and t.channel in PHONE_CHANNELS and t.customer_contact:
        out["customer"]["name"] = contacts.name_of(t.customer_contact)
    out["customer"]["earlier"] = contacts.earlier(t)
    out["survey"] = survey_json(t)
    out["older"] = {}
    for kind in _KINDS:
        out[kind], older = _newest(t.id, kind, None, LATEST)
        out["older"][kind] = older and store.encode_cursor({"sk": {"S": older}}, f"ticket|{t.id}|{kind}")
    return out
