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
from chalicelib.domain.tickets import CLOSED, PENDING, RESOLVED

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_URGENT = r"\b(urgent|emergency)\b"  # compiled on first use (re's cache): cold start


def is_urgent(text: str | None) -> bool:
    """API.md: a message containing the word URGENT or EMERGENCY, any case."""
    return bool(text and re.search(_URGENT, text, re.IGNORECASE))


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


def when(now: datetime, reader: ZoneInfo | None = None) -> str:
    """'Mon 09:00 CET': the next opening in the reader's zone (the business zone if unknown), which
    the text names."""
    opening = next_opening(now).astimezone(reader or zone())
    return opening.strftime("%a %H:%M %Z")


def acknowledgement(ticket_id: int, *, now: datetime, urgent: bool, paged: bool, name: str | None = None,
                    channel: str = "sms", reader: ZoneInfo | None = None) -> str:
    """The personal first answer: the ticket number and when to expect a reply."""
    hello = f"Hi {name.split()[0]}, thanks" if name else "Thanks"
    head = f"{hello} - this is ticket #{ticket_id}."
    if is_business_hours(now):
        return f"{head} We're on it and a person will answer shortly."
    if urgent and paged:
        return f"{head} It's after hours, and the on-call person has been paged now."
    if urgent:
        return f"{head} It's after hours; we're reaching the on-call person now."
    verb = "write" if channel == "webchat" else "reply"
    return f"{head} We'll answer by {when(now, reader)}; {verb} URGENT if it can't wait."


def still_trying(ticket_id: int) -> str:
    """To the customer of an urgent ticket nobody has acknowledged after a while: the truth, once."""
    return (f"Ticket #{ticket_id}: we are still trying to reach the person on call and keep trying. "
            f"Reply here to add anything.")


def chat_greeting(now: datetime) -> str:
    """The chat page before a conversation starts: the truth about now (the zone is named)."""
    if is_business_hours(now):
        return "A real person will answer — usually within minutes."
    return f"We're closed now; a person will answer by {when(now)}. Write URGENT if it can't wait."


def chat_status(ticket, now: datetime) -> str:
    """The chat page's header once a conversation runs: what the customer may expect now, from the
    ticket as it is (urgent and paged, acknowledged, resolved), in the customer's zone."""
    if ticket is None or ticket.status == CLOSED:
        return "This conversation has ended. Start a new chat if you need us."
    head = f"Ticket #{ticket.id}"
    if ticket.status == RESOLVED:
        return f"{head} is resolved. Just write again if you need us."
    if ticket.is_urgent and ticket.acked_at is not None:
        return f"{head} is urgent and the person on call has it."
    if ticket.is_urgent:
        return f"{head} is urgent: we are reaching the person on call."
    if ticket.status == PENDING:
        return f"{head}: we are waiting for your answer."
    if is_business_hours(now):
        return f"{head}: a person will answer shortly."
    return f"{head}: we'll answer by {when(now, customer_zone(ticket))}. Write URGENT if it can't wait."
