"""Tickets: the lifecycle, the one-owner rule and the event history.

open → pending → resolved → closed, and reopen. A ticket has exactly one
owner at every moment (a person, or the UP_FOR_GRABS placeholder when a tier
has nobody in it, as FogBugz does). Every change writes an event item with
its actor and time, in the same transaction as the ticket, conditional on the
ticket's version: two people acting at once never lose each other's change.

Every function takes `now`; none reads the clock.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib import store
from chalicelib.errors import Conflict, NotFound
from chalicelib.escalation import tiers
from chalicelib.store import Ticket, TicketItem

UP_FOR_GRABS = "up-for-grabs"
STATUSES = ("open", "pending", "resolved", "closed")
CHANNELS = ("sms", "voice", "webchat")
PRIORITIES = ("normal", "urgent")
REOPEN_WINDOW = timedelta(days=7)  # a customer back within this counts as a repeat contact
_RETRIES = 5


@dataclass(frozen=True)
class Actor:
    """Who did something: a person id, or 'customer' / 'system'."""

    id: str
    name: str = ""

    @property
    def first_name(self) -> str:
        return (self.name or self.id).split()[0]


CUSTOMER = Actor("customer", "Customer")
SYSTEM = Actor("system", "Friday Night")


# --- reading ------------------------------------------------------------------


def get(ticket_id: int) -> Ticket:
    ticket = store.get_ticket(ticket_id)
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} does not exist", code="ticket_not_found")
    return ticket


def history(ticket_id: int) -> tuple[list[TicketItem], list[TicketItem]]:
    """(messages, events) of a ticket in order; one Query."""
    items = store.ticket_items(ticket_id)
    return [i for i in items if i.kind == "message"], [i for i in items if i.kind == "event"]


# --- writing helpers ----------------------------------------------------------


def _item(ticket: Ticket, kind: str, now: datetime, **attrs) -> TicketItem:
    ticket.seq = (ticket.seq or 0) + 1
    prefix = "msg" if kind == "message" else "evt"
    item = TicketItem(ticket_id=ticket.id, sk=f"{prefix}#{ticket.seq:09d}", kind=kind, at=now, **attrs)
    if kind == "event":
        item.month = now.strftime("%Y-%m")
    return item


def _event(ticket: Ticket, type_: str, actor: Actor, now: datetime, **data) -> TicketItem:
    data = {k: v for k, v in data.items() if v is not None}
    return _item(ticket, "event", now, type=type_, actor=actor.id, data=data or None)


def _set_owner(ticket: Ticket, owner: str, actor: Actor, now: datetime, reason: str) -> list[TicketItem]:
    if ticket.owner == owner:
        return []
    previous = ticket.owner
    ticket.owner = owner
    return [_event(ticket, "assigned", actor, now, owner=owner, previous=previous, reason=reason)]


def _mutate(ticket_id: int, now: datetime, change: Callable[[Ticket], list[TicketItem]],
            claim: str | None = None) -> Ticket:
    """Load, apply `change`, write conditionally; on a lost race, redo on fresh data.

    `change` re-validates against the fresh ticket, so two compatible changes
    both land and an incompatible second one fails with a clear 409. With a
    `claim` (provider id) the change happens once: a repeat raises AlreadyDone.
    """
    for _ in range(_RETRIES):
        ticket = get(ticket_id)
        items = change(ticket)
        if not items:
            return ticket
        ticket.updated_at = now
        try:
            store.save_ticket(ticket, items, claim=claim, now=now)
            return ticket
        except store.ConditionFailed:
            continue
    raise Conflict(f"ticket {ticket_id} is being changed by someone else; try again", code="ticket_busy")


def _require(ticket: Ticket, allowed: tuple[str, ...], action: str) -> None:
    if ticket.status not in allowed:
        raise Conflict(
            f"ticket {ticket.id} is {ticket.status}; it can be {action} only when {' or '.join(allowed)}",
            code="invalid_transition",
        )


# --- use cases ----------------------------------------------------------------


def open_ticket(*, channel: str, now: datetime, contact: str | None = None, contact_key: str | None = None,
                customer_name: str | None = None, text: str | None = None, priority: str = "normal",
                actor: Actor = CUSTOMER, media: list[str] | None = None, provider_id: str | None = None) -> Ticket:
    """Opens a ticket in tier 1 with an owner; the first message goes with it."""
    number = store.next_number("ticket")
    ticket = Ticket(
        id=number, status="open", channel=channel, priority=priority, tier=1, owner=UP_FOR_GRABS,
        customer_name=customer_name, customer_contact=contact, contact_key=contact_key,
        subject=_subject(text), created_at=now, updated_at=now,
        opened_by=actor.id if actor is not CUSTOMER else "customer", seq=0,
    )
    items = [_event(ticket, "created", actor, now, channel=channel, priority=priority)]
    owner = tiers.choose_owner(1, priority=priority, now=now)
    items += _set_owner(ticket, owner, SYSTEM, now, reason="new ticket")
    tiers.enter_tier(ticket, 1, now)
    if text is not None or media:
        items.append(_message(ticket, "customer", text or "", now, author_name=customer_name,
                              media=media, provider_id=provider_id))
        items.append(_event(ticket, "message_in", actor, now, channel=channel))
    claim = f"msg#{provider_id}" if provider_id else None
    try:
        store.save_ticket(ticket, items, new=True, claim=claim, now=now)
    except store.AlreadyDone:
        # An earlier delivery of this provider id opened the ticket: that one, not a second.
        state = store.claim_state(claim)
        return get(int(state.result))
    return ticket


def _message(ticket: Ticket, author: str, text: str, now: datetime, *, author_name: str | None = None,
             media: list[str] | None = None, provider_id: str | None = None,
             channel: str | None = None) -> TicketItem:
    data = {"provider_id": provider_id} if provider_id else None
    return _item(ticket, "message", now, author=author, author_name=author_name, text=text,
                 channel=channel or ticket.channel, media=media or None, data=data)


def add_customer_message(ticket_id: int, text: str, now: datetime, *, media: list[str] | None = None,
                         provider_id: str | None = None, channel: str | None = None) -> Ticket:
    return customer_message(ticket_id, text, now, media=media, provider_id=provider_id, channel=channel)[0]


def customer_message(ticket_id: int, text: str, now: datetime, *, media: list[str] | None = None,
                     provider_id: str | None = None,
                     channel: str | None = None) -> tuple[Ticket, TicketItem | None]:
    """A customer wrote again: append; pending restarts, a recent resolve reopens.

    With a provider id the message is written once, however often it is
    delivered (the message is then None: it was stored before).
    """
    box: dict = {}

    def change(t: Ticket) -> list[TicketItem]:
        msg = _message(t, "customer", text, now, author_name=t.customer_name, media=media,
                       provider_id=provider_id, channel=channel)
        box["message"] = msg
        items = [msg, _event(t, "message_in", CUSTOMER, now, channel=channel or t.channel)]
        if t.subject is None:
            t.subject = _subject(text)
        if t.status == "pending":
            t.status = "open"
            tiers.resume_clock(t, now)
            items.append(_event(t, "customer_replied", CUSTOMER, now))
        elif t.status in ("resolved", "closed"):
            items += _reopen(t, CUSTOMER, now, repeat=True)
        return items

    try:
        ticket = _mutate(ticket_id, now, change, claim=f"msg#{provider_id}" if provider_id else None)
    except store.AlreadyDone:
        return get(ticket_id), None
    return ticket, box["message"]


def reply(ticket_id: int, text: str, actor: Actor, now: datetime, *, template_id: str | None = None,
          automated: bool = False, awaiting: str | None = None) -> tuple[Ticket, TicketItem]:
    """Staff answer the customer; stored here, delivered by the channel layer."""
    box: dict = {}

    def change(t: Ticket) -> list[TicketItem]:
        _require(t, ("open", "pending", "resolved"), "answered")
        msg = _message(t, "system" if automated else "agent", text, now,
                       author_name=None if automated else actor.first_name)
        box["message"] = msg
        if awaiting:
            t.awaiting_confirmation = awaiting
        return [msg, _event(t, "message_out", actor, now, template=template_id, automated=automated or None)]

    ticket = _mutate(ticket_id, now, change)
    return ticket, box["message"]


def ack(ticket_id: int, actor: Actor, now: datetime) -> Ticket:
    """The acknowledger takes the ticket: escalation of its page stops."""

    def change(t: Ticket) -> list[TicketItem]:
        _require(t, ("open", "pending"), "acknowledged")
        if t.acked_at is not None and t.owner == actor.id:
            return []  # acknowledging twice is harmless
        t.acked_at, t.acked_by = now, actor.id
        items = [_event(t, "acked", actor, now)]
        return items + _set_owner(t, actor.id, actor, now, reason="acknowledged")

    return _mutate(ticket_id, now, change)


def resolve(ticket_id: int, actor: Actor, now: datetime, *, survey: bool = True) -> Ticket:
    def change(t: Ticket) -> list[TicketItem]:
        _require(t, ("open", "pending"), "resolved")
        t.status, t.resolved_at, t.resolved_by = "resolved", now, actor.id
        t.awaiting_confirmation = None
        tiers.stop_clock(t, now)
        return [_event(t, "resolved", actor, now, owner=t.owner, tier=t.tier)]

    ticket = _mutate(ticket_id, now, change)
    if survey:
        from chalicelib import surveys

        surveys.on_resolved(ticket, now)
    return ticket


def set_survey(ticket_id: int, now: datetime, *, state: str, event: tuple[str, dict],
               expires_at: datetime | None = None, answer: str | None = None, comment: str | None = None,
               reopen: bool = False) -> Ticket:
    def change(t: Ticket) -> list[TicketItem]:
        t.survey_state = state
        if expires_at is not None:
            t.survey_expires_at = expires_at
        if answer is not None:
            t.survey_answer = answer
        if comment is not None:
            t.survey_comment = comment
        items = [_event(t, event[0], CUSTOMER if event[0] != "survey_sent" else SYSTEM, now,
                        resolved_by=t.resolved_by, **event[1])]
        if reopen and t.status in ("resolved", "closed"):
            items += _reopen(t, CUSTOMER, now, repeat=False)  # a NO goes back to its last owner
        return items

    return _mutate(ticket_id, now, change)


def confirm_automated(ticket_id: int, now: datetime) -> Ticket:
    """The customer said YES to an automated answer: resolved by the automation."""

    def change(t: Ticket) -> list[TicketItem]:
        _require(t, ("open", "pending"), "resolved")
        template = t.awaiting_confirmation
        t.status, t.resolved_at, t.resolved_by = "resolved", now, "automation"
        t.awaiting_confirmation = None
        t.survey_state, t.survey_answer = "done", "yes"
        tiers.stop_clock(t, now)
        return [_event(t, "resolved", CUSTOMER, now, owner=t.owner, tier=t.tier, automated=True, template=template),
                _event(t, "survey_answered", CUSTOMER, now, answer="yes", resolved_by="automation",
                       template=template)]

    return _mutate(ticket_id, now, change)


def set_pending(ticket_id: int, actor: Actor, now: datetime) -> Ticket:
    """Waiting on the customer: the tier clock stops until they reply."""

    def change(t: Ticket) -> list[TicketItem]:
        _require(t, ("open",), "set pending")
        t.status = "pending"
        tiers.pause_clock(t, now)
        return [_event(t, "pending", actor, now)]

    return _mutate(ticket_id, now, change)


def close(ticket_id: int, actor: Actor, now: datetime) -> Ticket:
    def change(t: Ticket) -> list[TicketItem]:
        _require(t, ("resolved",), "closed")
        t.status = "closed"
        return [_event(t, "closed", actor, now)]

    return _mutate(ticket_id, now, change)


def reopen(ticket_id: int, actor: Actor, now: datetime) -> Ticket:
    def change(t: Ticket) -> list[TicketItem]:
        _require(t, ("resolved", "closed"), "reopened")
        return _reopen(t, actor, now, repeat=False)

    return _mutate(ticket_id, now, change)


def _reopen(t: Ticket, actor: Actor, now: datetime, repeat: bool) -> list[TicketItem]:
    repeat_contact = repeat and t.resolved_at is not None and now - t.resolved_at <= REOPEN_WINDOW
    t.status = "open"
    t.reopen_count = (t.reopen_count or 0) + 1
    t.resolved_at = None
    tiers.enter_tier(t, t.tier, now)
    return [_event(t, "reopened", actor, now, repeat_contact=repeat_contact or None)]


def assign(ticket_id: int, person_id: str, actor: Actor, now: datetime) -> Ticket:
    def change(t: Ticket) -> list[TicketItem]:
        _require(t, ("open", "pending"), "assigned")
        return _set_owner(t, person_id, actor, now, reason="assigned")

    return _mutate(ticket_id, now, change)


def pass_up(ticket_id: int, actor: Actor, reason: str, now: datetime) -> Ticket:
    """A person hands the ticket to the next tier now (recorded as passed_up)."""

    def change(t: Ticket) -> list[TicketItem]:
        _require(t, ("open", "pending"), "passed up")
        top = tiers.top_tier()
        if t.tier >= top:
            raise Conflict(f"ticket {t.id} is already in the top tier ({top})", code="top_tier")
        previous_owner = t.owner
        t.tier += 1
        tiers.enter_tier(t, t.tier, now)
        items = [_event(t, "passed_up", actor, now, from_tier=t.tier - 1, to_tier=t.tier,
                        reason=reason, previous_owner=previous_owner)]
        owner = tiers.choose_owner(t.tier, priority=t.priority, now=now)
        return items + _set_owner(t, owner, SYSTEM, now, reason="passed up")

    return _mutate(ticket_id, now, change)


def mark_urgent(ticket_id: int, now: datetime, actor: Actor = CUSTOMER) -> Ticket:
    def change(t: Ticket) -> list[TicketItem]:
        if t.priority == "urgent" and t.status in ("open", "pending"):
            return []
        t.priority = "urgent"
        return [_event(t, "marked_urgent", actor, now)]

    return _mutate(ticket_id, now, change)


def escalate(ticket_id: int, now: datetime) -> Ticket | None:
    """The tier deadline passed: up one tier (recorded as `escalated`, not a person's
    `passed_up`); at the top tier a breach, once, and the leads are paged."""
    breached = {}

    def change(t: Ticket) -> list[TicketItem]:
        if t.tier_due_at is None or t.tier_due_at > now or t.status not in ("open",):
            return []  # resolved, pending or moved meanwhile: nothing to do
        top = tiers.top_tier()
        if t.tier >= top:
            tiers.stop_clock(t, now)
            breached["yes"] = True
            return [_event(t, "breach", SYSTEM, now, tier=t.tier, owner=t.owner)]
        previous_owner = t.owner
        t.tier += 1
        tiers.enter_tier(t, t.tier, now)
        items = [_event(t, "escalated", SYSTEM, now, from_tier=t.tier - 1, to_tier=t.tier,
                        previous_owner=previous_owner)]
        owner = tiers.choose_owner(t.tier, priority=t.priority, now=now)
        return items + _set_owner(t, owner, SYSTEM, now, reason="tier deadline")

    try:
        ticket = _mutate(ticket_id, now, change)
    except NotFound:
        return None
    if breached:
        from chalicelib.escalation import paging

        paging.open_page(ticket, now, reason="tier breach", leads_only=True)
    return ticket


def record_event(ticket_id: int, type_: str, actor: Actor, now: datetime, **data) -> Ticket:
    """An event that changes nothing else on the ticket (e.g. paged, survey_sent)."""
    return _mutate(ticket_id, now, lambda t: [_event(t, type_, actor, now, **data)])


def _subject(text: str | None) -> str | None:
    if not text:
        return None
    words = text.split()
    return " ".join(words[:12])[:120]


# --- views --------------------------------------------------------------------


def summary_json(t: Ticket) -> dict:
    return {
        "id": t.id,
        "status": t.status,
        "channel": t.channel,
        "priority": t.priority,
        "tier": t.tier,
        "owner": t.owner,
        "customer": {"name": t.customer_name, "contact": t.customer_contact},
        "subject": t.subject,
        "created_at": t.created_at.isoformat(),
        "updated_at": t.updated_at.isoformat(),
        "tier_due_at": t.tier_due_at.isoformat() if t.tier_due_at else None,
        "acked_at": t.acked_at.isoformat() if t.acked_at else None,
        "resolved_at": t.resolved_at.isoformat() if t.resolved_at else None,
        "reopen_count": t.reopen_count or 0,
        "version": t.version,
    }


def message_json(m: TicketItem) -> dict:
    out = {"id": m.sk, "author": m.author, "text": m.text, "at": m.at.isoformat(), "channel": m.channel}
    if m.author_name:
        out["author_name"] = m.author_name
    if m.media:
        out["media"] = list(m.media)
    return out


def event_json(e: TicketItem) -> dict:
    out = {"type": e.type, "at": e.at.isoformat(), "actor": e.actor}
    if e.data:
        out.update({k: v for k, v in e.data.items() if k not in out})
    return out


def detail_json(t: Ticket) -> dict:
    messages, events = history(t.id)
    out = summary_json(t)
    out["messages"] = [message_json(m) for m in messages]
    out["events"] = [event_json(e) for e in events]
    return out
