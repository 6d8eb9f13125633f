"""What happens when a customer writes, whatever the channel (SMS, web chat, a call).

One shared rule, not a copy per channel: a message with URGENT or EMERGENCY
marks the ticket urgent and pages the on-call holder at once (API.md); that
rule runs inside the message's own transaction (tickets.customer_message).
A customer has one conversation: a text joins their current ticket (or reopens a recent one)
or opens a new one, and their contact — which ticket is current, whether this text is
acknowledged — commits in the same transaction, conditional on the contact's version, so two
texts sent at once never open two tickets.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chalicelib import expectations, language, limits, metrics, phones, store
from chalicelib.domain import contacts, conversation, words
from chalicelib.domain import limits as rate
from chalicelib.domain import tickets as rules
from chalicelib.domain.contacts import Contact
from chalicelib.domain.people import Person
from chalicelib.domain.record import Record
from chalicelib.domain.tickets import Ticket
from chalicelib.effects import Effects
from chalicelib.logs import logger, mask_phone
from chalicelib.usecases import calls, templates, tickets

SETTLE_TRIES = 5  # a text racing another from the same number decides again, this often at most


class Sender(Record):
    """Who texted: their contact, the staff member it belongs to (if any), their current ticket."""

    contact: Contact
    person: Person | None = None
    current: Ticket | None = None


def sender(phone: str) -> Sender:
    contact = store.get_contact(phone)
    person = store.get_person(contact.person_id) if contact.person_id else None
    current = store.get_ticket(contact.current_ticket) if contact.current_ticket and person is None else None
    return Sender(contact, person, current)


def consent(contact: Contact, *, opted_out: bool) -> None:
    """STOP / START: the number's consent (a text racing it keeps its own changes)."""
    for _ in range(3):
        try:
            store.save_contact(contact.replace(opted_out=opted_out))
            return
        except store.ConditionFailed:
            contact = store.get_contact(contact.phone)
    raise store.ConditionFailed("the contact is busy", tags={"contact"})


def choose_language(contact: Contact, lang: str, current: Ticket | None, actor, now: datetime) -> Contact:
    """The customer's language from now on, on their contact and on their open ticket (an SMS keyword
    like DEUTSCH, or staff setting it): their next texts, survey and notices are written in it. The
    contact and the ticket change in one transaction."""
    phone = contact.phone

    def contact_too(_: Ticket) -> list:  # each try: the contact as it is now
        return [store.contact_write(store.get_contact(phone).replace(language=lang))]

    for _ in range(3):
        try:
            if current is not None and current.is_active and current.language != lang:
                tickets.mutate(current.id, now, lambda t: rules.language_set(t, lang, actor, now), extra=contact_too)
            else:
                store.save_contact(contact.replace(language=lang))
            return contact.replace(language=lang)
        except store.ConditionFailed:
            contact = store.get_contact(contact.phone)
    raise store.ConditionFailed("the contact is busy", tags={"contact"})


def set_language(ticket_id: int, lang: str, actor, now: datetime) -> Ticket:
    """Staff set the customer's language (they know better than the detector): on the ticket, and on
    the customer's number so their next ticket starts in it."""
    ticket = tickets.get(ticket_id)
    phone = ticket.customer_contact if (ticket.contact_key or "").startswith("phone#") else None
    if phone:
        choose_language(store.get_contact(phone), lang, ticket if ticket.is_active else None, actor, now)
        if ticket.is_active:
            return tickets.get(ticket_id)
    return tickets.mutate(ticket_id, now, lambda t: rules.language_set(t, lang, actor, now))[0]


FIRST_ANSWER_TAG = "first-replies"  # the hour's budget of first answers, spent in the message's transaction


def answerable(contact: Contact, now: datetime) -> bool | None:
    """Whether we may text this number on our own (issue 23, SMS pumping): never a premium-rate,
    shared-cost or satellite number; a known customer yes (their own per-number limit applies); a
    number that never wrote before only within the hour's budget for first answers (all numbers
    together): None, decided by a write in the message's own transaction (_Ack.writes), so the
    budget costs no round trip of its own (issue 25). Their texts are stored either way."""
    if phones.costly(contact.phone):
        logger.warning("text from a costly number: stored, not answered", extra={"from": mask_phone(contact.phone)})
        return False
    if contact.version is not None:
        return True
    return None


def first_answers_spent(contact: Contact, now: datetime) -> None:
    """The hour's budget of first answers is gone: this text is stored, not answered; the admins'
    alarm counts it (scripts/package.py) and GET /status shows it."""
    logger.warning("first-answer budget spent: a new number's text is stored, not answered (SMS pumping?)",
                   extra={"from": mask_phone(contact.phone)})
    metrics.count("AutoReplyBudgetSpent")


def language_of(contact: Contact, first_text: str | None) -> str | None:
    """The customer's language (API v1.2, in its order): what they chose or we decided before (kept
    on the contact), else their first message's when it is clear, else their number's country's;
    None leaves the business language. The detector loads only here: a known contact never does."""
    return (words.supported(contact.language) or language.detect(first_text)
            or words.of_country(phones.country(contact.phone)))


def expectation(ticket: Ticket, now: datetime, *, paged: bool = False) -> str:
    """The acknowledgement a customer gets: ticket number and when to expect an answer."""
    return expectations.acknowledgement(ticket.id, now=now, urgent=ticket.is_urgent, paged=paged,
                                        name=ticket.customer_name, channel=ticket.channel,
                                        reader=expectations.customer_zone(ticket),
                                        lang=expectations.language(ticket))


def automate(ticket: Ticket, text: str, now: datetime) -> str | None:
    """An automatic template answers a matching first message; returns the text to answer with
    (the caller sends it: the SMS webhook's TwiML, the chat's message list)."""
    template = templates.match(text, now)
    if template is None:
        return None
    answer = templates.render(template, ticket, "", now)
    full = f"{answer}\n{templates.confirm_line(ticket)}"
    tickets.reply(ticket.id, full, tickets.SYSTEM, now, template_id=template.id, automated=True,
                  awaiting=template.id, deliver=False)
    return full


class _Ack:
    """The customer's contact, decided inside the message's transaction: which ticket is current,
    and whether this text gets an acknowledgement (domain.contacts.wrote_on)."""

    def __init__(self, contact: Contact, now: datetime, render: Callable[[list[str]], str],
                 answerable: bool | None = True, lang: str | None = None):
        self.contact, self.now, self.render, self.answerable, self.lang = contact, now, render, answerable, lang
        self.uses, self.send, self.new = 0, False, False
        self.fx: Effects | None = None

    def writes(self, ticket: Ticket) -> list:
        self.uses += 1
        if self.uses > 1:  # a lost race: decide again on the fresh contact
            self.contact = store.get_contact(self.contact.phone)
        self.contact, self.send = contacts.wrote_on(
            self.contact, ticket.id, self.now, finished=ticket.status in rules.FINISHED,
            newly_urgent=self.newly_urgent(ticket), agent_at=self.talking_since(ticket),
            allowed=limits.allowed(rate.AUTO_REPLIES) if self.answerable is not False else 0)
        if self.contact.language is None and self.lang is not None:
            self.contact = self.contact.replace(language=self.lang)  # kept: the next text needs no detector
        writes = [store.contact_write(self.contact)]
        if self.answerable is None and self.send:  # a first answer: one of the hour's, or the write fails
            writes.append(limits.take_write(rate.FIRST_REPLIES, "all", self.now, tag=FIRST_ANSWER_TAG))
        return writes

    def talking_since(self, ticket: Ticket) -> datetime | None:
        """When a person last wrote to this customer, if what we would tell them has not changed
        since: the office closed after the agent's last word (17:55, and now 18:10), so the
        customer hears that we are closed and when we answer, not silence."""
        at = ticket.agent_at
        if at is None or expectations.is_business_hours(at) != expectations.is_business_hours(self.now):
            return None
        return at

    def newly_urgent(self, ticket: Ticket) -> bool:
        return bool(self.fx and self.fx.newly_urgent) or (self.new and ticket.is_urgent)

    def texts(self, ticket: Ticket, paged: bool = False) -> list[str]:
        """What this text is answered with (stored on the ticket as the system's words)."""
        return [expectation(ticket, self.now, paged=paged)] if self.send else []

    def answer(self, ticket: Ticket, paged: bool = False) -> str:
        return self.render(self.texts(ticket, paged))


def text_message(contact: Contact, body: str, media: list[str], sid: str, key: str, current: Ticket | None,
                 now: datetime, render: Callable[[list[str]], str]) -> str:
    """A customer's text, exactly once per provider id: joins their current ticket (or reopens a
    recent one), else opens one; the answer (`render`ed texts) is stored with it for retries."""
    ack = _Ack(contact, now, render, answerable(contact, now), lang=language_of(contact, body))
    try:
        ticket, is_new, fx = _join_or_open(ack, contact.phone, body, media, sid, key, current, now)
    except store.AlreadyDone:
        state = store.claim_state(key)  # the same message, delivered twice at once: the first answer
        return state.result if state and state.result else render([])
    fx.dispatch(now)  # the page (if any) is committed with the message; now try to send it
    answer = None
    try:
        if is_new and not ack.newly_urgent(ticket) and not ack.contact.opted_out and ack.answerable:
            automated = automate(ticket, body, now)
            if automated is not None:
                answer = render([automated])
        elif ack.send and ack.newly_urgent(ticket) and fx.paged_now():
            answer = ack.answer(ticket, paged=True)  # the page really went out: say so
            if fx.told:
                store.set_claim_result(key, answer, told=(ticket.id, fx.told[-1], ack.texts(ticket, paged=True)[0]))
                return answer
        if answer is not None:
            store.set_claim_result(key, answer)
    except Exception:  # noqa: BLE001 - the message is stored: answer with what we know, never "send again"
        logger.exception("follow-up of a stored message failed")
        answer = None
    return answer or ack.answer(ticket)


def _join_or_open(ack: _Ack, phone: str, body: str, media: list[str], sid: str, key: str,
                  current: Ticket | None, now: datetime) -> tuple[Ticket, bool, Effects]:
    """The contact's pointer, the message, its claim and answer, and (if urgent) the page commit in
    one transaction, conditional on the contact's version: of two texts sent at once, one opens
    the ticket and the other joins it (never two tickets)."""
    urgent = expectations.is_urgent(body)
    for _ in range(SETTLE_TRIES):
        fx = Effects()
        ack.fx, ack.new = fx, False
        route = conversation.route(tickets.thread(current), body, now, urgent=urgent)
        if route.joins:
            ticket, message = tickets.customer_message(current.id, body, now, media=media, provider_id=sid,
                                                       channel="sms", fx=fx, first=current, extra=ack.writes,
                                                       claim_key=key, answer=ack.answer, told=ack.texts)
            if message is None:
                raise store.AlreadyDone(key)  # stored by an earlier delivery: replay what it answered
            return ticket, False, fx
        ack.new = True
        # Urgent from the first word: out of hours the phone's holder owns it at once, and it is paged.
        try:
            ticket = tickets.open_ticket(channel="sms", now=now, contact=phone, contact_key=f"phone#{phone}",
                                         customer_name=ack.contact.name,  # the team named them: "Danke Mike"
                                         text=body, media=media, provider_id=sid,
                                         priority=rules.URGENT if urgent else "normal",
                                         page_reason="urgent sms", fx=fx, extra=ack.writes, claim_key=key,
                                         language=ack.lang,
                                         answer=ack.answer, told=ack.texts)
        except store.ConditionFailed as exc:
            if FIRST_ANSWER_TAG in exc.tags and "contact" not in exc.tags:
                first_answers_spent(ack.contact, now)  # stored all the same, unanswered
                ack.answerable, ack.uses = False, 0
                continue
            if "contact" not in exc.tags:
                raise
            # Another text from this number opened a ticket at the same moment: join theirs.
            ack.contact, ack.uses = store.get_contact(phone), 0
            current = store.get_ticket(ack.contact.current_ticket) if ack.contact.current_ticket else None
            continue
        if ack.answerable is None:
            ack.answerable = True  # the hour's budget had one for them
        return ticket, True, fx
    raise RuntimeError("could not settle the customer's ticket")


def _current_for(phone: str | None) -> Callable[[Ticket], list]:
    """The write, in the ticket's own transaction, that makes it the customer's current one: their
    next text (or survey answer) lands on it. Read fresh at each try; a staff phone is no customer."""

    def point_contact(ticket: Ticket) -> list:
        fresh = store.get_contact(phone) if phone else None
        if fresh is None or fresh.person_id:
            return []
        return [store.contact_write(fresh.replace(current_ticket=ticket.id))]

    return point_contact


def staff_opened(*, channel: str, contact: str | None, text: str, priority: str, customer_name: str | None,
                 actor, now: datetime) -> Ticket:
    """Staff open a ticket for a customer who reached them another way (a call to a mobile, an
    e-mail). For a phone customer it becomes their current ticket, as one they opened would: their
    answer joins it instead of opening a second ticket with a first answer of its own."""
    return tickets.open_ticket(channel=channel, now=now, contact=contact, customer_name=customer_name, text=text,
                               priority=priority, actor=actor,
                               extra=_current_for(contact) if channel in ("sms", "voice") else None)


def call(caller: str | None, call_sid: str | None, now: datetime) -> Ticket:
    """A call to the emergency line: it joins the ticket the customer is already in (urgent now),
    or opens an urgent voice ticket that becomes the caller's current one — with the call on it,
    in one transaction. A staff phone calling the line is not a customer conversation."""
    contact = store.get_contact(caller) if caller else None
    customer = contact is not None and not contact.person_id
    current = store.get_ticket(contact.current_ticket) if customer and contact.current_ticket else None
    if conversation.route(tickets.thread(current), "", now, urgent=True).joins:
        return calls.call_joined(current.id, now, call_sid)

    return tickets.open_ticket(channel="voice", now=now, contact=caller,
                               contact_key=f"phone#{caller}" if caller else None, priority=rules.URGENT,
                               text=None, provider_id=call_sid, extra=_current_for(caller if customer else None),
                               event=("call_in", {"call_sid": call_sid}),
                               language=_caller_language(caller, contact if customer else None, known=contact))


def _caller_language(caller: str | None, customer: Contact | None, *, known: Contact | None) -> str | None:
    """What the emergency line speaks (issue 34, the contract's order): the customer's own language,
    else their number's country's; a staff phone calling the line hears the business language."""
    if known is not None and customer is None:
        return None  # a staff member's phone
    return (words.supported(customer.language) if customer is not None else None) \
        or words.of_country(phones.country(caller))
