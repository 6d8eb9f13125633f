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
from datetime import datetime

from chalicelib import expectations, metrics, outbox, settings, store
from chalicelib.domain import contacts, conversation, texts
from chalicelib.domain import surveys as survey_rules
from chalicelib.domain import tickets as rules
from chalicelib.domain.actors import CUSTOMER, SYSTEM, Actor  # noqa: F401 - re-exported
from chalicelib.domain.tickets import ACTIVE, PRIORITIES, REOPEN_WINDOW, Change, Message, Ticket  # noqa: F401
from chalicelib.domain.tiers import UP_FOR_GRABS
from chalicelib.effects import Effects
from chalicelib.errors import BadRequest, Conflict
from chalicelib.usecases import paging, tiers
from chalicelib.usecases.ticket_views import (  # noqa: F401 - re-exported: the views of tickets
    CHANNELS,
    STATUSES,
    detail_json,
    event_json,
    get,
    history,
    list_json,
    message_json,
    older_json,
    summary_json,
)
from chalicelib.usecases.ticket_writes import decided, first_message, mutate, tell, thread  # noqa: F401 - re-exported

# --- follow-ups: what a change's events cause, planned into its transaction ------------


def _open_page(t: Ticket, now: datetime, reason: str, fx: Effects, *, leads_only: bool = False,
               quote: str | None = None) -> Change:
    """The page of an urgent episode, planned into this change's transaction (nothing while an
    earlier page of the ticket still runs); it quotes `quote`, the words that made it urgent."""
    step = paging.open_step(t, now, reason, leads_only=leads_only, suppress=frozenset(fx.suppress), quote=quote)
    if step is None:
        return Change(t)
    fx.budget_person = step.budget_person
    fx.writes.extend(step.writes)
    fx.after_commit.append(lambda when: paging.after_commit(step, when))
    fx.paged = True
    change = rules.page_opened(t, step.page.id, now)
    for type_, data in step.events:
        change = change.then(rules.record(change.ticket, type_, SYSTEM, now, **data))
    return change


def _survey(t: Ticket, now: datetime, fx: Effects) -> Change:
    """The survey's first question, if the rules allow, over the customer's own phone."""
    phone = t.customer_contact if t.channel in rules.PHONE_CHANNELS else None
    contact = store.get_contact(phone) if phone else None
    if not survey_rules.should_ask(opened_by=t.opened_by, survey_state=t.survey_state, channel=t.channel,
                                   phone=phone, opted_out=bool(contact and contact.opted_out),
                                   last_survey_at=contact.last_survey_at if contact else None, now=now):
        return Change(t)
    change = rules.survey_asked(t, now, now + survey_rules.window())
    if contact is not None:
        fx.writes.append(store.contact_write(contacts.surveyed(contact, t.id, now)))
        question = survey_rules.q1(expectations.language(t))
        fx.send(outbox.sms(phone, question, purpose="survey", now=now, ticket_id=t.id,
                           key=f"survey#{t.id}#{t.seq}"))
        change = change.then(rules.told(change.ticket, question, now))
    return change


def _tell_owner(t: Ticket, actor: Actor, now: datetime, fx: Effects, *, new: bool = False) -> Change:
    """A ticket that changed hands tells its new owner at once when it is urgent or they hold the phone
    (someone else moved it to them: not when they took it themselves). A `new` normal ticket tells its
    owner at once in business hours and in the morning digest out of hours: its customer was told when
    to expect an answer, and the holder's phone stays quiet for it."""
    if t.owner in (UP_FOR_GRABS, actor.id):
        return Change(t)
    if new:
        holds_phone = expectations.is_business_hours(now)  # at work: now; else the morning
    else:
        rot = settings.current_rota()
        holds_phone = rot is not None and rot.holder_at(now) == t.owner
    owner = next((p for p in store.all_people() if p.id == t.owner), None)
    phone = owner.phone if owner is not None else None
    if not phone:
        return Change(t)
    if not t.is_urgent and not holds_phone:
        # Not worth waking anyone: one morning digest at the next business opening lists it
        # (if it is still theirs and still open then).
        opening = expectations.next_opening(now)
        fx.writes.append(store.digest_write(t.owner, phone, t.id, opening, now))
        return rules.record(t, "owner_told_later", SYSTEM, now, to=t.owner, at=opening.isoformat())
    text = texts.owner_now(t.id, t.tier, t.priority, t.subject, owner.language, caller=t.customer_contact,
                           channel=t.channel)
    fx.send(outbox.sms(phone, text, purpose="notice", now=now,
                       key=f"owner#{t.id}#{t.seq}#{t.owner}", ticket_id=t.id, person_id=t.owner))
    return rules.record(t, "owner_told", SYSTEM, now, to=t.owner)


def _waits_for_first_words(t: Ticket) -> bool:
    """A chat opened and not written in yet: nobody is told of it (it closes by itself, unused)."""
    return t.clock == rules.QUIET_CLOCK and t.status == rules.OPEN and t.subject is None


def _forward(t: Ticket, msg: Message, text: str, now: datetime, fx: Effects, *,
             tell_paged: bool = False) -> Change:
    """The person working the ticket hears the customer (API v1.1): when its page was acknowledged,
    or when the phone's holder owns it out of hours, the message goes to their phone too. With
    `tell_paged` (a voicemail's transcript) everyone the unacknowledged page reached hears it."""
    working = {t.owner} if (t.acked_by and t.owner == t.acked_by) else set()
    # The holder's out-of-hours tickets are the urgent ones (a normal one waits for the morning:
    # its customer was told when to expect an answer, and the holder's phone stays quiet).
    if not working and t.is_urgent and not expectations.is_business_hours(now):
        rot = settings.current_rota()
        if rot is not None and rot.holder_at(now) == t.owner:
            working.add(t.owner)
    if tell_paged and not t.acked_by:
        _, events = history(t.id)
        working |= {(e.data or {}).get("to") for e in events if e.type == "paged"} - {None}
    if not working:
        return Change(t)  # nobody to tell: no read of the people
    phones = {p.id: p.phone for p in store.all_people() if p.id in working and p.phone}
    if not phones:
        return Change(t)
    line = conversation.forward_line(t.id, t.customer_name or t.customer_contact, text)
    for person_id, phone in sorted(phones.items()):
        fx.send(outbox.sms(phone, line, purpose="notice", now=now, key=f"fwd#{t.id}#{msg.id}#{person_id}",
                           ticket_id=t.id, person_id=person_id))
    return rules.record(t, "forwarded", SYSTEM, now, to=sorted(phones))


# --- use cases ----------------------------------------------------------------


def open_ticket(*, channel: str, now: datetime, contact: str | None = None, contact_key: str | None = None,
                customer_name: str | None = None, text: str | None = None, priority: str = "normal",
                actor: Actor = CUSTOMER, media: list[str] | None = None, provider_id: str | None = None,
                page_reason: str | None = None, fx: Effects | None = None,
                extra: Callable[[Ticket], list] | None = None, claim_key: str | None = None,
                answer: Callable[[Ticket], str] | None = None, quiet_until: datetime | None = None,
                event: tuple[str, dict] | None = None, told: Callable[[Ticket], list[str]] | None = None,
                customer_timezone: str | None = None, language: str | None = None) -> Ticket:
    """Opens a ticket in tier 1 with an owner; the first message goes with it (and `event`, e.g.
    the call that opened it).

    An urgent ticket with a `page_reason` opens its page in the same
    transaction: stored urgent means paged. `extra(ticket)` adds writes of the
    caller (the customer's contact) to that transaction.
    """
    fx = fx if fx is not None else Effects()
    if contact_key is None and contact:
        contact_key = f"phone#{contact}"  # who the customer is: their phone number (chat sessions say theirs)
    number = store.next_number("ticket")
    owner = tiers.choose_owner(1, priority=priority, now=now, language=language)
    claim = claim_key or (f"msg#{provider_id}" if provider_id else None)
    tier_rules = tiers.rules()
    for _ in range(2):
        fx.reset()
        change = rules.open_ticket(number, channel=channel, now=now, owner=owner, rules=tier_rules, actor=actor,
                                   priority=priority, customer_name=customer_name, contact=contact,
                                   contact_key=contact_key, text=text, media=media, provider_id=provider_id,
                                   quiet_until=quiet_until, customer_timezone=customer_timezone,
                                   language=language)
        if event is not None:
            change = change.then(rules.record(change.ticket, event[0], actor, now, **event[1]))
        if priority == "urgent" and page_reason:
            change = change.then(_open_page(change.ticket, now, page_reason, fx))
        if not fx.paged and not _waits_for_first_words(change.ticket):
            # A page tells the holder who owns it; anyone else hears now or in the morning. A chat in
            # which the customer has not written yet tells nobody (issue 34): its first message does.
            change = change.then(_tell_owner(change.ticket, actor, now, fx, new=True))
        if extra is not None:
            fx.writes.extend(extra(change.ticket))
        change = tell(change, told, now, fx)
        try:
            return store.save_ticket(change, before=None, claim=claim, now=now, extra=fx.writes,
                                     claim_result=answer(change.ticket) if answer else None)
        except store.AlreadyDone:
            # An earlier delivery of this provider id opened the ticket: that one, not a second.
            fx.reset()
            state = store.claim_state(claim)
            return get(int(state.ticket_id or state.result))
        except store.ConditionFailed as exc:
            if "budget" in exc.tags and fx.budget_person:
                fx.suppress.add(fx.budget_person)  # a page storm: bundle this one
                continue
            raise
    raise Conflict("could not open the ticket; try again", code="ticket_busy")


def add_customer_message(ticket_id: int, text: str, now: datetime, *, media: list[str] | None = None,
                         provider_id: str | None = None, channel: str | None = None) -> Ticket:
    return customer_message(ticket_id, text, now, media=media, provider_id=provider_id, channel=channel)[0]


def customer_message(ticket_id: int, text: str, now: datetime, *, media: list[str] | None = None,
                     provider_id: str | None = None, channel: str | None = None,
                     fx: Effects | None = None, page_reason: str | None = None, first: Ticket | None = None,
                     extra: Callable[[Ticket], list] | None = None, claim_key: str | None = None,
                     answer: Callable[[Ticket], str] | None = None, tell_paged: bool = False,
                     event: tuple[str, dict] | None = None,
                     told: Callable[[Ticket], list[str]] | None = None) -> tuple[Ticket, Message | None]:
    """A customer wrote again: append; pending restarts, a recent resolve reopens.

    The urgency rule applies in the same transaction: a message with URGENT
    marks the ticket urgent and opens its page with it (fx.paged tells). With a
    provider id the message is written once, however often it is delivered
    (the message is then None: it was stored before).
    """
    fx = fx if fx is not None else Effects()
    urgent = expectations.is_urgent(text)
    tier_rules = tiers.rules()

    def decide(t: Ticket) -> Change:
        change = _wrote(t)
        return change.then(rules.record(change.ticket, event[0], CUSTOMER, now, **event[1])) if event else change

    def _wrote(t: Ticket) -> Change:
        fx.paged = False
        fx.newly_urgent = False
        kept = t.status in rules.FINISHED and conversation.route(
            thread(t), text, now, urgent=urgent).kind == conversation.KEEP
        change = rules.customer_wrote(t, text, now, tier_rules, urgent=urgent, kept=kept, media=media,
                                      provider_id=provider_id, channel=channel)
        if kept:
            return change  # a thank-you (or a late survey answer): stored, nothing reopened
        if change.has(rules.BECAME_URGENT):
            fx.newly_urgent = True
            return change.then(_open_page(change.ticket, now, f"urgent {channel or t.channel}", fx, quote=text))
        if page_reason and change.ticket.is_urgent:  # e.g. a voicemail: paged with it
            return change.then(_open_page(change.ticket, now, page_reason, fx, quote=text))
        if _waits_for_first_words(t) and not _waits_for_first_words(change.ticket):
            # The chat's first words: now its owner hears of it (now at work, else the morning digest).
            change = change.then(_tell_owner(change.ticket, CUSTOMER, now, fx, new=True))
        return change.then(_forward(change.ticket, first_message(change), text, now, fx, tell_paged=tell_paged))

    try:
        ticket, change = mutate(ticket_id, now, decide, fx=fx, first=first, extra=extra, answer=answer, told=told,
                                claim=claim_key or (f"msg#{provider_id}" if provider_id else None))
    except store.AlreadyDone:
        fx.reset()
        return get(ticket_id), None
    return ticket, first_message(change)


def reply(ticket_id: int, text: str, actor: Actor, now: datetime, *, template_id: str | None = None,
          automated: bool = False, awaiting: str | None = None, fx: Effects | None = None,
          key: str | None = None, deliver: bool = True) -> tuple[Ticket, Message]:
    """Staff answer the customer: the message and its outbox item commit together.

    `key` names the outbox item (e.g. the staff SMS's MessageSid): a retried
    request then stores and sends nothing twice (store.AlreadyDone). With
    `deliver=False` the text travels another way (the webhook's TwiML answer). After the
    call, ``fx.reply_id`` is the outbox item to dispatch (None: nothing to
    send over this channel, e.g. web chat, or a caller whose number is withheld).
    """
    fx = fx if fx is not None else Effects()

    def decide(t: Ticket) -> Change:
        change = rules.staff_replied(t, text, actor, now, automated=automated, template_id=template_id,
                                     awaiting=awaiting)
        fx.reply_id = None
        if deliver and t.channel in rules.PHONE_CHANNELS and t.customer_contact:
            fx.reply_id = fx.send(outbox.sms(t.customer_contact, text, purpose="reply", now=now, ticket_id=t.id,
                                             message_sk=first_message(change).id, key=key))
        return change

    ticket, change = mutate(ticket_id, now, decide, fx=fx)
    return ticket, first_message(change)


def ack(ticket_id: int, actor: Actor, now: datetime) -> Ticket:
    """The acknowledger takes the ticket: escalation of its page stops."""
    ticket, change = mutate(ticket_id, now, lambda t: rules.acknowledge(t, actor, now))
    _acknowledged(ticket, change, actor, now)
    return ticket


def _acknowledged(ticket: Ticket, change: Change, actor: Actor, now: datetime) -> None:
    paging.acknowledge(ticket, actor.id, now)  # the page stops now, not at the next sweep
    if ticket.is_urgent and change.has(rules.ACKNOWLEDGED):
        metrics.count("AckLatencySeconds", (now - ticket.created_at).total_seconds(), unit="Seconds")


def resolve(ticket_id: int, actor: Actor, now: datetime, *, survey: bool = True,
            fx: Effects | None = None, dispatch: bool = False) -> Ticket:
    """Resolved, by any channel (API, SMS, automation); the survey's first question (if the rules
    allow) commits with it, and the page stops. With `dispatch` the survey goes out at once."""
    fx = fx if fx is not None else Effects()

    def decide(t: Ticket) -> Change:
        change = rules.resolve(t, actor, now)
        return change.then(_survey(change.ticket, now, fx)) if survey else change

    ticket, _ = mutate(ticket_id, now, decide, fx=fx)
    paging.acknowledge(ticket, actor.id, now)
    if dispatch:
        fx.dispatch(now)
    return ticket


def set_pending(ticket_id: int, actor: Actor, now: datetime) -> Ticket:
    """Waiting on the customer: the tier clock stops until they reply."""
    tier_rules = tiers.rules()
    return mutate(ticket_id, now, lambda t: rules.pend(t, actor, now, tier_rules))[0]


def close(ticket_id: int, actor: Actor, now: datetime) -> Ticket:
    return mutate(ticket_id, now, lambda t: rules.close(t, actor, now))[0]


def reopen(ticket_id: int, actor: Actor, now: datetime, *, repeat: bool = False) -> Ticket:
    """`repeat`: the customer came back (counted as a repeat contact), not staff reopening it."""
    tier_rules = tiers.rules()
    return mutate(ticket_id, now, lambda t: rules.reopen(t, actor, now, tier_rules, repeat=repeat))[0]


def assign(ticket_id: int, person_id: str, actor: Actor, now: datetime) -> Ticket:
    """The ticket changes hands (a person, or back up for grabs); the new owner is told."""
    if person_id != UP_FOR_GRABS and store.get_person(person_id) is None:
        raise BadRequest("person_id", f"no person has the id {person_id!r}; see GET /people")
    fx = Effects()

    def decide(t: Ticket) -> Change:
        change = rules.assign(t, person_id, actor, now)
        return change.then(_tell_owner(change.ticket, actor, now, fx)) if change.items else change

    ticket, _ = mutate(ticket_id, now, decide, fx=fx)
    fx.dispatch(now)
    return ticket


def mark_urgent(ticket_id: int, now: datetime, actor: Actor = CUSTOMER, *, page_reason: str | None = None,
                fx: Effects | None = None) -> Ticket:
    """Urgent, and (with a reason) its page opened in the same transaction."""
    fx = fx if fx is not None else Effects()

    def decide(t: Ticket) -> Change:
        change = rules.mark_urgent(t, actor, now)
        if page_reason and change.items:
            change = change.then(_open_page(change.ticket, now, page_reason, fx))
        return change

    return mutate(ticket_id, now, decide, fx=fx)[0]


def page(ticket_id: int, now: datetime, reason: str, fx: Effects | None = None, *,
         event: tuple[str, dict] | None = None) -> Ticket:
    """Opens the ticket's page (unless one is running) with its events (and `event`, what made
    it: an unanswered call), in one transaction."""
    fx = fx if fx is not None else Effects()

    def decide(t: Ticket) -> Change:
        change = rules.record(t, event[0], SYSTEM, now, **event[1]) if event else Change(t)
        return change.then(_open_page(change.ticket, now, reason, fx))

    return mutate(ticket_id, now, decide, fx=fx)[0]


def record_event(ticket_id: int, type_: str, actor: Actor, now: datetime, **data) -> Ticket:
    """An event that changes nothing else on the ticket (e.g. paged, survey_sent)."""
    return mutate(ticket_id, now, lambda t: rules.record(t, type_, actor, now, **data))[0]
