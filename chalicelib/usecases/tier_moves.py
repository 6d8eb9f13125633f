"""Tickets move up the tiers: a person passes one up, the deadline escalates it (the 20-hour rule), the
top tier's expiry breaches and pages the leads; chats never written in close. Bounded sweeps (issue 36)."""
from __future__ import annotations

import time
from datetime import datetime

from chalicelib import outbox, store
from chalicelib.domain import tickets as rules
from chalicelib.domain.actors import SYSTEM, Actor
from chalicelib.domain.tickets import Change, Ticket
from chalicelib.effects import Effects
from chalicelib.errors import NotFound
from chalicelib.logs import logger
from chalicelib.usecases import tiers
from chalicelib.usecases.tickets import _open_page, _tell_owner, mutate


def _move_up(t: Ticket, actor: Actor, now: datetime, fx: Effects, reason: str | None = None) -> Change:
    """One tier up (a person's pass up, or the deadline's escalation), the new owner told."""
    tier_rules = tiers.rules()
    target = rules.next_tier(t, tier_rules) or t.tier
    owner = tiers.choose_owner(target, priority=t.priority, now=now, language=t.language)
    change = rules.move_up(t, actor, now, tier_rules, owner=owner, reason=reason)
    return change.then(_tell_owner(change.ticket, actor, now, fx))


def pass_up(ticket_id: int, actor: Actor, reason: str, now: datetime) -> Ticket:
    """A person hands the ticket to the next tier now (recorded as passed_up)."""
    fx = Effects()
    ticket, _ = mutate(ticket_id, now, lambda t: _move_up(t, actor, now, fx, reason), fx=fx)
    fx.dispatch(now)
    return ticket


def escalate(ticket_id: int, now: datetime) -> Ticket | None:
    """The tier deadline passed: up one tier (recorded as `escalated`, not a person's
    `passed_up`); at the top tier a breach, once, and the leads are paged."""
    fx = Effects()

    def decide(t: Ticket) -> Change:
        if not rules.tier_expired(t, now):
            return Change(t)  # resolved, pending or moved meanwhile: nothing to do
        if rules.next_tier(t, tiers.rules()) is None:
            change = rules.breach(t, now)
            return change.then(_open_page(change.ticket, now, "tier breach", fx, leads_only=True))
        return _move_up(t, SYSTEM, now, fx)

    try:
        ticket, _ = mutate(ticket_id, now, decide, fx=fx)
    except NotFound:
        return None
    fx.dispatch(now)
    return ticket


def tier_sweep(now: datetime) -> int:
    """Moves every ticket whose tier deadline passed; returns how many it looked at.

    A Query on the sparse due-time GSI (no Scan): its cost grows with what is
    due, not with the table. Each move is a version-conditional write, so
    overlapping sweeps move a ticket once, and a ticket resolved meanwhile
    is left alone (the fresh read sees it resolved). One failing ticket never
    stops the others.
    """
    until = outbox.deadline()  # bounded (issue 36): the longest overdue first, the rest next minute
    due = store.tickets_due(now, limit=outbox.SWEEP_ITEMS)
    for ticket_id in due:
        if time.monotonic() > until:
            return len(due)
        try:
            escalate(ticket_id, now)
        except Exception:  # noqa: BLE001 - the next ticket still moves
            logger.exception("tier move failed", extra={"ticket": ticket_id})
    quiet = store.empty_chats_due(now, limit=outbox.SWEEP_ITEMS)
    for ticket_id in quiet:
        if time.monotonic() > until:
            break
        try:
            close_unused(ticket_id, now)
        except Exception:  # noqa: BLE001
            logger.exception("closing an empty chat failed", extra={"ticket": ticket_id})
    return len(due) + len(quiet)


def close_unused(ticket_id: int, now: datetime) -> Ticket | None:
    """A chat session ended with no customer message: its ticket closes quietly (no survey, no page)."""
    try:
        return mutate(ticket_id, now, lambda t: rules.close_unused(t, now))[0]
    except NotFound:
        return None
