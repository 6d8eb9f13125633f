"""What a customer may expect, shared by every channel (SMS, web chat, voice).

Business hours are configured per deployment in its time zone
(BUSINESS_TIMEZONE, BUSINESS_HOURS like "mon-fri 09:00-17:00"). The urgency
rule of API.md lives here too, so chat and SMS cannot drift apart.
"""
from __future__ import annotations

import os
import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from chalicelib import config, phones
from chalicelib.domain import words
from chalicelib.domain.tickets import CLOSED, PENDING, RESOLVED
from chalicelib.domain.words import translate, translate_ctx


def N_(msgid: str) -> str:  # noqa: N802 - gettext's marker: extracted into the catalogue, translated later
    return msgid

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _urgent() -> str:
    """URGENT, EMERGENCY and the word each language's texts ask for (DRINGEND): compiled on first
    use (re's cache), at cold start nothing."""
    names = {"urgent", "emergency"} | {w.lower() for w in words.answer_words("URGENT")}
    return r"\b(" + "|".join(sorted(map(re.escape, names))) + r")\b"


def is_urgent(text: str | None) -> bool:
    """API.md: a message containing the word URGENT or EMERGENCY (or the customer's language's word
    for it, which their acknowledgement names), any case."""
    return bool(text and re.search(_urgent(), text, re.IGNORECASE))


def language(ticket) -> str:
    """The language the ticket's customer is written in (API v1.2): theirs, else the business one."""
    return words.supported(getattr(ticket, "language", None)) or words.business()


def _hours() -> tuple[set[int], time, time]:
    raw = os.environ.get("BUSINESS_HOURS", "mon-fri 09:00-17:00").strip().lower()
    m = re.fullmatch(r"(\w{3})-(\w{3})\s+(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})", raw)
    if not m:
        raise ValueError(f"BUSINESS_HOURS {raw!r}: expected like 'mon-fri 09:00-17:00'")
    a, b = _DAYS.index(m[1]), _DAYS.index(m[2])
    days = set(range(a, b + 1)) if a <= b else set(range(a, 7)) | set(range(0, b + 1))
    return days, time(int(m[3]), int(m[4])), time(int(m[5]), int(m[6]))


def zone() -> ZoneInfo:
    return ZoneInfo(config.business_timezone())


def is_business_hours(now: datetime) -> bool:
    days, opens, closes = _hours()
    local = now.astimezone(zone())
    return local.weekday() in days and opens <= local.time() < closes


def next_opening(now: datetime) -> datetime:
    """The next instant business hours begin (local wall time, DST-correct)."""
    days, opens, _ = _hours()
    local = now.astimezone(zone())
    for offset in range(0, 8):
        day = local.date() + timedelta(days=offset)
        candidate = datetime.combine(day, opens, tzinfo=zone())
        if day.weekday() in days and candidate > local:
            return candidate
    raise ValueError("BUSINESS_HOURS has no opening day")


def customer_zone(ticket) -> ZoneInfo:
    """The zone a customer's times are told in (API v1.2): the one their browser told the chat, else
    the one zone of their number's country, else the business zone (always named in the text)."""
    for name in (getattr(ticket, "customer_timezone", None), phones.zone_of(getattr(ticket, "customer_contact", None))):
        if name:
            try:
                return ZoneInfo(name)
            except (ValueError, KeyError, OSError):
                continue
    return zone()


def when(now: datetime, reader: ZoneInfo | None = None, lang: str | None = None) -> str:
    """'Mon 09:00 CET', 'Mo. 09:00 CET': the next opening in the reader's zone (the business zone if
    unknown), which the text names, in the reader's language."""
    return words.when(next_opening(now), reader or zone(), lang)


# The acknowledgement: (without a name, with the customer's first name), whole sentences each.
_ACK = {
    "open": (N_("Thanks - this is ticket #{ticket}. We're on it and a person will answer shortly."),
             N_("Hi {name}, thanks - this is ticket #{ticket}. We're on it and a person will answer shortly.")),
    "paged": (N_("Thanks - this is ticket #{ticket}. It's after hours, and the on-call person has been paged now."),
              N_("Hi {name}, thanks - this is ticket #{ticket}. It's after hours, and the on-call person has "
                 "been paged now.")),
    "paging": (N_("Thanks - this is ticket #{ticket}. It's after hours; we're reaching the on-call person now."),
               N_("Hi {name}, thanks - this is ticket #{ticket}. It's after hours; we're reaching the on-call "
                  "person now.")),
    "sms": (N_("Thanks - this is ticket #{ticket}. We'll answer by {when}; reply {urgent} if it can't wait."),
            N_("Hi {name}, thanks - this is ticket #{ticket}. We'll answer by {when}; reply {urgent} if it "
               "can't wait.")),
    "webchat": (N_("Thanks - this is ticket #{ticket}. We'll answer by {when}; write {urgent} if it can't wait."),
                N_("Hi {name}, thanks - this is ticket #{ticket}. We'll answer by {when}; write {urgent} if it "
                   "can't wait.")),
}


def acknowledgement(ticket_id: int, *, now: datetime, urgent: bool, paged: bool, name: str | None = None,
                    channel: str = "sms", reader: ZoneInfo | None = None, lang: str | None = None) -> str:
    """The personal first answer: the ticket number and when to expect a reply, in the customer's
    language and zone."""
    if is_business_hours(now):
        kind = "open"
    elif urgent:
        kind = "paged" if paged else "paging"
    else:
        kind = "webchat" if channel == "webchat" else "sms"
    plain, named = _ACK[kind]
    first = name.split()[0] if name and name.split() else None
    values = {"ticket": ticket_id, "name": first, "when": "", "urgent": urgent_word(lang)}
    if kind in ("sms", "webchat"):
        values["when"] = when(now, reader, lang)
    return translate(lang, named if first else plain, **values)


def urgent_word(lang: str | None) -> str:
    """The word that makes a message urgent, as the customer's texts name it (URGENT, DRINGEND)."""
    return translate_ctx(lang, "keyword", "URGENT").split(",")[0].strip()


def still_trying(ticket_id: int, lang: str | None = None) -> str:
    """To the customer of an urgent ticket nobody has acknowledged after a while: the truth, once."""
    return translate(lang, "Ticket #{ticket}: we are still trying to reach the person on call and keep trying. "
                     "Reply here to add anything.", ticket=ticket_id)


def chat_greeting(now: datetime, lang: str | None = None) -> str:
    """The chat page before a conversation starts: the truth about now (the zone is named)."""
    if is_business_hours(now):
        return translate_ctx(lang, "chat", "A real person will answer - usually within minutes.")
    return translate_ctx(lang, "chat", "We're closed now; a person will answer by {when}. "
                                       "Write {urgent} if it can't wait.",
                   when=when(now, lang=lang), urgent=urgent_word(lang))


def chat_status(ticket, now: datetime) -> str:
    """The chat page's header once a conversation runs: what the customer may expect now, from the
    ticket as it is (urgent and paged, acknowledged, resolved), in the customer's zone and language."""
    lang = language(ticket) if ticket is not None else None
    if ticket is None or ticket.status == CLOSED:
        return translate_ctx(lang, "chat", "This conversation has ended. Start a new chat if you need us.")
    n = ticket.id
    if ticket.status == RESOLVED:
        return translate_ctx(lang, "chat", "Ticket #{ticket} is resolved. Just write again if you need us.", ticket=n)
    if ticket.is_urgent and ticket.acked_at is not None:
        return translate_ctx(lang, "chat", "Ticket #{ticket} is urgent and the person on call has it.", ticket=n)
    if ticket.is_urgent:
        return translate_ctx(lang, "chat", "Ticket #{ticket} is urgent: we are reaching the person on call.", ticket=n)
    if ticket.status == PENDING:
        return translate_ctx(lang, "chat", "Ticket #{ticket}: we are waiting for your answer.", ticket=n)
    if is_business_hours(now):
        return translate_ctx(lang, "chat", "Ticket #{ticket}: a person will answer shortly.", ticket=n)
    return translate_ctx(lang, "chat", "Ticket #{ticket}: we'll answer by {when}. Write {urgent} if it can't wait.",
                   ticket=n, when=when(now, customer_zone(ticket), lang), urgent=urgent_word(lang))


def voicemail_received(ticket_id: int, lang: str | None) -> str:
    """The SMS a caller who left a voicemail gets (issue 34): their ticket, and what happens next."""
    return translate(lang, "We have your voicemail - ticket #{ticket}. The person on call has been paged and will "
                           "get back to you; reply here to add anything.", ticket=ticket_id)
