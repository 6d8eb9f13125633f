"""SMS: customers text the support number; staff work tickets from their phones.

Inbound webhooks arrive signed and form-encoded (see twilio_hooks); this
module turns one inbound message into domain calls and a TwiML reply.

Staff commands (forgiving of case, '#', extra spaces and quotes):
  ACK 42 · RES 42 · ESC 42 · 42 <text> · WHO · HELP
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib import channels, expectations, intake, phones, settings, store, surveys, templates, tickets
from chalicelib.effects import Effects
from chalicelib.errors import ApiError
from chalicelib.escalation import handoff
from chalicelib.logs import logger, mask_phone
from chalicelib.tickets import Actor

BURST = timedelta(minutes=10)  # one acknowledgement per burst of texts
AUTO_REPLIES_PER_HOUR = 5  # automatic replies to one number (override: AUTO_REPLY_LIMIT)
SORRY_PER_HOUR = 5  # help texts for junk (GoAlert caps its "sorry" replies at 5)

STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
START_WORDS = {"START", "UNSTOP"}
HELP_WORDS = {"HELP", "INFO"}

HELP_TEXT = ("Friday Night commands: ACK 42 takes ticket 42 · RES 42 resolves · ESC 42 passes it up a tier · "
             "42 <text> answers the customer · WHO tells who holds the phone · TAKE confirms your shift")
CUSTOMER_HELP = "Friday Night support: text us your question and a person will answer. Reply STOP to opt out."


@dataclass(frozen=True)
class Command:
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


def handle_inbound(params: dict, now: datetime) -> list[str]:
    """One inbound SMS → the texts of the TwiML reply (possibly none)."""
    phone = phones.normalize(params.get("From", ""))
    body = params.get("Body", "") or ""
    media = [params[f"MediaUrl{i}"] for i in range(_num_media(params)) if params.get(f"MediaUrl{i}")]
    if phone is None:
        logger.warning("sms from an unusable number", extra={"from": mask_phone(params.get("From"))})
        return []
    person = store.person_by_phone(phone)
    logger.info("sms in", extra={"from": mask_phone(phone), "chars": len(body), "media": len(media),
                                 "staff": person is not None})
    if person is not None:
        return handle_staff(person, body, now, sid=params.get("MessageSid"))
    return handle_customer(phone, body, media, params.get("MessageSid"), now)


def _num_media(params: dict) -> int:
    try:
        return max(0, min(10, int(params.get("NumMedia") or 0)))
    except ValueError:
        return 0


def handle_customer(phone: str, body: str, media: list[str], sid: str | None, now: datetime) -> list[str]:
    word = body.strip().strip(_QUOTES).upper()
    contact = store.get_contact(phone)
    if word in STOP_WORDS:
        contact.opted_out = True
        _save_contact(contact)
        return []  # the carrier confirms STOP itself; a second message would be noise
    if word in START_WORDS or (word == "YES" and contact.opted_out):
        contact.opted_out = False
        _save_contact(contact)
        return ["You're subscribed again to Friday Night support messages."]
    if word in HELP_WORDS:
        return [CUSTOMER_HELP] if _spend(contact, "auto", _auto_limit(), now) else []

    before = store.get_ticket(contact.current_ticket) if contact.current_ticket else None
    # A survey answer or a YES to an automated answer goes on that ticket and opens nothing.
    closing = surveys.confirm_automation(before, body, now) or surveys.answer(before, body, now)
    if closing is not None:
        return [] if contact.opted_out else [closing]
    ticket, is_new, fx = _join_or_open(contact, phone, body, media, sid, now)
    fx.dispatch(now)  # the page (if any) is committed with the message; now try to send it
    newly_urgent = fx.newly_urgent or (is_new and ticket.priority == "urgent")
    paged = channels.paged_now(fx)
    if is_new and not newly_urgent and not contact.opted_out:
        automated = intake.automate(ticket, body, now)
        if automated is not None:
            _spend(store.get_contact(phone), "auto", _auto_limit(), now, ack_ticket=ticket.id)
            return [automated]
    # One acknowledgement per burst; a newly urgent message changes the expectation, so it is answered.
    contact = store.get_contact(phone)
    recent = (contact.last_ack_ticket == ticket.id and contact.last_ack_at is not None
              and now - contact.last_ack_at < BURST)
    if contact.opted_out or (recent and not newly_urgent):
        return []
    if not _spend(contact, "auto", _auto_limit(), now, ack_ticket=ticket.id):
        return []
    return [intake.expectation(ticket, now, paged=paged)]


def _spend(contact: store.Contact, budget: str, limit: int, now: datetime, ack_ticket: int | None = None) -> bool:
    for _ in range(3):
        if not _budget(contact, budget, limit, now):
            return False
        if ack_ticket is not None:
            contact.last_ack_at, contact.last_ack_ticket = now, ack_ticket
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


def _join_or_open(contact: store.Contact, phone: str, body: str, media: list[str], sid: str | None,
                  now: datetime) -> tuple[store.Ticket, bool, Effects]:
    """Appends to the customer's current ticket (or reopens a recent one), else opens one.

    A new ticket and the contact's pointer to it commit in one transaction,
    conditional on the contact's version: of two texts sent at once, one
    opens the ticket and the other joins it (never two tickets).
    """
    for _ in range(5):
        fx = Effects()
        current = store.get_ticket(contact.current_ticket) if contact.current_ticket else None
        joinable = current is not None and (
            current.status in ("open", "pending")
            or (current.resolved_at is not None and now - current.resolved_at <= tickets.REOPEN_WINDOW))
        if joinable:
            ticket, _ = tickets.customer_message(current.id, body, now, media=media, provider_id=sid,
                                                 channel="sms", fx=fx)
            return ticket, False, fx

        def point_contact(ticket: store.Ticket, contact: store.Contact = contact) -> list[store.Write]:
            contact.current_ticket = ticket.id
            return [store.Write("put", contact, tag="contact")]

        # Urgent from the first word: out of hours the phone's holder owns it at once, and it is paged.
        try:
            ticket = tickets.open_ticket(channel="sms", now=now, contact=phone, contact_key=f"phone#{phone}",
                                         text=body, media=media, provider_id=sid,
                                         priority="urgent" if expectations.is_urgent(body) else "normal",
                                         page_reason="urgent sms", fx=fx, extra=point_contact)
        except store.ConditionFailed:
            # Another text from this number opened a ticket at the same moment: join theirs.
            contact = store.get_contact(phone)
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
