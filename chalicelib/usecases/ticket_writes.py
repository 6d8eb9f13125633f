"""How a ticket changes, in one shape: load → decide (domain.tickets) → follow-ups → commit.

The decision is a pure transition on the ticket; its follow-ups (a page, a survey, a notice)
put their writes into the change's Effects; the store commits the ticket, its history, the
counters and the effects in one transaction, conditional on the version read. A lost race is
a fact: the change is decided again on fresh data, after a jittered pause; the caller
dispatches after the commit.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chalicelib import store
from chalicelib.domain import tickets as rules
from chalicelib.domain.conversation import Thread
from chalicelib.domain.tickets import Change, Ticket
from chalicelib.effects import Effects
from chalicelib.errors import Conflict
from chalicelib.usecases.ticket_views import get

_RETRIES = 5


def thread(t: Ticket | None) -> Thread | None:
    """The ticket as the conversation rules see it (domain.conversation.route)."""
    if t is None:
        return None
    return Thread(id=t.id, status=t.status, resolved_at=t.resolved_at, survey_step=t.survey_state,
                  survey_expires_at=t.survey_expires_at, awaiting_confirmation=bool(t.awaiting_confirmation))


def decided(make: Callable[[], Change]) -> Change:
    """Runs a transition; a transition the ticket's state forbids is the API's 409."""
    try:
        return make()
    except rules.NotAllowed as exc:
        raise Conflict(exc.message, code=exc.code) from None


def mutate(ticket_id: int, now: datetime, decide: Callable[[Ticket], Change], *, claim: str | None = None,
           fx: Effects | None = None, first: Ticket | None = None,
           extra: Callable[[Ticket], list] | None = None,
           answer: Callable[[Ticket], str] | None = None,
           told: Callable[[Ticket], list[str]] | None = None) -> tuple[Ticket, Change]:
    """Load, decide, commit conditionally; on a lost race, decide again on fresh data.

    `decide` re-validates against the fresh ticket, so two compatible changes both land and an
    incompatible second one fails with a clear 409. With a `claim` (provider id) the change
    happens once: a repeat raises AlreadyDone. The effects `decide` puts into `fx` commit in the
    same transaction; `extra(ticket)` adds the caller's writes (the customer's contact) and
    `answer(ticket)` the webhook's answer to replay to retries; `told(ticket)` the texts that answer
    carries, stored as ``system`` messages with the change (what the customer read). Returns the ticket as stored and
    the change (an empty one when there was nothing to do).
    """
    fx = fx if fx is not None else Effects()
    for attempt in range(_RETRIES):
        fx.reset()
        before, first = (first, None) if first is not None else (get(ticket_id), None)
        change = decided(lambda: decide(before))  # noqa: B023 - called at once
        if not change.items:
            return before, change
        if extra is not None:
            fx.writes.extend(extra(change.ticket))
        change = tell(change, told, now, fx)
        try:
            stored = store.save_ticket(change, before=before, claim=claim, now=now, extra=fx.writes,
                                       claim_result=answer(change.ticket) if answer else None)
            return stored, change
        except store.ConditionFailed as exc:
            if "outbox" in exc.tags:
                raise store.AlreadyDone(claim or "outbox") from exc
            if "budget" in exc.tags and fx.budget_person:
                fx.suppress.add(fx.budget_person)  # a page storm: decide again, bundling this page
            store.backoff(attempt)
    raise Conflict(f"ticket {ticket_id} is being changed by someone else; try again", code="ticket_busy")


def tell(change: Change, told: Callable[[Ticket], list[str]] | None, now: datetime, fx: Effects) -> Change:
    """The texts the customer is answered with, as system messages after the change's own items."""
    for text in told(change.ticket) if told is not None else ():
        change = change.then(rules.told(change.ticket, text, now))
        fx.told.append(change.items[-1].id)
    return change


def first_message(change: Change) -> rules.Message | None:
    return next((i for i in change.items if type(i) is rules.Message), None)
