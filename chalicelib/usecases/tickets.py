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
from chalicelib.domain import conversation, texts
from chalicelib.domain import surveys as survey_rules
from chalicelib.domain.actors import CUSTOMER, SYSTEM, Actor  # noqa: F401 - re-exported
from chalicelib.effects import Effects
from chalicelib.errors import Conflict, NotFound
from chalicelib.logs import logger
from chalicelib.store import Ticket, TicketItem
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
    summary_json,
)
from chalicelib.usecases.ticket_writes import (  # noqa: F401 - re-exported
    OPEN,
    REOPEN_WINDOW,
    _counts,
    _event,
    _item,
    _message,
    _mutate,
    _reopen,
    _require,
    _set_owner,
    _subject,
    thread,
)
from chalicelib.usecases.tiers import UP_FOR_GRABS

PRIORITIES = ("normal", "urgent")




# --- use cases ----------------------------------------------------------------


def open_ticket(*, channel: str, now: datetime, contact: str | None = None, contact_key: str | None = None,
                customer_name: str | None = None, text: str | None = None, priority: str = "normal",
                actor: Actor = CUSTOMER, media: list[str] | None = None, provider_id: str | None = None,
                page_reason: str | None = None, fx: Effects | None = None,
                extra: Callable[[Ticket], list] | None = None, claim_key: str | None = None,
                answer: Callable[[Ticket], str] | None = None, quiet_until: datetime | None = None) -> Ticket:
    """Opens a ticket in tier 1 with an owner; the first message goes with it.

    An urgent ticket with a `page_reason` opens its page in the same
    transaction: stored urgent means paged. `extra(ticket)` adds writes of the
    caller (the customer's contact) to that transaction.
    """
    fx = fx if fx is not None else Effects()
    number = store.next_number("ticket")
    owner = tiers.choose_owner(1, priority=priority, now=now)
    claim = claim_key or (f"msg#{provider_id}" if provider_id else None)
    for _ in range(2):
        fx.reset()
        ticket = Ticket(
            id=number, status="open", channel=channel, priority=priority, tier=1, owner=UP_FOR_GRABS,
            customer_name=customer_name, customer_contact=contact, contact_key=contact_key,
            subject=_subject(text), created_at=now, updated_at=now,
            opened_by=actor.id if actor is not CUSTOMER else "customer", seq=0,
        )
        items = [_event(ticket, "created", actor, now, channel=channel, priority=priority)]
        items += _set_owner(ticket, owner, SYSTEM, now, reason="new ticket")
        tiers.enter_tier(ticket, 1, now)
        if channel == "webchat" and text is None and not media:
            # A chat nobody wrote in pages nobody: the clock starts with a message; closed quietly at
            # `quiet_until` (its session's end) if none comes.
            tiers.wait_for_first_message(ticket, quiet_until or now + REOPEN_WINDOW)
        if text is not None or media:
            items.append(_message(ticket, "customer", text or "", now, author_name=customer_name,
                                  media=media, provider_id=provider_id))
            items.append(_event(ticket, "message_in", actor, now, channel=channel))
        if priority == "urgent" and page_reason:
            items += _open_page(ticket, now, page_reason, fx)
        if extra is not None:
            fx.writes.extend(extra(ticket))
        try:
            store.save_ticket(ticket, items, new=True, claim=claim, now=now,
                              extra=fx.writes + _counts((None, False), ticket),
                              claim_result=answer(ticket) if answer else None)
            return ticket
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


def _open_page(ticket: Ticket, now: datetime, reason: str, fx: Effects, *,
               leads_only: bool = False) -> list[TicketItem]:
    """The page of an urgent episode, planned into this change's transaction."""
    step = paging.open_step(ticket, now, reason, leads_only=leads_only, suppress=frozenset(fx.suppress))
    if step is None:
        return []
    fx.budget_person = step.budget_person
    fx.writes.extend(step.writes)
    fx.after_commit.append(lambda when: paging.after_commit(step, when))
    fx.paged = True
    return [_event(ticket, type_, SYSTEM, now, **data) for type_, data in step.events]


def add_customer_message(ticket_id: int, text: str, now: datetime, *, media: list[str] | None = None,
                         provider_id: str | None = None, channel: str | None = None) -> Ticket:
    return customer_message(ticket_id, text, now, media=media, provider_id=provider_id, channel=channel)[0]


def customer_message(ticket_id: int, text: str, now: datetime, *, media: list[str] | None = None,
                     provider_id: str | None = None, channel: str | None = None,
                     fx: Effects | None = None, page_reason: str | None = None, first: Ticket | None = None,
                     extra: Callable[[Ticket], list] | None = None, claim_key: str | None = None,
                     answer: Callable[[Ticket], str] | None = None,
                     tell_paged: bool = False) -> tuple[Ticket, TicketItem | None]:
    """A customer wrote again: append; pending restarts, a recent resolve reopens.

    The urgency rule applies in the same transaction: a message with URGENT
    marks the ticket urgent and opens its page with it (fx.paged tells). With a
    provider id the message is written once, however often it is delivered
    (the message is then None: it was stored before).
    """
    box: dict = {}
    fx = fx if fx is not None else Effects()

    def change(t: Ticket) -> list[TicketItem]:
        fx.paged = False
        fx.newly_urgent = False
        msg = _message(t, "customer", text, now, author_name=t.customer_name, media=media,
                       provider_id=provider_id, channel=channel)
        box["message"] = msg
        items = [msg, _event(t, "message_in", CUSTOMER, now, channel=channel or t.channel)]
        if t.channel == "webchat" and t.subject is None and t.status == "open" and t.tier_due_pk != tiers.DUE_PK:
            tiers.enter_tier(t, t.tier, now)  # the chat's first customer message: now the tiers apply
        if t.subject is None:
            t.subject = _subject(text)
        was_urgent = t.priority == "urgent" and t.status in ("open", "pending")
        if t.status == "pending":
            t.status = "open"
            tiers.resume_clock(t, now)
            items.append(_event(t, "customer_replied", CUSTOMER, now))
        elif t.status in ("resolved", "closed"):
            route = conversation.route(thread(t), text, now, urgent=expectations.is_urgent(text))
            if route.kind == conversation.KEEP:
                # A thank-you (or a late survey answer) is not a customer who had to come back:
                # stored, nothing reopened.
                items.append(_event(t, "thanked", CUSTOMER, now))
                return items
            items += _reopen(t, CUSTOMER, now, repeat=True)
        if expectations.is_urgent(text) and not was_urgent:
            t.priority = "urgent"
            fx.newly_urgent = True
            items.append(_event(t, "marked_urgent", CUSTOMER, now))
            items += _open_page(t, now, f"urgent {channel or t.channel}", fx)
        elif page_reason and t.priority == "urgent":
            items += _open_page(t, now, page_reason, fx)  # e.g. a voicemail: paged with it
        else:
            items += _forward(t, msg, text, now, fx, tell_paged=tell_paged)
        return items

    try:
        ticket = _mutate(ticket_id, now, change, fx=fx, first=first, extra=extra, answer=answer,
                         claim=claim_key or (f"msg#{provider_id}" if provider_id else None))
    except store.AlreadyDone:
        fx.reset()
        return get(ticket_id), None
    return ticket, box["message"]


def _forward(t: Ticket, msg: TicketItem, text: str, now: datetime, fx: Effects, *,
             tell_paged: bool = False) -> list[TicketItem]:
    """The person working the ticket hears the customer (API v1.1): when its page was acknowledged,
    or when the phone's holder owns it out of hours, the message goes to their phone too. With
    `tell_paged` (a voicemail's transcript) everyone the unacknowledged page reached hears it."""
    working = {t.owner} if (t.acked_by and t.owner == t.acked_by) else set()
    # The holder's out-of-hours tickets are the urgent ones (a normal one waits for the morning:
    # its customer was told when to expect an answer, and the holder's phone stays quiet).
    if not working and t.priority == "urgent" and not expectations.is_business_hours(now):
        rot = settings.current_rota()
        if rot is not None and rot.holder_at(now) == t.owner:
            working.add(t.owner)
    if tell_paged and not t.acked_by:
        _, events = history(t.id)
        working |= {(e.data or {}).get("to") for e in events if e.type == "paged"} - {None}
    if not working:
        return []  # nobody to tell: no read of the people
    phones = {p.id: p.phone for p in store.all_people() if p.id in working and p.phone}
    line = conversation.forward_line(t.id, t.customer_name or t.customer_contact, text)
    for person_id, phone in sorted(phones.items()):
        fx.send(outbox.sms(phone, line, purpose="notice", now=now, key=f"fwd#{t.id}#{msg.sk}#{person_id}",
                           ticket_id=t.id, person_id=person_id))
    return [_event(t, "forwarded", SYSTEM, now, to=sorted(phones))] if phones else []


def reply(ticket_id: int, text: str, actor: Actor, now: datetime, *, template_id: str | None = None,
          automated: bool = False, awaiting: str | None = None, fx: Effects | None = None,
          key: str | None = None, deliver: bool = True) -> tuple[Ticket, TicketItem]:
    """Staff answer the customer: the message and its outbox item commit together.

    `key` names the outbox item (e.g. the staff SMS's MessageSid): a retried
    request then stores and sends nothing twice (store.AlreadyDone). With
    `deliver=False` the text travels another way (the webhook's TwiML answer). After the
    call, ``fx.reply_id`` is the outbox item to dispatch (None: nothing to
    send over this channel, e.g. web chat, or a caller whose number is withheld).
    """
    box: dict = {}
    fx = fx if fx is not None else Effects()

    def change(t: Ticket) -> list[TicketItem]:
        _require(t, ("open", "pending", "resolved"), "answered")
        msg = _message(t, "system" if automated else "agent", text, now,
                       author_name=None if automated else actor.first_name)
        box["message"] = msg
        fx.reply_id = None
        if deliver and t.channel in ("sms", "voice") and t.customer_contact:
            fx.reply_id = fx.send(outbox.sms(t.customer_contact, text, purpose="reply", now=now, ticket_id=t.id,
                                             message_sk=msg.sk, key=key))
        if awaiting:
            t.awaiting_confirmation = awaiting
        return [msg, _event(t, "message_out", actor, now, template=template_id, automated=automated or None)]

    ticket = _mutate(ticket_id, now, change, fx=fx)
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

    ticket = _mutate(ticket_id, now, change)
    paging.acknowledge(ticket, actor.id, now)  # the page stops now, not at the next sweep
    if ticket.priority == "urgent" and ticket.acked_at == now:
        metrics.count("AckLatencySeconds", (now - ticket.created_at).total_seconds(), unit="Seconds")
    return ticket


def resolve(ticket_id: int, actor: Actor, now: datetime, *, survey: bool = True,
            fx: Effects | None = None) -> Ticket:
    """Resolved; the survey's first question (if the rules allow) commits with it."""
    fx = fx if fx is not None else Effects()

    def change(t: Ticket) -> list[TicketItem]:
        _require(t, ("open", "pending"), "resolved")
        t.status, t.resolved_at, t.resolved_by = "resolved", now, actor.id
        t.awaiting_confirmation = None
        tiers.stop_clock(t, now)
        items = [_event(t, "resolved", actor, now, owner=t.owner, tier=t.tier)]
        if survey:
            items += _survey(t, now, fx)
        return items

    ticket = _mutate(ticket_id, now, change, fx=fx)
    paging.acknowledge(ticket, actor.id, now)
    return ticket


def _survey(t: Ticket, now: datetime, fx: Effects) -> list[TicketItem]:
    phone = t.customer_contact if t.channel in ("sms", "voice") else None
    contact = store.get_contact(phone) if phone else None
    if not survey_rules.should_ask(opened_by=t.opened_by, survey_state=t.survey_state, channel=t.channel,
                                   phone=phone, opted_out=bool(contact and contact.opted_out),
                                   last_survey_at=contact.last_survey_at if contact else None, now=now):
        return []
    t.survey_state, t.survey_expires_at = "asked1", now + survey_rules.window()
    if contact is not None:
        contact.last_survey_at = now
        if contact.current_ticket is None:
            contact.current_ticket = t.id
        fx.writes.append(store.Write("put", contact, tag="contact"))
        fx.send(outbox.sms(phone, survey_rules.Q1, purpose="survey", now=now, ticket_id=t.id,
                           key=f"survey#{t.id}#{t.seq}"))
    return [_event(t, "survey_sent", SYSTEM, now, resolved_by=t.resolved_by)]


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


def reopen(ticket_id: int, actor: Actor, now: datetime, *, repeat: bool = False) -> Ticket:
    """`repeat`: the customer came back (counted as a repeat contact), not staff reopening it."""

    def change(t: Ticket) -> list[TicketItem]:
        _require(t, ("resolved", "closed"), "reopened")
        return _reopen(t, actor, now, repeat=repeat)

    return _mutate(ticket_id, now, change)


def assign(ticket_id: int, person_id: str, actor: Actor, now: datetime) -> Ticket:
    fx = Effects()

    def change(t: Ticket) -> list[TicketItem]:
        _require(t, ("open", "pending"), "assigned")
        return _set_owner(t, person_id, actor, now, reason="assigned") + _tell_owner(t, actor, now, fx)

    ticket = _mutate(ticket_id, now, change, fx=fx)
    fx.dispatch(now)
    return ticket


def _tell_owner(t: Ticket, actor: Actor, now: datetime, fx: Effects) -> list[TicketItem]:
    """A ticket that changed hands tells its new owner at once when it is urgent or they hold the phone
    (someone else moved it to them: not when they took it themselves)."""
    if t.owner in (UP_FOR_GRABS, actor.id):
        return []
    rot = settings.current_rota()
    holds_phone = rot is not None and rot.holder_at(now) == t.owner
    phone = next((p.phone for p in store.all_people() if p.id == t.owner), None)
    if not phone:
        return []
    if t.priority != "urgent" and not holds_phone:
        # Not worth waking anyone: one morning digest at the next business opening lists it
        # (if it is still theirs and still open then).
        opening = expectations.next_opening(now)
        fx.writes.append(store.digest_write(t.owner, phone, t.id, opening, now))
        return [_event(t, "owner_told_later", SYSTEM, now, to=t.owner, at=opening.isoformat())]
    fx.send(outbox.sms(phone, texts.owner_now(t.id, t.tier, t.priority, t.subject), purpose="notice", now=now,
                       key=f"owner#{t.id}#{t.seq}#{t.owner}", ticket_id=t.id, person_id=t.owner))
    return [_event(t, "owner_told", SYSTEM, now, to=t.owner)]


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
        return items + _set_owner(t, owner, SYSTEM, now, reason="passed up") + _tell_owner(t, actor, now, fx)

    fx = Effects()
    ticket = _mutate(ticket_id, now, change, fx=fx)
    fx.dispatch(now)
    return ticket


def mark_urgent(ticket_id: int, now: datetime, actor: Actor = CUSTOMER, *, page_reason: str | None = None,
                fx: Effects | None = None) -> Ticket:
    """Urgent, and (with a reason) its page opened in the same transaction."""
    fx = fx if fx is not None else Effects()

    def change(t: Ticket) -> list[TicketItem]:
        if t.priority == "urgent" and t.status in ("open", "pending"):
            return []
        t.priority = "urgent"
        items = [_event(t, "marked_urgent", actor, now)]
        if page_reason:
            items += _open_page(t, now, page_reason, fx)
        return items

    return _mutate(ticket_id, now, change, fx=fx)


def page(ticket_id: int, now: datetime, reason: str, fx: Effects | None = None) -> Ticket:
    """Opens the ticket's page (unless one is running) with a ticket event, in one transaction."""
    fx = fx if fx is not None else Effects()
    return _mutate(ticket_id, now, lambda t: _open_page(t, now, reason, fx), fx=fx)


def escalate(ticket_id: int, now: datetime) -> Ticket | None:
    """The tier deadline passed: up one tier (recorded as `escalated`, not a person's
    `passed_up`); at the top tier a breach, once, and the leads are paged."""
    fx = Effects()

    def change(t: Ticket) -> list[TicketItem]:
        if t.tier_due_at is None or t.tier_due_at > now or t.status not in ("open",):
            return []  # resolved, pending or moved meanwhile: nothing to do
        top = tiers.top_tier()
        if t.tier >= top:
            tiers.stop_clock(t, now)
            return [_event(t, "breach", SYSTEM, now, tier=t.tier, owner=t.owner)] + _open_page(
                t, now, "tier breach", fx, leads_only=True)
        previous_owner = t.owner
        t.tier += 1
        tiers.enter_tier(t, t.tier, now)
        items = [_event(t, "escalated", SYSTEM, now, from_tier=t.tier - 1, to_tier=t.tier,
                        previous_owner=previous_owner)]
        owner = tiers.choose_owner(t.tier, priority=t.priority, now=now)
        return items + _set_owner(t, owner, SYSTEM, now, reason="tier deadline") + _tell_owner(t, SYSTEM, now, fx)

    try:
        ticket = _mutate(ticket_id, now, change, fx=fx)
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
    due = store.tickets_due(now)
    for ticket_id in due:
        try:
            escalate(ticket_id, now)
        except Exception:  # noqa: BLE001 - the next ticket still moves
            logger.exception("tier move failed", extra={"ticket": ticket_id})
    quiet = store.empty_chats_due(now)
    for ticket_id in quiet:
        try:
            close_unused(ticket_id, now)
        except Exception:  # noqa: BLE001
            logger.exception("closing an empty chat failed", extra={"ticket": ticket_id})
    return len(due) + len(quiet)


def close_unused(ticket_id: int, now: datetime) -> Ticket | None:
    """A chat session ended with no customer message: its ticket closes quietly (no survey, no page)."""

    def change(t: Ticket) -> list[TicketItem]:
        if t.tier_due_pk != tiers.QUIET_PK or t.status != "open" or t.subject is not None:
            return []
        t.status = "closed"
        tiers.stop_clock(t, now)
        return [_event(t, "closed", SYSTEM, now, reason="the chat session ended with no message")]

    try:
        return _mutate(ticket_id, now, change)
    except NotFound:
        return None


def record_event(ticket_id: int, type_: str, actor: Actor, now: datetime, **data) -> Ticket:
    """An event that changes nothing else on the ticket (e.g. paged, survey_sent)."""
    return _mutate(ticket_id, now, lambda t: [_event(t, type_, actor, now, **data)])
