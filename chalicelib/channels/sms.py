"""SMS: customers text the support number; staff work tickets from their phones.

Inbound webhooks arrive signed and form-encoded (see twilio_hooks); this
module turns one inbound message into domain calls and a TwiML reply.

Staff commands (forgiving of case, '#', extra spaces and quotes):
  ACK 42, RES 42, ESC 42, 42 <text>, WHO, HELP
"""
from __future__ import annotations

import re
from datetime import datetime

from chalicelib import lazy, limits, phones
from chalicelib.channels import twilio_hooks
from chalicelib.domain import limits as rate
from chalicelib.domain import texts, words
from chalicelib.domain.contacts import Contact
from chalicelib.domain.people import Person
from chalicelib.domain.record import Record
from chalicelib.domain.words import translate, translate_ctx
from chalicelib.errors import ApiError
from chalicelib.logs import logger, mask_phone
from chalicelib.usecases import intake, replies, surveys, tickets
from chalicelib.usecases.tickets import Actor

handoff = lazy.module("chalicelib.usecases.handoff")  # TAKE only: not on a customer's text
oncall = lazy.module("chalicelib.usecases.oncall")  # WHO only
tier_moves = lazy.module("chalicelib.usecases.tier_moves")  # ESC only
people = lazy.module("chalicelib.usecases.people")  # ESC's answer only
swaps = lazy.module("chalicelib.usecases.swaps")  # YES <code> only


STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
START_WORDS = {"START", "UNSTOP"}
HELP_WORDS = {"HELP", "INFO"}

HELP_TEXT = texts.HELP  # in English; each language's is GSM-7 too (tests/test_words.py)


class Command(Record):
    verb: str  # ACK | RES | ESC | SAY | WHO | HELP | TAKE | YES | UNKNOWN
    ticket: int | None = None
    text: str = ""


MAX_SMS_CHARS = 1600  # Twilio's limit for one inbound message body
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
    m = re.fullmatch(r"(?:YES|Y|OK)\s*(\d{4})", upper)
    if m:
        return Command("YES", text=m[1])  # accepts the swap a colleague asked for
    return Command("UNKNOWN")


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
    # A retried delivery is not looked up first (issue 25: a read on every text for what is rare):
    # the claim is a condition of whatever the text writes (the message's own transaction, or
    # twilio_hooks.once), and only when it fails is the first answer read and replayed.
    phone = phones.normalize(params.get("From", ""))
    body = params.get("Body", "") or ""
    if len(body) > MAX_SMS_CHARS:  # longer than Twilio ever sends (issue 23): kept to that, and said so
        body = body[:MAX_SMS_CHARS] + " [cut: longer than an SMS can be]"
    media = [params[f"MediaUrl{i}"] for i in range(_num_media(params)) if params.get(f"MediaUrl{i}")]
    if phone is None:
        logger.warning("sms from an unusable number", extra={"from": mask_phone(params.get("From"))})
        return twilio_hooks.EMPTY_TWIML
    who_wrote = intake.sender(phone)
    contact, person, before = who_wrote.contact, who_wrote.person, who_wrote.current
    logger.info("sms in", extra={"from": mask_phone(phone), "chars": len(body), "media": len(media),
                                 "staff": person is not None})
    if person is not None:
        return twilio_hooks.once(key, now, lambda: twilio_hooks.messages_twiml(
            handle_staff(person, body, now, sid=sid)), fallback=twilio_hooks.sorry_sms())
    word = body.strip().strip(_QUOTES).upper()
    if word in STOP_WORDS | START_WORDS | HELP_WORDS or (word == "YES" and contact.opted_out):
        return twilio_hooks.once(key, now, lambda: twilio_hooks.messages_twiml(
            _keyword(contact, word, now)), fallback=twilio_hooks.sorry_sms())
    chosen = words.keywords().get(word)
    if chosen is not None:  # DEUTSCH, FRANCAIS, ROMANA, ENGLISH: answered in the new language
        return twilio_hooks.once(key, now, lambda: twilio_hooks.messages_twiml(
            _language(contact, before, chosen, now)), fallback=twilio_hooks.sorry_sms())
    if surveys.expects_answer(before, body, now):
        # A survey answer or a YES to an automated answer goes on that ticket and opens nothing.
        def closing() -> str:
            say = not contact.opted_out
            claim = surveys.Claim(key, lambda text: twilio_hooks.messages_twiml([text] if text and say else []))
            text = (surveys.confirm_automation(before, body, now, say=say, claim=claim)
                    or surveys.answer(before, body, now, say=say, claim=claim))
            return twilio_hooks.messages_twiml([text] if text and say else [])

        return twilio_hooks.once(key, now, closing, fallback=twilio_hooks.sorry_sms())
    return intake.text_message(contact, body, media, sid, key, before, now, twilio_hooks.messages_twiml)


def _language(contact: Contact, current, lang: str, now: datetime) -> list[str]:
    contact = intake.choose_language(contact, lang, current, tickets.CUSTOMER, now)
    if contact.opted_out or not limits.take_for_number(contact, rate.AUTO_REPLIES, now):
        return []
    return [translate(lang, "OK - we will write to you in English from now on.")]


def _keyword(contact: Contact, word: str, now: datetime) -> list[str]:
    lang = words.supported(contact.language) or words.of_country(phones.country(contact.phone))
    if word in STOP_WORDS:
        intake.consent(contact, opted_out=True)
        return []  # the carrier confirms STOP itself; a second message would be noise
    if word in START_WORDS or (word == "YES" and contact.opted_out):
        intake.consent(contact, opted_out=False)
        return [translate(lang, "You're subscribed again to Friday Night support messages.")]
    if not limits.take_for_number(contact, rate.AUTO_REPLIES, now):
        return []
    return [translate(lang, "Friday Night support: text us your question and a person will answer. "
                            "Reply STOP to opt out.")]


def _num_media(params: dict) -> int:
    return twilio_hooks.number(params, "NumMedia", maximum=10)


# --- staff -----------------------------------------------------------------------


def handle_staff(person: Person, body: str, now: datetime, sid: str | None = None) -> list[str]:
    """A staff member's command, answered in their language (people.language; else the business's)."""
    cmd = parse_command(body)
    actor = Actor(person.id, person.name)
    try:
        reply = _run(cmd, actor, now, person, sid)
        return [reply] if reply else []
    except ApiError as err:
        if err.status == 404:
            return [translate_ctx(person.language, "staff", "There is no ticket #{ticket}. Text HELP for the commands.",
                                  ticket=cmd.ticket)]
        return [f"#{cmd.ticket}: {err.message}"]


def _run(cmd: Command, actor: Actor, now: datetime, person: Person, sid: str | None) -> str | None:
    lang = person.language
    if cmd.verb == "ACK":
        tickets.ack(cmd.ticket, actor, now)
        return translate_ctx(lang, "staff", "Acknowledged #{ticket}: it's yours. RES {ticket} resolves; "
                                            "{ticket} <text> answers.", ticket=cmd.ticket)
    if cmd.verb == "RES":
        tickets.resolve(cmd.ticket, actor, now, dispatch=True)
        return translate_ctx(lang, "staff", "Resolved #{ticket}. Thank you!", ticket=cmd.ticket)
    if cmd.verb == "ESC":
        t = tier_moves.pass_up(cmd.ticket, actor, "ESC by SMS", now)
        owner = people.name_of(t.owner)
        if owner:
            return translate_ctx(lang, "staff", "Passed #{ticket} up to tier {tier} ({owner}).", ticket=cmd.ticket,
                                 tier=t.tier, owner=owner)
        return translate_ctx(lang, "staff", "Passed #{ticket} up to tier {tier}.", ticket=cmd.ticket, tier=t.tier)
    if cmd.verb == "SAY":
        key = f"reply#{sid}" if sid else None
        if cmd.text.startswith("/") and " " not in cmd.text.strip():
            try:
                return replies.answer(cmd.ticket, actor, now, template=cmd.text, key=key).told(lang)
            except replies.UnknownTemplate as err:
                return translate_ctx(lang, "staff", "There is no template {name}. Templates: {names}",
                                     name=cmd.text, names=err.names)
        return replies.answer(cmd.ticket, actor, now, text=cmd.text, key=key).told(lang)
    if cmd.verb == "WHO":
        return oncall.who(now, person)
    if cmd.verb == "TAKE":
        return handoff.take(person, now)
    if cmd.verb == "YES":
        try:
            swaps.accept_swap(person, now, code=cmd.text)
        except ApiError as err:
            return f"{err.message}. Text WHO to see who holds the phone."
        return translate_ctx(lang, "staff", "Thank you - the swap is on (code {code}); you will get the new times "
                                            "in a moment.", code=cmd.text)
    if cmd.verb == "HELP" or limits.take_for_number(intake.sender(person.phone).contact, rate.SORRY, now):
        return texts.help_text(lang) if cmd.verb == "HELP" else texts.not_understood(lang)
    return None  # junk beyond the hour's budget: silence, not a reply loop

