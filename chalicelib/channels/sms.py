"""SMS: customers text the support number; staff work tickets from their phones.

Inbound webhooks arrive signed and form-encoded (see twilio_hooks); this
module turns one inbound message into domain calls and a TwiML reply.

Staff commands (forgiving of case, '#', extra spaces and quotes):
  ACK 42, RES 42, ESC 42, 42 <text>, WHO, HELP
"""
from __future__ import annotations

import os
import re
from datetime import datetime, timedelta

from chalicelib import channels, expectations, lazy, phones, settings, store
from chalicelib.channels import twilio_hooks
from chalicelib.domain import conversation, texts
from chalicelib.domain.record import Record
from chalicelib.effects import Effects
from chalicelib.errors import ApiError
from chalicelib.logs import logger, mask_phone
from chalicelib.usecases import intake, surveys, templates, tickets
from chalicelib.usecases.tickets import Actor

handoff = lazy.module("chalicelib.usecases.handoff")  # TAKE only: not on a customer's text

BURST = timedelta(minutes=10)  # one acknowledgement per burst of texts
AUTO_REPLIES_PER_HOUR = 5  # automatic replies to one number (override: AUTO_REPLY_LIMIT)
SORRY_PER_HOUR = 5  # help texts for junk (GoAlert caps its "sorry" replies at 5)

STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
START_WORDS = {"START", "UNSTOP"}
HELP_WORDS = {"HELP", "INFO"}

HELP_TEXT = texts.HELP  # GSM-7 only (tests/test_domain.py counts it)
CUSTOMER_HELP = "Friday Night support: text us your question and a person will answer. Reply STOP to opt out."


class Command(Record):
    verb: str  # ACK | RES | ESC | SAY | WHO | HELP | TAKE | UNKNOWN
    ticket: int | None = None
    text: str = ""


_QUOTES = "\"'“”‘’«»"


def parse_command(raw: str) -> Command:
    text = " ".join((raw or "").strip().strip(_QUOTES).split())
    upper = text.upper()
    m = re.fullmatch(r"(ACK|RES|RESOLVE|ESC|A|R|E)\s*#?\s*(\d{1,9})", upper)
    if m:
        verb = {"A": "ACK", "R": "RES", "RESOLVE": "RES", "E": "ESC"}.get(m[1], m[1])
        return Command(verb, int(m[2]))
    m = re.fullmatch(r"#?\s*(\d{1,9})\s*[:.,-]?\s+(.+)", text, flags=re.DOTALL)
    if m:
        return Command("SAY", int(m[1]), m[2].strip())
    if upper in ("WHO", "WHO?"):
        return Command("WHO")
    if upper in ("HELP", "?", "COMMANDS"):
        return Command("HELP")
    if upper == "TAKE":
        return Command("TAKE")
    return Command("UNKNOWN")


def _budget(contact: store.Contact, name: str, limit: int, now: datetime) -> bool:
    """Spends one of `limit` replies this hour; False when the hour's budget is gone."""
    window = now.strftime("%Y-%m-%dT%H")
    budgets = dict(contact.budgets or {})
    last_window, count = budgets.get(name, [None, 0])
    if last_window != window:
        count = 0
    if count >= limit:
        return False
    budgets[name] = [window, count + 1]
    contact.budgets = budgets
    return True


def _auto_limit() -> int:
    return int(os.environ.get("AUTO_REPLY_LIMIT", AUTO_REPLIES_PER_HOUR))


# --- inbound -------------------------------------------------------------------


def webhook(params: dict, sid: str, now: datetime) -> str:
    """One inbound SMS → its TwiML answer, exactly once per MessageSid.

    A customer's message is stored, with its claim and the answer to replay,
    in one transaction (tickets.customer_message / open_ticket): a retry of
    the webhook gets the same answer back and stores nothing twice. Staff
    commands, STOP/START/HELP and survey answers run under a claim of their
    own (twilio_hooks.once).
    """
    key = f"sms#{sid}"
    state = store.claim_state(key)
    if state is not None and state.result:
        return state.result  # a retried delivery: the first answer, nothing done twice
    phone = phones.normalize(params.get("From", ""))
    body = params.get("Body", "") or ""
    media = [params[f"MediaUrl{i}"] for i in range(_num_media(params)) if params.get(f"MediaUrl{i}")]
    if phone is None:
        logger.warning("sms from an unusable number", extra={"from": mask_phone(params.get("From"))})
        return twilio_hooks.EMPTY_TWIML
    contact = store.get_contact(phone)
    person = store.get_person(contact.person_id) if contact.person_id else None
    logger.info("sms in", extra={"from": mask_phone(phone), "chars": len(body), "media": len(media),
                                 "staff": person is not None})
    if person is not None:
        return twilio_hooks.once(key, now, lambda: twilio_hooks.messages_twiml(
            handle_staff(person, body, now, sid=sid)), fallback=twilio_hooks.sorry_sms())
    word = body.strip().strip(_QUOTES).upper()
    if word in STOP_WORDS | START_WORDS | HELP_WORDS or (word == "YES" and contact.opted_out):
        return twilio_hooks.once(key, now, lambda: twilio_hooks.messages_twiml(
            _keyword(contact, word, now)), fallback=twilio_hooks.sorry_sms())
    before = store.get_ticket(contact.current_ticket) if contact.current_ticket else None
    if surveys.expects_answer(before, body, now):
        # A survey answer or a YES to an automated answer goes on that ticket and opens nothing.
        def closing() -> str:
            text = surveys.confirm_automation(before, body, now) or surveys.answer(before, body, now)
            return twilio_hooks.messages_twiml([text] if text and not contact.opted_out else [])

        return twilio_hooks.once(key, now, closing, fallback=twilio_hooks.sorry_sms())
    return _message(contact, phone, body, media, sid, key, before, now)


def _keyword(contact: store.Contact, word: str, now: datetime) -> list[str]:
    if word in STOP_WORDS:
        contact.opted_out = True
        _save_contact(contact)
        return []  # the carrier confirms STOP itself; a second message would be noise
    if word in START_WORDS or (word == "YES" and contact.opted_out):
        contact.opted_out = False
        _save_contact(contact)
        return ["You're subscribed again to Friday Night support messages."]
    return [CUSTOMER_HELP] if _spend(contact, "auto", _auto_limit(), now) else []


def _num_media(params: dict) -> int:
    return twilio_hooks.number(params, "NumMedia", maximum=10)


def _spend(contact: store.Contact, budget: str, limit: int, now: datetime) -> bool:
    for _ in range(3):
        if not _budget(contact, budget, limit, now):
            return False
        try:
            store.save_contact(contact)
            return True
        except store.ConditionFailed:
            contact = store.get_contact(contact.phone)
    return False


def _save_contact(contact: store.Contact) -> None:
    try:
        store.save_contact(contact)
    except store.ConditionFailed:
        fresh = store.get_contact(contact.phone)
        fresh.opted_out = contact.opted_out
        store.save_contact(fresh)


class _Ack:
    """The customer's contact, updated inside the message's transaction: which ticket is
    current, and whether this text gets an acknowledgement (one per burst, within budget)."""

    def __init__(self, contact: store.Contact, now: datetime):
        self.contact, self.now, self.uses, self.send = contact, now, 0, False
        self.new = False
        self.fx: Effects | None = None

    def writes(self, ticket: store.Ticket) -> list[store.Write]:
        self.uses += 1
        if self.uses > 1:  # a lost race: decide again on the fresh contact
            self.contact = store.get_contact(self.contact.phone)
        c, now = self.contact, self.now
        c.current_ticket = ticket.id
        newly_urgent = self.newly_urgent(ticket)
        recent = c.last_ack_ticket == ticket.id and c.last_ack_at is not None and now - c.last_ack_at < BURST
        kept = ticket.status in ("resolved", "closed")  # a thank-you or late answer: nothing to acknowledge
        self.send = not c.opted_out and not kept and (newly_urgent or not recent) \
            and _budget(c, "auto", _auto_limit(), now)
        if self.send:
            c.last_ack_at, c.last_ack_ticket = now, ticket.id
        return [store.Write("put", c, tag="contact")]

    def newly_urgent(self, ticket: store.Ticket) -> bool:
        return bool(self.fx and self.fx.newly_urgent) or (self.new and ticket.priority == "urgent")

    def answer(self, ticket: store.Ticket, paged: bool = False) -> str:
        texts = [intake.expectation(ticket, self.now, paged=paged)] if self.send else []
        return twilio_hooks.messages_twiml(texts)


def _message(contact: store.Contact, phone: str, body: str, media: list[str], sid: str, key: str,
             current: store.Ticket | None, now: datetime) -> str:
    """A customer's message: joins their current ticket (or reopens a recent one), else opens one."""
    ack = _Ack(contact, now)
    try:
        ticket, is_new, fx = _join_or_open(ack, phone, body, media, sid, key, current, now)
    except store.AlreadyDone:
        state = store.claim_state(key)  # the same message, delivered twice at once: the first answer
        return state.result if state and state.result else twilio_hooks.EMPTY_TWIML
    fx.dispatch(now)  # the page (if any) is committed with the message; now try to send it
    answer = None
    try:
        if is_new and not ack.newly_urgent(ticket) and not ack.contact.opted_out:
            automated = intake.automate(ticket, body, now)
            if automated is not None:
                answer = twilio_hooks.messages_twiml([automated])
        elif ack.send and ack.newly_urgent(ticket) and channels.paged_now(fx):
            answer = ack.answer(ticket, paged=True)  # the page really went out: say so
        if answer is not None:
            store.set_claim_result(key, answer)
    except Exception:  # noqa: BLE001 - the message is stored: answer with what we know, never "send again"
        logger.exception("follow-up of a stored message failed")
        answer = None
    return answer or ack.answer(ticket)


def _join_or_open(ack: _Ack, phone: str, body: str, media: list[str], sid: str, key: str,
                  current: store.Ticket | None, now: datetime) -> tuple[store.Ticket, bool, Effects]:
    """The contact's pointer, the message, its claim and answer, and (if urgent) the page commit in
    one transaction, conditional on the contact's version: of two texts sent at once, one opens
    the ticket and the other joins it (never two tickets)."""
    for _ in range(5):
        fx = Effects()
        ack.fx, ack.new = fx, False
        route = conversation.route(tickets.thread(current), body, now, urgent=expectations.is_urgent(body))
        if route.joins:
            ticket, _ = tickets.customer_message(current.id, body, now, media=media, provider_id=sid, channel="sms",
                                                 fx=fx, first=current, extra=ack.writes, claim_key=key,
                                                 answer=ack.answer)
            return ticket, False, fx
        ack.new = True
        # Urgent from the first word: out of hours the phone's holder owns it at once, and it is paged.
        try:
            ticket = tickets.open_ticket(channel="sms", now=now, contact=phone, contact_key=f"phone#{phone}",
                                         text=body, media=media, provider_id=sid,
                                         priority="urgent" if expectations.is_urgent(body) else "normal",
                                         page_reason="urgent sms", fx=fx, extra=ack.writes, claim_key=key,
                                         answer=ack.answer)
        except store.ConditionFailed as exc:
            if "contact" not in exc.tags:
                raise
            # Another text from this number opened a ticket at the same moment: join theirs.
            ack.contact, ack.uses = store.get_contact(phone), 0
            current = store.get_ticket(ack.contact.current_ticket) if ack.contact.current_ticket else None
            continue
        return ticket, True, fx
    raise RuntimeError("could not settle the customer's ticket")


# --- staff -----------------------------------------------------------------------


def handle_staff(person: store.Person, body: str, now: datetime, sid: str | None = None) -> list[str]:
    cmd = parse_command(body)
    actor = Actor(person.id, person.name)
    try:
        reply = _run(cmd, actor, now, person, sid)
        return [reply] if reply else []
    except ApiError as err:
        if err.status == 404:
            return [f"There is no ticket #{cmd.ticket}. Text HELP for the commands."]
        return [f"#{cmd.ticket}: {err.message}"]


def _run(cmd: Command, actor: Actor, now: datetime, person: store.Person, sid: str | None) -> str | None:
    if cmd.verb == "ACK":
        tickets.ack(cmd.ticket, actor, now)
        return f"Acknowledged #{cmd.ticket}: it's yours. RES {cmd.ticket} resolves; {cmd.ticket} <text> answers."
    if cmd.verb == "RES":
        fx = Effects()
        tickets.resolve(cmd.ticket, actor, now, fx=fx)
        fx.dispatch(now)
        return f"Resolved #{cmd.ticket}. Thank you!"
    if cmd.verb == "ESC":
        t = tickets.pass_up(cmd.ticket, actor, "ESC by SMS", now)
        owner = store.get_person(t.owner)
        return f"Passed #{cmd.ticket} up to tier {t.tier}" + (f" ({owner.name})." if owner else ".")
    if cmd.verb == "SAY":
        text, template_id = cmd.text, None
        if text.startswith("/") and " " not in text.strip():
            template = templates.by_name(text)
            if template is None:
                names = ", ".join("/" + t.name for t in store.all_templates()) or "none yet"
                return f"There is no template {text}. Templates: {names}"
            text = templates.render(template, tickets.get(cmd.ticket), actor.name, now)
            template_id = template.id
        return channels.staff_reply(cmd.ticket, text, actor, now, template_id=template_id,
                                    key=f"reply#{sid}" if sid else None).sms_text
    if cmd.verb == "WHO":
        return who(now)
    if cmd.verb == "TAKE":
        return handoff.take(person, now)
    contact = store.get_contact(person.phone)
    if cmd.verb == "HELP" or _spend(contact, "sorry", SORRY_PER_HOUR, now):
        return HELP_TEXT if cmd.verb == "HELP" else "Sorry, I didn't get that. " + HELP_TEXT
    return None  # junk beyond the hour's budget: silence, not a reply loop


def who(now: datetime) -> str:
    rot = settings.current_rota()
    if rot is None:
        return "No rota is set up yet: nobody holds the emergency phone."
    holder = store.get_person(rot.holder_at(now))
    _, _, end = rot.shift_at(now)
    until = end.astimezone(rot.zone).strftime("%a %d %b %H:%M")
    name = holder.name if holder else "someone who left the team"
    return f"{name} holds the emergency phone until {until}."
