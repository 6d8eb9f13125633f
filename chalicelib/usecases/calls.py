"""The emergency line's decisions, step by step (channels.voice turns each into TwiML).

A call opens or joins the customer's urgent ticket (intake.call); the holder, then the backup,
is rung and screened ("press 1"); nobody left to ring pages the chain and takes a voicemail,
which goes on the ticket and pages; its transcript follows the page. Each step is one
transaction of its own, and runs once per provider id (the webhook's claim).
"""
from __future__ import annotations

from datetime import datetime

from chalicelib import expectations, limits, outbox, phones, settings, store
from chalicelib.domain import limits as rate
from chalicelib.domain import tickets as rules
from chalicelib.domain.actors import CUSTOMER, Actor
from chalicelib.domain.tickets import Change, Ticket
from chalicelib.effects import Effects
from chalicelib.errors import ApiError
from chalicelib.usecases import tickets, tiers
from chalicelib.usecases.tickets import _acknowledged, mutate


def dial_chain(now: datetime) -> list[str]:
    """Person ids to ring, in order: the holder, then the backup."""
    rot = settings.current_rota()
    if rot is None:
        return []
    chain = [rot.holder_at(now)]
    backup = rot.backup_at(now)
    if backup and backup not in chain:
        chain.append(backup)
    return chain


def next_to_ring(step: int, now: datetime) -> tuple[int, str] | None:
    """The first step at or after `step` of the dial chain whose person has a phone: (step, phone).
    Nobody to ring at a step: the next, never a wait on an empty one (goalert#4548)."""
    chain = dial_chain(now)
    while step < len(chain):
        person = store.get_person(chain[step])
        if person is not None and person.phone:
            return step, person.phone
        step += 1
    return None


def unanswered(ticket_id: int, now: datetime, dial: dict | None) -> None:
    """A dial nobody took (`dial`: its step and status) with somebody left to ring: recorded."""
    if dial is not None:
        tickets.record_event(ticket_id, "call_unanswered", tickets.SYSTEM, now, **dial)


def nobody_answered(ticket_id: int, now: datetime, dial: dict | None) -> None:
    """Nobody left to ring: the ticket is paged (API.md: unanswered calls are urgent), the last
    dial recorded with it, in one transaction; the page goes out at once."""
    fx = Effects()
    tickets.page(ticket_id, now, "call unanswered", fx=fx, event=("call_unanswered", dial) if dial else None)
    fx.dispatch(now)


def _callee(phone: str | None) -> Actor | None:
    person = store.person_by_phone(phone)
    return Actor(person.id, person.name) if person is not None else None


def accepted(ticket_id: int, step: int, callee_phone: str | None, now: datetime) -> None:
    """The person we rang pressed 1: recorded once per step, and their acceptance acknowledges."""
    actor = _callee(callee_phone)
    call_accepted(ticket_id, step, actor or tickets.SYSTEM, now, person=actor is not None)


def was_accepted(ticket_id: int, step: int) -> bool:
    return store.claim_exists(f"accepted#{ticket_id}#{step}")


def completed(ticket_id: int, step: int, seconds: int, now: datetime) -> None:
    tickets.record_event(ticket_id, "call_completed", tickets.SYSTEM, now, step=step, seconds=seconds)


def voicemail(ticket_id: int, url: str | None, recording_sid: str | None, seconds: int, now: datetime) -> None:
    """The voicemail goes on the ticket (once per recording) and the chain is paged with it. A caller
    on a mobile number gets an SMS with their ticket and what happens next, in their language, in the
    same transaction (issue 34): never a landline, a costly number (issue 23), or one that opted out."""
    fx = Effects()
    ticket = store.get_ticket(ticket_id)
    caller = ticket.customer_contact if ticket is not None and ticket.channel == "voice" else None
    text = (expectations.voicemail_received(ticket_id, expectations.language(ticket))
            if caller and _may_text(caller, now) else None)

    def text_back(t) -> list:  # the outbox item commits with the voicemail (a retry decides again)
        if text:
            fx.send(outbox.sms(caller, text, purpose="reply", now=now, ticket_id=t.id,
                               key=f"voicemail#{recording_sid or t.id}"))
        return []

    tickets.customer_message(ticket_id, "(voicemail)", now, media=[url] if url else None, provider_id=recording_sid,
                             channel="voice", fx=fx, page_reason="voicemail", event=("voicemail", {"seconds": seconds}),
                             extra=text_back, told=(lambda t: [text]) if text else None)
    fx.dispatch(now)


def _may_text(caller: str, now: datetime) -> bool:
    if not phones.is_mobile(caller) or phones.costly(caller):
        return False
    contact = store.get_contact(caller)
    if contact is None or contact.person_id or contact.opted_out:
        return contact is None
    return limits.take_for_number(contact, rate.AUTO_REPLIES, now)


def transcript(ticket_id: int, text: str | None, now: datetime) -> None:
    """The voicemail's transcript (None: Twilio made none) follows the page to everyone it reached
    (API.md v1.1: the page carries the caller and what they said); after an ACK the acknowledger
    hears it, as every message."""
    body = f"(voicemail transcript) {text}" if text else "(voicemail: no transcript)"
    fx = Effects()
    tickets.customer_message(ticket_id, body, now, channel="voice", fx=fx, tell_paged=bool(text))
    fx.dispatch(now)


def gist(ticket_id: int) -> str:
    """What the paging call says the ticket is about."""
    ticket = store.get_ticket(ticket_id)
    return (ticket.subject or "a customer needs help") if ticket else "a customer needs help"


def page_answered(ticket_id: int, callee_phone: str | None, now: datetime) -> bool:
    """Someone pressed 1 on a paging call: a staff phone's keypress acknowledges (True), anything
    else does not."""
    actor = _callee(callee_phone)
    if actor is None:
        return False
    try:
        tickets.ack(ticket_id, actor, now)  # stops the page at once
    except ApiError:
        pass  # resolved meanwhile: nothing to acknowledge
    return True


def call_joined(ticket_id: int, now: datetime, call_sid: str | None) -> Ticket:
    """A customer calls the emergency line about the ticket they are in: it is reopened if it was
    finished (back within the week: a repeat contact), urgent, and the call recorded — one
    transaction. Ringing the holder pages nobody yet; an unanswered call does (`page`)."""
    tier_rules = tiers.rules()

    def decide(t: Ticket) -> Change:
        change = rules.reopen(t, CUSTOMER, now, tier_rules, repeat=True) if t.status in rules.FINISHED else Change(t)
        change = change.then(rules.mark_urgent(change.ticket, CUSTOMER, now))
        return change.then(rules.record(change.ticket, "call_in", CUSTOMER, now, call_sid=call_sid))

    return mutate(ticket_id, now, decide)[0]


def call_accepted(ticket_id: int, step: int, actor: Actor, now: datetime, *, person: bool) -> Ticket | None:
    """The person we rang pressed 1: the answer is recorded once per step (a claim that the end of
    the dial reads), and a person's acceptance acknowledges the ticket — one transaction."""

    def decide(t: Ticket) -> Change:
        change = rules.record(t, "call_answered", actor, now, step=step)
        if person and change.ticket.is_active:
            change = change.then(rules.acknowledge(change.ticket, actor, now))
        return change

    try:
        ticket, change = mutate(ticket_id, now, decide, claim=f"accepted#{ticket_id}#{step}")
    except store.AlreadyDone:
        return None  # the same keypress, delivered twice
    if change.has(rules.ACKNOWLEDGED):
        _acknowledged(ticket, change, actor, now)
    return ticket
