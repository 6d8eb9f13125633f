"""The ticket: its lifecycle, the one-owner rule and the tier clock, as pure transitions.

open → pending → resolved → closed, and reopen. A ticket has exactly one owner at every
moment (a person, or UP_FOR_GRABS while a tier has nobody in it, as FogBugz does). Each
transition takes a ``Ticket`` (an immutable value) and ``now`` and returns a ``Change``: the
new ticket and the items it appends to the ticket's history, in order — the messages and
the domain events (``RESOLVED``, ``BECAME_URGENT``, ``OWNER_CHANGED``, ``TIER_EXPIRED``, …).
A transition that may not happen now raises ``NotAllowed``; one that has nothing to do
returns a Change with no items. Use cases turn events into follow-ups (a page, a survey, a
notice) and commit the change with them; nothing here reads a clock or a table.

A ticket numbers its own history (messages ``msg#<n>``, events ``evt#<n>``, one sequence):
that order is the conversation's, and the message ids are the API's.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.domain.actors import CUSTOMER, SYSTEM, Actor
from chalicelib.domain.ticket_values import (  # noqa: F401 - named here for the transitions' callers
    ACKNOWLEDGED,
    ACTIVE,
    BECAME_URGENT,
    BREACH,
    CHANNELS,
    CLOSED,
    CLOSED_EVENT,
    CREATED,
    CUSTOMER_REPLIED,
    CUSTOMER_TOLD,
    FINISHED,
    LANGUAGE_SET,
    MESSAGE_IN,
    MESSAGE_OUT,
    NOTE,
    OPEN,
    OWNER_CHANGED,
    PASSED_UP,
    PENDING,
    PENDING_EVENT,
    PHONE_CHANNELS,
    PRIORITIES,
    QUIET_CLOCK,
    REOPEN_WINDOW,
    REOPENED,
    RESOLVED,
    RESOLVED_EVENT,
    STATUSES,
    SURVEY_ANSWERED,
    SURVEY_COMMENT,
    SURVEY_SENT,
    THANKED,
    TIER_CLOCK,
    TIER_EXPIRED,
    URGENT,
    Change,
    Event,
    Message,
    NotAllowed,
    Ticket,
    _Draft,
    _require,
    subject_of,
)
from chalicelib.domain.tiers import UP_FOR_GRABS, TierRules

# --- the clock -------------------------------------------------------------------------


def _enter_tier(d: _Draft, tier: int, rules: TierRules) -> None:
    d.set(tier=tier, tier_entered_at=d.now, tier_remaining_seconds=None, clock=TIER_CLOCK,
          tier_due_at=rules.deadline(tier, d.now))


def _stop_clock(d: _Draft) -> None:
    d.set(clock=None, tier_due_at=None, tier_remaining_seconds=None)


def _pause_clock(d: _Draft, rules: TierRules) -> None:
    remaining = d.tier_remaining_seconds
    if d.tier_due_at is not None and d.clock == TIER_CLOCK:
        remaining = int(rules.time_left(d.tier, d.now, d.tier_due_at).total_seconds())
    d.set(clock=None, tier_due_at=None, tier_remaining_seconds=remaining)


def _resume_clock(d: _Draft, rules: TierRules) -> None:
    left = d.tier_remaining_seconds
    d.set(clock=TIER_CLOCK, tier_remaining_seconds=None,
          tier_due_at=rules.deadline(d.tier, d.now, timedelta(seconds=left) if left is not None else None))


def _set_owner(d: _Draft, owner: str, actor: Actor, reason: str) -> None:
    if d.owner == owner:
        return
    previous = d.owner
    d.set(owner=owner)
    d.event(OWNER_CHANGED, actor, owner=owner, previous=previous, reason=reason)


def _reopen(d: _Draft, actor: Actor, rules: TierRules, *, repeat: bool) -> None:
    resolved_at = d.resolved_at
    repeat_contact = repeat and resolved_at is not None and d.now - resolved_at <= REOPEN_WINDOW
    d.set(status=OPEN, reopen_count=(d.reopen_count or 0) + 1, resolved_at=None)
    _enter_tier(d, d.tier, rules)
    d.event(REOPENED, actor, repeat_contact=repeat_contact or None)


# --- transitions -----------------------------------------------------------------------


def open_ticket(ticket_id: int, *, channel: str, now: datetime, owner: str, rules: TierRules,
                actor: Actor = CUSTOMER, priority: str = "normal", customer_name: str | None = None,
                contact: str | None = None, contact_key: str | None = None, text: str | None = None,
                media: list[str] | None = None, provider_id: str | None = None,
                quiet_until: datetime | None = None, customer_timezone: str | None = None,
                language: str | None = None) -> Change:
    """A new ticket in tier 1 with its owner; the first message goes with it. A chat nobody has
    written in yet waits on the quiet clock (it pages nobody; closed at `quiet_until`)."""
    blank = Ticket(id=ticket_id, status=OPEN, channel=channel, owner=UP_FOR_GRABS, created_at=now, updated_at=now,
                   priority=priority, customer_name=customer_name, customer_contact=contact,
                   contact_key=contact_key, subject=subject_of(text), customer_timezone=customer_timezone,
                   language=language,
                   opened_by=actor.id if actor is not CUSTOMER else "customer")
    d = _Draft(blank, now)
    d.event(CREATED, actor, channel=channel, priority=priority)
    _set_owner(d, owner, SYSTEM, "new ticket")
    _enter_tier(d, 1, rules)
    if channel == "webchat" and text is None and not media:
        d.set(clock=QUIET_CLOCK, tier_due_at=quiet_until or now + REOPEN_WINDOW)
    if text is not None or media:
        d.message("customer", text or "", author_name=customer_name, channel=channel,
                  media=tuple(media) if media else None, provider_id=provider_id)
        d.event(MESSAGE_IN, actor, channel=channel)
    return d.change()


def customer_wrote(t: Ticket, text: str, now: datetime, rules: TierRules, *, urgent: bool, kept: bool,
                   media: list[str] | None = None, provider_id: str | None = None,
                   channel: str | None = None) -> Change:
    """The customer wrote again: the message is appended; pending restarts the clock, a finished
    ticket reopens (a repeat contact) unless the message is `kept` (a thank-you, a late survey
    answer: stored, nothing reopened); an `urgent` message makes the ticket urgent."""
    d = _Draft(t, now)
    d.message("customer", text, author_name=t.customer_name, channel=channel or t.channel,
              media=tuple(media) if media else None, provider_id=provider_id)
    d.event(MESSAGE_IN, CUSTOMER, channel=channel or t.channel)
    if t.clock == QUIET_CLOCK and t.status == OPEN and t.subject is None:
        _enter_tier(d, t.tier, rules)  # the chat's first customer message: now the tiers apply
    if t.subject is None:
        d.set(subject=subject_of(text))
    was_urgent = t.is_urgent and t.is_active
    if t.status == PENDING:
        d.set(status=OPEN)
        _resume_clock(d, rules)
        d.event(CUSTOMER_REPLIED, CUSTOMER)
    elif t.status in FINISHED:
        if kept:
            d.event(THANKED, CUSTOMER)
            return d.change()
        _reopen(d, CUSTOMER, rules, repeat=True)
    if urgent and not was_urgent:
        d.set(priority=URGENT)
        d.event(BECAME_URGENT, CUSTOMER)
    return d.change()


def staff_replied(t: Ticket, text: str, actor: Actor, now: datetime, *, automated: bool = False,
                  template_id: str | None = None, awaiting: str | None = None) -> Change:
    _require(t, (OPEN, PENDING, RESOLVED), "answered")
    d = _Draft(t, now)
    d.message("system" if automated else "agent", text, author_name=None if automated else actor.first_name,
              channel=t.channel)
    if awaiting:
        d.set(awaiting_confirmation=awaiting)
    d.event(MESSAGE_OUT, actor, template=template_id, automated=automated or None)
    return d.change()


def note(t: Ticket, text: str, actor: Actor, now: datetime) -> Change:
    """An internal note: in the ticket's history for staff, never sent, never in the chat (any status)."""
    d = _Draft(t, now)
    d.event(NOTE, actor, text=text[:4000], author_name=actor.name)
    return d.change()


def language_set(t: Ticket, language: str, actor: Actor, now: datetime) -> Change:
    """What the customer is written in from now on (their SMS keyword, or staff who know better)."""
    if t.language == language:
        return Change(t)
    d = _Draft(t, now)
    d.set(language=language)
    d.event(LANGUAGE_SET, actor, language=language, before=t.language)
    return d.change()


def told(t: Ticket, text: str, now: datetime, *, what: str | None = None) -> Change:
    """The system told the customer something (an acknowledgement, a survey question, a notice):
    a ``system`` message in the conversation, in order, so staff see what the customer read.
    Allowed in any status (a survey's thank-you follows a resolve)."""
    d = _Draft(t, now)
    d.message("system", text, channel=t.channel)
    if what:
        d.event(CUSTOMER_TOLD, SYSTEM, what=what)
    return d.change()


def acknowledge(t: Ticket, actor: Actor, now: datetime) -> Change:
    """The acknowledger takes the ticket (acknowledging twice is harmless)."""
    _require(t, ACTIVE, "acknowledged")
    if t.acked_at is not None and t.owner == actor.id:
        return Change(t)
    d = _Draft(t, now)
    d.set(acked_at=now, acked_by=actor.id)
    d.event(ACKNOWLEDGED, actor)
    _set_owner(d, actor.id, actor, "acknowledged")
    return d.change()


def resolve(t: Ticket, actor: Actor, now: datetime, *, automation: str | None = None) -> Change:
    """Resolved, by a person — or, with `automation` (the template's id), by the customer's YES to
    an automated answer (counted as a satisfied survey answer)."""
    _require(t, ACTIVE, "resolved")
    d = _Draft(t, now)
    d.set(status=RESOLVED, resolved_at=now, resolved_by="automation" if automation else actor.id,
          awaiting_confirmation=None)
    _stop_clock(d)
    if automation:
        d.set(survey_state="done", survey_answer="yes")
        d.event(RESOLVED_EVENT, actor, owner=t.owner, tier=t.tier, automated=True, template=automation)
        d.event(SURVEY_ANSWERED, actor, answer="yes", resolved_by="automation", template=automation)
    else:
        d.event(RESOLVED_EVENT, actor, owner=t.owner, tier=t.tier)
    return d.change()


def pend(t: Ticket, actor: Actor, now: datetime, rules: TierRules) -> Change:
    """Waiting on the customer: the tier clock stops (keeping the time left) until they reply."""
    _require(t, (OPEN,), "set pending")
    d = _Draft(t, now)
    d.set(status=PENDING)
    _pause_clock(d, rules)
    d.event(PENDING_EVENT, actor)
    return d.change()


def close(t: Ticket, actor: Actor, now: datetime) -> Change:
    _require(t, (RESOLVED,), "closed")
    d = _Draft(t, now)
    d.set(status=CLOSED)
    d.event(CLOSED_EVENT, actor)
    return d.change()


def close_unused(t: Ticket, now: datetime) -> Change:
    """A chat session ended with no customer message: closed quietly (no survey, no page)."""
    if t.clock != QUIET_CLOCK or t.status != OPEN or t.subject is not None:
        return Change(t)
    d = _Draft(t, now)
    d.set(status=CLOSED)
    _stop_clock(d)
    d.event(CLOSED_EVENT, SYSTEM, reason="the chat session ended with no message")
    return d.change()


def reopen(t: Ticket, actor: Actor, now: datetime, rules: TierRules, *, repeat: bool = False) -> Change:
    """`repeat`: the customer came back (a repeat contact), not staff reopening it."""
    _require(t, FINISHED, "reopened")
    d = _Draft(t, now)
    _reopen(d, actor, rules, repeat=repeat)
    return d.change()


def mark_urgent(t: Ticket, actor: Actor, now: datetime) -> Change:
    if t.is_urgent and t.is_active:
        return Change(t)
    d = _Draft(t, now)
    d.set(priority=URGENT)
    d.event(BECAME_URGENT, actor)
    return d.change()


def assign(t: Ticket, owner: str, actor: Actor, now: datetime, *, reason: str = "assigned") -> Change:
    _require(t, ACTIVE, "assigned")
    d = _Draft(t, now)
    _set_owner(d, owner, actor, reason)
    return d.change()


def next_tier(t: Ticket, rules: TierRules) -> int | None:
    """The tier a move up goes to; None at the top."""
    return t.tier + 1 if t.tier < rules.top() else None


def move_up(t: Ticket, actor: Actor, now: datetime, rules: TierRules, *, owner: str,
            reason: str | None = None) -> Change:
    """One tier up with a new owner (chosen for that tier by the caller): a person passing it up
    (PASSED_UP, with their reason) or the tier deadline (actor SYSTEM: TIER_EXPIRED)."""
    _require(t, ACTIVE, "passed up")
    if next_tier(t, rules) is None:
        raise NotAllowed(f"ticket {t.id} is already in the top tier ({rules.top()})", code="top_tier")
    d = _Draft(t, now)
    _enter_tier(d, t.tier + 1, rules)
    if actor is SYSTEM:
        d.event(TIER_EXPIRED, SYSTEM, from_tier=t.tier, to_tier=t.tier + 1, previous_owner=t.owner)
        _set_owner(d, owner, SYSTEM, "tier deadline")
    else:
        d.event(PASSED_UP, actor, from_tier=t.tier, to_tier=t.tier + 1, reason=reason, previous_owner=t.owner)
        _set_owner(d, owner, SYSTEM, "passed up")
    return d.change()


def tier_expired(t: Ticket, now: datetime) -> bool:
    """Whether the tier deadline has passed on an open ticket (the sweep's question)."""
    return t.status == OPEN and t.clock == TIER_CLOCK and t.tier_due_at is not None and t.tier_due_at <= now


def breach(t: Ticket, now: datetime) -> Change:
    """The top tier's deadline passed: recorded once, the clock stops (the leads are paged)."""
    d = _Draft(t, now)
    _stop_clock(d)
    d.event(BREACH, SYSTEM, tier=t.tier, owner=t.owner)
    return d.change()


def page_opened(t: Ticket, page_id: str, now: datetime) -> Change:
    """The urgent episode's page: the ticket remembers it (its events are the page's own)."""
    d = _Draft(t, now)
    d.set(page_id=page_id, pages=(t.pages or 0) + 1)
    return Change(Ticket(**d.fields))


def next_page_id(t: Ticket) -> str:
    n = (t.pages or 0) + 1
    return f"t{t.id}" if n == 1 else f"t{t.id}-{n}"


def record(t: Ticket, type_: str, actor: Actor, now: datetime, **data) -> Change:
    """An event that changes nothing else on the ticket (paged, forwarded, owner told, …)."""
    d = _Draft(t, now)
    d.event(type_, actor, **data)
    return d.change()


# --- the survey --------------------------------------------------------------------------


def survey_asked(t: Ticket, now: datetime, expires_at: datetime) -> Change:
    d = _Draft(t, now)
    d.set(survey_state="asked1", survey_expires_at=expires_at)
    d.event(SURVEY_SENT, SYSTEM, resolved_by=t.resolved_by)
    return d.change()


def survey_answered(t: Ticket, now: datetime, rules: TierRules, *, yes: bool) -> Change:
    """YES ends the survey; NO asks how we could do better and reopens the ticket for its last
    owner (not a repeat contact: the customer answered our question)."""
    d = _Draft(t, now)
    d.set(survey_state="done" if yes else "asked2", survey_answer="yes" if yes else "no")
    d.event(SURVEY_ANSWERED, CUSTOMER, resolved_by=t.resolved_by, answer="yes" if yes else "no")
    if not yes and t.status in FINISHED:
        _reopen(d, CUSTOMER, rules, repeat=False)
    return d.change()


def survey_commented(t: Ticket, now: datetime, comment: str) -> Change:
    """How we could do better: on the ticket as the customer's own message (staff read it in the
    conversation, and it reaches the person working the ticket like any other), and on the survey."""
    d = _Draft(t, now)
    d.message("customer", comment[:2000], author_name=t.customer_name, channel=t.channel)
    d.set(survey_state="done", survey_comment=comment[:1000])
    d.event(SURVEY_COMMENT, CUSTOMER, resolved_by=t.resolved_by, comment=comment[:500])
    return d.change()


def counter_deltas(before: Ticket | None, after: Ticket) -> dict[str, int]:
    """How each person's count of active tickets moves with this change (one owner at a time)."""
    deltas: dict[str, int] = {}
    if before is not None and before.is_active and before.owner and before.owner != UP_FOR_GRABS:
        deltas[before.owner] = deltas.get(before.owner, 0) - 1
    if after.is_active and after.owner and after.owner != UP_FOR_GRABS:
        deltas[after.owner] = deltas.get(after.owner, 0) + 1
    return {k: v for k, v in sorted(deltas.items()) if v}
