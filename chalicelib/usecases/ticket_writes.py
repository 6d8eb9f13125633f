"""How a ticket change is written: items with the ticket's sequence, the one-owner rule's events,
open counters, and the conditional transaction that commits a change with its effects (retried on
a lost race, decided again on fresh data)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chalicelib import store
from chalicelib.domain.actors import Actor
from chalicelib.domain.conversation import REOPEN_WINDOW, Thread
from chalicelib.effects import Effects
from chalicelib.errors import Conflict
from chalicelib.store import Ticket, TicketItem
from chalicelib.usecases import tiers
from chalicelib.usecases.ticket_views import get
from chalicelib.usecases.tiers import UP_FOR_GRABS

_RETRIES = 5


def thread(t: Ticket | None) -> Thread | None:
    """The ticket as the conversation rules see it (domain.conversation.route)."""
    if t is None:
        return None
    return Thread(id=t.id, status=t.status, resolved_at=t.resolved_at, survey_step=t.survey_state,
                  survey_expires_at=t.survey_expires_at, awaiting_confirmation=bool(t.awaiting_confirmation))


# --- writing helpers ----------------------------------------------------------


def _item(ticket: Ticket, kind: str, now: datetime, **attrs) -> TicketItem:
    return store.new_item(ticket, kind, now, **attrs)


def _event(ticket: Ticket, type_: str, actor: Actor, now: datetime, **data) -> TicketItem:
    return store.new_event(ticket, type_, actor.id, now, **data)


def _set_owner(ticket: Ticket, owner: str, actor: Actor, now: datetime, reason: str) -> list[TicketItem]:
    if ticket.owner == owner:
        return []
    previous = ticket.owner
    ticket.owner = owner
    return [_event(ticket, "assigned", actor, now, owner=owner, previous=previous, reason=reason)]


def _mutate(ticket_id: int, now: datetime, change: Callable[[Ticket], list[TicketItem]],
            claim: str | None = None, fx: Effects | None = None, first: Ticket | None = None,
            extra: Callable[[Ticket], list] | None = None, answer: Callable[[Ticket], str] | None = None) -> Ticket:
    """Load, apply `change`, write conditionally; on a lost race, redo on fresh data.

    `change` re-validates against the fresh ticket, so two compatible changes
    both land and an incompatible second one fails with a clear 409. With a
    `claim` (provider id) the change happens once: a repeat raises AlreadyDone.
    The effects `change` puts into `fx` (outbox items, the page, the contact)
    commit in the same transaction; the caller dispatches them after.
    """
    fx = fx if fx is not None else Effects()
    for _ in range(_RETRIES):
        fx.reset()
        ticket, first = (first, None) if first is not None else (get(ticket_id), None)
        before = (ticket.owner, ticket.status in OPEN)
        items = change(ticket)
        if not items:
            return ticket
        ticket.updated_at = now
        if extra is not None:
            fx.writes.extend(extra(ticket))
        try:
            store.save_ticket(ticket, items, claim=claim, now=now, extra=fx.writes + _counts(before, ticket),
                              claim_result=answer(ticket) if answer else None)
            return ticket
        except store.ConditionFailed as exc:
            if "outbox" in exc.tags:
                raise store.AlreadyDone(claim or "outbox") from exc
            if "budget" in exc.tags and fx.budget_person:
                fx.suppress.add(fx.budget_person)  # a page storm: decide again, bundling this page
            continue
    raise Conflict(f"ticket {ticket_id} is being changed by someone else; try again", code="ticket_busy")


OPEN = ("open", "pending")


def _counts(before: tuple[str | None, bool], t: Ticket) -> list[store.Write]:
    """Keeps each person's open-ticket counter in step, in the ticket's own transaction."""
    deltas: dict[str, int] = {}
    owner, was_open = before
    if was_open and owner and owner != UP_FOR_GRABS:
        deltas[owner] = deltas.get(owner, 0) - 1
    if t.status in OPEN and t.owner and t.owner != UP_FOR_GRABS:
        deltas[t.owner] = deltas.get(t.owner, 0) + 1
    return [store.open_count_write(pid, d) for pid, d in sorted(deltas.items()) if d]


def _require(ticket: Ticket, allowed: tuple[str, ...], action: str) -> None:
    if ticket.status not in allowed:
        raise Conflict(
            f"ticket {ticket.id} is {ticket.status}; it can be {action} only when {' or '.join(allowed)}",
            code="invalid_transition",
        )


def _message(ticket: Ticket, author: str, text: str, now: datetime, *, author_name: str | None = None,
             media: list[str] | None = None, provider_id: str | None = None,
             channel: str | None = None) -> TicketItem:
    data = {"provider_id": provider_id} if provider_id else None
    return _item(ticket, "message", now, author=author, author_name=author_name, text=text,
                 channel=channel or ticket.channel, media=media or None, data=data)


def _reopen(t: Ticket, actor: Actor, now: datetime, repeat: bool) -> list[TicketItem]:
    repeat_contact = repeat and t.resolved_at is not None and now - t.resolved_at <= REOPEN_WINDOW
    t.status = "open"
    t.reopen_count = (t.reopen_count or 0) + 1
    t.resolved_at = None
    tiers.enter_tier(t, t.tier, now)
    return [_event(t, "reopened", actor, now, repeat_contact=repeat_contact or None)]


def _subject(text: str | None) -> str | None:
    if not text:
        return None
    words = text.split()
    return " ".join(words[:12])[:120]
